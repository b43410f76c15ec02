// Testbench of rtl/units/tp_rmsnorm.sv (Lanes 16, MaxDim 512). Golden model:
// tp::fx::rmsnorm(x, gains, inv_dim) (golden/int/rmsnorm.h) with inv_dim the
// host constant scale_from_double(1/dim). Every int8 value beat and every
// group scale is compared with it. Stated timing: vectors of dim <= 64
// stream at one beat a cycle (their tails overlap); longer ones start at most
// kVectorOverhead cycles after the previous vector's last beat.
#include "Vtp_rmsnorm.h"
#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"
#include "units/tp_act_quant_outputs.h"
#include "golden/int/rmsnorm.h"

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
constexpr uint64_t kVectorOverhead = 21;  // a vector's tail: last beat to factor, at most this beyond dim/16

struct InBeat {
  std::array<int32_t, kLanes> x{};
  std::array<int16_t, kLanes> gain{};
  uint32_t dim = 0;
  tp::fx::ScaleFp inv_dim;
  int gain_exponent = 0;
};

struct Bench {
  explicit Bench(StallGenerator in_stall = {}, StallGenerator val_stall = {}, StallGenerator scale_stall = {},
                 HarnessOptions options = {})
      : h(options),
        in(
            h,
            [this](bool valid, const InBeat& b) {
              h->in_valid_i = valid;
              for (int i = 0; i < kLanes; ++i) {
                h->in_x_i[i] = static_cast<uint32_t>(b.x[i]);
                const int word = i / 2, shift = (i % 2) * 16;
                h->in_gain_i[word] = (h->in_gain_i[word] & ~(0xFFFFu << shift)) |
                                     (static_cast<uint32_t>(static_cast<uint16_t>(b.gain[i])) << shift);
              }
              h->cfg_dim_i = b.dim;
              h->cfg_inv_dim_mantissa_i = b.inv_dim.mantissa;
              h->cfg_inv_dim_exponent_i = static_cast<uint16_t>(b.inv_dim.exponent);
              h->cfg_gain_exponent_i = static_cast<uint16_t>(b.gain_exponent);
            },
            [this] { return h->in_ready_o != 0; }, in_stall),
        out(h, val_stall, scale_stall) {}

  void push_vector(const std::vector<int32_t>& x, const tp::fx::NormGains& gains) {
    const uint32_t dim = static_cast<uint32_t>(x.size());
    const tp::fx::ScaleFp inv_dim = tp::fx::scale_from_double(1.0 / dim);
    for (uint32_t first = 0; first < dim; first += kLanes) {
      InBeat b;
      for (int i = 0; i < kLanes; ++i) {
        b.x[i] = x[first + i];
        b.gain[i] = gains.mantissas[first + i];
      }
      b.dim = dim;
      b.inv_dim = inv_dim;
      b.gain_exponent = gains.exponent;
      in.push(b);
    }
    out.expect(tp::fx::rmsnorm(x, gains, inv_dim));
  }

  Harness<Vtp_rmsnorm> h;
  Source<InBeat> in;
  tp::tb::QuantOutputs<Vtp_rmsnorm, kLanes> out;
};

// x with magnitudes up to 2^bits (bits 0..31), random int16 gains.
std::vector<int32_t> random_x(std::mt19937_64& rng, int dim, int bits) {
  std::vector<int32_t> x(dim);
  for (auto& v : x) {
    const int64_t range = bits >= 31 ? INT32_MAX : (int64_t{1} << bits);
    v = static_cast<int32_t>(static_cast<int64_t>(rng() % (static_cast<uint64_t>(range) + 1)) * ((rng() & 1) ? -1 : 1));
  }
  return x;
}
tp::fx::NormGains random_gains(std::mt19937_64& rng, int dim) {
  tp::fx::NormGains g;
  for (int i = 0; i < dim; ++i) g.mantissas.push_back(static_cast<int16_t>(rng()));
  g.exponent = static_cast<int>(rng() % 24) - 20;
  return g;
}
int random_dim(std::mt19937_64& rng) { return kLanes * (1 + static_cast<int>(rng() % 32)); }  // 16..512

// ----------------------------------------------------------- directed ---
TEST(RmsNorm, DimsAndMagnitudesMatchGolden) {
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(1);
  for (int dim : {16, 32, 48, 64, 288 / 16 * 16, 512}) {
    for (int bits : {0, 1, 5, 16, 24, 31}) b.push_vector(random_x(rng, dim, bits), random_gains(rng, dim));
  }
  {
    std::vector<int32_t> x(512, INT32_MIN);  // the largest sum of squares
    tp::fx::NormGains g{std::vector<int16_t>(512, INT16_MIN), 0};
    b.push_vector(x, g);
  }
  b.push_vector(std::vector<int32_t>(64, 0), random_gains(rng, 64));  // ms = eps only, all-zero groups
  for (int v = 0; v < 40; ++v) {
    const int dim = random_dim(rng);
    b.push_vector(random_x(rng, dim, static_cast<int>(rng() % 32)), random_gains(rng, dim));
  }
  b.out.run_to_end(40000);
}

TEST(RmsNorm, MeanRoundsHalfUpWhereTheResultDependsOnIt) {
  // Vectors whose mean square lies where rounding matters: the factor of
  // round_shift(ss * inv_dim.m, e) differs from that of the truncated or the
  // next value, so a wrong rounding of the mean changes the scales.
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(9);
  int found = 0;
  while (found < 40) {
    const int dim = 16 * (2 + static_cast<int>(rng() % 4));
    const std::vector<int32_t> x = random_x(rng, dim, 3 + static_cast<int>(rng() % 8));
    const tp::fx::ScaleFp inv_dim = tp::fx::scale_from_double(1.0 / dim);
    unsigned __int128 ss = 0;
    for (int32_t v : x) ss += static_cast<unsigned __int128>(static_cast<int64_t>(v) * v);
    const unsigned __int128 p = ss * inv_dim.mantissa;
    const int r = -inv_dim.exponent;
    const uint64_t rounded = static_cast<uint64_t>((p + (static_cast<unsigned __int128>(1) << (r - 1))) >> r);
    const uint64_t truncated = static_cast<uint64_t>(p >> r);
    const auto factor = [](uint64_t mean) { return tp::fx::rsqrt(mean + tp::fx::kRmsEpsQ32); };
    if (factor(rounded) == factor(truncated) && factor(rounded) == factor(rounded + 1)) continue;
    b.push_vector(x, random_gains(rng, dim));
    ++found;
  }
  b.out.run_to_end(10000);
}

// ---------------------------------------------- backpressure test matrix ---
class RmsNormStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(RmsNormStallMatrix, EveryValueAndScaleExact) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23), StallGenerator(sink_p, 29));
  b.h.reset();
  std::mt19937_64 rng(5);
  for (int v = 0; v < 25; ++v) {
    const int dim = random_dim(rng);
    b.push_vector(random_x(rng, dim, static_cast<int>(rng() % 32)), random_gains(rng, dim));
  }
  b.out.run_to_end(40000);
  b.out.expect_nothing_more(60);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, RmsNormStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// -------------------------------------------------------------- timing ---
// Vectors of up to 2 groups (dim <= 64: what a prefill block streams, one
// vector a token) follow each other at II 1: their tails overlap (up to
// kTailSlots vectors wait for their factors). A longer vector is held back
// only by tp_act_quant's room for group maxima (MaxGroups = 16) while an
// earlier factor is computed: never longer than the one-tail-at-a-time
// bound dim/16 + kVectorOverhead of the former design.
TEST(RmsNorm, VectorsStreamAtOneBeatACycleWhileTheirTailsOverlap) {
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(6);
  constexpr int kVectors = 32;
  for (int v = 0; v < kVectors; ++v) b.push_vector(random_x(rng, 64, 20), random_gains(rng, 64));
  b.out.run_to_end(5000);
  const auto& acc = b.in.accept_cycles();
  ASSERT_EQ(acc.size(), static_cast<size_t>(kVectors * 64 / kLanes));
  for (size_t i = 1; i < acc.size(); ++i) EXPECT_EQ(acc[i], acc[i - 1] + 1) << "beat " << i;
  EXPECT_TRUE(tp::tb::has_interval(std::vector<uint64_t>(b.out.val.beat_cycles().begin(),
                                                         b.out.val.beat_cycles().begin() + 32), 1));
}

TEST(RmsNorm, LongVectorsWaitAtMostForOneTail) {
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(6);
  std::vector<int> dims{512, 16, 64, 256, 48, 512, 512};
  for (int dim : dims) b.push_vector(random_x(rng, dim, 20), random_gains(rng, dim));
  b.out.run_to_end(5000);
  const auto& acc = b.in.accept_cycles();
  // A vector's last beat comes at most its beats + one tail after the
  // previous vector's last beat (its beats may wait inside for tp_act_quant).
  size_t last = dims[0] / kLanes - 1;
  uint64_t one_tail_at_a_time = 0;
  for (size_t v = 1; v < dims.size(); ++v) {
    const size_t beats = dims[v] / kLanes;
    EXPECT_LE(acc[last + beats], acc[last] + beats + kVectorOverhead) << "vector " << v << " dim " << dims[v];
    last += beats;
    one_tail_at_a_time += beats + kVectorOverhead;
  }
  EXPECT_LT(acc.back() - acc[dims[0] / kLanes - 1], one_tail_at_a_time) << "no tail overlapped the next vector";
}

// --------------------------------------------------------------- reset ---
TEST(RmsNorm, ResetMidVectorDropsEverythingAndRestartsCleanly) {
  Bench b(StallGenerator(0.3, 7), StallGenerator(0.5, 9), StallGenerator(0.5, 13));
  b.h.reset();
  std::mt19937_64 rng(7);
  for (int v = 0; v < 4; ++v) b.push_vector(random_x(rng, 512, 20), random_gains(rng, 512));
  ASSERT_TRUE(b.h.run_until([&] { return b.in.accepted() >= 40; }, 2000, "40 beats into the second vector"));
  b.h.reset(2);
  EXPECT_TRUE(b.h->in_ready_o);
  b.out.expect_clean_after_reset(60);
  for (int v = 0; v < 6; ++v) {
    const int dim = random_dim(rng);
    b.push_vector(random_x(rng, dim, 28), random_gains(rng, dim));
  }
  b.out.run_to_end(8000);
}

TEST(RmsNorm, OutputsDefinedAfterResetFromRandomState) {
  const auto check = [](HarnessOptions options) {
    Bench b({}, {}, {}, options);
    b.h.reset(1);
    EXPECT_TRUE(b.h->in_ready_o);
    EXPECT_FALSE(b.h->val_valid_o);
    EXPECT_FALSE(b.h->scale_valid_o);
    std::mt19937_64 rng(options.random_init_seed);
    for (int v = 0; v < 3; ++v) b.push_vector(random_x(rng, 96, 25), random_gains(rng, 96));
    b.out.run_to_end(2000);
  };
  tp::tb::for_each_random_init(check, {1, 2, 1234567});
}

}  // namespace
