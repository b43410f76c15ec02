// tp_attention and the INT8 KV cache: scores, online base-2 softmax over tiles
// of KV positions (the KV pages), and the weighted sum of values. The same
// functions, widened by an AttentionPrecision, are the golden specification
// of a 16-bit ("hifi") attention that the RTL does not implement
// (docs/numerics.md, "16-bit attention inputs").
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "golden/int/quantize.h"

namespace tp::fx {

// Positions per tile of the online softmax: the KV page size (tp_pkg::PageSize).
inline constexpr int kAttentionTile = 16;

// The attention unit's number formats. The defaults are the RTL's: K, V and
// the query INT8 (the activation quantizer, kInt8Activations), every scale
// with an 11-bit mantissa. The golden-only hifi plan (kHifiAttention) widens
// K, V and the query to 16 bits and the attention's scales (K/V scales, query
// scale, qc = q.scale * score_scale, the score scale) to 16-bit mantissas:
// stories260K's 0.99 top-1 needs it (docs/numerics.md).
struct AttentionPrecision {
  int kv_bits = 8;     // K and V values: 8 ([-127, 127]) or 16 ([-32767, 32767])
  int query_bits = 8;  // the query head's values: 8 or 16
  int scale_bits = ScaleFp::kMantissaBits;  // mantissa bits of the attention's scales: 11 or 16

  // The activation quantizer's format for K and V, and for the query.
  ActivationFormat kv_format() const { return format(kv_bits); }
  ActivationFormat query_format() const { return format(query_bits); }
  // The format the RTL attention engine and KV layout implement.
  bool is_rtl_format() const { return *this == AttentionPrecision{}; }
  // Throws unless every field holds one of its two values.
  void check() const;
  friend bool operator==(const AttentionPrecision&, const AttentionPrecision&) = default;

 private:
  ActivationFormat format(int bits) const { return {bits == 16 ? 32767 : 127, scale_bits}; }
};
inline constexpr AttentionPrecision kHifiAttention{16, 16, ScaleFp::kMaxMantissaBits};

// One layer's K and V per (position, KV head), each with one ScaleFp, in the
// precision's K/V format. Values are held as int16 in both formats: INT8
// values stay in [-127, 127], so a cast to int8 gives the RTL's bytes.
class KvCache {
 public:
  KvCache(int seq_len, int n_kv_heads, int head_size, const AttentionPrecision& precision = {});

  // Quantizes k and v (Q16.16, [n_kv_heads * head_size]) per head and stores them.
  void store(int pos, std::span<const std::int32_t> k, std::span<const std::int32_t> v);

  std::span<const std::int16_t> key(int pos, int head) const { return {&keys_[offset(pos, head)], span_size()}; }
  std::span<const std::int16_t> value(int pos, int head) const { return {&values_[offset(pos, head)], span_size()}; }
  const ScaleFp& key_scale(int pos, int head) const { return key_scales_[pos * n_kv_heads_ + head]; }
  const ScaleFp& value_scale(int pos, int head) const { return value_scales_[pos * n_kv_heads_ + head]; }
  int head_size() const { return head_size_; }
  const AttentionPrecision& precision() const { return precision_; }

 private:
  std::size_t offset(int pos, int head) const {
    return (static_cast<std::size_t>(pos) * n_kv_heads_ + head) * head_size_;
  }
  std::size_t span_size() const { return static_cast<std::size_t>(head_size_); }

  int n_kv_heads_, head_size_;
  AttentionPrecision precision_;
  std::vector<std::int16_t> keys_, values_;
  std::vector<ScaleFp> key_scales_, value_scales_;
};

// log2(e) / sqrt(head_size): folded into the scores so softmax is base 2.
// mantissa_bits: 11 (the RTL's), or the hifi attention's 16.
ScaleFp score_scale(int head_size, int mantissa_bits = ScaleFp::kMantissaBits);

// tp_online_softmax: the running state of one query's base-2 softmax over
// tiles of scores (Q16.16, log2 units). The running maximum m is an integer
// (the ceiling of the largest score seen), so a rescale is an exact shift.
class OnlineSoftmax {
 public:
  // A new tile whose largest score is tile_max. Returns the right shift the
  // caller applies (round_shift) to its value accumulators: 0 unless the
  // tile's ceiling exceeds m (then m moves up and the sum is shifted too).
  int start_tile(std::int64_t tile_max);
  // p = exp2_neg(score - m * 2^16) in Q0.16; adds it to the running sum.
  std::uint32_t weight(std::int64_t score);

  std::int64_t max() const { return m_; }
  const int128& sum() const { return l_; }

 private:
  bool started_ = false;
  std::int64_t m_ = 0;
  int128 l_ = 0;
};

// tp_reciprocal: floor(2^46 / l), the normalisation of attention's output.
// l >= 2^15 (the largest score contributes p >= 2^15), so the result is at
// most 2^31; l <= 2^14 has no 32-bit result and throws.
std::uint32_t attention_reciprocal(std::uint64_t l);

// One query head over positions 0..pos of one KV head; returns head_size
// values in Q16.16. q is the query quantized as one group (quantize_q16 with
// group = head_size, in the cache's query_format()). With
// qc = multiply(q.scale, score_scale, scale_bits) (the cache's precision):
//   S_t = saturate_i32(round_shift(dot(q, k_t) * qc.m * ks_t.m, qc.e + ks_t.e + 16))
// Tiles of `tile` positions from 0, each through OnlineSoftmax: the tile's
// shift (if any) applies to o, then per t:
//   p_t = weight(S_t),  o_i += round_shift(p_t * v_ti * vs_t.m, vs_t.e + 16).
// Finally out_i = saturate_i32(round_shift(o_i * attention_reciprocal(l), -46)).
// Integer m makes every rescale an exact shift amount.
// Widths: INT8 |dot| <= 64 * 127^2 < 2^20 (int32), dot * qc.m * ks.m < 2^42,
// p * v * vs.m < 2^34. 16-bit q, K, V and 16-bit mantissas: |dot| <= hs *
// 32767^2 < 2^36 at hs 64 (int64 here), dot * qc.m * ks.m < 2^68 and
// p * v * vs.m < 2^47 (int128 here); the shifts grow by the extra bits, so S
// and o keep their units and the 64-bit o and l of the RTL would still do.
std::vector<std::int32_t> attention(const QuantVector16& q, const ScaleFp& scores_scale, const KvCache& cache,
                                    int kv_head, int pos, int tile = kAttentionTile);
// The INT8 query (the RTL's): the same with q's values widened.
std::vector<std::int32_t> attention(const QuantVector& q, const ScaleFp& scores_scale, const KvCache& cache,
                                    int kv_head, int pos, int tile = kAttentionTile);

}  // namespace tp::fx
