// Testbench of rtl/attention/tp_attention_unit.sv: tokens appended through the
// KV port into paged memory (the HBM model), attention jobs reading them back
// through the port into the engine, every output beat compared with the golden
// tp::fx::attention. The port and the engine have their own exhaustive tests
// (tp_kv_port_test, tp_attention_engine_test); this one checks that together
// they run a sequence end to end, at the port's pace.
#include "attention/attention_unit_bench.h"
#include "common/stall_matrix.h"
#include "golden/checkpoint.h"
#include "golden/int/argmax.h"
#include "golden/int/int_model.h"
#include "golden/tests/real_models.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <tuple>
#include <vector>

namespace {

using namespace tp::tb;  // the harness, attention jobs and the unit bench

struct Shape {
  int layers = 2, kv_heads = 2, heads = 4, head_size = 8;
  int group() const { return heads / kv_heads; }
};

std::vector<std::shared_ptr<fx::KvCache>> random_layers(std::mt19937& rng, const Shape& s, int len) {
  std::vector<std::shared_ptr<fx::KvCache>> layers;
  for (int l = 0; l < s.layers; ++l) layers.push_back(random_cache(rng, len, s.kv_heads, s.head_size));
  return layers;
}

// A sequence of `len` positions of every layer, in a random page table, and
// the memory that holds positions 0 .. preloaded-1 of it.
struct Sequence {
  Sequence(std::mt19937& rng, const Shape& shape, int len)
      : s(shape),
        layout(s.layers, s.kv_heads, s.head_size),
        layers(random_layers(rng, s, len)),
        pages(random_page_table(rng, (len + kTile - 1) / kTile)) {}
  std::vector<std::uint8_t> memory(int preloaded, std::mt19937& rng) const {
    return preloaded_kv_memory(layout, layers, pages, preloaded, rng);
  }
  Shape s;
  fx::KvLayout layout;
  std::vector<std::shared_ptr<fx::KvCache>> layers;
  std::vector<unsigned> pages;
};

// Decode steps 0 .. len-1: each appends its token's K/V (every layer and KV
// head), waits for the responses, then runs one job per (layer, KV head).
void decode_steps(AttentionUnitBench& b, const Shape& s, int len, std::mt19937& rng) {
  const auto layers = random_layers(rng, s, len);
  const auto pages = random_page_table(rng, (len + kTile - 1) / kTile);
  for (int pos = 0; pos < len; ++pos) {
    for (int l = 0; l < s.layers; ++l) {
      for (int h = 0; h < s.kv_heads; ++h) {
        b.appends.push(kv_append(*layers[l], pages[pos / kTile], pos, static_cast<unsigned>(l), h));
      }
    }
    ASSERT_TRUE(b.run_all(20000));
    for (int l = 0; l < s.layers; ++l) {
      for (int h = 0; h < s.kv_heads; ++h) {
        b.push_job(make_job(rng, layers[l], h, same_positions(s.group(), pos)), static_cast<unsigned>(l), pages, rng);
      }
    }
    ASSERT_TRUE(b.run_all(50000));
  }
}

// Three sequences share the page pool, each with its own pages: their appends
// and jobs interleave step by step, and each attends to its own K/V only.
TEST(AttentionUnit, InterleavedSequencesOnDisjointPagesStayIsolated) {
  std::mt19937 rng(3);
  const Shape s;
  const int len = 40, pages_each = (len + kTile - 1) / kTile;
  const fx::KvLayout layout(s.layers, s.kv_heads, s.head_size);
  const auto pool = random_page_table(rng, static_cast<int>(kKvPages));
  struct Seq {
    std::vector<std::shared_ptr<fx::KvCache>> layers;
    std::vector<unsigned> pages;
  };
  std::vector<Seq> seqs;
  for (int q = 0; q < 3; ++q) {
    seqs.push_back({random_layers(rng, s, len),
                    std::vector<unsigned>(pool.begin() + q * pages_each, pool.begin() + (q + 1) * pages_each)});
  }
  AttentionUnitBench b(layout, random_kv_memory(layout, rng), HbmConfig{.latency = 30},
                       {.append = StallGenerator(0.2, 1), .read = StallGenerator(0.2, 2),
                        .query = StallGenerator(0.2, 3), .out = StallGenerator(0.2, 4), .memory = {}});
  b.h.reset();
  for (int pos = 0; pos < len; ++pos) {
    for (const Seq& q : seqs) {
      for (int l = 0; l < s.layers; ++l) {
        for (int h = 0; h < s.kv_heads; ++h) {
          b.appends.push(kv_append(*q.layers[l], q.pages[pos / kTile], pos, static_cast<unsigned>(l), h));
        }
      }
    }
    ASSERT_TRUE(b.run_all(20000));
    for (int l = 0; l < s.layers; ++l) {
      for (const Seq& q : seqs) {
        // Each sequence at its own length: 0 .. pos, pos - 3, pos / 2.
        const int at = &q == &seqs[0] ? pos : &q == &seqs[1] ? std::max(0, pos - 3) : pos / 2;
        for (int h = 0; h < s.kv_heads; ++h) {
          b.push_job(make_job(rng, q.layers[l], h, same_positions(s.group(), at)), static_cast<unsigned>(l),
                     q.pages, rng);
        }
      }
    }
    ASSERT_TRUE(b.run_all(50000));
  }
}

// stories260K's own K, V and queries: the golden integer model runs 40
// greedy positions; its taps give every layer's rotated q and k and its v.
// The unit appends them through the port and attends at every position of
// layer 0 and at the last position of every layer: each output must equal the
// golden model's attention tap (Stage::kAttention) for those heads.
TEST(AttentionUnit, Stories260KAttentionEqualsTheGoldenModelsTaps) {
  TP_REQUIRE_MODEL_FILE("stories260K.bin");
  const auto checkpoint = std::make_shared<const tp::Checkpoint>(
      tp::read_checkpoint(tp::testing::model_path("stories260K.bin")));
  const tp::ModelConfig& c = checkpoint->config;
  auto quantized = std::make_shared<const fx::QuantizedModel>(fx::quantize_model(*checkpoint, 8));
  fx::IntModel model(quantized);
  const int len = 40, hs = c.head_size(), kv_dim = c.kv_dim();
  // Per position and layer: q and k after RoPE, v, and the attention output.
  struct Step {
    std::vector<std::int32_t> q, k, v, out;
  };
  std::vector<std::vector<Step>> steps(len, std::vector<Step>(static_cast<std::size_t>(c.n_layers)));
  int pos = 0;
  model.set_observer([&](const fx::Tap& t) {
    if (t.layer < 0 || t.layer >= c.n_layers) return;
    Step& s = steps[pos][t.layer];
    if (t.stage == fx::Stage::kQkv) s.v.assign(t.values.begin() + c.dim + kv_dim, t.values.end());
    if (t.stage == fx::Stage::kRope) {
      s.q.assign(t.values.begin(), t.values.begin() + c.dim);
      s.k.assign(t.values.begin() + c.dim, t.values.end());
    }
    if (t.stage == fx::Stage::kAttention) s.out.assign(t.values.begin(), t.values.end());
  });
  int token = 1;
  for (pos = 0; pos < len; ++pos) {
    model.forward(token, pos);
    token = fx::argmax(model.logits_q16());
  }

  const Shape s{.layers = c.n_layers, .kv_heads = c.n_kv_heads, .heads = c.n_heads, .head_size = hs};
  const fx::KvLayout layout(s.layers, s.kv_heads, s.head_size);
  std::mt19937 rng(17);
  const auto pages = random_page_table(rng, (len + kTile - 1) / kTile);
  AttentionUnitBench b(layout, random_kv_memory(layout, rng), HbmConfig{.latency = 50});
  b.h.reset();
  // The caches the golden model stored, rebuilt from the taps.
  std::vector<std::shared_ptr<fx::KvCache>> caches;
  for (int l = 0; l < c.n_layers; ++l) caches.push_back(std::make_shared<fx::KvCache>(len, c.n_kv_heads, hs));
  // A job of the KV head's query heads at pos, expecting the tapped outputs.
  const auto attend = [&](int l, int at) {
    for (int h = 0; h < c.n_kv_heads; ++h) {
      Job job;
      job.head_size = hs;
      job.cache = caches[l];
      job.kv_head = h;
      for (int g = 0; g < c.kv_mul(); ++g) {
        const int head = h * c.kv_mul() + g;
        const auto& q = steps[at][l].q;
        job.q.push_back(fx::quantize_q16(std::span(q).subspan(static_cast<std::size_t>(head * hs), hs), hs));
        job.pos.push_back(at);
      }
      // The golden model's attention outputs of these heads, as the engine's beats.
      for (const auto& beat : expected_beats(job)) {
        const int head = h * c.kv_mul() + static_cast<int>(beat.slot);
        AttentionOutBeat tapped = beat;
        for (int i = 0; i < 8 && i < hs; ++i) tapped.lanes[i] = steps[at][l].out[static_cast<std::size_t>(head * hs + i)];
        EXPECT_EQ(tapped, beat) << "the golden attention differs from its own tap at layer " << l << " pos " << at;
      }
      b.push_job(job, static_cast<unsigned>(l), pages, rng);
    }
  };
  for (pos = 0; pos < len; ++pos) {
    for (int l = 0; l < c.n_layers; ++l) {
      caches[l]->store(pos, steps[pos][l].k, steps[pos][l].v);
      for (int h = 0; h < c.n_kv_heads; ++h) {
        b.appends.push(kv_append(*caches[l], pages[pos / kTile], pos, static_cast<unsigned>(l), h));
      }
    }
    ASSERT_TRUE(b.run_all(20000));
    attend(0, pos);
    if (pos == len - 1) {
      for (int l = 1; l < c.n_layers; ++l) attend(l, pos);
    }
    ASSERT_TRUE(b.run_all(50000));
  }
  EXPECT_EQ(b.scoreboard.matched(), static_cast<std::size_t>((len + c.n_layers - 1) * c.n_heads));
}

class AttentionUnitStalls : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(AttentionUnitStalls, AppendedTokensAttendedEveryStep) {
  const auto [source_p, sink_p] = GetParam();
  for (const int head_size : {8, 16, 40}) {
    SCOPED_TRACE(::testing::Message() << "head size " << head_size);
    std::mt19937 rng(static_cast<unsigned>(head_size));
    const Shape s{.head_size = head_size};
    const fx::KvLayout layout(s.layers, s.kv_heads, s.head_size);
    AttentionUnitBench b(layout, random_kv_memory(layout, rng), HbmConfig{.latency = 40},
                         {.append = StallGenerator(source_p, 1), .read = StallGenerator(source_p, 2),
                          .query = StallGenerator(source_p, 3), .out = StallGenerator(sink_p, 4),
                          .memory = StallGenerator(sink_p, 5)});
    b.h.reset();
    decode_steps(b, s, 35, rng);
    EXPECT_GT(b.scoreboard.matched(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(SourcesSinks, AttentionUnitStalls, stall_matrix<2>(),
                         stall_matrix_names("Sources", "SinksAndMemory"));

// Reads may run ahead of the queries: the port and the engine buffer them.
TEST(AttentionUnit, ReadsQueuedAheadOfTheQueriesAndPrefillBlocks) {
  std::mt19937 rng(7);
  const Sequence seq(rng, Shape{}, 70);
  const auto& [s, layout, layers, pages] = seq;
  AttentionUnitBench b(layout, seq.memory(70, rng), HbmConfig{.latency = 100});
  b.h.reset();
  b.queries.pause(true);
  for (int l = 0; l < s.layers; ++l) {
    for (int h = 0; h < s.kv_heads; ++h) {
      // A causal prefill block of 8 positions per query head of the group.
      std::vector<int> block;
      for (int head = 0; head < s.group(); ++head) {
        for (int p = 60; p < 68; ++p) block.push_back(p);
      }
      b.push_job(make_job(rng, layers[l], h, block), static_cast<unsigned>(l), pages, rng);
    }
  }
  b.h.tick(600);  // every read issued, the segments wait in the port's FIFO
  b.queries.pause(false);
  ASSERT_TRUE(b.run_all(20000));
}

// A decode step over every layer of a long sequence, reads queued back to
// back: after the first beat the step runs at the KV port's pace.
TEST(AttentionUnit, LongDecodeStepRunsAtTheKvPortPace) {
  std::mt19937 rng(9);
  const int len = 512;
  const Sequence seq(rng, Shape{.layers = 5, .kv_heads = 4, .heads = 8, .head_size = 8}, len);  // stories260K
  const auto& [s, layout, layers, pages] = seq;
  // 5-beat segments at 200 cycles of latency: ~41 bursts in flight.
  AttentionUnitBench b(layout, seq.memory(len, rng), HbmConfig{.latency = 200, .max_outstanding = 64});
  b.h.reset();
  for (int l = 0; l < s.layers; ++l) {
    for (int h = 0; h < s.kv_heads; ++h) {
      b.push_job(make_job(rng, layers[l], h, same_positions(s.group(), len - 1)), static_cast<unsigned>(l), pages,
                 rng);
    }
  }
  std::optional<std::uint64_t> first_beat;
  ASSERT_TRUE(b.h.run_until(
      [&] {
        if (!first_beat && b.h->perf_rd_beats_o != 0) first_beat = b.h.cycle();
        return b.scoreboard.pending() == 0 && b.reads.done();
      },
      20000, "the decode step"));
  EXPECT_EQ(b.scoreboard.mismatched(), 0u);
  const double beats = s.layers * s.kv_heads * (len / kTile) * layout.segment_beats();
  EXPECT_EQ(b.h->perf_rd_beats_o, beats);
  const double utilization = beats / static_cast<double>(b.out.beat_cycles().back() - *first_beat);
  EXPECT_GE(utilization, 0.95);
  RecordProperty("kv_port_utilization", std::to_string(utilization));
}

// A read the port refuses reaches the engine as an error beat; the next job
// is exact.
TEST(AttentionUnit, RefusedReadIsAnErrorAndLaterJobsAreExact) {
  std::mt19937 rng(11);
  const Sequence seq(rng, Shape{}, 40);
  const auto& [s, layout, layers, pages] = seq;
  AttentionUnitBench b(layout, seq.memory(40, rng));
  b.h.reset();
  auto bad_pages = pages;
  bad_pages[1] = kKvPages;  // beyond the pool
  const Job broken = make_job(rng, layers[0], 0, same_positions(2, 39));
  for (int k = 0; k < broken.tiles(); ++k) {
    b.reads.push({.page = bad_pages[static_cast<std::size_t>(k)], .layer = 0, .kv_head = 0,
                  .last = k + 1 == broken.tiles()});
  }
  b.queries.push_all(query_beats(broken, rng));
  b.check_values = false;  // the broken job's values are undefined
  ASSERT_TRUE(b.h.run_until([&] { return b.out.received() == 2; }, 5000, "the broken job's output"));
  EXPECT_EQ(b.h->err_o, kErrRead);
  EXPECT_EQ(b.h->err_rd_refused_o, 1u);
  b.check_values = true;
  const std::size_t before = b.out.received();
  b.push_job(make_job(rng, layers[1], 1, same_positions(2, 39)), 1, pages, rng);
  ASSERT_TRUE(b.h.run_until([&] { return b.out.received() == before + 2; }, 5000, "the next job"));
  EXPECT_EQ(b.scoreboard.mismatched(), 0u);
  EXPECT_EQ(b.scoreboard.matched(), 2u);
}

TEST(AttentionUnit, ResetInTheMiddleThenACleanSequence) {
  std::mt19937 rng(13);
  const Shape s;
  const fx::KvLayout layout(s.layers, s.kv_heads, s.head_size);
  AttentionUnitBench b(layout, random_kv_memory(layout, rng), HbmConfig{.latency = 30});
  b.h.reset();
  const auto layers = random_layers(rng, s, 50);
  const auto pages = random_page_table(rng, 4);
  for (int pos = 0; pos < 50; ++pos) {
    b.appends.push(kv_append(*layers[0], pages[pos / kTile], pos, 0, 0));
  }
  b.h.tick(120);
  b.h.reset();  // resets the memory model too (AXI4's shared ARESETn)
  EXPECT_FALSE(b.h->busy_o);
  EXPECT_FALSE(b.h->out_valid_o);
  decode_steps(b, s, 20, rng);
}

// Reset while attention jobs run (segment reads in flight, the engine busy,
// outputs half out): afterwards nothing of them comes out, and a new
// sequence is exact.
TEST(AttentionUnit, ResetWhileJobsRunThenACleanSequence) {
  std::mt19937 rng(15);
  const Sequence seq(rng, Shape{}, 70);
  const auto& [s, layout, layers, pages] = seq;
  AttentionUnitBench b(layout, seq.memory(70, rng), HbmConfig{.latency = 30}, {.out = StallGenerator(0.5, 8)});
  b.h.reset();
  for (int l = 0; l < s.layers; ++l) {
    for (int h = 0; h < s.kv_heads; ++h) {
      b.push_job(make_job(rng, layers[l], h, same_positions(s.group(), 69)), static_cast<unsigned>(l), pages, rng);
    }
  }
  ASSERT_TRUE(b.h.run_until([&] { return b.out.received() > 0; }, 5000, "the first job's output"));
  ASSERT_TRUE(b.h->busy_o) << "the reset must come while jobs run";
  ASSERT_GT(b.scoreboard.pending(), 0u);
  EXPECT_EQ(b.scoreboard.mismatched(), 0u);
  b.h.reset();  // resets the memory model and the bench's streams too
  EXPECT_FALSE(b.h->busy_o);
  EXPECT_FALSE(b.h->out_valid_o);
  b.h.tick(200);
  EXPECT_EQ(b.out.received(), 0u) << "output of a job dropped by the reset";
  decode_steps(b, s, 12, rng);
}

}  // namespace
