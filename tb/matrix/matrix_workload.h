// Random matrices, activations and workloads for the matrix engine's
// testbenches (tb/matrix/*_test.cpp), and the check that runs them.
#pragma once

#include "matrix/matrix_unit_bench.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace tp::tb {

using fx::QuantMatrix;
using fx::QuantVector;
using fx::ScaleFp;

// A random weight block scale as fp16 bits: mostly normal magnitudes around
// 2^-7, some subnormals and zeros; negative ones for INT4 (as Q4_0).
inline uint16_t random_scale(std::mt19937_64& rng, int bits) {
  const unsigned kind = rng() % 16;
  uint16_t s = 0;
  if (kind == 0) s = 0;
  else if (kind == 1) s = static_cast<uint16_t>(1 + rng() % 1023);  // subnormal
  else s = static_cast<uint16_t>(((3 + rng() % 14) << 10) | (rng() % 1024));
  if (bits == 4 && rng() % 3 == 0) s |= 0x8000;
  return s;
}

inline QuantMatrix random_matrix(std::mt19937_64& rng, int rows, int cols, int bits) {
  QuantMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.bits = bits;
  m.values.assign(static_cast<size_t>(rows) * m.padded_cols(), 0);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const int v = bits == 8 ? static_cast<int>(rng() % 255) - 127 : static_cast<int>(rng() % 16) - 8;
      m.values[static_cast<size_t>(r) * m.padded_cols() + c] = static_cast<int8_t>(v);
    }
  }
  for (int i = 0; i < rows * m.blocks(); ++i) m.scales.push_back(random_scale(rng, bits));
  return m;
}

// Group scales around 2^-20 .. 2^-2 so that results spread over Q16.16; a few
// zero groups. `extreme` widens the exponents to reach every saturation and
// rounding path of the scaler.
inline QuantVector random_vector(std::mt19937_64& rng, int cols, bool extreme = false) {
  QuantVector x;
  const int groups = (cols + 31) / 32;
  x.values.assign(static_cast<size_t>(groups) * 32, 0);
  for (int c = 0; c < cols; ++c) x.values[static_cast<size_t>(c)] = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  for (int g = 0; g < groups; ++g) {
    ScaleFp s;
    if (rng() % 12 != 0) {
      s.mantissa = static_cast<uint16_t>(1024 + rng() % 1024);
      s.exponent = static_cast<int16_t>(extreme ? static_cast<int>(rng() % 120) - 80 : static_cast<int>(rng() % 18) - 30);
    }
    x.scales.push_back(s);
  }
  return x;
}

// Matrices and jobs that own their data (jobs point into the matrices).
struct Workload {
  std::vector<std::unique_ptr<QuantMatrix>> matrices;
  std::vector<MatrixJob> jobs;
  std::vector<uint8_t> image;

  void add(QuantMatrix m, std::vector<QuantVector> tokens) {
    matrices.push_back(std::make_unique<QuantMatrix>(std::move(m)));
    jobs.push_back({matrices.back().get(), std::move(tokens), 0});
  }
  // Lays the sections out and fixes the addresses.
  void finish() {
    std::vector<const QuantMatrix*> list;
    for (const auto& m : matrices) list.push_back(m.get());
    std::vector<uint64_t> addresses;
    image = image_of(list, addresses);
    for (size_t i = 0; i < jobs.size(); ++i) jobs[i].address = addresses[i];
  }
};

inline Workload random_workload(uint64_t seed, int jobs, int max_tokens, bool extreme = false) {
  std::mt19937_64 rng(seed);
  Workload w;
  for (int i = 0; i < jobs; ++i) {
    const int rows = 1 + static_cast<int>(rng() % 80), cols = 1 + static_cast<int>(rng() % 200);
    const int tokens = 1 + static_cast<int>(rng() % static_cast<unsigned>(max_tokens));
    std::vector<QuantVector> xs;
    for (int t = 0; t < tokens; ++t) xs.push_back(random_vector(rng, cols, extreme));
    w.add(random_matrix(rng, rows, cols, rng() % 2 ? 8 : 4), std::move(xs));
  }
  w.finish();
  return w;
}

// After the last expected beat: nothing more comes, every beat matched, no
// protocol violation or error flag.
inline void expect_all_checked(MatrixUnitBench& b, size_t beats) {
  b.h.tick(40);
  EXPECT_EQ(b.scoreboard.checked(), beats);
  EXPECT_EQ(b.scoreboard.mismatched(), 0u);
  EXPECT_EQ(b.scoreboard.pending(), 0u);
  EXPECT_EQ(b.hbm.violations(), 0u);
  EXPECT_EQ(b.h->err_bad_cmd_o, 0);
  EXPECT_EQ(b.h->err_weight_last_o, 0);
  EXPECT_EQ(b.h->err_act_count_o, 0);
}

// Runs every job and checks all beats, no error, nothing left over.
inline void run_all(MatrixUnitBench& b, const Workload& w, uint64_t max_cycles) {
  size_t beats = b.scoreboard.checked();
  for (const auto& job : w.jobs) beats += b.push(job);
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() == beats; }, max_cycles, "every job's results"));
  expect_all_checked(b, beats);
}

// Runs every job with its weights prefetched: all commands first, then,
// once the port has received every section (the caller keeps them within its
// FIFO and the engine's command queue), all activations; checks all beats.
inline void run_prefetched(MatrixUnitBench& b, const Workload& w, uint64_t max_cycles) {
  size_t beats = b.scoreboard.checked();
  uint64_t weight_beats = b.hbm.beats();
  for (const auto& job : w.jobs) {
    const MatrixCommand c = command_for(job);
    b.cmds.push(c);
    weight_beats += c.beats;
    beats += static_cast<size_t>((job.matrix->rows + 31) / 32) * job.tokens.size();
  }
  ASSERT_TRUE(b.h.run_until([&] { return b.hbm.beats() == weight_beats; }, max_cycles, "the sections in the FIFO"));
  b.h.tick(4);
  for (const auto& job : w.jobs) b.acts.push_all(activation_beats(job));
  ASSERT_TRUE(b.h.run_until([&] { return b.scoreboard.checked() == beats; }, max_cycles, "every job's results"));
  expect_all_checked(b, beats);
}

}  // namespace tp::tb
