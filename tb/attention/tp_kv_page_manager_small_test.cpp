// tp_kv_page_manager testbench, small parameter set
// (tb/attention/tp_kv_page_manager_small.cmake): 12 pages, 3 sequences,
// 2 prefixes, 4-token pages, 32 tokens, 3-bit ids, 6-bit positions; neither
// the pool nor the table count is a power of two, and ids and positions
// beyond every limit fit the request fields.
#include "attention/kv_page_manager_bench.h"
#include "common/stall_matrix.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <tuple>
#include <vector>

namespace {

// The bench, its request helpers and the tp::Kv* types it brings into tp::tb.
using namespace tp::tb;

const KvParams kParams{
    .config = {.num_pages = 12, .max_seqs = 3, .max_prefixes = 2, .page_size = 4, .max_seq_len = 32},
    .id_limit = 8};

class KvStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(KvStallMatrix, TrafficChurnAndExhaustionMatchGolden) {
  const auto [req_p, rsp_p] = GetParam();
  KvBench b(kParams, StallGenerator(req_p, 31), StallGenerator(rsp_p, 37));
  b.h.reset();
  traffic_then_release(b, 20000, 200 + static_cast<uint64_t>(100 * req_p + 10 * rsp_p), {});
  if (req_p == 0 && rsp_p == 0) b.expect_latencies();
}

INSTANTIATE_TEST_SUITE_P(ReqRsp, KvStallMatrix, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Req", "Rsp"));

TEST(KvPageManager, MaxSeqLenAndOutOfRangeIds) {
  KvBench b(kParams);
  b.h.reset();
  std::vector<KvRequest> r = {open_seq(2)};
  for (int i = 0; i < 32; ++i) r.push_back(append(2));
  r.insert(r.end(), {append(2), open_seq(3), open_seq(7), drop_prefix(2), open_prefixed(0, 7), translate(2, 63),
                     make_prefix(2, 1), open_prefixed(0, 1), open_prefixed(1, 1), append(1), close_seq(0), close_seq(1),
                     drop_prefix(1)});
  b.run(r);
  b.expect_latencies();
  const auto& beats = b.rsp.beats();
  EXPECT_EQ(beats[33].status, KvStatus::kBadState);  // at MaxSeqLen
  for (int i = 34; i <= 37; ++i) EXPECT_EQ(beats[i].status, KvStatus::kBadId) << i;
  EXPECT_EQ(beats[38].status, KvStatus::kRefused);
  EXPECT_EQ(beats[39], (KvResponse{.len = 32}));
  expect_pool_whole(b);
  b.expect_counters();
}

}  // namespace
