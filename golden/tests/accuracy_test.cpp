// Whole-model accuracy of the integer paths against the float path, teacher
// forced on sequences the float model samples itself (several seeds).
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

// Sequences sampled with seeds 1..seeds; the calibration uses its own seed.
Agreement measure(const std::string& file, int bits, int seeds) {
  auto checkpoint = std::make_shared<const Checkpoint>(read_checkpoint(testing::model_path(file)));
  const fx::ActivationStats stats = fx::calibrate(checkpoint);
  auto quantized = std::make_shared<const fx::QuantizedModel>(fx::quantize_model(*checkpoint, bits, &stats));
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
  std::cout << file << " int" << bits << ": top1_agreement " << total.top1() << " over " << total.positions
            << " positions, mean_kl " << total.kl_sum / total.positions << ", ppl float "
            << std::exp(total.nll_float / total.positions) << " quant " << std::exp(total.nll_quant / total.positions)
            << "\n";
  return total;
}

// The targets of docs/numerics.md: INT8 >= 0.99, INT4 >= 0.90.
TEST(Accuracy, AidreamsMeetsTheInt8AndInt4Targets) {
  TP_REQUIRE_MODEL_FILE("aidreams260K.bin");
  EXPECT_GE(measure("aidreams260K.bin", 8, 16).top1(), 0.99);
  EXPECT_GE(measure("aidreams260K.bin", 4, 16).top1(), 0.90);
}

// stories260K amplifies weight errors ~20x more than aidreams260K (0.1%
// relative weight noise alone costs it 1% top-1, see docs/numerics.md), so
// blocks of 32 at 8 or 4 bits cannot reach the targets. These floors guard
// the measured levels against regressions; they are not the targets.
TEST(Accuracy, StoriesStaysAtItsMeasuredLevels) {
  TP_REQUIRE_MODEL_FILE("stories260K.bin");
  EXPECT_GE(measure("stories260K.bin", 8, 4).top1(), 0.82);
  EXPECT_GE(measure("stories260K.bin", 4, 4).top1(), 0.18);
}

}  // namespace
}  // namespace tp
