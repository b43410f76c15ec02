// Testbench of rtl/units/tp_cordic_sqrt.sv (default UserWidth = 1). Golden
// model: tp::fx::cordic_sqrt(v) (golden/int/cordic.h), compared on every beat
// together with the user sideband bit.
// Stated timing: latency 24, II 1, whole-pipeline stall on output backpressure.
#include "Vtp_cordic_sqrt.h"
#include "common/harness.h"
#include "common/stall_matrix.h"
#include "common/stream_bench.h"
#include "common/timing.h"
#include "golden/int/cordic.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::StallGenerator;

constexpr unsigned kLatency = 24;
constexpr uint64_t kAllOnes = ~uint64_t{0};

// Input beat: v (64 bits) and the sideband bit.
struct In {
  uint64_t v = 0;
  bool user = false;
};
// Output beat: the root (32 bits) with the sideband bit above it.
using Out = uint64_t;

Out golden(const In& in) { return tp::fx::cordic_sqrt(in.v) | (static_cast<uint64_t>(in.user) << 32); }

void put_in(Vtp_cordic_sqrt& dut, const In& beat) {
  dut.in_data_i = beat.v;
  dut.in_user_i = beat.user;
}

Out get_out(Vtp_cordic_sqrt& dut) {
  return static_cast<Out>(dut.out_data_o) | (static_cast<Out>(dut.out_user_o) << 32);
}

struct CordicBench : tp::tb::StreamBench<Vtp_cordic_sqrt, In, Out> {
  explicit CordicBench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : StreamBench(put_in, get_out, golden, source_stall, sink_stall, options, "sqrt") {}
};

// Every bit length of v, uniform mantissas, perfect squares and their
// neighbours (where the result flips between floor and ceil), and the top
// of the range (saturation).
std::vector<In> random_beats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<In> beats(n);
  for (auto& b : beats) {
    const uint64_t x = rng();
    const unsigned bits = static_cast<unsigned>(x % 65);  // bit length 0..64
    const uint64_t mantissa = rng();
    switch ((x >> 8) % 4) {
      case 0:
      case 1: b.v = bits == 0 ? 0 : (mantissa >> (64 - bits)) | (uint64_t{1} << (bits - 1)); break;
      case 2: {
        const uint64_t s = mantissa >> (32 + bits % 32);  // a root of up to 32 bits
        b.v = s * s + (x >> 62) - 1;                      // s^2 - 1 .. s^2 + 2
        break;
      }
      default: b.v = kAllOnes - (mantissa >> (bits % 40 + 24)); break;  // near 2^64
    }
    b.user = (x >> 61) & 1;
  }
  return beats;
}

// ------------------------------------------------------- exhaustive sweep ---
TEST(CordicSqrt, ExhaustiveSmallRangeAndEveryExponentAtFullThroughput) {
  // Every v < 2^20 (roots 0..1024: j = 0..9, no bit dropped by the window),
  // then for every bit length 1..64 its ends and 2000 random mantissas: one
  // beat per cycle, latency exactly 24.
  std::vector<In> beats;
  for (uint64_t v = 0; v < (uint64_t{1} << 20); ++v) beats.push_back({v, (v & 1) != 0});
  std::mt19937_64 rng(7);
  for (int e = 0; e < 64; ++e) {
    const uint64_t low = uint64_t{1} << e;
    beats.push_back({low, false});
    beats.push_back({low | (low - 1), true});
    for (int i = 0; i < 2000; ++i) beats.push_back({low | (rng() & (low - 1)), (i & 1) != 0});
  }
  CordicBench b;
  b.h.reset();
  b.run(beats, beats.size() + 100);
  EXPECT_EQ(b.sink.received(), beats.size());
  EXPECT_TRUE(tp::tb::has_interval(b.source.accept_cycles(), 1));
  EXPECT_TRUE(tp::tb::has_interval(b.sink.beat_cycles(), 1));
  EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(CordicSqrt, DirectedCornersIncludingSaturation) {
  // Values known without the golden model (the nearest integer to sqrt(v),
  // or the floor where the nearest is 2^32), so the golden is pinned too.
  struct Case {
    uint64_t v;
    uint32_t expected;
  };
  const std::vector<Case> cases = {
      {0, 0},
      {1, 1},
      {2, 1},                                      // 1.414
      {3, 2},                                      // 1.732
      {4, 2},
      {uint64_t{1} << 32, 1u << 16},               // Q32 1.0 -> Q16 1.0
      {uint64_t{1} << 62, 1u << 31},
      {uint64_t{1} << 63, 3037000500u},            // 3037000499.976
      {0xFFFFFFFE00000001u, 0xFFFFFFFFu},          // (2^32 - 1)^2
      {0xFFFFFFFF00000000u, 0xFFFFFFFFu},          // 4294967295.49999999994
      {kAllOnes, 0xFFFFFFFFu},                     // 2^32 - 2^-33: saturates to the floor
      {uint64_t{1234567} * 1234567, 1234567u},     // a square with a 21-bit root
  };
  std::vector<In> beats;
  for (const Case& c : cases) {
    EXPECT_EQ(tp::fx::cordic_sqrt(c.v), c.expected) << "golden at v = " << c.v;
    beats.push_back({c.v, false});
  }
  CordicBench b;
  b.h.reset();
  b.run(beats, 200);
}

// ---------------------------------------------- backpressure test matrix ---
class CordicSqrtStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(CordicSqrtStallMatrix, EveryBeatMatchesGoldenInOrder) {
  const auto [source_p, sink_p] = GetParam();
  CordicBench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.h.reset();
  constexpr size_t kBeats = 50000;
  b.run(random_beats(kBeats, 1), 10 * kBeats);
  EXPECT_EQ(b.source.accepted(), kBeats);
  b.h.tick(kLatency + 5);  // nothing more may come out
  EXPECT_EQ(b.sink.received(), kBeats);
  EXPECT_EQ(b.scoreboard.checked(), kBeats);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, CordicSqrtStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// ------------------------------------------------------------- timing ---
TEST(CordicSqrt, LatencyIs24CyclesUnderRandomSourceStalls) {
  CordicBench b(StallGenerator(0.5, 5));
  b.h.reset();
  b.run(random_beats(2000, 3), 10000);
  EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(CordicSqrt, SinkStallHoldsOutputAndStopsInput) {
  // Bare harness: fill the pipeline with the sink stalled; input ready drops
  // as soon as a beat waits at the output and returns with out_ready_i.
  // Beat i is v = 4^i (root 2^i).
  Harness<Vtp_cordic_sqrt> h;
  h.reset();
  h->out_ready_i = 0;
  h->in_valid_i = 1;
  for (uint32_t i = 0; i < kLatency; ++i) {
    EXPECT_TRUE(h->in_ready_o) << "cycle " << i;
    h->in_data_i = uint64_t{1} << (2 * i);
    h.tick();
  }
  EXPECT_TRUE(h->out_valid_o);
  EXPECT_EQ(h->out_data_o, 1u);  // sqrt(1) at the head
  h->in_data_i = uint64_t{1} << 60;
  h->eval();
  EXPECT_FALSE(h->in_ready_o);
  h.tick(5);
  EXPECT_EQ(h->out_data_o, 1u) << "output changed while stalled";
  h->out_ready_i = 1;
  h->eval();
  EXPECT_TRUE(h->in_ready_o) << "in_ready_o = !out_valid_o || out_ready_i";
  h.tick();  // sqrt(1) leaves, v = 2^60 enters
  h->in_valid_i = 0;
  for (uint32_t i = 1; i <= kLatency; ++i) {
    ASSERT_TRUE(h->out_valid_o);
    EXPECT_EQ(h->out_data_o, i < kLatency ? 1u << i : 1u << 30) << "beat " << i;
    h.tick();
  }
  EXPECT_FALSE(h->out_valid_o);
}

// -------------------------------------------------------------- reset ---
TEST(CordicSqrt, ResetMidStreamDropsInFlightBeatsAndRestartsCleanly) {
  CordicBench b(StallGenerator(0.3, 7), StallGenerator(0.5, 9));
  b.h.reset();
  b.source.push_all(random_beats(500, 4));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 50; }, 2000, "50 beats before reset"));
  b.sink.pause(true);  // the pipeline fills up
  b.h.tick(2 * kLatency);
  ASSERT_FALSE(b.h->in_ready_o) << "expected a full pipeline before the reset";
  b.h.reset(2);
  b.expect_clean_after_reset(2 * kLatency);
  b.run(random_beats(1000, 5), 10000);
}

TEST(CordicSqrt, OutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    CordicBench b({}, {}, options);
    b.h.reset(1);
    EXPECT_FALSE(b.h->out_valid_o);
    b.h.tick(kLatency + 2);
    EXPECT_FALSE(b.h->out_valid_o) << "beat out of an idle pipeline";
    b.run(random_beats(200, options.random_init_seed), 1000);
    EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  });
}

}  // namespace
