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

class FloatModel final : public Engine {
 public:
  explicit FloatModel(std::shared_ptr<const Checkpoint> checkpoint);

  const ModelConfig& config() const override { return checkpoint_->config; }
  std::string name() const override { return "float"; }
  std::span<const float> forward(int token, int pos) override;

 private:
  void attention(int layer, int pos);

  std::shared_ptr<const Checkpoint> checkpoint_;
  // Activations of the current position, as run.c's RunState.
  Eigen::VectorXf x_, xb_, xb2_, hb_, hb2_, q_, att_, logits_;
  std::vector<MatrixRM> key_cache_;    // per layer: [seq_len][kv_dim]
  std::vector<MatrixRM> value_cache_;  // per layer: [seq_len][kv_dim]
};

}  // namespace tp
