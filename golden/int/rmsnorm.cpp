#include "golden/int/rmsnorm.h"

#include <cmath>
#include <stdexcept>

#include "golden/int/tables.h"

namespace tp::fx {

ScaleFp rsqrt(std::uint64_t ms) {
  if (ms == 0) throw std::invalid_argument("rsqrt of zero");
  int sh = msb(ms) - 15;
  if (sh % 2 != 0) sh += 1;  // even, so that sqrt(2^sh) is a shift
  const std::uint64_t f = sh >= 0 ? ms >> sh : ms << -sh;
  int128 y = rsqrt_seed_table()[(f >> 10) - 16] << 15;
  for (int step = 0; step < 2; ++step) {
    const int128 y2 = (y * y) >> 30;
    const int128 t = (static_cast<int128>(f) * y2) >> 14;
    y = (y * ((int128{3} << 30) - t)) >> 31;
  }
  return normalize(static_cast<uint128>(y), -30 + 9 - sh / 2);
}

NormGains quantize_gains(const Eigen::VectorXf& gains) {
  NormGains q;
  const double largest = gains.size() == 0 ? 0.0 : gains.cwiseAbs().maxCoeff();
  q.exponent = largest > 0 ? static_cast<int>(std::floor(std::log2(largest))) - 14 : 0;
  for (Eigen::Index i = 0; i < gains.size(); ++i) {
    q.mantissas.push_back(saturate_i16(std::llround(std::ldexp(static_cast<double>(gains[i]), -q.exponent))));
  }
  return q;
}

NormedVector rmsnorm_scaled(std::span<const std::int32_t> x, const NormGains& gains, const ScaleFp& inv_dim) {
  if (gains.mantissas.size() != x.size()) throw std::invalid_argument("rmsnorm: gains and vector differ in size");
  uint128 ss = 0;
  for (const std::int32_t v : x) ss += static_cast<uint128>(static_cast<std::int64_t>(v) * v);
  const int128 mean = round_shift(static_cast<int128>(ss * inv_dim.mantissa), inv_dim.exponent);
  NormedVector out{std::vector<std::int64_t>(x.size()), rsqrt(static_cast<std::uint64_t>(mean) + kRmsEpsQ32)};
  out.factor.exponent = static_cast<std::int16_t>(out.factor.exponent + gains.exponent);
  for (std::size_t i = 0; i < x.size(); ++i) out.z[i] = static_cast<std::int64_t>(x[i]) * gains.mantissas[i];
  return out;
}

QuantVector rmsnorm(std::span<const std::int32_t> x, const NormGains& gains, const ScaleFp& inv_dim) {
  const NormedVector n = rmsnorm_scaled(x, gains, inv_dim);
  return quantize_activations(n.z, kResidualFrac, n.factor);
}

}  // namespace tp::fx
