// Testbench of rtl/units/tp_rsqrt.sv. Golden model: tp::fx::rsqrt
// (golden/int/rmsnorm.h); ms = 0, where the golden model throws, must give
// out_error_o with the zero scale. Stated timing: latency 15, II 1.
#include "Vtp_rsqrt.h"
#include "common/harness.h"
#include "common/stall_matrix.h"
#include "common/stream_bench.h"
#include "common/timing.h"
#include "golden/int/rmsnorm.h"
#include "golden/int/tables.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

namespace {

using tp::tb::HarnessOptions;
using tp::tb::StallGenerator;

constexpr unsigned kLatency = 15;

struct Result {
  uint16_t mantissa = 0;
  int16_t exponent = 0;
  bool error = false;
  friend bool operator==(const Result&, const Result&) = default;
  friend std::ostream& operator<<(std::ostream& out, const Result& r) {
    return out << r.mantissa << "*2^" << r.exponent << (r.error ? " (error)" : "");
  }
};

Result golden(const uint64_t& ms) {
  if (ms == 0) return {0, 0, true};
  const tp::fx::ScaleFp s = tp::fx::rsqrt(ms);
  return {s.mantissa, s.exponent, false};
}

Result read_result(Vtp_rsqrt& dut) {
  return {static_cast<uint16_t>(dut.out_mantissa_o), static_cast<int16_t>(dut.out_exponent_o), dut.out_error_o != 0};
}

struct Bench : tp::tb::StreamBench<Vtp_rsqrt, uint64_t, Result> {
  explicit Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : StreamBench([](Vtp_rsqrt& dut, const uint64_t& ms) { dut.in_ms_i = ms; }, read_result, golden,
                    source_stall, sink_stall, options, "rsqrt") {}
};

// ms with its most significant bit at `top` (0..63) and random bits below.
uint64_t random_with_msb(std::mt19937_64& rng, int top) {
  const uint64_t high = uint64_t{1} << top;
  return high | (rng() & (high - 1));
}

std::vector<uint64_t> random_inputs(size_t n, uint64_t seed, bool with_zero) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> v;
  for (size_t i = 0; i < n; ++i) {
    v.push_back(with_zero && i % 97 == 5 ? 0 : random_with_msb(rng, static_cast<int>(rng() % 64)));
  }
  return v;
}

// ---------------------------------------------------------- exhaustive ---
TEST(Rsqrt, ExhaustiveSmallInputsCoverEveryNormalisedF) {
  // ms in [1, 2^16]: every f in [2^14, 2^16) appears (as ms itself, sh = 0),
  // and the Newton arithmetic depends on f only, so this covers every seed,
  // every intermediate value and every result mantissa the unit can produce.
  Bench b;
  b.h.reset();
  std::vector<uint64_t> inputs;
  for (uint64_t ms = 1; ms <= (uint64_t{1} << 16); ++ms) inputs.push_back(ms);
  b.run(inputs, inputs.size() + 100);
}

TEST(Rsqrt, EveryExponentWithRandomMantissas) {
  // 64 random mantissas for each position of the leading one (0..63), plus the
  // extremes of each binade: 2^k, 2^(k+1) - 1.
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(42);
  std::vector<uint64_t> inputs;
  for (int top = 0; top < 64; ++top) {
    const uint64_t high = uint64_t{1} << top;
    inputs.push_back(high);
    inputs.push_back(high | (high - 1));
    for (int i = 0; i < 64; ++i) inputs.push_back(random_with_msb(rng, top));
  }
  inputs.push_back(~uint64_t{0});
  inputs.push_back(tp::fx::kRmsEpsQ32);
  b.run(inputs, inputs.size() + 100);
}

TEST(Rsqrt, ZeroGivesErrorFlagAndZeroScaleBetweenValidInputs) {
  Bench b;
  b.h.reset();
  b.run({5, 0, 1, 0, 0, ~uint64_t{0}, 0}, 200);
  const auto& beats = b.sink.beats();
  ASSERT_EQ(beats.size(), 7u);
  EXPECT_TRUE(beats[1].error);
  EXPECT_EQ(beats[1].mantissa, 0u);
  EXPECT_EQ(beats[1].exponent, 0);
  EXPECT_FALSE(beats[2].error);
  EXPECT_EQ(beats[2], (Result{2047, 5, false}));  // rsqrt(2^-32) = 2^16, truncated
}

// ---------------------------------------------- backpressure test matrix ---
class RsqrtStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(RsqrtStallMatrix, EveryResultInOrderAndExact) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.h.reset();
  constexpr size_t kBeats = 3000;
  b.run(random_inputs(kBeats, 7, true), 20 * kBeats);
  b.h.tick(30);  // nothing more may come out
  EXPECT_EQ(b.sink.received(), kBeats);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, RsqrtStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// -------------------------------------------------------------- timing ---
TEST(Rsqrt, LatencyFifteenAndFullThroughputWithoutStalls) {
  Bench b;
  b.h.reset();
  constexpr size_t kBeats = 200;
  const uint64_t start = b.h.cycle();
  b.run(random_inputs(kBeats, 3, false), 4 * kBeats);
  EXPECT_TRUE(tp::tb::has_full_rate(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  EXPECT_EQ(b.source.accept_cycles().front(), start);
  EXPECT_EQ(b.sink.beat_cycles().back() + 1 - start, kBeats + kLatency);
}

TEST(Rsqrt, LatencyFifteenUnderRandomSourceStalls) {
  Bench b(StallGenerator(0.6, 5));
  b.h.reset();
  b.run(random_inputs(500, 4, true), 5000);
  EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(Rsqrt, SinkStallHoldsThePipeline) {
  // A stalled sink freezes every stage: in_ready_o falls with the output
  // register full, and the beats resume in order afterwards.
  Bench b;
  b.h.reset();
  b.expect_sink_stall_holds(random_inputs(40, 8, false), kLatency);
}

// --------------------------------------------------------------- reset ---
TEST(Rsqrt, ResetMidStreamDropsInFlightBeatsAndRestartsCleanly) {
  Bench b(StallGenerator(0.3, 7), StallGenerator(0.5, 9));
  b.h.reset();
  b.source.push_all(random_inputs(200, 9, true));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 20; }, 2000, "20 results before reset"));
  b.h.reset(2);
  b.expect_clean_after_reset(40);
  b.run(random_inputs(300, 10, true), 3000);
}

TEST(Rsqrt, OutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b({}, {}, options);
    b.h.reset(1);
    EXPECT_FALSE(b.h->out_valid_o);
    b.run(random_inputs(50, options.random_init_seed, true), 500);
    EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  });
}

}  // namespace
