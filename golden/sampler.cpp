#include "golden/sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tp {

std::uint32_t random_u32(std::uint64_t& state) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return static_cast<std::uint32_t>((state * 0x2545F4914F6CDD1Dull) >> 32);
}

float random_f32(std::uint64_t& state) {
  return static_cast<float>(random_u32(state) >> 8) / 16777216.0f;
}

int sample_argmax(std::span<const float> values) {
  int best = 0;
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (values[i] > values[best]) best = static_cast<int>(i);
  }
  return best;
}

void softmax(std::span<float> x) {
  float max_value = x[0];
  for (const float v : x) max_value = std::max(max_value, v);
  float sum = 0.0f;
  for (float& v : x) {
    v = std::exp(v - max_value);
    sum += v;
  }
  for (float& v : x) v /= sum;
}

Sampler::Sampler(int vocab_size, SamplerOptions options)
    : options_(options), rng_state_(options.seed), probabilities_(vocab_size),
      candidates_(vocab_size) {
  if (vocab_size < 1) throw std::invalid_argument("sampler: vocab_size must be positive");
  if (!(options.temperature >= 0.0f)) throw std::invalid_argument("sampler: temperature must be >= 0");
}

int Sampler::sample(std::span<const float> logits) {
  if (logits.size() != probabilities_.size()) {
    throw std::invalid_argument("sampler: expected " + std::to_string(probabilities_.size()) +
                                " logits, got " + std::to_string(logits.size()));
  }
  if (options_.temperature == 0.0f) return sample_argmax(logits);
  for (std::size_t i = 0; i < logits.size(); ++i) {
    probabilities_[i] = logits[i] / options_.temperature;
  }
  softmax(probabilities_);
  const float coin = random_f32(rng_state_);
  if (options_.topp <= 0.0f || options_.topp >= 1.0f) return sample_mult(probabilities_, coin);
  return sample_topp(probabilities_, coin);
}

int Sampler::sample_mult(std::span<const float> probabilities, float coin) const {
  float cdf = 0.0f;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    cdf += probabilities[i];
    if (coin < cdf) return static_cast<int>(i);
  }
  return static_cast<int>(probabilities.size()) - 1;  // rounding left the coin above the total
}

int Sampler::sample_topp(std::span<const float> probabilities, float coin) {
  // Tokens below (1 - topp) / (n - 1) can never be in the nucleus: drop them
  // before sorting, as run.c does.
  const int n = static_cast<int>(probabilities.size());
  if (n == 1) return 0;
  const float cutoff = (1.0f - options_.topp) / static_cast<float>(n - 1);
  std::size_t count = 0;
  for (int i = 0; i < n; ++i) {
    if (probabilities[i] >= cutoff) candidates_[count++] = {probabilities[i], i};
  }
  // Only a tiny topp can leave no candidate (run.c then reads out of bounds).
  if (count == 0) return sample_argmax(probabilities);
  // run.c uses qsort; glibc's is a stable merge sort for arrays this small.
  std::stable_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(count),
                   [](const ProbIndex& a, const ProbIndex& b) { return a.prob > b.prob; });

  float cumulative = 0.0f;
  std::size_t last = count - 1;
  for (std::size_t i = 0; i < count; ++i) {
    cumulative += candidates_[i].prob;
    if (cumulative > options_.topp) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (std::size_t i = 0; i <= last; ++i) {
    cdf += candidates_[i].prob;
    if (r < cdf) return candidates_[i].index;
  }
  return candidates_[last].index;
}

}  // namespace tp
