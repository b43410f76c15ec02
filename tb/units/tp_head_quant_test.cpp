// Testbench of rtl/units/tp_head_quant.sv (default parameters: DivLanes 16,
// UserWidth 8; built a second time as tp_head_quant_div8 with DivLanes 8,
// TP_HEAD_QUANT_DIV_LANES telling the test). Golden model: tp::fx::quantize_q16(x, head_size) on the
// head's first head_size lanes (golden/int/quantize.h) and tp::fx::kv_scale_code
// of its scale (golden/int/kv_layout.h): every output row (64 int8 lanes,
// zero beyond head_size), the ScaleFp, the KV code, the sideband and the
// error flag are compared on the cycle they leave. A head size outside 1..64
// must give the all-zero row with the zero scale and out_err_o, and raise the
// sticky err_cfg_o. Stated timing: latency 7 + 2c and II c for
// c = ceil(head_size / DivLanes) (1 for a bad head size).
#include "Vtp_head_quant.h"
#include "common/harness.h"
#include "common/stall_matrix.h"
#include "common/stream_bench.h"
#include "common/timing.h"
#include "golden/int/kv_layout.h"
#include "golden/int/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <span>
#include <tuple>
#include <vector>

namespace {

using tp::tb::HarnessOptions;
using tp::tb::StallGenerator;

constexpr int kLanes = 64;
#ifndef TP_HEAD_QUANT_DIV_LANES
#define TP_HEAD_QUANT_DIV_LANES 16
#endif
constexpr int kDivLanes = TP_HEAD_QUANT_DIV_LANES;
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

int chunks(int head_size) { return head_size >= 1 && head_size <= kLanes ? (head_size + kDivLanes - 1) / kDivLanes : 1; }
unsigned latency(int head_size) { return 7 + 2 * chunks(head_size); }

struct Head {
  std::array<int32_t, kLanes> x{};
  int head_size = 64;  // cfg_head_size_i while the head is presented (7 bits)
  uint8_t user = 0;
};

struct Row {
  std::array<int8_t, kLanes> q{};
  uint16_t mantissa = 0;
  int8_t exponent = 0;
  uint16_t code = 0;
  uint8_t user = 0;
  bool err = false;
  friend bool operator==(const Row&, const Row&) = default;
  friend std::ostream& operator<<(std::ostream& out, const Row& r) {
    out << "scale " << r.mantissa << "*2^" << int{r.exponent} << " code 0x" << std::hex << r.code << std::dec
        << " user " << int{r.user} << (r.err ? " ERR" : "") << " q";
    for (int v : r.q) out << ' ' << v;
    return out;
  }
};

Row golden(const Head& in) {
  Row r;
  r.user = in.user;
  if (in.head_size < 1 || in.head_size > kLanes) {
    r.err = true;
    return r;
  }
  const tp::fx::QuantVector v =
      tp::fx::quantize_q16(std::span<const int32_t>(in.x.data(), static_cast<size_t>(in.head_size)), in.head_size);
  for (int i = 0; i < in.head_size; ++i) r.q[i] = v.values[i];
  r.mantissa = v.scales[0].mantissa;
  r.exponent = static_cast<int8_t>(v.scales[0].exponent);
  r.code = tp::fx::kv_scale_code(v.scales[0]);
  return r;
}

struct Bench : tp::tb::StreamBench<Vtp_head_quant, Head, Row> {
  explicit Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : StreamBench(
            [](Vtp_head_quant& dut, const Head& in) {
              for (int i = 0; i < kLanes; ++i) dut.in_data_i[i] = static_cast<uint32_t>(in.x[i]);
              dut.in_user_i = in.user;
              dut.cfg_head_size_i = static_cast<uint8_t>(in.head_size & 0x7F);
            },
            [](Vtp_head_quant& dut) {
              Row r;
              for (int i = 0; i < kLanes; ++i) r.q[i] = static_cast<int8_t>(dut.out_q_o[i / 4] >> ((i % 4) * 8));
              r.mantissa = dut.out_scale_m_o;
              r.exponent = static_cast<int8_t>(dut.out_scale_e_o);
              r.code = dut.out_scale_code_o;
              r.user = dut.out_user_o;
              r.err = dut.out_err_o != 0;
              return r;
            },
            golden, source_stall, sink_stall, options, "row") {}
};

// A random head: lanes < head_size of one magnitude class, garbage beyond
// (which the unit must ignore).
Head random_head(std::mt19937_64& rng, int head_size) {
  Head h;
  h.head_size = head_size;
  h.user = static_cast<uint8_t>(rng());
  for (auto& v : h.x) v = static_cast<int32_t>(rng());  // garbage, overwritten below head_size
  const int n = std::max(1, std::min(head_size, kLanes));
  const int kind = static_cast<int>(rng() % 12);
  const int bits = static_cast<int>(rng() % 32);  // magnitudes up to 2^bits
  const uint64_t range = uint64_t{1} << bits;
  for (int i = 0; i < n; ++i) {
    const int64_t m = static_cast<int64_t>(rng() % range);
    int64_t v = (rng() & 1) ? -m : m;
    if (kind == 0) v = 0;                                       // all-zero head
    if (kind == 1) v = static_cast<int64_t>(rng() % 3) - 1;     // A = 1
    if (kind == 2) v = static_cast<int64_t>(rng());              // full int32 range
    h.x[i] = static_cast<int32_t>(std::max<int64_t>(kMin, std::min<int64_t>(kMax, v)));
  }
  const int at = static_cast<int>(rng() % n);
  if (kind == 3) h.x[at] = kMin;  // |INT32_MIN| = 2^31 is the maximum
  if (kind == 4) h.x[at] = kMax;
  if (kind == 5) {  // ties of the maximum, both signs
    const int32_t a = static_cast<int32_t>(1 + rng() % (uint64_t{1} << (1 + rng() % 30)));
    for (int i = 0; i < n; ++i) {
      if (rng() % 3 == 0) h.x[i] = (rng() & 1) ? a : -a;
    }
    h.x[at] = -a;
  }
  if (kind == 6) {  // exact halves: A = 254 * 2^s, x = (2k + 1) * 2^s gives 127 x / A = k + 0.5
    const int s = static_cast<int>(rng() % 23);
    for (int i = 0; i < n; ++i) {
      const int32_t odd = static_cast<int32_t>(2 * (rng() % 127) + 1);
      h.x[i] = ((rng() & 1) ? -odd : odd) * (int32_t{1} << s);
    }
    h.x[at] = ((rng() & 1) ? -254 : 254) * (int32_t{1} << s);
  }
  if (kind == 7) {  // next to the halves: A = 254 * 2^s + 1
    const int s = static_cast<int>(rng() % 23);
    for (int i = 0; i < n; ++i) {
      const int32_t odd = static_cast<int32_t>(2 * (rng() % 127) + 1);
      h.x[i] = ((rng() & 1) ? -odd : odd) * (int32_t{1} << s) + static_cast<int32_t>(rng() % 3) - 1;
    }
    h.x[at] = 254 * (int32_t{1} << s) + 1;
  }
  return h;
}

std::vector<Head> random_heads(size_t count, uint64_t seed, int fixed_head_size = 0) {
  std::mt19937_64 rng(seed);
  std::vector<Head> heads;
  for (size_t i = 0; i < count; ++i) {
    const int hs = fixed_head_size != 0 ? fixed_head_size : 1 + static_cast<int>(rng() % kLanes);
    heads.push_back(random_head(rng, hs));
  }
  return heads;
}

// ----------------------------------------------------------- directed ---
TEST(HeadQuant, EdgeCasesExact) {
  Bench b;
  b.h.reset();
  std::vector<Head> heads;
  auto add = [&](int hs, std::vector<int32_t> values) {
    Head h;
    h.head_size = hs;
    h.user = static_cast<uint8_t>(heads.size());
    for (int i = 0; i < kLanes; ++i) h.x[i] = i < static_cast<int>(values.size()) ? values[i] : 0x5A5A5A5A;
    heads.push_back(h);
  };
  for (const int hs : {1, 8, 16, 17, 48, 64}) {
    add(hs, std::vector<int32_t>(hs, 0));                                   // all zero: zero scale, code 0
    add(hs, std::vector<int32_t>(hs, kMin));                                // every lane INT32_MIN
    add(hs, std::vector<int32_t>(hs, kMax));                                // every lane INT32_MAX
    std::vector<int32_t> mixed(hs, 1);
    mixed[hs - 1] = kMin;                                                    // the maximum in the last lane
    if (hs > 1) mixed[0] = kMax;
    add(hs, mixed);
    std::vector<int32_t> one(hs);
    for (int i = 0; i < hs; ++i) one[i] = i % 3 - 1;                        // A = 1
    add(hs, one);
  }
  {
    std::vector<int32_t> halves(64);  // every half k + 0.5 for k = 0..62, both signs, A = 254
    for (int i = 0; i < 64; ++i) halves[i] = (i % 2 ? -1 : 1) * (2 * i + 1);
    halves[63] = -254;
    add(64, halves);
    for (auto& v : halves) v *= 1 << 23;  // the same at A = 254 * 2^23
    add(64, halves);
  }
  {
    std::vector<int32_t> ties(64, 0);  // the maximum tied in both signs, in lanes of different chunks
    ties[3] = 1000;
    ties[17] = -1000;
    ties[40] = 1000;
    ties[63] = -1000;
    ties[5] = 500;  // exactly 63.5 -> 64
    ties[6] = -500;
    add(64, ties);
    std::vector<int32_t> neg_tie(64, 7);
    neg_tie[10] = kMin;  // |INT32_MIN| beats INT32_MAX by one
    neg_tie[11] = kMax;
    add(64, neg_tie);
  }
  for (int hs = 1; hs <= 64; ++hs) {  // the maximum in the last valid lane, garbage after it
    std::vector<int32_t> v(hs, -3);
    v[hs - 1] = 1 << 20;
    add(hs, v);
  }
  b.run(heads, 20 * heads.size() + 100);
}

TEST(HeadQuant, EveryHeadSizeRandomMagnitudes) {
  // 64 head sizes x 120 heads: magnitudes 2^0..2^31, all-zero heads,
  // INT32_MIN/MAX, ties, exact and near halves, garbage beyond head_size.
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(1);
  std::vector<Head> heads;
  for (int hs = 1; hs <= kLanes; ++hs) {
    for (int i = 0; i < 120; ++i) heads.push_back(random_head(rng, hs));
  }
  b.run(heads, 10 * heads.size() + 100);
}

TEST(HeadQuant, RealModelShapesBackToBack) {
  // One attention step's heads per layer: n_heads + 2 n_kv_heads of one head
  // size (stories260K 8, aidreams260K 16, stories15M 48, stories42M 64).
  for (const int hs : {8, 16, 48, 64}) {
    SCOPED_TRACE(hs);
    Bench b;
    b.h.reset();
    b.run(random_heads(24 * 4, 100 + hs, hs), 20 * 24 * 4);
    EXPECT_TRUE(tp::tb::has_interval(b.source.accept_cycles(), chunks(hs)));
    EXPECT_TRUE(tp::tb::has_interval(b.sink.beat_cycles(), chunks(hs)));
    EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), latency(hs)));
  }
}

// ------------------------------------------------------- configuration ---
TEST(HeadQuant, BadHeadSizeGivesADefinedErrorRowAndAStickyFlag) {
  Bench b;
  b.h.reset();
  EXPECT_FALSE(b.h->err_cfg_o);
  std::mt19937_64 rng(2);
  b.run(random_heads(20, 3), 500);
  EXPECT_FALSE(b.h->err_cfg_o) << "no error from good head sizes";
  std::vector<Head> heads;
  for (const int bad : {0, 65, 66, 100, 127}) {
    Head h = random_head(rng, 64);
    h.head_size = bad;
    heads.push_back(h);
    heads.push_back(random_head(rng, 1 + static_cast<int>(rng() % 64)));  // good heads after it stay exact
  }
  b.run(heads, 500);
  EXPECT_TRUE(b.h->err_cfg_o);
  b.run(random_heads(20, 4), 500);
  EXPECT_TRUE(b.h->err_cfg_o) << "the flag is sticky";
  // A bad head takes one chunk: latency 9.
  Bench t;
  t.h.reset();
  Head bad = random_head(rng, 64);
  bad.head_size = 0;
  t.run({bad, bad, bad}, 100);
  EXPECT_TRUE(tp::tb::has_latency(t.source.accept_cycles(), t.sink.beat_cycles(), latency(0)));
  EXPECT_TRUE(tp::tb::has_interval(t.source.accept_cycles(), 1));
  t.h.reset();
  EXPECT_FALSE(t.h->err_cfg_o) << "reset clears the flag";
}

// ---------------------------------------------- backpressure test matrix ---
class HeadQuantStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(HeadQuantStallMatrix, EveryRowExactInOrder) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.h.reset();
  constexpr size_t kHeads = 3000;  // head size changes from head to head
  b.run(random_heads(kHeads, 5), 40 * kHeads);
  b.h.tick(30);
  EXPECT_EQ(b.sink.received(), kHeads);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, HeadQuantStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// -------------------------------------------------------------- timing ---
TEST(HeadQuant, LatencyAndIntervalPerHeadSize) {
  for (const int hs : {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64}) {
    SCOPED_TRACE(hs);
    Bench b;
    b.h.reset();
    b.run(random_heads(60, 6 + hs, hs), 1000);
    EXPECT_TRUE(tp::tb::has_interval(b.source.accept_cycles(), chunks(hs)));
    EXPECT_TRUE(tp::tb::has_interval(b.sink.beat_cycles(), chunks(hs)));
    EXPECT_TRUE(tp::tb::has_latency(b.source.accept_cycles(), b.sink.beat_cycles(), latency(hs)));
  }
}

TEST(HeadQuant, MixedHeadSizesFollowTheTwoStageTiming) {
  // Without stalls, head i (c_i chunks) accepted at edge e_i moves from M to
  // D at edge h_i = max(e_i + c_i, h_{i-1} + c_{i-1}) (its maximum is folded,
  // and D has issued the previous head's last chunk), the next head is
  // accepted at that edge, and the row leaves at h_i + c_i + 7. One head size
  // throughout gives II c and latency 7 + 2c.
  Bench b;
  b.h.reset();
  const std::vector<Head> heads = random_heads(400, 7);
  b.run(heads, 8000);
  const auto& in = b.source.accept_cycles();
  const auto& out = b.sink.beat_cycles();
  ASSERT_EQ(in.size(), heads.size());
  ASSERT_EQ(out.size(), heads.size());
  uint64_t accept = in[0], previous_handoff = 0;
  int previous_chunks = 0;
  for (size_t i = 0; i < heads.size(); ++i) {
    const int c = chunks(heads[i].head_size);
    const uint64_t handoff = std::max<uint64_t>(accept + c, i == 0 ? 0 : previous_handoff + previous_chunks);
    EXPECT_EQ(in[i], accept) << "head " << i << " size " << heads[i].head_size << " accepted";
    EXPECT_EQ(out[i], handoff + c + 7) << "head " << i << " size " << heads[i].head_size << " out";
    accept = handoff;
    previous_handoff = handoff;
    previous_chunks = c;
  }
}

TEST(HeadQuant, SinkStallHoldsThePipeline) {
  // M and D registers, 6 divider stages and the row register: 9 one-chunk heads.
  Bench b;
  b.h.reset();
  b.expect_sink_stall_holds(random_heads(40, 8, kDivLanes), 9);
}

// --------------------------------------------------------------- reset ---
TEST(HeadQuant, ResetMidStreamDropsInFlightHeadsAndRestartsCleanly) {
  Bench b(StallGenerator(0.3, 7), StallGenerator(0.5, 9));
  b.h.reset();
  std::mt19937_64 rng(1);
  Head bad = random_head(rng, 64);
  bad.head_size = 0;
  std::vector<Head> heads = random_heads(200, 9);
  heads.insert(heads.begin() + 3, bad);  // sets err_cfg_o before the reset
  b.source.push_all(heads);
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 20; }, 3000, "20 rows before reset"));
  EXPECT_TRUE(b.h->err_cfg_o);
  b.h.reset(2);
  EXPECT_FALSE(b.h->err_cfg_o);
  b.expect_clean_after_reset(40);
  b.run(random_heads(300, 10), 6000);
}

TEST(HeadQuant, DefinedAfterResetFromRandomInitialState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b({}, {}, options);
    b.h.reset(1);
    EXPECT_FALSE(b.h->err_cfg_o);
    b.expect_clean_after_reset(30);
    // Short heads first: the lanes their chunks never write must read zero.
    std::vector<Head> heads = random_heads(20, options.random_init_seed, 5);
    const std::vector<Head> more = random_heads(50, options.random_init_seed + 100);
    heads.insert(heads.end(), more.begin(), more.end());
    b.run(heads, 1000);
  });
}

}  // namespace
