#include "golden/default_model.h"

#include <gtest/gtest.h>

#include "golden/float_model.h"
#include "golden/generate.h"

namespace tp {
namespace {

std::vector<std::uint8_t> bytes_of(const DefaultModel& model) {
  return serialize_checkpoint(model.checkpoint->config, model.checkpoint->weights,
                              CheckpointFormat::kLegacy);
}

TEST(DefaultModel, IsGeneratedBitForBitFromItsSeed) {
  EXPECT_EQ(bytes_of(make_default_model()), bytes_of(make_default_model()));
  EXPECT_NE(bytes_of(make_default_model()), bytes_of(make_default_model(kDefaultModelSeed + 1)));
  EXPECT_EQ(make_default_model().tokenizer.serialize(), make_default_model(7).tokenizer.serialize());
}

TEST(DefaultModel, HasTheShapesItPromises) {
  const ModelConfig& c = make_default_model().checkpoint->config;
  EXPECT_LT(c.n_kv_heads, c.n_heads);      // grouped-query attention
  EXPECT_NE(c.hidden_dim % 32, 0);         // rows need zero padding to blocks of 32
  EXPECT_FALSE(c.shared_classifier);       // the separate-classifier path
  EXPECT_NO_THROW(validate_config(c));
}

TEST(DefaultModel, EveryWordIsOnePieceAndDecodesBack) {
  const DefaultModel model = make_default_model();
  const auto ids = model.tokenizer.encode(default_model_text(), true, false);
  std::string text;
  for (std::size_t i = 1; i < ids.size(); ++i) text += model.tokenizer.decode(ids[i - 1], ids[i]);
  EXPECT_EQ(text, default_model_text());
}

// Greedy text of a model, as `tokenpipe generate -t 0` prints it.
std::string greedy_text(const std::shared_ptr<const Checkpoint>& checkpoint, const Tokenizer& tokenizer,
                        bool* stopped_at_bos) {
  FloatModel engine(checkpoint);
  Sampler greedy(checkpoint->config.vocab_size, {0.0f, 0.9f, 1});
  std::string text;
  const std::vector<int> bos{kBosToken};
  const auto run = generate(engine, greedy, bos, checkpoint->config.seq_len,
                            [&](int prev, int next) { text += tokenizer.decode(prev, next); });
  *stopped_at_bos = run.stopped_at_bos;
  return text;
}

TEST(DefaultModel, GreedyDecodingSpellsItsTextThenStops) {
  const DefaultModel model = make_default_model();
  bool stopped = false;
  EXPECT_EQ(greedy_text(model.checkpoint, model.tokenizer, &stopped), default_model_text());
  EXPECT_TRUE(stopped);
}

TEST(DefaultModel, SurvivesAFileRoundTripWithItsSeparateClassifier) {
  const DefaultModel model = make_default_model();
  auto reloaded = std::make_shared<const Checkpoint>(parse_checkpoint(bytes_of(model)));
  ASSERT_EQ(reloaded->config, model.checkpoint->config);
  FloatModel a(model.checkpoint), b(reloaded);
  for (int pos = 0; pos < 8; ++pos) {
    const auto la = a.forward(40 + pos, pos);
    const auto lb = b.forward(40 + pos, pos);
    ASSERT_TRUE(std::equal(la.begin(), la.end(), lb.begin())) << "position " << pos;
  }
}

}  // namespace
}  // namespace tp
