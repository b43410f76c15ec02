// Testbench of rtl/units/tp_online_softmax.sv (default TileSize 16, MaxScores
// 1024, SumWidth 27). Golden model: tp::fx::OnlineSoftmax (golden/int/
// attention.cpp), driven the way tp::fx::attention drives it: per tile
// start_tile(max) then weight(score) for each score; at the end of the query
// sum() and max(). Every output beat (shift, weight, final) is compared in the
// cycle it appears. Stated timing: shift beat 6 cycles after the tile's last
// score, one output beat per cycle, c + 1 cycles per tile of c scores.
#include "Vtp_online_softmax.h"
#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"
#include "golden/int/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

namespace {

using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::Scoreboard;
using tp::tb::Sink;
using tp::tb::Source;
using tp::tb::StallGenerator;

constexpr int kTile = 16;             // TileSize = tp_pkg::PageSize = tp::fx::kAttentionTile
constexpr unsigned kShiftLatency = 6;  // last score of a tile -> its shift beat
constexpr int32_t kOne = 65536;
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
static_assert(kTile == tp::fx::kAttentionTile);

struct In {
  int32_t score = 0;
  bool last_tile = false;
  bool last_query = false;
};

enum Kind : uint32_t { kWeight = 0, kShift = 1, kFinal = 2 };

// One output beat, only the fields of its kind (the others are undefined).
struct Out {
  uint32_t kind = kWeight;
  uint32_t value = 0;  // weight: p; shift: the shift
  uint64_t sum = 0;    // final: l
  int32_t max = 0;     // final: m
  bool operator==(const Out&) const = default;
};
void PrintTo(const Out& o, std::ostream* os) {
  static const char* const names[] = {"weight", "shift", "final", "?"};
  *os << names[std::min(o.kind, 3u)];
  if (o.kind == kFinal) *os << " l=" << o.sum << " m=" << o.max;
  else *os << " " << o.value;
}

Out weight_beat(uint32_t p) { return {kWeight, p, 0, 0}; }
Out shift_beat(int shift) { return {kShift, static_cast<uint32_t>(shift), 0, 0}; }

// The golden model on the input stream: buffers a tile (ends at last_tile,
// last_query or kTile scores), then runs OnlineSoftmax over it.
class Golden {
 public:
  std::vector<Out> operator()(const In& in) {
    tile_.push_back(in.score);
    std::vector<Out> out;
    if (!(in.last_tile || in.last_query || static_cast<int>(tile_.size()) == kTile)) return out;
    const int64_t tile_max = *std::max_element(tile_.begin(), tile_.end());
    out.push_back(shift_beat(softmax_.start_tile(tile_max)));
    for (int64_t s : tile_) out.push_back(weight_beat(softmax_.weight(s)));
    tile_.clear();
    if (in.last_query) {
      out.push_back({kFinal, 0, static_cast<uint64_t>(softmax_.sum()), static_cast<int32_t>(softmax_.max())});
      softmax_ = {};
    }
    return out;
  }
  void reset() {
    tile_.clear();
    softmax_ = {};
  }

 private:
  std::vector<int64_t> tile_;
  tp::fx::OnlineSoftmax softmax_;
};

struct SoftmaxBench {
  explicit SoftmaxBench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
      : h(options),
        source(
            h,
            [this](bool valid, const In& beat) {
              h->in_valid_i = valid;
              h->in_score_i = static_cast<uint32_t>(beat.score);
              h->in_last_tile_i = beat.last_tile;
              h->in_last_query_i = beat.last_query;
            },
            [this] { return h->in_ready_o != 0; }, source_stall),
        sink(
            h, [this](bool ready) { h->out_ready_i = ready; }, [this] { return h->out_valid_o != 0; },
            [this] { return read_out(); }, sink_stall),
        scoreboard(h, "softmax") {
    source.on_accept([this](const In& in, uint64_t) {
      for (const Out& o : golden(in)) {
        scoreboard.expect(o);
        ++expected;
        expected_beats.push_back(o);
      }
    });
    sink.on_beat([this](const Out& o, uint64_t cycle) { scoreboard.observe(o, cycle); });
  }

  Out read_out() {
    Out o;
    o.kind = h->out_kind_o;
    if (o.kind == kWeight) o.value = h->out_p_o;
    if (o.kind == kShift) o.value = h->out_shift_o;
    if (o.kind == kFinal) {
      o.sum = h->out_sum_o;
      o.max = static_cast<int32_t>(h->out_max_o << 15) >> 15;  // 17-bit signed
    }
    return o;
  }

  void push(const std::vector<In>& beats) {
    source.push_all(beats);
    pushed += beats.size();
  }
  // Runs until every pushed score was accepted and every expected beat seen.
  void run(uint64_t max_cycles) {
    ASSERT_TRUE(h.run_until([&] { return source.accepted() == pushed && scoreboard.checked() == expected; },
                            max_cycles, "every score and beat through tp_online_softmax"));
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(scoreboard.pending(), 0u);
  }
  void reset(unsigned cycles = 4) {
    h.reset(cycles);
    golden.reset();
    pushed = 0;
    expected = 0;
  }

  Harness<Vtp_online_softmax> h;
  Source<In> source;
  Sink<Out> sink;
  Scoreboard<Out> scoreboard;
  Golden golden;
  size_t pushed = 0, expected = 0;  // since the last reset
  std::vector<Out> expected_beats;  // every golden beat, for coverage
};

// ------------------------------------------------------- query generator ---
enum class Pattern { kUniform, kRising, kFalling, kEqual, kHugeJumps, kNegative, kFullRange, kCount };
enum class Tiling { kPages, kPagesExplicit, kRandomTiles };

int32_t clamp32(int64_t v) { return static_cast<int32_t>(std::clamp<int64_t>(v, kMin, kMax)); }

std::vector<In> make_query(std::mt19937_64& rng, int length, Pattern pattern, Tiling tiling) {
  std::vector<In> q(length);
  int64_t level = static_cast<int64_t>(rng() % (40 * kOne)) - 20 * kOne;
  for (int i = 0; i < length; ++i) {
    const int64_t noise = static_cast<int64_t>(rng() % (8 * kOne)) - 4 * kOne;
    switch (pattern) {
      case Pattern::kUniform: q[i].score = clamp32(level + noise); break;
      case Pattern::kRising: level += static_cast<int64_t>(rng() % (3 * kOne)); q[i].score = clamp32(level); break;
      case Pattern::kFalling: level -= static_cast<int64_t>(rng() % (3 * kOne)); q[i].score = clamp32(level); break;
      case Pattern::kEqual: q[i].score = clamp32(level & ~int64_t{0xFFFF}); break;  // integer: p = 1.0
      case Pattern::kHugeJumps: {
        const uint64_t r = rng() % 4;
        q[i].score = r == 0 ? kMin : r == 1 ? kMax : clamp32(static_cast<int64_t>(rng() % 200 - 100) * kOne * 10 + noise);
        break;
      }
      case Pattern::kNegative: q[i].score = clamp32(-static_cast<int64_t>(rng() % (1ll << 31))); break;
      default: q[i].score = static_cast<int32_t>(static_cast<uint32_t>(rng())); break;
    }
  }
  int in_tile = 0;
  int tile_size = 1 + static_cast<int>(rng() % kTile);
  for (int i = 0; i < length; ++i) {
    ++in_tile;
    if (tiling == Tiling::kPagesExplicit) q[i].last_tile = in_tile == kTile;
    if (tiling == Tiling::kRandomTiles && in_tile == tile_size) {
      q[i].last_tile = true;
      tile_size = 1 + static_cast<int>(rng() % kTile);
    }
    if (q[i].last_tile || in_tile == kTile) in_tile = 0;
  }
  q.back().last_query = true;
  return q;
}

std::vector<In> random_queries(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<In> beats;
  for (size_t i = 0; i < n; ++i) {
    const int length = rng() % 4 == 0 ? 1 + static_cast<int>(rng() % 20) : 1 + static_cast<int>(rng() % 200);
    const auto pattern = static_cast<Pattern>(rng() % static_cast<uint64_t>(Pattern::kCount));
    const auto tiling = static_cast<Tiling>(rng() % 3);
    const auto q = make_query(rng, length, pattern, tiling);
    beats.insert(beats.end(), q.begin(), q.end());
  }
  return beats;
}

// ---------------------------------------------- backpressure test matrix ---
class SoftmaxStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(SoftmaxStallMatrix, RandomQueriesMatchGoldenBeatByBeat) {
  const auto [source_p, sink_p] = GetParam();
  SoftmaxBench b(StallGenerator(source_p, 11), StallGenerator(sink_p, 23));
  b.reset();
  const auto beats = random_queries(150, 1);
  b.push(beats);
  b.run(20 * beats.size() + 1000);
  b.h.tick(20);  // nothing more may come out
  EXPECT_EQ(b.sink.received(), b.expected);
  // Coverage of the corner cases the random queries must reach.
  size_t capped = 0, partial = 0, zero_p = 0, one_p = 0, finals = 0, big_max = 0;
  for (const Out& o : b.expected_beats) {
    capped += o.kind == kShift && o.value == 126;
    partial += o.kind == kShift && o.value > 0 && o.value < 126;
    zero_p += o.kind == kWeight && o.value == 0;
    one_p += o.kind == kWeight && o.value == 65536;
    finals += o.kind == kFinal;
    big_max += o.kind == kFinal && o.max == 32768;
  }
  EXPECT_GT(capped, 0u) << "no shift capped at 126";
  EXPECT_GT(partial, 10u) << "too few ordinary shifts";
  EXPECT_GT(zero_p, 10u) << "too few p = 0";
  EXPECT_GT(one_p, 10u) << "too few p = 1.0";
  EXPECT_EQ(finals, 150u);
  EXPECT_GT(big_max, 0u) << "m never reached 32768";
}

INSTANTIATE_TEST_SUITE_P(SourceSink, SoftmaxStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Source", "Sink"));

// ------------------------------------------------------------ directed ---
TEST(OnlineSoftmax, DirectedTilesShiftsAndExtremes) {
  // Expected beats written out by hand (and checked against the golden model
  // by the scoreboard): integer max, rescale shift and its cap, p = 0, the
  // 33-bit magnitude 2^32, automatic tile end after 16 scores.
  SoftmaxBench b;
  b.reset();
  std::vector<In> q;
  // Query 1: tile {0.5, -1.0}: m = 1, p = 2^-0.5, 2^-2; tile {2.0}: shift 1.
  q = {{kOne / 2, false, false}, {-kOne, true, false}, {2 * kOne, false, true}};
  b.push(q);
  // Query 2: tile {-2^31, 2^31 - 1}: m = 32768, magnitudes 2^32 and 1.
  q = {{kMin, false, false}, {kMax, false, true}};
  b.push(q);
  // Query 3: tile {-2^31}: m = -32768; tile {2^31 - 1}: shift capped at 126.
  q = {{kMin, true, false}, {kMax, false, true}};
  b.push(q);
  // Query 4: 17 equal scores, no tile flag: tiles of 16 and 1.
  q.assign(17, {3 * kOne, false, false});
  q.back().last_query = true;
  b.push(q);
  b.run(500);
  std::vector<Out> expected = {
      // Query 1: l = round_shift(46341 + 16384, -1) + 65536 = 31363 + 65536.
      shift_beat(0), weight_beat(46341), weight_beat(16384), shift_beat(1), weight_beat(65536),
      {kFinal, 0, 31363 + 65536, 2},
      // Query 2: 2^-2^16 = 0 (magnitude 2^32), 2^-(1/65536) = 65535.
      shift_beat(0), weight_beat(0), weight_beat(65535), {kFinal, 0, 65535, 32768},
      // Query 3: m = -32768 then 32768: shift 65536 capped at 126, l -> 0.
      shift_beat(0), weight_beat(65536), shift_beat(126), weight_beat(65535), {kFinal, 0, 65535, 32768},
      // Query 4: a page of 16, then a tile of 1.
      shift_beat(0)};
  for (int i = 0; i < kTile; ++i) expected.push_back(weight_beat(65536));
  expected.push_back(shift_beat(0));
  expected.push_back(weight_beat(65536));
  expected.push_back({kFinal, 0, 17 * 65536, 3});
  EXPECT_EQ(b.expected_beats, expected);  // the golden model agrees with the hand values
  EXPECT_EQ(b.sink.beats(), expected);
}

// ------------------------------------------------------------- timing ---
TEST(OnlineSoftmax, LatencyOfShiftWeightsAndFinal) {
  // Idle unit, sink ready: a tile of c scores whose last score is accepted at
  // edge k gives its shift beat at k + 6, weight j at k + 7 + j, the final
  // beat at k + 7 + c.
  SoftmaxBench b;
  b.reset();
  std::mt19937_64 rng(3);
  for (int c = 1; c <= kTile; ++c) {
    const size_t first_out = b.sink.received();
    b.push(make_query(rng, c, Pattern::kUniform, Tiling::kPages));
    b.run(200);
    const uint64_t k = b.source.accept_cycles().back();
    const auto& cycles = b.sink.beat_cycles();
    ASSERT_EQ(cycles.size(), first_out + c + 2);
    EXPECT_EQ(cycles[first_out], k + kShiftLatency) << "c = " << c;
    for (int j = 0; j <= c; ++j) EXPECT_EQ(cycles[first_out + 1 + j], k + kShiftLatency + 1 + j) << "c = " << c;
    b.h.tick(5);  // idle again
  }
}

TEST(OnlineSoftmax, ThroughputOneOutputBeatPerCycleAndTilePlusOneCyclesPerTile) {
  // Back-to-back queries of whole pages, no stalls: the output never idles
  // once started, a tile of c scores takes c + 1 cycles (c + 2 with the
  // query's final beat), and the input keeps up (a page fills in 16 cycles
  // while the previous one drains in 17). A short tile followed by a whole
  // page leaves a gap: the page needs 16 cycles to arrive.
  SoftmaxBench b;
  b.reset();
  std::mt19937_64 rng(4);
  const std::vector<int> lengths = {64, 128, 16, 48, 208, 32};
  uint64_t expected_cycles = 0;
  for (int len : lengths) {
    b.push(make_query(rng, len, Pattern::kUniform, Tiling::kPages));
    const int tiles = (len + kTile - 1) / kTile;
    expected_cycles += len + tiles + 1;
  }
  b.run(20000);
  const auto& in = b.source.accept_cycles();
  const auto& out = b.sink.beat_cycles();
  EXPECT_TRUE(tp::tb::has_interval(out, 1)) << "output bubble";
  EXPECT_EQ(b.sink.received(), expected_cycles);
  EXPECT_EQ(out.front(), in[kTile - 1] + kShiftLatency);
  // Steady state inside the 208-score query (tiles 3..11): the input takes
  // 16 scores per 17 cycles, the rate of the output.
  const size_t start = 64 + 128 + 16 + 48;
  EXPECT_EQ(in[start + 11 * kTile] - in[start + 3 * kTile], 8u * (kTile + 1));
}

// -------------------------------------------------------------- reset ---
TEST(OnlineSoftmax, ResetMidQueryThenCleanQuery) {
  SoftmaxBench b(StallGenerator(0.2, 7), StallGenerator(0.5, 9));
  b.reset();
  std::mt19937_64 rng(5);
  b.push(make_query(rng, 150, Pattern::kRising, Tiling::kRandomTiles));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() >= 40; }, 2000, "40 beats before reset"));
  b.sink.pause(true);  // buffers and pipeline fill up
  b.h.tick(40);
  ASSERT_FALSE(b.h->in_ready_o) << "expected both tile buffers full before the reset";
  b.reset(2);
  EXPECT_FALSE(b.h->out_valid_o);
  EXPECT_TRUE(b.h->in_ready_o);
  b.sink.pause(false);
  b.h.tick(30);
  EXPECT_EQ(b.scoreboard.checked(), 0u) << "stale beat after reset";
  // A clean query: the sum and max must not remember the interrupted one.
  b.push(make_query(rng, 70, Pattern::kFalling, Tiling::kPages));
  b.push(random_queries(10, 6));
  b.run(20000);
}

TEST(OnlineSoftmax, OutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    SoftmaxBench b({}, {}, options);
    b.reset(1);
    EXPECT_FALSE(b.h->out_valid_o);
    EXPECT_TRUE(b.h->in_ready_o);
    b.h.tick(10);
    EXPECT_FALSE(b.h->out_valid_o) << "beat out of an idle unit";
    b.push(random_queries(5, options.random_init_seed));
    b.run(5000);
  });
}

}  // namespace
