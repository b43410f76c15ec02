#include "golden/int/quantize.h"

#include <bit>
#include <cmath>
#include <stdexcept>

namespace tp::fx {

namespace {

std::int8_t round_clamped(float v, float scale, int lo, int hi) {
  if (scale == 0.0f) return 0;
  const float q = std::round(v / scale);  // std::round: half away from zero
  return static_cast<std::int8_t>(std::fmax(static_cast<float>(lo), std::fmin(static_cast<float>(hi), q)));
}

// Squared error of a block quantized against `scale_bits`, each weight's
// error weighted by the importance of its column (1 when none is given).
double block_error(const float* block, const float* importance, int count, std::uint16_t scale_bits, int lo,
                   int hi) {
  const float scale = float_from_fp16(scale_bits);
  double error = 0;
  for (int i = 0; i < count; ++i) {
    const double e = block[i] - static_cast<double>(round_clamped(block[i], scale, lo, hi)) * scale;
    error += (importance != nullptr ? importance[i] : 1.0) * e * e;
  }
  return error;
}

// The fp16 scale of one block: the candidate with the least squared error among
// base * (1 + k/400), k = -100..100 (within 25% of base), where base is
// absmax / 127 (INT8) or the extreme value / -8 (INT4); k = 0 is tried first
// and a candidate must be strictly better to replace the best so far.
std::uint16_t block_scale(const float* block, const float* importance, int count, int bits) {
  float extreme = 0.0f;
  for (int i = 0; i < count; ++i) {
    if (std::fabs(block[i]) > std::fabs(extreme)) extreme = block[i];
  }
  if (extreme == 0.0f) return 0;  // +0, never the -0 that 0 / -8 gives
  const float base = bits == 8 ? std::fabs(extreme) / 127.0f : extreme / -8.0f;
  const int lo = bits == 8 ? -127 : -8;
  const int hi = bits == 8 ? 127 : 7;
  std::uint16_t best = fp16_from_float(base);
  double best_error = block_error(block, importance, count, best, lo, hi);
  for (int k = 1; k <= 100; ++k) {
    for (const int sign : {-1, 1}) {
      const std::uint16_t candidate = fp16_from_float(base * (1.0f + static_cast<float>(sign * k) / 400.0f));
      const double error = block_error(block, importance, count, candidate, lo, hi);
      if (error < best_error) {
        best_error = error;
        best = candidate;
      }
    }
  }
  return best;
}

}  // namespace

namespace {

// Fills m (shape and bits set) block by block; `keep` may supply a block's
// values and scale instead (returns false to quantize the block from w).
template <typename KeepBlock>
void fill_blocks(QuantMatrix& m, const MatrixRM& w, std::span<const float> importance, KeepBlock keep) {
  if (!importance.empty() && importance.size() != static_cast<std::size_t>(m.cols)) {
    throw std::invalid_argument("importance needs one value per input column");
  }
  m.values.assign(static_cast<std::size_t>(m.rows) * m.padded_cols(), 0);
  m.scales.assign(static_cast<std::size_t>(m.rows) * m.blocks(), 0);
  const int lo = m.bits == 8 ? -127 : -8;
  const int hi = m.bits == 8 ? 127 : 7;
  for (int r = 0; r < m.rows; ++r) {
    for (int b = 0; b < m.blocks(); ++b) {
      const int first = b * kBlock;
      const int count = std::min(kBlock, m.cols - first);
      std::int8_t* values = &m.values[static_cast<std::size_t>(r) * m.padded_cols() + first];
      std::uint16_t& scale_bits = m.scales[static_cast<std::size_t>(r) * m.blocks() + b];
      if (keep(r, first, count, values, scale_bits)) continue;
      const float* block = w.data() + static_cast<std::size_t>(r) * m.cols + first;
      scale_bits = block_scale(block, importance.empty() ? nullptr : &importance[first], count, m.bits);
      const float scale = float_from_fp16(scale_bits);
      for (int i = 0; i < count; ++i) values[i] = round_clamped(block[i], scale, lo, hi);
    }
  }
}

}  // namespace

QuantMatrix quantize_matrix(const MatrixRM& w, int bits, std::span<const float> importance) {
  if (bits != 8 && bits != 4) throw std::invalid_argument("weights are INT8 or INT4");
  QuantMatrix m{static_cast<int>(w.rows()), static_cast<int>(w.cols()), bits, {}, {}};
  fill_blocks(m, w, importance, [](int, int, int, std::int8_t*, std::uint16_t&) { return false; });
  return m;
}

QuantMatrix quantize_matrix_from_q8(const MatrixRM& w, const StoredQ8Tensor& stored, int group_size,
                                    std::span<const float> importance) {
  if (stored.values.size() != static_cast<std::size_t>(w.size()) || group_size < 1) {
    throw std::invalid_argument("stored Q8_0 tensor " + stored.name + " does not match its matrix");
  }
  QuantMatrix m{static_cast<int>(w.rows()), static_cast<int>(w.cols()), 8, {}, {}};
  fill_blocks(m, w, importance, [&](int row, int first, int count, std::int8_t* values, std::uint16_t& scale_bits) {
    const std::size_t start = static_cast<std::size_t>(row) * m.cols + first;
    const std::size_t group = start / group_size;
    if ((start + count - 1) / group_size != group) return false;  // the block straddles two stored groups
    const float scale = stored.scales[group];
    if (!std::isfinite(scale) || std::fabs(scale) > 65504.0f) return false;
    scale_bits = fp16_from_float(scale);
    for (int i = 0; i < count; ++i) values[i] = stored.values[start + i];
    return true;
  });
  return m;
}

MatrixRM dequantize(const QuantMatrix& m) {
  MatrixRM w = MatrixRM::Zero(m.rows, m.cols);
  const int plane_width = m.plane_blocks() * kBlock;
  for (int p = 0; p < m.planes; ++p) {
    for (int r = 0; r < m.rows; ++r) {
      for (int c = 0; c < m.cols; ++c) {
        const int col = p * plane_width + c;
        w(r, c) += static_cast<float>(m.value(r, col)) * float_from_fp16(m.scale_bits(r, col / kBlock));
      }
    }
  }
  return w;
}

QuantMatrix add_planes(const QuantMatrix& first, const MatrixRM& w, int planes, std::span<const float> importance) {
  if (first.planes != 1 || first.rows != w.rows() || first.cols != w.cols() || planes < 1) {
    throw std::invalid_argument("add_planes: needs one plane of w and a positive plane count");
  }
  std::vector<QuantMatrix> parts{first};
  MatrixRM residual = w - dequantize(first);
  for (int p = 1; p < planes; ++p) {
    parts.push_back(quantize_matrix(residual, first.bits, importance));
    residual -= dequantize(parts.back());
  }
  QuantMatrix m{first.rows, first.cols, first.bits, {}, {}, planes};
  const int width = first.padded_cols(), blocks = first.blocks();
  for (int r = 0; r < m.rows; ++r) {
    for (const QuantMatrix& part : parts) {
      const auto row = static_cast<std::ptrdiff_t>(r);
      m.values.insert(m.values.end(), part.values.begin() + row * width, part.values.begin() + (row + 1) * width);
      m.scales.insert(m.scales.end(), part.scales.begin() + row * blocks, part.scales.begin() + (row + 1) * blocks);
    }
  }
  return m;
}

QuantMatrix slice_rows(const QuantMatrix& m, int first, int count) {
  if (first < 0 || count < 0 || first + count > m.rows) throw std::out_of_range("slice_rows outside the matrix");
  QuantMatrix s{count, m.cols, m.bits, {}, {}, m.planes};
  s.values.assign(m.values.begin() + static_cast<std::ptrdiff_t>(first) * m.padded_cols(),
                  m.values.begin() + static_cast<std::ptrdiff_t>(first + count) * m.padded_cols());
  s.scales.assign(m.scales.begin() + static_cast<std::ptrdiff_t>(first) * m.blocks(),
                  m.scales.begin() + static_cast<std::ptrdiff_t>(first + count) * m.blocks());
  return s;
}

QuantMatrix stack_rows(const QuantMatrix& a, const QuantMatrix& b) {
  if (a.cols != b.cols || a.bits != b.bits || a.planes != b.planes) {
    throw std::invalid_argument("stack_rows: shapes differ");
  }
  QuantMatrix s = a;
  s.rows += b.rows;
  s.values.insert(s.values.end(), b.values.begin(), b.values.end());
  s.scales.insert(s.scales.end(), b.scales.begin(), b.scales.end());
  return s;
}

int activation_scale_frac(const ActivationFormat& format) {
  return format.scale_bits + std::bit_width(static_cast<unsigned>(format.max_magnitude)) - 6;
}

ScaleFp activation_scale_integer(uint128 absmax, const ScaleFp& factor, const ActivationFormat& format) {
  const uint128 numerator = (absmax * factor.mantissa) << activation_scale_frac(format);
  return normalize(numerator / static_cast<uint128>(format.max_magnitude), 0, format.scale_bits);
}

QuantVector16 quantize_activations(std::span<const std::int64_t> z, int frac_bits, const ScaleFp& factor, int group,
                                   const ActivationFormat& format) {
  if (group < 1) throw std::invalid_argument("group must be positive");
  if (factor.negative || factor.mantissa < 1024 || factor.mantissa > 2047) {
    throw std::invalid_argument("the activation factor must be a positive, normalised ScaleFp");
  }
  if (format.max_magnitude < 1 || format.max_magnitude > std::numeric_limits<std::int16_t>::max()) {
    throw std::invalid_argument("activation values must fit int16");
  }
  const std::size_t groups = (z.size() + group - 1) / group;
  QuantVector16 q{group, std::vector<std::int16_t>(groups * group, 0), std::vector<ScaleFp>(groups)};
  const int exponent = factor.exponent - frac_bits - activation_scale_frac(format);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t first = g * group;
    const std::size_t last = std::min(z.size(), first + group);
    uint128 absmax = 0;
    for (std::size_t i = first; i < last; ++i) {
      const uint128 magnitude = z[i] < 0 ? static_cast<uint128>(-static_cast<int128>(z[i])) : static_cast<uint128>(z[i]);
      absmax = std::max(absmax, magnitude);
    }
    if (absmax == 0) continue;
    for (std::size_t i = first; i < last; ++i) {
      q.values[i] = static_cast<std::int16_t>(
          div_round_away(int128{format.max_magnitude} * z[i], static_cast<int128>(absmax)));
    }
    const ScaleFp s = activation_scale_integer(absmax, factor, format);
    q.scales[g] = {s.mantissa, static_cast<std::int16_t>(s.exponent + exponent), false};
  }
  return q;
}

QuantVector quantize_activations(std::span<const std::int64_t> z, int frac_bits, const ScaleFp& factor, int group) {
  const QuantVector16 wide = quantize_activations(z, frac_bits, factor, group, kInt8Activations);
  return {wide.group, std::vector<std::int8_t>(wide.values.begin(), wide.values.end()), wide.scales};
}

QuantVector16 quantize_q16(std::span<const std::int32_t> x, int group, const ActivationFormat& format) {
  const std::vector<std::int64_t> wide(x.begin(), x.end());
  return quantize_activations(wide, kResidualFrac, kUnitScale, group, format);
}

QuantVector quantize_q16(std::span<const std::int32_t> x, int group) {
  const std::vector<std::int64_t> wide(x.begin(), x.end());
  return quantize_activations(wide, kResidualFrac, kUnitScale, group);
}

QuantVector repeat_groups(const QuantVector& x, int times) {
  QuantVector r{x.group, {}, {}};
  for (int t = 0; t < times; ++t) {
    r.values.insert(r.values.end(), x.values.begin(), x.values.end());
    r.scales.insert(r.scales.end(), x.scales.begin(), x.scales.end());
  }
  return r;
}

std::vector<std::int32_t> matvec(const QuantMatrix& w, const QuantVector& x) {
  if (x.group != kBlock || static_cast<int>(x.scales.size()) != w.blocks()) {
    throw std::invalid_argument("matvec: activation groups do not match the weight blocks");
  }
  std::vector<std::int32_t> y(w.rows);
  for (int r = 0; r < w.rows; ++r) {
    std::int64_t acc = 0;
    for (int b = 0; b < w.blocks(); ++b) {
      std::int32_t dot = 0;
      for (int i = 0; i < kBlock; ++i) dot += w.value(r, b * kBlock + i) * x.values[b * kBlock + i];
      const ScaleFp ws = scale_from_fp16(w.scale_bits(r, b));
      const ScaleFp& xs = x.scales[b];
      const int128 product = int128{dot} * ws.mantissa * xs.mantissa;
      const int shift = ws.exponent + xs.exponent + kAccumulatorFrac;
      // Beyond a left shift of 63 any nonzero product saturates (and int128 could not hold it).
      const int128 signed_product = ws.negative ? -product : product;
      const std::int64_t term =
          saturate_i64(shift > 63 ? signed_product * (int128{1} << 64) : round_shift(signed_product, shift));
      acc = saturate_i64(int128{acc} + term);
    }
    y[r] = saturate_i32(round_shift(acc, kResidualFrac - kAccumulatorFrac));
  }
  return y;
}

}  // namespace tp::fx
