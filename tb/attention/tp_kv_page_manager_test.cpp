// tp_kv_page_manager testbench, default parameters (64 pages, 8 sequences,
// 4 prefixes, 16-token pages, 1024 tokens, 8-bit ids): every response against
// the golden model tp::KvPages (golden/kv_pages.h), which runs each request
// the DUT accepts (tb/attention/kv_page_manager_bench.h).
#include "attention/kv_page_manager_bench.h"
#include "common/stall_matrix.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

namespace {

// The bench, its request helpers and the tp::Kv* types it brings into tp::tb.
using namespace tp::tb;

const KvParams kParams{};  // the RTL defaults

// ------------------------------------------------------- stall matrix ---
class KvStallMatrix : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(KvStallMatrix, RandomMultiSequenceTrafficMatchesGolden) {
  const auto [req_p, rsp_p] = GetParam();
  KvBench b(kParams, StallGenerator(req_p, 11), StallGenerator(rsp_p, 23));
  b.h.reset();
  traffic_then_release(b, 40000, 100 + static_cast<uint64_t>(100 * req_p + 10 * rsp_p), {.close_per_mille = 8});
}

INSTANTIATE_TEST_SUITE_P(ReqRsp, KvStallMatrix, tp::tb::stall_matrix<2>(), tp::tb::stall_matrix_names("Req", "Rsp"));

// ------------------------------------------------------------- timing ---
// Without stalls every response leaves exactly 2 + (entries walked) cycles
// after its request, and the next request is taken on the same edge.
TEST(KvPageManager, LatencyIsTwoPlusPagesWalkedAndBackToBack) {
  KvBench b(kParams);
  b.h.reset();
  b.run(random_traffic(b.model.config(), kParams.id_limit, 4000, 7));
  b.run(release_everything(b.model.config()));
  b.expect_latencies();
  // Back to back: request i+1 is taken on the edge response i leaves, but
  // once, where the second run() pushed its requests a cycle late.
  const auto& in = b.req.accept_cycles();
  const auto& out = b.rsp.beat_cycles();
  size_t late = 0;
  for (size_t i = 0; i + 1 < in.size(); ++i) late += in[i + 1] != out[i];
  EXPECT_LE(late, 1u);
  unsigned long long max_walk = 0;
  for (unsigned w : b.walked) max_walk = std::max<unsigned long long>(max_walk, w);
  EXPECT_GT(max_walk, 4u);  // the traffic walked tables of several pages
}

TEST(KvPageManager, DirectedLatencies) {
  KvBench b(kParams);
  b.h.reset();
  std::vector<KvRequest> r = {open_seq(0)};
  for (int i = 0; i < 100; ++i) r.push_back(append(0));  // 7 pages
  r.insert(r.end(), {translate(0, 99), make_prefix(0, 1), open_prefixed(2, 1), translate(2, 95), close_seq(2),
                     drop_prefix(1), close_seq(2), translate(9, 0)});
  b.run(r);
  b.expect_latencies();
  const std::vector<unsigned> tail = {0, 7, 6, 0, 6, 6, 0, 0};  // pages walked by the last eight
  ASSERT_EQ(b.walked.size(), r.size());
  EXPECT_EQ(std::vector<unsigned>(b.walked.end() - 8, b.walked.end()), tail);
  expect_pool_whole(b);
}

// ----------------------------------------------------------- isolation ---
TEST(KvPageManager, ForeignAndOutOfRangePositionsAreRefusedAndCounted) {
  KvBench b(kParams);
  b.h.reset();
  b.run({open_seq(0), open_seq(1), append(0), append(0), append(1)});
  EXPECT_EQ(b.call(translate(0, 1)).status, KvStatus::kOk);
  EXPECT_EQ(b.call(translate(1, 1)).status, KvStatus::kRefused);       // seq 1 holds one token
  EXPECT_EQ(b.call(translate(1, 16)).status, KvStatus::kRefused);      // a position of nobody
  EXPECT_EQ(b.call(translate(2, 0)).status, KvStatus::kRefused);       // a closed sequence
  EXPECT_EQ(b.call(translate(0, 65535)).status, KvStatus::kRefused);   // beyond MaxSeqLen
  EXPECT_EQ(b.call(translate(8, 0)).status, KvStatus::kBadId);         // not a sequence: not a refusal
  EXPECT_EQ(b.h->refusals_o, 4u);
  const KvResponse own0 = b.call(translate(0, 0)), own1 = b.call(translate(1, 0));
  EXPECT_NE(own0.page, own1.page);
  b.run({close_seq(0)});
  EXPECT_EQ(b.call(translate(0, 0)).status, KvStatus::kRefused);  // closed: its pages are gone
  b.expect_counters();
}

// ------------------------------------------------------ prefix sharing ---
TEST(KvPageManager, PrefixPagesAreSharedCountedAndFreedWithTheLastHolder) {
  KvBench b(kParams);
  b.h.reset();
  std::vector<KvRequest> r = {open_seq(0)};
  for (int i = 0; i < 40; ++i) r.push_back(append(0));  // pages 0, 1 full, page 2 holds 8 tokens
  b.run(r);
  EXPECT_EQ(b.call(make_prefix(0, 0)), (KvResponse{.len = 32}));  // partial page 2 released
  EXPECT_EQ(b.h->frees_o, 1u);
  EXPECT_EQ(b.h->used_pages_o, 2u);
  EXPECT_EQ(b.call(open_prefixed(3, 0)), (KvResponse{.len = 32}));
  EXPECT_EQ(b.call(translate(3, 17)), (KvResponse{.page = 1, .slot = 1, .len = 32}));
  EXPECT_EQ(b.call(append(3)), (KvResponse{.page = 2, .slot = 0, .len = 33}));  // the freed page, reused first
  EXPECT_EQ(b.call(open_prefixed(5, 0)), (KvResponse{.len = 32}));
  EXPECT_EQ(b.call(append(5)), (KvResponse{.page = 3, .slot = 0, .len = 33}));
  EXPECT_EQ(b.model.refcount(0), 3u);
  EXPECT_EQ(b.call(drop_prefix(0)).status, KvStatus::kOk);
  EXPECT_EQ(b.h->frees_o, 1u);  // still held by sequences 3 and 5
  EXPECT_EQ(b.call(translate(5, 0)).page, 0u);
  b.run({close_seq(3)});
  EXPECT_EQ(b.h->frees_o, 2u);  // its own page 2 only
  b.run({close_seq(5)});
  expect_pool_whole(b);
  b.expect_counters();
}

TEST(KvPageManager, PrefixOfAPrefixedSequenceAndPrefixErrors) {
  KvBench b(kParams);
  b.h.reset();
  std::vector<KvRequest> r = {open_seq(0)};
  for (int i = 0; i < 16; ++i) r.push_back(append(0));
  r.push_back(make_prefix(0, 0));
  r.push_back(open_prefixed(1, 0));
  for (int i = 0; i < 16; ++i) r.push_back(append(1));
  b.run(r);
  EXPECT_EQ(b.call(make_prefix(1, 0)).status, KvStatus::kBadState);  // prefix 0 is in use
  EXPECT_EQ(b.call(make_prefix(1, 3)), (KvResponse{.len = 32}));     // pages 0 (shared) and 1
  EXPECT_EQ(b.call(open_prefixed(2, 3)), (KvResponse{.len = 32}));
  EXPECT_EQ(b.model.refcount(0), 3u);  // prefixes 0 and 3, sequence 2
  b.run({open_seq(4), append(4)});
  EXPECT_EQ(b.call(make_prefix(4, 1)).status, KvStatus::kBadState);    // no whole page
  EXPECT_EQ(b.call(make_prefix(6, 1)).status, KvStatus::kBadState);    // closed
  EXPECT_EQ(b.call(open_prefixed(6, 1)).status, KvStatus::kBadState);  // empty prefix
  EXPECT_EQ(b.call(open_prefixed(2, 0)).status, KvStatus::kBadState);  // already open
  EXPECT_EQ(b.call(drop_prefix(2)).status, KvStatus::kBadState);       // empty prefix
  EXPECT_EQ(b.call(drop_prefix(4)).status, KvStatus::kBadId);
  EXPECT_EQ(b.call(make_prefix(4, 4)).status, KvStatus::kBadId);
  b.run(release_everything(b.model.config()));
  expect_pool_whole(b);
  b.expect_counters();
}

TEST(KvPageManager, BadIdsOpcodesAndStates) {
  KvBench b(kParams);
  b.h.reset();
  const std::vector<std::pair<KvRequest, KvStatus>> cases = {
      {open_seq(8), KvStatus::kBadId},           {open_seq(255), KvStatus::kBadId},
      {append(8), KvStatus::kBadId},         {close_seq(200), KvStatus::kBadId},
      {{.op = static_cast<KvOp>(7)}, KvStatus::kBadId},
      {open_prefixed(0, 4), KvStatus::kBadId},
      {append(0), KvStatus::kBadState},      {close_seq(0), KvStatus::kBadState},
      {open_seq(0), KvStatus::kOk},              {open_seq(0), KvStatus::kBadState},
      {close_seq(0), KvStatus::kOk},             {close_seq(0), KvStatus::kBadState},
  };
  for (const auto& [request, status] : cases) {
    EXPECT_EQ(b.call(request).status, status) << "op " << int(request.op) << " seq " << request.seq;
  }
  b.expect_counters();
  EXPECT_EQ(b.h->refusals_o, 0u);
  expect_pool_whole(b);
}

// ---------------------------------------------------------- exhaustion ---
// Eight sequences fill the pool; appends that need a page get NO_FREE_PAGE
// (counted, nothing changes), appends inside a page still succeed, and every
// stored position translates exactly as before. Freeing one sequence lets
// the others grow again.
TEST(KvPageManager, ExhaustionRefusesNewPagesAndCorruptsNothing) {
  KvBench b(kParams, StallGenerator(0.2, 5), StallGenerator(0.2, 6));
  b.h.reset();
  const auto& c = b.model.config();
  std::vector<KvRequest> r;
  for (unsigned s = 0; s < c.max_seqs; ++s) r.push_back(open_seq(s));
  b.run(r);
  std::mt19937_64 rng(3);
  while (b.model.counters().free_pages > 0) b.run({append(static_cast<unsigned>(rng() % c.max_seqs))});
  EXPECT_EQ(b.h->free_pages_o, 0u);
  auto snapshot = [&] {
    std::vector<KvRequest> t;
    for (unsigned s = 0; s < c.max_seqs; ++s) {
      for (unsigned pos = 0; pos < b.model.seq_len(s); ++pos) t.push_back(translate(s, pos));
    }
    const size_t first = b.rsp.received();
    b.run(t);
    return std::vector<KvResponse>(b.rsp.beats().begin() + first, b.rsp.beats().end());
  };
  std::vector<unsigned> len_before(c.max_seqs);
  for (unsigned s = 0; s < c.max_seqs; ++s) len_before[s] = b.model.seq_len(s);
  const auto before = snapshot();
  unsigned refused = 0;
  for (unsigned round = 0; round < 20; ++round) {
    for (unsigned s = 0; s < c.max_seqs; ++s) refused += b.call(append(s)).status == KvStatus::kNoFreePage;
  }
  EXPECT_EQ(refused, b.h->exhaustions_o);
  EXPECT_GE(refused, 20u * c.max_seqs - c.page_size * c.max_seqs);  // only the partial pages could grow
  EXPECT_EQ(b.h->free_pages_o, 0u);
  // The positions stored before still translate identically (the len field
  // reports the current length, which grew inside partial pages).
  std::vector<KvRequest> t;
  for (unsigned s = 0; s < c.max_seqs; ++s) {
    for (unsigned pos = 0; pos < len_before[s]; ++pos) t.push_back(translate(s, pos));
  }
  const size_t first = b.rsp.received();
  b.run(t);
  ASSERT_EQ(before.size(), t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    const KvResponse& now = b.rsp.beats()[first + i];
    ASSERT_EQ(now.status, KvStatus::kOk);
    EXPECT_EQ(now.page, before[i].page) << "seq " << t[i].seq << " pos " << t[i].pos;
    EXPECT_EQ(now.slot, before[i].slot);
  }
  b.audit();
  b.run({close_seq(0)});
  EXPECT_GT(b.h->free_pages_o, 0u);
  for (unsigned s = 1; s < c.max_seqs; ++s) {
    b.run({append(s)});
    EXPECT_EQ(b.rsp.beats().back().status, KvStatus::kOk);
  }
  b.expect_counters();
}

// A sequence at MaxSeqLen holds the whole pool (64 pages of 16 tokens): one
// more token is BAD_STATE (the length limit comes before the pool), another
// sequence gets NO_FREE_PAGE; the full sequence becomes a 64-page prefix.
TEST(KvPageManager, MaxSeqLenFillsThePoolAndOverflowIsBadState) {
  KvBench b(kParams);
  b.h.reset();
  const auto& c = b.model.config();
  std::vector<KvRequest> r = {open_seq(0), open_seq(1)};
  for (unsigned i = 0; i < c.max_seq_len; ++i) r.push_back(append(0));
  b.run(r);
  EXPECT_EQ(b.h->free_pages_o, 0u);
  EXPECT_EQ(b.call(append(0)).status, KvStatus::kBadState);
  EXPECT_EQ(b.call(append(1)).status, KvStatus::kNoFreePage);
  EXPECT_EQ(b.call(translate(0, c.max_seq_len - 1)), (KvResponse{.page = 63, .slot = 15, .len = 1024}));
  EXPECT_EQ(b.call(translate(0, c.max_seq_len)).status, KvStatus::kRefused);
  EXPECT_EQ(b.call(make_prefix(0, 2)), (KvResponse{.len = 1024}));
  EXPECT_EQ(b.call(open_prefixed(3, 2)), (KvResponse{.len = 1024}));
  EXPECT_EQ(b.call(append(3)).status, KvStatus::kBadState);
  b.run({close_seq(3), drop_prefix(2), close_seq(1)});
  b.expect_latencies();
  expect_pool_whole(b);
  b.expect_counters();
}

// --------------------------------------------------------------- churn ---
// Thousands of open / append / close cycles on every sequence with prefixes
// coming and going: no page leaks, the counters agree.
TEST(KvPageManager, ChurnLeaksNoPage) {
  KvBench b(kParams, StallGenerator(0.1, 8), StallGenerator(0.1, 9));
  b.h.reset();
  const auto& c = b.model.config();
  const auto traffic = random_traffic(c, kParams.id_limit, 200000, 99,
                                      {.close_per_mille = 12, .prefix_per_mille = 4, .error_per_mille = 5,
                                       .translate_per_mille = 50});
  b.run(traffic);
  uint64_t opens = 0, closes = 0;
  for (const auto& r : traffic) {
    opens += r.op == KvOp::kOpen || r.op == KvOp::kOpenPrefixed;
    closes += r.op == KvOp::kClose;
  }
  EXPECT_GT(closes, 2000u);
  EXPECT_GT(opens, 2000u);
  EXPECT_GT(b.h->exhaustions_o, 0u);  // the pool ran dry now and then
  b.run(release_everything(c));
  expect_pool_whole(b);
  EXPECT_GT(b.h->allocs_o, 10000u);
  b.expect_counters();
}

// --------------------------------------------------------------- reset ---
// Reset in the middle of a 64-page walk and of random traffic: everything is
// free again, the counters are 0, and a fresh model's traffic passes.
TEST(KvPageManager, ResetMidWalkFreesEverythingAndRestartsCleanly) {
  KvBench b(kParams, StallGenerator(0.3, 1), StallGenerator(0.3, 2));
  b.h.reset();
  const auto& c = b.model.config();
  std::vector<KvRequest> r = {open_seq(0)};
  for (unsigned i = 0; i < c.max_seq_len; ++i) r.push_back(append(0));
  b.run(r);
  b.req.push(close_seq(0));
  ASSERT_TRUE(b.h.run_until([&] { return b.req.accepted() > r.size(); }, 100, "CLOSE accepted"));
  b.h.tick(20);  // inside the 64-entry walk
  EXPECT_EQ(b.h->req_ready_o, 0);
  b.h.reset();
  b.model = KvPages(c);
  b.walked.clear();
  EXPECT_EQ(b.h->req_ready_o, 1);
  EXPECT_EQ(b.h->rsp_valid_o, 0);
  EXPECT_EQ(b.dut_counters(), KvCounters{.free_pages = c.num_pages});
  b.h.tick(100);
  EXPECT_EQ(b.scoreboard.checked(), 0u) << "stale response after reset";
  b.run(random_traffic(c, kParams.id_limit, 1500, 4));
  b.h.reset();  // and once more in the middle of traffic
  b.model = KvPages(c);
  b.req.push_all(random_traffic(c, kParams.id_limit, 50, 5));
  b.h.tick(37);
  b.h.reset();
  b.model = KvPages(c);
  EXPECT_EQ(b.dut_counters(), KvCounters{.free_pages = c.num_pages});
  b.run(random_traffic(c, kParams.id_limit, 1500, 6));
  b.audit();
  b.expect_counters();
}

TEST(KvPageManager, ControlOutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    KvBench b(kParams, {}, {}, options);
    b.h.reset(1);
    EXPECT_EQ(b.h->req_ready_o, 1);
    EXPECT_EQ(b.h->rsp_valid_o, 0);
    EXPECT_EQ(b.dut_counters(), KvCounters{.free_pages = b.model.config().num_pages});
    b.run(random_traffic(b.model.config(), kParams.id_limit, 800, options.random_init_seed));
    b.audit();
    b.expect_counters();
  });
}

}  // namespace
