// The embedded default model, so that the project runs without any download.
//
// It is LLaMA-shaped and exercises every feature the real checkpoints have and
// more: grouped-query attention (4 query heads on 2 KV heads), a hidden size
// that is not a multiple of 32 (176), and a separate classifier. Its weights
// are uniform random numbers from llama2.c's xorshift generator and a seed, so
// every build generates the same model bit for bit. On top of the noise, the
// embedding and the classifier carry a planted bigram chain: the classifier row
// of each word of default_model_text() is the embedding of the word before it,
// so greedy decoding from BOS spells the text and then emits BOS (stop). The
// attention and FFN branches are random and small: they perturb the logits
// without breaking the chain, which makes the model a sharp end-to-end check
// (any arithmetic error that matters shows up as a wrong word).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "golden/checkpoint.h"
#include "golden/tokenizer.h"

namespace tp {

inline constexpr std::uint64_t kDefaultModelSeed = 20261125;

struct DefaultModel {
  std::shared_ptr<const Checkpoint> checkpoint;
  Tokenizer tokenizer;
};

// The sentence the planted chain spells after BOS.
std::string_view default_model_text();

DefaultModel make_default_model(std::uint64_t seed = kDefaultModelSeed);

}  // namespace tp
