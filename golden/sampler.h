// llama2.c's sampler: greedy argmax, or temperature + softmax then multinomial
// or top-p (nucleus) sampling, driven by its xorshift random generator, so a
// seed gives the same tokens as llama2.c's `run`.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tp {

// run.c random_u32 / random_f32 (xorshift64* with the state passed by reference).
std::uint32_t random_u32(std::uint64_t& state);
float random_f32(std::uint64_t& state);  // in [0, 1)

int sample_argmax(std::span<const float> values);
// In place: x becomes softmax(x), with run.c's order of operations.
void softmax(std::span<float> x);

struct SamplerOptions {
  float temperature = 1.0f;  // 0 means greedy
  float topp = 0.9f;         // outside (0, 1) means plain multinomial sampling
  std::uint64_t seed = 0;
};

class Sampler {
 public:
  Sampler(int vocab_size, SamplerOptions options);
  int sample(std::span<const float> logits);

 private:
  int sample_mult(std::span<const float> probabilities, float coin) const;
  int sample_topp(std::span<const float> probabilities, float coin);

  struct ProbIndex {
    float prob;
    int index;
  };
  SamplerOptions options_;
  std::uint64_t rng_state_;
  std::vector<float> probabilities_;
  std::vector<ProbIndex> candidates_;
};

}  // namespace tp
