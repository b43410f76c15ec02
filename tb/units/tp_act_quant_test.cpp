// Testbench of rtl/units/tp_act_quant.sv (Lanes 16, ZWidth 48, FracBits 16,
// MaxGroups 16). Golden model: tp::fx::quantize_activations(z, 16, factor)
// (golden/int/quantize.h), group 32. Every value beat (16 int8, whole groups,
// zero padding included) and every group scale is compared with it.
// Stated timing: value latency log2(16) + 2 + 6 = 12 for every beat at II 1;
// scale 12 cycles after the group's last input beat; II 1 on every port.
#include "Vtp_act_quant.h"
#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"
#include "units/tp_act_quant_outputs.h"
#include "golden/int/quantize.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

namespace {

using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::Source;
using tp::tb::StallGenerator;

constexpr int kLanes = 16;
constexpr int kZWidth = 48;
constexpr int kFracBits = 16;
constexpr int kMaxGroups = 16;
constexpr int kBeatsPerGroup = 32 / kLanes;
constexpr unsigned kValueLatency = 4 + kBeatsPerGroup + 6;
constexpr unsigned kScaleLatency = 4 + 8;  // from the group's last input beat

struct InBeat {
  std::array<int64_t, kLanes> z{};
  bool last = false;
};
struct Factor {
  uint16_t mantissa = 1024;
  int16_t exponent = -10;
};

// Writes a bit field of a Verilator wide port (32-bit words).
template <class Wide>
void put_bits(Wide& w, int lo, int width, uint64_t v) {
  for (int b = 0; b < width; ++b) {
    const int bit = lo + b;
    const uint32_t mask = 1u << (bit % 32);
    if ((v >> b) & 1) w[bit / 32] |= mask;
    else w[bit / 32] &= ~mask;
  }
}

struct Bench {
  explicit Bench(StallGenerator in_stall = {}, StallGenerator val_stall = {}, StallGenerator scale_stall = {},
                 StallGenerator factor_stall = {}, HarnessOptions options = {})
      : h(options),
        in(
            h,
            [this](bool valid, const InBeat& beat) {
              h->in_valid_i = valid;
              for (int i = 0; i < kLanes; ++i) put_bits(h->in_z_i, i * kZWidth, kZWidth, static_cast<uint64_t>(beat.z[i]));
              h->in_last_i = beat.last;
            },
            [this] { return h->in_ready_o != 0; }, in_stall),
        factor(
            h,
            [this](bool valid, const Factor& f) {
              h->factor_valid_i = valid;
              h->factor_mantissa_i = f.mantissa;
              h->factor_exponent_i = static_cast<uint16_t>(f.exponent);
            },
            [this] { return h->factor_ready_o != 0; }, factor_stall),
        out(h, val_stall, scale_stall) {}

  // Queues one vector (z.size() a multiple of kLanes) and its factor, and the
  // golden beats it must produce. Returns the number of value beats expected.
  size_t push_vector(const std::vector<int64_t>& z, Factor f, bool push_factor = true) {
    for (size_t first = 0; first < z.size(); first += kLanes) {
      InBeat beat;
      for (int i = 0; i < kLanes; ++i) beat.z[i] = z[first + i];
      beat.last = first + kLanes == z.size();
      in.push(beat);
    }
    if (push_factor) factor.push(f);
    const tp::fx::QuantVector q =
        tp::fx::quantize_activations(z, kFracBits, tp::fx::ScaleFp{f.mantissa, f.exponent, false});
    return out.expect(q);
  }

  Harness<Vtp_act_quant> h;
  Source<InBeat> in;
  Source<Factor> factor;
  tp::tb::QuantOutputs<Vtp_act_quant, kLanes> out;
};

// A random vector: per group a random magnitude 2^0..2^47, some groups all
// zero, some with exact halves or the extreme values.
std::vector<int64_t> random_vector(std::mt19937_64& rng, int beats) {
  std::vector<int64_t> z(static_cast<size_t>(beats) * kLanes);
  const int64_t zmax = (int64_t{1} << (kZWidth - 1)) - 1;
  for (size_t first = 0; first < z.size(); first += 32) {
    const int kind = static_cast<int>(rng() % 10);
    const int bits = static_cast<int>(rng() % kZWidth);
    const int64_t range = bits >= kZWidth - 1 ? zmax : (int64_t{1} << bits);
    for (size_t i = first; i < std::min(z.size(), first + 32); ++i) {
      int64_t v = static_cast<int64_t>(rng() % (static_cast<uint64_t>(range) + 1));
      if (kind == 0) v = 0;                                   // all-zero group
      if (kind == 1) v = static_cast<int64_t>(rng() % 3) - 1;  // A = 1
      if (kind == 2) v = static_cast<int64_t>(rng() % 255) | 1;  // halves against A = 254 below
      z[i] = (rng() & 1) ? -v : v;
    }
    if (kind == 2) z[first] = (rng() & 1) ? 254 : -254;
    if (kind == 3) z[first + rng() % 16] = (rng() & 1) ? zmax : -zmax - 1;  // extremes
  }
  return z;
}

Factor random_factor(std::mt19937_64& rng) {
  return {static_cast<uint16_t>(1024 + rng() % 1024), static_cast<int16_t>(static_cast<int>(rng() % 80) - 40)};
}

// ----------------------------------------------------------- directed ---
TEST(ActQuant, EdgeCasesExact) {
  Bench b;
  b.h.reset();
  const int64_t zmax = (int64_t{1} << (kZWidth - 1)) - 1;
  std::vector<std::vector<int64_t>> groups;
  groups.push_back(std::vector<int64_t>(32, 0));  // all zero
  {
    std::vector<int64_t> g(32, 0);  // A = 1: -1, 0, 1
    for (int i = 0; i < 32; ++i) g[i] = i % 3 - 1;
    groups.push_back(g);
  }
  {
    std::vector<int64_t> g;  // every half: 127 z / 254 = z / 2 for odd z, both signs
    for (int i = 0; i < 32; ++i) g.push_back(i == 0 ? 254 : (i % 2 ? 1 : -1) * (2 * i + 1));
    groups.push_back(g);
  }
  {
    std::vector<int64_t> g(32, zmax);  // z = +A everywhere, then -A
    g[5] = -zmax;
    groups.push_back(g);
  }
  {
    std::vector<int64_t> g(32, 1);  // the most negative value sets A = 2^47
    g[31] = -zmax - 1;
    g[3] = zmax;
    groups.push_back(g);
  }
  {
    std::vector<int64_t> g;  // ties at a large A: A = 254 * 2^38, z = (2k+1) * 2^38
    for (int i = 0; i < 32; ++i) g.push_back((i == 7 ? 254 : (i % 2 ? -1 : 1) * (2 * i + 1)) * (int64_t{1} << 38));
    groups.push_back(g);
  }
  {
    std::vector<int64_t> g;  // next to ties: A = 254 * 2^30 + 1
    const int64_t a = 254 * (int64_t{1} << 30) + 1;
    for (int i = 0; i < 32; ++i) g.push_back(i == 0 ? -a : (2 * i + 1) * (int64_t{1} << 30) + (i % 3) - 1);
    groups.push_back(g);
  }
  for (const auto& g : groups) b.push_vector(g, {1024, -10});
  b.push_vector(groups[2], {2047, 15});
  b.push_vector(groups[4], {1024, 32767});  // exponent wraps like the golden int16
  b.out.run_to_end(2000);
}

TEST(ActQuant, RandomGroupsManyMagnitudes) {
  // 3000 groups in vectors of random length (multiples of 16, so the last
  // group is half-padded about half of the time).
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(1);
  size_t groups = 0;
  while (groups < 3000) {
    const int beats = 1 + static_cast<int>(rng() % 40);
    b.push_vector(random_vector(rng, beats), random_factor(rng));
    groups += (beats + 1) / 2;
  }
  b.out.run_to_end(20000);
}

TEST(ActQuant, PartialLastGroupIsZeroPadded) {
  // Vectors of 1, 3, 5 beats end inside a group: the unit emits the padding
  // beat (all zero) and the scale of the partial group, as the golden model.
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(2);
  for (int beats : {1, 3, 5, 1, 1, 2, 3}) b.push_vector(random_vector(rng, beats), random_factor(rng));
  b.out.run_to_end(1000);
  EXPECT_EQ(b.out.val.received(), 2u + 4 + 6 + 2 + 2 + 2 + 4);
}

TEST(ActQuant, ValuesDoNotWaitForTheFactor) {
  // The factor arrives long after the vector (as from tp_rmsnorm): every
  // value beat comes out, no scale until the factor is there.
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(3);
  const Factor f = random_factor(rng);
  const size_t beats = b.push_vector(random_vector(rng, 32), f, false);  // 16 groups = MaxGroups
  ASSERT_TRUE(b.h.run_until([&] { return b.out.val_board.checked() == beats; }, 500, "values before the factor"));
  b.h.tick(50);
  EXPECT_EQ(b.out.scale_board.checked(), 0u);
  b.factor.push(f);
  b.out.run_to_end(500);
}

TEST(ActQuant, MaxGroupsWaitingForTheFactorStallTheInput) {
  // A second vector cannot start while 16 group maxima wait for a factor.
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(4);
  const Factor f1 = random_factor(rng), f2 = random_factor(rng);
  b.push_vector(random_vector(rng, 32), f1, false);
  b.push_vector(random_vector(rng, 4), f2, false);
  b.h.tick(200);
  EXPECT_EQ(b.in.accepted(), 32u);
  EXPECT_FALSE(b.h->in_ready_o);
  b.factor.push(f1);
  b.factor.push(f2);
  b.out.run_to_end(500);
  EXPECT_EQ(b.in.accepted(), 36u);
}

// ---------------------------------------------- backpressure test matrix ---
class ActQuantStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(ActQuantStallMatrix, EveryValueAndScaleExact) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23), StallGenerator(sink_p, 29),
          StallGenerator(source_p, 31));
  b.h.reset();
  std::mt19937_64 rng(5);
  for (int v = 0; v < 60; ++v) b.push_vector(random_vector(rng, 1 + static_cast<int>(rng() % 24)), random_factor(rng));
  b.out.run_to_end(30000);
  b.out.expect_nothing_more(30);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, ActQuantStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// -------------------------------------------------------------- timing ---
TEST(ActQuant, LatencyAndFullThroughputWithoutStalls) {
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(6);
  for (int v = 0; v < 10; ++v) b.push_vector(random_vector(rng, 16), random_factor(rng));  // 160 beats
  b.out.run_to_end(1000);
  EXPECT_TRUE(tp::tb::has_interval(b.in.accept_cycles(), 1));
  EXPECT_TRUE(tp::tb::has_interval(b.out.val.beat_cycles(), 1));
  EXPECT_TRUE(tp::tb::has_interval(b.out.scale.beat_cycles(), kBeatsPerGroup));
  EXPECT_TRUE(tp::tb::has_latency(b.in.accept_cycles(), b.out.val.beat_cycles(), kValueLatency));
  std::vector<uint64_t> group_ends;
  for (size_t i = kBeatsPerGroup - 1; i < b.in.accept_cycles().size(); i += kBeatsPerGroup) {
    group_ends.push_back(b.in.accept_cycles()[i]);
  }
  EXPECT_TRUE(tp::tb::has_latency(group_ends, b.out.scale.beat_cycles(), kScaleLatency));
}

// --------------------------------------------------------------- reset ---
TEST(ActQuant, ResetMidStreamDropsInFlightBeatsAndRestartsCleanly) {
  Bench b(StallGenerator(0.3, 7), StallGenerator(0.5, 9), StallGenerator(0.5, 13));
  b.h.reset();
  std::mt19937_64 rng(7);
  for (int v = 0; v < 10; ++v) b.push_vector(random_vector(rng, 7), random_factor(rng));
  ASSERT_TRUE(b.h.run_until([&] { return b.out.val_board.checked() >= 9; }, 2000, "9 value beats before reset"));
  b.h.reset(2);
  EXPECT_TRUE(b.h->in_ready_o);
  b.out.expect_clean_after_reset(40);
  for (int v = 0; v < 10; ++v) b.push_vector(random_vector(rng, 1 + static_cast<int>(rng() % 9)), random_factor(rng));
  b.out.run_to_end(3000);
}

TEST(ActQuant, OutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b({}, {}, {}, {}, options);
    b.h.reset(1);
    EXPECT_TRUE(b.h->in_ready_o);
    EXPECT_FALSE(b.h->val_valid_o);
    EXPECT_FALSE(b.h->scale_valid_o);
    EXPECT_FALSE(b.h->factor_ready_o);
    std::mt19937_64 rng(options.random_init_seed);
    for (int v = 0; v < 3; ++v) b.push_vector(random_vector(rng, 5), random_factor(rng));
    b.out.run_to_end(500);
  });
}

}  // namespace
