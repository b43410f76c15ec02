// tp::tb attention jobs: the query slots, KV segment beats and expected
// output beats of tp_attention_engine jobs, built from the golden
// tp::fx::attention and the KV layout (golden/int/kv_layout.h). Shared by the
// engine's test, the attention unit's test and `tokenpipe bench attention`.
#pragma once

#include "golden/int/attention.h"
#include "golden/int/kv_layout.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <numeric>
#include <ostream>
#include <random>
#include <vector>

namespace tp::tb {

namespace fx = tp::fx;

inline constexpr int kAttentionSlots = 16;     // tp_attention_engine MaxSlots (default)
inline constexpr int kAttentionSeqLen = 1024;  // MaxSeqLen (default)
inline constexpr int kTile = fx::kKvPageTokens;

// err_o bits of tp_attention_engine.
enum AttentionError : unsigned { kErrConfig = 1, kErrFraming = 2, kErrScale = 4, kErrQuery = 8, kErrRead = 16 };

struct QueryBeat {
  std::array<std::uint8_t, 64> lanes{};
  unsigned scale_m = 0;
  int scale_e = 0;
  unsigned pos = 0;
  bool last = false;
};

struct KvStreamBeat {
  fx::KvBeat data{};
  bool seg_last = false;
  bool job_last = false;
  bool err = false;  // tp_kv_port's error beat: a segment it could not read
};

struct AttentionOutBeat {
  std::array<std::int32_t, 8> lanes{};
  unsigned slot = 0;
  bool last = false;
  bool operator==(const AttentionOutBeat&) const = default;
};
inline void PrintTo(const AttentionOutBeat& b, std::ostream* os) {
  *os << "{slot " << b.slot << (b.last ? " last" : "") << ":";
  for (const auto v : b.lanes) *os << " " << v;
  *os << "}";
}

// One job: query slots of one KV head of one layer's cache, with their positions.
struct Job {
  int head_size = 8;
  std::shared_ptr<const fx::KvCache> cache;  // the layer's K/V
  int kv_head = 0;
  std::vector<fx::QuantVector> q;
  std::vector<int> pos;
  int max_pos() const { return *std::max_element(pos.begin(), pos.end()); }
  int tiles() const { return max_pos() / kTile + 1; }
};

inline std::int32_t random_q16(std::mt19937& rng) {
  // Magnitudes from 2^-8 to 2^15 (real value), now and then the int32 extremes.
  const int roll = static_cast<int>(rng() % 64);
  if (roll == 0) return INT32_MAX;
  if (roll == 1) return INT32_MIN;
  const int bits = 8 + static_cast<int>(rng() % 23);
  const std::int32_t magnitude = static_cast<std::int32_t>(rng() % (1u << bits));
  return (rng() & 1) ? magnitude : -magnitude;
}

inline std::vector<std::int32_t> random_vector(std::mt19937& rng, int n) {
  // One scale of magnitude per vector, as a real activation row.
  const int bits = 10 + static_cast<int>(rng() % 21);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) {
    x = static_cast<std::int32_t>(rng() % (1u << bits)) * ((rng() & 1) ? 1 : -1);
    if (rng() % 97 == 0) x = random_q16(rng);
  }
  return v;
}

// A cache of one layer with random K/V at positions 0 .. len-1.
inline std::shared_ptr<fx::KvCache> random_cache(std::mt19937& rng, int len, int kv_heads, int head_size) {
  auto cache = std::make_shared<fx::KvCache>(len, kv_heads, head_size);
  for (int p = 0; p < len; ++p) {
    cache->store(p, random_vector(rng, kv_heads * head_size), random_vector(rng, kv_heads * head_size));
  }
  return cache;
}

// Slots with random queries at positions `pos` over KV head `kv_head` of `cache`.
inline Job make_job(std::mt19937& rng, std::shared_ptr<const fx::KvCache> cache, int kv_head,
                    const std::vector<int>& pos) {
  Job job;
  job.head_size = cache->head_size();
  job.cache = std::move(cache);
  job.kv_head = kv_head;
  job.pos = pos;
  for (std::size_t s = 0; s < pos.size(); ++s) {
    job.q.push_back(fx::quantize_q16(random_vector(rng, job.head_size), job.head_size));
  }
  return job;
}

// ... over a fresh one-head cache holding every position up to the largest.
inline Job make_job(std::mt19937& rng, int head_size, const std::vector<int>& pos) {
  const int len = *std::max_element(pos.begin(), pos.end()) + 1;
  return make_job(rng, random_cache(rng, len, 1, head_size), 0, pos);
}

inline std::vector<QueryBeat> query_beats(const Job& job, std::mt19937& rng) {
  std::vector<QueryBeat> beats;
  for (std::size_t s = 0; s < job.q.size(); ++s) {
    QueryBeat b;
    for (auto& lane : b.lanes) lane = static_cast<std::uint8_t>(rng());  // lanes >= head_size are ignored
    for (int i = 0; i < job.head_size; ++i) b.lanes[i] = static_cast<std::uint8_t>(job.q[s].values[i]);
    b.scale_m = job.q[s].scales[0].mantissa;
    b.scale_e = job.q[s].scales[0].exponent;
    b.pos = static_cast<unsigned>(job.pos[s]);
    b.last = s + 1 == job.q.size();
    beats.push_back(b);
  }
  return beats;
}

// The job's segments as tp_kv_port streams them; slots past the job's
// positions and the row padding hold stale bytes (random), which the engine
// must never use.
inline std::vector<KvStreamBeat> kv_beats(const Job& job, std::mt19937& rng) {
  const fx::KvLayout layout(1, 1, job.head_size);
  const int len = job.max_pos() + 1;
  std::vector<KvStreamBeat> beats;
  for (int k = 0; k < job.tiles(); ++k) {
    const int count = std::min(kTile, len - kTile * k);
    auto segment = fx::kv_segment(layout, *job.cache, job.kv_head, kTile * k, count);
    const auto stale = [&](int offset) {
      segment[static_cast<std::size_t>(offset / 64)][offset % 64] = static_cast<std::uint8_t>(rng());
    };
    for (int slot = 0; slot < kTile; ++slot) {
      const int first_stale = slot < count ? job.head_size : 0;
      for (int i = first_stale; i < layout.pitch(); ++i) {
        stale(layout.key_offset(slot) + i);
        stale(layout.value_offset(slot) + i);
      }
      if (slot >= count) {
        for (int b = 0; b < 2; ++b) {
          stale(fx::KvLayout::key_scale_offset(slot) + b);
          stale(fx::KvLayout::value_scale_offset(slot) + b);
        }
      }
    }
    for (std::size_t i = 0; i < segment.size(); ++i) {
      beats.push_back({segment[i], i + 1 == segment.size(), k + 1 == job.tiles() && i + 1 == segment.size()});
    }
  }
  return beats;
}

// Per slot, in the order the slots finish (last tile, then slot index), its
// fx::attention vector in beats of 8 lanes; `last` on the job's final beat.
inline std::vector<AttentionOutBeat> expected_beats(const Job& job) {
  std::vector<int> order(job.q.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return job.pos[a] / kTile < job.pos[b] / kTile; });
  const fx::ScaleFp scores = fx::score_scale(job.head_size);
  std::vector<AttentionOutBeat> beats;
  for (const int s : order) {
    const auto out = fx::attention(job.q[s], scores, *job.cache, job.kv_head, job.pos[s]);
    for (int first = 0; first < job.head_size; first += 8) {
      AttentionOutBeat b;
      b.slot = static_cast<unsigned>(s);
      for (int i = 0; i < 8 && first + i < job.head_size; ++i) b.lanes[i] = out[first + i];
      beats.push_back(b);
    }
  }
  beats.back().last = true;
  return beats;
}

// Bytes into a Verilator wide port (little-endian 32-bit words).
template <std::size_t Words>
void put_bytes(std::uint32_t (&port)[Words], const std::uint8_t* bytes) {
  for (std::size_t w = 0; w < Words; ++w) {
    port[w] = 0;
    for (int b = 0; b < 4; ++b) port[w] |= std::uint32_t{bytes[4 * w + b]} << (8 * b);
  }
}

// The engine's configuration for a head size: the head size and
// score_scale(head_size) = log2(e) / sqrt(head_size).
template <class Dut>
void configure_attention(Dut& dut, int head_size) {
  const fx::ScaleFp s = fx::score_scale(head_size);
  dut.cfg_head_size_i = static_cast<unsigned>(head_size);
  dut.cfg_score_scale_m_i = s.mantissa;
  dut.cfg_score_scale_e_i = static_cast<std::uint8_t>(s.exponent);
}

// The query port (q_*) and the output port (out_*) of tp_attention_engine,
// also those of tp_attention_unit.
template <class Dut>
void put_query(Dut& dut, bool valid, const QueryBeat& b) {
  dut.q_valid_i = valid;
  put_bytes(dut.q_data_i.m_storage, b.lanes.data());
  dut.q_scale_m_i = b.scale_m;
  dut.q_scale_e_i = static_cast<std::uint8_t>(b.scale_e);
  dut.q_pos_i = b.pos;
  dut.q_last_i = b.last;
}

template <class Dut>
AttentionOutBeat read_attention_out(Dut& dut) {
  AttentionOutBeat b;
  for (int i = 0; i < 8; ++i) b.lanes[i] = static_cast<std::int32_t>(dut.out_data_o[i]);
  b.slot = dut.out_slot_o;
  b.last = dut.out_last_o;
  return b;
}

inline std::vector<int> same_positions(int slots, int pos) { return std::vector<int>(static_cast<std::size_t>(slots), pos); }

}  // namespace tp::tb
