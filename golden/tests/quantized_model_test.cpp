#include "golden/int/quantized_model.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "golden/default_model.h"
#include "golden/int/int_model.h"

namespace tp {
namespace {

TEST(QuantizedModel, FusesQkvByStackingAndW1W3ByInterleaving) {
  const auto model = make_default_model();
  const auto& w = model.checkpoint->weights.layers[0];
  const fx::QuantizedModel q = fx::quantize_model(*model.checkpoint, 8);
  const ModelConfig& c = q.config;
  const auto wq = fx::quantize_matrix(w.wq, 8), wk = fx::quantize_matrix(w.wk, 8), wv = fx::quantize_matrix(w.wv, 8);
  const auto& wqkv = q.layers[0].wqkv;
  ASSERT_EQ(wqkv.rows, c.dim + 2 * c.kv_dim());
  for (int col = 0; col < c.dim; ++col) {
    EXPECT_EQ(wqkv.value(0, col), wq.value(0, col));
    EXPECT_EQ(wqkv.value(c.dim, col), wk.value(0, col));
    EXPECT_EQ(wqkv.value(c.dim + c.kv_dim() + 3, col), wv.value(3, col));
  }
  const auto w1 = fx::quantize_matrix(w.w1, 8), w3 = fx::quantize_matrix(w.w3, 8);
  const auto& w13 = q.layers[0].w13;
  ASSERT_EQ(w13.rows, 2 * c.hidden_dim);
  for (int j : {0, 1, c.hidden_dim - 1}) {
    for (int col = 0; col < c.dim; ++col) {
      EXPECT_EQ(w13.value(2 * j, col), w1.value(j, col));
      EXPECT_EQ(w13.value(2 * j + 1, col), w3.value(j, col));
    }
  }
}

TEST(QuantizedModel, KeepsTheStoredValuesOfAQ8Checkpoint) {
  const auto model = make_default_model();
  const ModelConfig& c = model.checkpoint->config;
  for (const int group_size : {32, 64}) {
    const Checkpoint v2 = parse_checkpoint(
        serialize_checkpoint(c, model.checkpoint->weights, CheckpointFormat::kQ8V2, group_size));
    const fx::QuantizedModel q = fx::quantize_model(v2, 8);
    // wq[0] is the first layer tensor after the embedding in file order.
    const StoredQ8Tensor& stored = v2.stored_q8[1];
    ASSERT_EQ(stored.name, "wq[0]");
    const auto& wqkv = q.layers[0].wqkv;
    for (int row = 0; row < c.dim; ++row) {
      for (int col = 0; col < c.dim; ++col) {
        const std::size_t flat = static_cast<std::size_t>(row) * c.dim + col;
        ASSERT_EQ(wqkv.value(row, col), stored.values[flat]) << row << "," << col;
        ASSERT_EQ(wqkv.scale_bits(row, col / 32), fx::fp16_from_float(stored.scales[flat / group_size]));
      }
    }
    // w2 rows are 176 long: with groups of 64, blocks straddle groups and are
    // requantized; the result must still be a faithful INT8 matrix.
    const MatrixRM w2 = fx::dequantize(q.layers[0].w2);
    EXPECT_LT((w2 - v2.weights.layers[0].w2).cwiseAbs().maxCoeff(), 0.01f);
  }
}

}  // namespace
}  // namespace tp

namespace tp::fx {
namespace {

// The taps of a forward pass: every stage in the accelerator's order, with
// the sizes of its vectors, the embedding and logits equal to what the model
// returns, and no effect on the results.
TEST(IntModelTaps, EveryStageInOrderWithItsVectors) {
  const DefaultModel model = make_default_model();
  const ModelConfig& c = model.checkpoint->config;
  auto quantized = std::make_shared<const QuantizedModel>(quantize_model(*model.checkpoint, 8));
  IntModel plain(quantized), observed(quantized);
  std::vector<Tap> taps;
  std::vector<std::vector<std::int32_t>> copies;
  observed.set_observer([&](const Tap& t) {
    taps.push_back(t);
    copies.emplace_back(t.values.begin(), t.values.end());
  });
  for (int pos = 0; pos < 3; ++pos) {
    const int token = 1 + 7 * pos;
    plain.forward(token, pos);
    taps.clear();
    copies.clear();
    observed.forward(token, pos);
    ASSERT_EQ(static_cast<int>(taps.size()), 2 + 6 * c.n_layers);
    EXPECT_EQ(taps.front().stage, Stage::kEmbedding);
    EXPECT_EQ(copies.front(), embed(quantized->embedding, token));
    const std::vector<Stage> per_layer{Stage::kQkv, Stage::kRope, Stage::kAttention, Stage::kAttentionResidual,
                                       Stage::kGated, Stage::kFfnResidual};
    const std::vector<int> sizes{c.dim + 2 * c.kv_dim(), c.dim + c.kv_dim(), c.dim, c.dim, c.hidden_dim, c.dim};
    for (int l = 0; l < c.n_layers; ++l) {
      for (std::size_t k = 0; k < per_layer.size(); ++k) {
        const std::size_t i = 1 + static_cast<std::size_t>(l) * per_layer.size() + k;
        EXPECT_EQ(taps[i].stage, per_layer[k]) << stage_name(taps[i].stage);
        EXPECT_EQ(taps[i].layer, l);
        EXPECT_EQ(taps[i].pos, pos);
        EXPECT_EQ(static_cast<int>(copies[i].size()), sizes[k]) << stage_name(per_layer[k]);
      }
    }
    EXPECT_EQ(taps.back().stage, Stage::kLogits);
    EXPECT_EQ(taps.back().layer, c.n_layers);
    const std::vector<std::int32_t> logits(plain.logits_q16().begin(), plain.logits_q16().end());
    EXPECT_EQ(copies.back(), logits);
    EXPECT_TRUE(std::equal(observed.logits_q16().begin(), observed.logits_q16().end(), logits.begin()));
  }
}

}  // namespace
}  // namespace tp::fx
