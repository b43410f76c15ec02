// Testbench of rtl/units/tp_silu.sv (default Lanes = 4).
// Golden model: tp::fx::silu_gate (golden/int/silu.h) on every lane. Stated
// timing: latency 9, II 1; in_ready_o = ~out_valid_o | out_ready_i.
#include "Vtp_silu.h"
#include "common/harness.h"
#include "common/stall_matrix.h"
#include "common/stream_bench.h"
#include "common/timing.h"
#include "golden/int/silu.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

namespace {

using tp::tb::HarnessOptions;
using tp::tb::StallGenerator;

constexpr size_t kLanes = 4;
constexpr unsigned kLatency = 9;
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
constexpr int32_t kOne = 1 << 16;  // 1.0 in Q16.16

using Lanes = std::array<int32_t, kLanes>;
struct Pairs {
  Lanes h1{};
  Lanes h3{};
  bool operator==(const Pairs&) const = default;
};

Lanes golden(const Pairs& in) {
  Lanes out{};
  for (size_t i = 0; i < kLanes; ++i) out[i] = tp::fx::silu_gate(in.h1[i], in.h3[i]);
  return out;
}

void put_pairs(Vtp_silu& dut, const Pairs& beat) {
  for (size_t i = 0; i < kLanes; ++i) {
    dut.in_h1_i[i] = static_cast<uint32_t>(beat.h1[i]);
    dut.in_h3_i[i] = static_cast<uint32_t>(beat.h3[i]);
  }
}

Lanes get_lanes(Vtp_silu& dut) {
  Lanes out{};
  for (size_t i = 0; i < kLanes; ++i) out[i] = static_cast<int32_t>(dut.out_data_o[i]);
  return out;
}

// The DUT between one source of (h1, h3) pairs and one sink, checked against
// the golden model beat by beat.
struct Bench : tp::tb::StreamBench<Vtp_silu, Pairs, Lanes> {
  explicit Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : StreamBench(put_pairs, get_lanes, golden, source_stall, sink_stall, options) {}
};

// Packs a list of (h1, h3) pairs into beats of kLanes (the last one padded).
std::vector<Pairs> pack(const std::vector<std::pair<int32_t, int32_t>>& pairs) {
  std::vector<Pairs> beats((pairs.size() + kLanes - 1) / kLanes);
  for (size_t j = 0; j < pairs.size(); ++j) {
    beats[j / kLanes].h1[j % kLanes] = pairs[j].first;
    beats[j / kLanes].h3[j % kLanes] = pairs[j].second;
  }
  return beats;
}

// Random pairs from a mix of distributions: full int32 range, h1 within and
// around the sigmoid's +-8 window, h3 of moderate size (the real operating
// point: no output saturation) and full range.
std::vector<Pairs> random_beats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const auto h1_of = [&] {
    switch (rng() % 4) {
      case 0: return static_cast<int32_t>(rng());
      case 1: return static_cast<int32_t>(rng() % (20u << 16)) - (10 << 16);  // [-10, 10)
      case 2: return static_cast<int32_t>(rng() % (2u << 16)) - (1 << 16);    // [-1, 1)
      default: return static_cast<int32_t>(rng()) >> (rng() % 31);            // any magnitude
    }
  };
  const auto h3_of = [&] {
    switch (rng() % 3) {
      case 0: return static_cast<int32_t>(rng());
      case 1: return static_cast<int32_t>(rng() % (64u << 16)) - (32 << 16);  // [-32, 32)
      default: return static_cast<int32_t>(rng()) >> (rng() % 31);
    }
  };
  std::vector<Pairs> beats(n);
  for (auto& b : beats) {
    for (size_t i = 0; i < kLanes; ++i) {
      b.h1[i] = h1_of();
      b.h3[i] = h3_of();
    }
  }
  return beats;
}

// ---------------------------------------------- backpressure test matrix ---
class SiluStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(SiluStallMatrix, MatchesGoldenOnEveryBeat) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.h.reset();
  constexpr size_t kBeats = 20000;
  b.run(random_beats(kBeats, 1), 20 * kBeats);
  EXPECT_EQ(b.source.accepted(), kBeats);
  b.h.tick(2 * kLatency);  // nothing more may come out
  EXPECT_EQ(b.sink.received(), kBeats);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, SiluStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// ------------------------------------------------------------ arithmetic ---
TEST(Silu, ExhaustiveOverTheSigmoidWindow) {
  // Every h1 whose t = round_shift(h1, -4) lies in [-32768, 32767], i.e.
  // every h1 in [-524296, 524279] (2^20 values: every table segment, every
  // interpolation position, both signs, every rounding of h1 to t), with
  // h3 = 1.0 so the output is silu(h1) itself; then every t once more with
  // h1 = 16 t + d, d random in [-8, 7], and a random h3.
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t h1 = -524296; h1 <= 524279; ++h1) pairs.emplace_back(h1, kOne);
  std::mt19937 rng(5);
  for (int32_t t = -32768; t <= 32767; ++t) {
    const int32_t h1 = t * 16 + static_cast<int32_t>(rng() % 16) - 8;
    const int32_t h3 = (rng() % 2) ? static_cast<int32_t>(rng()) : static_cast<int32_t>(rng() % (64u << 16)) - (32 << 16);
    pairs.emplace_back(h1, h3);
  }
  Bench b({}, StallGenerator(0.1, 3));
  b.h.reset();
  const auto beats = pack(pairs);
  b.run(beats, 2 * beats.size());
}

TEST(Silu, SaturationRegionsAndExtremes) {
  // The edges of the sigmoid window (t = 32767 | 32768 and -32768 | -32769,
  // and the rounding of h1 to t right at them), |h1| >= 8.0, INT32 extremes,
  // and every combination with extreme h3 (output saturation both ways).
  const std::vector<int32_t> h1s = {kMin,    kMin + 1, -(1 << 30), -(9 << 16), -(8 << 16) - 9, -(8 << 16) - 8,
                                    -524297, -524296,  -(8 << 16), -(1 << 16), -9,             -8,
                                    -1,      0,        1,          7,          8,              1 << 16,
                                    524279,  524280,   8 << 16,    9 << 16,    1 << 30,        kMax - 7,
                                    kMax};
  const std::vector<int32_t> h3s = {kMin, kMin + 1, -(1 << 17), -kOne, -1, 0, 1, kOne, (1 << 17) - 1, 1 << 17, kMax - 1,
                                    kMax};
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t h1 : h1s)
    for (int32_t h3 : h3s) pairs.emplace_back(h1, h3);
  // Right at the output saturation: silu = h1 (h1 >= 8), h3 around the
  // values where round_shift(h1 * h3, -16) crosses INT32_MAX / INT32_MIN.
  std::mt19937 rng(9);
  for (int n = 0; n < 400; ++n) {
    const int32_t h1 = (8 << 16) + static_cast<int32_t>(rng() % static_cast<uint32_t>(kMax - (8 << 16)));
    const int64_t edge = ((int64_t{1} << 47) - (int64_t{1} << 15)) / h1;
    for (int64_t d = -1; d <= 1; ++d) {
      const int64_t h3 = edge + d;
      if (h3 <= kMax) {
        pairs.emplace_back(h1, static_cast<int32_t>(h3));
        pairs.emplace_back(h1, static_cast<int32_t>(-h3));
        pairs.emplace_back(h1, static_cast<int32_t>(-h3 - 1));
      }
    }
  }
  // Random h1 deep in both saturation regions.
  for (int n = 0; n < 2000; ++n) {
    const int32_t magnitude = (8 << 16) + static_cast<int32_t>(rng() % static_cast<uint32_t>(kMax - (8 << 16)));
    pairs.emplace_back((n % 2) ? magnitude : -magnitude - 9, static_cast<int32_t>(rng()) >> (rng() % 31));
  }
  Bench b(StallGenerator(0.2, 4), StallGenerator(0.2, 8));
  b.h.reset();
  const auto beats = pack(pairs);
  b.run(beats, 10 * beats.size());
  // The corner list must really reach both output saturations.
  size_t saturated_hi = 0, saturated_lo = 0;
  for (const auto& beat : b.sink.beats())
    for (int32_t v : beat) {
      saturated_hi += v == kMax;
      saturated_lo += v == kMin;
    }
  EXPECT_GT(saturated_hi, 100u);
  EXPECT_GT(saturated_lo, 100u);
}

TEST(Silu, RandomPairs) {
  // 400k random pairs (mixed distributions) through the partial products.
  Bench b;
  b.h.reset();
  constexpr size_t kBeats = 100000;
  b.run(random_beats(kBeats, 12), 2 * kBeats);
}

// ------------------------------------------------------------- timing ---
TEST(Silu, FullThroughputAndLatencyWithoutStalls) {
  Bench b;
  b.h.reset();
  constexpr size_t kBeats = 64;
  const uint64_t start = b.h.cycle();
  b.run(random_beats(kBeats, 2), 4 * kBeats);
  // II = 1 at both ports, latency exactly 9: N beats take N + 9 cycles.
  EXPECT_TRUE(tp::tb::has_full_rate(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  EXPECT_EQ(b.source.accept_cycles().front(), start);
  EXPECT_EQ(b.sink.beat_cycles().back() + 1 - start, kBeats + kLatency);
}

TEST(Silu, LatencyIsNineCyclesUnderRandomSourceStalls) {
  // With the sink always ready every beat leaves exactly 9 cycles after it
  // entered, whatever the gaps between input beats.
  Bench b(StallGenerator(0.5, 5));
  b.h.reset();
  b.run(random_beats(500, 3), 5000);
  EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(Silu, StalledSinkHoldsNineBeatsAndReadyFollowsIt) {
  // A stalled sink freezes the pipeline once its last stage is full: exactly
  // 9 beats are taken, in_ready_o = out_ready_i while full, and the beats
  // come out in order and correct when the sink resumes.
  Bench b;
  b.h.reset();
  b.sink.pause(true);
  const auto beats = random_beats(30, 6);
  b.source.push_all(beats);
  b.h.tick(40);
  EXPECT_EQ(b.source.accepted(), kLatency);
  EXPECT_TRUE(b.h->out_valid_o);
  EXPECT_FALSE(b.h->in_ready_o);
  b.h->out_ready_i = 1;
  b.h->eval();
  EXPECT_TRUE(b.h->in_ready_o) << "in_ready_o follows out_ready_i when the pipeline is full";
  b.sink.pause(false);
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() == beats.size(); }, 200, "30 beats"));
  EXPECT_EQ(b.scoreboard.mismatched(), 0u);
  // The first 9 beats were held; the rest stream at II = 1 behind them.
  EXPECT_TRUE(tp::tb::has_interval(b.sink.beat_cycles(), 1));
}

// -------------------------------------------------------------- reset ---
TEST(Silu, ResetMidStreamDropsInFlightBeatsAndRestartsCleanly) {
  Bench b(StallGenerator(0.3, 7), StallGenerator(0.5, 9));
  b.h.reset();
  b.source.push_all(random_beats(200, 10));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 20; }, 1000, "20 beats before reset"));
  b.sink.pause(true);  // the pipeline fills up
  b.h.tick(12);
  ASSERT_FALSE(b.h->in_ready_o) << "expected a full pipeline before the reset";
  b.h.reset(2);
  b.expect_clean_after_reset(30);
  b.run(random_beats(300, 11), 3000);
}

TEST(Silu, ControlOutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b({}, {}, options);
    b.h.reset(1);
    EXPECT_TRUE(b.h->in_ready_o);
    EXPECT_FALSE(b.h->out_valid_o);
    b.h.tick(2 * kLatency);  // nothing comes out of a pipeline of random garbage
    EXPECT_EQ(b.sink.received(), 0u);
    b.run(random_beats(50, options.random_init_seed), 500);
    EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  });
}

}  // namespace
