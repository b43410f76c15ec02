// fx::argmax, the golden twin of rtl/units/tp_argmax.sv: the lowest index of
// the largest Q16.16 logit. Pinned against the golden greedy path (Sampler at
// temperature 0 = sample_argmax on the float logits) on random vectors, at
// the boundary where the float conversion stops being exact, and on the real
// models' integer engines token by token.
#include "golden/int/argmax.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "golden/checkpoint.h"
#include "golden/generate.h"
#include "golden/int/fixed_point.h"
#include "golden/int/int_model.h"
#include "golden/int/quantized_model.h"
#include "golden/sampler.h"
#include "golden/tests/real_models.h"
#include "golden/tokenizer.h"

namespace tp {
namespace {

constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();

// The float logits IntModel::forward hands to the sampler.
std::vector<float> as_float_logits(const std::vector<std::int32_t>& q) {
  std::vector<float> f;
  for (const std::int32_t v : q) f.push_back(static_cast<float>(fx::from_q16(v)));
  return f;
}

TEST(FxArgmax, LowestIndexOfTheLargestValue) {
  EXPECT_EQ(fx::argmax(std::vector<std::int32_t>{5}), 0);
  EXPECT_EQ(fx::argmax(std::vector<std::int32_t>{1, 3, 2}), 1);
  EXPECT_EQ(fx::argmax(std::vector<std::int32_t>{7, 7, 7}), 0);
  EXPECT_EQ(fx::argmax(std::vector<std::int32_t>{1, 9, 3, 9, 9}), 1);
  EXPECT_EQ(fx::argmax(std::vector<std::int32_t>{kMin, kMin, kMin}), 0);
  EXPECT_EQ(fx::argmax(std::vector<std::int32_t>{kMin, -1, kMax, kMax, 0}), 2);
  EXPECT_EQ(fx::argmax(std::vector<std::int32_t>{-5, -4, -4}), 1);
  EXPECT_THROW(fx::argmax(std::vector<std::int32_t>{}), std::invalid_argument);
}

// |q| < 2^24: the float conversion is exact, so the greedy float path and
// the integer argmax agree on every vector, ties included.
TEST(FxArgmax, EqualsTheGoldenGreedyChoiceBelow256) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 20000; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 600);
    const int spread = static_cast<int>(rng() % 3);  // 0: many ties, 1: some, 2: full range below 2^24
    std::vector<std::int32_t> q(static_cast<std::size_t>(n));
    for (auto& v : q) {
      const std::int64_t r = static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 25)) - (std::int64_t{1} << 24);
      v = static_cast<std::int32_t>(spread == 0 ? r % 4 : spread == 1 ? r % 1000 : r);
      if (v == (std::int32_t{1} << 24)) v -= 1;
    }
    ASSERT_EQ(fx::argmax(q), sample_argmax(as_float_logits(q))) << "trial " << trial;
  }
}

// From 256.0 on, distinct Q16.16 logits can meet in one float: the float path
// keeps the first of them, the integer argmax the larger. The RTL follows
// the integer rule; the real models stay far below the boundary (next test).
TEST(FxArgmax, TheFloatPathCanDifferOnlyFrom256On) {
  const std::vector<std::int32_t> q = {1 << 24, (1 << 24) + 1};  // 256.0 and 256 + 2^-16
  EXPECT_EQ(as_float_logits(q)[0], as_float_logits(q)[1]);
  EXPECT_EQ(fx::argmax(q), 1);
  EXPECT_EQ(sample_argmax(as_float_logits(q)), 0);
  const std::vector<std::int32_t> below = {(1 << 24) - 2, (1 << 24) - 1};
  EXPECT_EQ(fx::argmax(below), sample_argmax(as_float_logits(below)));
}

// The golden integer engines of the real models at temperature 0: every
// step's integer argmax is the token generate() picks, and no logit reaches
// 256.0.
TEST(FxArgmax, GivesTheGoldenGreedyTokensOnTheRealModels) {
  for (const char* file : {"stories260K.bin", "aidreams260K.bin"}) {
    TP_REQUIRE_MODEL_FILE(file);
    const auto checkpoint = std::make_shared<const Checkpoint>(read_checkpoint(testing::model_path(file)));
    for (const int bits : {8, 4}) {
      const auto quantized = std::make_shared<const fx::QuantizedModel>(fx::quantize_model(*checkpoint, bits));
      const int steps = std::min(64, quantized->config.seq_len);
      // The golden greedy path.
      fx::IntModel reference(quantized);
      Sampler greedy(quantized->config.vocab_size, SamplerOptions{.temperature = 0.0f});
      const std::vector<int> prompt = {kBosToken};
      const Generation generated = generate(reference, greedy, prompt, steps);
      // The integer argmax, step by step.
      fx::IntModel model(quantized);
      int token = kBosToken;
      std::vector<int> tokens = {token};
      for (int pos = 0; pos < steps; ++pos) {
        const auto logits = model.forward(token, pos);
        const auto q = model.logits_q16();
        for (const std::int32_t v : q) ASSERT_LT(std::abs(static_cast<std::int64_t>(v)), std::int64_t{1} << 24);
        token = fx::argmax(q);
        ASSERT_EQ(token, sample_argmax(logits)) << file << " INT" << bits << " pos " << pos;
        if (token == kBosToken) break;
        tokens.push_back(token);
      }
      EXPECT_EQ(tokens, generated.tokens) << file << " INT" << bits;
    }
  }
}

}  // namespace
}  // namespace tp
