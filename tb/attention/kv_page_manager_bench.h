// tp::tb::KvBench: the bench of tp_kv_page_manager (harness, request Source,
// response Sink, Scoreboard against the golden tp::KvPages), random
// multi-sequence traffic and the isolation audit, shared by the test of the
// default parameters (tp_kv_page_manager_test.cpp) and of the small set
// (tp_kv_page_manager_small_test.cpp). Both binaries verilate the module as
// Vtp_kv_page_manager, each with its own parameters.
#pragma once

#include "Vtp_kv_page_manager.h"
#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stream.h"
#include "golden/kv_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <vector>

namespace tp {

inline std::ostream& operator<<(std::ostream& os, KvStatus s) {
  static const char* const kNames[] = {"OK", "NO_FREE_PAGE", "REFUSED", "BAD_ID", "BAD_STATE"};
  const auto i = static_cast<unsigned>(s);
  return i < 5 ? os << kNames[i] : os << "status " << i;
}

inline std::ostream& operator<<(std::ostream& os, const KvResponse& r) {
  return os << "{" << r.status << ", page " << r.page << ", slot " << r.slot << ", len " << r.len << "}";
}

inline std::ostream& operator<<(std::ostream& os, const KvCounters& c) {
  return os << "{in use " << c.pages_in_use << ", free " << c.free_pages << ", allocations " << c.allocations
            << ", frees " << c.frees << ", refusals " << c.refusals << ", exhaustions " << c.exhaustions << "}";
}

}  // namespace tp

namespace tp::tb {

using tp::KvCounters;
using tp::KvOp;
using tp::KvPages;
using tp::KvPagesConfig;
using tp::KvRequest;
using tp::KvResponse;
using tp::KvStatus;

// The parameters the model was verilated with (the test binary's .cmake)
// and the range of its id fields (2^IdWidth).
struct KvParams {
  KvPagesConfig config;
  unsigned id_limit = 256;
};

inline constexpr unsigned kBaseLatency = 2;  // cycles of a command that walks no page-table entry

inline KvRequest open_seq(unsigned seq) { return {.op = KvOp::kOpen, .seq = seq}; }
inline KvRequest open_prefixed(unsigned seq, unsigned prefix) { return {.op = KvOp::kOpenPrefixed, .seq = seq, .prefix = prefix}; }
inline KvRequest append(unsigned seq) { return {.op = KvOp::kAppend, .seq = seq}; }
inline KvRequest translate(unsigned seq, unsigned pos) { return {.op = KvOp::kTranslate, .seq = seq, .pos = pos}; }
inline KvRequest close_seq(unsigned seq) { return {.op = KvOp::kClose, .seq = seq}; }
inline KvRequest make_prefix(unsigned seq, unsigned prefix) { return {.op = KvOp::kMakePrefix, .seq = seq, .prefix = prefix}; }
inline KvRequest drop_prefix(unsigned prefix) { return {.op = KvOp::kDropPrefix, .prefix = prefix}; }

// Harness + request Source + response Sink + Scoreboard, golden = a KvPages
// that executes every accepted request; records the pages each one walked.
struct KvBench {
  explicit KvBench(const KvParams& params, StallGenerator req_stall = {}, StallGenerator rsp_stall = {},
                   HarnessOptions options = {})
      : id_limit(params.id_limit),
        model(params.config),
        h(options),
        req(
            h,
            [this](bool valid, const KvRequest& r) {
              h->req_valid_i = valid;
              h->req_op_i = static_cast<uint8_t>(r.op);
              h->req_seq_i = r.seq;
              h->req_prefix_i = r.prefix;
              h->req_pos_i = r.pos;
            },
            [this] { return h->req_ready_o != 0; }, std::move(req_stall)),
        rsp(
            h, [this](bool ready) { h->rsp_ready_i = ready; }, [this] { return h->rsp_valid_o != 0; },
            [this] {
              return KvResponse{.status = static_cast<KvStatus>(h->rsp_status_o),
                                .page = h->rsp_page_o,
                                .slot = h->rsp_slot_o,
                                .len = h->rsp_len_o};
            },
            std::move(rsp_stall)),
        scoreboard(h, "rsp") {
    scoreboard.connect(
        req,
        [this](const KvRequest& r) {
          const KvResponse expected = model.execute(r);
          walked.push_back(model.last_pages_walked());
          return expected;
        },
        rsp);
  }
  KvBench(const KvBench&) = delete;
  KvBench& operator=(const KvBench&) = delete;

  // Pushes the requests and runs until each response came and matched.
  void run(const std::vector<KvRequest>& requests) {
    const size_t target = scoreboard.checked() + requests.size();
    req.push_all(requests);
    uint64_t budget = 1000;
    for (const auto& r : requests) budget += 10 + (r.op == KvOp::kAppend ? 0 : 4 * max_pages());
    ASSERT_TRUE(h.run_until([&] { return scoreboard.checked() == target; }, budget, "every response"));
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(scoreboard.pending(), 0u);
  }

  // Runs one request and returns the DUT's response (checked against golden too).
  KvResponse call(const KvRequest& r) {
    run({r});
    return rsp.beats().back();
  }

  KvCounters dut_counters() {
    return {.pages_in_use = h->used_pages_o,
            .free_pages = h->free_pages_o,
            .allocations = h->allocs_o,
            .frees = h->frees_o,
            .refusals = h->refusals_o,
            .exhaustions = h->exhaustions_o};
  }
  void expect_counters() { EXPECT_EQ(dut_counters(), model.counters()); }

  // Latency of request i = 2 + the entries it walked (no response stalls).
  void expect_latencies() {
    const auto& in = req.accept_cycles();
    const auto& out = rsp.beat_cycles();
    ASSERT_EQ(in.size(), out.size());
    ASSERT_EQ(walked.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      ASSERT_EQ(out[i] - in[i], kBaseLatency + walked[i]) << "request " << i << " accepted at cycle " << in[i];
    }
  }

  // Translates every position of every open sequence (compared with golden by
  // the scoreboard) and checks isolation on the DUT's answers: a page two
  // sequences reach is full in both and held by both (a shared prefix page);
  // the page a sequence appends into is reached by no other sequence.
  void audit() {
    const auto& c = model.config();
    std::vector<KvRequest> requests;
    for (unsigned s = 0; s < c.max_seqs; ++s) {
      for (unsigned pos = 0; model.seq_open(s) && pos < model.seq_len(s); ++pos) requests.push_back(translate(s, pos));
    }
    const size_t first = rsp.received();
    run(requests);
    std::map<unsigned, std::set<unsigned>> holders;  // page -> sequences reaching it
    for (size_t i = 0; i < requests.size(); ++i) {
      const KvResponse& r = rsp.beats()[first + i];
      ASSERT_EQ(r.status, KvStatus::kOk);
      holders[r.page].insert(requests[i].seq);
    }
    for (const auto& [page, seqs] : holders) {
      if (seqs.size() < 2) continue;
      EXPECT_GE(model.refcount(page), seqs.size()) << "page " << page;
      for (unsigned s : seqs) {
        const unsigned len = model.seq_len(s);
        const bool tail = len % c.page_size != 0 && model.seq_pages(s).back() == page;
        EXPECT_FALSE(tail) << "sequence " << s << " appends into page " << page << ", which others reach";
      }
    }
    EXPECT_EQ(h->used_pages_o + h->free_pages_o, c.num_pages);
  }

  unsigned max_pages() const { return model.config().max_seq_len / model.config().page_size; }

  unsigned id_limit;
  KvPages model;
  Harness<Vtp_kv_page_manager> h;
  Source<KvRequest> req;
  Sink<KvResponse> rsp;
  Scoreboard<KvResponse> scoreboard;
  std::vector<unsigned> walked;
};

// ------------------------------------------------------------ traffic ---
// Random multi-sequence traffic, planned on a private golden model so that
// most requests make sense: sequences open (half of them on a prefix), grow
// at their own rates, translate valid and invalid positions, close, reopen,
// become prefixes; prefixes are dropped; a few requests are malformed.
struct TrafficMix {
  unsigned close_per_mille = 20;   // an open sequence closes
  unsigned prefix_per_mille = 8;   // an open sequence becomes a prefix / a prefix is dropped
  unsigned error_per_mille = 30;   // a malformed or out-of-state request
  unsigned translate_per_mille = 250;
};

inline std::vector<KvRequest> random_traffic(const KvPagesConfig& c, unsigned id_limit, size_t n, uint64_t seed,
                                      TrafficMix mix = {}) {
  std::mt19937_64 rng(seed);
  auto pick = [&](unsigned bound) { return static_cast<unsigned>(rng() % bound); };
  auto chance = [&](unsigned per_mille) { return pick(1000) < per_mille; };
  KvPages plan(c);
  std::vector<unsigned> rate(c.max_seqs);  // growth rate weight of each sequence
  for (auto& r : rate) r = 1 + pick(8);
  std::vector<KvRequest> out;
  while (out.size() < n) {
    KvRequest r;
    if (chance(mix.error_per_mille)) {
      switch (pick(6)) {
        case 0: r = {.op = static_cast<KvOp>(7), .seq = pick(id_limit)}; break;
        case 1: r = {.op = static_cast<KvOp>(pick(7)), .seq = pick(id_limit), .prefix = pick(id_limit)}; break;
        case 2: r = translate(pick(c.max_seqs), pick(2 * c.max_seq_len)); break;
        case 3: r = open_seq(pick(c.max_seqs)); break;
        case 4: r = open_prefixed(pick(c.max_seqs), pick(c.max_prefixes)); break;
        default: r = make_prefix(pick(c.max_seqs), pick(c.max_prefixes)); break;
      }
    } else if (chance(mix.prefix_per_mille)) {
      const unsigned p = pick(c.max_prefixes);
      if (plan.prefix_valid(p)) {
        r = drop_prefix(p);
      } else {
        r = make_prefix(pick(c.max_seqs), p);
      }
    } else {
      // A sequence chosen by its rate.
      unsigned total = 0;
      for (unsigned w : rate) total += w;
      unsigned x = pick(total), s = 0;
      while (x >= rate[s]) x -= rate[s++];
      if (!plan.seq_open(s)) {
        const unsigned p = pick(c.max_prefixes);
        r = chance(500) && plan.prefix_valid(p) ? open_prefixed(s, p) : open_seq(s);
        rate[s] = 1 + pick(8);
      } else if (chance(mix.close_per_mille)) {
        r = close_seq(s);
      } else if (chance(mix.translate_per_mille)) {
        const unsigned len = plan.seq_len(s);
        r = translate(s, len != 0 && chance(800) ? pick(len) : len + pick(c.page_size));
      } else {
        r = append(s);
      }
    }
    plan.execute(r);
    out.push_back(r);
  }
  return out;
}

// Closes every sequence and drops every prefix (whatever state they are in).
inline std::vector<KvRequest> release_everything(const KvPagesConfig& c) {
  std::vector<KvRequest> out;
  for (unsigned s = 0; s < c.max_seqs; ++s) out.push_back(close_seq(s));
  for (unsigned p = 0; p < c.max_prefixes; ++p) out.push_back(drop_prefix(p));
  return out;
}

inline void expect_pool_whole(KvBench& b) {
  const auto& c = b.model.config();
  EXPECT_EQ(b.h->free_pages_o, c.num_pages);
  EXPECT_EQ(b.h->used_pages_o, 0u);
  EXPECT_EQ(b.h->allocs_o, b.h->frees_o);
}

// Random traffic (which must run the pool dry and be refused now and then),
// the isolation audit, then everything released: the whole pool is free.
inline void traffic_then_release(KvBench& b, size_t n, uint64_t seed, TrafficMix mix) {
  const auto& c = b.model.config();
  b.run(random_traffic(c, b.id_limit, n, seed, mix));
  b.expect_counters();
  EXPECT_GT(b.model.counters().exhaustions, 0u);
  EXPECT_GT(b.model.counters().refusals, 0u);
  b.audit();
  b.run(release_everything(c));
  expect_pool_whole(b);
  b.expect_counters();
}

}  // namespace tp::tb
