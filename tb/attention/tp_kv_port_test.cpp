// tp_kv_port testbench: the KV data port against the HBM model with its
// AXI4 write channel (tb/common/hbm_model.h). Golden model: the byte layout
// of golden/int/kv_layout.h (tp::fx::KvLayout, kv_segment, kv_scale_code) and
// tp::fx::KvCache (golden/int/attention.h) holding the tokens.
//
// The bench keeps an expected memory image: every write command the port
// accepts (and does not refuse) is applied to it through KvLayout's offsets
// (scale codes, K and V rows, zeros from head_size up to the pitch); every
// read command the port accepts expects the segment's bytes of that image at
// the moment it is accepted (the ordering rule: it sees every earlier write,
// no later one). At the end the memory must equal the image byte for byte:
// touched segments are what the layout says, every other byte is unchanged.
// Tests with a zeroed KV region also compare segments and read beats with
// kv_segment() of the golden caches directly.
#include "Vtp_kv_port.h"
#include "common/harness.h"
#include "common/hbm_model.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"

#include "golden/int/attention.h"
#include "golden/int/kv_layout.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using tp::fx::KvBeat;
using tp::fx::KvCache;
using tp::fx::KvLayout;
using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::HbmBeat;
using tp::tb::HbmConfig;
using tp::tb::HbmModel;
using tp::tb::HbmPorts;
using tp::tb::HbmWritePorts;
using tp::tb::kHbmBeatBytes;
using tp::tb::Scoreboard;
using tp::tb::Sink;
using tp::tb::Source;
using tp::tb::StallGenerator;
using tp::tb::random_image;

using Model = Vtp_kv_port;

constexpr unsigned kNumPages = 64;  // RTL defaults
constexpr unsigned kMaxLayers = 16;
constexpr unsigned kMaxKvHeads = 16;
constexpr unsigned kSlots = 16;
constexpr unsigned kStatusOk = 0, kStatusRefused = 1, kStatusMemError = 2;

struct Config {
  uint64_t base = 0;  // kv_base, byte address
  unsigned n_layers = 1, n_kv_heads = 1, head_size = 8;
};

struct RdCmd {
  unsigned page = 0, layer = 0, head = 0;
  bool last = false;
  bool fwd = false;  // forwarding: carries the next append to this head (KvPortBench::forward)
  bool operator==(const RdCmd&) const = default;
};

struct WrCmd {
  unsigned page = 0, slot = 0, layer = 0, head = 0;
  std::array<uint8_t, 64> k{}, v{};  // bytes from head_size on: garbage the port must not write
  uint16_t k_scale = 0, v_scale = 0;
  bool operator==(const WrCmd&) const = default;
};

struct OutBeat {
  HbmBeat data{};
  bool seg_last = false, job_last = false, err = false;
  // Data is undefined on an error beat.
  bool operator==(const OutBeat& o) const {
    return seg_last == o.seg_last && job_last == o.job_last && err == o.err && (err || data == o.data);
  }
};

std::ostream& operator<<(std::ostream& os, const OutBeat& b) {
  os << "{seg_last " << b.seg_last << ", job_last " << b.job_last << ", err " << b.err;
  if (!b.err) {
    os << ", bytes:";
    for (uint8_t byte : b.data) {
      char buf[4];
      std::snprintf(buf, sizeof buf, " %02x", byte);
      os << buf;
    }
  }
  return os << "}";
}

bool config_ok(const Config& c) {
  if (c.n_layers < 1 || c.n_layers > kMaxLayers || c.n_kv_heads < 1 || c.n_kv_heads > kMaxKvHeads ||
      c.head_size < 1 || c.head_size > 64 || c.base % 64 != 0) {
    return false;
  }
  const KvLayout layout(static_cast<int>(c.n_layers), static_cast<int>(c.n_kv_heads), static_cast<int>(c.head_size));
  return c.base + uint64_t{kNumPages} * layout.page_bytes() <= (uint64_t{1} << 34);
}

// ------------------------------------------------------------------ bench ---
// Harness + write Source + read Source + HBM model (read and write) + output
// and response Sinks + their Scoreboards + the expected memory image.
struct Stalls {
  double cmd = 0, out = 0, mem = 0;  // command sources; out and wr_rsp sinks; R, AW, W
};

struct KvPortBench {

  KvPortBench(Config config, std::vector<uint8_t> memory, HbmConfig hbm_config, Stalls stalls = {},
              HarnessOptions options = {})
      : h(options),
        // Created before rd: a read and a write accepted on the same edge are
        // applied write first, as the port orders them.
        wr(
            h, [this](bool valid, const WrCmd& c) { put_wr(valid, c); }, [this] { return h->wr_cmd_ready_o != 0; },
            StallGenerator(stalls.cmd, 101)),
        rd(
            h,
            [this](bool valid, const RdCmd& c) {
              h->rd_cmd_valid_i = valid;
              h->rd_cmd_page_i = c.page;
              h->rd_cmd_layer_i = c.layer;
              h->rd_cmd_kv_head_i = c.head;
              h->rd_cmd_last_i = c.last;
              h->rd_cmd_fwd_i = c.fwd;
            },
            [this] { return h->rd_cmd_ready_o != 0; }, StallGenerator(stalls.cmd, 103)),
        hbm(h, read_ports(), tp::tb::axi_write_ports(h), std::move(memory), with_stalls(std::move(hbm_config), stalls)),
        out(
            h, [this](bool r) { h->out_ready_i = r; }, [this] { return h->out_valid_o != 0; },
            [this] {
              OutBeat b;
              for (unsigned w = 0; w < 16; ++w) {
                for (unsigned j = 0; j < 4; ++j) b.data[4 * w + j] = static_cast<uint8_t>(h->out_data_o[w] >> (8 * j));
              }
              b.seg_last = h->out_seg_last_o != 0;
              b.job_last = h->out_job_last_o != 0;
              b.err = h->out_err_o != 0;
              return b;
            },
            StallGenerator(stalls.out, 107)),
        rsp(
            h, [this](bool r) { h->wr_rsp_ready_i = r; }, [this] { return h->wr_rsp_valid_o != 0; },
            [this] { return static_cast<unsigned>(h->wr_rsp_status_o); }, StallGenerator(stalls.out, 109)),
        out_sb(h, "out"),
        rsp_sb(h, "wr_rsp"),
        expected(hbm.memory()) {
    set_config(config);
    out_sb.connect(rd, [this](const RdCmd& c) { return golden_read(c); }, out);
    wr.on_accept([this](const WrCmd& c, uint64_t) { rsp_sb.expect(golden_write(c)); });
    rsp.on_beat([this](const unsigned& s, uint64_t cycle) { rsp_sb.observe(s, cycle); });
  }

  // The DUT's read ports, with rresp driven from rresp_error (tests of R errors).
  HbmPorts read_ports() {
    HbmPorts p = tp::tb::axi_read_ports(h);
    p.set_r = [this, set = p.set_r](bool valid, const HbmBeat& data, bool last) {
      set(valid, data, last);
      h->m_axi_rresp_i = (valid && rresp_error) ? 2 : 0;
    };
    return p;
  }

  static HbmConfig with_stalls(HbmConfig c, const Stalls& s) {
    if (s.mem > 0) {
      c.r_stall = StallGenerator(s.mem, 211);
      c.aw_stall = StallGenerator(s.mem, 223);
      c.w_stall = StallGenerator(s.mem, 227);
    }
    return c;
  }

  void set_config(const Config& c) {
    cfg = c;
    ok = config_ok(c);
    if (ok) layout.emplace(static_cast<int>(c.n_layers), static_cast<int>(c.n_kv_heads), static_cast<int>(c.head_size));
    h->cfg_kv_base_i = c.base;
    h->cfg_n_layers_i = c.n_layers;
    h->cfg_n_kv_heads_i = c.n_kv_heads;
    h->cfg_head_size_i = c.head_size;
  }

  void put_wr(bool valid, const WrCmd& c) {
    h->wr_cmd_valid_i = valid;
    h->wr_cmd_page_i = c.page;
    h->wr_cmd_slot_i = c.slot;
    h->wr_cmd_layer_i = c.layer;
    h->wr_cmd_kv_head_i = c.head;
    for (unsigned w = 0; w < 16; ++w) {
      uint32_t kw = 0, vw = 0;
      for (unsigned j = 0; j < 4; ++j) {
        kw |= uint32_t{c.k[4 * w + j]} << (8 * j);
        vw |= uint32_t{c.v[4 * w + j]} << (8 * j);
      }
      h->wr_cmd_k_row_i[w] = kw;
      h->wr_cmd_v_row_i[w] = vw;
    }
    h->wr_cmd_k_scale_i = c.k_scale;
    h->wr_cmd_v_scale_i = c.v_scale;
  }

  // ------------------------------------------------------------ golden ---
  uint64_t segment_address(unsigned page, unsigned layer, unsigned head) const {
    return cfg.base + layout->segment_address(static_cast<int>(page), static_cast<int>(layer), static_cast<int>(head));
  }

  bool read_refused(const RdCmd& c) const {
    return !ok || c.page >= kNumPages || c.layer >= cfg.n_layers || c.head >= cfg.n_kv_heads;
  }
  bool write_refused(const WrCmd& c) const {
    return !ok || c.page >= kNumPages || c.slot >= kSlots || c.layer >= cfg.n_layers || c.head >= cfg.n_kv_heads;
  }

  std::vector<OutBeat> golden_read(const RdCmd& c) {
    ++reads_accepted;
    if (read_refused(c)) return {OutBeat{.seg_last = true, .job_last = c.last, .err = true}};
    const uint64_t seg = segment_address(c.page, c.layer, c.head);
    std::vector<OutBeat> beats(static_cast<size_t>(layout->segment_beats()));
    for (size_t i = 0; i < beats.size(); ++i) {
      std::copy_n(expected.begin() + static_cast<std::ptrdiff_t>(seg + i * kHbmBeatBytes), kHbmBeatBytes,
                  beats[i].data.begin());
      beats[i].seg_last = i + 1 == beats.size();
      beats[i].job_last = beats[i].seg_last && c.last;
    }
    if (c.fwd) {  // the segment as it is after the next append to its head
      auto& next = forward[c.head];
      EXPECT_FALSE(next.empty()) << "a fwd read without its append in KvPortBench::forward";
      if (next.empty()) return beats;
      if (!write_refused(next.front())) {
        for (const auto& [offset, value] : slot_bytes(next.front())) {
          beats[offset / kHbmBeatBytes].data[offset % kHbmBeatBytes] = value;
        }
      }
      next.pop_front();
    }
    return beats;
  }

  // The bytes an append writes, as (offset in its segment, value): the
  // slot's scale codes and its K and V rows, zeros from head_size to the pitch.
  std::vector<std::pair<uint64_t, uint8_t>> slot_bytes(const WrCmd& c) const {
    const int slot = static_cast<int>(c.slot);
    const auto at = [](int offset) { return static_cast<uint64_t>(offset); };
    std::vector<std::pair<uint64_t, uint8_t>> bytes = {
        {at(KvLayout::key_scale_offset(slot)), static_cast<uint8_t>(c.k_scale)},
        {at(KvLayout::key_scale_offset(slot)) + 1, static_cast<uint8_t>(c.k_scale >> 8)},
        {at(KvLayout::value_scale_offset(slot)), static_cast<uint8_t>(c.v_scale)},
        {at(KvLayout::value_scale_offset(slot)) + 1, static_cast<uint8_t>(c.v_scale >> 8)}};
    const auto put_row = [&](uint64_t row_at, const std::array<uint8_t, 64>& row) {
      for (int i = 0; i < layout->pitch(); ++i) {
        bytes.emplace_back(row_at + at(i), i < static_cast<int>(cfg.head_size) ? row[static_cast<size_t>(i)] : 0);
      }
    };
    put_row(at(layout->key_offset(slot)), c.k);
    put_row(at(layout->value_offset(slot)), c.v);
    return bytes;
  }

  // Applies an accepted write to the expected image; returns its status.
  unsigned golden_write(const WrCmd& c) {
    ++writes_accepted;
    if (write_refused(c)) return kStatusRefused;
    const uint64_t seg = segment_address(c.page, c.layer, c.head);
    unsigned status = kStatusOk;
    for (const auto& [offset, value] : slot_bytes(c)) {
      if (bad_beats.contains((seg + offset) & ~uint64_t{63})) {
        status = kStatusMemError;
        continue;
      }
      expected[seg + offset] = value;
    }
    return status;
  }

  // Write beats (64-byte aligned addresses) answered SLVERR; set before use.
  void fail_beat(uint64_t addr) {
    bad_beats.insert(addr);
    hbm_bad_beats = bad_beats;
  }

  // ------------------------------------------------------------ running ---
  bool idle() const {
    return rd.done() && wr.done() && out_sb.pending() == 0 && rsp_sb.pending() == 0 &&
           std::all_of(more_to_come.begin(), more_to_come.end(), [](const auto& f) { return !f(); });
  }

  // Runs until every pushed command's beats and responses came and matched.
  void drain(uint64_t max_cycles) {
    ASSERT_TRUE(h.run_until([&] { return idle(); }, max_cycles, "every command's beats and responses"));
    h.tick(30);  // nothing extra afterwards
    expect_clean();
  }

  void expect_clean() {
    EXPECT_EQ(out_sb.mismatched(), 0u);
    EXPECT_EQ(out_sb.pending(), 0u);
    EXPECT_EQ(rsp_sb.mismatched(), 0u);
    EXPECT_EQ(rsp_sb.pending(), 0u);
    EXPECT_EQ(hbm.violations(), 0u);
    EXPECT_EQ(hbm.outstanding(), 0u);
    EXPECT_EQ(hbm.writes_outstanding(), 0u);
  }

  // The memory equals the expected image everywhere (first difference reported).
  ::testing::AssertionResult memory_matches() const {
    const auto& mem = hbm.image();
    if (mem.size() != expected.size()) return ::testing::AssertionFailure() << "image size changed";
    for (size_t i = 0; i < mem.size(); ++i) {
      if (mem[i] != expected[i]) {
        return ::testing::AssertionFailure() << "memory byte 0x" << std::hex << i << " is 0x" << unsigned{mem[i]}
                                             << ", expected 0x" << unsigned{expected[i]} << std::dec;
      }
    }
    return ::testing::AssertionSuccess();
  }

  // busy = beats + stalls + waits on the read side; W beats = 3 per written command.
  void expect_counters_consistent() {
    const uint64_t err_beats = h->err_rd_refused_o;
    EXPECT_EQ(uint64_t{h->perf_rd_busy_o},
              uint64_t{h->perf_rd_beats_o} + err_beats + h->perf_out_stall_o + h->perf_mem_wait_o);
  }

  Harness<Model> h;
  Source<WrCmd> wr;
  Source<RdCmd> rd;
  bool rresp_error = false;
  std::set<uint64_t> hbm_bad_beats;  // read by the HBM model's bresp (see make_bench)
  HbmModel hbm;
  Sink<OutBeat> out;
  Sink<unsigned> rsp;
  Scoreboard<OutBeat> out_sb;
  Scoreboard<unsigned> rsp_sb;
  std::vector<uint8_t> expected;
  Config cfg;
  bool ok = false;
  std::optional<KvLayout> layout;
  std::set<uint64_t> bad_beats;
  std::vector<std::function<bool()>> more_to_come;  // e.g. a Script not yet fully pushed
  std::map<unsigned, std::deque<WrCmd>> forward;  // per KV head: the appends fwd reads carry, in order
  uint64_t reads_accepted = 0, writes_accepted = 0;
};

// The bench with the HBM model's bresp bound to its failing beats (SLVERR).
std::unique_ptr<KvPortBench> make_bench(Config config, std::vector<uint8_t> memory, HbmConfig hbm_config,
                                        Stalls stalls = {}, HarnessOptions options = {}) {
  auto bad = std::make_shared<const std::set<uint64_t>*>(nullptr);
  hbm_config.bresp = [bad](uint64_t addr) -> unsigned { return (*bad && (*bad)->contains(addr)) ? 2u : 0u; };
  auto b = std::make_unique<KvPortBench>(config, std::move(memory), std::move(hbm_config), stalls, options);
  *bad = &b->hbm_bad_beats;
  return b;
}

// ---------------------------------------------------------------- traffic ---
// Sequences of tokens in pages of the pool, their K/V in golden caches (one
// per layer), and the commands that append them and read them back.
struct Sequence {
  std::vector<unsigned> pages;  // physical page of each 16-token page
  std::vector<KvCache> caches;  // one per layer
  int len = 0;
};

struct Traffic {
  Traffic(const Config& c, uint64_t seed) : cfg(c), rng(seed) {}

  // n sequences on distinct random pages, room for max_tokens each.
  void open(unsigned n, int max_tokens) {
    std::vector<unsigned> pool(kNumPages);
    for (unsigned i = 0; i < kNumPages; ++i) pool[i] = i;
    std::shuffle(pool.begin(), pool.end(), rng);
    const unsigned per = static_cast<unsigned>((max_tokens + 15) / 16);
    for (unsigned s = 0; s < n; ++s) {
      Sequence q;
      q.pages.assign(pool.begin() + s * per, pool.begin() + (s + 1) * per);
      for (unsigned l = 0; l < cfg.n_layers; ++l) {
        q.caches.emplace_back(max_tokens, static_cast<int>(cfg.n_kv_heads), static_cast<int>(cfg.head_size));
      }
      seqs.push_back(std::move(q));
    }
  }

  // Appends one token to sequence s: K/V of every layer and KV head, through
  // the golden quantizer; returns the write commands (garbage past head_size).
  std::vector<WrCmd> append(unsigned s) {
    Sequence& q = seqs[s];
    const int pos = q.len++;
    std::vector<WrCmd> cmds;
    const size_t n = size_t{cfg.n_kv_heads} * cfg.head_size;
    for (unsigned l = 0; l < cfg.n_layers; ++l) {
      std::vector<int32_t> k(n), v(n);
      const int shift = static_cast<int>(rng() % 12);  // magnitudes 2^8 .. 2^27
      for (auto& x : k) x = static_cast<int32_t>(static_cast<int64_t>(rng() % (1u << 28)) - (1 << 27)) >> shift;
      for (auto& x : v) x = static_cast<int32_t>(static_cast<int64_t>(rng() % (1u << 28)) - (1 << 27)) >> shift;
      if (rng() % 8 == 0) std::fill(v.begin(), v.end(), 0);  // a zero scale
      q.caches[l].store(pos, k, v);
      for (unsigned hd = 0; hd < cfg.n_kv_heads; ++hd) {
        WrCmd c{.page = q.pages[static_cast<size_t>(pos / 16)], .slot = static_cast<unsigned>(pos % 16), .layer = l,
                .head = hd};
        for (auto& b : c.k) b = static_cast<uint8_t>(rng());
        for (auto& b : c.v) b = static_cast<uint8_t>(rng());
        const auto key = q.caches[l].key(pos, static_cast<int>(hd));
        const auto value = q.caches[l].value(pos, static_cast<int>(hd));
        for (size_t i = 0; i < key.size(); ++i) {
          c.k[i] = static_cast<uint8_t>(key[i]);
          c.v[i] = static_cast<uint8_t>(value[i]);
        }
        c.k_scale = tp::fx::kv_scale_code(q.caches[l].key_scale(pos, static_cast<int>(hd)));
        c.v_scale = tp::fx::kv_scale_code(q.caches[l].value_scale(pos, static_cast<int>(hd)));
        cmds.push_back(c);
      }
    }
    return cmds;
  }

  // The read job of sequence s, layer, KV head: one command per page, last on the final.
  std::vector<RdCmd> job(unsigned s, unsigned layer, unsigned head) const {
    const Sequence& q = seqs[s];
    std::vector<RdCmd> cmds;
    const size_t pages = static_cast<size_t>((q.len + 15) / 16);
    for (size_t p = 0; p < pages; ++p) cmds.push_back({q.pages[p], layer, head, p + 1 == pages});
    return cmds;
  }

  // The golden segment of sequence s's page p (kv_segment: zero past its length).
  std::vector<KvBeat> segment(unsigned s, size_t p, unsigned layer, unsigned head, const KvLayout& layout) const {
    const Sequence& q = seqs[s];
    const int first = static_cast<int>(p) * 16;
    return tp::fx::kv_segment(layout, q.caches[layer], static_cast<int>(head), first, std::min(16, q.len - first));
  }

  // A malformed command of a random kind.
  WrCmd bad_write() {
    WrCmd c{.page = static_cast<unsigned>(rng() % kNumPages), .slot = static_cast<unsigned>(rng() % 16),
            .layer = static_cast<unsigned>(rng() % cfg.n_layers), .head = static_cast<unsigned>(rng() % cfg.n_kv_heads)};
    switch (rng() % 4) {
      case 0: c.page = kNumPages + static_cast<unsigned>(rng() % kNumPages); break;
      case 1: c.slot = 16 + static_cast<unsigned>(rng() % 16); break;
      case 2: c.layer = cfg.n_layers + static_cast<unsigned>(rng() % (kMaxLayers - cfg.n_layers + 1)); break;
      default: c.head = cfg.n_kv_heads + static_cast<unsigned>(rng() % (kMaxKvHeads - cfg.n_kv_heads + 1)); break;
    }
    c.layer %= kMaxLayers;  // the field is 4 bits: n_layers = 16 leaves no bad layer, use a bad page then
    c.head %= kMaxKvHeads;
    if (c.page < kNumPages && c.slot < 16 && c.layer < cfg.n_layers && c.head < cfg.n_kv_heads) c.page += kNumPages;
    return c;
  }
  RdCmd bad_read(bool last) {
    RdCmd c{static_cast<unsigned>(rng() % kNumPages), static_cast<unsigned>(rng() % cfg.n_layers),
            static_cast<unsigned>(rng() % cfg.n_kv_heads), last};
    switch (rng() % 3) {
      case 0: c.page = kNumPages + static_cast<unsigned>(rng() % kNumPages); break;
      case 1: c.layer = (cfg.n_layers + static_cast<unsigned>(rng() % 16)) % kMaxLayers; break;
      default: c.head = (cfg.n_kv_heads + static_cast<unsigned>(rng() % 16)) % kMaxKvHeads; break;
    }
    if (c.page < kNumPages && c.layer < cfg.n_layers && c.head < cfg.n_kv_heads) c.page += kNumPages;
    return c;
  }

  Config cfg;
  std::mt19937_64 rng;
  std::vector<Sequence> seqs;
};

// A script of commands in program order, fed to the two Sources so that a
// command is presented only after every earlier command of the other kind was
// accepted (what a sequencer does: append, then read). Commands of one kind
// are pushed as one batch and go back to back.
class Script final : public tp::tb::Component {
 public:
  Script(KvPortBench& b) : Component(b.h), b_(b) {
    b.more_to_come.push_back([this] { return !done(); });
  }
  void add(const std::vector<WrCmd>& w) {
    for (const auto& c : w) items_.push_back({true, c, {}});
  }
  void add(const std::vector<RdCmd>& r) {
    for (const auto& c : r) items_.push_back({false, {}, c});
  }
  // Later commands wait until every earlier read's beats have left the port
  // (what decode does between layers: attention consumes them first).
  void barrier() { items_.push_back({false, {}, {}, true}); }
  bool done() const { return next_ == items_.size(); }
  void commit(uint64_t) override {
    while (next_ < items_.size()) {
      const Item& it = items_[next_];
      if (it.barrier) {
        if (!b_.rd.done() || b_.out_sb.pending() != 0) return;
      } else if (it.write ? !b_.rd.done() : !b_.wr.done()) {
        return;
      } else if (it.write) {
        b_.wr.push(it.w);
      } else {
        b_.rd.push(it.r);
      }
      ++next_;
    }
  }
  void reset() override { next_ = items_.size(); }  // a reset abandons the rest

 private:
  struct Item {
    bool write;
    WrCmd w;
    RdCmd r;
    bool barrier = false;
  };
  KvPortBench& b_;
  std::vector<Item> items_;
  size_t next_ = 0;
};

// Counts cycles in which a write in flight covers a beat that a read in
// flight has still to deliver (the port's ordering rule says never), and
// cycles with reads and writes in flight at once (allowed on other bytes).
class OrderProbe final : public tp::tb::Component {
 public:
  OrderProbe(KvPortBench& b) : Component(b.h), b_(b) {}
  void sample(uint64_t) override {
    if (b_.hbm.read_write_overlap()) ++overlap;
    if (b_.hbm.outstanding() > 0 && b_.hbm.writes_outstanding() > 0) ++concurrent;
  }
  void reset() override {}
  uint64_t overlap = 0;
  uint64_t concurrent = 0;

 private:
  KvPortBench& b_;
};

// Random program: sequences grow token by token (all layers and heads),
// read jobs of random (sequence, layer, head) in between, and malformed
// commands when `errors`.
void random_program(KvPortBench& b, Script& script, Traffic& t, unsigned steps, bool errors) {
  for (unsigned i = 0; i < steps; ++i) {
    const unsigned s = static_cast<unsigned>(t.rng() % t.seqs.size());
    const unsigned kind = static_cast<unsigned>(t.rng() % 10);
    const int cap = static_cast<int>(t.seqs[s].pages.size()) * 16;
    if ((kind < 5 || t.seqs[s].len == 0) && t.seqs[s].len < cap) {
      script.add(t.append(s));
    } else if (t.seqs[s].len > 0) {
      auto job = t.job(s, static_cast<unsigned>(t.rng() % b.cfg.n_layers),
                       static_cast<unsigned>(t.rng() % b.cfg.n_kv_heads));
      if (errors && t.rng() % 3 == 0) {  // a refused tile in the job, sometimes its last
        const size_t at = static_cast<size_t>(t.rng() % (job.size() + 1));
        RdCmd bad = t.bad_read(false);
        if (at == job.size()) {
          bad.last = true;
          job.back().last = false;
        }
        job.insert(job.begin() + static_cast<std::ptrdiff_t>(at), bad);
      }
      script.add(job);
    }
    if (errors && t.rng() % 6 == 0) script.add(std::vector<WrCmd>{t.bad_write()});
  }
}

// Memory of the KV region (+ slack on both sides) filled with random bytes.
std::vector<uint8_t> region_memory(const Config& c, uint64_t seed, bool zero_region = false) {
  const KvLayout layout(static_cast<int>(c.n_layers), static_cast<int>(c.n_kv_heads), static_cast<int>(c.head_size));
  const uint64_t end = c.base + uint64_t{kNumPages} * layout.page_bytes();
  auto mem = random_image(static_cast<size_t>(end + 8192), seed);
  if (zero_region) std::fill(mem.begin() + static_cast<std::ptrdiff_t>(c.base), mem.begin() + static_cast<std::ptrdiff_t>(end), 0);
  return mem;
}

const unsigned kHeadSizes[] = {3, 8, 16, 48, 64};

// ------------------------------------------------------------ stall matrix ---
// {command sources, output + response sinks, memory R/AW/W} x {never, random}
// x latency {1, 100, 300}: a random program (appends, read jobs, malformed
// commands) on a random configuration and random memory; every read beat and
// response against the golden image, the memory byte for byte at the end, and
// never a write in flight over bytes a read in flight has still to deliver.
class KvPortStallMatrix
    : public ::testing::TestWithParam<std::tuple<std::tuple<double, double, double>, unsigned>> {};

TEST_P(KvPortStallMatrix, MixedTrafficMatchesGoldenLayout) {
  const auto [stalls, latency] = GetParam();
  const auto [cmd_p, out_p, mem_p] = stalls;
  const uint64_t seed = 17 + latency + static_cast<uint64_t>(100 * cmd_p + 10 * out_p + mem_p);
  std::mt19937_64 rng(seed);
  const Config cfg{.base = 64 * (1 + rng() % 200), .n_layers = 1 + static_cast<unsigned>(rng() % 3),
                   .n_kv_heads = 1 + static_cast<unsigned>(rng() % 3),
                   .head_size = kHeadSizes[rng() % std::size(kHeadSizes)]};
  SCOPED_TRACE(::testing::Message() << "layers " << cfg.n_layers << " kv heads " << cfg.n_kv_heads << " head size "
                                    << cfg.head_size << " base " << cfg.base);
  auto b = make_bench(cfg, region_memory(cfg, seed), HbmConfig{.latency = latency, .max_outstanding = 64,
                                                                .b_latency = 1 + latency / 2},
                      {cmd_p, out_p, mem_p});
  Script script(*b);
  OrderProbe probe(*b);
  b->h.reset();
  Traffic t(cfg, seed);
  t.open(4, 48);
  random_program(*b, script, t, 200, true);
  b->drain(1000000);
  ASSERT_TRUE(script.done());
  EXPECT_TRUE(b->memory_matches());
  EXPECT_EQ(probe.overlap, 0u);
  EXPECT_GT(b->out_sb.matched(), 100u);
  EXPECT_GT(b->rsp_sb.matched(), 20u);
  b->expect_counters_consistent();
  // Counters against what the memory and the sinks saw.
  EXPECT_EQ(uint64_t{b->h->perf_rd_beats_o}, b->hbm.beats());
  EXPECT_EQ(uint64_t{b->h->perf_wr_beats_o}, b->hbm.write_beats());
  EXPECT_EQ(b->hbm.write_responses(), b->hbm.write_beats());  // single-beat bursts, one B each
  EXPECT_EQ(b->hbm.write_beats(), 3u * static_cast<uint64_t>(std::count(
      b->rsp.beats().begin(), b->rsp.beats().end(), kStatusOk)));  // three per written command
  EXPECT_EQ(b->h->err_wr_refused_o + 0u, static_cast<unsigned>(std::count(
      b->rsp.beats().begin(), b->rsp.beats().end(), kStatusRefused)));
  EXPECT_GT(b->h->err_wr_refused_o, 0u);
  EXPECT_GT(b->h->perf_wr_busy_o, 0u);
  EXPECT_EQ(b->h->err_rd_refused_o + 0u, static_cast<unsigned>(std::count_if(
      b->out.beats().begin(), b->out.beats().end(), [](const OutBeat& o) { return o.err; })));
}

std::string stall_matrix_test_name(
    const ::testing::TestParamInfo<std::tuple<std::tuple<double, double, double>, unsigned>>& info) {
  const auto [stalls, latency] = info.param;
  return tp::tb::stall_matrix_name(
             {{"Cmd", std::get<0>(stalls)}, {"Out", std::get<1>(stalls)}, {"Mem", std::get<2>(stalls)}}) +
         "Latency" + std::to_string(latency);
}

INSTANTIATE_TEST_SUITE_P(CmdOutMem, KvPortStallMatrix,
                         ::testing::Combine(tp::tb::stall_matrix<3>(), ::testing::Values(1u, 100u, 300u)),
                         stall_matrix_test_name);

// Reads and writes from independent sources (no program order): commands of
// both kinds are taken on the same edge at times; each read still sees
// exactly the writes accepted before it (or on its edge).
TEST(KvPort, IndependentReadAndWriteStreamsKeepTheOrderingRule) {
  const Config cfg{.base = 4096 - 64 * 3, .n_layers = 2, .n_kv_heads = 2, .head_size = 16};
  auto b = make_bench(cfg, region_memory(cfg, 5), HbmConfig{.latency = 40, .max_outstanding = 64, .b_latency = 90},
                      {0.3, 0.2, 0.2});
  OrderProbe probe(*b);
  b->h.reset();
  Traffic t(cfg, 5);
  t.open(2, 32);
  for (int i = 0; i < 24; ++i) {
    for (const auto& c : t.append(static_cast<unsigned>(i % 2))) b->wr.push(c);
    for (const auto& c : t.job(static_cast<unsigned>(i % 2), static_cast<unsigned>(i % 2), 1)) b->rd.push(c);
  }
  b->drain(200000);
  EXPECT_TRUE(b->memory_matches());
  EXPECT_EQ(probe.overlap, 0u);
}

// A read and a write taken on the same edge: the write goes first (the read
// waits for its B and sees the new token).
TEST(KvPort, SameEdgeReadAndWriteWriteGoesFirst) {
  const Config cfg{.base = 0, .n_layers = 1, .n_kv_heads = 1, .head_size = 8};
  auto b = make_bench(cfg, region_memory(cfg, 7, true), HbmConfig{.latency = 1, .max_outstanding = 64, .b_latency = 50});
  b->h.reset();
  Traffic t(cfg, 7);
  t.open(1, 16);
  for (int i = 0; i < 3; ++i) {
    b->wr.push(t.append(0).front());
    b->rd.push(t.job(0, 0, 0).front());
    b->drain(2000);
    ASSERT_EQ(b->wr.accept_cycles().back(), b->rd.accept_cycles().back());
  }
  EXPECT_TRUE(b->memory_matches());
  const auto seg = t.segment(0, 0, 0, 0, *b->layout);  // all three tokens
  ASSERT_EQ(b->out.beats().size(), 15u);
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(std::equal(seg[i].begin(), seg[i].end(), b->out.beats()[10 + i].data.begin()));
}

// ------------------------------------------------- the golden layout itself ---
// A zeroed KV region; whole sequences appended (every layer, KV head, token),
// then: every segment of every page equals kv_segment() of the golden caches,
// every byte outside the touched slots is unchanged, and every read beat of
// every job equals kv_segment() beat by beat, with seg/job last flags.
class KvPortLayout : public ::testing::TestWithParam<unsigned> {};

TEST_P(KvPortLayout, SegmentsAndReadBeatsEqualKvSegment) {
  const unsigned head_size = GetParam();
  const Config cfg{.base = 64 * 37, .n_layers = 3, .n_kv_heads = 2, .head_size = head_size};
  auto b = make_bench(cfg, region_memory(cfg, head_size, true), HbmConfig{.latency = 50, .max_outstanding = 64},
                      {0.2, 0.2, 0.2});
  Script script(*b);
  b->h.reset();
  Traffic t(cfg, 1000 + head_size);
  t.open(3, 48);
  const int lens[] = {1, 23, 48};  // a partial page, a page and a half, three full pages
  for (unsigned s = 0; s < 3; ++s) {
    for (int i = 0; i < lens[s]; ++i) script.add(t.append(s));
  }
  // Read jobs, expected straight from kv_segment (in the order they are pushed).
  std::vector<OutBeat> golden;
  for (unsigned s = 0; s < 3; ++s) {
    for (unsigned l = 0; l < cfg.n_layers; ++l) {
      for (unsigned hd = 0; hd < cfg.n_kv_heads; ++hd) {
        const auto job = t.job(s, l, hd);
        script.add(job);
        for (size_t p = 0; p < job.size(); ++p) {
          const auto seg = t.segment(s, p, l, hd, *b->layout);
          for (size_t i = 0; i < seg.size(); ++i) {
            OutBeat o{.seg_last = i + 1 == seg.size()};
            std::copy(seg[i].begin(), seg[i].end(), o.data.begin());
            o.job_last = o.seg_last && job[p].last;
            golden.push_back(o);
          }
        }
      }
    }
  }
  b->drain(400000);
  ASSERT_TRUE(script.done());
  EXPECT_TRUE(b->memory_matches());
  // Every segment of every page of every sequence in memory is kv_segment().
  const auto& mem = b->hbm.image();
  size_t segments = 0;
  for (unsigned s = 0; s < 3; ++s) {
    for (size_t p = 0; p < t.seqs[s].pages.size(); ++p) {
      if (static_cast<int>(p) * 16 >= t.seqs[s].len) continue;
      for (unsigned l = 0; l < cfg.n_layers; ++l) {
        for (unsigned hd = 0; hd < cfg.n_kv_heads; ++hd) {
          const auto seg = t.segment(s, p, l, hd, *b->layout);
          const uint64_t at = b->segment_address(t.seqs[s].pages[p], l, hd);
          for (size_t i = 0; i < seg.size(); ++i) {
            ASSERT_TRUE(std::equal(seg[i].begin(), seg[i].end(), mem.begin() + static_cast<std::ptrdiff_t>(at + 64 * i)))
                << "sequence " << s << " page " << p << " layer " << l << " head " << hd << " beat " << i;
          }
          ++segments;
        }
      }
    }
  }
  EXPECT_EQ(segments, size_t{(1 + 2 + 3) * 3 * 2});
  // Bytes outside the KV region are the random pattern they started as.
  const auto initial = region_memory(cfg, head_size, true);
  EXPECT_TRUE(std::equal(mem.begin(), mem.begin() + static_cast<std::ptrdiff_t>(cfg.base), initial.begin()));
  // Every read beat, in order, is kv_segment's.
  ASSERT_EQ(b->out.beats().size(), golden.size());
  for (size_t i = 0; i < golden.size(); ++i) {
    ASSERT_EQ(b->out.beats()[i], golden[i]) << "read beat " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(HeadSize, KvPortLayout, ::testing::ValuesIn(kHeadSizes),
                         [](const ::testing::TestParamInfo<unsigned>& i) { return std::to_string(i.param); });

// The largest configuration: 16 layers x 16 KV heads x head size 64 (33-beat
// segments, 540 KiB pages); the last page, layer and head at the region's end.
TEST(KvPort, LargestConfigurationAddressesTheWholeRegion) {
  const Config cfg{.base = 64 * 5, .n_layers = 16, .n_kv_heads = 16, .head_size = 64};
  auto b = make_bench(cfg, region_memory(cfg, 9), HbmConfig{.latency = 20, .max_outstanding = 64});
  b->h.reset();
  std::mt19937_64 rng(3);
  for (unsigned page : {0u, 1u, 31u, 62u, 63u}) {
    for (unsigned lh : {0u, 15u * 16 + 15, 7u * 16 + 3}) {
      WrCmd w{.page = page, .slot = static_cast<unsigned>(rng() % 16), .layer = lh / 16, .head = lh % 16};
      for (auto& x : w.k) x = static_cast<uint8_t>(rng());
      for (auto& x : w.v) x = static_cast<uint8_t>(rng());
      w.k_scale = static_cast<uint16_t>(rng());
      w.v_scale = static_cast<uint16_t>(rng());
      b->wr.push(w);
      b->drain(20000);
      b->rd.push({page, lh / 16, lh % 16, true});
      b->drain(20000);
    }
  }
  EXPECT_TRUE(b->memory_matches());
  EXPECT_EQ(b->rsp_sb.matched(), 15u);
  EXPECT_EQ(b->out_sb.matched(), 15u * 33);
}

// ------------------------------------------------------------- ordering ---
// Append then read at once: the read is presented the cycle after the last
// write is taken; the memory acknowledges writes late (B after 300 cycles)
// and serves reads fast, and only commits a write when its B is presented,
// so a read issued before the B would read the old bytes. The read's AR must
// come after the last B, and its beats carry the new token.
TEST(KvPort, ReadWaitsForEveryEarlierWriteAcknowledgement) {
  const Config cfg{.base = 0, .n_layers = 1, .n_kv_heads = 1, .head_size = 8};
  auto b = make_bench(cfg, region_memory(cfg, 4, true), HbmConfig{.latency = 1, .max_outstanding = 64, .b_latency = 300});
  Script script(*b);
  OrderProbe probe(*b);
  b->h.reset();
  Traffic t(cfg, 4);
  t.open(1, 16);
  for (int i = 0; i < 5; ++i) {
    script.add(t.append(0));
    script.add(t.job(0, 0, 0));
  }
  uint64_t last_b = 0, bad_ar = 0;
  struct Watch final : tp::tb::Component {
    Watch(KvPortBench& b, uint64_t& last_b, uint64_t& bad_ar) : Component(b.h), b(b), last_b(last_b), bad_ar(bad_ar) {}
    void sample(uint64_t cycle) override {
      if (b.h->m_axi_bvalid_i && b.h->m_axi_bready_o) last_b = cycle;
      if (b.h->m_axi_arvalid_o && b.h->m_axi_arready_i && cycle <= last_b) ++bad_ar;
    }
    KvPortBench& b;
    uint64_t& last_b;
    uint64_t& bad_ar;
  } watch(*b, last_b, bad_ar);
  b->drain(20000);
  EXPECT_TRUE(b->memory_matches());
  EXPECT_EQ(bad_ar, 0u);
  EXPECT_EQ(probe.overlap, 0u);
  // The fifth read (5 beats) holds all five tokens: kv_segment of 5 positions.
  const auto seg = t.segment(0, 0, 0, 0, *b->layout);
  const auto& beats = b->out.beats();
  ASSERT_EQ(beats.size(), 25u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(std::equal(seg[i].begin(), seg[i].end(), beats[20 + i].data.begin())) << "beat " << i;
  }
  // Each read's first beat: B of the write + 1 (AR) ... at least 300 cycles after its write was taken.
  for (size_t j = 0; j < 5; ++j) {
    EXPECT_GT(b->out.beat_cycles()[5 * j] - b->wr.accept_cycles()[j], 300u);
  }
}

// A write waits only for the reads of its own KV head. A read job of head 0
// (three 33-beat segments, memory latency 200) is in flight when the appends
// of heads 1 and 0 arrive; this memory commits a write at its B (latency 1)
// and reads a beat's bytes when it presents it, so head 0's append, which
// changes a slot of the job's last segment, must not reach memory before the
// job's last R beat (the read, taken first, returns the old bytes). Head 1's
// append touches none of those bytes and goes to memory at once.
TEST(KvPort, AppendWaitsOnlyForTheReadsOfItsKvHead) {
  const Config cfg{.base = 0, .n_layers = 1, .n_kv_heads = 2, .head_size = 64};
  auto b = make_bench(cfg, region_memory(cfg, 21), HbmConfig{.latency = 200, .max_outstanding = 64, .b_latency = 1});
  Script script(*b);
  OrderProbe probe(*b);
  b->h.reset();
  Traffic t(cfg, 21);
  t.open(1, 48);
  for (int i = 0; i < 47; ++i) script.add(t.append(0));
  b->drain(100000);
  script.add(t.job(0, 0, 0));
  auto appends = t.append(0);  // token 47: slot 15 of the job's last page
  std::swap(appends[0], appends[1]);
  script.add(appends);
  struct Watch final : tp::tb::Component {
    Watch(KvPortBench& b) : Component(b.h), b(b) {}
    void sample(uint64_t cycle) override {
      if (b.h->m_axi_awvalid_o && b.h->m_axi_awready_i) aw_cycles.push_back(cycle);
      if (b.h->m_axi_rvalid_i && b.h->m_axi_rready_o) last_r = cycle;
    }
    KvPortBench& b;
    std::vector<uint64_t> aw_cycles;
    uint64_t last_r = 0;
  } watch(*b);
  b->drain(20000);
  EXPECT_TRUE(b->memory_matches());
  EXPECT_EQ(probe.overlap, 0u);
  ASSERT_EQ(watch.aw_cycles.size(), 6u);  // three beats per append: head 1's, then head 0's
  EXPECT_LT(watch.aw_cycles[2], watch.last_r) << "head 1's append waited for head 0's reads";
  EXPECT_GT(watch.aw_cycles[3], watch.last_r) << "head 0's append overtook its head's read";
  EXPECT_EQ(b->out.beats().size(), 3u * 33);
}

// ------------------------------------------------------------ forwarding ---
// Decode's order: a layer's read jobs first, each job's last segment (the page
// of the new position) with fwd, then the appends of that layer's heads; the
// next layer's reads once these segments have left (the port's rule).
// The memory is random, so the slot read before the append holds garbage:
// every fwd segment must leave with the append's bytes (the golden image
// after the write), and only after its append was taken; the memory ends as
// the appends leave it. Head sizes of every pitch, with and without stalls.
class KvPortForwarding : public ::testing::TestWithParam<std::tuple<unsigned, double>> {};

TEST_P(KvPortForwarding, FwdSegmentsCarryTheNextAppendAndWaitForIt) {
  const auto [head_size, stall] = GetParam();
  const Config cfg{.base = 64 * 5, .n_layers = 2, .n_kv_heads = 4, .head_size = head_size};
  auto b = make_bench(cfg, region_memory(cfg, head_size), HbmConfig{.latency = 100, .max_outstanding = 64, .b_latency = 30},
                      Stalls{.cmd = stall, .out = stall, .mem = stall});
  Script script(*b);
  OrderProbe probe(*b);
  b->h.reset();
  Traffic t(cfg, head_size);
  t.open(1, 40);
  std::vector<size_t> fwd_first_beats;  // index of each fwd segment's first out beat, in order
  size_t beats = 0;
  const size_t seg_beats = static_cast<size_t>(b->layout->segment_beats());
  for (int token = 0; token < 36; ++token) {
    const auto appends = t.append(0);
    for (unsigned l = 0; l < cfg.n_layers; ++l) {
      std::vector<WrCmd> layer_appends;
      for (unsigned hd = 0; hd < cfg.n_kv_heads; ++hd) {
        auto job = t.job(0, l, hd);
        job.back().fwd = true;
        beats += job.size() * seg_beats;
        fwd_first_beats.push_back(beats - seg_beats);
        script.add(job);
        const WrCmd& append = appends[l * cfg.n_kv_heads + hd];
        b->forward[hd].push_back(append);
        layer_appends.push_back(append);
      }
      script.add(layer_appends);
      script.barrier();
    }
  }
  b->drain(400000);
  EXPECT_TRUE(b->memory_matches());
  EXPECT_EQ(probe.overlap, 0u);
  EXPECT_GT(probe.concurrent, 0u);  // appends go while the other heads' reads are in flight
  ASSERT_EQ(b->out.beats().size(), beats);
  ASSERT_EQ(b->wr.accept_cycles().size(), fwd_first_beats.size());
  for (size_t k = 0; k < fwd_first_beats.size(); ++k) {
    EXPECT_GT(b->out.beat_cycles()[fwd_first_beats[k]], b->wr.accept_cycles()[k]) << "fwd segment " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(HeadSizes, KvPortForwarding,
                         ::testing::Combine(::testing::Values(8u, 16u, 48u, 64u), ::testing::Values(0.0, 0.3)));

// A refused append releases its fwd segment unpatched (the memory's bytes),
// and the port goes on: the next token's fwd read carries its append.
TEST(KvPort, RefusedAppendReleasesItsFwdSegmentUnpatched) {
  const Config cfg{.base = 0, .n_layers = 1, .n_kv_heads = 2, .head_size = 16};
  auto b = make_bench(cfg, region_memory(cfg, 12), HbmConfig{.latency = 40, .max_outstanding = 64, .b_latency = 20});
  Script script(*b);
  b->h.reset();
  Traffic t(cfg, 12);
  t.open(1, 32);
  for (int token = 0; token < 3; ++token) {
    auto appends = t.append(0);
    if (token == 1) appends[1].slot = 16 + appends[1].slot;  // refused: slot out of range
    for (unsigned hd = 0; hd < cfg.n_kv_heads; ++hd) {
      auto job = t.job(0, 0, hd);
      job.back().fwd = true;
      script.add(job);
      b->forward[hd].push_back(appends[hd]);
    }
    script.add(appends);
    script.barrier();
  }
  b->drain(20000);
  EXPECT_TRUE(b->memory_matches());
  EXPECT_EQ(b->h->err_wr_refused_o, 1u);
}

// A waiting write stops new reads; a read in the port stops new writes: a
// stream of reads does not starve the writes, nor the reverse.
TEST(KvPort, NeitherSideStarves) {
  const Config cfg{.base = 0, .n_layers = 1, .n_kv_heads = 2, .head_size = 8};
  auto b = make_bench(cfg, region_memory(cfg, 6), HbmConfig{.latency = 30, .max_outstanding = 64, .b_latency = 10});
  b->h.reset();
  Traffic t(cfg, 6);
  t.open(1, 16);
  for (const auto& c : t.append(0)) b->wr.push(c);
  b->drain(2000);
  for (int i = 0; i < 2000; ++i) b->rd.push({t.seqs[0].pages[0], 0, static_cast<unsigned>(i % 2), i % 4 == 3});
  b->h.tick(200);  // reads streaming
  const size_t reads_before = b->rd.accepted();
  for (const auto& c : t.append(0)) b->wr.push(c);
  ASSERT_TRUE(b->h.run_until([&] { return b->wr.done(); }, 1000, "the writes among a stream of reads"));
  EXPECT_LT(b->rd.accepted(), 2000u);  // they went in the middle of the read stream
  EXPECT_GT(b->rd.accepted(), reads_before);
  b->drain(40000);
  EXPECT_TRUE(b->memory_matches());
}

// ----------------------------------------------------------------- timing ---
// Back-to-back 5-beat segments (head size 8, pitch 8: stories260K) at memory
// latency 200: >= 0.95 beats per cycle after the first beat (measured over
// 4000 segments), first beat exactly latency + 5 cycles after the first
// command; commands are taken one per cycle while the pipeline fills.
TEST(KvPort, BackToBackFiveBeatSegmentsStreamAtFullRateAtLatency200) {
  const Config cfg{.base = 64 * 3, .n_layers = 5, .n_kv_heads = 4, .head_size = 8};  // stories260K
  auto b = make_bench(cfg, region_memory(cfg, 8), HbmConfig{.latency = 200, .max_outstanding = 64});
  b->h.reset();
  std::mt19937_64 rng(8);
  constexpr unsigned kSegments = 4000;
  std::vector<RdCmd> cmds;
  for (unsigned i = 0; i < kSegments; ++i) {
    cmds.push_back({static_cast<unsigned>(rng() % kNumPages), static_cast<unsigned>(rng() % 5),
                    static_cast<unsigned>(rng() % 4), i % 64 == 63});
    b->rd.push(cmds.back());
  }
  b->drain(200000);
  const auto& out = b->out.beat_cycles();
  ASSERT_EQ(out.size(), kSegments * 5u);
  const uint64_t first = out.front() - b->rd.accept_cycles().front();
  const double rate = double(out.size() - 1) / double(out.back() - out.front());
  const double util = double(b->h->perf_rd_beats_o) / double(b->h->perf_rd_busy_o);
  std::printf("[ kv port ] 5-beat segments, latency 200: first beat after %llu cycles, %.4f beats/cycle after it, "
              "kv_port_utilization %.4f (read beats / read-busy cycles)\n",
              static_cast<unsigned long long>(first), rate, util);
  EXPECT_EQ(first, 205u);
  EXPECT_GE(rate, 0.95);
  EXPECT_GE(util, 0.94);
  // While the pipeline fills, a command is taken every cycle but one more for
  // each segment split at a 4 KiB boundary (two bursts).
  const auto& acc = b->rd.accept_cycles();
  uint64_t split = 0;
  for (size_t i = 0; i < 39; ++i) {
    const uint64_t seg = b->segment_address(cmds[i].page, cmds[i].layer, cmds[i].head);
    split += seg / 4096 != (seg + 5 * 64 - 1) / 4096;
  }
  EXPECT_EQ(acc[39] - acc[0], 39 + split);
  EXPECT_EQ(b->h->perf_rd_beats_o, kSegments * 5u);
  EXPECT_EQ(b->h->perf_out_stall_o, 0u);
  b->expect_counters_consistent();
}

// 33-beat segments (head size 64) and 9-beat segments stream at full rate too.
TEST(KvPort, LongerSegmentsStreamAtFullRate) {
  for (unsigned head_size : {16u, 64u}) {
    SCOPED_TRACE(::testing::Message() << "head size " << head_size);
    const Config cfg{.base = 0, .n_layers = 2, .n_kv_heads = 2, .head_size = head_size};
    auto b = make_bench(cfg, region_memory(cfg, head_size), HbmConfig{.latency = 200, .max_outstanding = 64});
    b->h.reset();
    for (unsigned i = 0; i < 600; ++i) b->rd.push({i % kNumPages, i % 2, (i / 2) % 2, i % 16 == 15});
    b->drain(200000);
    const auto& out = b->out.beat_cycles();
    const double rate = double(out.size() - 1) / double(out.back() - out.front());
    EXPECT_GE(rate, 0.99);
    EXPECT_EQ(out.front() - b->rd.accept_cycles().front(), 205u);
  }
}

// Exact latencies without stalls: first beat at memory latency + 5; the
// error beat of a refused read 2 cycles after it; a write's AW/W beats on the
// three edges after it is taken, its response one edge after its third B.
TEST(KvPort, ExactLatencies) {
  for (unsigned latency : {1u, 100u}) {
    SCOPED_TRACE(::testing::Message() << "latency " << latency);
    const Config cfg{.base = 64, .n_layers = 2, .n_kv_heads = 2, .head_size = 48};
    auto b = make_bench(cfg, region_memory(cfg, latency), HbmConfig{.latency = latency, .max_outstanding = 64,
                                                                    .b_latency = 7});
    b->h.reset();
    b->rd.push({3, 1, 1, true});
    b->drain(2000);
    EXPECT_EQ(b->out.beat_cycles().front() - b->rd.accept_cycles().front(), latency + 5);
    EXPECT_TRUE(tp::tb::has_interval(b->out.beat_cycles(), 1));  // the 33 beats back to back
    b->rd.push({kNumPages + 1, 0, 0, true});  // refused
    b->drain(2000);
    EXPECT_EQ(b->out.beat_cycles().back() - b->rd.accept_cycles().back(), 2u);

    std::vector<uint64_t> aw, w, bc;
    struct Watch final : tp::tb::Component {
      Watch(KvPortBench& b, std::vector<uint64_t>& aw, std::vector<uint64_t>& w, std::vector<uint64_t>& bc)
          : Component(b.h), b(b), aw(aw), w(w), bc(bc) {}
      void sample(uint64_t cycle) override {
        if (b.h->m_axi_awvalid_o && b.h->m_axi_awready_i) aw.push_back(cycle);
        if (b.h->m_axi_wvalid_o && b.h->m_axi_wready_i) w.push_back(cycle);
        if (b.h->m_axi_bvalid_i && b.h->m_axi_bready_o) bc.push_back(cycle);
      }
      KvPortBench& b;
      std::vector<uint64_t>&aw, &w, &bc;
    } watch(*b, aw, w, bc);
    WrCmd c{.page = 5, .slot = 9, .layer = 1, .head = 0, .k_scale = 0x1234, .v_scale = 0x5678};
    b->wr.push(c);
    c.slot = 10;
    b->wr.push(c);
    b->drain(2000);
    const uint64_t k = b->wr.accept_cycles()[0];
    ASSERT_EQ(aw.size(), 6u);
    ASSERT_EQ(w.size(), 6u);
    ASSERT_EQ(bc.size(), 6u);
    EXPECT_EQ(aw, (std::vector<uint64_t>{k + 1, k + 2, k + 3, k + 5, k + 6, k + 7}));
    EXPECT_EQ(w, aw);
    EXPECT_EQ(b->wr.accept_cycles()[1], k + 4);  // a write command every 4 cycles
    EXPECT_EQ(b->rsp.beat_cycles()[0], bc[2] + 1);
    EXPECT_EQ(bc[0], k + 1 + 7);  // the model's B latency
    EXPECT_TRUE(b->memory_matches());
    EXPECT_EQ(b->h->perf_wr_beats_o, 6u);
  }
}

// ------------------------------------------------------------------ errors ---
// Every refused command: no memory access, the defined status, counted; the
// read stream stays in step (one error beat in place, job_last kept).
TEST(KvPort, RefusedCommandsMakeNoAccessAndAreReportedInPlace) {
  const Config cfg{.base = 64 * 11, .n_layers = 3, .n_kv_heads = 2, .head_size = 16};
  auto b = make_bench(cfg, region_memory(cfg, 12), HbmConfig{.latency = 30, .max_outstanding = 64});
  b->h.reset();
  const std::vector<RdCmd> bad_reads = {{kNumPages, 0, 0, false}, {127, 0, 0, true}, {0, 3, 0, false},
                                        {0, 15, 1, true},          {0, 0, 2, false},  {1, 2, 15, true}};
  const std::vector<WrCmd> bad_writes = {{.page = kNumPages}, {.page = 100}, {.slot = 16}, {.slot = 31},
                                         {.layer = 3},        {.layer = 15}, {.head = 2},  {.head = 15}};
  for (const auto& r : bad_reads) {
    b->rd.push({0, 0, 0, false});  // a good command on each side of the refused one
    b->rd.push(r);
    b->rd.push({1, 2, 1, r.last});
  }
  b->drain(20000);
  EXPECT_EQ(b->hbm.beats(), 2 * bad_reads.size() * 9);  // the good commands' 9-beat segments only
  EXPECT_EQ(b->out_sb.matched(), 2 * bad_reads.size() * 9 + bad_reads.size());
  for (const auto& w : bad_writes) b->wr.push(w);
  b->drain(20000);
  EXPECT_EQ(b->h->err_rd_refused_o, bad_reads.size());
  EXPECT_EQ(b->h->err_wr_refused_o, bad_writes.size());
  EXPECT_EQ(b->hbm.write_bursts(), 0u);
  EXPECT_EQ(b->hbm.write_beats(), 0u);
  EXPECT_TRUE(b->memory_matches());
  EXPECT_EQ(std::count(b->rsp.beats().begin(), b->rsp.beats().end(), kStatusRefused),
            static_cast<std::ptrdiff_t>(bad_writes.size()));
  b->expect_counters_consistent();
}

// Configurations out of range: cfg_ok_o low, every command refused (no
// access), then a valid configuration works again.
TEST(KvPort, BadConfigurationRefusesEverything) {
  const Config good{.base = 64 * 2, .n_layers = 2, .n_kv_heads = 2, .head_size = 8};
  auto b = make_bench(good, region_memory(good, 13), HbmConfig{.latency = 10, .max_outstanding = 64});
  b->h.reset();
  EXPECT_EQ(b->h->cfg_ok_o, 1);
  const std::vector<Config> bad = {
      {.base = 64 * 2, .n_layers = 0, .n_kv_heads = 2, .head_size = 8},
      {.base = 64 * 2, .n_layers = 17, .n_kv_heads = 2, .head_size = 8},
      {.base = 64 * 2, .n_layers = 2, .n_kv_heads = 0, .head_size = 8},
      {.base = 64 * 2, .n_layers = 2, .n_kv_heads = 17, .head_size = 8},
      {.base = 64 * 2, .n_layers = 2, .n_kv_heads = 2, .head_size = 0},
      {.base = 64 * 2, .n_layers = 2, .n_kv_heads = 2, .head_size = 65},
      {.base = 64 * 2 + 8, .n_layers = 2, .n_kv_heads = 2, .head_size = 8},
      // the region of 64 pages would end beyond 2^34
      {.base = (uint64_t{1} << 34) - 64 * 5 * 4 * 64 + 64, .n_layers = 2, .n_kv_heads = 2, .head_size = 8},
  };
  uint64_t refused = 0;
  for (const auto& c : bad) {
    SCOPED_TRACE(::testing::Message() << "layers " << c.n_layers << " heads " << c.n_kv_heads << " head size "
                                      << c.head_size << " base " << c.base);
    ASSERT_FALSE(config_ok(c));
    b->set_config(c);
    b->h.tick(2);
    EXPECT_EQ(b->h->cfg_ok_o, 0);
    b->rd.push({0, 0, 0, true});
    b->wr.push(WrCmd{});
    b->drain(2000);
    refused += 1;
    EXPECT_EQ(b->h->err_rd_refused_o, refused);
    EXPECT_EQ(b->h->err_wr_refused_o, refused);
  }
  EXPECT_EQ(b->hbm.bursts(), 0u);
  EXPECT_EQ(b->hbm.write_bursts(), 0u);
  // The largest base that still fits is fine.
  const Config edge{.base = (uint64_t{1} << 34) - 64 * 5 * 4 * 64, .n_layers = 2, .n_kv_heads = 2, .head_size = 8};
  ASSERT_TRUE(config_ok(edge));
  b->set_config(edge);
  b->h.tick(2);
  EXPECT_EQ(b->h->cfg_ok_o, 1);
  b->set_config(good);
  b->h.tick(2);
  b->rd.push({1, 1, 1, true});
  b->drain(2000);
  EXPECT_TRUE(b->memory_matches());
}

// SLVERR on some write beats: the command's response is MEM_ERROR, every bad
// B is counted, the other beats are written; later writes are fine. rresp
// errors on reads are counted, the beats delivered as read.
TEST(KvPort, MemoryErrorResponsesAreReportedAndCounted) {
  const Config cfg{.base = 0, .n_layers = 1, .n_kv_heads = 2, .head_size = 64};
  auto b = make_bench(cfg, region_memory(cfg, 14), HbmConfig{.latency = 20, .max_outstanding = 64, .b_latency = 5},
                      {0.2, 0.2, 0.2});
  b->h.reset();
  Traffic t(cfg, 14);
  t.open(1, 16);
  const uint64_t seg = b->segment_address(t.seqs[0].pages[0], 0, 1);
  b->fail_beat(seg);                 // scale beat of head 1
  b->fail_beat(seg + 64 * (1 + 2));  // K beat of slot 2 of head 1
  for (int i = 0; i < 4; ++i) {
    for (const auto& c : t.append(0)) b->wr.push(c);
  }
  b->drain(20000);
  // Head 0's writes are fine; head 1's all hit the scale beat, slot 2 also its K beat.
  EXPECT_EQ(std::count(b->rsp.beats().begin(), b->rsp.beats().end(), kStatusMemError), 4);
  EXPECT_EQ(std::count(b->rsp.beats().begin(), b->rsp.beats().end(), kStatusOk), 4);
  EXPECT_EQ(b->h->err_wr_resp_o, 5u);
  EXPECT_TRUE(b->memory_matches());
  b->rresp_error = true;
  b->rd.push({t.seqs[0].pages[0], 0, 0, true});
  b->drain(20000);
  EXPECT_EQ(b->h->err_rd_resp_o, 33u);
  b->rresp_error = false;
  EXPECT_EQ(b->h->err_rd_refused_o, 0u);
}

// ------------------------------------------------------------------- reset ---
// Reset with reads in flight (FIFO filling, sink stalled), writes awaiting B
// and a response waiting: nothing stale leaves afterwards, counters are 0,
// and a new program passes (the expected image is re-based on the memory as
// it was left: writes not yet acknowledged at the reset may or may not have
// landed, as on real memory).
TEST(KvPort, ResetMidWorkDropsEverythingAndRestartsCleanly) {
  const Config cfg{.base = 64 * 9, .n_layers = 2, .n_kv_heads = 2, .head_size = 16};
  auto b = make_bench(cfg, region_memory(cfg, 15), HbmConfig{.latency = 100, .max_outstanding = 64, .b_latency = 60},
                      {0.2, 0.4, 0.2});
  Script script(*b);
  b->h.reset();
  Traffic t(cfg, 15);
  t.open(2, 32);
  random_program(*b, script, t, 40, true);
  ASSERT_TRUE(b->h.run_until([&] { return b->out.received() >= 100; }, 100000, "100 beats"));
  b->out.pause(true);
  b->rsp.pause(true);
  ASSERT_TRUE(b->h.run_until([&] { return b->hbm.writes_outstanding() > 0 || b->hbm.outstanding() > 0; }, 20000,
                             "memory busy"));
  b->h.tick(3);
  b->out.pause(false);
  b->rsp.pause(false);
  b->h.reset();
  EXPECT_EQ(b->h->out_valid_o, 0);
  EXPECT_EQ(b->h->wr_rsp_valid_o, 0);
  EXPECT_EQ(b->h->m_axi_arvalid_o, 0);
  EXPECT_EQ(b->h->m_axi_awvalid_o, 0);
  EXPECT_EQ(b->h->m_axi_wvalid_o, 0);
  EXPECT_EQ(b->h->rd_cmd_ready_o, 1);
  EXPECT_EQ(b->h->wr_cmd_ready_o, 1);
  EXPECT_EQ(b->h->perf_rd_busy_o, 0u);
  EXPECT_EQ(b->h->err_rd_refused_o, 0u);
  const size_t seen = b->out_sb.checked(), responses = b->rsp_sb.checked();
  b->h.tick(500);  // a stale beat or response would be "unexpected"
  EXPECT_EQ(b->out_sb.checked(), seen);
  EXPECT_EQ(b->rsp_sb.checked(), responses);
  b->expected = b->hbm.image();
  Script again(*b);
  Traffic t2(cfg, 16);
  t2.open(2, 32);
  random_program(*b, again, t2, 30, true);
  b->drain(200000);
  EXPECT_TRUE(again.done());
  EXPECT_TRUE(b->memory_matches());
}

TEST(KvPort, ControlOutputsDefinedAfterResetFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    const Config cfg{.base = 64 * options.random_init_seed, .n_layers = 2, .n_kv_heads = 3, .head_size = 3};
    auto b = make_bench(cfg, region_memory(cfg, options.random_init_seed),
                        HbmConfig{.latency = 20, .max_outstanding = 64}, {}, options);
    Script script(*b);
    b->h.reset(2);
    EXPECT_EQ(b->h->cfg_ok_o, 1);
    EXPECT_EQ(b->h->rd_cmd_ready_o, 1);
    EXPECT_EQ(b->h->wr_cmd_ready_o, 1);
    EXPECT_EQ(b->h->out_valid_o, 0);
    EXPECT_EQ(b->h->wr_rsp_valid_o, 0);
    EXPECT_EQ(b->h->m_axi_arvalid_o, 0);
    EXPECT_EQ(b->h->m_axi_awvalid_o, 0);
    EXPECT_EQ(b->h->m_axi_wvalid_o, 0);
    EXPECT_EQ(b->h->m_axi_bready_o, 1);
    EXPECT_EQ(b->h->m_axi_rready_o, 1);
    for (auto counter : {b->h->perf_rd_beats_o, b->h->perf_wr_beats_o, b->h->perf_rd_busy_o, b->h->perf_wr_busy_o,
                         b->h->perf_mem_wait_o, b->h->perf_out_stall_o, b->h->err_rd_refused_o,
                         b->h->err_wr_refused_o, b->h->err_wr_resp_o, b->h->err_rd_resp_o}) {
      EXPECT_EQ(counter, 0u);
    }
    Traffic t(cfg, options.random_init_seed);
    t.open(2, 20);
    random_program(*b, script, t, 20, true);
    b->drain(100000);
    EXPECT_TRUE(b->memory_matches());
  });
}

// ---------------------------------------------------- the model's writes ---
// The HBM model reports what it exists to catch on the write channel (driven
// by hand, no DUT), and writes strobed bytes only when it presents B.
TEST(HbmModelWrite, ReportsProtocolViolationsAndCommitsStrobedBytesAtB) {
  Harness<Model> h;
  bool awvalid = false, wvalid = false, wlast = true, bvalid = false;
  uint64_t awaddr = 0, wstrb = 0;
  unsigned awlen = 0, awsize = 6, awburst = 1;
  HbmBeat wdata{};
  HbmModel hbm(h,
               HbmPorts{.arvalid = [] { return false; },
                        .araddr = [] { return uint64_t{0}; },
                        .arlen = [] { return 0u; },
                        .set_arready = [](bool) {},
                        .set_r = [](bool, const HbmBeat&, bool) {},
                        .rready = [] { return true; }},
               HbmWritePorts{.awvalid = [&] { return awvalid; },
                             .awaddr = [&] { return awaddr; },
                             .awlen = [&] { return awlen; },
                             .awsize = [&] { return awsize; },
                             .awburst = [&] { return awburst; },
                             .set_awready = [](bool) {},
                             .wvalid = [&] { return wvalid; },
                             .wdata = [&] { return wdata; },
                             .wstrb = [&] { return wstrb; },
                             .wlast = [&] { return wlast; },
                             .set_wready = [](bool) {},
                             .set_b = [&](bool v, unsigned) { bvalid = v; },
                             .bready = [] { return true; }},
               std::vector<uint8_t>(8192, 0xEE), HbmConfig{.b_latency = 10, .max_outstanding_writes = 64});
  h.reset();
  // A good two-beat write: bytes change only when B is presented, strobed bytes only.
  for (unsigned i = 0; i < 64; ++i) wdata[i] = static_cast<uint8_t>(i);
  awvalid = wvalid = true;
  awaddr = 128;
  awlen = 1;
  wstrb = 0x00000000000000F0ull;
  wlast = false;
  h.tick();
  awvalid = false;
  wlast = true;
  wstrb = 0x8000000000000001ull;
  h.tick();
  wvalid = false;
  h.tick(5);
  EXPECT_EQ(hbm.image()[128 + 4], 0xEE);  // not yet: no B
  h.tick(10);
  EXPECT_EQ(hbm.write_responses(), 1u);
  EXPECT_EQ(hbm.image()[128 + 3], 0xEE);
  EXPECT_EQ(hbm.image()[128 + 4], 4);
  EXPECT_EQ(hbm.image()[128 + 7], 7);
  EXPECT_EQ(hbm.image()[128 + 8], 0xEE);
  EXPECT_EQ(hbm.image()[192 + 0], 0);
  EXPECT_EQ(hbm.image()[192 + 63], 63);
  EXPECT_EQ(hbm.image()[192 + 62], 0xEE);
  EXPECT_EQ(hbm.violations(), 0u);

  struct Bad {
    uint64_t addr;
    unsigned len, size, burst;
    std::vector<bool> lasts;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {32, 0, 6, 1, {true}, "awaddr not 64-byte aligned"},
      {0, 64, 6, 1, [] { std::vector<bool> l(65, false); l.back() = true; return l; }(), "awlen > 63"},
      {4096 - 64, 1, 6, 1, {false, true}, "crosses a 4 KiB boundary"},
      {8192, 0, 6, 1, {true}, "beyond the image"},
      {0, 0, 5, 1, {true}, "awsize 5 != 6"},
      {0, 0, 6, 2, {true}, "awburst 2 != INCR"},
      {1024, 1, 6, 1, {true, true}, "wlast on beat 0 of 2"},
      {1024, 1, 6, 1, {false, false}, "wlast missing on beat 1 of 2"},
  };
  for (const auto& c : bad) {
    ::testing::TestPartResultArray failures;
    {
      ::testing::ScopedFakeTestPartResultReporter reporter(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
      awvalid = true;
      awaddr = c.addr;
      awlen = c.len;
      awsize = c.size;
      awburst = c.burst;
      h.tick();
      awvalid = false;
      awsize = 6;
      awburst = 1;
      for (size_t i = 0; i < c.lasts.size(); ++i) {
        wvalid = true;
        wlast = c.lasts[i];
        wstrb = ~uint64_t{0};
        h.tick();
      }
      wvalid = false;
      h.tick(40);
    }
    ASSERT_GE(failures.size(), 1) << c.message;
    EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find(c.message), std::string::npos)
        << failures.GetTestPartResult(0).message();
  }
  EXPECT_EQ(hbm.writes_outstanding(), 0u);
  // Illegal bursts wrote nothing: byte 0 and the beat past 4 KiB kept 0xEE
  // (a wlast error is reported, the legal burst's bytes are written).
  EXPECT_EQ(hbm.image()[0], 0xEE);
  EXPECT_EQ(hbm.image()[4096], 0xEE);
}

}  // namespace
