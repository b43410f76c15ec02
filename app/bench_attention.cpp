// tokenpipe bench attention: one decode step of every layer's attention on the
// verilated attention unit, for sequence lengths up to each model's context,
// with the HBM model as KV memory (200 cycles of latency, 64 bursts in
// flight). Positions 0 .. L-2 are in memory (paged, a random page table); the
// step appends token L-1's K/V of every layer and KV head through the port,
// then runs one job per (layer, KV head) with the group's query heads, the
// reads queued back to back. Every output is checked against fx::attention.
//
// Figures per length L:
//   append_cycles      first append accepted -> last append response
//   attention_cycles   first segment read accepted -> last output beat
//   kv_beats           segment beats read (= the K/V bytes of the step / 64)
//   kv_port_utilization  kv_beats / (last output beat - first beat read): the
//                      step's reads against the time it takes once the first
//                      beat is in, i.e. the memory latency paid once per step
//                      (a top that prefetches hides it behind the QKV matmul)
#include "app/bench_attention.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>

#include "app/commands.h"
#include "app/model_loading.h"
#include "app/report.h"
#include "attention/attention_unit_bench.h"

namespace tp::app {

namespace {

constexpr unsigned kMemoryLatency = 200;
constexpr unsigned kMemoryOutstanding = 64;

struct Shape {
  std::string model;
  ModelConfig config;
};

struct Measurement {
  int length = 0;
  std::uint64_t append_cycles = 0, attention_cycles = 0, kv_beats = 0;
  double utilization = 0;
};

Measurement measure(const ModelConfig& c, int length, std::uint64_t seed) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  const fx::KvLayout layout(c.n_layers, c.n_kv_heads, c.head_size());
  std::vector<std::shared_ptr<fx::KvCache>> layers;
  for (int l = 0; l < c.n_layers; ++l) layers.push_back(tb::random_cache(rng, length, c.n_kv_heads, c.head_size()));
  const auto pages = tb::random_page_table(rng, (length + tb::kTile - 1) / tb::kTile);
  const int pos = length - 1;
  tb::AttentionUnitBench b(layout, tb::preloaded_kv_memory(layout, layers, pages, pos, rng),
                           tb::HbmConfig{.latency = kMemoryLatency, .max_outstanding = kMemoryOutstanding});
  b.h.reset();
  for (int l = 0; l < c.n_layers; ++l) {
    for (int h = 0; h < c.n_kv_heads; ++h) {
      b.appends.push(tb::kv_append(*layers[l], pages[pos / tb::kTile], pos, static_cast<unsigned>(l), h));
    }
  }
  if (!b.run_all(100000)) throw std::runtime_error("bench attention: the appends did not finish");
  Measurement m{.length = length};
  m.append_cycles = b.append_responses.beat_cycles().back() - b.appends.accept_cycles().front();
  for (int l = 0; l < c.n_layers; ++l) {
    for (int h = 0; h < c.n_kv_heads; ++h) {
      b.push_job(tb::make_job(rng, layers[l], h, tb::same_positions(c.kv_mul(), pos)), static_cast<unsigned>(l),
                 pages, rng);
    }
  }
  std::optional<std::uint64_t> first_beat;
  const auto beats_before = static_cast<std::uint64_t>(b.h->perf_rd_beats_o);
  const bool done = b.h.run_until(
      [&] {
        if (!first_beat && b.h->perf_rd_beats_o != beats_before) first_beat = b.h.cycle();
        return b.scoreboard.pending() == 0 && b.reads.done();
      },
      10'000'000, "bench attention decode step");
  if (!done || b.scoreboard.mismatched() != 0 || b.h->err_o != 0 || b.hbm.violations() != 0) {
    throw std::runtime_error("bench attention: the unit's outputs differ from fx::attention at length " +
                             std::to_string(length));
  }
  const std::uint64_t last_out = b.out.beat_cycles().back();
  m.attention_cycles = last_out - b.reads.accept_cycles().front();
  m.kv_beats = b.h->perf_rd_beats_o - beats_before;
  m.utilization = static_cast<double>(m.kv_beats) / static_cast<double>(last_out - *first_beat);
  return m;
}

std::vector<int> lengths_for(const ModelConfig& c) {
  std::vector<int> lengths;
  const int limit = std::min(c.seq_len, static_cast<int>(tb::kKvPages) * tb::kTile);
  for (int l = 16; l < limit; l *= 2) lengths.push_back(l);
  lengths.push_back(limit);
  return lengths;
}

}  // namespace

void run_bench_attention(const AttentionBenchOptions& options) {
  check_writable(options.json_path);
  std::vector<Shape> shapes;
  for (const auto& path : real_model_files(options.models_dir)) {
    shapes.push_back({std::filesystem::path(path).stem().string(), load_model(path, "").checkpoint->config});
  }
  if (shapes.empty()) shapes.push_back({"default", load_model("", "").checkpoint->config});

  std::cout << std::fixed << std::setprecision(4);
  nlohmann::json results = nlohmann::json::array();
  double longest_utilization = 0;
  int longest = 0;
  for (const Shape& s : shapes) {
    if (s.config.head_size() > fx::kKvMaxHeadSize) {
      std::cerr << "bench: " << s.model << " has head size " << s.config.head_size() << " > "
                << fx::kKvMaxHeadSize << ", skipped\n";
      continue;
    }
    for (const int length : lengths_for(s.config)) {
      const Measurement m = measure(s.config, length, static_cast<std::uint64_t>(length));
      std::cout << "attention[" << s.model << ", length " << length << "]: append_cycles " << m.append_cycles
                << ", attention_cycles " << m.attention_cycles << ", kv_beats " << m.kv_beats
                << ", kv_port_utilization " << m.utilization << "\n";
      results.push_back({{"model", s.model}, {"length", length}, {"layers", s.config.n_layers},
                         {"kv_heads", s.config.n_kv_heads}, {"heads", s.config.n_heads},
                         {"head_size", s.config.head_size()}, {"append_cycles", m.append_cycles},
                         {"attention_cycles", m.attention_cycles}, {"kv_beats", m.kv_beats},
                         {"kv_port_utilization", m.utilization}});
      // The summary: the longest length, the worst model at it.
      if (length > longest) longest_utilization = m.utilization;
      if (length >= longest) longest_utilization = std::min(longest_utilization, m.utilization);
      longest = std::max(longest, length);
    }
  }
  std::cout << "kv_port_utilization: " << longest_utilization << "\n";
  if (!options.json_path.empty()) {
    write_json(options.json_path, {{"bench", "attention"},
                                   {"memory_latency", kMemoryLatency},
                                   {"memory_outstanding_bursts", kMemoryOutstanding},
                                   {"results", results},
                                   {"longest_length", longest},
                                   {"kv_port_utilization", longest_utilization}});
  }
}

}  // namespace tp::app
