// tp::KvPages: golden model of the paged KV-cache manager, the control plane
// of the KV cache (rtl/attention/tp_kv_page_manager.sv; docs/kv-cache.md is
// the specification). It answers the same commands with the same policy as
// the RTL, so a testbench compares every response exactly:
//
//   pool      num_pages physical pages of page_size tokens; a page is free or
//             held by one or more tables (reference count = holders)
//   tables    max_seqs sequences and max_prefixes shared prefixes, each a
//             length in tokens and a page table (logical page -> physical page)
//   free list a stack of freed pages over a watermark of never-used pages:
//             allocation pops the most recently freed page, or else takes the
//             lowest never-used page (the watermark)
//
// Prefixes hold whole pages only: MAKE_PREFIX keeps the floor(len / page_size)
// full pages of a sequence and releases its partial last page, so the shared
// pages of a sequence are always full and APPEND never writes into one.
#pragma once

#include <cstdint>
#include <vector>

namespace tp {

// Request opcodes (the RTL's req_op_i encoding). 7 is reserved (BAD_ID).
enum class KvOp : std::uint8_t {
  kOpen = 0,          // OPEN(seq): an empty sequence
  kOpenPrefixed = 1,  // OPEN(seq, prefix): starts holding the prefix's pages
  kAppend = 2,        // APPEND(seq): one token more; a fresh page at a page start
  kTranslate = 3,     // TRANSLATE(seq, pos): physical page and slot of a position
  kClose = 4,         // CLOSE(seq): releases every page the sequence holds
  kMakePrefix = 5,    // MAKE_PREFIX(seq -> prefix): the sequence's whole pages become the prefix
  kDropPrefix = 6,    // DROP_PREFIX(prefix): releases the prefix's pages
};

// Response status (the RTL's rsp_status_o encoding), by priority: BAD_ID, then
// BAD_STATE / REFUSED, then NO_FREE_PAGE. Only OK changes anything stored.
enum class KvStatus : std::uint8_t {
  kOk = 0,
  kNoFreePage = 1,  // APPEND needs a page and the pool is empty (counted)
  kRefused = 2,     // TRANSLATE outside the pages the sequence holds (counted)
  kBadId = 3,       // sequence / prefix id out of range, or the reserved opcode
  kBadState = 4,    // wrong table state or a sequence at max_seq_len
};

struct KvPagesConfig {
  unsigned num_pages = 64;     // physical pages in the pool
  unsigned max_seqs = 8;       // sequence ids 0 .. max_seqs - 1
  unsigned max_prefixes = 4;   // prefix ids 0 .. max_prefixes - 1
  unsigned page_size = 16;     // tokens per page, a power of two >= 2
  unsigned max_seq_len = 1024; // tokens per sequence, a power of two > page_size
};

struct KvRequest {
  KvOp op = KvOp::kOpen;
  unsigned seq = 0;     // all but DROP_PREFIX
  unsigned prefix = 0;  // OPEN_PREFIXED, MAKE_PREFIX, DROP_PREFIX
  unsigned pos = 0;     // TRANSLATE
  bool operator==(const KvRequest&) const = default;
};

// Fields a command does not define are 0 (so is every field but the status
// of an error response):
//   APPEND     page, slot of the new token; len = length after it
//   TRANSLATE  page, slot of pos; len = the sequence's length
//   OPEN*      len = the initial length (0, or the prefix's length)
//   MAKE_PREFIX len = the prefix's length (whole pages)
struct KvResponse {
  KvStatus status = KvStatus::kOk;
  unsigned page = 0;
  unsigned slot = 0;
  unsigned len = 0;
  bool operator==(const KvResponse&) const = default;
};

// The host-visible status and event counters.
struct KvCounters {
  unsigned pages_in_use = 0;
  unsigned free_pages = 0;
  std::uint64_t allocations = 0;  // pages taken from the pool
  std::uint64_t frees = 0;        // pages returned to the pool
  std::uint64_t refusals = 0;     // REFUSED responses
  std::uint64_t exhaustions = 0;  // NO_FREE_PAGE responses
  bool operator==(const KvCounters&) const = default;
};

class KvPages {
 public:
  // Throws std::invalid_argument when the configuration breaks the rules above.
  explicit KvPages(KvPagesConfig config = {});

  KvResponse execute(const KvRequest& request);
  // Page-table entries the last command walked (OPEN_PREFIXED: the prefix's
  // pages; CLOSE, MAKE_PREFIX: the sequence's pages; DROP_PREFIX: the
  // prefix's pages; 0 otherwise and on errors). The RTL takes one cycle each.
  unsigned last_pages_walked() const { return walked_; }

  const KvPagesConfig& config() const { return config_; }
  const KvCounters& counters() const { return counters_; }

  // Inspection (tests).
  bool seq_open(unsigned seq) const { return tables_.at(seq).used; }
  unsigned seq_len(unsigned seq) const { return tables_.at(seq).len; }
  const std::vector<unsigned>& seq_pages(unsigned seq) const { return tables_.at(seq).pages; }
  bool prefix_valid(unsigned prefix) const { return tables_.at(prefix_table(prefix)).used; }
  unsigned prefix_len(unsigned prefix) const { return tables_.at(prefix_table(prefix)).len; }
  const std::vector<unsigned>& prefix_pages(unsigned prefix) const { return tables_.at(prefix_table(prefix)).pages; }
  unsigned refcount(unsigned page) const { return refcount_.at(page); }

 private:
  struct Table {
    bool used = false;
    unsigned len = 0;             // tokens
    std::vector<unsigned> pages;  // ceil(len / page_size) physical pages
  };

  unsigned prefix_table(unsigned prefix) const { return config_.max_seqs + prefix; }
  KvResponse dispatch(const KvRequest& request);
  unsigned allocate();
  void release(unsigned page);
  void release_all(Table& table);

  KvPagesConfig config_;
  std::vector<Table> tables_;       // sequences, then prefixes
  std::vector<unsigned> refcount_;  // per page: tables holding it
  std::vector<unsigned> free_stack_;
  unsigned watermark_ = 0;          // pages >= watermark were never used
  KvCounters counters_;
  unsigned walked_ = 0;
};

}  // namespace tp
