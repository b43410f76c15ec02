#include "golden/generate.h"

#include <stdexcept>
#include <string>

#include "golden/tokenizer.h"

namespace tp {

void check_generate_arguments(const ModelConfig& config, std::span<const int> prompt, int steps) {
  if (prompt.empty()) throw std::invalid_argument("the prompt must hold at least one token");
  for (const int token : prompt) {
    if (token < 0 || token >= config.vocab_size) {
      throw std::invalid_argument("prompt token " + std::to_string(token) +
                                  " is outside the vocabulary [0, " +
                                  std::to_string(config.vocab_size) + ")");
    }
  }
  if (steps < 1 || steps > config.seq_len) {
    throw std::invalid_argument("steps " + std::to_string(steps) + " is outside [1, seq_len " +
                                std::to_string(config.seq_len) + "]");
  }
}

Generation generate(Engine& engine, Sampler& sampler, std::span<const int> prompt, int steps,
                          const TokenCallback& on_token) {
  check_generate_arguments(engine.config(), prompt, steps);

  Generation result{{prompt[0]}, 0, false};
  for (int pos = 0; pos < steps; ++pos) {
    const int token = result.tokens.back();
    const auto logits = engine.forward(token, pos);
    ++result.positions;
    const bool in_prompt = pos + 1 < static_cast<int>(prompt.size());
    const int next = in_prompt ? prompt[pos + 1] : sampler.sample(logits);
    if (next == kBosToken) {  // BOS delimits sequences
      result.stopped_at_bos = true;
      break;
    }
    result.tokens.push_back(next);
    if (on_token) on_token(token, next);
  }
  return result;
}

}  // namespace tp
