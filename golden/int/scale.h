// ScaleFp: every scale of the integer path, a small float held as integers,
// value = (negative ? -1 : 1) * mantissa * 2^exponent, with an 11-bit mantissa
// in [1024, 2047] (or 0: the zero scale). An IEEE fp16 converts exactly.
// Only weight scales can be negative (INT4 blocks, as ggml's Q4_0).
// The golden-only hifi attention (docs/numerics.md) keeps its scales at 16
// bits instead: mantissa in [32768, 65535], made by the same functions with
// mantissa_bits = 16. The RTL holds 11-bit mantissas only.
#pragma once

#include <cstdint>
#include <string>

#include "golden/int/fixed_point.h"

namespace tp::fx {

struct ScaleFp {
  std::uint16_t mantissa = 0;
  std::int16_t exponent = 0;
  bool negative = false;

  static constexpr int kMantissaBits = 11;      // every scale the RTL holds
  static constexpr int kMaxMantissaBits = 16;   // what the uint16 mantissa can hold
  bool is_zero() const { return mantissa == 0; }
  double to_double() const;
  std::string describe() const;
  friend bool operator==(const ScaleFp&, const ScaleFp&) = default;
};

inline constexpr ScaleFp kUnitScale{1024, -10, false};  // exactly 1.0

// v * 2^exponent truncated (toward zero) to mantissa_bits (11..16) significant bits.
ScaleFp normalize(uint128 v, int exponent, int mantissa_bits = ScaleFp::kMantissaBits);
// Exact conversion of IEEE binary16 bits (finite values only).
ScaleFp scale_from_fp16(std::uint16_t bits);
// The product, truncated to mantissa_bits significant bits.
ScaleFp multiply(const ScaleFp& a, const ScaleFp& b, int mantissa_bits = ScaleFp::kMantissaBits);
// The positive value v (> 0), truncated to mantissa_bits significant bits;
// host-side constants (1/dim, log2(e)/sqrt(head_size)) are made with it.
ScaleFp scale_from_double(double v, int mantissa_bits = ScaleFp::kMantissaBits);

// IEEE binary16 with round-to-nearest-even; values beyond the range throw.
std::uint16_t fp16_from_float(float value);
float float_from_fp16(std::uint16_t bits);

}  // namespace tp::fx
