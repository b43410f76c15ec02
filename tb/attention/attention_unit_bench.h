// tp::tb::AttentionUnitBench: tp_attention_unit (KV data port + flash-attention
// engine) with the HBM model as the KV memory, sources for appends, segment
// reads and query slots, and a scoreboard fed by the golden tp::fx::attention.
// Shared by the unit's test and `tokenpipe bench attention`.
//
// A sequence's KV cache lives in pages (a page table: logical page -> physical
// page); memory holds one segment per (page, layer, KV head) in the layout of
// golden/int/kv_layout.h. The bench appends tokens through the port or
// preloads whole positions into memory, then runs attention jobs whose reads
// name the pages of their tiles.
#pragma once

#include "Vtp_attention_unit.h"
#include "attention/attention_jobs.h"
#include "common/harness.h"
#include "common/hbm_model.h"
#include "common/scoreboard.h"
#include "common/stream.h"
#include "golden/int/attention.h"
#include "golden/int/kv_layout.h"

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace tp::tb {

inline constexpr unsigned kKvPages = 64;  // tp_attention_unit NumPages (default)

// One token's K/V of one (layer, KV head), as tp_kv_port's write command.
struct KvAppend {
  unsigned page = 0, slot = 0, layer = 0, kv_head = 0;
  std::array<std::uint8_t, 64> k_row{}, v_row{};
  std::uint16_t k_scale = 0, v_scale = 0;
};

struct SegmentRead {
  unsigned page = 0, layer = 0, kv_head = 0;
  bool last = false;
};

// The append of position `pos` of `cache` (one layer) for one KV head.
inline KvAppend kv_append(const fx::KvCache& cache, unsigned page, int pos, unsigned layer, int kv_head) {
  KvAppend a{.page = page, .slot = static_cast<unsigned>(pos % kTile), .layer = layer,
             .kv_head = static_cast<unsigned>(kv_head)};
  const auto k = cache.key(pos, kv_head), v = cache.value(pos, kv_head);
  for (int i = 0; i < cache.head_size(); ++i) {
    a.k_row[i] = static_cast<std::uint8_t>(k[i]);
    a.v_row[i] = static_cast<std::uint8_t>(v[i]);
  }
  a.k_scale = fx::kv_scale_code(cache.key_scale(pos, kv_head));
  a.v_scale = fx::kv_scale_code(cache.value_scale(pos, kv_head));
  return a;
}

struct AttentionUnitBench {
  struct Stalls {
    StallGenerator append, read, query, out, memory;
  };

  // memory: the KV region's initial bytes (kv_base 0), at least kKvPages pages.
  AttentionUnitBench(const fx::KvLayout& layout, std::vector<std::uint8_t> memory, HbmConfig hbm_config = {},
                     Stalls stalls = {})
      : layout(layout),
        h(),
        hbm(h, axi_read_ports(h), axi_write_ports(h), std::move(memory),
            with_r_stall(std::move(hbm_config), std::move(stalls.memory))),
        appends(
            h,
            [this](bool valid, const KvAppend& a) {
              h->wr_cmd_valid_i = valid;
              h->wr_cmd_page_i = a.page;
              h->wr_cmd_slot_i = a.slot;
              h->wr_cmd_layer_i = a.layer;
              h->wr_cmd_kv_head_i = a.kv_head;
              put_bytes(h->wr_cmd_k_row_i.m_storage, a.k_row.data());
              put_bytes(h->wr_cmd_v_row_i.m_storage, a.v_row.data());
              h->wr_cmd_k_scale_i = a.k_scale;
              h->wr_cmd_v_scale_i = a.v_scale;
            },
            [this] { return h->wr_cmd_ready_o != 0; }, std::move(stalls.append)),
        append_responses(
            h, [this](bool ready) { h->wr_rsp_ready_i = ready; }, [this] { return h->wr_rsp_valid_o != 0; },
            [this] { return static_cast<unsigned>(h->wr_rsp_status_o); }),
        reads(
            h,
            [this](bool valid, const SegmentRead& r) {
              h->rd_cmd_valid_i = valid;
              h->rd_cmd_page_i = r.page;
              h->rd_cmd_layer_i = r.layer;
              h->rd_cmd_kv_head_i = r.kv_head;
              h->rd_cmd_last_i = r.last;
            },
            [this] { return h->rd_cmd_ready_o != 0; }, std::move(stalls.read)),
        queries(
            h, [this](bool valid, const QueryBeat& b) { put_query(h.dut(), valid, b); },
            [this] { return h->q_ready_o != 0; }, std::move(stalls.query)),
        out(
            h, [this](bool ready) { h->out_ready_i = ready; }, [this] { return h->out_valid_o != 0; },
            [this] { return read_attention_out(h.dut()); }, std::move(stalls.out)),
        scoreboard(h) {
    out.on_beat([this](const AttentionOutBeat& b, std::uint64_t cycle) {
      if (check_values) scoreboard.observe(b, cycle);
    });
    h->cfg_kv_base_i = 0;
    h->cfg_n_layers_i = static_cast<unsigned>(layout.n_layers());
    h->cfg_n_kv_heads_i = static_cast<unsigned>(layout.n_kv_heads());
    configure_attention(h.dut(), layout.head_size());
  }
  AttentionUnitBench(const AttentionUnitBench&) = delete;
  AttentionUnitBench& operator=(const AttentionUnitBench&) = delete;

  // A job over `layer` of the sequence whose page table is `pages`: its
  // segment reads, its query slots and its expected output.
  void push_job(const Job& job, unsigned layer, const std::vector<unsigned>& pages, std::mt19937& rng) {
    for (int k = 0; k < job.tiles(); ++k) {
      reads.push({.page = pages.at(static_cast<std::size_t>(k)), .layer = layer,
                  .kv_head = static_cast<unsigned>(job.kv_head), .last = k + 1 == job.tiles()});
    }
    queries.push_all(query_beats(job, rng));
    for (const auto& b : expected_beats(job)) scoreboard.expect(b);
  }

  // Every append answered OK, every output beat as expected, nothing left.
  bool run_all(std::uint64_t max_cycles) {
    const bool finished = h.run_until(
        [&] {
          return scoreboard.pending() == 0 && queries.done() && reads.done() && appends.done() &&
                 append_responses.received() == appends.accepted();
        },
        max_cycles, "every append and attention job through the unit");
    if (!finished) return false;
    h.tick(2);
    for (const unsigned status : append_responses.beats()) EXPECT_EQ(status, 0u) << "append response";
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(h->err_o, 0u);
    EXPECT_EQ(hbm.violations(), 0u);
    return true;
  }

  fx::KvLayout layout;
  bool check_values = true;  // false: a job with an error, whose values are undefined
  Harness<Vtp_attention_unit> h;
  HbmModel hbm;
  Source<KvAppend> appends;
  Sink<unsigned> append_responses;
  Source<SegmentRead> reads;
  Source<QueryBeat> queries;
  Sink<AttentionOutBeat> out;
  Scoreboard<AttentionOutBeat> scoreboard;

 private:
  static HbmConfig with_r_stall(HbmConfig config, StallGenerator stall) {
    config.r_stall = std::move(stall);
    return config;
  }
};

// The KV region of kKvPages pages, random bytes (stale data).
inline std::vector<std::uint8_t> random_kv_memory(const fx::KvLayout& layout, std::mt19937& rng) {
  return random_image(static_cast<std::size_t>(layout.page_bytes() * kKvPages), rng());
}

// ... holding positions 0 .. len-1 of every layer's cache, position p in
// physical page pages[p / 16].
inline std::vector<std::uint8_t> preloaded_kv_memory(const fx::KvLayout& layout,
                                                     const std::vector<std::shared_ptr<fx::KvCache>>& layers,
                                                     const std::vector<unsigned>& pages, int len, std::mt19937& rng) {
  std::vector<std::uint8_t> memory = random_kv_memory(layout, rng);
  for (int layer = 0; layer < layout.n_layers(); ++layer) {
    for (int head = 0; head < layout.n_kv_heads(); ++head) {
      for (int first = 0; first < len; first += kTile) {
        const auto segment = fx::kv_segment(layout, *layers[static_cast<std::size_t>(layer)], head, first,
                                            std::min(kTile, len - first));
        std::uint64_t address = layout.segment_address(static_cast<int>(pages[first / kTile]), layer, head);
        for (const auto& beat : segment) {
          std::copy(beat.begin(), beat.end(), memory.begin() + static_cast<std::ptrdiff_t>(address));
          address += fx::kKvBeatBytes;
        }
      }
    }
  }
  return memory;
}

// A page table of `count` distinct physical pages in random order.
inline std::vector<unsigned> random_page_table(std::mt19937& rng, int count) {
  std::vector<unsigned> pages(kKvPages);
  std::iota(pages.begin(), pages.end(), 0u);
  std::shuffle(pages.begin(), pages.end(), rng);
  pages.resize(static_cast<std::size_t>(count));
  return pages;
}

}  // namespace tp::tb
