#include "golden/sampler.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <numeric>

namespace tp {
namespace {

TEST(Random, MatchesXorshift64StarDefinition) {
  // xorshift64* (Vigna; shifts 12, 25, 27; multiplier 0x2545F4914F6CDD1D, upper
  // 32 bits), evaluated independently with Python's big integers for seed 42.
  std::uint64_t state = 42;
  EXPECT_EQ(random_u32(state), 1456360119u);
  EXPECT_EQ(random_u32(state), 3359763283u);
  EXPECT_EQ(random_u32(state), 3393612768u);
  EXPECT_EQ(random_u32(state), 4054632243u);
}

TEST(Random, FloatsAreInUnitInterval) {
  std::uint64_t state = 7;
  for (int i = 0; i < 100000; ++i) {
    const float f = random_f32(state);
    ASSERT_GE(f, 0.0f);
    ASSERT_LT(f, 1.0f);
  }
}

TEST(Argmax, TakesTheFirstOfEqualMaxima) {
  const std::array<float, 5> values{0.1f, 0.7f, -2.0f, 0.7f, 0.3f};
  EXPECT_EQ(sample_argmax(values), 1);
}

TEST(Softmax, SumsToOneAndIgnoresAShift) {
  std::array<float, 4> a{1.0f, 2.0f, 3.0f, 4.0f};
  std::array<float, 4> b{101.0f, 102.0f, 103.0f, 104.0f};
  softmax(a);
  softmax(b);
  EXPECT_NEAR(std::accumulate(a.begin(), a.end(), 0.0f), 1.0f, 1e-6f);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(a[i], b[i]);
  EXPECT_NEAR(a[3] / a[2], std::exp(1.0f), 1e-5f);
}

std::vector<int> histogram(Sampler& sampler, std::span<const float> logits, int draws) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) ++counts[sampler.sample(logits)];
  return counts;
}

std::vector<float> log_of(std::initializer_list<float> probabilities) {
  std::vector<float> logits;
  for (const float p : probabilities) logits.push_back(std::log(p));
  return logits;
}

TEST(Sampler, ZeroTemperatureIsArgmaxWhateverTheSeed) {
  const auto logits = log_of({0.2f, 0.5f, 0.3f});
  for (std::uint64_t seed : {1u, 2u, 99u}) {
    Sampler sampler(3, {0.0f, 0.9f, seed});
    EXPECT_EQ(sampler.sample(logits), 1);
  }
}

TEST(Sampler, MultinomialFrequenciesFollowTheProbabilities) {
  const std::vector<float> p{0.1f, 0.2f, 0.3f, 0.4f};
  const auto logits = log_of({0.1f, 0.2f, 0.3f, 0.4f});
  Sampler sampler(4, {1.0f, 1.0f, 12345});  // topp 1: plain multinomial
  constexpr int kDraws = 40000;
  const auto counts = histogram(sampler, logits, kDraws);
  double chi2 = 0;
  for (int i = 0; i < 4; ++i) {
    const double expected = p[i] * kDraws;
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  EXPECT_LT(chi2, 16.27);  // 3 degrees of freedom, p = 0.001
}

TEST(Sampler, TopPSamplesOnlyTheNucleusInProportion) {
  // Sorted cumulative: 0.5, 0.8 > 0.7, so the nucleus is {token 2, token 0}.
  const auto logits = log_of({0.3f, 0.05f, 0.5f, 0.15f});
  Sampler sampler(4, {1.0f, 0.7f, 777});
  constexpr int kDraws = 40000;
  const auto counts = histogram(sampler, logits, kDraws);
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[3], 0);
  EXPECT_NEAR(static_cast<double>(counts[2]) / kDraws, 0.5 / 0.8, 0.01);
}

TEST(Sampler, TemperatureSharpensTheDistribution) {
  const auto logits = log_of({0.4f, 0.6f});
  Sampler cold(2, {0.25f, 1.0f, 5});
  const auto counts = histogram(cold, logits, 20000);
  // p ∝ p_i^(1/T): 0.6^4 / (0.4^4 + 0.6^4) = 0.835.
  EXPECT_NEAR(counts[1] / 20000.0, 0.835, 0.01);
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
  const auto logits = log_of({0.25f, 0.25f, 0.25f, 0.25f});
  Sampler a(4, {1.0f, 0.9f, 3}), b(4, {1.0f, 0.9f, 3}), c(4, {1.0f, 0.9f, 4});
  std::vector<int> ta, tb, tc;
  for (int i = 0; i < 64; ++i) {
    ta.push_back(a.sample(logits));
    tb.push_back(b.sample(logits));
    tc.push_back(c.sample(logits));
  }
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
}

TEST(Sampler, DegenerateInputsDoNotCrash) {
  Sampler single(1, {1.0f, 0.5f, 1});
  const std::array<float, 1> one{3.0f};
  EXPECT_EQ(single.sample(one), 0);
  Sampler tiny_topp(3, {1.0f, 1e-6f, 1});
  const auto logits = log_of({0.4f, 0.35f, 0.25f});
  const int token = tiny_topp.sample(logits);
  EXPECT_GE(token, 0);
  EXPECT_LT(token, 3);
  Sampler sized(3, {1.0f, 0.9f, 1});
  EXPECT_THROW(sized.sample(one), std::invalid_argument);
  EXPECT_THROW(Sampler(0, {}), std::invalid_argument);
}

}  // namespace
}  // namespace tp
