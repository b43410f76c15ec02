// Accuracy of every integer unit of golden/int/ against its real-valued
// definition. Each test states its error bound as a named constant derived in
// a comment, asserts it, and prints the measured maximum (a line
// "[ accuracy ] ..." and a gtest property) for docs/numerics.md.
// References are computed independently in double / long double or with exact
// integer arithmetic; inputs are exhaustive where the input range is small.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "golden/default_model.h"
#include "golden/float_model.h"
#include "golden/generate.h"
#include "golden/int/attention.h"
#include "golden/int/exp2.h"
#include "golden/int/fixed_point.h"
#include "golden/int/int_model.h"
#include "golden/int/quantize.h"
#include "golden/int/quantized_model.h"
#include "golden/int/rmsnorm.h"
#include "golden/int/rope.h"
#include "golden/int/scale.h"
#include "golden/int/silu.h"
#include "golden/int/tables.h"

namespace tp::fx {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr long double kTwoPiL = 6.283185307179586476925286766559L;

// ---------------------------------------------------------------------------
// Helpers

// The largest error seen and the input that produced it.
struct MaxError {
  double value = 0;
  std::string at;
  template <typename Describe>
  void add(double error, Describe describe) {
    if (error > value) {
      value = error;
      at = describe();
    }
  }
};

std::string str(long double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

// Prints and records a measured maximum next to its bound, and asserts it.
void report(const std::string& what, const MaxError& error, double bound, const std::string& unit) {
  std::cout << "[ accuracy ] " << what << ": max error " << error.value << " " << unit << " (bound " << bound << ") at "
            << error.at << '\n';
  std::string key = what;
  std::replace_if(
      key.begin(), key.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  ::testing::Test::RecordProperty(key + "_max_error", str(error.value));
  ::testing::Test::RecordProperty(key + "_bound", str(bound));
  EXPECT_LE(error.value, bound) << what << " at " << error.at;
}

// floor(n / d) for d > 0, exactly.
int128 floor_div(int128 n, int128 d) {
  const int128 q = n / d;
  return (n % d != 0 && n < 0) ? q - 1 : q;
}

double fp16_value(std::uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, sizeof(h));
  return static_cast<double>(h);
}

std::uint16_t fp16_bits(float value) {
  const _Float16 h = static_cast<_Float16>(value);  // GCC: IEEE round to nearest even
  std::uint16_t bits;
  std::memcpy(&bits, &h, sizeof(bits));
  return bits;
}

float float_of_bits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// Magnitude of an int64 as an exact integer.
long double magnitude(std::int64_t v) { return std::fabs(static_cast<long double>(v)); }

// A random Q16.16 vector whose entries are normal with standard deviation
// `sigma` (real units), clamped to int32.
std::vector<std::int32_t> random_q16(std::mt19937_64& rng, int n, double sigma) {
  std::normal_distribution<double> normal(0.0, sigma);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = to_q16(normal(rng));
  return v;
}

MatrixRM random_matrix(std::mt19937_64& rng, int rows, int cols, double sigma) {
  std::normal_distribution<float> normal(0.0f, static_cast<float>(sigma));
  MatrixRM w(rows, cols);
  for (int i = 0; i < w.size(); ++i) w.data()[i] = normal(rng);
  return w;
}

ScaleFp random_scale(std::mt19937_64& rng, int min_exponent, int max_exponent) {
  std::uniform_int_distribution<int> mantissa(1024, 2047), exponent(min_exponent, max_exponent);
  return {static_cast<std::uint16_t>(mantissa(rng)), static_cast<std::int16_t>(exponent(rng)), false};
}

// ---------------------------------------------------------------------------
// fixed_point.h: exact integer reasoning, so the bound is zero.

TEST(FixedPoint, RoundShiftRoundsHalfUpExactly) {
  // v * 2^-s rounded half up is floor((2v + 2^s) / 2^(s+1)).
  for (int s = 1; s <= 12; ++s) {
    for (int v = -3000; v <= 3000; ++v) {
      ASSERT_EQ(round_shift(v, -s), floor_div(int128{2} * v + (int128{1} << s), int128{1} << (s + 1)))
          << v << " >> " << s;
    }
  }
  EXPECT_EQ(round_shift(5, -1), 3);    // 2.5 -> 3
  EXPECT_EQ(round_shift(-5, -1), -2);  // -2.5 -> -2 (half up, not away)
  EXPECT_EQ(round_shift(-7, -1), -3);  // -3.5 -> -3
  EXPECT_EQ(round_shift(-6, -2), -1);  // -1.5 -> -1
  EXPECT_EQ(round_shift(-3, -2), -1);  // -0.75 -> -1
  for (int s = 0; s <= 60; ++s) EXPECT_EQ(round_shift(-12345, s), int128{-12345} * (int128{1} << s));
  // Large values and shifts up to the 126 the datapath can ask for.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) {
    const int128 v =
        (static_cast<int128>(static_cast<std::int64_t>(rng())) << 36) + static_cast<std::int64_t>(rng() >> 30);
    const int s = 1 + static_cast<int>(rng() % 120);
    ASSERT_EQ(round_shift(v, -s), floor_div(2 * v + (int128{1} << s), int128{1} << (s + 1)));
  }
  const int128 half = int128{1} << 125;  // 2^125 * 2^-126 = 0.5
  EXPECT_EQ(round_shift(half, -126), 1);
  EXPECT_EQ(round_shift(half - 1, -126), 0);
  EXPECT_EQ(round_shift(-half, -126), 0);
  EXPECT_EQ(round_shift(-half - 1, -126), -1);
  EXPECT_EQ(round_shift(12345, -127), 0);
  EXPECT_EQ(round_shift(-12345, -400), 0);
}

TEST(FixedPoint, DivRoundAwayRoundsHalvesAwayFromZero) {
  for (int d = 1; d <= 64; ++d) {
    for (int n = -600; n <= 600; ++n) {
      // n / d is at least 1/(2d) from any non-tie half, far above long double rounding.
      ASSERT_EQ(div_round_away(n, d), static_cast<int128>(std::llround(static_cast<long double>(n) / d)))
          << n << " / " << d;
    }
  }
  EXPECT_EQ(div_round_away(5, 2), 3);
  EXPECT_EQ(div_round_away(-5, 2), -3);
  EXPECT_EQ(div_round_away(-127 * 127, 254), -64);  // -63.5
  // Wide operands: |n - q d| <= d / 2, ties away from zero.
  std::mt19937_64 rng(2);
  for (int i = 0; i < 20000; ++i) {
    const int128 n = static_cast<int128>(static_cast<std::int64_t>(rng())) << 26;
    const int128 d = 1 + static_cast<int128>(rng() >> 34);
    const int128 q = div_round_away(n, d);
    const int128 twice_residual = 2 * n - 2 * q * d;
    const int128 abs_twice_residual = twice_residual < 0 ? -twice_residual : twice_residual;
    ASSERT_LE(abs_twice_residual, d);
    if (abs_twice_residual == d) {
      ASSERT_TRUE((n >= 0) == (twice_residual < 0)) << "a tie moves away from zero";
    }
  }
}

TEST(FixedPoint, SaturateClampsToTheTargetRange) {
  const int128 big = int128{1} << 100;
  EXPECT_EQ(saturate_i32(big), INT32_MAX);
  EXPECT_EQ(saturate_i32(-big), INT32_MIN);
  EXPECT_EQ(saturate_i32(int128{INT32_MAX} + 1), INT32_MAX);
  EXPECT_EQ(saturate_i32(int128{INT32_MIN} - 1), INT32_MIN);
  EXPECT_EQ(saturate_i32(INT32_MAX), INT32_MAX);
  EXPECT_EQ(saturate_i32(INT32_MIN), INT32_MIN);
  EXPECT_EQ(saturate_i32(-7), -7);
  EXPECT_EQ(saturate_i16(32768), 32767);
  EXPECT_EQ(saturate_i16(-32769), -32768);
  EXPECT_EQ(saturate_i16(-32768), -32768);
  EXPECT_EQ(saturate_i16(1234), 1234);
}

// ---------------------------------------------------------------------------
// ScaleFp

TEST(ScaleFp, ConvertsEveryFiniteFp16Exactly) {
  for (std::uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const auto b = static_cast<std::uint16_t>(bits);
    if (((b >> 10) & 0x1F) == 0x1F) {
      EXPECT_THROW(scale_from_fp16(b), std::invalid_argument) << bits;
      continue;
    }
    const ScaleFp s = scale_from_fp16(b);
    ASSERT_EQ(s.to_double(), fp16_value(b)) << "fp16 bits " << bits;
    ASSERT_TRUE(s.mantissa == 0 || (s.mantissa >= 1024 && s.mantissa <= 2047)) << bits;
    ASSERT_FALSE(s.is_zero() && s.negative) << bits;
    ASSERT_EQ(float_from_fp16(b), static_cast<float>(fp16_value(b))) << bits;
  }
}

TEST(ScaleFp, Fp16FromFloatRoundsToNearestEven) {
  // Every float next to every fp16 value and next to every midpoint between
  // two (ties go to even), both signs, against GCC's _Float16 conversion.
  auto check = [](float x) {
    if (!std::isfinite(x) || std::fabs(x) > 65504.0f) {
      EXPECT_THROW(fp16_from_float(x), std::invalid_argument) << x;
      return;
    }
    ASSERT_EQ(fp16_from_float(x), fp16_bits(x)) << "float " << str(x);
  };
  std::size_t checked = 0;
  for (std::uint16_t bits = 0; bits < 0x7BFF; ++bits) {
    const float lo = static_cast<float>(fp16_value(bits));
    const float hi = static_cast<float>(fp16_value(static_cast<std::uint16_t>(bits + 1)));
    const float mid = (lo + hi) / 2.0f;  // exact: 12 significant bits
    for (const float x : {lo, std::nextafter(lo, 1e9f), std::nextafter(lo, -1e9f), mid, std::nextafter(mid, 0.0f),
                          std::nextafter(mid, 1e9f)}) {
      check(x);
      check(-x);
      checked += 2;
    }
  }
  // Random floats over the whole fp16 range including float subnormals.
  std::mt19937_64 rng(3);
  for (int i = 0; i < 300000; ++i) {
    const float x = float_of_bits(static_cast<std::uint32_t>(rng()) % 0x47800000u);  // |x| < 65536
    check(x);
    check(-x);
    checked += 2;
  }
  for (const float x : {65504.0f, 65505.0f, 1e9f, std::numeric_limits<float>::infinity(), std::nanf("")}) check(x);
  EXPECT_GT(checked, 700000u);
}

// normalize keeps the 11 leading bits: m * 2^sh <= v < (m + 1) * 2^sh with
// m >= 1024, so the relative error is below 2^sh / (m 2^sh) <= 2^-10.
constexpr double kScaleTruncation = 0x1p-10;

// normalize at `bits` significant bits (11, or the hifi attention's 16):
// m * 2^sh <= v < (m + 1) * 2^sh with m >= 2^(bits-1).
MaxError check_normalize(int bits, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  MaxError error;
  const unsigned lowest = 1u << (bits - 1), highest = (1u << bits) - 1;
  for (int bitlen = 1; bitlen <= 126; ++bitlen) {
    for (int i = 0; i < 300; ++i) {
      uint128 v = (static_cast<uint128>(rng()) << 64) | rng();
      v = (v >> (128 - bitlen)) | (uint128{1} << (bitlen - 1));
      const int exponent = static_cast<int>(rng() % 200) - 100;
      const ScaleFp s = normalize(v, exponent, bits);
      EXPECT_GE(s.mantissa, lowest);
      EXPECT_LE(s.mantissa, highest);
      EXPECT_FALSE(s.negative);
      const int sh = s.exponent - exponent;
      if (bitlen <= bits) {  // exact: a left shift
        EXPECT_EQ(static_cast<uint128>(s.mantissa), v << -sh) << "bit length " << bitlen;
        continue;
      }
      const uint128 kept = static_cast<uint128>(s.mantissa) << sh;
      EXPECT_LE(kept, v);
      EXPECT_LT(v - kept, uint128{1} << sh);
      const long double relative = static_cast<long double>(v - kept) / static_cast<long double>(v);
      error.add(static_cast<double>(relative), [&] { return "bit length " + std::to_string(bitlen); });
    }
  }
  return error;
}

TEST(ScaleFp, NormalizeTruncatesBelowTwoToTheMinusTen) {
  const MaxError error = check_normalize(ScaleFp::kMantissaBits, 4);
  EXPECT_TRUE(normalize(0, 5).is_zero());
  report("normalize relative truncation", error, kScaleTruncation, "");
  EXPECT_LT(error.value, kScaleTruncation);
}

TEST(ScaleFp, MultiplyAndFromDoubleTruncateBelowTwoToTheMinusTen) {
  std::mt19937_64 rng(5);
  MaxError product_error, double_error;
  for (int i = 0; i < 100000; ++i) {
    ScaleFp a = random_scale(rng, -60, 40), b = random_scale(rng, -60, 40);
    a.negative = rng() & 1;
    b.negative = rng() & 1;
    const ScaleFp p = multiply(a, b);
    const double exact = a.to_double() * b.to_double();  // 22-bit product: exact in double
    ASSERT_EQ(p.negative, exact < 0);
    ASSERT_LE(std::fabs(p.to_double()), std::fabs(exact));
    product_error.add((std::fabs(exact) - std::fabs(p.to_double())) / std::fabs(exact),
                      [&] { return a.describe() + " x " + b.describe(); });
    const double v = std::ldexp(1.0 + static_cast<double>(rng() >> 11) * 0x1p-53, static_cast<int>(rng() % 160) - 80);
    const ScaleFp s = scale_from_double(v);
    ASSERT_LE(s.to_double(), v);
    double_error.add((v - s.to_double()) / v, [&] { return str(v); });
  }
  EXPECT_TRUE(multiply(ScaleFp{}, kUnitScale).is_zero());
  EXPECT_FALSE(multiply(ScaleFp{}, ScaleFp{1024, 0, true}).negative);
  EXPECT_EQ(scale_from_double(0.75).to_double(), 0.75);
  EXPECT_EQ(scale_from_double(1.0 / 1024).to_double(), 1.0 / 1024);
  for (const double bad : {0.0, -1.0, std::numeric_limits<double>::infinity(), std::nan("")}) {
    EXPECT_THROW(scale_from_double(bad), std::invalid_argument);
  }
  report("ScaleFp multiply relative truncation", product_error, kScaleTruncation, "");
  report("scale_from_double relative truncation", double_error, kScaleTruncation, "");
  EXPECT_LT(product_error.value, kScaleTruncation);
  EXPECT_LT(double_error.value, kScaleTruncation);
}

// The hifi attention's scales keep 16 bits: the same truncation at 2^-15.
constexpr double kScaleTruncation16 = 0x1p-15;

TEST(ScaleFp, SixteenBitMantissasTruncateBelowTwoToTheMinusFifteen) {
  const MaxError error = check_normalize(ScaleFp::kMaxMantissaBits, 40);
  report("normalize relative truncation, 16-bit mantissa", error, kScaleTruncation16, "");
  EXPECT_LT(error.value, kScaleTruncation16);
  std::mt19937_64 rng(41);
  std::uniform_int_distribution<int> mantissa(32768, 65535), exponent(-60, 40);
  MaxError product_error, double_error;
  for (int i = 0; i < 100000; ++i) {
    const ScaleFp a{static_cast<std::uint16_t>(mantissa(rng)), static_cast<std::int16_t>(exponent(rng)), false};
    const ScaleFp b = random_scale(rng, -60, 40);  // an 11-bit operand, as the score scale's partner may be
    const ScaleFp p = multiply(a, b, ScaleFp::kMaxMantissaBits);
    ASSERT_GE(p.mantissa, 32768);
    const double exact = a.to_double() * b.to_double();  // 27-bit product: exact in double
    ASSERT_LE(p.to_double(), exact);
    product_error.add((exact - p.to_double()) / exact, [&] { return a.describe() + " x " + b.describe(); });
    const double v = std::ldexp(1.0 + static_cast<double>(rng() >> 11) * 0x1p-53, static_cast<int>(rng() % 160) - 80);
    const ScaleFp s = scale_from_double(v, ScaleFp::kMaxMantissaBits);
    ASSERT_LE(s.to_double(), v);
    double_error.add((v - s.to_double()) / v, [&] { return str(v); });
  }
  report("ScaleFp multiply relative truncation, 16-bit mantissa", product_error, kScaleTruncation16, "");
  report("scale_from_double relative truncation, 16-bit mantissa", double_error, kScaleTruncation16, "");
  EXPECT_LT(product_error.value, kScaleTruncation16);
  EXPECT_LT(double_error.value, kScaleTruncation16);
  // An 11-bit value widens exactly; the 16-bit form of 1/sqrt(8)/ln 2 is the 11-bit one plus 5 more bits.
  const ScaleFp eleven = score_scale(8), sixteen = score_scale(8, 16);
  EXPECT_EQ(sixteen.mantissa >> 5, eleven.mantissa);
  EXPECT_EQ(sixteen.exponent + 5, eleven.exponent);
  EXPECT_THROW(normalize(5, 0, 10), std::invalid_argument);
  EXPECT_THROW(normalize(5, 0, 17), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// quantize_matrix

// The block scale search (quantize.h) tries base * (1 + k/400), |k| <= 100.
constexpr double kScaleSearchRange = 0.25;
// The stored q comes from a float quotient w / scale, which may sit on the
// other side of a half by one float rounding: slack of 2^-20 of the step.
constexpr double kFloatQuotientSlack = 0x1p-20;

// A block's plain absmax quantization, computed independently (the _Float16
// cast, exact long double rounding): the least-squares search keeps this
// candidate unless another one has a smaller squared error.
struct PlainQuantization {
  float extreme = 0.0f;   // the value of largest magnitude, the first on ties
  long double base = 0;   // |extreme| / 127 (INT8) or extreme / -8 (INT4), exact
  long double scale = 0;  // fp16 of the float base
  long double squared_error = 0;
};

PlainQuantization plain_quantization(const float* block, int count, int bits) {
  PlainQuantization p;
  for (int i = 0; i < count; ++i) {
    if (std::fabs(block[i]) > std::fabs(p.extreme)) p.extreme = block[i];
  }
  p.base = bits == 8 ? std::fabs(p.extreme) / 127.0L : p.extreme / -8.0L;
  p.scale = static_cast<_Float16>(bits == 8 ? std::fabs(p.extreme) / 127.0f : p.extreme / -8.0f);
  if (p.scale == 0) return p;
  const long double lo = bits == 8 ? -127 : -8, hi = bits == 8 ? 127 : 7;
  for (int i = 0; i < count; ++i) {
    const long double e = block[i] - std::clamp(std::roundl(block[i] / p.scale), lo, hi) * p.scale;
    p.squared_error += e * e;
  }
  return p;
}

void check_quantized_matrix(const MatrixRM& w, int bits, MaxError& step_error, MaxError& search_error) {
  const QuantMatrix m = quantize_matrix(w, bits);
  const int lo = bits == 8 ? -127 : -8, hi = bits == 8 ? 127 : 7;
  ASSERT_EQ(m.rows, w.rows());
  ASSERT_EQ(m.cols, w.cols());
  ASSERT_EQ(m.padded_cols() % kBlock, 0);
  ASSERT_EQ(m.values.size(), static_cast<std::size_t>(m.rows) * m.padded_cols());
  ASSERT_EQ(m.scales.size(), static_cast<std::size_t>(m.rows) * m.blocks());
  const MatrixRM back = dequantize(m);
  for (int r = 0; r < m.rows; ++r) {
    for (int c = m.cols; c < m.padded_cols(); ++c) ASSERT_EQ(m.value(r, c), 0) << "padding";
    for (int b = 0; b < m.blocks(); ++b) {
      const int first = b * kBlock, count = std::min(kBlock, m.cols - first);
      const float* block = w.data() + static_cast<std::size_t>(r) * m.cols + first;
      const long double scale = fp16_value(m.scale_bits(r, b));
      const PlainQuantization plain = plain_quantization(block, count, bits);
      if (plain.extreme == 0.0f) {
        ASSERT_EQ(scale, 0) << "zero block";
        for (int i = 0; i < count; ++i) ASSERT_EQ(m.value(r, first + i), 0);
        continue;
      }
      const long double base = plain.base;
      // The scale lies in the search range (fp16 rounding: 2^-11 relative, or
      // 2^-25 absolute for subnormals) and has the sign of base (for INT4 it
      // maps the extreme value to -8).
      ASSERT_GT(scale * base, 0) << r << "," << b;
      ASSERT_GE(std::fabs(scale), std::fabs(base) * (1 - kScaleSearchRange) * (1 - 0x1p-11) - 0x1p-25L)
          << r << "," << b;
      ASSERT_LE(std::fabs(scale), std::fabs(base) * (1 + kScaleSearchRange) * (1 + 0x1p-11) + 0x1p-25L)
          << r << "," << b;
      long double block_sq = 0, worst = 0;
      for (int i = 0; i < count; ++i) {
        const int q = m.value(r, first + i);
        ASSERT_GE(q, lo);
        ASSERT_LE(q, hi);
        ASSERT_EQ(back(r, first + i), static_cast<float>(q * scale)) << "dequantize";
        const long double ratio = block[i] / scale, e = std::fabs(block[i] - q * scale);
        block_sq += e * e;
        worst = std::max(worst, e);
        if (ratio <= hi + 0.5L && ratio >= lo - 0.5L) {
          // Not clipped: the nearest step, half a step away at most.
          ASSERT_LE(e, std::fabs(scale) * (0.5L + kFloatQuotientSlack)) << "w " << block[i] << " scale " << str(scale);
          step_error.add(static_cast<double>(e / std::fabs(scale)), [&] { return "w " + str(block[i]); });
        } else {
          // Clipped. On the extreme value's side (all of INT8; -8 for INT4)
          // only when the search chose a scale below base; INT4's +7 side
          // clips by construction (-extreme / base = 8), which the squared
          // error bound below covers.
          ASSERT_EQ(q, ratio > 0 ? hi : lo);
          if (bits == 8 || q == lo) {
            ASSERT_LT(std::fabs(scale), std::fabs(base) * (1 + 0x1p-10)) << "clipped against a larger scale";
          }
        }
      }
      // The search keeps the least squared error, so no weight errs by more
      // than the root of the plain absmax quantization's squared error.
      ASSERT_LE(block_sq, plain.squared_error * (1 + 1e-6L) + 1e-30L) << "row " << r << " block " << b;
      ASSERT_LE(worst, std::sqrt(plain.squared_error) * (1 + 1e-6L) + 1e-30L);
      search_error.add(static_cast<double>(worst / (std::fabs(plain.scale) / 2)),
                       [&] { return "row " + std::to_string(r); });
    }
  }
}

TEST(QuantizeMatrix, ValuesInRangeWithinHalfAStepOrTheSearchBound) {
  std::mt19937_64 rng(6);
  for (const int bits : {8, 4}) {
    MaxError step_error, search_error;
    for (const int cols : {1, 5, 31, 32, 33, 64, 100, 172, 200}) {
      MatrixRM w = random_matrix(rng, 6, cols, 0.02);
      w(0, 0) = 0.5f;                                        // an outlier
      if (cols > 3) w(1, 3) = -0.3f;                         // a negative outlier (INT4 sign)
      w.row(2).setZero();                                    // all-zero blocks
      w.row(3).head(std::min(cols, 32)) *= 0.25f;            // a smaller block
      if (cols >= 32) w.row(4).head(32).setConstant(0.01f);  // equal values
      check_quantized_matrix(w, bits, step_error, search_error);
    }
    // Half a step, plus the float quotient's rounding.
    report("quantize_matrix int" + std::to_string(bits) + " unclipped error / scale", step_error,
           0.5 + kFloatQuotientSlack, "steps");
    // sqrt(sum of squares of the plain quantization) <= sqrt(32) half steps
    // (INT8) or sqrt(32) whole steps (INT4: the value -extreme maps to 8 -> 7),
    // with the plain scale's fp16 rounding (2^-11) on the clipped value.
    report("quantize_matrix int" + std::to_string(bits) + " worst error / plain half step", search_error,
           std::sqrt(32.0) * (bits == 8 ? 1.0 : 2.0) * (1 + 0x1p-10), "half steps");
  }
  EXPECT_THROW(quantize_matrix(MatrixRM::Zero(2, 2), 5), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// quantize_activations

// scale = normalize(floor(A f.m 2^12 / 127)) 2^(...): as for normalize, the
// truncation leaves a relative error below 2^-10 (the floor and the final
// truncation nest into one floor at the final bit position). The value error
// is then at most half a step of the exact scale A/127 plus 127 steps times
// the scale error: A (1/254 + 2^-10).
constexpr double kActivationValueBound = 1.0 / 254 + kScaleTruncation;

struct ActivationErrors {
  MaxError scale, value;
};

// Checks q = quantize_activations(z, ...) in `format` (its INT8 or 16-bit form).
template <typename Vector>
void check_activations(const Vector& q, std::span<const std::int64_t> z, int frac_bits, const ScaleFp& factor,
                       int group, const ActivationFormat& format, ActivationErrors& errors) {
  const long double levels = format.max_magnitude;
  const std::size_t groups = (z.size() + group - 1) / group;
  ASSERT_EQ(q.group, group);
  ASSERT_EQ(q.values.size(), groups * group);
  ASSERT_EQ(q.scales.size(), groups);
  for (std::size_t i = z.size(); i < q.values.size(); ++i) ASSERT_EQ(q.values[i], 0) << "padding";
  const long double unit = std::ldexp(static_cast<long double>(factor.mantissa), factor.exponent - frac_bits);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t first = g * group, last = std::min(z.size(), first + group);
    long double a = 0;
    for (std::size_t i = first; i < last; ++i) a = std::max(a, magnitude(z[i]));
    const ScaleFp& s = q.scales[g];
    if (a == 0) {
      ASSERT_TRUE(s.is_zero());
      for (std::size_t i = first; i < last; ++i) ASSERT_EQ(q.values[i], 0);
      continue;
    }
    int top = 0;
    for (std::size_t i = first; i < last; ++i) {
      // M z / A is at least 1/(2A) from a non-tie half: exact in long double
      // (64-bit mantissa) for A M < 2^57 (INT8: A < 2^50; 16-bit: A < 2^42).
      const long double exact = levels * static_cast<long double>(z[i]) / a;
      ASSERT_EQ(q.values[i], std::llroundl(exact)) << "z " << z[i] << " A " << str(a);
      top = std::max(top, std::abs(static_cast<int>(q.values[i])));
    }
    ASSERT_EQ(top, format.max_magnitude);
    const long double exact_scale = a * unit / levels;
    ASSERT_FALSE(s.negative);
    ASSERT_GE(s.mantissa, 1u << (format.scale_bits - 1));
    ASSERT_LT(s.mantissa, 1u << format.scale_bits);
    ASSERT_LE(s.to_double(), exact_scale * (1 + 1e-15L));
    errors.scale.add(static_cast<double>((exact_scale - s.to_double()) / exact_scale),
                     [&] { return "A " + str(a) + " factor " + factor.describe(); });
    for (std::size_t i = first; i < last; ++i) {
      const long double value = static_cast<long double>(z[i]) * unit;
      errors.value.add(
          static_cast<double>(std::fabs(q.values[i] * static_cast<long double>(s.to_double()) - value) / (a * unit)),
          [&] { return "z " + std::to_string(z[i]); });
    }
  }
}

TEST(QuantizeActivations, RoundsExactlyAndReconstructsWithinBound) {
  std::mt19937_64 rng(7);
  ActivationErrors errors;
  for (int trial = 0; trial < 3000; ++trial) {
    const int group = std::vector<int>{32, 32, 8, 64, 7}[trial % 5];
    const int n = 1 + static_cast<int>(rng() % 150);
    const int bits = 1 + static_cast<int>(rng() % 48);
    std::vector<std::int64_t> z(n);
    for (auto& v : z) v = static_cast<std::int64_t>(rng() >> (64 - bits)) - (std::int64_t{1} << (bits - 1));
    if (trial % 7 == 0) std::fill(z.begin(), z.begin() + std::min(n, group), 0);  // a zero group
    const ScaleFp factor = random_scale(rng, -40, 10);
    const int frac_bits = static_cast<int>(rng() % 24);
    check_activations(quantize_activations(z, frac_bits, factor, group), z, frac_bits, factor, group,
                      kInt8Activations, errors);
  }
  report("quantize_activations scale relative truncation", errors.scale, kScaleTruncation, "");
  EXPECT_LT(errors.scale.value, kScaleTruncation);
  report("quantize_activations value error / group absmax", errors.value, kActivationValueBound, "");
}

// The 16-bit quantizer of the hifi attention (M = 32767, 16-bit scales,
// f = 25 fraction bits): floor(A f.m 2^25 / M) >= 2^20, so the floor and the
// truncation to 16 bits again nest into one truncation below 2^-15; the value
// error is at most half a step of A/M plus M steps times the scale error:
// A (1/65534 + 2^-15), 85x below INT8's bound.
constexpr double kActivationValueBound16 = 1.0 / 65534 + kScaleTruncation16;

TEST(QuantizeActivations, SixteenBitFormatRoundsExactlyAndReconstructsWithinBound) {
  EXPECT_EQ(activation_scale_frac(kInt8Activations), 12);  // the RTL's constant
  EXPECT_EQ(activation_scale_frac(kInt16Activations), 25);
  std::mt19937_64 rng(17);
  ActivationErrors errors;
  for (int trial = 0; trial < 3000; ++trial) {
    const int group = std::vector<int>{8, 16, 64, 7, 32}[trial % 5];
    const int n = 1 + static_cast<int>(rng() % 150);
    const int bits = 1 + static_cast<int>(rng() % 42);  // A < 2^42: the long double reference is exact
    std::vector<std::int64_t> z(n);
    for (auto& v : z) v = static_cast<std::int64_t>(rng() >> (64 - bits)) - (std::int64_t{1} << (bits - 1));
    if (trial % 7 == 0) std::fill(z.begin(), z.begin() + std::min(n, group), 0);  // a zero group
    const ScaleFp factor = random_scale(rng, -40, 10);
    const int frac_bits = static_cast<int>(rng() % 24);
    const QuantVector16 q = quantize_activations(z, frac_bits, factor, group, kInt16Activations);
    check_activations(q, z, frac_bits, factor, group, kInt16Activations, errors);
    // The INT8 format through the same function is the INT8 quantizer, value for value.
    const QuantVector16 wide8 = quantize_activations(z, frac_bits, factor, group, kInt8Activations);
    const QuantVector narrow = quantize_activations(z, frac_bits, factor, group);
    ASSERT_TRUE(std::equal(wide8.values.begin(), wide8.values.end(), narrow.values.begin(), narrow.values.end()));
    ASSERT_EQ(wide8.scales, narrow.scales);
  }
  report("quantize_activations 16-bit scale relative truncation", errors.scale, kScaleTruncation16, "");
  EXPECT_LT(errors.scale.value, kScaleTruncation16);
  report("quantize_activations 16-bit value error / group absmax", errors.value, kActivationValueBound16, "");
  // Q16.16 groups (A = 1 .. 2^31 in units of 2^-16, factor 1 = 1024 * 2^-10)
  // have scale exponents -46 .. -15: floor(A 2^35 / 32767) has 21 .. 52 bits.
  for (const std::int32_t extreme : {1, -1, 65536, INT32_MAX, INT32_MIN}) {
    const std::vector<std::int32_t> x{extreme, 0, 0, 0, 0, 0, 0, 0};
    const QuantVector16 q = quantize_q16(x, 8, kInt16Activations);
    EXPECT_EQ(q.values[0], extreme < 0 ? -32767 : 32767);
    EXPECT_GE(q.scales[0].exponent, -46) << extreme;
    EXPECT_LE(q.scales[0].exponent, -15) << extreme;
    EXPECT_EQ(q.scales[0].exponent == -46, extreme == 1 || extreme == -1) << extreme;
    EXPECT_EQ(q.scales[0].exponent == -15, extreme == INT32_MIN || extreme == INT32_MAX) << extreme;
  }
  const std::vector<std::int64_t> z{1, 2};
  EXPECT_THROW(quantize_activations(z, 0, kUnitScale, 2, ActivationFormat{32768, 16}), std::invalid_argument);
}

TEST(QuantizeActivations, TiesRoundAwayAndBadArgumentsThrow) {
  // A = 254: 127 z / A = z / 2, so odd z are exact ties.
  const std::vector<std::int64_t> z{254, 1, -1, 3, -3, -254, 0, 5};
  const QuantVector q = quantize_activations(z, 0, kUnitScale, 8);
  EXPECT_EQ(q.values, (std::vector<std::int8_t>{127, 1, -1, 2, -2, -127, 0, 3}));
  EXPECT_EQ(q.scales[0].to_double(), 2.0);  // 254 / 127, exact
  const std::vector<std::int32_t> x{65536, -131072, 7};
  const QuantVector a = quantize_q16(x, 4);
  const std::vector<std::int64_t> wide(x.begin(), x.end());
  const QuantVector b = quantize_activations(wide, kResidualFrac, kUnitScale, 4);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_THROW(quantize_activations(z, 0, ScaleFp{1024, 0, true}, 8), std::invalid_argument);
  EXPECT_THROW(quantize_activations(z, 0, ScaleFp{}, 8), std::invalid_argument);
  EXPECT_THROW(quantize_activations(z, 0, kUnitScale, 0), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// matvec

// Per block the exact product d * w.m * x.m is rounded once to 2^-24 (half an
// LSB: 2^-25), and the sum once to Q16.16 (2^-17): |y - exact| <= blocks *
// 2^-25 + 2^-17 before saturation, which clamps towards the true value.
double matvec_bound(int blocks) { return blocks * 0x1p-25 + 0x1p-17; }

TEST(Matvec, MatchesTheExactSumOfDequantizedProducts) {
  std::mt19937_64 rng(8);
  for (const int bits : {8, 4}) {
    MaxError error;  // in units of the bound
    MaxError lsb;    // in Q16.16 LSBs
    for (int trial = 0; trial < 60; ++trial) {
      const int rows = 1 + static_cast<int>(rng() % 24);
      const int cols = std::vector<int>{1, 7, 31, 32, 33, 64, 100, 172, 288, 768}[trial % 10];
      const MatrixRM w = random_matrix(rng, rows, cols, trial % 3 == 0 ? 2.0 : 0.05);
      const QuantMatrix m = quantize_matrix(w, bits);
      const QuantVector x = quantize_q16(random_q16(rng, cols, trial % 2 == 0 ? 4.0 : 300.0));
      const auto y = matvec(m, x);
      ASSERT_EQ(y.size(), static_cast<std::size_t>(rows));
      for (int r = 0; r < rows; ++r) {
        long double exact = 0;
        for (int c = 0; c < m.padded_cols(); ++c) {
          const int b = c / kBlock;
          exact += static_cast<long double>(m.value(r, c)) * fp16_value(m.scale_bits(r, b)) * x.values[c] *
                   x.scales[b].to_double();
        }
        const long double limit = 32768.0L;
        const long double expected = std::clamp(exact, -limit, limit - 0x1p-16L);
        const double e = static_cast<double>(std::fabs(from_q16(y[r]) - expected));
        error.add(e / matvec_bound(m.blocks()), [&] { return "cols " + std::to_string(cols); });
        lsb.add(e * 65536, [&] { return "cols " + std::to_string(cols); });
      }
    }
    report("matvec int" + std::to_string(bits) + " error / (blocks 2^-25 + 2^-17)", error, 1.0, "");
    report("matvec int" + std::to_string(bits) + " error", lsb, matvec_bound(24) * 65536, "Q16.16 LSB (768 cols)");
  }
}

TEST(Matvec, SaturatesToInt32) {
  const MatrixRM w = MatrixRM::Constant(2, 64, 1000.0f);
  MatrixRM w2 = w;
  w2.row(1) *= -1.0f;
  const QuantVector x = quantize_q16(std::vector<std::int32_t>(64, 1000 << 16));
  EXPECT_EQ(matvec(quantize_matrix(w2, 8), x), (std::vector<std::int32_t>{INT32_MAX, INT32_MIN}));
  EXPECT_EQ(matvec(quantize_matrix(w2, 4), x), (std::vector<std::int32_t>{INT32_MAX, INT32_MIN}));
  EXPECT_THROW(matvec(quantize_matrix(w, 8), quantize_q16(std::vector<std::int32_t>(32, 1))), std::invalid_argument);
}

// The accumulator is 64 bits and saturates at every step (the RTL's adder), so
// a huge term followed by an opposite one does not give the exact sum.
TEST(Matvec, TermsAndTheAccumulatorSaturateTo64Bits) {
  QuantMatrix w;
  w.rows = 1;
  w.cols = 64;
  w.values.assign(64, 0);
  w.values[0] = 1;
  w.values[32] = -1;
  w.scales = {0x3C00, 0x3C00};  // 1.0 = 1024 * 2^-10
  QuantVector x;
  x.values.assign(64, 0);
  x.values[0] = 1;
  x.values[32] = 1;
  // Block terms 2^20 * 2^(-10 + e + 24): +2^70 (saturates to 2^63 - 1), then -2^69 (to -2^63).
  x.scales = {ScaleFp{1024, 36, false}, ScaleFp{1024, 35, false}};
  EXPECT_EQ(matvec(w, x), std::vector<std::int32_t>{0});  // acc = -1, rounds to 0 (the exact sum is +2^69)
  // A left shift beyond 63 saturates too: one term of +2^20 * 2^80.
  x.scales = {ScaleFp{1024, 66, false}, ScaleFp{}};
  EXPECT_EQ(matvec(w, x), std::vector<std::int32_t>{INT32_MAX});
  // Right shifts of 42 and more round everything to 0: |d * w.m * x.m| < 2^41.
  x.values[0] = 127;
  w.values[0] = 127;
  x.scales = {ScaleFp{2047, -49, false}, ScaleFp{}};
  w.scales = {0x3FFF, 0};  // 2047 * 2^-10
  EXPECT_EQ(matvec(w, x), std::vector<std::int32_t>{0});
}

// ---------------------------------------------------------------------------
// rsqrt

// The 6-bit seed is off by at most sqrt(17/16.5) - 1 = 1.5% (the widest cell,
// k = 16); a Newton step maps a relative error e to -(3/2) e^2 - e^3/2, so two
// steps leave -3.5e-4 and then -1.9e-7 (< 2^-22), always from below. The Q30
// truncations add a few 2^-29 and the final ScaleFp truncation < 2^-10: below
// the true value by < 2^-10 + 2^-21. Above it only through the input: f keeps
// the top 15 or 16 bits of ms (truncated, f >= 2^14), so F is low by < 2^-14
// and 1/sqrt(F) high by < 2^-15; truncating t in the Newton step can raise y
// by a few 2^-30 more.
constexpr double kRsqrtBelow = kScaleTruncation + 0x1p-21;
constexpr double kRsqrtAbove = 0x1p-15 + 0x1p-26;

TEST(Rsqrt, RelativeErrorBelowTwoToTheMinusTenPlusNewtonResidual) {
  MaxError below, above;
  auto check = [&](std::uint64_t ms) {
    const long double exact = 65536.0L / std::sqrt(static_cast<long double>(ms));
    const long double got = rsqrt(ms).to_double();
    const double relative = static_cast<double>((exact - got) / exact);
    below.add(relative, [&] { return "ms " + std::to_string(ms); });
    above.add(-relative, [&] { return "ms " + std::to_string(ms); });
  };
  for (std::uint64_t ms = 1; ms <= (1u << 18); ++ms) check(ms);  // exhaustive: every seed cell, many times
  std::mt19937_64 rng(9);
  for (int exponent = 0; exponent <= 62; ++exponent) {
    const std::uint64_t low = std::uint64_t{1} << exponent;
    check(low);
    check(low + (low - 1));
    for (int i = 0; i < 4000; ++i) check(low + (rng() & (low - 1)));
  }
  report("rsqrt relative error (below the true value)", below, kRsqrtBelow, "");
  report("rsqrt relative error (above the true value)", above, kRsqrtAbove, "");
  EXPECT_THROW(rsqrt(0), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// rmsnorm

TEST(RmsNorm, GainsAreBlockFloatingWithHalfAnLsbError) {
  std::mt19937_64 rng(10);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  for (int trial = 0; trial < 200; ++trial) {
    Eigen::VectorXf g(1 + rng() % 300);
    for (auto& v : g) v = uniform(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 20) - 10);
    const NormGains q = quantize_gains(g);
    ASSERT_EQ(q.mantissas.size(), static_cast<std::size_t>(g.size()));
    int largest = 0;
    for (Eigen::Index i = 0; i < g.size(); ++i) {
      largest = std::max(largest, std::abs(static_cast<int>(q.mantissas[i])));
      const double e = std::fabs(g[i] - std::ldexp(static_cast<double>(q.mantissas[i]), q.exponent));
      // Half an LSB; a full one where 2^15 - 1/2 rounded up saturates to 32767.
      ASSERT_LE(e, std::ldexp(std::abs(q.mantissas[i]) == 32767 ? 1.0 : 0.5, q.exponent)) << g[i];
    }
    EXPECT_GE(largest, 1 << 14);
  }
}

// Relative error of a group scale against absmax(x g) / rms / 127 (gains as
// quantized, eps 1e-5): s is made smaller by the rsqrt truncation (kRsqrtBelow)
// and the activation-scale truncation (2^-10); larger by the truncation of
// 1/dim (the mean shrinks by < 2^-10, the rsqrt grows by < 2^-11). The mean's
// rounding to Q32 (half an LSB of ms >= eps = 42950 LSB) and eps' Q32
// representation (42950 for 42949.67) move rsqrt by < 2^-18 each.
constexpr double kRmsScaleBelow = kRsqrtBelow + kScaleTruncation + 0x1p-17;
constexpr double kRmsScaleAbove = 0x1p-11 + kRsqrtAbove + 0x1p-17;

TEST(RmsNorm, ValuesAreThoseOfXTimesGainAndScalesWithinBound) {
  std::mt19937_64 rng(11);
  MaxError below, above, value;
  for (int trial = 0; trial < 120; ++trial) {
    const int dim = std::vector<int>{7, 64, 100, 176, 288, 768}[trial % 6];
    const double sigma = std::ldexp(1.0, static_cast<int>(rng() % 26) - 16);  // from 2^-16 (eps-dominated) up
    std::vector<std::int32_t> x = random_q16(rng, dim, sigma);
    if (trial % 11 == 0) std::fill(x.begin(), x.end(), INT32_MAX - static_cast<std::int32_t>(rng() % 1000));
    Eigen::VectorXf g(dim);
    std::uniform_real_distribution<float> uniform(-2.5f, 2.5f);
    for (auto& v : g) v = uniform(rng);
    const NormGains gains = quantize_gains(g);
    const ScaleFp inv_dim = scale_from_double(1.0 / dim);
    const QuantVector q = rmsnorm(x, gains, inv_dim);

    long double sum_squares = 0;
    for (const std::int32_t v : x) sum_squares += from_q16(v) * from_q16(v);
    const long double inv_rms = 1.0L / std::sqrt(sum_squares / dim + 1e-5L);
    for (std::size_t first = 0; first < x.size(); first += kBlock) {
      const std::size_t last = std::min(x.size(), first + kBlock);
      long double a = 0;  // absmax of z = x * gain mantissa, exact integers
      for (std::size_t i = first; i < last; ++i)
        a = std::max(a, std::fabs(static_cast<long double>(x[i]) * gains.mantissas[i]));
      const ScaleFp& s = q.scales[first / kBlock];
      if (a == 0) {
        ASSERT_TRUE(s.is_zero());
        continue;
      }
      for (std::size_t i = first; i < last; ++i) {
        const long double z = static_cast<long double>(x[i]) * gains.mantissas[i];
        ASSERT_EQ(q.values[i], std::llroundl(127.0L * z / a)) << "dim " << dim << " element " << i;
      }
      const long double y_absmax = std::ldexp(a, gains.exponent - 16) * inv_rms;
      const long double exact_scale = y_absmax / 127;
      const double relative = static_cast<double>((exact_scale - s.to_double()) / exact_scale);
      below.add(relative, [&] { return "dim " + std::to_string(dim) + " sigma " + str(sigma); });
      above.add(-relative, [&] { return "dim " + std::to_string(dim) + " sigma " + str(sigma); });
      for (std::size_t i = first; i < last; ++i) {
        const long double y =
            std::ldexp(static_cast<long double>(x[i]) * gains.mantissas[i], gains.exponent - 16) * inv_rms;
        value.add(static_cast<double>(std::fabs(q.values[i] * static_cast<long double>(s.to_double()) - y) / y_absmax),
                  [&] { return "dim " + std::to_string(dim); });
      }
    }
  }
  report("rmsnorm scale relative error (below)", below, kRmsScaleBelow, "");
  report("rmsnorm scale relative error (above)", above, kRmsScaleAbove, "");
  // Half a step plus 127 steps times the scale error.
  report("rmsnorm value error / group absmax", value, 1.0 / 254 + kRmsScaleBelow, "");
}

TEST(RmsNorm, ZeroVectorGivesZeroScales) {
  const std::vector<std::int32_t> x(40, 0);
  const NormGains gains = quantize_gains(Eigen::VectorXf::Ones(40));
  const QuantVector q = rmsnorm(x, gains, scale_from_double(1.0 / 40));
  for (const auto v : q.values) EXPECT_EQ(v, 0);
  for (const auto& s : q.scales) EXPECT_TRUE(s.is_zero());
  EXPECT_THROW(rmsnorm(x, quantize_gains(Eigen::VectorXf::Ones(39)), kUnitScale), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// sigmoid and silu_gate

// max |sigma''| = 1 / (6 sqrt 3) (at sigma = (3 - sqrt 3) / 6); the chord over a
// segment of h = 1/8 errs by at most h^2/8 max|sigma''| (= 12.3 LSB of 2^-16),
// the table entries by 1/2 LSB and the interpolation's rounding by 1/2 LSB.
// The int16 input covers [-8, 8), so no input saturates inside sigmoid itself.
const double kSigmoidBoundLsb = 65536.0 * (1.0 / 64) / 8 / (6 * std::sqrt(3.0)) + 1.0;

double true_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(Sigmoid, ExhaustiveOverInt16WithinTheInterpolationBound) {
  MaxError error;
  for (int t = -32768; t <= 32767; ++t) {
    const double got = sigmoid(static_cast<std::int16_t>(t));
    error.add(std::fabs(got - 65536.0 * true_sigmoid(t / 4096.0)), [&] { return "t " + std::to_string(t); });
  }
  report("sigmoid (exhaustive int16)", error, kSigmoidBoundLsb, "LSB of 2^-16");
}

TEST(Sigmoid, IsSymmetricAndMonotonic) {
  EXPECT_EQ(sigmoid(0), 32768u);
  for (int t = -32767; t <= 32767; ++t) {
    ASSERT_EQ(sigmoid(static_cast<std::int16_t>(-t)), 65536u - sigmoid(static_cast<std::int16_t>(t))) << t;
  }
  for (int t = -32768; t < 32767; ++t) {
    ASSERT_LE(sigmoid(static_cast<std::int16_t>(t)), sigmoid(static_cast<std::int16_t>(t + 1))) << t;
  }
}

// silu_gate(h1, h3) vs x sigma(x) g, x = h1 / 2^16, g = h3 / 2^16, clamped to
// Q16.16 (clamping is 1-Lipschitz). With sigma_hat the sigmoid it uses:
//   |out - x sigma(x) g| <= |x g| |sigma_hat - sigma(x)| + |g| 2^-17 + 2^-17
// (the rounding of h1 sigma_hat to Q16.16, then of the product).
// |x| < 8 - 2^-13: t rounds x to 2^-12 (|dx| <= 2^-13, |sigma'| <= 1/4, so
// 2^-15) on top of the sigmoid bound.
const double kSiluSigmoidError = kSigmoidBoundLsb / 65536 + 0x1p-15;
// |x| >= 8 - 2^-13: t leaves int16 and sigma_hat is 1 (x > 0) or 0 (x < 0):
// |sigma_hat - sigma(x)| = sigma(-|x|) <= sigma(-8 + 2^-12) (the sigmoid bound
// is added for the values of x that still round to t = +-32768). The absolute
// error |x g| sigma(-|x|) peaks at the boundary and falls beyond it.
const double kSiluSaturatedSigmoidError = true_sigmoid(-8.0 + 0x1p-12) + kSigmoidBoundLsb / 65536;

TEST(SiluGate, WithinBoundIncludingSaturation) {
  std::vector<std::int32_t> h1s,
      h3s{0, 1, -1, 65536, -65536, 24248, -327680, 1 << 22, -(1 << 26), INT32_MAX, INT32_MIN};
  for (int v = -20 * 65536; v <= 20 * 65536; v += 1024) h1s.push_back(v);
  std::mt19937_64 rng(12);
  for (int i = 0; i < 2000; ++i) h1s.push_back(static_cast<std::int32_t>(rng()));
  for (const std::int32_t v : {INT32_MAX, INT32_MIN, 8 * 65536, -8 * 65536, 8 * 65536 - 8, -8 * 65536 + 8})
    h1s.push_back(v);
  MaxError inside, saturated, overall;
  for (const std::int32_t h1 : h1s) {
    for (const std::int32_t h3 : h3s) {
      const double x = from_q16(h1), g = from_q16(h3);
      const bool saturates = std::fabs(x) >= 8.0 - 0x1p-13;
      const double expected = std::clamp(x * true_sigmoid(x) * g, -32768.0, 32768.0 - 0x1p-16);
      const double e = std::fabs(from_q16(silu_gate(h1, h3)) - expected);
      const double rounding = std::fabs(g) * 0x1p-17 + 0x1p-17;
      const double bound = std::fabs(x * g) * (saturates ? kSiluSaturatedSigmoidError : kSiluSigmoidError) + rounding;
      overall.add(e / bound, [&] { return "h1 " + std::to_string(h1) + " h3 " + std::to_string(h3); });
      if (x * g == 0) continue;
      // Effective sigmoid error: the part of the error beyond the roundings.
      (saturates ? saturated : inside).add(std::max(0.0, e - rounding) / std::fabs(x * g), [&] {
        return "h1 " + std::to_string(h1) + " h3 " + std::to_string(h3);
      });
    }
  }
  report("silu_gate error / bound", overall, 1.0 + 1e-9, "");
  report("silu_gate effective sigmoid error, |x| < 8", inside, kSiluSigmoidError, "");
  report("silu_gate effective sigmoid error, |x| >= 8 (saturated)", saturated, kSiluSaturatedSigmoidError, "");
  EXPECT_EQ(silu_gate(1 << 30, 1 << 30), INT32_MAX);
  EXPECT_EQ(silu_gate(1 << 30, -(1 << 30)), INT32_MIN);
  EXPECT_EQ(silu_gate(0, INT32_MAX), 0);
  // Far outside +-8, silu(x) is x or 0 to within far less than one LSB.
  EXPECT_EQ(silu_gate(20 << 16, 1 << 16), 20 << 16);
  EXPECT_EQ(silu_gate(-(20 << 16), 1 << 16), 0);
}

// ---------------------------------------------------------------------------
// exp2_neg

// 2^-x over a table step h = 1/64: the chord errs by at most
// 2^16 h^2/8 max|(2^-x)''| = 2^16 (ln 2)^2 / 32768 = 0.961 LSB (above the
// curve), table entries by 1/2 and the interpolation's rounding by 1/2; the
// shift by n scales that by 2^-n and adds half an LSB when n > 0.
const double kExp2InterpolationLsb = 65536.0 * std::log(2.0) * std::log(2.0) / 64 / 64 / 8;
double exp2_bound_lsb(int n) { return (kExp2InterpolationLsb + 1.0) * std::ldexp(1.0, -n) + (n > 0 ? 0.5 : 0.0); }

TEST(Exp2Neg, ExhaustiveOverEighteenOctavesWithinBound) {
  MaxError error;  // in units of the bound for the octave
  MaxError lsb;
  std::uint32_t previous = exp2_neg(0);
  for (std::int64_t d = 0; d >= -18 * 65536; --d) {
    const std::uint32_t got = exp2_neg(d);
    ASSERT_LE(got, previous) << "not monotonic at d = " << d;
    previous = got;
    const int n = static_cast<int>((-d) >> 16);
    const double e = static_cast<double>(std::fabs(got - 65536.0L * std::exp2(static_cast<long double>(d) / 65536)));
    error.add(e / exp2_bound_lsb(n), [&] { return "d " + std::to_string(d); });
    lsb.add(e, [&] { return "d " + std::to_string(d); });
  }
  report("exp2_neg error / bound of its octave (exhaustive)", error, 1.0, "");
  report("exp2_neg error (exhaustive)", lsb, exp2_bound_lsb(0), "LSB of 2^-16");
  for (int k = 0; k <= 16; ++k) EXPECT_EQ(exp2_neg(-std::int64_t{k} << 16), 65536u >> k) << k;
  EXPECT_EQ(exp2_neg(-(std::int64_t{18} << 16) - 1), 0u);
  EXPECT_EQ(exp2_neg(-(std::int64_t{1} << 40)), 0u);
  EXPECT_THROW(exp2_neg(1), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// sine, cosine, rope

// Quarter-wave table step h = (pi/2)/256: chord error 2^15 h^2/8 max|sin''| =
// 0.154 LSB, plus 1/2 (entries) and 1/2 (interpolation rounding).
const double kSineTableLsb = 32768.0 * (kPi / 512) * (kPi / 512) / 8 + 1.0;
// A full 32-bit phase drops its 14 low bits: 2 pi 2^-18 turns * 2^15 = 0.785 LSB more.
const double kSineLsb = kSineTableLsb + 2 * kPi * 0x1p-18 * 32768;

TEST(Sine, ExhaustiveOverEighteenPhaseBitsWithinBound) {
  MaxError sin_error, cos_error, pythagoras;
  for (std::uint32_t j = 0; j < (1u << 18); ++j) {
    const std::uint32_t phase = j << 14;
    const long double angle = kTwoPiL * phase / 0x1p32L;
    const std::int64_t s = sine(phase), c = cosine(phase);
    ASSERT_EQ(c, sine(phase + (1u << 30)));
    sin_error.add(static_cast<double>(std::fabs(s - 32768 * std::sin(angle))),
                  [&] { return "phase " + std::to_string(phase); });
    cos_error.add(static_cast<double>(std::fabs(c - 32768 * std::cos(angle))),
                  [&] { return "phase " + std::to_string(phase); });
    pythagoras.add(std::fabs(static_cast<double>(s * s + c * c) - 0x1p30),
                   [&] { return "phase " + std::to_string(phase); });
  }
  report("sine (exhaustive 18-bit phase)", sin_error, kSineTableLsb, "LSB of 2^-15");
  report("cosine (exhaustive 18-bit phase)", cos_error, kSineTableLsb, "LSB of 2^-15");
  // (R sin + es)^2 + (R cos + ec)^2 - R^2 <= 2 R sqrt(es^2 + ec^2) + es^2 + ec^2.
  report("sin^2 + cos^2 - 2^30", pythagoras,
         2 * 32768 * std::sqrt(2.0) * kSineTableLsb + 2 * kSineTableLsb * kSineTableLsb, "LSB^2");
  std::mt19937_64 rng(13);
  MaxError full;
  for (int i = 0; i < 200000; ++i) {
    const auto phase = static_cast<std::uint32_t>(rng());
    full.add(static_cast<double>(std::fabs(sine(phase) - 32768 * std::sin(kTwoPiL * phase / 0x1p32L))),
             [&] { return "phase " + std::to_string(phase); });
  }
  report("sine (random 32-bit phase)", full, kSineLsb, "LSB of 2^-15");
  EXPECT_EQ(sine(0), 0);
  EXPECT_EQ(sine(1u << 30), 32768);
  EXPECT_EQ(sine(1u << 31), 0);
  EXPECT_EQ(sine(3u << 30), -32768);
  EXPECT_EQ(cosine(0), 32768);
  EXPECT_EQ(cosine(1u << 30), 0);
  EXPECT_EQ(cosine(1u << 31), -32768);
  EXPECT_EQ(cosine(3u << 30), 0);
}

TEST(Rope, PhaseStepsAreRoundedTurns) {
  for (const int hs : {8, 16, 48, 64, 128}) {
    const auto steps = rope_phase_steps(hs);
    ASSERT_EQ(steps.size(), static_cast<std::size_t>(hs / 2));
    for (int i = 0; i < hs / 2; ++i) {
      const long double exact = std::pow(10000.0L, -2.0L * i / hs) / kTwoPiL * 0x1p32L;
      EXPECT_LE(std::fabs(steps[i] - exact), 0.5L) << hs << " " << i;
    }
  }
}

// Pair (a, b) with norm r rotated: the result is (a + ib)(c + is) 2^-15 with
// c, s off by at most kSineLsb each, so the error vector has norm <=
// r sqrt(2) kSineLsb 2^-15; the phase of pos * step errs by pos/2 phase units
// (the step's rounding) = 2 pi pos 2^-33 rad, moving the result by r times
// that; each coordinate rounds by half an LSB (sqrt(2)/2 for the pair).
double rope_bound(double r, int pos) {
  return r * (std::sqrt(2.0) * kSineLsb / 32768 + 2 * kPi * pos * 0x1p-33) + std::sqrt(2.0) / 2;
}

TEST(Rope, RotatesPairsWithinBoundForPositionsBelow4096) {
  std::mt19937_64 rng(14);
  MaxError error, norm, relative;  // error and norm in units of the bound; relative = error / r
  for (const int hs : {8, 16, 64, 128}) {
    const auto steps = rope_phase_steps(hs);
    std::vector<int> positions{0, 1, 2, 3, 17, 100, 1000, 4095};
    for (int i = 0; i < 24; ++i) positions.push_back(static_cast<int>(rng() % 4096));
    for (const int pos : positions) {
      // Up to sigma 2^12: rotated pairs stay clear of int32 saturation.
      const auto before = random_q16(rng, 2 * hs, std::ldexp(1.0, static_cast<int>(rng() % 19) - 6));
      std::vector<std::int32_t> after = before;
      rope(after, hs, pos, steps);
      if (pos == 0) {
        ASSERT_EQ(after, before) << "position 0 is the identity";
        continue;
      }
      for (std::size_t k = 0; k < before.size(); k += 2) {
        const int pair = static_cast<int>(k % hs) / 2;
        const long double angle = pos * std::pow(10000.0L, -2.0L * pair / hs);
        const long double a = before[k], b = before[k + 1];
        const long double ra = a * std::cos(angle) - b * std::sin(angle),
                          rb = a * std::sin(angle) + b * std::cos(angle);
        const double r = static_cast<double>(std::hypot(a, b));
        const double e = static_cast<double>(std::hypot(after[k] - ra, after[k + 1] - rb));
        const double bound = rope_bound(r, pos);
        auto where = [&] {
          return "hs " + std::to_string(hs) + " pos " + std::to_string(pos) + " pair " + std::to_string(pair);
        };
        error.add(e / bound, where);
        norm.add(std::fabs(std::hypot(static_cast<double>(after[k]), static_cast<double>(after[k + 1])) - r) / bound,
                 where);
        if (r > 1e7) relative.add(e / r, where);
      }
    }
  }
  report("rope error / bound", error, 1.0, "");
  report("rope norm change / bound", norm, 1.0, "");
  report("rope error / pair norm (norm > 1e7 LSB)", relative, rope_bound(1.0, 4095) - std::sqrt(2.0) / 2, "");
  std::vector<std::int32_t> odd(6);
  EXPECT_THROW(rope(odd, 4, 1, rope_phase_steps(4)), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// attention

// Double-precision softmax attention over the dequantized q, K and V.
std::vector<long double> reference_attention(const QuantVector16& q, const KvCache& cache, int kv_head, int pos,
                                             std::vector<long double>& scores) {
  const int hs = cache.head_size();
  scores.assign(pos + 1, 0);
  for (int t = 0; t <= pos; ++t) {
    long double dot = 0;
    for (int i = 0; i < hs; ++i) dot += q.values[i] * static_cast<long double>(cache.key(t, kv_head)[i]);
    scores[t] = dot * q.scales[0].to_double() * cache.key_scale(t, kv_head).to_double() /
                std::sqrt(static_cast<long double>(hs));
  }
  const long double top = *std::max_element(scores.begin(), scores.end());
  long double sum = 0;
  std::vector<long double> out(hs, 0);
  for (int t = 0; t <= pos; ++t) {
    const long double p = std::exp(scores[t] - top);
    sum += p;
    for (int i = 0; i < hs; ++i)
      out[i] += p * cache.value(t, kv_head)[i] * static_cast<long double>(cache.value_scale(t, kv_head).to_double());
  }
  for (auto& v : out) v /= sum;
  return out;
}

// Bound, in real units, on |out_i - reference_i| for the reference scores
// sigma_t (natural units), gaps g_t = max sigma - sigma_t, reference weights
// w_t and v_max = max_t |V_ti|:
// - the score coefficient q.scale * score_scale is truncated twice (delta <
//   2 * 2^(1 - scale_bits), 2^-9 for the RTL's 11-bit scales, 2^-14 for the
//   hifi attention's 16: every gap shrinks by the factor 1 - delta) and each score
//   rounds by 2^-17 in log2 units (eta = 2^-17 ln 2 natural): each weight grows
//   by a factor <= e^(g_t delta + 2 eta) after renormalisation, so the weights
//   move by <= 2 sum_t w_t (e^(g_t delta + 2 eta) - 1) in L1;
// - exp2_neg errs by <= 0.5 + 1.961 2^-n LSB where p is in (2^(15-n), 2^(16-n)],
//   i.e. by 0.5 LSB + 1.961 2^-15 p (moving the weights by 2 * 1.961 2^-15), and
//   every rescale of l rounds by 0.5 LSB; the maximum keeps p > 2^15, so
//   l >= 2^15 e^(-2 eta) sum_t e^(-g_t) less those errors, and the additive
//   errors move the weights by 2 (their sum) / l;
// - floor(2^46 / l) is off by < 2^-22 relative (l < 2^24), the final rounding
//   by half an LSB, and o's roundings (half a unit of 2^-32 per term and per
//   rescale) by (n + tiles) / 2 / l LSB.
double attention_bound(const std::vector<long double>& scores, long double v_max, int tiles, int scale_bits) {
  const long double top = *std::max_element(scores.begin(), scores.end());
  const long double eta = 0x1p-17L * std::log(2.0L);
  const long double delta = std::ldexp(1.0L, 2 - scale_bits);
  long double mass = 0, grown = 0;
  for (const long double s : scores) mass += std::exp(s - top);
  for (const long double s : scores) grown += std::exp(s - top) / mass * std::expm1((top - s) * delta + 2 * eta);
  const long double exp2_relative = (kExp2InterpolationLsb + 1) * 0x1p-15L;
  const long double additive = 0.5L * (static_cast<long double>(scores.size()) + tiles);
  const long double l_min = 0x1p15L * std::exp(-2 * eta) * mass * (1 - exp2_relative) - additive;
  const long double weights = 2 * grown + 2 * exp2_relative + 2 * additive / l_min;
  return static_cast<double>(v_max * (weights + 0x1p-22L) + (0.5L + additive / l_min) * 0x1p-16L);
}

struct AttentionErrors {
  MaxError ratio;     // error / bound
  MaxError relative;  // error / v_max
};

void check_attention(std::mt19937_64& rng, const AttentionPrecision& precision, int hs, int length, double q_sigma,
                     bool rising, AttentionErrors& errors) {
  const int n_kv_heads = 2, kv_head = 1;
  KvCache cache(length, n_kv_heads, hs, precision);
  const std::vector<std::int32_t> q_raw = random_q16(rng, hs, q_sigma);
  for (int t = 0; t < length; ++t) {
    std::vector<std::int32_t> k = random_q16(rng, n_kv_heads * hs, 1.0);
    if (rising) {
      // Keys drift towards q: later tiles hold larger scores, so the running
      // maximum moves up and l and o are rescaled.
      for (int i = 0; i < hs; ++i) k[kv_head * hs + i] += static_cast<std::int32_t>(q_raw[i] * (3.0 * t / length));
    }
    cache.store(t, k, random_q16(rng, n_kv_heads * hs, 1.5));
  }
  const QuantVector16 q = quantize_q16(q_raw, hs, precision.query_format());
  const ScaleFp scale = score_scale(hs, precision.scale_bits);
  std::vector<long double> scores;
  for (int pos : {length - 1, length / 2}) {
    const auto expected = reference_attention(q, cache, kv_head, pos, scores);
    for (const int tile : {1, 16}) {
      const auto got = attention(q, scale, cache, kv_head, pos, tile);
      ASSERT_EQ(got.size(), static_cast<std::size_t>(hs));
      const int tiles = (pos + tile) / tile;
      for (int i = 0; i < hs; ++i) {
        long double v_max = 0;
        for (int t = 0; t <= pos; ++t) {
          v_max = std::max(v_max, std::fabs(cache.value(t, kv_head)[i] *
                                            static_cast<long double>(cache.value_scale(t, kv_head).to_double())));
        }
        const double e = static_cast<double>(std::fabs(from_q16(got[i]) - expected[i]));
        auto where = [&] {
          return "hs " + std::to_string(hs) + " pos " + std::to_string(pos) + " tile " + std::to_string(tile) +
                 (rising ? " rising" : "");
        };
        errors.ratio.add(e / attention_bound(scores, v_max, tiles, precision.scale_bits), where);
        if (v_max > 0) errors.relative.add(static_cast<double>(e / v_max), where);
      }
    }
  }
}

AttentionErrors check_attention_cases(const AttentionPrecision& precision) {
  std::mt19937_64 rng(15);
  AttentionErrors errors;
  for (const int hs : {8, 16, 64}) {
    for (const int length : {1, 2, 15, 16, 17, 31, 33, 64, 100, 200}) {
      for (const double q_sigma : {0.5, 2.5}) {
        check_attention(rng, precision, hs, length, q_sigma, false, errors);
        check_attention(rng, precision, hs, length, q_sigma, true, errors);
      }
    }
  }
  return errors;
}

TEST(Attention, MatchesDoubleSoftmaxWithinBoundForTilesOf1And16) {
  const AttentionErrors errors = check_attention_cases({});
  report("attention error / bound", errors.ratio, 1.0, "");
  std::cout << "[ accuracy ] attention max error / max |V|: " << errors.relative.value << " at " << errors.relative.at
            << '\n';
  ::testing::Test::RecordProperty("attention_error_over_vmax", str(errors.relative.value));
}

// The same arithmetic on 16-bit q, K and V with 16-bit scale mantissas: the
// wider products and shifts keep every derived bound (tighter in delta).
TEST(Attention, HifiArithmeticMatchesDoubleSoftmaxWithinBound) {
  const AttentionErrors errors = check_attention_cases(kHifiAttention);
  report("hifi attention error / bound", errors.ratio, 1.0, "");
  std::cout << "[ accuracy ] hifi attention max error / max |V| (on its quantized inputs): " << errors.relative.value
            << " at " << errors.relative.at << '\n';
}

// Double-precision softmax attention over the exact (unquantized) Q16.16
// q, K and V: the reference for the whole unit, quantization included.
std::vector<long double> exact_attention(std::span<const std::int32_t> q, const std::vector<std::vector<std::int32_t>>& k,
                                         const std::vector<std::vector<std::int32_t>>& v) {
  const std::size_t hs = q.size();
  std::vector<long double> scores(k.size());
  for (std::size_t t = 0; t < k.size(); ++t) {
    long double dot = 0;
    for (std::size_t i = 0; i < hs; ++i) dot += from_q16(q[i]) * static_cast<long double>(from_q16(k[t][i]));
    scores[t] = dot / std::sqrt(static_cast<long double>(hs));
  }
  const long double top = *std::max_element(scores.begin(), scores.end());
  long double sum = 0;
  std::vector<long double> out(hs, 0);
  for (std::size_t t = 0; t < k.size(); ++t) {
    const long double p = std::exp(scores[t] - top);
    sum += p;
    for (std::size_t i = 0; i < hs; ++i) out[i] += p * from_q16(v[t][i]);
  }
  for (auto& x : out) x /= sum;
  return out;
}

// Error of the whole attention unit against exact inputs, relative to max |V|:
// INT8 q, K, V (half a step of absmax/127 each, 11-bit scales) against the
// hifi format (absmax/32767, 16-bit scales), on the same random heads. The
// INT8 inputs dominate its error; the hifi error is left to the softmax
// arithmetic (exp2 table, Q0.16 weights, roundings), so it must be at least
// kHifiAttentionGain times smaller, and below an absolute bound.
constexpr double kInt8AttentionBound = 1e-2;  // measured max 6.8e-3
constexpr double kHifiAttentionBound = 2e-4;  // measured max 7.0e-5
constexpr double kHifiAttentionGain = 30;     // measured ratio of the maxima 97

TEST(Attention, HifiFormatIsCloserToExactInputsThanInt8) {
  std::mt19937_64 rng(16);
  MaxError int8_error, hifi_error;
  for (const int hs : {8, 16, 64}) {
    for (const int length : {1, 16, 33, 100, 200}) {
      for (const double q_sigma : {0.5, 1.5, 3.0}) {
        const int n_kv_heads = 1;
        std::vector<std::vector<std::int32_t>> k, v;
        KvCache int8_cache(length, n_kv_heads, hs), hifi_cache(length, n_kv_heads, hs, kHifiAttention);
        const std::vector<std::int32_t> q = random_q16(rng, hs, q_sigma);
        for (int t = 0; t < length; ++t) {
          k.push_back(random_q16(rng, hs, 1.0));
          v.push_back(random_q16(rng, hs, 1.5));
          int8_cache.store(t, k.back(), v.back());
          hifi_cache.store(t, k.back(), v.back());
        }
        const auto expected = exact_attention(q, k, v);
        long double v_max = 0;
        for (const auto& row : v) {
          for (const std::int32_t x : row) v_max = std::max(v_max, static_cast<long double>(std::fabs(from_q16(x))));
        }
        const auto int8_out = attention(quantize_q16(q, hs), score_scale(hs), int8_cache, 0, length - 1);
        const auto hifi_out = attention(quantize_q16(q, hs, kHifiAttention.query_format()),
                                        score_scale(hs, kHifiAttention.scale_bits), hifi_cache, 0, length - 1);
        for (int i = 0; i < hs; ++i) {
          auto where = [&] {
            return "hs " + std::to_string(hs) + " length " + std::to_string(length) + " q sigma " + str(q_sigma);
          };
          int8_error.add(static_cast<double>(std::fabs(from_q16(int8_out[i]) - expected[i]) / v_max), where);
          hifi_error.add(static_cast<double>(std::fabs(from_q16(hifi_out[i]) - expected[i]) / v_max), where);
        }
      }
    }
  }
  report("INT8 attention error / max |V| vs exact inputs", int8_error, kInt8AttentionBound, "");
  report("hifi attention error / max |V| vs exact inputs", hifi_error, kHifiAttentionBound, "");
  EXPECT_LT(kHifiAttentionBound * kHifiAttentionGain, kInt8AttentionBound);
  EXPECT_LT(hifi_error.value * kHifiAttentionGain, int8_error.value);
}

// ---------------------------------------------------------------------------
// The whole integer model on the embedded default model.

std::string greedy_text(Engine& engine, const Tokenizer& tokenizer) {
  Sampler greedy(engine.config().vocab_size, {0.0f, 0.9f, 1});
  std::string text;
  const std::vector<int> bos{kBosToken};
  generate(engine, greedy, bos, engine.config().seq_len,
           [&](int prev, int next) { text += tokenizer.decode(prev, next); });
  return text;
}

TEST(IntModel, GreedyDecodesTheSameTextAsTheFloatModel) {
  const DefaultModel model = make_default_model();
  FloatModel float_model(model.checkpoint);
  const std::string expected = greedy_text(float_model, model.tokenizer);
  ASSERT_EQ(expected, default_model_text());
  for (const int bits : {8, 4}) {
    IntModel int_model(std::make_shared<const QuantizedModel>(quantize_model(*model.checkpoint, bits)));
    EXPECT_EQ(greedy_text(int_model, model.tokenizer), expected) << "INT" << bits;
  }
}

// ---------------------------------------------------------------------------
// Tables: what the RTL ROMs hold (golden/int/emit_tables.cpp writes them).

TEST(Tables, ShapesWidthsAndContentsMatchTheUnits) {
  const auto tables = all_tables();
  ASSERT_EQ(tables.size(), 4u);
  std::vector<std::string> names;
  for (const Table& t : tables) {
    names.push_back(t.name);
    EXPECT_FALSE(t.description.empty()) << t.name;
    ASSERT_GE(t.width, 1);
    ASSERT_LE(t.width, 62);
    const bool is_signed = std::any_of(t.entries.begin(), t.entries.end(), [](std::int64_t v) { return v < 0; });
    const std::int64_t lo = is_signed ? -(std::int64_t{1} << (t.width - 1)) : 0;
    const std::int64_t hi = (std::int64_t{1} << (is_signed ? t.width - 1 : t.width)) - 1;
    for (std::size_t k = 0; k < t.entries.size(); ++k) {
      EXPECT_GE(t.entries[k], lo) << t.name << "[" << k << "]";
      EXPECT_LE(t.entries[k], hi) << t.name << "[" << k << "]";
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "duplicate table name";

  auto entries = [&](const std::string& name) {
    for (const Table& t : tables) {
      if (t.name == name) return std::vector<std::int64_t>(t.entries);
    }
    ADD_FAILURE() << "no table " << name;
    return std::vector<std::int64_t>{};
  };
  auto same = [](std::span<const std::int64_t> a, const std::vector<std::int64_t>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  };
  // The emitted tables are the ones the golden functions read.
  EXPECT_TRUE(same(exp2_table(), entries("tp_exp2_table")));
  EXPECT_TRUE(same(sigmoid_table(), entries("tp_sigmoid_table")));
  EXPECT_TRUE(same(sine_table(), entries("tp_sine_table")));
  EXPECT_TRUE(same(rsqrt_seed_table(), entries("tp_rsqrt_seed_table")));

  // Sizes: the largest index each unit reads, plus one.
  EXPECT_EQ(exp2_table().size(), static_cast<std::size_t>((0xFFFF >> 10) + 1 + 1));         // k = f >> 10, reads k + 1
  EXPECT_EQ(sigmoid_table().size(), static_cast<std::size_t>((32768 >> 9) + 1));            // |t| <= 2^15, k = |t| >> 9
  EXPECT_EQ(sine_table().size(), static_cast<std::size_t>((65536 >> 8) + 1));               // u <= 2^16, k = u >> 8
  EXPECT_EQ(rsqrt_seed_table().size(), static_cast<std::size_t>((0xFFFF >> 10) - 16 + 1));  // f in [2^14, 2^16)

  // Contents: the formulas of tables.h, rounded half away.
  for (int k = 0; k <= 64; ++k) {
    EXPECT_EQ(exp2_table()[k], std::llround(65536.0 * std::exp2(-k / 64.0))) << k;
    EXPECT_EQ(sigmoid_table()[k], std::llround(65536.0 * true_sigmoid(k / 8.0))) << k;
  }
  for (int k = 0; k <= 256; ++k) EXPECT_EQ(sine_table()[k], std::llround(32768.0 * std::sin(kPi / 2 * k / 256))) << k;
  for (int k = 0; k < 48; ++k)
    EXPECT_EQ(rsqrt_seed_table()[k], std::llround(32768.0 / std::sqrt((k + 16.5) / 16))) << k;
  EXPECT_EQ(exp2_table().front(), 65536);
  EXPECT_EQ(exp2_table().back(), 32768);
  EXPECT_EQ(sigmoid_table().front(), 32768);
  EXPECT_EQ(sine_table().front(), 0);
  EXPECT_EQ(sine_table().back(), 32768);
}

}  // namespace
}  // namespace tp::fx
