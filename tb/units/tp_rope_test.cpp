// Testbench of rtl/units/tp_rope.sv (default PairLanes = 1, MaxHeadDim = 128).
// Golden model: tp::fx::rope (golden/int/rope.h). Every accepted pair beat is
// placed at its position in an otherwise zero head of cfg_head_size elements
// and rotated by the golden function with the steps the RTL's step RAM holds
// at that edge; the expected output beat is the pair read back from there.
// The stream model (position latched at a vector's first beat, pair index
// restarting with every head and every vector) is this file's; the arithmetic
// is the golden's. Stated timing: latency 15, II 1.
#include "Vtp_rope.h"
#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"
#include "golden/int/rope.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using tp::tb::Component;
using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::Scoreboard;
using tp::tb::Sink;
using tp::tb::Source;
using tp::tb::StallGenerator;

constexpr unsigned kLatency = 15;
constexpr int kMaxHeadDim = 128;  // tp_pkg::MaxHeadDim: step RAM entries = 64
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

struct InBeat {
  int32_t a = 0, b = 0;  // elements 2i, 2i+1
  uint32_t pos = 0;      // used on the first beat of a vector
  bool last = false;
  bool operator==(const InBeat&) const = default;
};

struct OutBeat {
  int32_t a = 0, b = 0;
  bool last = false;
  bool operator==(const OutBeat&) const = default;
};
std::ostream& operator<<(std::ostream& os, const OutBeat& o) {
  return os << "{a' " << o.a << ", b' " << o.b << (o.last ? ", last}" : "}");
}

uint64_t pack(int32_t lo, int32_t hi) {
  return static_cast<uint64_t>(static_cast<uint32_t>(lo)) | static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32;
}

// The contents of the DUT's step RAM and its head size, as the golden model
// sees them, and the stream state the RTL keeps (vector position, pair index).
class RopeModel final : public Component {
 public:
  explicit RopeModel(tp::tb::Bench& bench) : Component(bench), steps_(kMaxHeadDim / 2, 0) {}

  OutBeat operator()(const InBeat& in) {
    if (first_) {
      pos_ = in.pos;
      pair_ = 0;
    }
    std::vector<int32_t> head(head_size_, 0);
    head[2 * pair_] = in.a;
    head[2 * pair_ + 1] = in.b;
    tp::fx::rope(head, head_size_, static_cast<int>(pos_),
                 std::span<const uint32_t>(steps_.data(), static_cast<size_t>(head_size_ / 2)));
    const OutBeat out{head[2 * pair_], head[2 * pair_ + 1], in.last};
    pair_ = (pair_ + 1) % (head_size_ / 2);
    first_ = in.last;
    return out;
  }

  void set_head_size(int head_size) { head_size_ = head_size; }
  void set_step(int index, uint32_t step) { steps_[index] = step; }
  void reset() override { first_ = true; }  // the RAM keeps its contents

 private:
  std::vector<uint32_t> steps_;
  int head_size_ = 8;
  bool first_ = true;
  uint32_t pos_ = 0;
  int pair_ = 0;
};

// Drives the step RAM write port, one queued write per cycle. The golden
// model sees a write after every beat accepted at the same edge (commit):
// those read the old entry in the RTL too.
class StepWriter final : public Component {
 public:
  StepWriter(tp::tb::Bench& bench, Vtp_rope& dut, RopeModel& model) : Component(bench), dut_(dut), model_(model) {}

  void write(int index, uint32_t step) { queue_.emplace_back(index, step); }
  bool idle() const { return queue_.empty(); }

  void drive(uint64_t) override {
    dut_.cfg_step_we_i = !queue_.empty();
    if (!queue_.empty()) {
      dut_.cfg_step_addr_i = static_cast<uint8_t>(queue_.front().first);
      dut_.cfg_step_data_i = queue_.front().second;
    }
  }
  void commit(uint64_t) override {
    if (queue_.empty()) return;
    model_.set_step(queue_.front().first, queue_.front().second);
    queue_.pop_front();
  }
  void reset() override {
    queue_.clear();
    dut_.cfg_step_we_i = 0;
  }

 private:
  Vtp_rope& dut_;
  RopeModel& model_;
  std::deque<std::pair<int, uint32_t>> queue_;
};

// Random Q16.16 vector: uniform int32, small values and the int32 extremes.
std::vector<int32_t> random_vector(size_t n, std::mt19937& rng) {
  static constexpr std::array<int32_t, 8> kSpecial = {kMin, kMax, kMin + 1, kMax - 1, -1, 0, 1, 1 << 16};
  std::vector<int32_t> v(n);
  for (auto& x : v) {
    switch (rng() % 4) {
      case 0: x = kSpecial[rng() % kSpecial.size()]; break;
      case 1: x = static_cast<int32_t>(rng() % 0x40000) - 0x20000; break;  // |x| < 2 in Q16.16
      default: x = static_cast<int32_t>(rng()); break;
    }
  }
  return v;
}

// The DUT with a pair source, a sink, the golden model and the step writer.
struct Bench {
  explicit Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : h(options),
        model(h),
        writer(h, h.dut(), model),
        source(
            h,
            [this](bool valid, const InBeat& beat) {
              h->in_valid_i = valid;
              h->in_data_i = pack(beat.a, beat.b);
              h->in_pos_i = beat.pos;
              h->in_last_i = beat.last;
            },
            [this] { return h->in_ready_o != 0; }, source_stall),
        sink(
            h, [this](bool ready) { h->out_ready_i = ready; }, [this] { return h->out_valid_o != 0; },
            [this] {
              const uint64_t d = h->out_data_o;
              return OutBeat{static_cast<int32_t>(static_cast<uint32_t>(d)), static_cast<int32_t>(d >> 32),
                             h->out_last_o != 0};
            },
            sink_stall),
        scoreboard(h, "out") {
    scoreboard.connect(source, [this](const InBeat& in) { return model(in); }, sink);
    h->cfg_step_we_i = 0;
  }

  void set_head_size(int head_size) {
    h->cfg_head_size_i = static_cast<uint8_t>(head_size);
    model.set_head_size(head_size);
    head_size_ = head_size;
  }

  // Writes steps[j] to entry j (one per cycle) and waits until written.
  void load_steps(const std::vector<uint32_t>& steps) {
    for (size_t j = 0; j < steps.size(); ++j) writer.write(static_cast<int>(j), steps[j]);
    ASSERT_TRUE(h.run_until([&] { return writer.idle(); }, 4 * steps.size() + 10, "step RAM writes"));
  }
  // Head size and the model's steps for it.
  void configure(int head_size) {
    set_head_size(head_size);
    load_steps(tp::fx::rope_phase_steps(head_size));
  }

  // Queues one vector (pairs of consecutive elements) at position pos.
  void push_vector(const std::vector<int32_t>& v, uint32_t pos) {
    for (size_t i = 0; i < v.size(); i += 2) source.push({v[i], v[i + 1], pos, i + 2 == v.size()});
    pushed_ += v.size() / 2;
  }
  // Queues `vectors` random vectors of 1..max_heads heads at random positions
  // below max_pos (0: any 32-bit position).
  void push_random(int vectors, int max_heads, uint32_t max_pos = 4096) {
    for (int i = 0; i < vectors; ++i) {
      const size_t heads = 1 + rng() % max_heads;
      const auto v = random_vector(head_size_ * heads, rng);
      push_vector(v, max_pos == 0 ? static_cast<uint32_t>(rng()) : static_cast<uint32_t>(rng() % max_pos));
    }
  }

  // Runs until every pushed beat came out and matched.
  void drain(uint64_t max_cycles) {
    ASSERT_TRUE(h.run_until([&] { return scoreboard.checked() >= pushed_; }, max_cycles, "all pairs out"));
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(scoreboard.pending(), 0u);
    EXPECT_EQ(sink.received(), pushed_);
  }
  void reset(unsigned cycles = 4) {
    h.reset(cycles);
    pushed_ = 0;
  }

  Harness<Vtp_rope> h;
  RopeModel model;
  StepWriter writer;
  Source<InBeat> source;
  Sink<OutBeat> sink;
  Scoreboard<OutBeat> scoreboard;
  size_t pushed_ = 0;
  int head_size_ = 8;
  std::mt19937 rng{1};  // test data
};

constexpr std::array<int, 4> kHeadSizes = {8, 16, 64, 128};

// ---------------------------------------------- backpressure test matrix ---
// {no stall, random stall} at the source x {no stall, random stall} at the
// sink; every head size, vectors of 1..4 heads at random positions < 4096.
class RopeStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(RopeStallMatrix, EveryPairMatchesGolden) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.reset();
  for (int head : kHeadSizes) {
    SCOPED_TRACE("head_size " + std::to_string(head));
    b.configure(head);  // previous vectors drained: the head size may change
    b.push_random(6, 4);
    b.drain(40000);
  }
  b.h.tick(2 * kLatency);  // nothing more may come out
  EXPECT_EQ(b.sink.received(), b.pushed_);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, RopeStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// ------------------------------------------------------------ numerics ---
TEST(Rope, PositionZeroIsExactIdentity) {
  // Phase 0: c = 32768, s = 0, a' = (a * 2^15 + 2^14) >> 15 = a for every int32.
  Bench b(StallGenerator(0.2, 3), StallGenerator(0.2, 4));
  b.reset();
  std::vector<int32_t> sent;
  for (int head : kHeadSizes) {
    b.configure(head);
    const auto v = random_vector(2 * head, b.rng);
    sent.insert(sent.end(), v.begin(), v.end());
    b.push_vector(v, 0);
    b.drain(4000);
  }
  ASSERT_EQ(2 * b.sink.received(), sent.size());
  for (size_t beat = 0; beat < b.sink.received(); ++beat) {
    EXPECT_EQ(b.sink.beats()[beat].a, sent[2 * beat]) << "beat " << beat;
    EXPECT_EQ(b.sink.beats()[beat].b, sent[2 * beat + 1]) << "beat " << beat;
  }
}

TEST(Rope, HeadSizesAndPositionsIncludingPhaseWrap) {
  // Small positions, random positions < 4096 and positions near 2^31 and
  // 2^32 (pos * step wraps modulo 2^32 many times), back to back.
  Bench b(StallGenerator(0.1, 13), StallGenerator(0.1, 14));
  b.reset();
  auto& rng = b.rng;
  for (int head : kHeadSizes) {
    SCOPED_TRACE("head_size " + std::to_string(head));
    b.configure(head);
    std::vector<uint32_t> positions = {0, 1, 2, 3, 4095, 0x7FFFFFFFu, 0x80000000u, 0x7FFFFFFEu, 0xFFFFFFFFu};
    for (int i = 0; i < 4; ++i) positions.push_back(rng() % 4096);
    for (int i = 0; i < 3; ++i) positions.push_back(0x7FFF0000u + rng() % 0x20000);
    for (uint32_t pos : positions) b.push_vector(random_vector(head * (1 + rng() % 2), rng), pos);
    b.drain(20000);
  }
}

// Phases placed exactly: with pos = 1 the phase of pair j is step j, so the
// step RAM is loaded with the phases under test (64 per 128-element vector).
void run_phases(Bench& b, const std::vector<uint32_t>& phases, const std::vector<std::pair<int32_t, int32_t>>& pairs) {
  constexpr int kHead = kMaxHeadDim;
  b.set_head_size(kHead);
  for (size_t base = 0; base < phases.size(); base += kHead / 2) {
    std::vector<uint32_t> steps(kHead / 2, 0);
    for (size_t j = 0; j < steps.size() && base + j < phases.size(); ++j) steps[j] = phases[base + j];
    // The previous vector is accepted (source idle): rewrite the RAM while it
    // is still in flight; it keeps the steps it read.
    ASSERT_TRUE(b.h.run_until([&] { return b.source.done(); }, 1000, "previous vector accepted"));
    b.load_steps(steps);
    std::vector<int32_t> v(kHead);
    for (int j = 0; j < kHead / 2; ++j) {
      const auto& [a, c] = pairs[(base + j) % pairs.size()];
      v[2 * j] = a;
      v[2 * j + 1] = c;
    }
    b.push_vector(v, 1);
  }
  b.drain(20 * phases.size() + 1000);
}

TEST(Rope, QuadrantBoundaryPhases) {
  // 0, 2^30, 2^31, 3 * 2^30 (u = 0 and u = 65536 after mirroring: k = 256,
  // r = 0 reads S[256]) and their neighbours: +-1 (same table point), +-2^14
  // (one interpolation step), +-2^22 (one table entry), and the top of the
  // phase range.
  std::vector<uint32_t> phases;
  for (uint32_t q = 0; q < 4; ++q) {
    const uint32_t base = q << 30;
    for (int64_t d : {0LL, 1LL, -1LL, 2LL, -2LL, (1LL << 14) - 1, 1LL << 14, -(1LL << 14), (1LL << 14) + 1,
                      -(1LL << 14) - 1, 1LL << 22, -(1LL << 22), 255LL << 14, -(255LL << 14), 1LL << 29})
      phases.push_back(static_cast<uint32_t>(base + d));
  }
  // Every table entry at both ends of its interval in quadrant 1 (mirrored).
  for (uint32_t k = 0; k < 256; ++k) phases.push_back((1u << 30) + (k << 22) + (255u << 14));
  // a = 2^15, b = 0 shows (c, s) exactly; the others are generic and extreme.
  const std::vector<std::pair<int32_t, int32_t>> pairs = {
      {1 << 15, 0}, {0, 1 << 15}, {kMax, kMin}, {kMin, kMin}, {kMax, kMax}, {123456789, -987654321}, {-1, 1}};
  Bench b(StallGenerator(0.2, 31), StallGenerator(0.3, 32));
  b.reset();
  run_phases(b, phases, pairs);
}

TEST(Rope, EveryTablePhaseExhaustive) {
  // All 2^18 phases the sine table distinguishes (phase bits 31:14), each
  // rotating (2^15, 0) -> (c, s) exactly or a random pair; bits 13:0 random.
  std::mt19937 rng(41);
  std::vector<uint32_t> phases(1u << 18);
  for (uint32_t j = 0; j < phases.size(); ++j) phases[j] = (j << 14) | (rng() & 0x3FFF);
  std::vector<std::pair<int32_t, int32_t>> pairs = {{1 << 15, 0}};
  for (int i = 0; i < 62; ++i) pairs.emplace_back(static_cast<int32_t>(rng()), static_cast<int32_t>(rng()));
  Bench b;
  b.reset();
  run_phases(b, phases, pairs);
}

TEST(Rope, SaturatesAtInt32Extremes) {
  // |(a, b)| up to 2^31 * sqrt(2): near 45 degrees a' or b' leaves int32.
  std::vector<uint32_t> phases;
  for (uint32_t q = 0; q < 8; ++q) phases.push_back((q << 29) + (1u << 28) * (q & 1));  // 0, 67.5, 90, 157.5 ... deg
  for (uint32_t q = 0; q < 4; ++q) phases.push_back((q << 30) + (1u << 29));            // 45 + 90 q degrees
  const std::vector<std::pair<int32_t, int32_t>> pairs = {
      {kMax, kMax}, {kMin, kMin}, {kMax, kMin}, {kMin, kMax}, {kMin, 0}, {0, kMin}, {kMax, 0}};
  Bench b(StallGenerator(0.3, 51), StallGenerator(0.3, 52));
  b.reset();
  run_phases(b, phases, pairs);
  // The corner case was reached: both saturation limits came out.
  const auto& beats = b.sink.beats();
  const auto count = [&](int32_t v) {
    return std::count_if(beats.begin(), beats.end(), [v](const OutBeat& o) { return o.a == v || o.b == v; });
  };
  EXPECT_GT(count(kMax), 0);
  EXPECT_GT(count(kMin), 0);
}

// ---------------------------------------------------------- step RAM ---
TEST(Rope, StepRamRewrittenBetweenVectorsWhileTheFirstIsInFlight) {
  // Vector 1 (one head of 16: 8 beats) is fully accepted but held in the
  // pipeline by the sink; the steps and head size of vector 2 (head 64) are
  // written under it.
  Bench b;
  b.reset();
  auto& rng = b.rng;
  b.configure(16);
  b.sink.pause(true);
  b.push_vector(random_vector(16, rng), 1234);
  ASSERT_TRUE(b.h.run_until([&] { return b.source.done(); }, 200, "vector 1 accepted"));
  ASSERT_EQ(b.sink.received(), 0u);
  b.configure(64);
  std::vector<uint32_t> odd(32);
  for (auto& s : odd) s = rng();
  b.load_steps(odd);  // arbitrary steps: the RAM holds whatever the host writes
  b.push_vector(random_vector(64 * 2, rng), 777);
  b.sink.pause(false);
  b.drain(2000);
}

TEST(Rope, StepWritesTakeEffectAtTheNextAcceptedBeat) {
  // Writes while a stream runs (random stalls): a beat accepted at the edge
  // of a write to its entry still reads the old step.
  Bench b(StallGenerator(0.3, 71), StallGenerator(0.3, 72));
  b.reset();
  b.configure(8);
  b.push_random(40, 4, 0);
  while (!b.source.done()) {
    if (b.writer.idle() && b.rng() % 3 == 0) b.writer.write(static_cast<int>(b.rng() % 4), b.rng());
    b.h.tick();
  }
  b.drain(2000);
}

// ------------------------------------------------------------- timing ---
TEST(Rope, FullThroughputAndLatencyWithoutStalls) {
  Bench b;
  b.reset();
  b.configure(64);
  const uint64_t start = b.h.cycle();
  b.push_random(5, 3);
  b.drain(2000);
  const size_t beats = b.pushed_;
  EXPECT_TRUE(tp::tb::has_full_rate(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  EXPECT_EQ(b.source.accept_cycles().front(), start);
  EXPECT_EQ(b.sink.beat_cycles().back() + 1 - start, beats + kLatency);
}

TEST(Rope, LatencyIsExactUnderRandomSourceStalls) {
  Bench b(StallGenerator(0.5, 91));
  b.reset();
  b.configure(16);
  b.push_random(20, 3);
  b.drain(5000);
  EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(Rope, SinkStallHoldsThePipelineAndReadyFollowsIt) {
  // A full pipeline with a stalled sink takes nothing more; ready returns in
  // the cycle the sink does (combinational), and the order is kept.
  Bench b;
  b.reset();
  b.configure(8);
  b.sink.pause(true);
  b.push_random(8, 1, 0);
  b.h.tick(kLatency + 5);
  EXPECT_EQ(b.source.accepted(), kLatency) << "pipeline holds Latency beats";
  EXPECT_TRUE(b.h->out_valid_o);
  EXPECT_FALSE(b.h->in_ready_o);
  b.h->out_ready_i = 1;
  b.h->eval();
  EXPECT_TRUE(b.h->in_ready_o);
  b.sink.pause(false);
  b.drain(500);
}

// -------------------------------------------------------------- reset ---
TEST(Rope, ResetMidVectorRestartsCleanly) {
  Bench b(StallGenerator(0.2, 101), StallGenerator(0.4, 102));
  b.reset();
  b.configure(128);
  b.push_vector(random_vector(128 * 2, b.rng), 99);
  // Stop inside the first head, with the pipeline full and the sink stalled.
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 20; }, 1000, "20 pairs before reset"));
  b.sink.pause(true);
  b.h.tick(kLatency + 4);
  ASSERT_TRUE(b.h->out_valid_o);
  b.reset(2);
  EXPECT_TRUE(b.h->in_ready_o);
  EXPECT_FALSE(b.h->out_valid_o);
  b.sink.pause(false);
  b.h.tick(3 * kLatency);
  EXPECT_EQ(b.scoreboard.checked(), 0u) << "stale pair after reset";
  // The next beat starts a new vector: new position, pair index 0. The step
  // RAM kept its contents through the reset.
  b.push_vector(random_vector(128 * 2, b.rng), 4000);
  b.push_vector(random_vector(128, b.rng), 5);
  b.drain(3000);
}

TEST(Rope, ControlOutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b({}, {}, options);
    b.reset(1);
    EXPECT_TRUE(b.h->in_ready_o);
    EXPECT_FALSE(b.h->out_valid_o);
    b.h.tick(2 * kLatency);
    EXPECT_EQ(b.sink.received(), 0u);
    b.rng.seed(options.random_init_seed);
    b.configure(16);
    b.push_random(4, 1);
    b.drain(1000);
    EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  });
}

}  // namespace
