// The fp32 forward pass of a LLaMA-style model, operation for operation as
// llama2.c's run.c computes it (same summation order, same libm calls), so that
// it reproduces llama2.c's tokens exactly.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <vector>

#include "golden/checkpoint.h"
#include "golden/engine.h"

namespace tp {

// Where a matrix reads its input vector; used to collect activation statistics.
enum class MatmulInput { kQkv, kWo, kW13, kW2, kClassifier };

// Sees the input of every matrix-vector product of a forward pass.
class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  virtual void matmul_input(MatmulInput site, int layer, const Eigen::VectorXf& x) = 0;
};

class FloatModel final : public Engine {
 public:
  explicit FloatModel(std::shared_ptr<const Checkpoint> checkpoint);

  const ModelConfig& config() const override { return checkpoint_->config; }
  std::string name() const override { return "float"; }
  std::span<const float> forward(int token, int pos) override;
  // The observer (not owned; null to stop) sees every matmul input from now on.
  void set_observer(ForwardObserver* observer) { observer_ = observer; }

 private:
  void attention(int layer, int pos);

  void observe(MatmulInput site, int layer, const Eigen::VectorXf& x) const {
    if (observer_ != nullptr) observer_->matmul_input(site, layer, x);
  }

  std::shared_ptr<const Checkpoint> checkpoint_;
  ForwardObserver* observer_ = nullptr;
  // Activations of the current position, as run.c's RunState.
  Eigen::VectorXf x_, xb_, xb2_, hb_, hb2_, q_, att_, logits_;
  std::vector<MatrixRM> key_cache_;    // per layer: [seq_len][kv_dim]
  std::vector<MatrixRM> value_cache_;  // per layer: [seq_len][kv_dim]
};

}  // namespace tp
