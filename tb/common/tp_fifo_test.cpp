// Testbench of rtl/common/tp_fifo.sv (default Width 32, Depth 4). Golden
// model: the identity (words leave in the order they came). Stated timing:
// latency 1, one word in and one out per cycle, in_ready_o = not full,
// count_o = words held.
#include "Vtp_fifo.h"
#include "common/harness.h"
#include "common/stall_matrix.h"
#include "common/stream_bench.h"
#include "common/timing.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

namespace {

using tp::tb::HarnessOptions;
using tp::tb::StallGenerator;

constexpr unsigned kDepth = 4;

struct Bench : tp::tb::StreamBench<Vtp_fifo, uint32_t, uint32_t> {
  explicit Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : StreamBench([](Vtp_fifo& dut, const uint32_t& w) { dut.in_data_i = w; },
                    [](Vtp_fifo& dut) { return static_cast<uint32_t>(dut.out_data_o); },
                    [](const uint32_t& w) { return w; }, source_stall, sink_stall, options) {}
};

std::vector<uint32_t> words(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> v(n);
  for (auto& w : v) w = static_cast<uint32_t>(rng());
  return v;
}

class FifoStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(FifoStallMatrix, EveryWordInOrder) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 3), StallGenerator(sink_p, 5));
  b.h.reset();
  b.run(words(3000, 1), 30000);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, FifoStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

TEST(Fifo, LatencyOneAndFullRate) {
  Bench b;
  b.h.reset();
  b.run(words(200, 2), 1000);
  EXPECT_TRUE(tp::tb::has_full_rate(b.source.accept_cycles(), b.sink.beat_cycles(), 1));
}

TEST(Fifo, FillsToItsDepthCountsAndDrains) {
  Bench b;
  b.h.reset();
  EXPECT_EQ(b.h->count_o, 0u);
  EXPECT_TRUE(b.h->in_ready_o);
  EXPECT_FALSE(b.h->out_valid_o);
  b.sink.pause(true);
  b.source.push_all(words(10, 3));
  b.h.tick(12);
  EXPECT_EQ(b.source.accepted(), kDepth);
  EXPECT_EQ(b.h->count_o, kDepth);
  EXPECT_FALSE(b.h->in_ready_o);  // full
  b.sink.pause(false);
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() == 10; }, 100, "the ten words"));
  EXPECT_EQ(b.scoreboard.mismatched(), 0u);
  EXPECT_EQ(b.h->count_o, 0u);
}

TEST(Fifo, ResetEmptiesItAndRandomInitialStateIsDefined) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b(StallGenerator(0.3, 1), StallGenerator(0.6, 2), options);
    b.h.reset();
    EXPECT_EQ(b.h->count_o, 0u);
    b.source.push_all(words(50, options.random_init_seed));
    b.h.tick(20);
    b.h.reset();
    b.expect_clean_after_reset(10);
    EXPECT_EQ(b.h->count_o, 0u);
    b.run(words(100, 7), 2000);
  });
}

}  // namespace
