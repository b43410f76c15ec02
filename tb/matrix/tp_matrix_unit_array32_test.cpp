// tp_matrix_unit with the seed chapter's 32 x 32 PE array (1024 MACs per
// cycle; tb/matrix/tp_matrix_unit_array32.cmake sets the parameters): the same
// golden check as tp_matrix_unit_test, and the array's utilization in GEMM.
#include "matrix/matrix_unit_bench.h"
#include "matrix/matrix_workload.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

using tp::tb::HbmConfig;
using tp::tb::MatrixUnitBench;
using tp::tb::StallGenerator;

TEST(MatrixUnitArray32, RandomShapesUnderStallsMatchMatvec) {
  const tp::tb::Workload w = tp::tb::random_workload(31, 10, 32);
  MatrixUnitBench b(w.image, HbmConfig{.latency = 150, .r_stall = StallGenerator(0.3, 4)}, StallGenerator(0.3, 1),
                    StallGenerator(0.3, 2), StallGenerator(0.3, 3));
  b.h.reset();
  tp::tb::run_all(b, w, 400000);
}

// 32 tokens on a 32 x 32 array: one issue per token per tile, so a full tile
// (17 INT8 beats) computes in 32 cycles and the array stays busy.
TEST(MatrixUnitArray32, GemmKeepsTheArrayBusy) {
  std::mt19937_64 rng(8);
  tp::tb::Workload w;
  std::vector<tp::fx::QuantVector> xs;
  for (int t = 0; t < 32; ++t) xs.push_back(tp::tb::random_vector(rng, 64));
  w.add(tp::tb::random_matrix(rng, 512, 64, 8), xs);
  w.finish();
  MatrixUnitBench b(w.image, HbmConfig{.latency = 200});
  b.h.reset();
  tp::tb::run_all(b, w, 100000);
  // The issue count, then the array's use measured outside the unit: between
  // the first row group's first result and the last result, the other 15 row
  // groups' issues (2 block columns x 32 tokens each) must fill >= 95 % of
  // the cycles.
  const double issues = b.h->perf_issue_o;
  EXPECT_EQ(issues, 16.0 * 2 * 32);  // 16 row groups x 2 block columns x 32 tokens
  const auto& results = b.sink.beat_cycles();
  const double span = static_cast<double>(results.back() - results.front());
  const double utilization = 15.0 * 2 * 32 / span;
  EXPECT_GE(utilization, 0.95) << span << " cycles";
  RecordProperty("pe_utilization", std::to_string(utilization));
}

}  // namespace
