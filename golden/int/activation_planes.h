// Activation planes: a matmul input carried as several INT8 vectors,
// x ~= a_0 + a_1 + ..., where plane p quantizes (with the unchanged
// quantize_activations) what planes 0..p-1 left over. A second plane cuts the
// INT8 rounding error of the input ~250-fold for models that need it
// (stories260K, docs/numerics.md). No weight byte is added: the matrix engine
// multiplies the planes as a batch of inputs (GEMM, each weight tile fetched
// once) and the vector unit adds the outputs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "golden/int/quantize.h"
#include "golden/int/rmsnorm.h"

namespace tp::fx {

// tp_act_residual: z minus the value its INT8 plane q (= quantize_activations(z,
// frac_bits, factor)) stands for, in z's own units. Per group, with
// S = m * 2^e the group scale's truncated integer, normalize(floor(A *
// factor.m * 2^12 / 127)) for A = max |z| (the quantizer's own intermediate):
//   r_i = z_i - div_round_away(q_i * m * 2^e, factor.m * 2^12)   (exact integers),
// so plane 0's 11-bit scale truncation is undone too. The next plane is
// quantize_activations(r, same frac_bits, same factor).
std::vector<std::int64_t> activation_residual(std::span<const std::int64_t> z, const QuantVector& q,
                                              const ScaleFp& factor);

// `planes` planes of z; plane 0 is quantize_activations(z, frac_bits, factor).
std::vector<QuantVector> quantize_activation_planes(std::span<const std::int64_t> z, int frac_bits,
                                                    const ScaleFp& factor, int planes);
// Of a Q16.16 vector: plane 0 is quantize_q16(x).
std::vector<QuantVector> quantize_q16_planes(std::span<const std::int32_t> x, int planes);
// Of RMSNorm's output: plane 0 is rmsnorm(x, gains, inv_dim) bit for bit (the
// same z = x * gain and 1/rms factor, from rmsnorm_scaled).
std::vector<QuantVector> rmsnorm_planes(std::span<const std::int32_t> x, const NormGains& gains,
                                        const ScaleFp& inv_dim, int planes);

// The matrix engine on planes of both kinds: one matvec per activation plane,
// each with the input's groups repeated once per weight plane (repeat_groups),
// outputs added with saturation in Q16.16. One weight plane and one
// activation plane is exactly matvec(w, x).
std::vector<std::int32_t> multiply(const QuantMatrix& w, const std::vector<QuantVector>& x);

}  // namespace tp::fx
