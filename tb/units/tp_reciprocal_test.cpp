// Testbench of rtl/units/tp_reciprocal.sv (default parameters: DivisorWidth 27,
// NumExp 46, QuotientBits 32, BitsPerStage 2, UserWidth 1). Golden model:
// tp::fx::attention_reciprocal (golden/int/attention.h) = floor(2^46 / d);
// d <= 2^14, where it throws, must give out_range_o with the all-ones
// quotient. Stated timing: latency 16, II 1.
#include "Vtp_reciprocal.h"
#include "common/harness.h"
#include "common/stall_matrix.h"
#include "common/stream_bench.h"
#include "common/timing.h"
#include "golden/int/attention.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

namespace {

using tp::tb::HarnessOptions;
using tp::tb::StallGenerator;

constexpr unsigned kLatency = 16;
constexpr uint32_t kMaxDivisor = (1u << 27) - 1;
constexpr uint32_t kRangeLimit = 1u << 14;  // d <= 2^14: out of range

struct In {
  uint32_t d = 0;
  bool user = false;
};

struct Result {
  uint32_t q = 0;
  bool range = false, user = false;
  friend bool operator==(const Result&, const Result&) = default;
  friend std::ostream& operator<<(std::ostream& out, const Result& r) {
    return out << r.q << (r.range ? " (out of range)" : "") << " user " << r.user;
  }
};

Result golden(const In& in) {
  if (in.d <= kRangeLimit) return {0xFFFFFFFFu, true, in.user};
  return {tp::fx::attention_reciprocal(in.d), false, in.user};
}

struct Bench : tp::tb::StreamBench<Vtp_reciprocal, In, Result> {
  explicit Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : StreamBench(
            [](Vtp_reciprocal& dut, const In& in) {
              dut.in_d_i = in.d;
              dut.in_user_i = in.user;
            },
            [](Vtp_reciprocal& dut) {
              return Result{dut.out_q_o, dut.out_range_o != 0, dut.out_user_o != 0};
            },
            golden, source_stall, sink_stall, options, "reciprocal") {}
};

std::vector<In> random_inputs(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<In> v;
  for (size_t i = 0; i < n; ++i) {
    const int top = static_cast<int>(rng() % 27);  // leading one anywhere in 27 bits
    const uint32_t high = 1u << top;
    v.push_back({high | static_cast<uint32_t>(rng() & (high - 1)), (rng() & 1) != 0});
  }
  return v;
}

TEST(Reciprocal, EdgesOfTheRangeAndEveryPowerOfTwo) {
  Bench b;
  b.h.reset();
  std::vector<In> inputs{{0}, {1}, {kRangeLimit}, {kMaxDivisor}};
  for (uint32_t d = kRangeLimit - 64; d <= kRangeLimit + 4096; ++d) inputs.push_back({d, (d & 1) != 0});
  for (int k = 0; k < 27; ++k) {
    for (const uint32_t d : {(1u << k) - 1, 1u << k, (1u << k) + 1}) inputs.push_back({d & kMaxDivisor});
  }
  b.run(inputs, inputs.size() + 100);
}

TEST(Reciprocal, TheAttentionSumRange) {
  // l of a query: 2^15 .. 1024 * 2^16, every value near the ends and random between.
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(5);
  std::vector<In> inputs;
  for (uint32_t l = 1u << 15; l < (1u << 15) + 2000; ++l) inputs.push_back({l});
  for (uint32_t l = (1u << 26) - 2000; l <= (1u << 26); ++l) inputs.push_back({l});
  for (int i = 0; i < 20000; ++i) inputs.push_back({static_cast<uint32_t>((1u << 15) + rng() % ((1u << 26) - (1u << 15)))});
  b.run(inputs, inputs.size() + 100);
}

class ReciprocalStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(ReciprocalStallMatrix, EveryResultInOrderAndExact) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.h.reset();
  constexpr size_t kBeats = 3000;
  b.run(random_inputs(kBeats, 7), 20 * kBeats);
  b.h.tick(30);
  EXPECT_EQ(b.sink.received(), kBeats);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, ReciprocalStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

TEST(Reciprocal, LatencySixteenAndFullThroughput) {
  Bench b;
  b.h.reset();
  constexpr size_t kBeats = 200;
  b.run(random_inputs(kBeats, 3), 4 * kBeats);
  EXPECT_TRUE(tp::tb::has_full_rate(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
}

TEST(Reciprocal, SinkStallHoldsThePipeline) {
  Bench b;
  b.h.reset();
  b.expect_sink_stall_holds(random_inputs(40, 8), kLatency);
}

TEST(Reciprocal, ResetMidStreamThenClean) {
  Bench b(StallGenerator(0.3, 7), StallGenerator(0.5, 9));
  b.h.reset();
  b.source.push_all(random_inputs(200, 9));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 20; }, 2000, "20 results before reset"));
  b.h.reset(2);
  b.expect_clean_after_reset(40);
  b.run(random_inputs(300, 10), 3000);
}

TEST(Reciprocal, DefinedAfterResetFromRandomInitialState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b({}, {}, options);
    b.h.reset();
    b.expect_clean_after_reset(30);
    b.run(random_inputs(50, options.random_init_seed), 500);
  });
}

}  // namespace
