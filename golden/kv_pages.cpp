// tp::KvPages: golden model of the paged KV-cache manager (kv_pages.h).
#include "golden/kv_pages.h"

#include <stdexcept>

namespace tp {
namespace {

bool power_of_two(unsigned v) { return v != 0 && (v & (v - 1)) == 0; }

KvResponse status_only(KvStatus status) { return {.status = status}; }

}  // namespace

KvPages::KvPages(KvPagesConfig config) : config_(config) {
  if (config.num_pages < 2) throw std::invalid_argument("KvPages: num_pages must be >= 2");
  if (config.max_seqs < 1 || config.max_prefixes < 1) {
    throw std::invalid_argument("KvPages: max_seqs and max_prefixes must be >= 1");
  }
  if (config.page_size < 2 || !power_of_two(config.page_size)) {
    throw std::invalid_argument("KvPages: page_size must be a power of two >= 2");
  }
  if (config.max_seq_len <= config.page_size || !power_of_two(config.max_seq_len)) {
    throw std::invalid_argument("KvPages: max_seq_len must be a power of two > page_size");
  }
  tables_.resize(config.max_seqs + config.max_prefixes);
  refcount_.assign(config.num_pages, 0);
  counters_.free_pages = config.num_pages;
}

KvResponse KvPages::execute(const KvRequest& request) {
  walked_ = 0;
  const KvResponse response = dispatch(request);
  if (response.status == KvStatus::kRefused) ++counters_.refusals;
  if (response.status == KvStatus::kNoFreePage) ++counters_.exhaustions;
  counters_.pages_in_use = watermark_ - static_cast<unsigned>(free_stack_.size());
  counters_.free_pages = config_.num_pages - counters_.pages_in_use;
  return response;
}

KvResponse KvPages::dispatch(const KvRequest& r) {
  const unsigned ps = config_.page_size;
  const bool seq_ok = r.seq < config_.max_seqs;
  const bool prefix_ok = r.prefix < config_.max_prefixes;
  switch (r.op) {
    case KvOp::kOpen: {
      if (!seq_ok) return status_only(KvStatus::kBadId);
      Table& s = tables_[r.seq];
      if (s.used) return status_only(KvStatus::kBadState);
      s = Table{.used = true, .len = 0, .pages = {}};
      return {};
    }
    case KvOp::kOpenPrefixed: {
      if (!seq_ok || !prefix_ok) return status_only(KvStatus::kBadId);
      Table& s = tables_[r.seq];
      const Table& p = tables_[prefix_table(r.prefix)];
      if (s.used || !p.used) return status_only(KvStatus::kBadState);
      s = p;
      for (unsigned page : s.pages) ++refcount_[page];
      walked_ = static_cast<unsigned>(s.pages.size());
      return {.len = s.len};
    }
    case KvOp::kAppend: {
      if (!seq_ok) return status_only(KvStatus::kBadId);
      Table& s = tables_[r.seq];
      if (!s.used || s.len == config_.max_seq_len) return status_only(KvStatus::kBadState);
      if (s.len % ps == 0) {
        if (watermark_ == config_.num_pages && free_stack_.empty()) return status_only(KvStatus::kNoFreePage);
        s.pages.push_back(allocate());
      }
      const unsigned pos = s.len++;
      return {.page = s.pages[pos / ps], .slot = pos % ps, .len = s.len};
    }
    case KvOp::kTranslate: {
      if (!seq_ok) return status_only(KvStatus::kBadId);
      const Table& s = tables_[r.seq];
      if (!s.used || r.pos >= s.len) return status_only(KvStatus::kRefused);
      return {.page = s.pages[r.pos / ps], .slot = r.pos % ps, .len = s.len};
    }
    case KvOp::kClose: {
      if (!seq_ok) return status_only(KvStatus::kBadId);
      Table& s = tables_[r.seq];
      if (!s.used) return status_only(KvStatus::kBadState);
      release_all(s);
      return {};
    }
    case KvOp::kMakePrefix: {
      if (!seq_ok || !prefix_ok) return status_only(KvStatus::kBadId);
      Table& s = tables_[r.seq];
      Table& p = tables_[prefix_table(r.prefix)];
      if (!s.used || p.used || s.len < ps) return status_only(KvStatus::kBadState);
      const unsigned whole = s.len / ps;
      walked_ = static_cast<unsigned>(s.pages.size());
      // The whole pages change hands (their references move to the prefix);
      // a partial last page is released.
      p = Table{.used = true, .len = whole * ps, .pages = {s.pages.begin(), s.pages.begin() + whole}};
      if (s.pages.size() > whole) release(s.pages[whole]);
      s = Table{};
      return {.len = p.len};
    }
    case KvOp::kDropPrefix: {
      if (!prefix_ok) return status_only(KvStatus::kBadId);
      Table& p = tables_[prefix_table(r.prefix)];
      if (!p.used) return status_only(KvStatus::kBadState);
      release_all(p);
      return {};
    }
  }
  return status_only(KvStatus::kBadId);  // the reserved opcode
}

unsigned KvPages::allocate() {
  unsigned page;
  if (!free_stack_.empty()) {
    page = free_stack_.back();
    free_stack_.pop_back();
  } else {
    page = watermark_++;
  }
  refcount_[page] = 1;
  ++counters_.allocations;
  return page;
}

void KvPages::release(unsigned page) {
  if (refcount_[page] == 0) throw std::logic_error("KvPages: releasing a free page");
  if (--refcount_[page] == 0) {
    free_stack_.push_back(page);
    ++counters_.frees;
  }
}

// Releases the table's pages in page-table order and empties it.
void KvPages::release_all(Table& table) {
  walked_ = static_cast<unsigned>(table.pages.size());
  for (unsigned page : table.pages) release(page);
  table = Table{};
}

}  // namespace tp
