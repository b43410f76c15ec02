#include "golden/int/scale.h"

#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace tp::fx {

double ScaleFp::to_double() const {
  const double magnitude = std::ldexp(static_cast<double>(mantissa), exponent);
  return negative ? -magnitude : magnitude;
}

std::string ScaleFp::describe() const {
  std::ostringstream out;
  out << (negative ? "-" : "") << mantissa << "*2^" << exponent << " (" << to_double() << ")";
  return out.str();
}

ScaleFp normalize(uint128 v, int exponent, int mantissa_bits) {
  if (mantissa_bits < ScaleFp::kMantissaBits || mantissa_bits > ScaleFp::kMaxMantissaBits) {
    throw std::invalid_argument("ScaleFp mantissas have 11..16 bits, not " + std::to_string(mantissa_bits));
  }
  if (v == 0) return {};
  const int top = msb(v);
  const int shift = top - (mantissa_bits - 1);
  const uint128 mantissa = shift >= 0 ? v >> shift : v << -shift;
  return {static_cast<std::uint16_t>(mantissa), static_cast<std::int16_t>(exponent + shift), false};
}

ScaleFp scale_from_fp16(std::uint16_t bits) {
  const bool negative = (bits & 0x8000) != 0;
  const int biased = (bits >> 10) & 0x1F;
  const int fraction = bits & 0x3FF;
  if (biased == 0x1F) throw std::invalid_argument("fp16 scale is infinite or NaN");
  ScaleFp scale = biased == 0 ? normalize(static_cast<uint128>(fraction), -24)
                              : ScaleFp{static_cast<std::uint16_t>(1024 + fraction),
                                        static_cast<std::int16_t>(biased - 25), false};
  scale.negative = negative && !scale.is_zero();
  return scale;
}

ScaleFp multiply(const ScaleFp& a, const ScaleFp& b, int mantissa_bits) {
  ScaleFp product = normalize(static_cast<uint128>(a.mantissa) * b.mantissa, a.exponent + b.exponent, mantissa_bits);
  product.negative = (a.negative != b.negative) && !product.is_zero();
  return product;
}

ScaleFp scale_from_double(double v, int mantissa_bits) {
  if (!(v > 0) || !std::isfinite(v)) throw std::invalid_argument("scale_from_double needs a positive finite value");
  int exponent = 0;
  const double fraction = std::frexp(v, &exponent);  // v = fraction * 2^exponent, fraction in [0.5, 1)
  return normalize(static_cast<uint128>(std::ldexp(fraction, 40)), exponent - 40, mantissa_bits);
}

std::uint16_t fp16_from_float(float value) {
  if (!std::isfinite(value) || std::fabs(value) > 65504.0f) {
    throw std::invalid_argument("value " + std::to_string(value) + " does not fit fp16");
  }
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  const float magnitude = std::fabs(value);
  if (magnitude == 0.0f) return sign;
  int exponent = 0;
  std::frexp(magnitude, &exponent);  // magnitude in [2^(exponent-1), 2^exponent)
  // Units of the last place: 2^-24 for subnormals, else 2^(exponent-11).
  const int ulp_exponent = std::max(exponent - 11, -24);
  const double units = std::nearbyint(std::ldexp(static_cast<double>(magnitude), -ulp_exponent));  // half to even
  const auto q = static_cast<std::uint32_t>(units);
  // q * 2^ulp_exponent; q may have carried into the next binade, which the
  // encoding below handles because exponent and fraction fields are adjacent.
  if (ulp_exponent == -24 && q < 1024) return static_cast<std::uint16_t>(sign | q);
  const int biased = ulp_exponent + 25;  // for q in [1024, 2048)
  const std::uint32_t encoded = (static_cast<std::uint32_t>(biased) << 10) + (q - 1024);
  if (encoded >= 0x7C00) throw std::invalid_argument("value rounds beyond fp16 range");
  return static_cast<std::uint16_t>(sign | encoded);
}

float float_from_fp16(std::uint16_t bits) {
  const ScaleFp scale = scale_from_fp16(bits);
  const float magnitude = static_cast<float>(std::ldexp(static_cast<double>(scale.mantissa), scale.exponent));
  return (bits & 0x8000) ? -magnitude : magnitude;
}

}  // namespace tp::fx
