// Whole-model accuracy of the integer paths against the float path, teacher
// forced on sequences the float model samples itself (several seeds), for the
// plain formats and the mixed-precision plan (docs/numerics.md).
#include <gtest/gtest.h>

#include <iostream>

#include "golden/eval.h"
#include "golden/float_model.h"
#include "golden/generate.h"
#include "golden/int/calibration.h"
#include "golden/int/int_model.h"
#include "real_models.h"

namespace tp {
namespace {

struct Agreement {
  int positions = 0;
  int agreeing = 0;
  double kl_sum = 0;
  double nll_float = 0, nll_quant = 0;
  double top1() const { return static_cast<double>(agreeing) / positions; }
};

std::vector<int> sample_sequence(const std::shared_ptr<const Checkpoint>& checkpoint, std::uint64_t seed, int steps) {
  FloatModel model(checkpoint);
  Sampler sampler(checkpoint->config.vocab_size, {1.0f, 0.9f, seed});
  const std::vector<int> bos{1};
  return generate(model, sampler, bos, steps).tokens;
}

enum class Plan { kPlain, kMixed, kHifi };

// Sequences sampled with seeds 1..seeds; the calibration uses its own seed.
Agreement measure(const std::string& file, int bits, int seeds, Plan plan = Plan::kPlain) {
  auto checkpoint = std::make_shared<const Checkpoint>(read_checkpoint(testing::model_path(file)));
  const fx::ActivationStats stats = fx::calibrate(checkpoint);
  const fx::PrecisionPlan precision = plan == Plan::kMixed  ? fx::mixed_precision_plan(checkpoint->config, bits)
                                      : plan == Plan::kHifi ? fx::hifi_precision_plan(checkpoint->config, bits)
                                                            : fx::PrecisionPlan{};
  auto quantized =
      std::make_shared<const fx::QuantizedModel>(fx::quantize_model(*checkpoint, bits, &stats, precision));
  Agreement total;
  for (std::uint64_t seed = 1; seed <= static_cast<std::uint64_t>(seeds); ++seed) {
    const auto tokens = sample_sequence(checkpoint, seed, std::min(256, checkpoint->config.seq_len));
    if (tokens.size() < 2) continue;
    FloatModel reference(checkpoint);
    fx::IntModel candidate(quantized);
    const EvalMetrics m = teacher_forced_compare(reference, candidate, tokens);
    total.positions += m.positions;
    total.agreeing += static_cast<int>(std::lround(m.top1_agreement * m.positions));
    total.kl_sum += m.mean_kl * m.positions;
    total.nll_float += std::log(m.ppl_reference) * m.positions;
    total.nll_quant += std::log(m.ppl_candidate) * m.positions;
  }
  const double bytes_ratio = static_cast<double>(fx::weight_bytes_per_token(*quantized)) /
                             static_cast<double>(checkpoint->config.weight_bytes_per_token(bits));
  std::cout << file << " " << fx::IntModel(quantized).name() << ": top1_agreement " << total.top1() << " over "
            << total.positions << " positions, mean_kl " << total.kl_sum / total.positions << ", ppl float "
            << std::exp(total.nll_float / total.positions) << " quant " << std::exp(total.nll_quant / total.positions)
            << ", weight bytes per token x" << bytes_ratio << " of plain, KV bytes per token "
            << fx::kv_bytes_per_token(*quantized) << "\n";
  return total;
}

// INT8 and INT4 of one plan on the first `seeds` sampled sequences (the
// test is skipped without the model file).
void expect_top1_at_least(const char* model, int seeds, Plan plan, double int8, double int4) {
  TP_REQUIRE_MODEL_FILE(model);
  EXPECT_GE(measure(model, 8, seeds, plan).top1(), int8);
  EXPECT_GE(measure(model, 4, seeds, plan).top1(), int4);
}

// The targets of docs/numerics.md: INT8 >= 0.99, INT4 >= 0.90.
TEST(Accuracy, AidreamsMeetsTheInt8AndInt4Targets) {
  expect_top1_at_least("aidreams260K.bin", 16, Plan::kPlain, 0.99, 0.90);
}

TEST(Accuracy, AidreamsMixedPrecisionMeetsTheTargets) {
  expect_top1_at_least("aidreams260K.bin", 16, Plan::kMixed, 0.99, 0.90);
}

// stories260K amplifies weight and activation errors ~20x more than
// aidreams260K (docs/numerics.md): the plain formats stay far below the
// targets. Regression floors under the measured 0.829 / 0.243.
TEST(Accuracy, StoriesPlainStaysAtItsMeasuredLevels) {
  expect_top1_at_least("stories260K.bin", 12, Plan::kPlain, 0.81, 0.22);
}

// The mixed-precision plan meets the INT4 target (measured 0.907). INT8 stays
// below 0.99: the INT8 K/V cache and query of the attention unit alone cap
// this model near 0.96 (docs/numerics.md), so the INT8 assertion is a
// regression floor under the measured 0.941; the hifi plan below meets it.
TEST(Accuracy, StoriesMixedPrecision) {
  expect_top1_at_least("stories260K.bin", 12, Plan::kMixed, 0.93, 0.90);
}

TEST(Accuracy, AidreamsHifiMeetsTheTargets) {
  expect_top1_at_least("aidreams260K.bin", 16, Plan::kHifi, 0.99, 0.90);
}

// 16-bit K, V and query with 16-bit attention scales, two weight planes on
// every matrix (three on the embedding/classifier): INT8 measured 0.9954,
// INT4 (the mixed plan's weight planes) 0.923.
TEST(Accuracy, StoriesHifiMeetsTheTargets) {
  expect_top1_at_least("stories260K.bin", 12, Plan::kHifi, 0.99, 0.90);
}

}  // namespace
}  // namespace tp
