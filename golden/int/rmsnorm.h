// tp_rsqrt and tp_rmsnorm: integer RMSNorm whose output is already the INT8
// activation groups the next matmul reads.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <vector>

#include "golden/int/quantize.h"

namespace tp::fx {

// RMSNorm epsilon 1e-5 in Q32 (the unit of x^2 for Q16.16 x).
inline constexpr std::uint64_t kRmsEpsQ32 = 42950;

// 1 / sqrt(ms * 2^-32) for ms > 0: normalise ms to f * 2^sh with sh even and
// f in [2^14, 2^16) (F = f * 2^-14 in [1, 4)), seed y from the 48-entry table
// by f >> 10, two Newton steps in Q30 with truncating shifts,
//   y2 = y*y >> 30;  t = f*y2 >> 14;  y = y * (3*2^30 - t) >> 31,
// result y * 2^(-30 + 9 - sh/2) truncated to a ScaleFp.
ScaleFp rsqrt(std::uint64_t ms);

// Gains as block floating point: int16 mantissas, one exponent for the vector,
// chosen so the largest |gain| lies in [2^14, 2^15) (values round half away).
struct NormGains {
  std::vector<std::int16_t> mantissas;
  int exponent = 0;
};
NormGains quantize_gains(const Eigen::VectorXf& gains);

// tp_rmsnorm: y = x * gain / sqrt(mean(x^2) + eps), quantized per group of 32.
//   ss = sum x_i^2 (exact), ms = round_shift(ss * inv_dim.m, inv_dim.e) + eps,
//   factor = rsqrt(ms) * 2^gains.exponent, z_i = x_i * gain_i (exact),
//   result = quantize_activations(z, 16, factor).
// The 1/rms factor is common to the vector, so it only enters the group
// scales: the int8 values are those of x * gain.
QuantVector rmsnorm(std::span<const std::int32_t> x, const NormGains& gains, const ScaleFp& inv_dim);

// The input of rmsnorm's quantizer: z_i = x_i * gain_i and the vector's
// factor rsqrt(ms) * 2^gains.exponent (rmsnorm = quantize_activations(z, 16, factor)).
struct NormedVector {
  std::vector<std::int64_t> z;
  ScaleFp factor;
};
NormedVector rmsnorm_scaled(std::span<const std::int32_t> x, const NormGains& gains, const ScaleFp& inv_dim);

}  // namespace tp::fx
