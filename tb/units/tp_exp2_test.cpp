// Testbench of rtl/units/tp_exp2.sv (default Lanes = 1, InWidth = 32,
// UserWidth = 1). Golden model: tp::fx::exp2_neg(-u) (golden/int/exp2.cpp),
// compared on every beat together with the user sideband bit.
// Stated timing: latency 4, II 1, whole-pipeline stall on output backpressure.
#include "Vtp_exp2.h"
#include "common/harness.h"
#include "common/stall_matrix.h"
#include "common/stream_bench.h"
#include "common/timing.h"
#include "golden/int/exp2.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

namespace {

using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::StallGenerator;

constexpr unsigned kLatency = 4;
constexpr uint32_t kOne = 65536;                 // Q16.16 and Q0.16 unit
constexpr uint32_t kLastNonZero = 18 * kOne;     // exhaustive range [0, 18 * 2^16]

// Input beat: magnitude u = -d (32 bits) and the sideband bit.
struct In {
  uint32_t mag = 0;
  bool user = false;
};
// Output beat: the Q0.16 result (17 bits) with the sideband bit above it.
using Out = uint32_t;

Out golden(const In& in) {
  return tp::fx::exp2_neg(-static_cast<int64_t>(in.mag)) | (static_cast<uint32_t>(in.user) << 17);
}

void put_in(Vtp_exp2& dut, const In& beat) {
  dut.in_mag_i = beat.mag;
  dut.in_user_i = beat.user;
}

Out get_out(Vtp_exp2& dut) { return static_cast<Out>(dut.out_data_o) | (static_cast<Out>(dut.out_user_o) << 17); }

struct Exp2Bench : tp::tb::StreamBench<Vtp_exp2, In, Out> {
  explicit Exp2Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : StreamBench(put_in, get_out, golden, source_stall, sink_stall, options, "exp2") {}
};

// Magnitudes around every interesting boundary plus uniform ones: the whole
// 32-bit range, the non-zero range, integer steps and table segments.
std::vector<In> random_beats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<In> beats(n);
  for (auto& b : beats) {
    const uint64_t x = rng();
    switch (x % 4) {
      case 0: b.mag = static_cast<uint32_t>(x >> 8); break;                       // any 32-bit value
      case 1: b.mag = static_cast<uint32_t>((x >> 8) % (kLastNonZero + 2)); break;  // non-zero range
      case 2: b.mag = static_cast<uint32_t>(((x >> 8) % 40) * kOne + (x >> 40) % 5 - 2); break;  // n * 2^16 +- 2
      default: b.mag = static_cast<uint32_t>(((x >> 8) % 1300) * 1024 + (x >> 40) % 3 - 1); break;  // k segment edges
    }
    b.user = (x >> 63) != 0;
  }
  return beats;
}

// ------------------------------------------------------- exhaustive sweep ---
TEST(Exp2, ExhaustiveNonZeroRangeAndLargeMagnitudesAtFullThroughput) {
  // Every u in [0, 18 * 2^16] (1,179,649 beats), then wide magnitudes that
  // must clamp to 0, without stalls: one beat per cycle, latency exactly 4.
  Exp2Bench b;
  b.h.reset();
  std::vector<In> beats;
  for (uint32_t u = 0; u <= kLastNonZero; ++u) beats.push_back({u, (u & 1) != 0});
  std::mt19937_64 rng(7);
  for (uint64_t n = 18; n < 65536; n = n * 3 / 2 + 1) {
    for (uint32_t f : {0u, 1u, 1023u, 32768u, 65535u}) beats.push_back({static_cast<uint32_t>(n * kOne + f), false});
  }
  for (int i = 0; i < 2000; ++i) beats.push_back({static_cast<uint32_t>(rng()), (i & 1) != 0});
  beats.push_back({0xFFFFFFFFu, true});
  b.run(beats, beats.size() + 100);
  EXPECT_EQ(b.sink.received(), beats.size());
  EXPECT_TRUE(tp::tb::has_full_rate(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(Exp2, DirectedCornersIncludingClampOfWideMagnitudes) {
  // Values known without the golden model, so the golden and the clamp are
  // pinned too: n > 17 is 0 whatever the low 21 bits hold (a unit reading
  // only u[20:0] would return 2^0 = 65536 for u = 2^21).
  struct Case {
    uint32_t mag;
    uint32_t expected;
  };
  const std::vector<Case> cases = {
      {0, kOne},                       // 2^0
      {kOne, kOne / 2},                // 2^-1
      {16 * kOne, 1},                  // 2^-16
      {17 * kOne, 1},                  // 2^-17 = 0.5 LSB rounds up
      {17 * kOne + 1, 0},              // e = 65535: just below 0.5 LSB, rounds to 0
      {18 * kOne - 1, 0},              // below 2^-17.99: (e + 2^16) >> 17 = 0
      {18 * kOne, 0},                  // n = 18
      {31 * kOne, 0},                  // n = 31, largest 5-bit n
      {1u << 21, 0},                   // n = 32: low 21 bits all 0
      {(1u << 21) + 5, 0},             // n = 32, tiny fraction
      {(1u << 31) | kOne, 0},          // only the top bit above the 5-bit n
      {0xFFFFFFFFu, 0},                // largest magnitude
      {kOne / 2, 46341},               // 2^-0.5 = 0.70711 (E[32] = 46341)
  };
  Exp2Bench b;
  b.h.reset();
  std::vector<In> beats;
  for (const Case& c : cases) {
    EXPECT_EQ(tp::fx::exp2_neg(-static_cast<int64_t>(c.mag)), c.expected) << "golden at u = " << c.mag;
    beats.push_back({c.mag, false});
  }
  b.run(beats, 100);
}

// ---------------------------------------------- backpressure test matrix ---
class Exp2StallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(Exp2StallMatrix, EveryBeatMatchesGoldenInOrder) {
  const auto [source_p, sink_p] = GetParam();
  Exp2Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.h.reset();
  constexpr size_t kBeats = 20000;
  b.run(random_beats(kBeats, 1), 10 * kBeats);
  EXPECT_EQ(b.source.accepted(), kBeats);
  b.h.tick(10);  // nothing more may come out
  EXPECT_EQ(b.sink.received(), kBeats);
  EXPECT_EQ(b.scoreboard.checked(), kBeats);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, Exp2StallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// ------------------------------------------------------------- timing ---
TEST(Exp2, LatencyIsFourCyclesUnderRandomSourceStalls) {
  Exp2Bench b(StallGenerator(0.5, 5));
  b.h.reset();
  b.run(random_beats(2000, 3), 10000);
  EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(Exp2, SinkStallHoldsOutputAndStopsInput) {
  // Bare harness: fill the pipeline with the sink stalled; input ready drops
  // as soon as a beat waits at the output and returns with out_ready_i.
  Harness<Vtp_exp2> h;
  h.reset();
  h->out_ready_i = 0;
  h->in_valid_i = 1;
  for (uint32_t i = 0; i < kLatency; ++i) {
    EXPECT_TRUE(h->in_ready_o) << "cycle " << i;
    h->in_mag_i = i * kOne;
    h.tick();
  }
  EXPECT_TRUE(h->out_valid_o);
  EXPECT_EQ(h->out_data_o, kOne);  // 2^0 at the head
  h->in_mag_i = 9 * kOne;
  h->eval();
  EXPECT_FALSE(h->in_ready_o);
  h.tick(5);
  EXPECT_EQ(h->out_data_o, kOne) << "output changed while stalled";
  h->out_ready_i = 1;
  h->eval();
  EXPECT_TRUE(h->in_ready_o) << "in_ready_o = !out_valid_o || out_ready_i";
  h.tick();  // 2^0 leaves, u = 9 enters
  h->in_valid_i = 0;
  for (uint32_t expected : {kOne / 2, kOne / 4, kOne / 8, kOne / 512}) {
    ASSERT_TRUE(h->out_valid_o);
    EXPECT_EQ(h->out_data_o, expected);
    h.tick();
  }
  EXPECT_FALSE(h->out_valid_o);
}

// -------------------------------------------------------------- reset ---
TEST(Exp2, ResetMidStreamDropsInFlightBeatsAndRestartsCleanly) {
  Exp2Bench b(StallGenerator(0.3, 7), StallGenerator(0.5, 9));
  b.h.reset();
  b.source.push_all(random_beats(500, 4));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 50; }, 2000, "50 beats before reset"));
  b.sink.pause(true);  // the pipeline fills up
  b.h.tick(8);
  ASSERT_FALSE(b.h->in_ready_o) << "expected a full pipeline before the reset";
  b.h.reset(2);
  b.expect_clean_after_reset(20);
  b.run(random_beats(1000, 5), 10000);
}

TEST(Exp2, OutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Exp2Bench b({}, {}, options);
    b.h.reset(1);
    EXPECT_FALSE(b.h->out_valid_o);
    b.h.tick(kLatency + 2);
    EXPECT_FALSE(b.h->out_valid_o) << "beat out of an idle pipeline";
    b.run(random_beats(200, options.random_init_seed), 1000);
    EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  });
}

}  // namespace
