// Mixed precision on the unchanged engines: weight planes (add_planes) and
// activation planes (golden/int/activation_planes.h).
#include <gtest/gtest.h>

#include <random>

#include "golden/default_model.h"
#include "golden/generate.h"
#include "golden/int/calibration.h"
#include "golden/int/activation_planes.h"
#include "golden/int/int_model.h"
#include "golden/int/weight_image.h"

namespace tp::fx {
namespace {

MatrixRM random_weights(std::mt19937_64& rng, int rows, int cols) {
  std::normal_distribution<float> normal(0.0f, 0.05f);
  MatrixRM w(rows, cols);
  for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = normal(rng);
  return w;
}

std::vector<std::int32_t> random_q16(std::mt19937_64& rng, int n, double sigma) {
  std::normal_distribution<double> normal(0.0, sigma);
  std::vector<std::int32_t> x(n);
  for (auto& v : x) v = to_q16(normal(rng));
  return x;
}

double dequantized(const QuantVector& x, std::size_t i) {
  const ScaleFp& s = x.scales[i / x.group];
  return x.values[i] * std::ldexp(static_cast<double>(s.mantissa), s.exponent);
}

// Each row holds plane 0 (= quantize_matrix(w)) then the quantization of what
// it left over, each padded to whole blocks; each plane divides the error by
// about half the value range (INT8 ~250x, INT4 ~16x). A third INT8 plane buys
// little: its fp16 scales (~1e-8 here) underflow.
TEST(WeightPlanes, AppendTheQuantizedResidualAfterThePlainPlane) {
  std::mt19937_64 rng(11);
  const MatrixRM w = random_weights(rng, 40, 172);  // 172: padded to 192 per plane
  for (const int bits : {8, 4}) {
    const QuantMatrix one = quantize_matrix(w, bits);
    const QuantMatrix two = add_planes(one, w, 2);
    const QuantMatrix second = quantize_matrix(w - dequantize(one), bits);
    ASSERT_EQ(two.planes, 2);
    ASSERT_EQ(two.blocks(), 2 * one.blocks());
    for (int r = 0; r < w.rows(); ++r) {
      for (int c = 0; c < one.padded_cols(); ++c) {
        ASSERT_EQ(two.value(r, c), one.value(r, c));
        ASSERT_EQ(two.value(r, one.padded_cols() + c), second.value(r, c));
      }
      for (int b = 0; b < one.blocks(); ++b) {
        ASSERT_EQ(two.scale_bits(r, b), one.scale_bits(r, b));
        ASSERT_EQ(two.scale_bits(r, one.blocks() + b), second.scale_bits(r, b));
      }
    }
    const double error_one = (w - dequantize(one)).cwiseAbs().maxCoeff();
    const double error_two = (w - dequantize(two)).cwiseAbs().maxCoeff();
    const double error_three = (w - dequantize(add_planes(one, w, 3))).cwiseAbs().maxCoeff();
    std::cout << "INT" << bits << " max weight error, planes 1/2/3: " << error_one << " " << error_two << " "
              << error_three << "\n";
    EXPECT_LT(error_two, error_one / (bits == 8 ? 200 : 8));
    EXPECT_LE(error_three, error_two);
    if (bits == 4) {
      EXPECT_LT(error_three, error_two / 8);
    }
  }
}

// The engine computes a plane matrix as one plain matvec with the input's
// groups repeated, i.e. the sum over planes: within the rounding of the two
// products, the dequantized planes times the input.
TEST(WeightPlanes, MultiplyIsOneMatvecOverTheRepeatedInput) {
  std::mt19937_64 rng(12);
  const MatrixRM w = random_weights(rng, 24, 172);
  const QuantMatrix m = add_planes(quantize_matrix(w, 8), w, 2);
  const QuantVector x = quantize_q16(random_q16(rng, 172, 2.0));
  const auto y = multiply(m, {x});
  EXPECT_EQ(y, matvec(m, repeat_groups(x, 2)));
  const MatrixRM wd = dequantize(m);
  for (int r = 0; r < m.rows; ++r) {
    double exact = 0;
    for (int c = 0; c < m.cols; ++c) exact += wd(r, c) * dequantized(x, c);
    EXPECT_NEAR(from_q16(y[r]), exact, 2 * 2.0 / 65536) << "row " << r;  // one rounding per plane block, then Q16.16
  }
}

TEST(ActivationPlanes, PlaneZeroIsThePlainQuantizer) {
  std::mt19937_64 rng(13);
  const ScaleFp inv_dim = scale_from_double(1.0 / 172);
  for (int trial = 0; trial < 300; ++trial) {
    const double sigma = std::ldexp(1.0, trial % 12 - 4);
    const auto x = random_q16(rng, 172, sigma);
    Eigen::VectorXf g(172);
    for (auto& v : g) v = std::uniform_real_distribution<float>(-3.0f, 5.0f)(rng);
    const NormGains gains = quantize_gains(g);
    const QuantVector plain = rmsnorm(x, gains, inv_dim);
    const auto planes = rmsnorm_planes(x, gains, inv_dim, 2);
    ASSERT_EQ(planes[0].values, plain.values);
    for (std::size_t i = 0; i < plain.scales.size(); ++i) {
      ASSERT_EQ(planes[0].scales[i].mantissa, plain.scales[i].mantissa);
      ASSERT_EQ(planes[0].scales[i].exponent, plain.scales[i].exponent);
    }
    ASSERT_EQ(quantize_q16_planes(x, 2)[0].values, quantize_q16(x).values);
  }
}

// |r| <= A/254 + 2^-10 A + 1/2 in z units (half a step, plus the scale
// truncation the residual undoes). The two planes are then off by the second
// plane's own half step and scale truncation, ~250x below one plane.
TEST(ActivationPlanes, TheResidualPlaneShrinksTheError) {
  std::mt19937_64 rng(14);
  double worst_one = 0, worst_two = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const auto x = random_q16(rng, 96, std::ldexp(1.0, trial % 10 - 3));
    const std::vector<std::int64_t> z(x.begin(), x.end());
    const auto planes = quantize_q16_planes(x, 2);
    const auto r = activation_residual(z, planes[0], kUnitScale);
    for (std::size_t g = 0; g < z.size(); g += kBlock) {
      std::int64_t absmax = 0;
      for (std::size_t i = g; i < g + kBlock; ++i) absmax = std::max(absmax, std::abs(z[i]));
      double one = 0, two = 0;
      for (std::size_t i = g; i < g + kBlock; ++i) {
        ASSERT_LE(std::abs(static_cast<double>(r[i])), absmax * (1 / 254.0 + 0x1p-10) + 0.5);
        const double exact = from_q16(z[i]);
        one = std::max(one, std::abs(exact - dequantized(planes[0], i)));
        two = std::max(two, std::abs(exact - dequantized(planes[0], i) - dequantized(planes[1], i)));
      }
      const double range = from_q16(absmax);
      EXPECT_LE(one, range * (0.5 / 127 + 0x1p-10));
      EXPECT_LE(two, range * (1 / 254.0 + 0x1p-10) * (0.5 / 127 + 0x1p-10) + 0x1p-16);
      worst_one = std::max(worst_one, one / range);
      worst_two = std::max(worst_two, two / range);
    }
  }
  std::cout << "max error / group absmax, 1 plane: " << worst_one << ", 2 planes: " << worst_two << "\n";
}

TEST(MixedPrecision, PlanCostsAndTheWeightImageRefusesIt) {
  const auto model = make_default_model();
  const ModelConfig& c = model.checkpoint->config;
  for (const int bits : {8, 4}) {
    const QuantizedModel plain = quantize_model(*model.checkpoint, bits);
    const QuantizedModel mixed = quantize_model(*model.checkpoint, bits, nullptr, mixed_precision_plan(c, bits));
    EXPECT_TRUE(is_plain(plain));
    EXPECT_FALSE(is_plain(mixed));
    EXPECT_EQ(weight_bytes_per_token(plain), c.weight_bytes_per_token(bits));
    EXPECT_GT(weight_bytes_per_token(mixed), weight_bytes_per_token(plain));
    EXPECT_EQ(mixed.activation_planes, 2);
    EXPECT_EQ(mixed.layers[0].wqkv.planes, bits == 8 ? 2 : 3);
    EXPECT_EQ(mixed.layers.back().w2.planes, c.n_layers > 2 ? (bits == 8 ? 1 : 2) : (bits == 8 ? 2 : 3));
    EXPECT_THROW(write_weight_image(mixed), WeightImageError);
    IntModel engine(std::make_shared<const QuantizedModel>(mixed));
    EXPECT_EQ(engine.name(), bits == 8 ? "int8-mixed" : "int4-mixed");
    EXPECT_NO_THROW(engine.forward(1, 0));
  }
}

// Bytes of one quantized matrix per token at `planes` planes: per row and
// block of 32 columns, 32 values of `bits` and an fp16 scale, per plane.
std::int64_t matrix_bytes(std::int64_t rows, int cols, int bits, int planes) {
  return rows * ((cols + 31) / 32) * planes * (32 * bits / 8 + 2);
}

// The hifi plan: INT8 with 3 weight planes on the embedding and the
// classifier (shared or not) and 2 on every layer matrix, INT4 with the mixed plan's planes;
// both with 2 activation planes and the 16-bit attention.
TEST(HifiPlan, PlanesBytesAndAttentionFormat) {
  const auto model = make_default_model();
  const ModelConfig& c = model.checkpoint->config;
  for (const int bits : {8, 4}) {
    const QuantizedModel hifi = quantize_model(*model.checkpoint, bits, nullptr, hifi_precision_plan(c, bits));
    const PrecisionPlan mixed = mixed_precision_plan(c, bits);
    EXPECT_EQ(hifi.attention, kHifiAttention);
    EXPECT_EQ(hifi.activation_planes, 2);
    EXPECT_EQ(hifi.embedding.planes, 3);
    EXPECT_EQ(hifi.classifier.planes, 3);
    EXPECT_FALSE(is_plain(hifi));
    EXPECT_THROW(write_weight_image(hifi), WeightImageError);
    std::int64_t expected = matrix_bytes(1, c.dim, bits, 3) + matrix_bytes(c.vocab_size, c.dim, bits, 3);
    for (int l = 0; l < c.n_layers; ++l) {
      const int planes = bits == 8 ? 2 : mixed.layers[l].wqkv;
      const QuantizedLayer& layer = hifi.layers[l];
      EXPECT_EQ(layer.wqkv.planes, planes);
      EXPECT_EQ(layer.wo.planes, planes);
      EXPECT_EQ(layer.w13.planes, planes);
      EXPECT_EQ(layer.w2.planes, planes);
      expected += matrix_bytes(c.dim + 2 * c.kv_dim(), c.dim, bits, planes) + matrix_bytes(c.dim, c.dim, bits, planes) +
                  matrix_bytes(2 * c.hidden_dim, c.dim, bits, planes) + matrix_bytes(c.dim, c.hidden_dim, bits, planes);
    }
    expected += (2 * c.n_layers + 1) * c.dim * 4;  // the norm gains
    EXPECT_EQ(weight_bytes_per_token(hifi), expected);
  }
}

// Per layer and KV head, a K and a V row and two scales: INT8 rows with
// 2-byte scale codes, or 16-bit rows with 4-byte scales (16-bit mantissas).
// stories260K's shape (5 layers, 4 KV heads of 8): 400 and 800 bytes.
TEST(HifiPlan, KvBytesPerToken) {
  QuantizedModel stories;
  stories.config = {64, 172, 5, 8, 4, 512, 512, true};
  EXPECT_EQ(kv_bytes_per_token(stories), 5 * 4 * 2 * (8 + 2));
  EXPECT_EQ(kv_bytes_per_token(stories), 400);
  stories.attention = kHifiAttention;
  EXPECT_EQ(kv_bytes_per_token(stories), 5 * 4 * 2 * (16 + 4));
  EXPECT_EQ(kv_bytes_per_token(stories), 800);
  stories.attention = {16, 8, 11};  // 16-bit rows, the RTL's 2-byte scale codes
  EXPECT_EQ(kv_bytes_per_token(stories), 5 * 4 * 2 * (16 + 2));
}

// The engines are named after their plan, and the hifi engines decode the
// default model's text like every other integer engine (the CLI's check).
TEST(HifiPlan, EnginesNamedAfterThePlanDecodeTheDefaultText) {
  const auto model = make_default_model();
  const ModelConfig& c = model.checkpoint->config;
  const ActivationStats stats = calibrate(model.checkpoint);
  for (const int bits : {8, 4}) {
    IntModel engine(std::make_shared<const QuantizedModel>(
        quantize_model(*model.checkpoint, bits, &stats, hifi_precision_plan(c, bits))));
    EXPECT_EQ(engine.name(), bits == 8 ? "int8-hifi" : "int4-hifi");
    Sampler greedy(c.vocab_size, {0.0f, 0.9f, 1});
    const std::vector<int> bos{1};
    std::string text;
    generate(engine, greedy, bos, c.seq_len, [&](int prev, int next) { text += model.tokenizer.decode(prev, next); });
    EXPECT_EQ(text, default_model_text()) << engine.name();
  }
  PrecisionPlan bad = hifi_precision_plan(c, 8);
  bad.attention.kv_bits = 12;
  EXPECT_THROW(quantize_model(*model.checkpoint, 8, nullptr, bad), std::invalid_argument);
}

}  // namespace
}  // namespace tp::fx
