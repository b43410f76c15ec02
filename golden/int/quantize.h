// Quantized tensors: weights in blocks of 32 along the input dimension with one
// fp16 scale per block (INT8 as ggml's Q8_0, INT4 as its Q4_0), and dynamic
// INT8 activations with one ScaleFp per group.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "golden/checkpoint.h"
#include "golden/int/scale.h"

namespace tp::fx {

inline constexpr int kBlock = 32;  // weights per block, activations per group

struct QuantMatrix {
  int rows = 0;  // output features
  int cols = 0;  // input features, before padding
  int bits = 8;  // 8: values in [-127, 127]; 4: values in [-8, 7]
  std::vector<std::int8_t> values;     // [rows][padded_cols()], zero in the padding
  std::vector<std::uint16_t> scales;   // fp16 bits, [rows][blocks()]
  int planes = 1;  // > 1: a multi-plane matrix (see add_planes); each row holds the planes one after another

  int plane_blocks() const { return (cols + kBlock - 1) / kBlock; }
  int blocks() const { return planes * plane_blocks(); }
  int padded_cols() const { return blocks() * kBlock; }
  std::int8_t value(int row, int col) const { return values[static_cast<std::size_t>(row) * padded_cols() + col]; }
  std::uint16_t scale_bits(int row, int block) const { return scales[static_cast<std::size_t>(row) * blocks() + block]; }
};

// Per block, q = clamp(round_half_away(w / scale), lo, hi) against the stored
// (fp16-rounded) scale; INT8: [-127, 127] around base = absmax / 127, INT4:
// [-8, 7] around base = m / -8 for m the value of largest magnitude (the first
// on ties, as ggml's Q4_0). The scale is the fp16 candidate base * (1 + k/400),
// k in [-100, 100], with the least squared error (k = 0 on ties): an offline
// search that costs the hardware nothing. An all-zero block gets scale 0.
// `importance` (empty, or one value per column: the mean square of the input
// that column multiplies) weights each weight's squared error in the search.
QuantMatrix quantize_matrix(const MatrixRM& w, int bits, std::span<const float> importance = {});
// INT8 from an ak42 version-2 (Q8_0) tensor: a block of 32 that lies inside
// one stored group keeps the stored int8 values, with the group's fp32 scale
// rounded to fp16; a block straddling two groups is quantized from w as above.
QuantMatrix quantize_matrix_from_q8(const MatrixRM& w, const StoredQ8Tensor& stored, int group_size,
                                    std::span<const float> importance = {});
MatrixRM dequantize(const QuantMatrix& m);  // the sum of its planes

// Mixed precision on the same matrix engine: W ~= P_0 + P_1 + ... + P_{n-1},
// where plane p block-quantizes (as quantize_matrix, same bits) the residual
// W - dequantize(P_0 + ... + P_{p-1}) with its own fp16 block scales. Each
// row holds its planes one after another, each padded to whole blocks, so
// the engine computes W x as one plain matvec over planes * plane_blocks()
// blocks, with x's groups presented once per plane (repeat_groups): more
// block columns of the same arithmetic. Returns `first` (one plane, the
// quantization of w) with planes 2..n appended.
QuantMatrix add_planes(const QuantMatrix& first, const MatrixRM& w, int planes, std::span<const float> importance = {});

// Rows [first, first + count) of m.
QuantMatrix slice_rows(const QuantMatrix& m, int first, int count);
// Rows of a stacked on rows of b (same cols and bits).
QuantMatrix stack_rows(const QuantMatrix& a, const QuantMatrix& b);

// Quantized activations: one value per element (padded to a whole number of
// groups with zeros) and one ScaleFp per group. QuantVector is the INT8 form
// every matmul input and the RTL's attention take; QuantVector16 holds the
// 16-bit values of the golden-only hifi attention (docs/numerics.md).
template <typename T>
struct BasicQuantVector {
  int group = kBlock;
  std::vector<T> values;
  std::vector<ScaleFp> scales;
};
using QuantVector = BasicQuantVector<std::int8_t>;
using QuantVector16 = BasicQuantVector<std::int16_t>;

// The activation quantizer's widths: values in [-max_magnitude, max_magnitude]
// and scales with scale_bits-bit mantissas. kInt8Activations is the RTL's
// format (every matmul input, K, V and the query); kInt16Activations the hifi
// attention's K, V and query.
struct ActivationFormat {
  int max_magnitude = 127;
  int scale_bits = ScaleFp::kMantissaBits;
  friend bool operator==(const ActivationFormat&, const ActivationFormat&) = default;
};
inline constexpr ActivationFormat kInt8Activations{127, ScaleFp::kMantissaBits};
inline constexpr ActivationFormat kInt16Activations{32767, ScaleFp::kMaxMantissaBits};

// Fraction bits f of the group scale's integer before truncation: 12 for
// INT8 (the RTL's constant), and in general scale_bits + bits(max_magnitude)
// - 6, so that floor(A * factor.m * 2^f / max_magnitude) >= 2^(scale_bits + 4)
// for every A >= 1 (factor.m >= 2^10): the floor costs < 2^-(scale_bits + 4)
// relative before the truncation to scale_bits.
int activation_scale_frac(const ActivationFormat& format);
// The group scale as an integer S = m * 2^e = normalize(floor(A * factor.m *
// 2^f / max_magnitude), 0, scale_bits), f = activation_scale_frac(format):
// the group scale is S * 2^(factor.e - frac_bits - f). A: the group's max |z|.
ScaleFp activation_scale_integer(uint128 absmax, const ScaleFp& factor, const ActivationFormat& format);

// tp_act_quant: z holds integers of value z * 2^-frac_bits, times a positive
// per-vector factor. Per group of `group` values, A = max |z|, M = max_magnitude:
//   q = round_half_away(M * z / A)  (exact integer division),
//   scale = activation_scale_integer(A) * 2^(factor.exponent - frac_bits - f),
// so that value ~= q * scale. INT8: M = 127, f = 12, 11-bit scales, i.e.
//   scale = normalize(floor(A * factor.mantissa * 2^12 / 127)) * 2^(factor.exponent - frac_bits - 12).
// An all-zero group gets q = 0 and the zero scale.
// The factor must be positive and normalised (mantissa in [1024, 2047]), as
// every ScaleFp made by normalize() is: the RTL relies on the 11-bit mantissa.
QuantVector16 quantize_activations(std::span<const std::int64_t> z, int frac_bits, const ScaleFp& factor, int group,
                                   const ActivationFormat& format);
QuantVector quantize_activations(std::span<const std::int64_t> z, int frac_bits, const ScaleFp& factor,
                                 int group = kBlock);  // INT8 (kInt8Activations)
// Of a Q16.16 vector: factor 1, 16 fractional bits.
QuantVector16 quantize_q16(std::span<const std::int32_t> x, int group, const ActivationFormat& format);
QuantVector quantize_q16(std::span<const std::int32_t> x, int group = kBlock);  // INT8

// x's groups (values and scales) `times` times over: the input a matrix of
// `times` planes multiplies (the engine reads the activation buffer again).
QuantVector repeat_groups(const QuantVector& x, int times);

// The matrix engine's accumulator: 64-bit two's complement with 24 fractional
// bits. Every block term and every partial sum saturates to it, so the RTL
// needs no wider adder; real models stay ~2^24 below the limit.
inline constexpr int kAccumulatorFrac = 24;
inline constexpr int kAccumulatorBits = 64;

constexpr std::int64_t saturate_i64(int128 v) {
  constexpr int128 lo = std::numeric_limits<std::int64_t>::min();
  constexpr int128 hi = std::numeric_limits<std::int64_t>::max();
  return static_cast<std::int64_t>(v < lo ? lo : (v > hi ? hi : v));
}

// tp_matrix_engine (GEMV, and GEMM as one GEMV per token): y = W x with, per
// output row j, blocks b = 0, 1, ... in order:
//   d_b  = the int32 dot product of block b (|d_b| <= 516,128),
//   t_b  = saturate_i64(round_shift(d_b * w.m * x.m (negated for a negative w scale), w.e + x.e + 24)),
//   acc  = saturate_i64(acc + t_b)   (acc starts at 0),
//   y_j  = saturate_i32(round_shift(acc, 16 - 24))   (Q16.16).
// A zero scale (w.m or x.m = 0) makes the term 0.
std::vector<std::int32_t> matvec(const QuantMatrix& w, const QuantVector& x);

}  // namespace tp::fx
