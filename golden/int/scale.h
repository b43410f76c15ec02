// ScaleFp: every scale of the integer path, a small float held as integers,
// value = (negative ? -1 : 1) * mantissa * 2^exponent, with an 11-bit mantissa
// in [1024, 2047] (or 0: the zero scale). An IEEE fp16 converts exactly.
// Only weight scales can be negative (INT4 blocks, as ggml's Q4_0).
#pragma once

#include <cstdint>
#include <string>

#include "golden/int/fixed_point.h"

namespace tp::fx {

struct ScaleFp {
  std::uint16_t mantissa = 0;
  std::int16_t exponent = 0;
  bool negative = false;

  static constexpr int kMantissaBits = 11;
  bool is_zero() const { return mantissa == 0; }
  double to_double() const;
  std::string describe() const;
  friend bool operator==(const ScaleFp&, const ScaleFp&) = default;
};

inline constexpr ScaleFp kUnitScale{1024, -10, false};  // exactly 1.0

// v * 2^exponent truncated (toward zero) to 11 significant bits.
ScaleFp normalize(uint128 v, int exponent);
// Exact conversion of IEEE binary16 bits (finite values only).
ScaleFp scale_from_fp16(std::uint16_t bits);
// The product, truncated to 11 significant bits.
ScaleFp multiply(const ScaleFp& a, const ScaleFp& b);
// The positive value v (> 0), truncated to 11 significant bits; host-side
// constants (1/dim, log2(e)/sqrt(head_size)) are made with it.
ScaleFp scale_from_double(double v);

// IEEE binary16 with round-to-nearest-even; values beyond the range throw.
std::uint16_t fp16_from_float(float value);
float float_from_fp16(std::uint16_t bits);

}  // namespace tp::fx
