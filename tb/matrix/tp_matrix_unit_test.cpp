// tp_matrix_unit testbench: the matrix engine behind its weight port, fed from
// the HBM model with weight-image matrix sections (docs/weight-image.md).
// Golden: tp::fx::matvec per token; every output beat (a row group of one
// token) is compared in the cycle it appears, under stalls on every stream.
// Three builds run these tests (tb/matrix/tp_matrix_unit*.cmake): the default
// parameters, LoadBeats 2 (two weight beats per cycle from the port's FIFO)
// and LoadBeats 2 with a 16 x 16 array; TP_MATRIX_UNIT_LOAD_BEATS and
// TP_MATRIX_UNIT_COLS tell the test which.
#include "matrix/matrix_unit_bench.h"
#include "matrix/matrix_workload.h"

#include "common/stall_matrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#ifndef TP_MATRIX_UNIT_LOAD_BEATS
#define TP_MATRIX_UNIT_LOAD_BEATS 1  // the verilated LoadBeats parameter
#endif
#ifndef TP_MATRIX_UNIT_COLS
#define TP_MATRIX_UNIT_COLS 8  // the verilated Cols parameter
#endif

namespace {

using tp::fx::QuantMatrix;
using tp::fx::QuantVector;
using tp::tb::HbmConfig;
using tp::tb::MatrixUnitBench;
using tp::tb::random_matrix;
using tp::tb::random_vector;
using tp::tb::random_workload;
using tp::tb::run_all;
using tp::tb::run_prefetched;
using tp::tb::StallGenerator;
using tp::tb::Workload;

constexpr int kMaxTokens = 32;  // tp_pkg::MaxBatchTokens
constexpr int kRows = 16, kCols = TP_MATRIX_UNIT_COLS;  // tp_pkg::ArrayRows, ArrayCols at the default
constexpr int kLoadBeats = TP_MATRIX_UNIT_LOAD_BEATS;

// ------------------------------------------------------------ stall matrix ---
// {cmd, act, out, R} each never or randomly stalling; random shapes (rows and
// cols not multiples of 32 or of the array), INT8 and INT4, 1..8 tokens.
class MatrixUnitStallMatrix : public ::testing::TestWithParam<std::tuple<double, double, double, double>> {};

TEST_P(MatrixUnitStallMatrix, EveryBeatMatchesMatvec) {
  const auto [cmd_p, act_p, out_p, r_p] = GetParam();
  const Workload w = random_workload(11 + static_cast<uint64_t>(100 * (cmd_p + 2 * act_p + 4 * out_p + 8 * r_p)), 10, 8);
  MatrixUnitBench b(w.image, HbmConfig{.latency = 100, .r_stall = StallGenerator(r_p, 5)}, StallGenerator(cmd_p, 1),
                    StallGenerator(act_p, 2), StallGenerator(out_p, 3));
  b.h.reset();
  run_all(b, w, 400000);
}

INSTANTIATE_TEST_SUITE_P(Streams, MatrixUnitStallMatrix, tp::tb::stall_matrix<4>(),
                         tp::tb::stall_matrix_names("Cmd", "Act", "Out", "R"));

// ------------------------------------------------------------ directed ---
TEST(MatrixUnit, GemmWithTheMostTokensAndTheRealModelsShapes) {
  std::mt19937_64 rng(3);
  Workload w;
  for (const auto& [rows, cols] : {std::pair{344, 64}, std::pair{64, 172}, std::pair{128, 64}}) {
    for (const int bits : {8, 4}) {
      std::vector<QuantVector> xs;
      for (int t = 0; t < kMaxTokens; ++t) xs.push_back(random_vector(rng, cols));
      w.add(random_matrix(rng, rows, cols, bits), std::move(xs));
    }
  }
  w.finish();
  MatrixUnitBench b(w.image, HbmConfig{.latency = 200});
  b.h.reset();
  run_all(b, w, 600000);
}

TEST(MatrixUnit, ExtremeScalesReachEverySaturationAndRoundingPath) {
  const Workload w = random_workload(77, 12, 4, true);
  MatrixUnitBench b(w.image, HbmConfig{.latency = 20}, {}, {}, StallGenerator(0.3, 9));
  b.h.reset();
  run_all(b, w, 400000);
  // The data really reached the limits: some lanes saturated both ways.
  bool high = false, low = false;
  for (const auto& beat : b.sink.beats()) {
    for (unsigned j = 0; j < beat.rows; ++j) {
      high |= beat.lanes[j] == INT32_MAX;
      low |= beat.lanes[j] == INT32_MIN;
    }
  }
  EXPECT_TRUE(high && low);
}

TEST(MatrixUnit, ResetInTheMiddleDropsEverythingThenWorks) {
  const Workload first = random_workload(21, 6, 6);
  MatrixUnitBench b(first.image, HbmConfig{.latency = 60});
  b.h.reset();
  for (const auto& job : first.jobs) b.push(job);
  b.h.tick(700);  // in the middle of the work
  EXPECT_GT(b.scoreboard.checked(), 0u);
  b.h.reset();
  EXPECT_EQ(b.h->out_valid_o, 0);
  EXPECT_EQ(b.h->perf_busy_o, 0u);
  // Then the whole workload again from scratch.
  run_all(b, first, 400000);
}

TEST(MatrixUnit, OutputsAreDefinedAfterResetFromAnyInitialState) {
  tp::tb::for_each_random_init([](const tp::tb::HarnessOptions& options) {
    const Workload w = random_workload(options.random_init_seed, 3, 3);
    MatrixUnitBench b(w.image, HbmConfig{.latency = 30}, {}, {}, {}, options);
    b.h.reset();
    EXPECT_EQ(b.h->out_valid_o, 0);
    run_all(b, w, 100000);
  });
}

// ------------------------------------------------------------ errors ---
TEST(MatrixUnit, ABadCommandIsDroppedAndFlagged) {
  const Workload w = random_workload(5, 2, 2);
  MatrixUnitBench b(w.image, HbmConfig{.latency = 30});
  b.h.reset();
  tp::tb::MatrixCommand bad = tp::tb::command_for(w.jobs[0]);
  bad.tokens = kMaxTokens + 1;
  bad.beats = 1;
  b.cmds.push(bad);  // the port reads one beat; the engine drops the command
  b.h.tick(300);
  EXPECT_EQ(b.h->err_bad_cmd_o, 1);
  EXPECT_EQ(b.h->err_weight_last_o, 0);
  b.h.reset();  // the port's stray beat is discarded with the reset
  EXPECT_EQ(b.h->err_bad_cmd_o, 0);
  run_all(b, w, 100000);
}

TEST(MatrixUnit, AShortActivationSetIsFlagged) {
  const Workload w = random_workload(6, 1, 3);
  MatrixUnitBench b(w.image, HbmConfig{.latency = 30});
  b.h.reset();
  auto acts = tp::tb::activation_beats(w.jobs[0]);
  acts.erase(acts.begin());  // one group missing
  b.sink.pause(true);        // the results are wrong by construction: not compared
  b.cmds.push(tp::tb::command_for(w.jobs[0]));
  b.acts.push_all(acts);
  b.h.tick(2000);
  EXPECT_EQ(b.h->err_act_count_o, 1);
  EXPECT_EQ(b.h->err_weight_last_o, 0);
}

TEST(MatrixUnit, AWeightStreamOfTheWrongLengthIsFlagged) {
  const Workload w = random_workload(8, 2, 1);  // the second section gives the extra beat
  MatrixUnitBench b(w.image, HbmConfig{.latency = 30});
  b.h.reset();
  tp::tb::MatrixCommand c = tp::tb::command_for(w.jobs[0]);
  c.beats += 1;  // one beat too many: last arrives after the command's last tile
  b.sink.pause(true);
  b.cmds.push(c);
  b.acts.push_all(tp::tb::activation_beats(w.jobs[0]));
  b.h.tick(2000);
  EXPECT_EQ(b.h->err_weight_last_o, 1);
}

// ------------------------------------------------------------ timing ---
// One tile (rows <= 32, cols <= 32), one token: the result leaves exactly
// 2 (port FIFO) + passes x slices (issues) + log2(Rows) + 8 cycles after the
// tile's last weight beat left the memory.
TEST(MatrixUnit, ASingleTileResultHasTheStatedLatency) {
  std::mt19937_64 rng(4);
  for (const int cols : {32, 9}) {
    Workload w;
    w.add(random_matrix(rng, 32, cols, 8), {random_vector(rng, cols)});
    w.finish();
    MatrixUnitBench b(w.image, HbmConfig{.latency = 50});
    b.h.reset();
    run_all(b, w, 10000);
    const uint64_t slices = (static_cast<uint64_t>(cols) + kRows - 1) / kRows, passes = 32 / kCols;
    ASSERT_EQ(b.sink.beat_cycles().size(), 1u);
    EXPECT_EQ(b.sink.beat_cycles()[0] - b.hbm.last_beat_cycle(), 2 + passes * slices + 4 + 8) << "cols " << cols;
  }
}

// Back-to-back GEMVs run at the weight-port bound once the first one's
// memory latency is paid (the token pipeline hides it by prefetching).
TEST(MatrixUnit, BackToBackGemvKeepsTheWeightPortBusy) {
  for (const int bits : {8, 4}) {
    std::mt19937_64 rng(12);
    Workload w;
    const QuantMatrix m = random_matrix(rng, 344, 64, bits);
    for (int i = 0; i < 6; ++i) w.add(m, {random_vector(rng, 64)});
    w.finish();
    MatrixUnitBench b(w.image, HbmConfig{.latency = 200});
    b.h.reset();
    run_all(b, w, 100000);
    const std::vector<uint64_t> ends = b.command_end_cycles();
    ASSERT_EQ(ends.size(), 6u);
    const double beats = 5.0 * static_cast<double>(tp::fx::matrix_section_bytes(344, 64, bits) / 64);
    const double utilization = beats / static_cast<double>(ends.back() - ends.front());
    EXPECT_GE(utilization, 0.97) << "INT" << bits;
    RecordProperty("weight_port_utilization_int" + std::to_string(bits), std::to_string(utilization));
  }
}

// Catch-up after a gap: the whole section is already in the port's FIFO
// (prefetched while the pipeline did vector work) when the activations
// arrive; the engine has two tiles in its banks and loads the rest from the
// FIFO. At LoadBeats 1 that takes at least the remaining beats in cycles; at
// LoadBeats 2 a tile loads in 8.5 (INT8) or 4.5 (INT4) cycles, so the GEMV
// ends after max(load, issues) per tile: ~beats / 2 for INT8, and for INT4
// with a 16 x 16 array (at 16 x 8 INT4 is bound by the 8 issues per tile).
// Measured from the last activation beat to the last result.
TEST(MatrixUnit, PrefetchedWeightsAreTakenAtLoadBeatsPerCycle) {
  constexpr double kFixed = 24;  // issue pipeline (log2(Rows) + 8 + 2) and the first tile's issues
  for (const int bits : {8, 4}) {
    for (const auto& [rows, cols] : {std::pair{64, 64}, std::pair{192, 64}, std::pair{344, 64}, std::pair{64, 172}}) {
      std::mt19937_64 rng(static_cast<uint64_t>(rows + cols + bits));
      Workload w;
      w.add(random_matrix(rng, rows, cols, bits), {random_vector(rng, cols)});
      w.finish();
      MatrixUnitBench b(w.image, HbmConfig{.latency = 200});
      b.h.reset();
      run_prefetched(b, w, 10000);
      const double beats = tp::tb::command_for(w.jobs[0]).beats, tile_beats = bits == 8 ? 17 : 9;
      const double tiles = std::ceil(rows / 32.0) * std::ceil(cols / 32.0);
      const double issues = static_cast<double>(b.h->perf_issue_o);
      const double cycles = static_cast<double>(b.sink.beat_cycles().back() - b.acts.accept_cycles().back());
      const std::string label = "INT" + std::to_string(bits) + " " + std::to_string(rows) + "x" + std::to_string(cols);
      std::printf("[ catch-up ] LoadBeats %d, %dx%d array, %s: %g beats (%g tiles, %g issues) in %g cycles (%.3f "
                  "cycles/beat)\n",
                  kLoadBeats, kRows, kCols, label.c_str(), beats, tiles, issues, cycles, cycles / beats);
      RecordProperty("catch_up_cycles_" + label, std::to_string(cycles));
      if (kLoadBeats == 1) {
        // One beat per cycle: everything but the two banks' tiles still streams.
        EXPECT_GE(cycles, beats - 2 * tile_beats) << label;
      } else if (bits == 8 || kRows * kCols >= 256) {
        EXPECT_LE(cycles, 0.6 * beats + kFixed) << label;
      } else {
        // Bound by the array, not by the loader: a tile takes at most
        // (32 / Rows)(32 / Cols) issues (a full one; docs/matrix-engine.md).
        EXPECT_LE(cycles, tiles * (32 / kRows) * (32 / kCols) + kFixed) << label;
        EXPECT_LE(issues, tiles * (32 / kRows) * (32 / kCols)) << label;
      }
    }
  }
}

// Prefetched commands back to back: small random matrices (partial row
// groups and block columns, INT8 and INT4, 1..3 tokens) whose sections are
// all in the port's FIFO before any activation arrives, so a pair of beats
// can straddle every tile, row group and command boundary (at LoadBeats 2
// the second beat of a pair that ends a command waits for the next cycle).
TEST(MatrixUnit, PrefetchedCommandsBackToBackMatchMatvec) {
  for (const uint64_t seed : {41, 42, 43, 44}) {
    std::mt19937_64 rng(seed);
    Workload w;
    uint64_t beats = 0;
    while (w.jobs.size() < 8) {  // the engine's command queue
      const int rows = 1 + static_cast<int>(rng() % 40), cols = 1 + static_cast<int>(rng() % 64);
      const int bits = rng() % 2 ? 8 : 4, tokens = 1 + static_cast<int>(rng() % 3);
      beats += tp::fx::matrix_section_bytes(rows, cols, bits) / 64;
      if (beats > 480) break;  // within the port's FIFO
      std::vector<QuantVector> xs;
      for (int t = 0; t < tokens; ++t) xs.push_back(random_vector(rng, cols));
      w.add(random_matrix(rng, rows, cols, bits), std::move(xs));
    }
    w.finish();
    SCOPED_TRACE(::testing::Message() << "seed " << seed << ", " << w.jobs.size() << " commands");
    MatrixUnitBench b(w.image, HbmConfig{.latency = 50}, {}, {}, StallGenerator(seed == 44 ? 0.3 : 0.0, 6));
    b.h.reset();
    run_prefetched(b, w, 20000);
  }
}

// Split commands (cmd_kind_i), as the token pipeline uses them across
// blocks: sections requested ahead with kPrefetch are computed later by
// kFetched commands (the engine takes the stream's next beats), and
// prefetched sections no matrix will use are discarded with kDrop before the
// next command. A kFetched that fetched again, or a drop of the wrong count,
// would shift every later section and break the results.
TEST(MatrixUnit, PrefetchedSectionsComputeLaterOrAreDropped) {
  using tp::tb::CommandKind;
  using tp::tb::MatrixCommand;
  for (const uint64_t seed : {51, 52, 53}) {
    std::mt19937_64 rng(seed);
    Workload w;
    for (int i = 0; i < 8; ++i) {
      const int rows = 1 + static_cast<int>(rng() % 40), cols = 1 + static_cast<int>(rng() % 64);
      std::vector<QuantVector> xs;
      for (int t = 0, n = 1 + static_cast<int>(rng() % 3); t < n; ++t) xs.push_back(random_vector(rng, cols));
      w.add(random_matrix(rng, rows, cols, rng() % 2 ? 8 : 4), std::move(xs));
    }
    w.finish();
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    const double stall = seed == 53 ? 0.3 : 0.0;
    MatrixUnitBench b(w.image, HbmConfig{.latency = 60, .r_stall = StallGenerator(stall, 7)}, StallGenerator(stall, 8),
                      StallGenerator(stall, 9), StallGenerator(stall, 10));
    b.h.reset();
    const auto command = [&](size_t j, CommandKind kind) {
      MatrixCommand c = tp::tb::command_for(w.jobs[j]);
      c.kind = kind;
      b.cmds.push(c);
      if (c.computes()) b.acts.push_all(tp::tb::activation_beats(w.jobs[j]));
      return c.computes() ? static_cast<size_t>((w.jobs[j].matrix->rows + 31) / 32) * w.jobs[j].tokens.size() : 0;
    };
    size_t beats = 0;
    // Job 0 as usual with jobs 1 and 2 requested behind it, computed later.
    beats += command(0, CommandKind::kBoth);
    beats += command(1, CommandKind::kPrefetch);
    beats += command(2, CommandKind::kPrefetch);
    ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() == beats; }, 50000, "job 0"));
    beats += command(1, CommandKind::kFetched);
    beats += command(2, CommandKind::kFetched);
    beats += command(3, CommandKind::kBoth);
    ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() == beats; }, 50000, "jobs 1 to 3"));
    // Jobs 4 and 5 requested and dropped (the engine idle); job 6 then reads
    // its own section, and job 7 is prefetched and computed.
    beats += command(4, CommandKind::kPrefetch);
    beats += command(5, CommandKind::kPrefetch);
    MatrixCommand drop{.beats = tp::tb::command_for(w.jobs[4]).beats + tp::tb::command_for(w.jobs[5]).beats,
                       .kind = CommandKind::kDrop};
    b.cmds.push(drop);
    beats += command(6, CommandKind::kBoth);
    beats += command(7, CommandKind::kPrefetch);
    beats += command(7, CommandKind::kFetched);
    ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() == beats; }, 50000, "jobs 6 and 7"));
    b.h.tick(200);
    tp::tb::expect_all_checked(b, beats);
    EXPECT_FALSE(b.h->err_weight_last_o);
  }
}

}  // namespace
