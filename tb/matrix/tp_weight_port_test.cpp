// tp_weight_port testbench: the AXI4 read master against the HBM model
// (tb/common/hbm_model.h) serving a random byte image. Golden model = the
// image: a command (address, beats) must come out as the image's beats from
// that address on, in order, `last` on its final beat.
// Two builds (tb/matrix/tp_weight_port.cmake): the default one-beat output,
// and OutBeats 2 (TP_WEIGHT_PORT_OUT_BEATS=2), whose consumer takes 0, 1 or
// 2 beats per cycle at random (PairSink); every test runs on both.
#include "Vtp_weight_port.h"
#include "common/harness.h"
#include "common/hbm_model.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#ifndef TP_WEIGHT_PORT_OUT_BEATS
#define TP_WEIGHT_PORT_OUT_BEATS 1  // the verilated OutBeats parameter
#endif
#ifndef TP_WEIGHT_PORT_FIFO_BEATS
#define TP_WEIGHT_PORT_FIFO_BEATS 512  // the verilated FifoBeats parameter
#endif

namespace {

using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::HbmBeat;
using tp::tb::HbmConfig;
using tp::tb::random_image;
using tp::tb::HbmModel;
using tp::tb::HbmPorts;
using tp::tb::kHbmBeatBytes;
using tp::tb::PairSink;
using tp::tb::Scoreboard;
using tp::tb::Sink;
using tp::tb::Source;
using tp::tb::StallGenerator;

using Model = Vtp_weight_port;
constexpr unsigned kOutBeats = TP_WEIGHT_PORT_OUT_BEATS;

struct Command {
  uint64_t addr = 0;  // byte address, multiple of 64
  uint32_t beats = 0;
  bool operator==(const Command&) const = default;
};

struct Beat {
  HbmBeat data{};
  bool last = false;
  bool operator==(const Beat&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Beat& b) {
  os << "{last " << b.last << ", bytes 0..63:";
  for (uint8_t byte : b.data) {
    char buf[4];
    std::snprintf(buf, sizeof buf, " %02x", byte);
    os << buf;
  }
  return os << "}";
}

// Golden: the command's beats of the image.
std::vector<Beat> golden_beats(const std::vector<uint8_t>& image, const Command& c) {
  std::vector<Beat> beats(c.beats);
  for (uint32_t i = 0; i < c.beats; ++i) {
    const uint64_t base = c.addr + uint64_t{i} * kHbmBeatBytes;
    for (unsigned j = 0; j < kHbmBeatBytes; ++j) beats[i].data[j] = image.at(base + j);
    beats[i].last = i + 1 == c.beats;
  }
  return beats;
}

// Counts the cycles the consumer stalled the output (beat 0: out_valid_o && !out_ready_i).
class OutStallProbe final : public tp::tb::Component {
 public:
  OutStallProbe(Harness<Model>& h) : Component(h), h_(h) {}
  void sample(uint64_t) override { stalls += (h_->out_valid_o & 1) && !(h_->out_ready_i & 1); }
  uint64_t stalls = 0;

 private:
  Harness<Model>& h_;
};

// Lane `lane` of the output (beat 0, or beat 1 at OutBeats 2).
Beat out_beat(Harness<Model>& h, unsigned lane) {
  Beat b;
  for (unsigned w = 0; w < 16; ++w) {
    for (unsigned j = 0; j < 4; ++j) {
      b.data[4 * w + j] = static_cast<uint8_t>(h->out_data_o[16 * lane + w] >> (8 * j));
    }
  }
  b.last = (h->out_last_o >> lane) & 1;
  return b;
}

// The consumer: one beat per cycle, or (OutBeats 2) 0, 1 or 2 per cycle; a
// stalling consumer of the two-beat port takes only one beat on a third of
// the cycles it takes any.
#if TP_WEIGHT_PORT_OUT_BEATS == 2
using OutSink = PairSink<Beat>;
OutSink make_sink(Harness<Model>& h, StallGenerator stall) {
  StallGenerator single = stall.probability() == 0.0 ? StallGenerator() : StallGenerator(0.33, 23);
  return OutSink(
      h, [&h](bool r0, bool r1) { h->out_ready_i = (r1 ? 2 : 0) | (r0 ? 1 : 0); },
      [&h](unsigned lane) { return ((h->out_valid_o >> lane) & 1) != 0; },
      [&h](unsigned lane) { return out_beat(h, lane); }, std::move(stall), std::move(single));
}
#else
using OutSink = Sink<Beat>;
OutSink make_sink(Harness<Model>& h, StallGenerator stall) {
  return OutSink(
      h, [&h](bool r) { h->out_ready_i = r; }, [&h] { return h->out_valid_o != 0; }, [&h] { return out_beat(h, 0); },
      std::move(stall));
}
#endif

// Harness + command Source + HBM model + output sink + Scoreboard.
struct PortBench {
  PortBench(std::vector<uint8_t> image, HbmConfig config, StallGenerator sink_stall = {},
            HarnessOptions options = {})
      : h(options),
        cmds(
            h,
            [this](bool valid, const Command& c) {
              h->cmd_valid_i = valid;
              h->cmd_addr_i = c.addr;
              h->cmd_beats_i = c.beats;
            },
            [this] { return h->cmd_ready_o != 0; }),
        hbm(h, axi_read_ports(h), std::move(image), std::move(config)),
        sink(make_sink(h, std::move(sink_stall))),
        scoreboard(h, "out"),
        probe(h) {
    scoreboard.connect(cmds, [this](const Command& c) { return golden_beats(hbm.image(), c); }, sink);
  }

  // Pushes the commands and runs until every beat came out and matched.
  void run(const std::vector<Command>& commands, uint64_t max_cycles) {
    uint64_t beats = scoreboard.checked();
    for (const auto& c : commands) {
      cmds.push(c);
      beats += c.beats;
    }
    ASSERT_TRUE(h.run_until([&] { return scoreboard.checked() == beats; }, max_cycles, "every command's beats"));
    h.tick(20);  // nothing extra afterwards
    EXPECT_EQ(scoreboard.checked(), beats);
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(scoreboard.pending(), 0u);
    EXPECT_EQ(hbm.violations(), 0u);
    EXPECT_EQ(hbm.outstanding(), 0u);
  }

  // busy = cycles that delivered beats + consumer stall cycles + memory wait
  // cycles (one beat per delivering cycle at OutBeats 1).
  void expect_counters_consistent(uint64_t beats_since_reset) {
    EXPECT_EQ(sink.received(), beats_since_reset);
    EXPECT_EQ(h->perf_out_stall_o, probe.stalls);
    EXPECT_EQ(uint64_t{h->perf_busy_o}, delivering_cycles() + h->perf_out_stall_o + h->perf_mem_wait_o);
  }

  // Cycles in which the consumer took at least one beat.
  uint64_t delivering_cycles() const {
    const auto& cycles = sink.beat_cycles();
    uint64_t n = 0;
    for (size_t i = 0; i < cycles.size(); ++i) n += i == 0 || cycles[i] != cycles[i - 1];
    return n;
  }

  Harness<Model> h;
  Source<Command> cmds;
  HbmModel hbm;
  OutSink sink;
  Scoreboard<Beat> scoreboard;
  OutStallProbe probe;
};

constexpr size_t kImageBytes = 192 * 1024;  // 3072 beats, 48 pages of 4 KiB

// Random commands of 1..max_beats beats at random aligned addresses inside the image.
std::vector<Command> random_commands(size_t n, uint32_t max_beats, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Command> commands;
  const uint64_t image_beats = kImageBytes / kHbmBeatBytes;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t beats = 1 + static_cast<uint32_t>(rng() % max_beats);
    const uint64_t start = rng() % (image_beats - beats + 1);
    commands.push_back({start * kHbmBeatBytes, beats});
  }
  return commands;
}

// Directed corners of the burst split: 4 KiB boundaries, 1 beat, 64 beats.
const std::vector<Command> kDirected = {
    {0, 1},        {0, 64},       {0, 65},          {4096 - 64, 1},  {4096 - 64, 2},   {4096 - 64, 66},
    {64, 63},      {64, 64},      {8192 - 640, 700}, {4096, 128},    {kImageBytes - 64, 1},
    {kImageBytes - 2000 * 64, 2000},
};

// ------------------------------------------------------------ stall matrix ---
// {consumer never, random} x {R never, random} x latency {1, 100, 300}.
class WeightPortStallMatrix : public ::testing::TestWithParam<std::tuple<std::tuple<double, double>, unsigned>> {};

TEST_P(WeightPortStallMatrix, EveryBeatIsTheImageAtItsAddress) {
  const auto [stalls, latency] = GetParam();
  const auto [sink_p, r_p] = stalls;
  PortBench b(random_image(kImageBytes, 7 + latency),
              HbmConfig{.latency = latency, .r_stall = StallGenerator(r_p, 31)}, StallGenerator(sink_p, 17));
  b.h.reset();
  b.run(kDirected, 400000);
  auto commands = random_commands(12, 2000, 1000 + latency);
  uint64_t beats = 0, bursts = 0;
  for (const auto& list : {kDirected, commands}) {
    for (const auto& c : list) {
      beats += c.beats;
      bursts += (c.addr + uint64_t{c.beats} * kHbmBeatBytes - 1) / 4096 - c.addr / 4096 + 1;  // pages touched
    }
  }
  b.run(commands, 400000);
  EXPECT_EQ(b.hbm.beats(), beats);
  EXPECT_EQ(b.hbm.bursts(), bursts);  // one burst per 4 KiB page: the longest legal bursts
  EXPECT_EQ(b.hbm.r_stall_cycles(), 0u);  // rready stays high
  b.expect_counters_consistent(beats);
#if TP_WEIGHT_PORT_OUT_BEATS == 2
  if (sink_p > 0) {
    EXPECT_GT(b.sink.pairs(), 0u);  // behind, the consumer took two beats at once
  }
#endif
}

std::string stall_matrix_test_name(
    const ::testing::TestParamInfo<std::tuple<std::tuple<double, double>, unsigned>>& info) {
  const auto [stalls, latency] = info.param;
  return tp::tb::stall_matrix_name({{"Sink", std::get<0>(stalls)}, {"R", std::get<1>(stalls)}}) + "Latency" +
         std::to_string(latency);
}

INSTANTIATE_TEST_SUITE_P(SinkR, WeightPortStallMatrix,
                         ::testing::Combine(tp::tb::stall_matrix<2>(), ::testing::Values(1u, 100u, 300u)),
                         stall_matrix_test_name);

// ---------------------------------------------------------------- timing ---
// A long command at latency 200 streams at one beat per cycle after the first
// beat; the first beat leaves latency + 4 cycles after the command (command
// register, AR register, FIFO write, FIFO read register).
TEST(WeightPort, FullRateAfterTheFirstBeatAtLatency200) {
  constexpr uint32_t kBeats = 20000;
  PortBench b(random_image(size_t{kBeats} * kHbmBeatBytes + 4096, 5), HbmConfig{.latency = 200});
  b.h.reset();
  b.run({{4096 - 192, kBeats}}, 100000);  // starts 3 beats before a page boundary
  const auto& out = b.sink.beat_cycles();
  ASSERT_EQ(out.size(), kBeats);
  EXPECT_EQ(out.front() - b.cmds.accept_cycles().front(), 200u + 4u);
  const double rate = double(kBeats - 1) / double(out.back() - out.front());
  std::printf("[ weight port ] latency 200: first beat after %llu cycles, %.4f beats/cycle after it\n",
              static_cast<unsigned long long>(out.front() - b.cmds.accept_cycles().front()), rate);
  EXPECT_GE(rate, 0.95);
  EXPECT_EQ(b.h->perf_out_stall_o, 0u);
  b.expect_counters_consistent(kBeats);
}

TEST(WeightPort, LatencyOneMemoryGivesFiveCyclesToTheFirstBeatAndFullRate) {
  PortBench b(random_image(kImageBytes, 6), HbmConfig{.latency = 1});
  b.h.reset();
  b.run({{0, 3000}}, 10000);
  const auto& out = b.sink.beat_cycles();
  EXPECT_EQ(out.front() - b.cmds.accept_cycles().front(), 5u);
  EXPECT_TRUE(tp::tb::has_interval(out, 1));
}

// Consecutive commands issue back to back: one-burst commands are taken one
// per cycle (command buffer), their bursts go out on consecutive AR edges and
// their beats leave without a gap; a stream of 5-beat commands (KV segments)
// runs at one beat per cycle when the bursts in flight cover the memory
// latency (8 bursts of <= 5 beats cover 20 + 4 cycles here; tp_kv_port uses 64).
TEST(WeightPort, ConsecutiveCommandsIssueBackToBack) {
  PortBench b(random_image(kImageBytes, 12), HbmConfig{.latency = 1, .max_outstanding = 64});
  b.h.reset();
  std::vector<Command> ones;
  for (uint64_t i = 0; i < 300; ++i) ones.push_back({(i * 7 % 3000) * kHbmBeatBytes, 1});
  b.run(ones, 10000);
  EXPECT_TRUE(tp::tb::has_interval(b.cmds.accept_cycles(), 1));
  EXPECT_TRUE(tp::tb::has_latency(b.cmds.accept_cycles(), b.sink.beat_cycles(), 5));
  EXPECT_EQ(b.hbm.bursts(), 300u);

  PortBench c(random_image(kImageBytes, 13), HbmConfig{.latency = 20, .max_outstanding = 64});
  c.h.reset();
  std::vector<Command> fives;
  for (uint64_t i = 0; i < 2000; ++i) fives.push_back({(i * 37 % 600) * 5 * kHbmBeatBytes, 5});  // some cross 4 KiB
  c.run(fives, 40000);
  const auto& out = c.sink.beat_cycles();
  const double rate = double(out.size() - 1) / double(out.back() - out.front());
  std::printf("[ weight port ] 5-beat commands at latency 20: %.4f beats/cycle after the first beat\n", rate);
  EXPECT_GE(rate, 0.99);
  EXPECT_EQ(out.front() - c.cmds.accept_cycles().front(), 24u);
  c.expect_counters_consistent(10000);
}

// A consumer that starts late (the matrix engine after vector work) finds
// the FIFO full and drains it at OutBeats beats per cycle: beat i of the
// stream leaves i / OutBeats cycles after the first, across command
// boundaries (odd command lengths: pairs straddle commands, the stream's
// last beat comes alone).
TEST(WeightPort, AFullFifoDrainsAtOutBeatsPerCycle) {
  PortBench b(random_image(kImageBytes, 14), HbmConfig{.latency = 20});
  b.h.reset();
  b.sink.pause(true);
  std::vector<Command> commands = {{0, 300}, {4096, 1}, {8192 - 64, 3}, {64, 2}, {12288 + 128, 5}, {640, 150}};
  // A deeper FIFO (the top's 1024) holds more than 512 beats: fill it beyond.
  constexpr uint64_t kFifoBeats = TP_WEIGHT_PORT_FIFO_BEATS;
  if (kFifoBeats > 512) commands.push_back({16384, static_cast<uint32_t>(kFifoBeats - 512)});
  uint64_t beats = 0;
  for (const auto& c : commands) {
    b.cmds.push(c);
    beats += c.beats;
  }
  ASSERT_LE(beats, kFifoBeats);  // everything fits
  ASSERT_TRUE(b.h.run_until([&] { return b.hbm.beats() == beats; }, 10000, "every beat in the FIFO"));
  b.h.tick(4);
  b.sink.pause(false);
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() == beats; }, 10000, "every beat out"));
  EXPECT_EQ(b.scoreboard.mismatched(), 0u);
  const auto& out = b.sink.beat_cycles();
  for (uint64_t i = 0; i < beats; ++i) {
    ASSERT_EQ(out[i], out[0] + i / kOutBeats) << "beat " << i;
  }
  std::printf("[ weight port ] a full FIFO of %llu beats drains in %llu cycles\n",
              static_cast<unsigned long long>(beats), static_cast<unsigned long long>(out.back() - out.front() + 1));
}

// Memory limits: half the bandwidth and 2 outstanding bursts (arready drops);
// data still correct, the rate follows the memory.
TEST(WeightPort, FollowsMemoryBandwidthAndOutstandingLimits) {
  PortBench b(random_image(kImageBytes, 8), HbmConfig{.latency = 30, .bytes_per_cycle = 32, .max_outstanding = 2});
  b.h.reset();
  b.run(random_commands(6, 2000, 77), 200000);
  PortBench c(random_image(kImageBytes, 9), HbmConfig{.latency = 30, .bytes_per_cycle = 32});
  c.h.reset();
  c.run({{0, 3000}}, 20000);
  const auto& out = c.sink.beat_cycles();
  const double rate = double(out.size() - 1) / double(out.back() - out.front());
  EXPECT_NEAR(rate, 0.5, 0.01);
}

// ------------------------------------------------------------------ reset ---
// Reset in the middle of a command (bursts in flight, FIFO full, consumer
// stalled): the port and the memory model are reset together (AXI4 ARESETn);
// no stale beat leaves afterwards and a new command passes cleanly.
TEST(WeightPort, ResetMidCommandDropsEverythingAndRestartsCleanly) {
  PortBench b(random_image(kImageBytes, 10), HbmConfig{.latency = 100}, StallGenerator(0.4, 3));
  b.h.reset();
  b.cmds.push({4096 - 64, 2000});
  b.cmds.push({0, 10});
  ASSERT_TRUE(b.h.run_until([&] { return b.sink.received() >= 300; }, 10000, "300 beats"));
  b.sink.pause(true);
  b.h.tick(50);  // let the FIFO fill
  EXPECT_GT(b.hbm.outstanding() + b.h->out_valid_o, 0u);
  b.sink.pause(false);
  b.h.reset();
  EXPECT_EQ(b.hbm.outstanding(), 0u);
  EXPECT_EQ(b.h->out_valid_o, 0);
  EXPECT_EQ(b.h->m_axi_arvalid_o, 0);
  EXPECT_EQ(b.h->cmd_ready_o, 1);
  EXPECT_EQ(b.h->perf_busy_o, 0u);
  b.h.tick(400);  // a stale beat would be "unexpected"
  EXPECT_EQ(b.scoreboard.checked(), 0u);
  b.run({{128, 700}, {8192, 5}}, 20000);
  EXPECT_EQ(b.h->m_axi_arvalid_o, 0);
}

TEST(WeightPort, ControlOutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    PortBench b(random_image(kImageBytes, options.random_init_seed), HbmConfig{.latency = 20}, {}, options);
    b.h.reset(1);
    EXPECT_EQ(b.h->cmd_ready_o, 1);
    EXPECT_EQ(b.h->out_valid_o, 0);
    EXPECT_EQ(b.h->m_axi_arvalid_o, 0);
    EXPECT_EQ(b.h->m_axi_rready_o, 1);
    EXPECT_EQ(b.h->perf_busy_o, 0u);
    EXPECT_EQ(b.h->perf_out_stall_o, 0u);
    EXPECT_EQ(b.h->perf_mem_wait_o, 0u);
    b.run(random_commands(3, 500, options.random_init_seed), 20000);
  });
}

// ------------------------------------------------------- the model itself ---
// The HBM model reports what it exists to catch (driven by hand, no DUT).
TEST(HbmModel, ReportsProtocolViolationsAndReadsBeyondTheImage) {
  Harness<Model> h;
  bool arvalid = false;
  uint64_t araddr = 0;
  unsigned arlen = 0;
  HbmModel hbm(h,
               HbmPorts{.arvalid = [&] { return arvalid; },
                        .araddr = [&] { return araddr; },
                        .arlen = [&] { return arlen; },
                        .set_arready = [](bool) {},
                        .set_r = [](bool, const HbmBeat&, bool) {},
                        .rready = [] { return true; }},
               std::vector<uint8_t>(8192), HbmConfig{.latency = 1, .max_outstanding = 64});
  h.reset();
  const std::vector<std::tuple<uint64_t, unsigned, std::string>> bad = {
      {32, 0, "not 64-byte aligned"},
      {0, 64, "arlen > 63"},
      {4096 - 64, 1, "crosses a 4 KiB boundary"},
      {8192, 0, "beyond the image"},
  };
  for (const auto& [addr, len, message] : bad) {
    ::testing::TestPartResultArray failures;
    {
      ::testing::ScopedFakeTestPartResultReporter reporter(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
      arvalid = true;
      araddr = addr;
      arlen = len;
      h.tick();
      arvalid = false;
      h.tick(100);
    }
    ASSERT_EQ(failures.size(), 1) << message;
    EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find(message), std::string::npos)
        << failures.GetTestPartResult(0).message();
  }
  EXPECT_EQ(hbm.violations(), 4u);
  EXPECT_EQ(hbm.bursts(), 4u);
}

}  // namespace
