// Integer primitives of the fixed-point datapath: the roundings every RTL unit
// uses, spelled once. docs/numerics.md states where each one applies.
#pragma once

#include <cstdint>
#include <limits>

namespace tp::fx {

using int128 = __int128;
using uint128 = unsigned __int128;

// v * 2^shift. shift >= 0: exact left shift. shift < 0: round half up,
// (v + 2^(-shift-1)) >> -shift with an arithmetic shift (TFLite single rounding).
constexpr int128 round_shift(int128 v, int shift) {
  if (shift >= 0) return v << shift;
  const int right = -shift;
  if (right >= 127) return 0;  // callers cap shifts far below this (attention at 126, exp2 at 17)
  return (v + (int128{1} << (right - 1))) >> right;
}

// n / d rounded half away from zero; d > 0.
constexpr int128 div_round_away(int128 n, int128 d) {
  const int128 magnitude = ((n < 0 ? -n : n) * 2 + d) / (2 * d);
  return n < 0 ? -magnitude : magnitude;
}

constexpr std::int32_t saturate_i32(int128 v) {
  constexpr int128 lo = std::numeric_limits<std::int32_t>::min();
  constexpr int128 hi = std::numeric_limits<std::int32_t>::max();
  return static_cast<std::int32_t>(v < lo ? lo : (v > hi ? hi : v));
}

constexpr std::int16_t saturate_i16(int128 v) {
  return static_cast<std::int16_t>(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
}

// Index of the most significant set bit; v > 0.
constexpr int msb(uint128 v) {
  int bit = -1;
  while (v != 0) {
    v >>= 1;
    ++bit;
  }
  return bit;
}

// Residual stream and most vectors: int32 with 16 fractional bits.
inline constexpr int kResidualFrac = 16;

constexpr std::int32_t to_q16(double value) {
  return saturate_i32(static_cast<int128>(value * 65536.0 + (value >= 0 ? 0.5 : -0.5)));
}
constexpr double from_q16(std::int64_t value) { return static_cast<double>(value) / 65536.0; }

}  // namespace tp::fx
