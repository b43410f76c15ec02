// tp_attention and the INT8 KV cache: scores, online base-2 softmax over tiles
// of KV positions (the KV pages), and the weighted sum of values.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "golden/int/quantize.h"

namespace tp::fx {

// Positions per tile of the online softmax: the KV page size (tp_pkg::PageSize).
inline constexpr int kAttentionTile = 16;

// One layer's K and V: int8 per (position, KV head) with one ScaleFp each.
class KvCache {
 public:
  KvCache(int seq_len, int n_kv_heads, int head_size);

  // Quantizes k and v (Q16.16, [n_kv_heads * head_size]) per head and stores them.
  void store(int pos, std::span<const std::int32_t> k, std::span<const std::int32_t> v);

  std::span<const std::int8_t> key(int pos, int head) const { return {&keys_[offset(pos, head)], span_size()}; }
  std::span<const std::int8_t> value(int pos, int head) const { return {&values_[offset(pos, head)], span_size()}; }
  const ScaleFp& key_scale(int pos, int head) const { return key_scales_[pos * n_kv_heads_ + head]; }
  const ScaleFp& value_scale(int pos, int head) const { return value_scales_[pos * n_kv_heads_ + head]; }
  int head_size() const { return head_size_; }

 private:
  std::size_t offset(int pos, int head) const {
    return (static_cast<std::size_t>(pos) * n_kv_heads_ + head) * head_size_;
  }
  std::size_t span_size() const { return static_cast<std::size_t>(head_size_); }

  int n_kv_heads_, head_size_;
  std::vector<std::int8_t> keys_, values_;
  std::vector<ScaleFp> key_scales_, value_scales_;
};

// log2(e) / sqrt(head_size): folded into the scores so softmax is base 2.
ScaleFp score_scale(int head_size);

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
// group = head_size). With qc = q.scale * score_scale (ScaleFp product):
//   S_t = saturate_i32(round_shift(dot(q, k_t) * qc.m * ks_t.m, qc.e + ks_t.e + 16))
// Tiles of `tile` positions from 0, each through OnlineSoftmax: the tile's
// shift (if any) applies to o, then per t:
//   p_t = weight(S_t),  o_i += round_shift(p_t * v_ti * vs_t.m, vs_t.e + 16).
// Finally out_i = saturate_i32(round_shift(o_i * attention_reciprocal(l), -46)).
// Integer m makes every rescale an exact shift amount.
std::vector<std::int32_t> attention(const QuantVector& q, const ScaleFp& scores_scale, const KvCache& cache,
                                    int kv_head, int pos, int tile = kAttentionTile);

}  // namespace tp::fx
