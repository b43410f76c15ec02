// The INT8 KV cache in external memory: the byte layout the KV port writes and
// the attention engine streams (docs/kv-cache.md, "Data layout").
//
// A page holds kKvPageTokens consecutive positions of one sequence, for every
// layer and KV head. Within a page, one segment per (layer, KV head), in the
// order layer * n_kv_heads + kv_head; a segment is 1 + pitch / 2 beats of 64 B:
//   beat 0             scales: bytes 2s, 2s+1  = K scale code of slot s (LE),
//                              bytes 32+2s..   = V scale code of slot s
//   beats 1 .. p/4     K: slot s at byte 64 + s * pitch, head_size int8 values,
//                      zero up to the pitch
//   beats p/4+1 ..     V: slot s at byte 64 + 16 * pitch + s * pitch
// pitch = max(8, head_size rounded up to a power of two), so a beat holds
// 64 / pitch whole rows and a row never straddles two beats (head_size <= 64).
// Scales first: the engine scales scores as the K beats arrive.
// Only the RTL's INT8 cache (AttentionPrecision{}) has this layout: the
// golden-only hifi attention's 16-bit K/V and scales have none (kv_segment
// refuses such a cache).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "golden/int/attention.h"
#include "golden/int/scale.h"

namespace tp::fx {

inline constexpr int kKvPageTokens = kAttentionTile;  // tp_pkg::PageSize
inline constexpr int kKvBeatBytes = 64;
inline constexpr int kKvMaxHeadSize = 64;
using KvBeat = std::array<std::uint8_t, kKvBeatBytes>;

// 16-bit code of a KV scale (positive ScaleFp): 0 is the zero scale, else
// bits 9:0 = mantissa - 1024 and bits 15:10 = exponent + 40 (1..63), so
// exponents -39..23 (quantize_q16 of int32 Q16.16 values gives -33..5).
std::uint16_t kv_scale_code(const ScaleFp& scale);
ScaleFp kv_scale_from_code(std::uint16_t code);

class KvLayout {
 public:
  KvLayout(int n_layers, int n_kv_heads, int head_size);  // throws outside 1..64 etc.

  int n_layers() const { return n_layers_; }
  int n_kv_heads() const { return n_kv_heads_; }
  int head_size() const { return head_size_; }
  int pitch() const { return pitch_; }
  int segment_beats() const { return 1 + pitch_ / 2; }
  std::uint64_t segment_bytes() const { return std::uint64_t{kKvBeatBytes} * segment_beats(); }
  std::uint64_t page_bytes() const { return segment_bytes() * n_layers_ * n_kv_heads_; }
  // Byte address of a segment relative to the KV region's base.
  std::uint64_t segment_address(int page, int layer, int kv_head) const;
  // Byte offsets within a segment.
  static int key_scale_offset(int slot) { return 2 * slot; }
  static int value_scale_offset(int slot) { return 32 + 2 * slot; }
  int key_offset(int slot) const { return kKvBeatBytes + slot * pitch_; }
  int value_offset(int slot) const { return kKvBeatBytes + (kKvPageTokens + slot) * pitch_; }

 private:
  int n_layers_, n_kv_heads_, head_size_, pitch_;
};

// The segment holding positions first .. first + count - 1 (count <= 16, one
// page) of one KV head of `cache` (one layer); slots past count are zero.
std::vector<KvBeat> kv_segment(const KvLayout& layout, const KvCache& cache, int kv_head, int first, int count);

}  // namespace tp::fx
