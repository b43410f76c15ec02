#include "golden/engine.h"

#include <stdexcept>
#include <string>

namespace tp {

void check_forward_arguments(const ModelConfig& config, int token, int pos) {
  if (token < 0 || token >= config.vocab_size) {
    throw std::out_of_range("token " + std::to_string(token) + " is outside the vocabulary [0, " +
                            std::to_string(config.vocab_size) + ")");
  }
  if (pos < 0 || pos >= config.seq_len) {
    throw std::out_of_range("position " + std::to_string(pos) + " is outside [0, seq_len " +
                            std::to_string(config.seq_len) + ")");
  }
}

}  // namespace tp
