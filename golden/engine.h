// The interface a generation loop drives: one forward pass per position.
// The float model, the integer models and the verilated RTL all implement it.
#pragma once

#include <span>
#include <string>

#include "golden/model_config.h"

namespace tp {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::string name() const = 0;
  // Logits for the token after `token` at position `pos`. Positions must come
  // in order from 0 (the KV cache holds 0..pos-1); a token outside the
  // vocabulary or a position outside [0, seq_len) throws std::out_of_range.
  virtual std::span<const float> forward(int token, int pos) = 0;
};

// Throws std::out_of_range naming the bad value; shared by every engine.
void check_forward_arguments(const ModelConfig& config, int token, int pos);

}  // namespace tp
