// Testbench of rtl/units/tp_argmax.sv (default Lanes = 32, IndexWidth = 15).
// Golden model: tp::fx::argmax (golden/int/argmax.h), the lowest index of the
// largest Q16.16 logit, and the logit itself, once per vector (the beats up
// to `last`, in_count_i lanes of each). Stated timing: the result leaves
// log2(Lanes) + 1 = 6 cycles after the vector's last beat; II 1 beat.
#include "Vtp_argmax.h"
#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"
#include "golden/checkpoint.h"
#include "golden/int/argmax.h"
#include "golden/int/int_model.h"
#include "golden/int/quantized_model.h"
#include "golden/sampler.h"
#include "golden/tests/real_models.h"
#include "golden/tokenizer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::Scoreboard;
using tp::tb::Sink;
using tp::tb::Source;
using tp::tb::StallGenerator;

constexpr unsigned kLanes = 32;
constexpr unsigned kLatency = 6;  // log2(Lanes) + 1
constexpr unsigned kIndexWidth = 15;
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

struct InBeat {
  std::array<int32_t, kLanes> v{};
  unsigned count = kLanes;
  bool last = false;
};

struct Result {
  uint32_t index = 0;
  int32_t value = 0;
  bool operator==(const Result&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Result& r) {
  return os << "{index " << r.index << ", value " << r.value << "}";
}

// The beats of one logit vector; the lanes beyond its end hold garbage (they
// must not count, so make them large).
std::vector<InBeat> beats_of(const std::vector<int32_t>& logits, std::mt19937_64& rng) {
  std::vector<InBeat> beats;
  for (size_t i = 0; i < logits.size(); i += kLanes) {
    InBeat b;
    b.count = static_cast<unsigned>(std::min<size_t>(kLanes, logits.size() - i));
    for (unsigned j = 0; j < kLanes; ++j) {
      b.v[j] = j < b.count ? logits[i + j] : (rng() % 2 ? kMax : static_cast<int32_t>(rng()));
    }
    b.last = i + kLanes >= logits.size();
    beats.push_back(b);
  }
  return beats;
}

Result golden_result(const std::vector<int32_t>& logits) {
  const int i = tp::fx::argmax(logits);
  return {static_cast<uint32_t>(i), logits[static_cast<size_t>(i)]};
}

// The DUT between a source and a sink; the scoreboard's golden model gathers
// the accepted beats of a vector and expects fx::argmax at its last beat.
struct Bench {
  explicit Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : h(options),
        source(
            h,
            [this](bool valid, const InBeat& b) {
              h->in_valid_i = valid;
              for (unsigned j = 0; j < kLanes; ++j) h->in_data_i[j] = static_cast<uint32_t>(b.v[j]);
              h->in_count_i = b.count;
              h->in_last_i = b.last;
            },
            [this] { return h->in_ready_o != 0; }, std::move(source_stall)),
        sink(
            h, [this](bool ready) { h->out_ready_i = ready; }, [this] { return h->out_valid_o != 0; },
            [this] { return Result{h->out_index_o, static_cast<int32_t>(h->out_value_o)}; },
            std::move(sink_stall)),
        scoreboard(h, "out") {
    scoreboard.connect(
        source,
        [this](const InBeat& b) -> std::optional<Result> {
          for (unsigned j = 0; j < b.count; ++j) gathered.push_back(b.v[j]);
          if (!b.last) return std::nullopt;
          const Result r = golden_result(gathered);
          gathered.clear();
          last_accept_cycles.push_back(source.accept_cycles().back());
          return r;
        },
        sink);
  }

  // Pushes the vectors and runs until every result came out and matched.
  void run(const std::vector<std::vector<int32_t>>& vectors, uint64_t max_cycles, uint64_t seed = 1) {
    std::mt19937_64 rng(seed);
    const size_t target = scoreboard.checked() + vectors.size();
    for (const auto& v : vectors) source.push_all(beats_of(v, rng));
    ASSERT_TRUE(h.run_until([&] { return scoreboard.checked() == target; }, max_cycles,
                            std::to_string(vectors.size()) + " argmax results"));
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(scoreboard.pending(), 0u);
  }

  Harness<Vtp_argmax> h;
  Source<InBeat> source;
  Sink<Result> sink;
  Scoreboard<Result> scoreboard;
  std::vector<int32_t> gathered;               // accepted lanes of the vector in progress
  std::vector<uint64_t> last_accept_cycles;    // the edge each vector's last beat moved
};

// Random vectors: lengths 1 .. 1100 (mostly not multiples of 32), values from
// the full int32 range, from a few distinct values (many ties, also across
// beats), near the limits, or all equal.
std::vector<std::vector<int32_t>> random_vectors(size_t n, std::mt19937_64& rng) {
  std::vector<std::vector<int32_t>> vectors(n);
  for (auto& v : vectors) {
    v.resize(1 + rng() % (rng() % 4 == 0 ? 1100 : 100));
    const unsigned kind = rng() % 5;
    const auto base = static_cast<int32_t>(rng());
    for (auto& x : v) {
      switch (kind) {
        case 0: x = static_cast<int32_t>(rng()); break;
        case 1: x = static_cast<int32_t>(rng() % 4) - 2; break;
        case 2: x = (rng() % 2 ? kMax : kMin) + static_cast<int32_t>(rng() % 3) * (rng() % 2 ? -1 : 1); break;
        case 3: x = base; break;
        default: x = static_cast<int32_t>(rng()) >> (8 + rng() % 20); break;
      }
    }
  }
  return vectors;
}

// ---------------------------------------------- backpressure test matrix ---
class ArgmaxStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(ArgmaxStallMatrix, EveryResultMatchesGolden) {
  const auto [source_p, sink_p] = GetParam();
  Bench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.h.reset();
  std::mt19937_64 rng(7 + static_cast<uint64_t>(10 * (source_p + 2 * sink_p)));
  const auto vectors = random_vectors(300, rng);
  b.run(vectors, 200000);
  b.h.tick(20);  // nothing more may come out
  EXPECT_EQ(b.sink.received(), vectors.size());
  EXPECT_EQ(b.h->err_too_long_o, 0);
}

INSTANTIATE_TEST_SUITE_P(SourceSink, ArgmaxStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// ------------------------------------------------------------- corners ---
TEST(Argmax, TiesLimitsAndPartialBeats) {
  std::vector<std::vector<int32_t>> vectors;
  vectors.push_back({42});                              // one logit
  vectors.push_back(std::vector<int32_t>(33, kMin));    // all INT32_MIN: index 0
  vectors.push_back(std::vector<int32_t>(512, kMax));   // all INT32_MAX: index 0
  vectors.push_back(std::vector<int32_t>(100, 7));      // all equal
  {
    std::vector<int32_t> v(64, 0);                      // equal maxima at lane 31 and the next beat's lane 0
    v[31] = v[32] = 5;
    vectors.push_back(v);
  }
  {
    std::vector<int32_t> v(96, -3);                     // equal maxima in three beats: the first wins
    v[70] = v[40] = v[95] = kMax;
    vectors.push_back(v);
  }
  {
    std::vector<int32_t> v(33, kMin);                   // the maximum alone in a one-lane last beat
    v[32] = kMin + 1;
    vectors.push_back(v);
  }
  {
    std::vector<int32_t> v(45, -1);                     // the last valid lane of a partial beat
    v[44] = 0;
    vectors.push_back(v);
  }
  {
    std::vector<int32_t> v(32, kMin);                   // INT32_MAX beaten by nothing, INT32_MIN elsewhere
    v[17] = kMax;
    vectors.push_back(v);
  }
  for (const unsigned n : {1u, 31u, 32u, 33u, 63u, 65u, 172u, 511u, 512u, 513u, 32000u}) {  // vocab sizes
    std::vector<int32_t> v(n);
    for (unsigned i = 0; i < n; ++i) v[i] = static_cast<int32_t>(i % 7) * 1000 - static_cast<int32_t>(i % 3);
    vectors.push_back(v);
    vectors.push_back(std::vector<int32_t>(n, kMin));
  }
  // Every position of the maximum in a two-beat vector, with a tie after it.
  for (unsigned p = 0; p < 64; ++p) {
    std::vector<int32_t> v(64, -100);
    v[p] = 100;
    if (p + 1 < 64) v[p + 1 + (p * 7) % (63 - p)] = 100;
    vectors.push_back(v);
  }
  Bench b(StallGenerator(0.3, 3), StallGenerator(0.3, 4));
  b.h.reset();
  b.run(vectors, 100000);
  // Named results, so that golden and RTL cannot agree on something wrong.
  const auto& r = b.sink.beats();
  EXPECT_EQ(r[0], (Result{0, 42}));
  EXPECT_EQ(r[1], (Result{0, kMin}));
  EXPECT_EQ(r[2], (Result{0, kMax}));
  EXPECT_EQ(r[3], (Result{0, 7}));
  EXPECT_EQ(r[4], (Result{31, 5}));
  EXPECT_EQ(r[5], (Result{40, kMax}));
  EXPECT_EQ(r[6], (Result{32, kMin + 1}));
  EXPECT_EQ(r[7], (Result{44, 0}));
  EXPECT_EQ(r[8], (Result{17, kMax}));
}

// The classifier logits of the real models' integer engines (vocab 512):
// the RTL picks the golden greedy token at every position.
TEST(Argmax, PicksTheGoldenGreedyTokensOfTheRealModels) {
  TP_REQUIRE_MODEL_FILE("stories260K.bin");
  const auto checkpoint =
      std::make_shared<const tp::Checkpoint>(tp::read_checkpoint(tp::testing::model_path("stories260K.bin")));
  Bench b({}, StallGenerator(0.2, 5));
  b.h.reset();
  for (const int bits : {8, 4}) {
    const auto quantized = std::make_shared<const tp::fx::QuantizedModel>(tp::fx::quantize_model(*checkpoint, bits));
    tp::fx::IntModel model(quantized);
    int token = tp::kBosToken;
    for (int pos = 0; pos < 24; ++pos) {
      const auto logits = model.forward(token, pos);
      const std::vector<int32_t> q(model.logits_q16().begin(), model.logits_q16().end());
      b.run({q}, 5000);
      const uint32_t chosen = b.sink.beats().back().index;
      ASSERT_EQ(chosen, static_cast<uint32_t>(tp::sample_argmax(logits))) << "INT" << bits << " pos " << pos;
      token = static_cast<int>(chosen);
    }
  }
}

// ------------------------------------------------------------- timing ---
TEST(Argmax, LatencyAndFullRateWithoutStalls) {
  // One-beat vectors back to back: one result per cycle, each exactly
  // kLatency after its beat.
  Bench b;
  b.h.reset();
  std::mt19937_64 rng(9);
  std::vector<std::vector<int32_t>> one_beat;
  for (int i = 0; i < 100; ++i) {
    std::vector<int32_t> v(1 + rng() % kLanes);
    for (auto& x : v) x = static_cast<int32_t>(rng()) >> (rng() % 30);
    one_beat.push_back(v);
  }
  const uint64_t start = b.h.cycle();
  b.run(one_beat, 1000);
  EXPECT_TRUE(tp::tb::has_full_rate(b.source.accept_cycles(), b.sink.beat_cycles(), kLatency));
  EXPECT_EQ(b.source.accept_cycles().front(), start);
  // Long vectors: beats at II 1, each result kLatency after its last beat.
  Bench c;
  c.h.reset();
  const auto vectors = random_vectors(20, rng);
  size_t beats = 0;
  for (const auto& v : vectors) beats += (v.size() + kLanes - 1) / kLanes;
  c.run(vectors, 10 * beats + 100);
  EXPECT_TRUE(tp::tb::has_interval(c.source.accept_cycles(), 1));
  EXPECT_TRUE(tp::tb::has_latency(c.last_accept_cycles, c.sink.beat_cycles(), kLatency));
}

TEST(Argmax, LatencyHoldsUnderSourceStalls) {
  Bench b(StallGenerator(0.5, 8));
  b.h.reset();
  std::mt19937_64 rng(10);
  b.run(random_vectors(100, rng), 100000);
  EXPECT_TRUE(tp::tb::has_latency(b.last_accept_cycles, b.sink.beat_cycles(), kLatency));
}

// -------------------------------------------------------------- errors ---
TEST(Argmax, AVectorLongerThanTheIndexRangeIsFlagged) {
  Bench b;
  b.h.reset();
  // Exactly 2^15 values fit: the last index is 32767, no flag.
  constexpr unsigned kBeats = (1u << kIndexWidth) / kLanes;
  std::vector<int32_t> full(1u << kIndexWidth, 0);
  full.back() = 1;
  b.run({full}, 4 * kBeats);
  EXPECT_EQ(b.sink.beats().back(), (Result{(1u << kIndexWidth) - 1, 1}));
  EXPECT_EQ(b.h->err_too_long_o, 0) << "2^15 values still fit";
  // One beat more: flagged (the wrapped index is meaningless: not compared).
  b.sink.pause(true);
  for (unsigned i = 0; i < kBeats; ++i) b.source.push(InBeat{.v = {}, .count = kLanes, .last = false});
  b.h.tick(kBeats + 5);
  EXPECT_EQ(b.h->err_too_long_o, 1);
  b.h.reset();
  EXPECT_EQ(b.h->err_too_long_o, 0);
}

// -------------------------------------------------------------- reset ---
TEST(Argmax, ResetMidStreamDropsEverythingAndRestartsCleanly) {
  Bench b(StallGenerator(0.2, 5), StallGenerator(0.5, 6));
  b.h.reset();
  std::mt19937_64 rng(12);
  b.source.push_all(beats_of(std::vector<int32_t>(1000, 3), rng));
  for (const auto& v : random_vectors(30, rng)) b.source.push_all(beats_of(v, rng));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 3; }, 20000, "3 results before reset"));
  b.sink.pause(true);
  b.h.tick(40);  // the output register and the tree fill up
  ASSERT_TRUE(b.h->out_valid_o);
  b.h.reset(2);
  b.gathered.clear();
  b.last_accept_cycles.clear();
  EXPECT_FALSE(b.h->out_valid_o);
  EXPECT_TRUE(b.h->in_ready_o);
  b.sink.pause(false);
  b.h.tick(20);
  EXPECT_EQ(b.scoreboard.checked(), 0u) << "stale result after reset";
  // A vector starting right after the reset does not inherit the old running best.
  std::vector<int32_t> low(100, kMin);
  low[50] = kMin + 1;
  b.run({low}, 2000);
  EXPECT_EQ(b.sink.beats().back(), (Result{50, kMin + 1}));
  b.run(random_vectors(50, rng), 50000);
}

TEST(Argmax, ControlOutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b({}, {}, options);
    b.h.reset(1);
    EXPECT_FALSE(b.h->out_valid_o);
    EXPECT_TRUE(b.h->in_ready_o);
    EXPECT_FALSE(b.h->err_too_long_o);
    b.h.tick(10);
    EXPECT_EQ(b.sink.received(), 0u);
    std::mt19937_64 rng(options.random_init_seed);
    b.run(random_vectors(20, rng), 20000);
    EXPECT_TRUE(tp::tb::has_latency(b.last_accept_cycles, b.sink.beat_cycles(), kLatency));
  });
}

}  // namespace
