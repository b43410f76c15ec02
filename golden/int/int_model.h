// The integer forward pass: what the accelerator computes, bit for bit.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "golden/engine.h"
#include "golden/int/attention.h"
#include "golden/int/quantized_model.h"

namespace tp::fx {

// Dequantizes embedding row `token` to Q16.16: round_shift(q * s.m (signed), s.e + 16).
std::vector<std::int32_t> embed(const QuantMatrix& embedding, int token);

// The vectors of one forward pass, in the order the accelerator produces them
// (docs/accelerator.md, "One decode token"): where the top's testbench and
// `generate --engine rtl` compare the hardware's buffers with the golden model
// and name the first difference by position, layer and stage.
enum class Stage {
  kEmbedding,          // x after the lookup (layer -1)
  kQkv,                // q, k, v after wqkv, before RoPE (dim + 2 kv_dim)
  kRope,               // q, k after RoPE (dim + kv_dim)
  kAttention,          // the heads' attention outputs (dim)
  kAttentionResidual,  // x after the wo residual
  kGated,              // silu(gate) * up (hidden_dim)
  kFfnResidual,        // x after the w2 residual
  kLogits,             // the classifier's integer logits (layer n_layers)
};
std::string_view stage_name(Stage stage);

struct Tap {
  int pos = 0;
  int layer = 0;
  Stage stage = Stage::kEmbedding;
  std::span<const std::int32_t> values;  // Q16.16
};
using TapObserver = std::function<void(const Tap&)>;

class IntModel final : public Engine {
 public:
  explicit IntModel(std::shared_ptr<const QuantizedModel> model);

  const ModelConfig& config() const override { return model_->config; }
  // int8 / int4, with "-mixed" for weight or activation planes and "-hifi"
  // for the 16-bit attention (the plans of quantized_model.h).
  std::string name() const override;
  // Float logits (the Q16.16 integers / 2^16) for samplers and metrics.
  std::span<const float> forward(int token, int pos) override;
  // The integer logits of the last forward pass (Q16.16): what the RTL emits.
  std::span<const std::int32_t> logits_q16() const { return logits_q16_; }
  // Called with every Tap of every later forward pass (empty: none).
  void set_observer(TapObserver observer) { observer_ = std::move(observer); }

 private:
  std::shared_ptr<const QuantizedModel> model_;
  ModelConstants constants_;
  ScaleFp score_scale_;  // constants_.score_scale at the attention's scale width
  std::vector<KvCache> caches_;  // per layer
  std::vector<std::int32_t> logits_q16_;
  std::vector<float> logits_;
  TapObserver observer_;

  void tap(int pos, int layer, Stage stage, std::span<const std::int32_t> values) const {
    if (observer_) observer_({pos, layer, stage, values});
  }
};

}  // namespace tp::fx
