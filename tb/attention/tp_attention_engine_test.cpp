// Testbench of rtl/attention/tp_attention_engine.sv (default parameters:
// MaxSlots 16, TileBuffers 8, MaxSeqLen 1024). Golden model: tp::fx::attention
// (golden/int/attention.cpp) per query slot, over a tp::fx::KvCache whose
// segments the KV stream carries in the layout of golden/int/kv_layout.h.
// Every output beat is compared with the golden vector of its slot, in the
// order the slots finish (by last tile, then slot index).
#include "Vtp_attention_engine.h"
#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "attention/attention_jobs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <memory>
#include <numeric>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

namespace {

using namespace tp::tb;  // the harness and the attention job helpers (attention_jobs.h)

struct EngineBench {
  explicit EngineBench(StallGenerator q_stall = {}, StallGenerator kv_stall = {}, StallGenerator out_stall = {},
                       HarnessOptions options = {})
      : h(options),
        q(
            h, [this](bool valid, const QueryBeat& b) { put_query(h.dut(), valid, b); },
            [this] { return h->q_ready_o != 0; }, std::move(q_stall)),
        kv(
            h,
            [this](bool valid, const KvStreamBeat& b) {
              h->kv_valid_i = valid;
              put_bytes(h->kv_data_i.m_storage, b.data.data());
              h->kv_seg_last_i = b.seg_last;
              h->kv_job_last_i = b.job_last;
              h->kv_err_i = b.err;
            },
            [this] { return h->kv_ready_o != 0; }, std::move(kv_stall)),
        out(
            h, [this](bool ready) { h->out_ready_i = ready; }, [this] { return h->out_valid_o != 0; },
            [this] { return read_attention_out(h.dut()); }, std::move(out_stall)),
        scoreboard(h) {
    out.on_beat([this](const AttentionOutBeat& b, std::uint64_t cycle) {
      if (check_values) scoreboard.observe(b, cycle);
    });
  }

  void configure(int head_size) { configure_attention(h.dut(), head_size); }

  // Queues a job's beats and its expected output.
  void push(const Job& job, std::mt19937& rng) {
    q.push_all(query_beats(job, rng));
    kv.push_all(kv_beats(job, rng));
    for (const auto& b : expected_beats(job)) scoreboard.expect(b);
  }

  void run_all(std::uint64_t max_cycles) {
    ASSERT_TRUE(h.run_until([&] { return scoreboard.pending() == 0 && q.done() && kv.done(); }, max_cycles,
                            "every job through the engine"));
    h.tick(4);
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_GT(scoreboard.matched(), 0u);
    EXPECT_FALSE(h->busy_o);
    EXPECT_EQ(h->err_o, 0u);
  }

  bool check_values = true;  // false: a job with an error, whose values are undefined
  Harness<Vtp_attention_engine> h;
  Source<QueryBeat> q;
  Source<KvStreamBeat> kv;
  Sink<AttentionOutBeat> out;
  Scoreboard<AttentionOutBeat> scoreboard;
};

// ------------------------------------------------------- stall matrix ---
class AttentionStallMatrix : public ::testing::TestWithParam<std::tuple<double, double, double>> {};

TEST_P(AttentionStallMatrix, DecodeAndPrefillJobsMatchTheGoldenAttention) {
  const auto [q_p, kv_p, out_p] = GetParam();
  std::mt19937 rng(17);
  for (const int head_size : {8, 16, 3, 48, 64}) {
    SCOPED_TRACE(::testing::Message() << "head size " << head_size);
    EngineBench b(StallGenerator(q_p, 1), StallGenerator(kv_p, 2), StallGenerator(out_p, 3));
    b.configure(head_size);
    b.h.reset();
    // Decode: GQA groups of 1, 2, 4 and 8 query heads, lengths across page
    // boundaries; prefill: a block of positions per head, causal.
    for (const int group : {1, 2, 4, 8}) {
      b.push(make_job(rng, head_size, same_positions(group, static_cast<int>(rng() % 70))), rng);
    }
    b.push(make_job(rng, head_size, same_positions(2, 15)), rng);
    b.push(make_job(rng, head_size, same_positions(2, 16)), rng);
    b.push(make_job(rng, head_size, same_positions(1, 0)), rng);
    std::vector<int> block;
    for (int head = 0; head < 2; ++head) {
      for (int p = 20; p < 27; ++p) block.push_back(p);
    }
    b.push(make_job(rng, head_size, block), rng);
    b.run_all(200000);
    // The counters: every KV beat taken counted; busy (a job resident) at
    // least a cycle per KV beat and at most the run; waits only while busy.
    EXPECT_EQ(b.h->perf_kv_beats_o, b.kv.accepted());
    EXPECT_GE(b.h->perf_busy_o, b.kv.accepted());
    EXPECT_LE(b.h->perf_busy_o, b.h.cycle());
    EXPECT_LE(b.h->perf_kv_wait_o, b.h->perf_busy_o);
  }
}

INSTANTIATE_TEST_SUITE_P(QueryKvOut, AttentionStallMatrix, tp::tb::stall_matrix<3>(),
                         tp::tb::stall_matrix_names("Query", "Kv", "Out"));

// ------------------------------------------------------------ lengths ---
TEST(AttentionEngine, EveryLengthFromOneToThreePagesAndLongSequences) {
  std::mt19937 rng(5);
  EngineBench b(StallGenerator(0.2, 7), StallGenerator(0.2, 8), StallGenerator(0.2, 9));
  b.configure(16);
  b.h.reset();
  for (int pos = 0; pos < 3 * kTile + 2; ++pos) b.push(make_job(rng, 16, same_positions(2, pos)), rng);
  b.push(make_job(rng, 16, same_positions(1, kAttentionSeqLen - 1)), rng);
  b.push(make_job(rng, 16, {kAttentionSeqLen - 1, 300, 0, 511}), rng);
  b.run_all(400000);
}

TEST(AttentionEngine, FullJobsOfSixteenSlotsWithMixedPositions) {
  std::mt19937 rng(6);
  EngineBench b(StallGenerator(0.3, 1), StallGenerator(0.3, 2), StallGenerator(0.3, 3));
  b.configure(8);
  b.h.reset();
  for (int round = 0; round < 3; ++round) {
    std::vector<int> pos;
    for (int s = 0; s < kAttentionSlots; ++s) pos.push_back(static_cast<int>(rng() % 100));
    b.push(make_job(rng, 8, pos), rng);
  }
  b.run_all(200000);
}

// Equal scores (all-zero q), one dominant position and saturated scores
// exercise the rescale shifts, p = 1.0 and the saturation of S.
TEST(AttentionEngine, ExtremeScoresAndValues) {
  std::mt19937 rng(8);
  EngineBench b;
  b.configure(8);
  b.h.reset();
  Job zero = make_job(rng, 8, same_positions(2, 40));
  zero.q[0] = fx::quantize_q16(std::vector<std::int32_t>(8, 0), 8);
  b.push(zero, rng);
  // Keys that align better and better with q: m rises on every tile.
  auto rising_cache = std::make_shared<fx::KvCache>(64, 1, 8);
  for (int p = 0; p <= 63; ++p) {
    rising_cache->store(p, std::vector<std::int32_t>(8, (p + 1) * 4000000),
                        std::vector<std::int32_t>(8, (p % 2 ? 1 : -1) * INT32_MAX));
  }
  Job rising = make_job(rng, rising_cache, 0, same_positions(1, 63));
  rising.q[0] = fx::quantize_q16(std::vector<std::int32_t>(8, INT32_MAX), 8);
  b.push(rising, rng);
  auto falling_cache = std::make_shared<fx::KvCache>(64, 1, 8);
  for (int p = 0; p <= 63; ++p) {
    falling_cache->store(p, std::vector<std::int32_t>(8, (64 - p) * 30000000), std::vector<std::int32_t>(8, INT32_MIN));
  }
  Job falling = make_job(rng, falling_cache, 0, same_positions(1, 63));
  falling.q[0] = fx::quantize_q16(std::vector<std::int32_t>(8, INT32_MIN), 8);
  b.push(falling, rng);
  b.run_all(100000);
}

// ------------------------------------------------------------- timing ---
// Decode at the KV port's pace: with up to two slots per job (stories260K:
// head size 8, 8 query heads over 4 KV heads) the engine accepts a segment
// beat per cycle; four slots take 2 x 4 cycles per 5-beat segment.
// Steady state: the second half of the job's segment beats (the first ones
// fill the segment ring at the stream's own pace).
double kv_beats_per_cycle(int head_size, int slots, int pos) {
  std::mt19937 rng(11);
  EngineBench b;
  b.configure(head_size);
  b.h.reset();
  b.push(make_job(rng, head_size, same_positions(slots, pos)), rng);
  b.run_all(100000);
  const auto& accepted = b.kv.accept_cycles();
  const std::size_t half = accepted.size() / 2;
  return static_cast<double>(accepted.size() - 1 - half) / static_cast<double>(accepted.back() - accepted[half]);
}

TEST(AttentionEngine, DecodeKeepsUpWithTheKvStream) {
  EXPECT_GE(kv_beats_per_cycle(8, 2, 511), 0.99);   // stories260K
  EXPECT_GE(kv_beats_per_cycle(16, 1, 127), 0.99);  // aidreams260K
  EXPECT_GE(kv_beats_per_cycle(64, 1, 1023), 0.99);
  const double four = kv_beats_per_cycle(8, 4, 511);
  EXPECT_NEAR(four, 5.0 / 8.0, 0.02);
}

TEST(AttentionEngine, OutputLatencyAfterTheLastSegment) {
  std::mt19937 rng(12);
  for (const int head_size : {8, 64}) {
    EngineBench b;
    b.configure(head_size);
    b.h.reset();
    b.push(make_job(rng, head_size, same_positions(1, 20)), rng);
    b.run_all(10000);
    const std::uint64_t last_kv = b.kv.accept_cycles().back();
    const std::uint64_t first_out = b.out.beat_cycles().front();
    // Segment complete 1, scores kb + 5, softmax 5, P x V kb + 3 + pitch / 8
    // (accumulator words), queue 1, division 16 (tp_reciprocal).
    const std::uint64_t pitch = head_size <= 8 ? 8 : 64, kb = pitch / 4;
    EXPECT_EQ(first_out - last_kv, 31 + 2 * kb + pitch / 8) << "head size " << head_size;
  }
}

// ------------------------------------------------------------- errors ---
// A job whose KV beats `spoil` changes: runs until its `outputs` beats left
// (values undefined, not checked) and returns the error flags.
template <class Spoil>
unsigned broken_job_errors(EngineBench& b, std::mt19937& rng, const Job& job, Spoil spoil, std::size_t outputs) {
  b.check_values = false;
  b.q.push_all(query_beats(job, rng));
  auto beats = kv_beats(job, rng);
  spoil(beats);
  b.kv.push_all(beats);
  const std::size_t target = b.out.received() + outputs;
  EXPECT_TRUE(b.h.run_until([&] { return b.out.received() == target; }, 5000, "the broken job's output"));
  EXPECT_TRUE(b.out.beats().back().last);
  b.check_values = true;
  return b.h->err_o;
}

TEST(AttentionEngine, FramingErrorsAreFlaggedAndTheJobStillEnds) {
  std::mt19937 rng(13);
  EngineBench b;
  b.configure(8);
  b.h.reset();
  // A segment "ends" one beat early: later beats are misread.
  const unsigned errors = broken_job_errors(
      b, rng, make_job(rng, 8, same_positions(2, 20)), [](auto& beats) { beats[2].seg_last = true; }, 2);
  EXPECT_TRUE(errors & kErrFraming);
}

TEST(AttentionEngine, JobLastFlagOnTheWrongSegmentIsAFramingError) {
  std::mt19937 rng(14);
  EngineBench b;
  b.configure(8);
  b.h.reset();
  // The end of the first of three segments.
  EXPECT_EQ(broken_job_errors(b, rng, make_job(rng, 8, same_positions(1, 40)),
                              [](auto& beats) { beats[4].job_last = true; }, 1),
            kErrFraming);
}

// tp_kv_port replaces a segment it refused by one error beat: the job's
// values are undefined, the next job is exact.
TEST(AttentionEngine, AnErrorBeatForAMissingSegmentKeepsLaterJobsInStep) {
  std::mt19937 rng(18);
  EngineBench b;
  b.configure(8);
  b.h.reset();
  const auto missing_second_segment = [](auto& beats) {
    beats.erase(beats.begin() + 5, beats.begin() + 10);
    beats.insert(beats.begin() + 5, KvStreamBeat{.seg_last = true, .err = true});  // one error beat instead
  };
  EXPECT_EQ(broken_job_errors(b, rng, make_job(rng, 8, same_positions(2, 40)), missing_second_segment, 2), kErrRead);
  b.push(make_job(rng, 8, same_positions(2, 33)), rng);
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.pending() == 0 && b.kv.done(); }, 5000, "the next job"));
  EXPECT_EQ(b.scoreboard.mismatched(), 0u);
  EXPECT_EQ(b.scoreboard.matched(), 2u);
}

TEST(AttentionEngine, BadConfigurationAndQueriesAreFlagged) {
  std::mt19937 rng(15);
  // Each of the three configuration errors alone: head size above 64, head
  // size 0, a score-scale mantissa that is not normalised.
  for (const auto& [head_size, score_m] : {std::pair{65, 1448}, std::pair{0, 1448}, std::pair{8, 0x200}}) {
    SCOPED_TRACE("head size " + std::to_string(head_size) + ", score mantissa " + std::to_string(score_m));
    EngineBench b;
    b.configure(8);
    b.h->cfg_head_size_i = head_size;
    b.h->cfg_score_scale_m_i = score_m;
    b.h.reset();
    EXPECT_EQ(b.h->err_o, 0u);
    b.q.push(QueryBeat{.scale_m = 1024, .last = true});
    b.h.tick(4);
    EXPECT_EQ(b.h->err_o, kErrConfig);
  }
  {
    EngineBench b;
    b.configure(8);
    b.h.reset();
    b.q.push(QueryBeat{.scale_m = 5, .last = true});  // not normalised
    b.h.tick(4);
    EXPECT_EQ(b.h->err_o, kErrQuery);
  }
  {
    // Seventeen slots: the job closes at sixteen, the query error is raised.
    EngineBench b;
    b.configure(8);
    b.h.reset();
    for (int s = 0; s < kAttentionSlots; ++s) b.q.push(QueryBeat{.scale_m = 1024, .pos = 3});
    b.h.run_until([&] { return b.q.done(); }, 100, "sixteen slots");
    EXPECT_EQ(b.h->err_o, kErrQuery);
    EXPECT_TRUE(b.h->busy_o);
  }
}

TEST(AttentionEngine, ValueScalesBeyondTheWriterRangeAreFlagged) {
  std::mt19937 rng(16);
  EngineBench b;
  b.configure(8);
  b.h.reset();
  const auto large_value_scale = [](auto& beats) {
    beats[0].data[32] = 0x00;
    beats[0].data[33] = (6 + 40) << 2;  // slot 0's V scale exponent 6
  };
  EXPECT_EQ(broken_job_errors(b, rng, make_job(rng, 8, same_positions(1, 3)), large_value_scale, 1), kErrScale);
}

// -------------------------------------------------------------- reset ---
TEST(AttentionEngine, ResetInTheMiddleOfJobsThenCleanJobs) {
  std::mt19937 rng(21);
  EngineBench b(StallGenerator(0.3, 4), StallGenerator(0.3, 5), StallGenerator(0.3, 6));
  b.configure(16);
  b.h.reset();
  for (int i = 0; i < 3; ++i) b.push(make_job(rng, 16, same_positions(2, 90)), rng);
  for (const unsigned when : {30u, 120u}) {
    b.h.tick(when);
    ASSERT_TRUE(b.h->busy_o) << "the reset must come while a job is resident";
    b.h.reset();
    EXPECT_FALSE(b.h->busy_o);
    EXPECT_FALSE(b.h->out_valid_o);
    EXPECT_TRUE(b.h->q_ready_o);
    EXPECT_TRUE(b.h->kv_ready_o);
    for (int i = 0; i < 2; ++i) b.push(make_job(rng, 16, same_positions(2, 90)), rng);
  }
  b.run_all(100000);
}

TEST(AttentionEngine, DefinedAfterResetFromRandomInitialState) {
  for (const std::uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937 rng(seed);
    EngineBench b({}, {}, {}, HarnessOptions{.random_init_seed = seed});
    b.configure(8);
    b.h.reset();
    EXPECT_FALSE(b.h->busy_o);
    EXPECT_FALSE(b.h->out_valid_o);
    EXPECT_EQ(b.h->err_o, 0u);
    b.push(make_job(rng, 8, same_positions(2, 33)), rng);
    b.run_all(10000);
  }
}

}  // namespace
