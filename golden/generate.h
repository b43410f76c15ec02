// run.c's generate(): feed the prompt one position at a time (forcing its
// tokens), then sample, until `steps` positions are done or BOS is produced.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "golden/engine.h"
#include "golden/sampler.h"

namespace tp {

// Called once per new token of the sequence (prompt tokens after the first
// included), with the token before it, as soon as it is known.
using TokenCallback = std::function<void(int prev, int next)>;

struct Generation {
  std::vector<int> tokens;  // the whole sequence, prompt[0] first; a produced BOS is not included
  int positions = 0;        // forward passes run
  bool stopped_at_bos = false;
};

// Throws std::invalid_argument unless the prompt is non-empty, of
// in-vocabulary ids, and 1 <= steps <= seq_len: generate()'s requirements,
// for other generation loops (the RTL's) too.
void check_generate_arguments(const ModelConfig& config, std::span<const int> prompt, int steps);

// Requires a non-empty prompt of in-vocabulary ids and 1 <= steps <= seq_len
// (std::invalid_argument otherwise).
Generation generate(Engine& engine, Sampler& sampler, std::span<const int> prompt, int steps,
                          const TokenCallback& on_token = {});

}  // namespace tp
