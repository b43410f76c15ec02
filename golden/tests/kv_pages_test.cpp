// tp::KvPages, the golden paged KV-cache manager, on its own: allocation
// policy, prefix sharing, isolation, exhaustion and churn (docs/kv-cache.md).
#include "golden/kv_pages.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

namespace tp {
namespace {

KvResponse run(KvPages& m, KvOp op, unsigned seq = 0, unsigned prefix = 0, unsigned pos = 0) {
  return m.execute({.op = op, .seq = seq, .prefix = prefix, .pos = pos});
}

void grow(KvPages& m, unsigned seq, unsigned tokens) {
  for (unsigned i = 0; i < tokens; ++i) ASSERT_EQ(run(m, KvOp::kAppend, seq).status, KvStatus::kOk);
}

// Every page is free or held by exactly refcount(page) tables; the counters agree.
void expect_consistent(const KvPages& m) {
  const auto& c = m.config();
  std::vector<unsigned> holders(c.num_pages, 0);
  for (unsigned s = 0; s < c.max_seqs; ++s) {
    if (!m.seq_open(s)) continue;
    EXPECT_EQ(m.seq_pages(s).size(), (m.seq_len(s) + c.page_size - 1) / c.page_size);
    for (unsigned p : m.seq_pages(s)) ++holders[p];
  }
  for (unsigned q = 0; q < c.max_prefixes; ++q) {
    if (!m.prefix_valid(q)) continue;
    EXPECT_EQ(m.prefix_len(q) % c.page_size, 0u);
    for (unsigned p : m.prefix_pages(q)) ++holders[p];
  }
  unsigned used = 0;
  for (unsigned p = 0; p < c.num_pages; ++p) {
    EXPECT_EQ(holders[p], m.refcount(p)) << "page " << p;
    used += holders[p] != 0;
  }
  EXPECT_EQ(m.counters().pages_in_use, used);
  EXPECT_EQ(m.counters().free_pages + used, c.num_pages);
  EXPECT_EQ(m.counters().allocations - m.counters().frees, used);
}

TEST(KvPages, RejectsBadConfigurations) {
  EXPECT_THROW(KvPages({.num_pages = 1}), std::invalid_argument);
  EXPECT_THROW(KvPages({.max_seqs = 0}), std::invalid_argument);
  EXPECT_THROW(KvPages({.page_size = 12}), std::invalid_argument);
  EXPECT_THROW(KvPages({.page_size = 16, .max_seq_len = 16}), std::invalid_argument);
  EXPECT_NO_THROW(KvPages({.num_pages = 5, .max_seqs = 1, .max_prefixes = 1, .page_size = 2, .max_seq_len = 4}));
}

TEST(KvPages, AppendAllocatesAtPageStartsNeverUsedPagesFirstThenLastFreed) {
  KvPages m;
  EXPECT_EQ(run(m, KvOp::kOpen, 0), KvResponse{});
  EXPECT_EQ(run(m, KvOp::kOpen, 1), KvResponse{});
  EXPECT_EQ(run(m, KvOp::kAppend, 0), (KvResponse{.page = 0, .slot = 0, .len = 1}));
  EXPECT_EQ(run(m, KvOp::kAppend, 1), (KvResponse{.page = 1, .slot = 0, .len = 1}));
  grow(m, 0, 15);
  EXPECT_EQ(run(m, KvOp::kAppend, 0), (KvResponse{.page = 2, .slot = 0, .len = 17}));
  EXPECT_EQ(run(m, KvOp::kTranslate, 0, 0, 15), (KvResponse{.page = 0, .slot = 15, .len = 17}));
  EXPECT_EQ(run(m, KvOp::kClose, 0), KvResponse{});
  EXPECT_EQ(m.last_pages_walked(), 2u);
  // Freed in page-table order 0, 2: page 2 comes back first.
  EXPECT_EQ(run(m, KvOp::kOpen, 3), KvResponse{});
  EXPECT_EQ(run(m, KvOp::kAppend, 3).page, 2u);
  grow(m, 3, 15);
  EXPECT_EQ(run(m, KvOp::kAppend, 3).page, 0u);
  grow(m, 3, 15);
  EXPECT_EQ(run(m, KvOp::kAppend, 3).page, 3u);
  expect_consistent(m);
}

TEST(KvPages, TranslateOutsideTheSequenceIsRefusedAndCounted) {
  KvPages m;
  run(m, KvOp::kOpen, 0);
  grow(m, 0, 3);
  EXPECT_EQ(run(m, KvOp::kTranslate, 0, 0, 3).status, KvStatus::kRefused);
  EXPECT_EQ(run(m, KvOp::kTranslate, 1, 0, 0).status, KvStatus::kRefused);  // closed
  EXPECT_EQ(run(m, KvOp::kTranslate, 8, 0, 0).status, KvStatus::kBadId);   // not counted
  EXPECT_EQ(run(m, KvOp::kTranslate, 0, 0, 2).status, KvStatus::kOk);
  EXPECT_EQ(m.counters().refusals, 2u);
}

TEST(KvPages, PrefixHoldsWholePagesSharedByReferenceCount) {
  KvPages m;
  run(m, KvOp::kOpen, 0);
  grow(m, 0, 40);  // pages 0, 1 and 8 tokens of page 2
  EXPECT_EQ(run(m, KvOp::kMakePrefix, 0, 1), (KvResponse{.len = 32}));
  EXPECT_EQ(m.last_pages_walked(), 3u);
  EXPECT_FALSE(m.seq_open(0));
  EXPECT_EQ(m.prefix_pages(1), (std::vector<unsigned>{0, 1}));
  EXPECT_EQ(m.refcount(2), 0u);  // the partial page is not shared
  EXPECT_EQ(m.counters().frees, 1u);
  EXPECT_EQ(run(m, KvOp::kOpenPrefixed, 4, 1), (KvResponse{.len = 32}));
  EXPECT_EQ(run(m, KvOp::kOpenPrefixed, 5, 1), (KvResponse{.len = 32}));
  EXPECT_EQ(m.refcount(0), 3u);
  // The first token after a prefix starts a page of the sequence's own.
  EXPECT_EQ(run(m, KvOp::kAppend, 4), (KvResponse{.page = 2, .slot = 0, .len = 33}));
  EXPECT_EQ(run(m, KvOp::kAppend, 5), (KvResponse{.page = 3, .slot = 0, .len = 33}));
  EXPECT_EQ(run(m, KvOp::kDropPrefix, 0, 1).status, KvStatus::kOk);
  EXPECT_EQ(m.counters().pages_in_use, 4u);  // still held by 4 and 5
  run(m, KvOp::kClose, 4);
  EXPECT_EQ(m.counters().pages_in_use, 3u);
  run(m, KvOp::kClose, 5);
  EXPECT_EQ(m.counters().pages_in_use, 0u);
  expect_consistent(m);
}

TEST(KvPages, ExhaustionChangesNothing) {
  KvPages m({.num_pages = 4, .max_seqs = 2, .max_prefixes = 1, .page_size = 2, .max_seq_len = 8});
  run(m, KvOp::kOpen, 0);
  run(m, KvOp::kOpen, 1);
  grow(m, 0, 5);  // 3 pages
  grow(m, 1, 2);  // 1 page: pool empty
  const KvPages before = m;
  EXPECT_EQ(run(m, KvOp::kAppend, 1).status, KvStatus::kNoFreePage);
  EXPECT_EQ(m.counters().exhaustions, 1u);
  EXPECT_EQ(m.seq_len(1), 2u);
  EXPECT_EQ(m.seq_pages(0), before.seq_pages(0));
  EXPECT_EQ(m.seq_pages(1), before.seq_pages(1));
  EXPECT_EQ(run(m, KvOp::kAppend, 0), (KvResponse{.page = 2, .slot = 1, .len = 6}));  // inside a page: fine
  for (unsigned pos = 0; pos < 2; ++pos) {
    EXPECT_EQ(run(m, KvOp::kTranslate, 1, 0, pos).page, before.seq_pages(1)[0]);
  }
  expect_consistent(m);
}

TEST(KvPages, StatusPriorities) {
  KvPages m({.num_pages = 2, .max_seqs = 1, .max_prefixes = 1, .page_size = 2, .max_seq_len = 4});
  EXPECT_EQ(run(m, static_cast<KvOp>(7)).status, KvStatus::kBadId);
  EXPECT_EQ(run(m, KvOp::kAppend, 1).status, KvStatus::kBadId);
  EXPECT_EQ(run(m, KvOp::kAppend, 0).status, KvStatus::kBadState);
  run(m, KvOp::kOpen, 0);
  grow(m, 0, 4);  // at max_seq_len and the pool is empty: the length limit wins
  EXPECT_EQ(run(m, KvOp::kAppend, 0).status, KvStatus::kBadState);
  EXPECT_EQ(run(m, KvOp::kMakePrefix, 0, 1).status, KvStatus::kBadId);
  EXPECT_EQ(m.counters().exhaustions, 0u);
}

// Thousands of open / append / close cycles with prefixes: nothing leaks,
// no page is ever held by two sequences unless it is a full prefix page.
TEST(KvPages, ChurnLeaksNothingAndKeepsSequencesApart) {
  const KvPagesConfig c{.num_pages = 24, .max_seqs = 5, .max_prefixes = 2, .page_size = 4, .max_seq_len = 64};
  KvPages m(c);
  std::mt19937_64 rng(1);
  unsigned closes = 0;
  for (int i = 0; i < 200000; ++i) {
    const unsigned s = rng() % c.max_seqs, p = rng() % c.max_prefixes, dice = rng() % 100;
    if (!m.seq_open(s)) {
      run(m, dice < 50 && m.prefix_valid(p) ? KvOp::kOpenPrefixed : KvOp::kOpen, s, p);
    } else if (dice < 3) {
      closes += run(m, KvOp::kClose, s).status == KvStatus::kOk;
    } else if (dice < 4) {
      run(m, m.prefix_valid(p) ? KvOp::kDropPrefix : KvOp::kMakePrefix, s, p);
    } else {
      run(m, KvOp::kAppend, s);
    }
    if (i % 1000 == 0) {
      expect_consistent(m);
      // The page a sequence appends into is its own.
      for (unsigned t = 0; t < c.max_seqs; ++t) {
        if (!m.seq_open(t) || m.seq_len(t) % c.page_size == 0) continue;
        const unsigned tail = m.seq_pages(t).back();
        EXPECT_EQ(m.refcount(tail), 1u) << "sequence " << t << " writes into a shared page";
      }
    }
  }
  EXPECT_GT(closes, 2000u);
  EXPECT_GT(m.counters().exhaustions, 0u);
  for (unsigned s = 0; s < c.max_seqs; ++s) run(m, KvOp::kClose, s);
  for (unsigned p = 0; p < c.max_prefixes; ++p) run(m, KvOp::kDropPrefix, 0, p);
  EXPECT_EQ(m.counters().free_pages, c.num_pages);
  EXPECT_EQ(m.counters().allocations, m.counters().frees);
  expect_consistent(m);
}

}  // namespace
}  // namespace tp
