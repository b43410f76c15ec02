// The integer forward pass: what the accelerator computes, bit for bit.
#pragma once

#include <memory>
#include <vector>

#include "golden/engine.h"
#include "golden/int/attention.h"
#include "golden/int/quantized_model.h"

namespace tp::fx {

// Dequantizes embedding row `token` to Q16.16: round_shift(q * s.m (signed), s.e + 16).
std::vector<std::int32_t> embed(const QuantMatrix& embedding, int token);

class IntModel final : public Engine {
 public:
  explicit IntModel(std::shared_ptr<const QuantizedModel> model);

  const ModelConfig& config() const override { return model_->config; }
  std::string name() const override {
    return std::string(model_->bits == 8 ? "int8" : "int4") + (is_plain(*model_) ? "" : "-mixed");
  }
  // Float logits (the Q16.16 integers / 2^16) for samplers and metrics.
  std::span<const float> forward(int token, int pos) override;
  // The integer logits of the last forward pass (Q16.16): what the RTL emits.
  std::span<const std::int32_t> logits_q16() const { return logits_q16_; }

 private:
  std::shared_ptr<const QuantizedModel> model_;
  ModelConstants constants_;
  std::vector<KvCache> caches_;  // per layer
  std::vector<std::int32_t> logits_q16_;
  std::vector<float> logits_;
};

}  // namespace tp::fx
