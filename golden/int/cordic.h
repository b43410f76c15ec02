// tp_cordic_sqrt: square root by hyperbolic CORDIC in vectoring mode,
// shift-and-add only except one constant multiply (the gain compensation).
#pragma once

#include <array>
#include <cstdint>

namespace tp::fx {

// Micro-rotations: shifts s = 1..kCordicIterations, with 4 and 13 done twice
// (the hyperbolic repeats that make the angles cover every residual).
inline constexpr int kCordicIterations = 17;
inline constexpr int kCordicRotations = kCordicIterations + 2;
// Fraction bits of the CORDIC datapath (x, y and the window w).
inline constexpr int kCordicFrac = 40;
// The gain constant G is 2^kCordicGainBits / K, rounded.
inline constexpr int kCordicGainBits = 33;

constexpr std::array<int, kCordicRotations> cordic_shifts() {
  std::array<int, kCordicRotations> shifts{};
  int k = 0;
  for (int s = 1; s <= kCordicIterations; ++s) {
    shifts[k++] = s;
    if (s == 4 || s == 13) shifts[k++] = s;
  }
  return shifts;
}

// Each micro-rotation scales x^2 - y^2 by (1 - 4^-s): the gain of the whole
// chain is K = prod_s sqrt(1 - 4^-s) = 0.828159360962..., and
//   G = round(2^33 / K) = round(2^33 * sqrt(prod_s 1 / (1 - 4^-s))).
// In double: every factor 1 - 4^-s (s <= 17) is exact, the 19-term product
// and the square root (Newton to convergence) are within 1e-15 relative, so
// 2^33 / K = 10372320832.0160 is known to +-2e-5, far from a rounding tie.
constexpr std::uint64_t cordic_gain_constant() {
  double inv_k2 = 1.0;  // 1 / K^2
  for (const int s : cordic_shifts()) {
    double quarter_power = 1.0;  // 4^-s
    for (int i = 0; i < s; ++i) quarter_power /= 4.0;
    inv_k2 /= 1.0 - quarter_power;
  }
  double inv_k = inv_k2;  // Newton for sqrt(inv_k2), from above (inv_k2 >= 1)
  for (int i = 0; i < 100; ++i) inv_k = 0.5 * (inv_k + inv_k2 / inv_k);
  double g = inv_k;
  for (int i = 0; i < kCordicGainBits; ++i) g *= 2.0;
  return static_cast<std::uint64_t>(g + 0.5);
}
inline constexpr std::uint64_t kCordicGain = cordic_gain_constant();  // 10372320832, 34 bits

// sqrt(v) of an unsigned fixed-point value with an even number of fraction
// bits 2q, as a value with q fraction bits: for a Q32 input (the sum or mean
// of squares of Q16.16 values) the Q16 root, i.e. round(sqrt(v)) as integers
// within the bound below. The arithmetic, every step an integer operation:
//   v = 0: the result is 0.
//   1. normalise by an even shift: j = msb(v) >> 1 (the leading bit pair,
//      0..31), a = v << (62 - 2j) (64 bits, leading pair at bits 63:62),
//      w = a >> 24 (truncated), so w * 2^-40 in [1/4, 1) and
//      v = w * 2^(2j + 2 - 40) + (the 2j - 22 dropped bits when j > 11).
//   2. start x = w + 2^38, y = w - 2^38 (Q40: x^2 - y^2 = w), x in [2^39, 5*2^38),
//      y in [0, 3*2^38).
//   3. for each shift s of cordic_shifts() (1, 2, 3, 4, 4, 5, .., 13, 13, .., 17),
//      with >> the arithmetic (floor) shift:
//        y >= 0:  x, y = x - (y >> s), y - (x >> s)
//        y <  0:  x, y = x + (y >> s), y + (x >> s)
//      (drives y to 0; afterwards x = K sqrt(w) up to the bound below, and
//      x < 2^40, |y| < 2^39 after the first rotation).
//   4. gain and un-normalisation with one rounding:
//        r = round_shift(x * kCordicGain, -(40 + 33 - 1 - j))
//      (x * G is about sqrt(w) * 2^73 and sqrt(v) = sqrt(w) * 2^(j + 1)),
//      round half up, then saturated to 2^32 - 1 (reached only by v within
//      2^33 of 2^64, whose root rounds to 2^32).
// Error bound, in LSB of the result (derived in golden/tests/cordic_test.cpp):
//   |r - sqrt(v)| <= 0.5 (final rounding) + 0.337 (datapath truncation 0.202,
//   residual angle 0.125, window 0.004, G rounding 0.007) < 0.84,
// so r is floor(sqrt(v)) or ceil(sqrt(v)); where the ceiling is 2^32
// (v >= (2^32 - 1)^2) the saturation gives the floor (error < 1 LSB).
// Iterations: the residual angle after the last shift s is up to atanh(2^-s)
// and costs x a relative (cosh - 1) ~ 2^(-2s-1); with the 16 of the seed
// chapter that alone is 0.5 LSB at the top of the range, so 17 is the least
// number that meets a bound below 1 LSB.
// Why a uint32 and not a ScaleFp: the Q16 root of a Q32 mean square is the
// RMS of Q16.16 values in their own format, and the integer result makes the
// bound an exact statement (floor or ceil); normalize() turns it into a
// ScaleFp where a scale is wanted.
std::uint32_t cordic_sqrt(std::uint64_t v);

}  // namespace tp::fx
