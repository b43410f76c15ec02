// Accuracy of tp::fx::cordic_sqrt (golden/int/cordic.h) against the exact
// square root: floor(sqrt(v)) in exact integer arithmetic, and sqrt(v) in
// long double for the measured error. The bound is derived below term by
// term, asserted, and the measured maximum printed as "[ accuracy ] ...".
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>

#include "golden/int/cordic.h"
#include "golden/int/fixed_point.h"

namespace {

using tp::fx::cordic_sqrt;
using tp::fx::uint128;

// floor(sqrt(v)) exactly: a double estimate corrected with 128-bit squares.
std::uint64_t isqrt(std::uint64_t v) {
  std::uint64_t s = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(v)));
  while (static_cast<uint128>(s) * s > v) --s;
  while (static_cast<uint128>(s + 1) * (s + 1) <= v) ++s;
  return s;
}

// ---------------------------------------------------------------------------
// The error bound, in LSB of the result (derivation of the header's numbers).
//
// Write S = sqrt(w * 2^-40) in [1/2, 1), u = 2^-40 and K the CORDIC gain. The
// result before its rounding is t = x * G * 2^(j + 1 - 73) and sqrt(v) is
// S * 2^(j + 1) up to the window truncation; every term below is largest at
// j = 31, where one LSB is 2^-32 of S, so each is given there.
//  - Datapath: a micro-rotation maps Q = x^2 - y^2 exactly to (1 - 4^-s) Q;
//    each floor shift errs by e in [0, u), which changes Q by
//    2(x' e_y - y' e_x) + e_y^2 - e_x^2, at most 2u(|x'| + |y'|) + u^2. Later
//    rotations only shrink such a change, so Q_end = K^2 w + D with
//    |D| <= sum_k 2u(|x'_k| + |y'_k|) + u^2. After rotation k, x' < 7/8
//    (x falls from x_1 = w/2 + 3/8) and |y'| <= x' tanh(Phi_k), Phi_k the
//    largest residual angle the remaining rotations can still remove
//    (sum_{m > k} atanh(2^-s_m) + atanh(2^-17)). Then
//    |x_end - K S| <= (|D| + y_end^2) / (x_end + K S) with x_end + K S >= K,
//    and the multiply by G / 2^33 (~1/K) turns it into result units.
//  - Residual angle: y_end^2 / (x_end + K S) <= K S tanh^2(atanh 2^-17) / 2.
//  - Window: w drops bits below 2^-40 of w, so S is low by <= 2^-40 / (2 S) <= 2^-40.
//  - Gain constant: |G / 2^33 - 1 / K| times K S.
//  - Final rounding: half an LSB; the products x * G are exact.
struct BoundTerms {
  double datapath = 0, residual_angle = 0, window = 0, gain = 0;
  double total() const { return 0.5 + datapath + residual_angle + window + gain; }
};

BoundTerms derive_bound() {
  const auto shifts = tp::fx::cordic_shifts();
  long double k2 = 1;
  for (const int s : shifts) k2 *= 1 - std::ldexp(1.0L, -2 * s);
  const long double k = std::sqrt(k2);
  const long double u = std::ldexp(1.0L, -tp::fx::kCordicFrac);
  const long double last_angle = std::atanh(std::ldexp(1.0L, -tp::fx::kCordicIterations));
  const long double lsb = std::ldexp(1.0L, 32);
  const long double gain = static_cast<long double>(tp::fx::kCordicGain) / std::ldexp(1.0L, tp::fx::kCordicGainBits);
  long double d = 0;
  for (std::size_t i = 0; i < shifts.size(); ++i) {
    long double phi = last_angle;
    for (std::size_t m = i + 1; m < shifts.size(); ++m) phi += std::atanh(std::ldexp(1.0L, -shifts[m]));
    d += 2 * u * 0.875L * (1 + std::tanh(phi)) + u * u;
  }
  BoundTerms b;
  b.datapath = static_cast<double>(d / k * gain * lsb);
  b.residual_angle = static_cast<double>(k * std::tanh(last_angle) * std::tanh(last_angle) / 2 * gain * lsb);
  b.window = static_cast<double>(u * lsb);
  b.gain = static_cast<double>(std::fabs(gain - 1 / k) * k * lsb);
  return b;
}

// |r - sqrt(v)| <= 0.5 + 0.202 + 0.125 + 0.004 + 0.007 = 0.837 LSB (rounded
// up): below 1, so r is floor(sqrt(v)) or ceil(sqrt(v)).
constexpr double kCordicSqrtBound = 0.84;

TEST(CordicSqrt, GainConstantAndBoundDerivation) {
  EXPECT_EQ(tp::fx::cordic_shifts(),
            (std::array<int, 19>{1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 13, 14, 15, 16, 17}));
  // 2^33 / K independently in long double with std::sqrt: not near a tie.
  long double inv_k2 = 1;
  for (const int s : tp::fx::cordic_shifts()) inv_k2 /= 1 - std::ldexp(1.0L, -2 * s);
  const long double exact = std::ldexp(std::sqrt(inv_k2), tp::fx::kCordicGainBits);
  EXPECT_EQ(tp::fx::kCordicGain, static_cast<std::uint64_t>(std::llround(exact)));
  EXPECT_EQ(tp::fx::kCordicGain, 10372320832u);
  EXPECT_GT(std::fabs(exact - std::floor(exact) - 0.5L), 0.4L);
  EXPECT_LT(tp::fx::kCordicGain, std::uint64_t{1} << 34);  // two 17-bit DSP operands

  const BoundTerms b = derive_bound();
  std::cout << "[ bound    ] cordic_sqrt: 0.5 rounding + datapath " << b.datapath << " + residual angle "
            << b.residual_angle << " + window " << b.window << " + gain " << b.gain << " = " << b.total()
            << " LSB\n";
  EXPECT_LE(b.total(), kCordicSqrtBound);
  EXPECT_LT(kCordicSqrtBound, 1.0);
}

// Checks r against the exact root and keeps the largest |r - sqrt(v)|.
struct Checker {
  double max_error = 0;
  std::uint64_t worst = 0;
  std::uint64_t count = 0;

  void check(std::uint64_t v) {
    const std::uint32_t r = cordic_sqrt(v);
    const std::uint64_t s = isqrt(v);
    const bool square = static_cast<uint128>(s) * s == v;
    ++count;
    // r is floor or ceil of sqrt(v): s, or s + 1 when v is not a square.
    ASSERT_TRUE(r == s || (r == s + 1 && !square)) << "v " << v << ": got " << r << ", floor(sqrt) " << s;
    if (s == 0xFFFFFFFF) return;  // ceil would be 2^32: saturated to the floor, error < 1 (asserted above)
    const double error =
        static_cast<double>(std::fabs(static_cast<long double>(r) - std::sqrt(static_cast<long double>(v))));
    if (error > max_error) {
      max_error = error;
      worst = v;
    }
  }
  void report(const std::string& what) const {
    std::cout << "[ accuracy ] cordic_sqrt " << what << ": max error " << max_error << " LSB (bound "
              << kCordicSqrtBound << ") at v " << worst << " over " << count << " values\n";
    ::testing::Test::RecordProperty("cordic_sqrt_" + what + "_max_error", std::to_string(max_error));
    EXPECT_LE(max_error, kCordicSqrtBound) << "at v " << worst;
  }
};

TEST(CordicSqrt, ExhaustiveSmallRange) {
  // Every v < 2^20 and every v in the window-exact band up to 2^24 around
  // perfect squares: results 0..4096, all 10 exponents of the pair j < 12
  // (no input bit dropped by the window).
  Checker c;
  EXPECT_EQ(cordic_sqrt(0), 0u);
  for (std::uint64_t v = 0; v < (std::uint64_t{1} << 20); ++v) c.check(v);
  for (std::uint64_t s = 1024; s <= 4096; ++s) {
    for (std::uint64_t d = 0; d < 3; ++d) {
      c.check(s * s - d);
      c.check(s * s + d);
    }
  }
  c.report("small");
}

TEST(CordicSqrt, EveryExponentRandomMantissas) {
  Checker c;
  std::mt19937_64 rng(4);
  for (int e = 0; e < 64; ++e) {
    const std::uint64_t low = std::uint64_t{1} << e;
    const std::uint64_t mask = low - 1;
    c.check(low);
    c.check(low | mask);
    for (int i = 0; i < 20000; ++i) c.check(low | (rng() & mask));
    // Perfect squares and their neighbours with a root of bit length about e / 2.
    for (int i = 0; i < 2000; ++i) {
      const std::uint64_t s = (rng() >> (64 - (e + 2) / 2)) | (std::uint64_t{1} << (e / 2));
      const uint128 sq = static_cast<uint128>(s) * s;
      if (sq > 2 && sq < ~std::uint64_t{0}) {
        c.check(static_cast<std::uint64_t>(sq));
        c.check(static_cast<std::uint64_t>(sq) - 1);
        c.check(static_cast<std::uint64_t>(sq) + 1);
      }
    }
  }
  c.report("exponents");
}

TEST(CordicSqrt, TopOfTheRangeSaturatesToTheLargestResult) {
  // sqrt(2^64 - 1) = 2^32 - 2^-33: rounds to 2^32, saturated to 2^32 - 1 (= its
  // floor, an error just below 1 LSB, outside kCordicSqrtBound: the only such
  // inputs are v >= (2^32 - 1)^2, whose floor is the largest result).
  Checker c;
  EXPECT_EQ(cordic_sqrt(~std::uint64_t{0}), 0xFFFFFFFFu);
  for (std::uint64_t d = 0; d < 200000; ++d) c.check(~std::uint64_t{0} - d * 80000);  // down to 2^64 - 2^34
  EXPECT_EQ(cordic_sqrt(std::uint64_t{1} << 62), 1u << 31);
  EXPECT_EQ(cordic_sqrt(std::uint64_t{1} << 32), 1u << 16);  // Q32 1.0 -> Q16 1.0
  c.report("top");
}

}  // namespace
