#include "golden/int/activation_planes.h"

#include <algorithm>
#include <stdexcept>

namespace tp::fx {

std::vector<std::int64_t> activation_residual(std::span<const std::int64_t> z, const QuantVector& q,
                                              const ScaleFp& factor) {
  if (q.values.size() < z.size()) throw std::invalid_argument("activation_residual: plane shorter than z");
  std::vector<std::int64_t> r(z.size());
  const std::size_t group = static_cast<std::size_t>(q.group);
  for (std::size_t first = 0; first < z.size(); first += group) {
    const std::size_t last = std::min(z.size(), first + group);
    uint128 absmax = 0;
    for (std::size_t i = first; i < last; ++i) {
      absmax = std::max(absmax, static_cast<uint128>(z[i] < 0 ? -int128{z[i]} : int128{z[i]}));
    }
    // The group scale as quantize_activations truncates it, S = m * 2^e, in z units S / (factor.m * 2^12).
    const ScaleFp s = activation_scale_integer(absmax, factor, kInt8Activations);
    const int128 denominator =
        (int128{factor.mantissa} << activation_scale_frac(kInt8Activations)) << std::max(0, -s.exponent);
    for (std::size_t i = first; i < last; ++i) {
      const int128 numerator = (int128{q.values[i]} * s.mantissa) << std::max(0, static_cast<int>(s.exponent));
      r[i] = static_cast<std::int64_t>(z[i] - div_round_away(numerator, denominator));
    }
  }
  return r;
}

std::vector<QuantVector> quantize_activation_planes(std::span<const std::int64_t> z, int frac_bits,
                                                    const ScaleFp& factor, int planes) {
  if (planes < 1) throw std::invalid_argument("activation planes must be positive");
  std::vector<QuantVector> out{quantize_activations(z, frac_bits, factor)};
  std::vector<std::int64_t> rest(z.begin(), z.end());
  for (int p = 1; p < planes; ++p) {
    rest = activation_residual(rest, out.back(), factor);
    out.push_back(quantize_activations(rest, frac_bits, factor));
  }
  return out;
}

std::vector<QuantVector> quantize_q16_planes(std::span<const std::int32_t> x, int planes) {
  const std::vector<std::int64_t> wide(x.begin(), x.end());
  return quantize_activation_planes(wide, kResidualFrac, kUnitScale, planes);
}

std::vector<QuantVector> rmsnorm_planes(std::span<const std::int32_t> x, const NormGains& gains,
                                        const ScaleFp& inv_dim, int planes) {
  if (planes == 1) return {rmsnorm(x, gains, inv_dim)};
  const NormedVector n = rmsnorm_scaled(x, gains, inv_dim);
  return quantize_activation_planes(n.z, kResidualFrac, n.factor, planes);
}

std::vector<std::int32_t> multiply(const QuantMatrix& w, const std::vector<QuantVector>& x) {
  std::vector<std::int32_t> y;
  for (const QuantVector& plane : x) {
    const auto part = matvec(w, w.planes == 1 ? plane : repeat_groups(plane, w.planes));
    if (y.empty()) {
      y = part;
      continue;
    }
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = saturate_i32(int128{y[i]} + part[i]);
  }
  return y;
}

}  // namespace tp::fx
