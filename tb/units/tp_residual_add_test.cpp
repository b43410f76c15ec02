// Testbench of rtl/units/tp_residual_add.sv (default Lanes = 4).
// Golden model: tp::fx::saturate_i32 of the exact sum on every lane, the
// arithmetic of add_residual in golden/int/int_model.cpp. Two input streams
// (x, y) joined into one output. Stated timing: latency 1, II 1.
#include "Vtp_residual_add.h"
#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"
#include "golden/int/fixed_point.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::Scoreboard;
using tp::tb::Sink;
using tp::tb::Source;
using tp::tb::StallGenerator;

constexpr size_t kLanes = 4;
constexpr unsigned kLatency = 1;
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

using Lanes = std::array<int32_t, kLanes>;

Lanes golden(const Lanes& x, const Lanes& y) {
  Lanes out{};
  for (size_t i = 0; i < kLanes; ++i) out[i] = tp::fx::saturate_i32(tp::fx::int128{x[i]} + y[i]);
  return out;
}

// The DUT with a source on each input, a sink on its output, and the golden
// sum of the x and y beats accepted together.
struct Bench {
  explicit Bench(StallGenerator x_stall = {}, StallGenerator y_stall = {}, StallGenerator sink_stall = {},
                 HarnessOptions options = {})
      : h(options),
        x(
            h,
            [this](bool valid, const Lanes& beat) {
              h->x_valid_i = valid;
              for (size_t i = 0; i < kLanes; ++i) h->x_data_i[i] = static_cast<uint32_t>(beat[i]);
            },
            [this] { return h->x_ready_o != 0; }, x_stall),
        y(
            h,
            [this](bool valid, const Lanes& beat) {
              h->y_valid_i = valid;
              for (size_t i = 0; i < kLanes; ++i) h->y_data_i[i] = static_cast<uint32_t>(beat[i]);
            },
            [this] { return h->y_ready_o != 0; }, y_stall),
        sink(
            h, [this](bool ready) { h->out_ready_i = ready; }, [this] { return h->out_valid_o != 0; },
            [this] {
              Lanes out{};
              for (size_t i = 0; i < kLanes; ++i) out[i] = static_cast<int32_t>(h->out_data_o[i]);
              return out;
            },
            sink_stall),
        scoreboard(h, "out") {
    // The join: the golden model sees the x and y beats in acceptance order
    // and pairs them; the RTL must accept both at the same edge.
    x.on_accept([this](const Lanes& beat, uint64_t cycle) {
      x_beats.push_back(beat);
      x_cycles.push_back(cycle);
      pair_up();
    });
    y.on_accept([this](const Lanes& beat, uint64_t cycle) {
      y_beats.push_back(beat);
      y_cycles.push_back(cycle);
      pair_up();
    });
    sink.on_beat([this](const Lanes& beat, uint64_t cycle) { scoreboard.observe(beat, cycle); });
  }

  void pair_up() {
    while (!x_beats.empty() && !y_beats.empty()) {
      scoreboard.expect(golden(x_beats.front(), y_beats.front()));
      x_beats.pop_front();
      y_beats.pop_front();
    }
  }

  // Pushes the pairs and runs until all sums came out and matched.
  void run(const std::vector<Lanes>& xs, const std::vector<Lanes>& ys, uint64_t max_cycles) {
    ASSERT_EQ(xs.size(), ys.size());
    const size_t target = scoreboard.checked() + xs.size();
    x.push_all(xs);
    y.push_all(ys);
    ASSERT_TRUE(h.run_until([&] { return scoreboard.checked() == target; }, max_cycles,
                            std::to_string(xs.size()) + " sums through tp_residual_add"));
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(scoreboard.pending(), 0u);
    EXPECT_EQ(x_cycles, y_cycles) << "x and y beats must be accepted at the same edges";
  }

  Harness<Vtp_residual_add> h;
  Source<Lanes> x, y;
  Sink<Lanes> sink;
  Scoreboard<Lanes> scoreboard;
  std::deque<Lanes> x_beats, y_beats;       // accepted, not yet paired
  std::vector<uint64_t> x_cycles, y_cycles;  // acceptance edges
};

// Random operands: full int32 range (about half the sums overflow),
// residual-sized values, and values near the limits.
std::vector<Lanes> random_lanes(size_t n, std::mt19937& rng) {
  std::vector<Lanes> beats(n);
  for (auto& b : beats) {
    for (auto& v : b) {
      switch (rng() % 3) {
        case 0: v = static_cast<int32_t>(rng()); break;
        case 1: v = static_cast<int32_t>(rng()) >> (rng() % 31); break;
        default: v = (rng() % 2 ? kMax : kMin) + static_cast<int32_t>(rng() % 64) * (rng() % 2 ? -1 : 1); break;
      }
    }
  }
  return beats;
}

// ---------------------------------------------- backpressure test matrix ---
// {no stall, random stall} at x, at y and at the sink, independently.
class ResidualAddStallMatrix : public ::testing::TestWithParam<std::tuple<double, double, double>> {};

TEST_P(ResidualAddStallMatrix, MatchesGoldenOnEveryBeat) {
  const auto [x_p, y_p, sink_p] = GetParam();
  Bench b(StallGenerator(x_p, 11), StallGenerator(y_p, 17), StallGenerator(sink_p, 23));
  b.h.reset();
  std::mt19937 rng(1);
  constexpr size_t kBeats = 5000;
  const auto xs = random_lanes(kBeats, rng);
  const auto ys = random_lanes(kBeats, rng);
  b.run(xs, ys, 30 * kBeats);
  b.h.tick(10);  // nothing more may come out
  EXPECT_EQ(b.sink.received(), kBeats);
}

INSTANTIATE_TEST_SUITE_P(XYSink, ResidualAddStallMatrix, tp::tb::stall_matrix<3>(),
                         tp::tb::stall_matrix_names("X", "Y", "Sink"));

// ------------------------------------------------------------ arithmetic ---
TEST(ResidualAdd, SaturationCorners) {
  // Every pair from a list of corner values: INT32_MAX + 1, INT32_MIN + -1,
  // exact hits of both limits, mixed signs that cannot overflow, zero.
  const std::vector<int32_t> corners = {kMin, kMin + 1, kMin / 2, -(1 << 16), -1, 0, 1, 1 << 16, kMax / 2 + 1, kMax - 1,
                                        kMax};
  std::vector<Lanes> xs, ys;
  Lanes x{}, y{};
  size_t lane = 0;
  for (int32_t a : corners) {
    for (int32_t c : corners) {
      x[lane] = a;
      y[lane] = c;
      if (++lane == kLanes) {
        xs.push_back(x);
        ys.push_back(y);
        lane = 0;
      }
    }
  }
  if (lane != 0) {
    xs.push_back(x);
    ys.push_back(y);
  }
  Bench b(StallGenerator(0.3, 2), StallGenerator(0.3, 3), StallGenerator(0.3, 4));
  b.h.reset();
  b.run(xs, ys, 1000);
  // Named cases, lane by lane.
  const auto sum = [&](int32_t a, int32_t c) {
    b.run({Lanes{a, c, a, c}}, {Lanes{c, a, c, a}}, 100);
    return b.sink.beats().back()[0];
  };
  EXPECT_EQ(sum(kMax, 1), kMax);                // INT32_MAX + 1
  EXPECT_EQ(sum(kMin, -1), kMin);               // INT32_MIN + -1
  EXPECT_EQ(sum(kMax, kMax), kMax);
  EXPECT_EQ(sum(kMin, kMin), kMin);
  EXPECT_EQ(sum(kMax, kMin), -1);               // mixed signs never overflow
  EXPECT_EQ(sum(kMax - 5, 5), kMax);            // exactly the limit
  EXPECT_EQ(sum(kMin + 5, -5), kMin);
  EXPECT_EQ(sum(-(3 << 16), 1 << 16), -(2 << 16));
}

// ------------------------------------------------------------- timing ---
TEST(ResidualAdd, FullThroughputAndLatencyWithoutStalls) {
  Bench b;
  b.h.reset();
  std::mt19937 rng(2);
  constexpr size_t kBeats = 64;
  const uint64_t start = b.h.cycle();
  b.run(random_lanes(kBeats, rng), random_lanes(kBeats, rng), 4 * kBeats);
  EXPECT_TRUE(tp::tb::has_full_rate(b.x.accept_cycles(), b.sink.beat_cycles(), kLatency));
  EXPECT_EQ(b.x.accept_cycles().front(), start);
  EXPECT_EQ(b.sink.beat_cycles().back() + 1 - start, kBeats + kLatency);
}

TEST(ResidualAdd, LatencyIsOneCycleUnderRandomInputStalls) {
  // The sink always ready: a pair leaves exactly one cycle after it was
  // accepted, whatever the gaps on either input.
  Bench b(StallGenerator(0.5, 5), StallGenerator(0.3, 6));
  b.h.reset();
  std::mt19937 rng(3);
  b.run(random_lanes(500, rng), random_lanes(500, rng), 5000);
  EXPECT_TRUE(tp::tb::has_latency(b.x.accept_cycles(), b.sink.beat_cycles(), kLatency));
  EXPECT_TRUE(tp::tb::has_latency(b.y.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(ResidualAdd, JoinWaitsForBothInputsAndTheOutput) {
  // Ports driven by hand: each ready follows the other input's valid and the
  // output's state combinationally, never its own valid.
  Harness<Vtp_residual_add> h;
  h.reset();
  h->out_ready_i = 0;
  h->x_valid_i = 1;
  h->y_valid_i = 0;
  h->x_data_i[0] = 5;
  h->eval();
  EXPECT_FALSE(h->x_ready_o) << "x alone must wait for y";
  EXPECT_TRUE(h->y_ready_o) << "y_ready_o = x_valid_i while the output is free";
  h.tick(3);
  EXPECT_FALSE(h->out_valid_o) << "no beat without y";
  h->y_valid_i = 1;
  h->y_data_i[0] = 7;
  h->eval();
  EXPECT_TRUE(h->x_ready_o);
  EXPECT_TRUE(h->y_ready_o);
  h.tick();  // the pair moves; the sink is stalled
  EXPECT_TRUE(h->out_valid_o);
  EXPECT_EQ(h->out_data_o[0], 12u);
  h->y_data_i[0] = 8;
  h->eval();
  EXPECT_FALSE(h->x_ready_o) << "output full and not read";
  EXPECT_FALSE(h->y_ready_o);
  h.tick(2);
  EXPECT_EQ(h->out_data_o[0], 12u);
  h->out_ready_i = 1;
  h->eval();
  EXPECT_TRUE(h->x_ready_o) << "ready follows out_ready_i when the output register is full";
  EXPECT_TRUE(h->y_ready_o);
  h.tick();  // 12 leaves, 5 + 8 enters
  EXPECT_TRUE(h->out_valid_o);
  EXPECT_EQ(h->out_data_o[0], 13u);
  h->x_valid_i = 0;
  h->eval();
  EXPECT_FALSE(h->y_ready_o) << "y alone must wait for x";
  h.tick();  // 13 leaves
  EXPECT_FALSE(h->out_valid_o);
}

// -------------------------------------------------------------- reset ---
TEST(ResidualAdd, ResetMidStreamDropsInFlightBeatsAndRestartsCleanly) {
  Bench b(StallGenerator(0.3, 7), StallGenerator(0.2, 8), StallGenerator(0.5, 9));
  b.h.reset();
  std::mt19937 rng(4);
  b.x.push_all(random_lanes(100, rng));
  b.y.push_all(random_lanes(100, rng));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 20; }, 1000, "20 sums before reset"));
  b.sink.pause(true);  // the output register fills up
  b.h.tick(4);
  ASSERT_TRUE(b.h->out_valid_o) << "expected a full output register before the reset";
  b.h.reset(2);
  EXPECT_FALSE(b.h->out_valid_o);
  b.x_beats.clear();
  b.y_beats.clear();
  b.x_cycles.clear();
  b.y_cycles.clear();
  b.sink.pause(false);
  b.h.tick(20);
  EXPECT_EQ(b.scoreboard.checked(), 0u) << "stale beat after reset";
  b.run(random_lanes(300, rng), random_lanes(300, rng), 3000);
}

TEST(ResidualAdd, ControlOutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b({}, {}, {}, options);
    b.h.reset(1);
    EXPECT_FALSE(b.h->out_valid_o);
    EXPECT_FALSE(b.h->x_ready_o);  // no y beat offered
    EXPECT_FALSE(b.h->y_ready_o);
    b.h.tick(5);
    EXPECT_EQ(b.sink.received(), 0u);
    std::mt19937 rng(options.random_init_seed);
    b.run(random_lanes(50, rng), random_lanes(50, rng), 500);
    EXPECT_TRUE(tp::tb::has_latency(b.x.accept_cycles(), b.sink.beat_cycles(), kLatency));
  });
}

}  // namespace
