// Teacher-forced comparison of two engines on one token sequence: the metrics
// by which a quantized path is judged against the float path.
#pragma once

#include <span>

#include "golden/engine.h"

namespace tp {

struct EvalMetrics {
  int positions = 0;             // predictions compared (sequence length - 1)
  double top1_agreement = 0;     // fraction of positions with the same argmax
  double mean_kl = 0;            // mean KL(p_reference || p_candidate), nats
  double ppl_reference = 0;      // perplexity of the sequence under each engine
  double ppl_candidate = 0;
};

// Feeds tokens[0..n-2] at positions 0..n-2 to both engines (fresh ones: their
// caches must be empty) and scores the predictions of tokens[1..n-1].
// Throws std::invalid_argument for fewer than 2 tokens or more than seq_len + 1.
EvalMetrics teacher_forced_compare(Engine& reference, Engine& candidate, std::span<const int> tokens);

}  // namespace tp
