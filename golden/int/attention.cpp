#include "golden/int/attention.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "golden/int/exp2.h"

namespace tp::fx {

void AttentionPrecision::check() const {
  const bool widths = (kv_bits == 8 || kv_bits == 16) && (query_bits == 8 || query_bits == 16);
  if (!widths || (scale_bits != ScaleFp::kMantissaBits && scale_bits != ScaleFp::kMaxMantissaBits)) {
    throw std::invalid_argument("attention precision: K/V and query bits must be 8 or 16, scale bits 11 or 16");
  }
}

KvCache::KvCache(int seq_len, int n_kv_heads, int head_size, const AttentionPrecision& precision)
    : n_kv_heads_(n_kv_heads), head_size_(head_size), precision_(precision),
      keys_(static_cast<std::size_t>(seq_len) * n_kv_heads * head_size),
      values_(keys_.size()),
      key_scales_(static_cast<std::size_t>(seq_len) * n_kv_heads),
      value_scales_(key_scales_.size()) {
  precision_.check();
}

void KvCache::store(int pos, std::span<const std::int32_t> k, std::span<const std::int32_t> v) {
  const QuantVector16 kq = quantize_q16(k, head_size_, precision_.kv_format());
  const QuantVector16 vq = quantize_q16(v, head_size_, precision_.kv_format());
  std::copy(kq.values.begin(), kq.values.end(), keys_.begin() + static_cast<std::ptrdiff_t>(offset(pos, 0)));
  std::copy(vq.values.begin(), vq.values.end(), values_.begin() + static_cast<std::ptrdiff_t>(offset(pos, 0)));
  for (int h = 0; h < n_kv_heads_; ++h) {
    key_scales_[pos * n_kv_heads_ + h] = kq.scales[h];
    value_scales_[pos * n_kv_heads_ + h] = vq.scales[h];
  }
}

int OnlineSoftmax::start_tile(std::int64_t tile_max) {
  const std::int64_t ceiling = (tile_max + 65535) >> 16;  // arithmetic shift: ceil for any sign
  if (!started_) {
    started_ = true;
    m_ = ceiling;
    return 0;
  }
  if (ceiling <= m_) return 0;
  const int shift = static_cast<int>(std::min<std::int64_t>(ceiling - m_, 126));
  l_ = round_shift(l_, -shift);
  m_ = ceiling;
  return shift;
}

std::uint32_t OnlineSoftmax::weight(std::int64_t score) {
  const std::uint32_t p = exp2_neg(score - m_ * 65536);
  l_ += p;
  return p;
}

std::uint32_t attention_reciprocal(std::uint64_t l) {
  if (l <= (std::uint64_t{1} << 14)) throw std::invalid_argument("attention_reciprocal: l must exceed 2^14");
  return static_cast<std::uint32_t>((std::uint64_t{1} << 46) / l);
}

ScaleFp score_scale(int head_size, int mantissa_bits) {
  return scale_from_double(1.0 / (std::log(2.0) * std::sqrt(head_size)), mantissa_bits);
}

std::vector<std::int32_t> attention(const QuantVector16& q, const ScaleFp& scores_scale, const KvCache& cache,
                                    int kv_head, int pos, int tile) {
  const int hs = cache.head_size();
  if (q.group != hs || q.scales.size() != 1) throw std::invalid_argument("attention: q must be one group of head_size");
  const ScaleFp qc = multiply(q.scales[0], scores_scale, cache.precision().scale_bits);
  std::vector<std::int64_t> scores(tile);
  std::vector<int128> o(hs, 0);
  OnlineSoftmax softmax;
  for (int first = 0; first <= pos; first += tile) {
    const int count = std::min(tile, pos + 1 - first);
    std::int64_t tile_max = INT64_MIN;
    for (int j = 0; j < count; ++j) {
      const auto key = cache.key(first + j, kv_head);
      std::int64_t dot = 0;
      for (int i = 0; i < hs; ++i) dot += std::int64_t{q.values[i]} * key[i];
      const ScaleFp& ks = cache.key_scale(first + j, kv_head);
      scores[j] = saturate_i32(round_shift(int128{dot} * qc.mantissa * ks.mantissa, qc.exponent + ks.exponent + 16));
      tile_max = std::max(tile_max, scores[j]);
    }
    if (const int shift = softmax.start_tile(tile_max); shift > 0) {
      for (auto& acc : o) acc = round_shift(acc, -shift);
    }
    for (int j = 0; j < count; ++j) {
      const std::uint32_t p = softmax.weight(scores[j]);
      const auto value = cache.value(first + j, kv_head);
      const ScaleFp& vs = cache.value_scale(first + j, kv_head);
      for (int i = 0; i < hs; ++i) o[i] += round_shift(int128{p} * value[i] * vs.mantissa, vs.exponent + 16);
    }
  }
  const int128 inverse = attention_reciprocal(static_cast<std::uint64_t>(softmax.sum()));
  std::vector<std::int32_t> out(hs);
  for (int i = 0; i < hs; ++i) out[i] = saturate_i32(round_shift(o[i] * inverse, -46));
  return out;
}

std::vector<std::int32_t> attention(const QuantVector& q, const ScaleFp& scores_scale, const KvCache& cache,
                                    int kv_head, int pos, int tile) {
  const QuantVector16 wide{q.group, std::vector<std::int16_t>(q.values.begin(), q.values.end()), q.scales};
  return attention(wide, scores_scale, cache, kv_head, pos, tile);
}

}  // namespace tp::fx
