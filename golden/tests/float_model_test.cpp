// The float model against llama2.c's own output on the real checkpoints.
#include "golden/float_model.h"

#include <gtest/gtest.h>

#include "golden/generate.h"
#include "golden/tokenizer.h"
#include "real_models.h"

namespace tp {
namespace {

using testing::model_path;
using testing::read_reference_ids;
using testing::read_text;

struct GreedyRun {
  std::string text;  // what llama2.c's run prints to stdout
  std::vector<int> tokens;
};

GreedyRun run_greedy(const std::string& prompt, int steps) {
  auto checkpoint = std::make_shared<const Checkpoint>(read_checkpoint(model_path("aidreams260K.bin")));
  const Tokenizer tokenizer = Tokenizer::read(model_path("aidreams_tok512.bin"), checkpoint->config.vocab_size);
  FloatModel model(checkpoint);
  Sampler sampler(checkpoint->config.vocab_size, {0.0f, 0.9f, 1});
  GreedyRun run;
  const auto prompt_ids = tokenizer.encode(prompt, true, false);
  run.tokens = generate(model, sampler, prompt_ids, steps, [&](int prev, int next) {
                 run.text += Tokenizer::printable(tokenizer.decode(prev, next));
               }).tokens;
  run.text += "\n";
  return run;
}

class LlamaReference : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(LlamaReference, GreedyTextAndIdsMatchLlama2c) {
  TP_REQUIRE_MODEL_FILE("aidreams260K.bin");
  const auto [prompt, stem] = GetParam();
  const GreedyRun run = run_greedy(prompt, 128);
  EXPECT_EQ(run.text, read_text(model_path(std::string("reference/") + stem + ".txt")));
  const std::vector<int> after_bos(run.tokens.begin() + 1, run.tokens.end());
  EXPECT_EQ(after_bos, read_reference_ids(model_path(std::string("reference/") + stem + ".ids")));
}

INSTANTIATE_TEST_SUITE_P(Aidreams, LlamaReference,
                         ::testing::Values(std::pair{"", "aidreams_greedy_bos"},
                                           std::pair{"I dream of", "aidreams_greedy_idream"}));

TEST(FloatModel, RefusesOutOfRangeTokensAndPositions) {
  TP_REQUIRE_MODEL_FILE("stories260K.bin");
  auto checkpoint = std::make_shared<const Checkpoint>(read_checkpoint(model_path("stories260K.bin")));
  FloatModel model(checkpoint);
  EXPECT_THROW(model.forward(-1, 0), std::out_of_range);
  EXPECT_THROW(model.forward(checkpoint->config.vocab_size, 0), std::out_of_range);
  EXPECT_THROW(model.forward(1, checkpoint->config.seq_len), std::out_of_range);
  EXPECT_THROW(model.forward(1, -1), std::out_of_range);
  EXPECT_NO_THROW(model.forward(1, 0));
}

}  // namespace
}  // namespace tp
