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
#include "golden/int/attention.h"
#include "golden/int/kv_layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <numeric>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

namespace {

namespace fx = tp::fx;
using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::Scoreboard;
using tp::tb::Sink;
using tp::tb::Source;
using tp::tb::StallGenerator;

constexpr int kMaxSlots = 16;
constexpr int kMaxSeqLen = 1024;
constexpr int kTile = fx::kKvPageTokens;

enum ErrorBit : unsigned { kErrConfig = 1, kErrFraming = 2, kErrScale = 4, kErrQuery = 8 };

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
};

struct OutBeat {
  std::array<std::int32_t, 8> lanes{};
  unsigned slot = 0;
  bool last = false;
  bool operator==(const OutBeat&) const = default;
};
void PrintTo(const OutBeat& b, std::ostream* os) {
  *os << "{slot " << b.slot << (b.last ? " last" : "") << ":";
  for (const auto v : b.lanes) *os << " " << v;
  *os << "}";
}

// One job: query slots of one KV head, with their positions.
struct Job {
  int head_size = 8;
  std::shared_ptr<fx::KvCache> cache;  // one layer, kv_head 0
  std::vector<fx::QuantVector> q;
  std::vector<int> pos;
  int max_pos() const { return *std::max_element(pos.begin(), pos.end()); }
  int tiles() const { return max_pos() / kTile + 1; }
};

std::int32_t random_q16(std::mt19937& rng) {
  // Magnitudes from 2^-8 to 2^15 (real value), now and then the int32 extremes.
  const int roll = static_cast<int>(rng() % 64);
  if (roll == 0) return INT32_MAX;
  if (roll == 1) return INT32_MIN;
  const int bits = 8 + static_cast<int>(rng() % 23);
  const std::int32_t magnitude = static_cast<std::int32_t>(rng() % (1u << bits));
  return (rng() & 1) ? magnitude : -magnitude;
}

std::vector<std::int32_t> random_vector(std::mt19937& rng, int n) {
  // One scale of magnitude per vector, as a real activation row.
  const int bits = 10 + static_cast<int>(rng() % 21);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) {
    x = static_cast<std::int32_t>(rng() % (1u << bits)) * ((rng() & 1) ? 1 : -1);
    if (rng() % 97 == 0) x = random_q16(rng);
  }
  return v;
}

// slots query positions `pos`; the cache holds every position up to the largest.
Job make_job(std::mt19937& rng, int head_size, const std::vector<int>& pos) {
  Job job;
  job.head_size = head_size;
  job.pos = pos;
  const int len = *std::max_element(pos.begin(), pos.end()) + 1;
  job.cache = std::make_shared<fx::KvCache>(len, 1, head_size);
  for (int p = 0; p < len; ++p) job.cache->store(p, random_vector(rng, head_size), random_vector(rng, head_size));
  for (std::size_t s = 0; s < pos.size(); ++s) job.q.push_back(fx::quantize_q16(random_vector(rng, head_size), head_size));
  return job;
}

std::vector<QueryBeat> query_beats(const Job& job, std::mt19937& rng) {
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

// The job's segments; slots past the cached positions and the row padding
// hold stale bytes (random), which the engine must never use.
std::vector<KvStreamBeat> kv_beats(const Job& job, std::mt19937& rng) {
  const fx::KvLayout layout(1, 1, job.head_size);
  const int len = job.max_pos() + 1;
  std::vector<KvStreamBeat> beats;
  for (int k = 0; k < job.tiles(); ++k) {
    const int count = std::min(kTile, len - kTile * k);
    auto segment = fx::kv_segment(layout, *job.cache, 0, kTile * k, count);
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

std::vector<OutBeat> expected_beats(const Job& job) {
  std::vector<int> order(job.q.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return job.pos[a] / kTile < job.pos[b] / kTile; });
  const fx::ScaleFp scores = fx::score_scale(job.head_size);
  std::vector<OutBeat> beats;
  for (const int s : order) {
    const auto out = fx::attention(job.q[s], scores, *job.cache, 0, job.pos[s]);
    for (int first = 0; first < job.head_size; first += 8) {
      OutBeat b;
      b.slot = static_cast<unsigned>(s);
      for (int i = 0; i < 8 && first + i < job.head_size; ++i) b.lanes[i] = out[first + i];
      beats.push_back(b);
    }
  }
  beats.back().last = true;
  return beats;
}

template <std::size_t Words>
void put_bytes(std::uint32_t (&port)[Words], const std::uint8_t* bytes) {
  for (std::size_t w = 0; w < Words; ++w) {
    port[w] = 0;
    for (int b = 0; b < 4; ++b) port[w] |= std::uint32_t{bytes[4 * w + b]} << (8 * b);
  }
}

struct EngineBench {
  explicit EngineBench(StallGenerator q_stall = {}, StallGenerator kv_stall = {}, StallGenerator out_stall = {},
                       HarnessOptions options = {})
      : h(options),
        q(
            h,
            [this](bool valid, const QueryBeat& b) {
              h->q_valid_i = valid;
              put_bytes(h->q_data_i.m_storage, b.lanes.data());
              h->q_scale_m_i = b.scale_m;
              h->q_scale_e_i = static_cast<std::uint8_t>(b.scale_e);
              h->q_pos_i = b.pos;
              h->q_last_i = b.last;
            },
            [this] { return h->q_ready_o != 0; }, std::move(q_stall)),
        kv(
            h,
            [this](bool valid, const KvStreamBeat& b) {
              h->kv_valid_i = valid;
              put_bytes(h->kv_data_i.m_storage, b.data.data());
              h->kv_seg_last_i = b.seg_last;
              h->kv_job_last_i = b.job_last;
            },
            [this] { return h->kv_ready_o != 0; }, std::move(kv_stall)),
        out(
            h, [this](bool ready) { h->out_ready_i = ready; }, [this] { return h->out_valid_o != 0; },
            [this] {
              OutBeat b;
              for (int i = 0; i < 8; ++i) b.lanes[i] = static_cast<std::int32_t>(h->out_data_o[i]);
              b.slot = h->out_slot_o;
              b.last = h->out_last_o;
              return b;
            },
            std::move(out_stall)),
        scoreboard(h) {
    out.on_beat([this](const OutBeat& b, std::uint64_t cycle) {
      if (check_values) scoreboard.observe(b, cycle);
    });
  }

  void configure(int head_size) {
    const fx::ScaleFp s = fx::score_scale(head_size);
    h->cfg_head_size_i = static_cast<unsigned>(head_size);
    h->cfg_score_scale_m_i = s.mantissa;
    h->cfg_score_scale_e_i = static_cast<std::uint8_t>(s.exponent);
  }

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
  Sink<OutBeat> out;
  Scoreboard<OutBeat> scoreboard;
};

std::vector<int> same_positions(int slots, int pos) { return std::vector<int>(static_cast<std::size_t>(slots), pos); }

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
  b.push(make_job(rng, 16, same_positions(1, kMaxSeqLen - 1)), rng);
  b.push(make_job(rng, 16, {kMaxSeqLen - 1, 300, 0, 511}), rng);
  b.run_all(400000);
}

TEST(AttentionEngine, FullJobsOfSixteenSlotsWithMixedPositions) {
  std::mt19937 rng(6);
  EngineBench b(StallGenerator(0.3, 1), StallGenerator(0.3, 2), StallGenerator(0.3, 3));
  b.configure(8);
  b.h.reset();
  for (int round = 0; round < 3; ++round) {
    std::vector<int> pos;
    for (int s = 0; s < kMaxSlots; ++s) pos.push_back(static_cast<int>(rng() % 100));
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
  Job rising = make_job(rng, 8, same_positions(1, 63));
  for (int p = 0; p <= 63; ++p) {
    // Keys that align better and better with q: m rises on every tile.
    std::vector<std::int32_t> k(8, (p + 1) * 4000000), v(8, (p % 2 ? 1 : -1) * INT32_MAX);
    rising.cache->store(p, k, v);
  }
  rising.q[0] = fx::quantize_q16(std::vector<std::int32_t>(8, INT32_MAX), 8);
  b.push(rising, rng);
  Job falling = make_job(rng, 8, same_positions(1, 63));
  for (int p = 0; p <= 63; ++p) {
    std::vector<std::int32_t> k(8, (64 - p) * 30000000), v(8, INT32_MIN);
    falling.cache->store(p, k, v);
  }
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
    // Segment complete 1, scores kb + 5, softmax 5, P x V kb + 4, queue 1, division 47.
    const std::uint64_t kb = head_size <= 8 ? 2 : 16;
    EXPECT_EQ(first_out - last_kv, 63 + 2 * kb) << "head size " << head_size;
  }
}

// ------------------------------------------------------------- errors ---
TEST(AttentionEngine, FramingErrorsAreFlaggedAndTheJobStillEnds) {
  std::mt19937 rng(13);
  EngineBench b;
  b.configure(8);
  b.check_values = false;
  b.h.reset();
  const Job job = make_job(rng, 8, same_positions(2, 20));
  b.q.push_all(query_beats(job, rng));
  auto beats = kv_beats(job, rng);
  beats[2].seg_last = true;  // a segment "ends" one beat early
  b.kv.push_all(beats);
  ASSERT_TRUE(b.h.run_until([&] { return b.out.received() == 2; }, 5000, "the job's two output beats"));
  EXPECT_EQ(b.h->err_o, kErrFraming);
  EXPECT_TRUE(b.out.beats().back().last);
}

TEST(AttentionEngine, JobLastFlagOnTheWrongSegmentIsAFramingError) {
  std::mt19937 rng(14);
  EngineBench b;
  b.configure(8);
  b.check_values = false;
  b.h.reset();
  const Job job = make_job(rng, 8, same_positions(1, 40));
  b.q.push_all(query_beats(job, rng));
  auto beats = kv_beats(job, rng);
  beats[4].job_last = true;  // the end of the first of three segments
  b.kv.push_all(beats);
  ASSERT_TRUE(b.h.run_until([&] { return b.out.received() == 1; }, 5000, "the job's output"));
  EXPECT_EQ(b.h->err_o, kErrFraming);
}

TEST(AttentionEngine, BadConfigurationAndQueriesAreFlagged) {
  std::mt19937 rng(15);
  {
    EngineBench b;
    b.configure(8);
    b.h->cfg_head_size_i = 65;
    b.h.reset();
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
    for (int s = 0; s < kMaxSlots; ++s) b.q.push(QueryBeat{.scale_m = 1024, .pos = 3});
    b.h.run_until([&] { return b.q.done(); }, 100, "sixteen slots");
    EXPECT_EQ(b.h->err_o, kErrQuery);
    EXPECT_TRUE(b.h->busy_o);
  }
}

TEST(AttentionEngine, ValueScalesBeyondTheWriterRangeAreFlagged) {
  std::mt19937 rng(16);
  EngineBench b;
  b.configure(8);
  b.check_values = false;
  b.h.reset();
  const Job job = make_job(rng, 8, same_positions(1, 3));
  b.q.push_all(query_beats(job, rng));
  auto beats = kv_beats(job, rng);
  beats[0].data[32] = 0x00;
  beats[0].data[33] = (6 + 40) << 2;  // slot 0's V scale exponent 6
  b.kv.push_all(beats);
  ASSERT_TRUE(b.h.run_until([&] { return b.out.received() == 1; }, 5000, "the job's output"));
  EXPECT_EQ(b.h->err_o, kErrScale);
}

// -------------------------------------------------------------- reset ---
TEST(AttentionEngine, ResetInTheMiddleOfJobsThenCleanJobs) {
  std::mt19937 rng(21);
  EngineBench b(StallGenerator(0.3, 4), StallGenerator(0.3, 5), StallGenerator(0.3, 6));
  b.configure(16);
  b.h.reset();
  for (int i = 0; i < 3; ++i) b.push(make_job(rng, 16, same_positions(2, 90)), rng);
  for (const unsigned when : {30u, 200u}) {
    b.h.tick(when);
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
