// Testbench of rtl/top/tp_host_csr.sv (default parameters: 99 sections, 8
// counters). The reference is the register map of the RTL header, written out
// here as CsrModel: every AXI4-Lite response (data and OKAY/SLVERR) is
// compared with it, under random gaps and withheld bready/rready, and the
// sequencer-side streams carry exactly what the host wrote.
#include "Vtp_host_csr.h"
#include "common/axil_master.h"
#include "common/harness.h"
#include "common/stall_matrix.h"
#include "common/stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace {

using tp::tb::AxiLiteMaster;
using tp::tb::AxiLiteResult;
using tp::tb::Harness;
using tp::tb::HarnessOptions;
using tp::tb::Sink;
using tp::tb::Source;
using tp::tb::StallGenerator;

constexpr uint32_t kId = 0x54500001;
constexpr uint32_t kStatus = 0x004, kCmd = 0x050, kTokenIn = 0x054, kTokenOut = 0x058;
constexpr uint32_t kCounters = 0x080, kSections = 0x400, kRope = 0x800;
constexpr unsigned kNumSections = 99, kNumCounters = 8;
constexpr unsigned kOkay = 0, kSlverr = 2;

enum Config : uint32_t {
  kDim = 0x010, kHidden = 0x014, kLayers = 0x018, kHeads = 0x01C, kKvHeads = 0x020, kHeadSize = 0x024,
  kVocab = 0x028, kSeqLen = 0x02C, kQuant = 0x030, kWeightBase = 0x034, kKvBase = 0x038, kInvDim = 0x03C,
  kScoreScale = 0x040,
};

// stories260K, as the host writes it.
const std::vector<std::pair<uint32_t, uint32_t>> kStories = {
    {kDim, 64},      {kHidden, 172},     {kLayers, 5},         {kHeads, 8},
    {kKvHeads, 4},   {kHeadSize, 8},     {kVocab, 512},        {kSeqLen, 512},
    {kQuant, 1},     {kWeightBase, 0x1000}, {kKvBase, 0x80000},
    {kInvDim, (static_cast<uint32_t>(static_cast<uint16_t>(-16)) << 16) | 1024},  // 1/64
    {kScoreScale, (static_cast<uint32_t>(static_cast<uint8_t>(-11)) << 16) | 1448}};

// The register map of tp_host_csr's header, as a reference model.
struct CsrModel {
  std::map<uint32_t, uint32_t> cfg;
  std::vector<uint32_t> sections = std::vector<uint32_t>(2 * kNumSections, 0);
  std::deque<uint32_t> commands, tokens;
  uint32_t errors = 0;
  uint32_t vocab() const { return cfg.count(kVocab) ? cfg.at(kVocab) & 0xFFFF : 0; }

  // Stored form of a config write (the fields the RTL keeps).
  static uint32_t stored(uint32_t addr, uint32_t data) {
    if (addr == kQuant) return data & 1;
    if (addr == kWeightBase || addr == kKvBase) return data;
    if (addr == kInvDim) return data & 0xFFFF07FF;
    if (addr == kScoreScale) return data & 0x00FF07FF;
    return std::min<uint32_t>(data, 0xFFFF);  // sizes saturate at 16 bits
  }
  unsigned write(uint32_t addr, uint32_t data, unsigned strobe) {
    const bool whole = strobe == 0xF && addr % 4 == 0;
    if (whole && addr == kStatus) {
      errors &= ~((data >> 8) & 0xFF);
      return kOkay;
    }
    if (whole && addr >= kDim && addr <= kScoreScale) {
      cfg[addr] = stored(addr, data);
      return kOkay;
    }
    if (whole && addr >= kSections && addr < kSections + 8 * kNumSections) {
      sections[(addr - kSections) / 4] = data;
      return kOkay;
    }
    if (whole && addr >= kRope && addr < kRope + 4 * 64) return kOkay;
    if (whole && addr == kCmd) {
      if (commands.size() == 4) return errors |= 2, kSlverr;
      commands.push_back(data);
      return kOkay;
    }
    if (whole && addr == kTokenIn) {
      bool bad = false;
      if (tokens.size() == 32) errors |= 4, bad = true;
      if (data >= vocab()) errors |= 8, bad = true;
      if (bad) return kSlverr;
      tokens.push_back(data & 0x7FFF);
      return kOkay;
    }
    errors |= 1;
    return kSlverr;
  }
  std::pair<uint32_t, unsigned> read(uint32_t addr, bool cfg_ok, const std::vector<uint32_t>& counters) {
    if (addr % 4 == 0) {
      if (addr == 0) return {kId, kOkay};
      if (addr == kStatus) return {(errors << 8) | (cfg_ok ? 1u : 0u), kOkay};
      if (addr >= kDim && addr <= kScoreScale) return {cfg.count(addr) ? cfg.at(addr) : 0, kOkay};
      if (addr >= kCounters && addr < kCounters + 4 * kNumCounters) return {counters[(addr - kCounters) / 4], kOkay};
      if (addr >= kSections && addr < kSections + 8 * kNumSections) return {sections[(addr - kSections) / 4], kOkay};
    }
    errors |= 1;
    return {0, kSlverr};
  }
};

struct CsrBench {
  explicit CsrBench(StallGenerator gap = {}, StallGenerator response = {}, StallGenerator stream = {},
                    HarnessOptions options = {})
      : h(options),
        axil(h, h.dut(), std::move(gap), std::move(response)),
        commands(
            h, [this](bool r) { h->cmd_ready_i = r; }, [this] { return h->cmd_valid_o != 0; },
            [this] { return static_cast<uint32_t>(h->cmd_data_o); }, stream),
        tokens(
            h, [this](bool r) { h->tok_in_ready_i = r; }, [this] { return h->tok_in_valid_o != 0; },
            [this] { return static_cast<uint32_t>(h->tok_in_data_o); }, stream),
        produced(
            h,
            [this](bool valid, const uint32_t& word) {
              h->tok_out_valid_i = valid;
              h->tok_out_data_i = word;
            },
            [this] { return h->tok_out_ready_o != 0; }) {
    for (unsigned k = 0; k < kNumCounters; ++k) counters.push_back(0x1000 * k + 7 * k + 3);
    for (unsigned k = 0; k < kNumCounters; ++k) h->perf_i[k] = counters[k];
    h->busy_i = 0;
  }

  void run(uint64_t max_cycles = 20000) {
    ASSERT_TRUE(h.run_until([&] { return axil.done() && produced.done(); }, max_cycles, "the AXI4-Lite traffic"));
  }
  AxiLiteResult last() const { return axil.results().back(); }

  Harness<Vtp_host_csr> h;
  AxiLiteMaster<Vtp_host_csr> axil;
  Sink<uint32_t> commands, tokens;
  Source<uint32_t> produced;
  std::vector<uint32_t> counters;
};

void write_config(CsrBench& b, const std::vector<std::pair<uint32_t, uint32_t>>& config) {
  for (const auto& [addr, value] : config) b.axil.write(addr, value);
}

TEST(HostCsr, IdResetValuesAndAConfigurationRoundTrip) {
  CsrBench b;
  b.h.reset();
  EXPECT_FALSE(b.h->cfg_ok_o);
  b.axil.read(0);
  b.axil.read(kStatus);
  b.axil.read(kDim);
  b.run();
  EXPECT_EQ(b.axil.results()[0].data, kId);
  EXPECT_EQ(b.axil.results()[1].data, 0u);
  EXPECT_EQ(b.axil.results()[2].data, 0u);
  write_config(b, kStories);
  for (const auto& [addr, value] : kStories) b.axil.read(addr);
  b.axil.read(kStatus);
  b.run();
  for (const auto& r : b.axil.results()) {
    EXPECT_EQ(r.resp, kOkay) << std::hex << r.addr;
    // Without stalls every response is taken on the edge after its request.
    EXPECT_EQ(r.response_cycle, r.taken_cycle + 1) << std::hex << r.addr;
  }
  const auto& results = b.axil.results();
  for (std::size_t i = 0; i < kStories.size(); ++i) {
    EXPECT_EQ(results[3 + kStories.size() + i].data, CsrModel::stored(kStories[i].first, kStories[i].second))
        << std::hex << kStories[i].first;
  }
  EXPECT_EQ(b.last().data, 1u);  // cfg_ok
  EXPECT_TRUE(b.h->cfg_ok_o);
  // STATUS[1] follows the sequencer's busy.
  b.h->busy_i = 1;
  b.axil.read(kStatus);
  b.run();
  EXPECT_EQ(b.last().data, 3u);
  b.h->busy_i = 0;
  b.axil.read(kStatus);
  b.run();
  EXPECT_EQ(b.last().data, 1u);
  EXPECT_EQ(b.h->cfg_dim_o, 64u);
  EXPECT_EQ(b.h->cfg_n_kv_heads_o, 4u);
  EXPECT_EQ(b.h->cfg_vocab_o, 512u);
  EXPECT_TRUE(b.h->cfg_int4_o);
  EXPECT_EQ(b.h->cfg_kv_base_o, 0x80000u);
}

// cfg_write_o pulses once per configuration or section-table write (the
// sequencer then wants a new LOAD), and not for the RoPE steps, the
// command and token streams, STATUS, or a write refused by its strobes.
TEST(HostCsr, ConfigurationAndSectionWritesPulseCfgWrite) {
  CsrBench b;
  struct PulseCount final : tp::tb::Component {
    explicit PulseCount(CsrBench& b) : Component(b.h), b(b) {}
    void sample(uint64_t) override { pulses += b.h->cfg_write_o; }
    CsrBench& b;
    unsigned pulses = 0;
  } count(b);
  b.h.reset();
  write_config(b, kStories);                                    // 13 configuration words
  for (unsigned i = 0; i < 6; ++i) b.axil.write(kSections + 4 * i, 100 + i);  // 6 section words
  b.axil.write(kRope, 5);
  b.axil.write(kStatus, 0);
  b.axil.write(kCmd, 0x40000000);
  b.axil.write(kTokenIn, 1);
  b.axil.write(kDim, 64, 0x3);                                  // partial strobe: refused
  b.run();
  EXPECT_EQ(count.pulses, kStories.size() + 6);
}

// Each configuration beyond a maximum or inconsistent lowers cfg_ok.
TEST(HostCsr, EveryOutOfRangeOrInconsistentConfigurationIsRefused) {
  const std::vector<std::pair<uint32_t, uint32_t>> bad = {
      {kDim, 0},          {kDim, 1024},  // with head size 8 x 8 heads: 64 != dim as well
      {kHeadSize, 9},     {kHeads, 0},      {kHeads, 17},       {kKvHeads, 0},  {kKvHeads, 3},
      {kKvHeads, 16},     {kLayers, 0},     {kLayers, 17},      {kHidden, 0},   {kHidden, 1537},
      {kVocab, 0},        {kVocab, 32001},  {kSeqLen, 0},       {kSeqLen, 1025},
      {kInvDim, 1023},    {kScoreScale, 0x00F50200},
      // Beyond 16 bits: the low half alone would be a valid value.
      {kVocab, 0x10000 + 32}, {kSeqLen, 0x10000 + 16}, {kLayers, 0x10000 + 4}, {kDim, 0x10000 + 64}};
  CsrBench b;
  b.h.reset();
  write_config(b, kStories);
  b.run();
  ASSERT_TRUE(b.h->cfg_ok_o);
  for (const auto& [addr, value] : bad) {
    b.axil.write(addr, value);
    b.run();
    EXPECT_FALSE(b.h->cfg_ok_o) << std::hex << addr << " = " << std::dec << value;
    write_config(b, kStories);
    b.run();
    ASSERT_TRUE(b.h->cfg_ok_o);
  }
  // Head size 128 with 4 heads is consistent (512) but beyond the attention engine.
  write_config(b, {{kHeads, 4}, {kKvHeads, 4}, {kDim, 512}, {kHeadSize, 128}});
  b.run();
  EXPECT_FALSE(b.h->cfg_ok_o);
  write_config(b, {{kHeads, 8}, {kHeadSize, 64}});
  b.run();
  EXPECT_TRUE(b.h->cfg_ok_o);  // 8 x 64 = 512, 8 heads over 4 KV heads
}

TEST(HostCsr, SectionTableReadsBackOnBothPorts) {
  CsrBench b;
  b.h.reset();
  std::mt19937 rng(5);
  std::vector<uint32_t> words(2 * kNumSections);
  for (unsigned i = 0; i < words.size(); ++i) {
    words[i] = static_cast<uint32_t>(rng());
    b.axil.write(kSections + 4 * i, words[i]);
  }
  for (unsigned i = 0; i < words.size(); ++i) b.axil.read(kSections + 4 * i);
  b.run();
  for (unsigned i = 0; i < words.size(); ++i) EXPECT_EQ(b.axil.results()[words.size() + i].data, words[i]);
  for (unsigned s = 0; s < kNumSections; ++s) {
    b.h->sec_index_i = s;
    b.h.tick();
    EXPECT_EQ(b.h->sec_offset_o, words[2 * s]) << s;
    EXPECT_EQ(b.h->sec_beats_o, words[2 * s + 1]) << s;
  }
}

TEST(HostCsr, RopeStepsPassThroughOnePerWrite) {
  CsrBench b;
  b.h.reset();
  std::vector<std::pair<unsigned, uint32_t>> seen;
  for (unsigned j = 0; j < 64; j += 7) b.axil.write(kRope + 4 * j, 0x01000000u * j + 17);
  ASSERT_TRUE(b.h.run_until(
      [&] {
        if (b.h->rope_we_o) seen.emplace_back(b.h->rope_addr_o, b.h->rope_data_o);
        return b.axil.done();
      },
      2000, "the RoPE step writes"));
  b.h.tick(2);
  if (b.h->rope_we_o) seen.emplace_back(b.h->rope_addr_o, b.h->rope_data_o);
  ASSERT_EQ(seen.size(), 10u);
  for (unsigned i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].first, 7 * i);
    EXPECT_EQ(seen[i].second, 0x01000000u * 7 * i + 17);
  }
}

TEST(HostCsr, CommandAndTokenFifosRefuseWhenFullAndBadTokens) {
  CsrBench b;
  b.h.reset();
  write_config(b, kStories);
  b.commands.pause(true);
  b.tokens.pause(true);
  for (uint32_t c = 0; c < 5; ++c) b.axil.write(kCmd, 0xC0DE0000 + c);
  for (uint32_t t = 0; t < 33; ++t) b.axil.write(kTokenIn, t * 15);  // 33rd: full
  b.axil.write(kTokenIn, 512);  // >= vocab
  b.axil.read(kStatus);
  b.run();
  const auto& r = b.axil.results();
  const std::size_t base = kStories.size();
  for (uint32_t c = 0; c < 4; ++c) EXPECT_EQ(r[base + c].resp, kOkay);
  EXPECT_EQ(r[base + 4].resp, kSlverr);
  for (uint32_t t = 0; t < 32; ++t) EXPECT_EQ(r[base + 5 + t].resp, kOkay);
  EXPECT_EQ(r[base + 5 + 32].resp, kSlverr);
  EXPECT_EQ(r[base + 5 + 33].resp, kSlverr);
  EXPECT_EQ(b.last().data, (0xEu << 8) | 1u);  // cmd full, token full, token >= vocab; cfg_ok
  b.commands.pause(false);
  b.tokens.pause(false);
  b.h.tick(40);
  ASSERT_EQ(b.commands.beats().size(), 4u);
  for (uint32_t c = 0; c < 4; ++c) EXPECT_EQ(b.commands.beats()[c], 0xC0DE0000 + c);
  ASSERT_EQ(b.tokens.beats().size(), 32u);
  for (uint32_t t = 0; t < 32; ++t) EXPECT_EQ(b.tokens.beats()[t], t * 15);
  b.axil.write(kStatus, 0xFF00);  // clear the errors
  b.axil.read(kStatus);
  b.run();
  EXPECT_EQ(b.last().data, 1u);
}

TEST(HostCsr, ProducedTokensPopInOrderAndEmptyReadsNothing) {
  CsrBench b;
  b.h.reset();
  const auto word = [](uint32_t seq, uint32_t pos, uint32_t token) { return (seq << 27) | (pos << 16) | token; };
  for (uint32_t i = 0; i < 40; ++i) b.produced.push(word(i % 16, 3 * i, 1000 + i));
  b.h.tick(60);
  EXPECT_EQ(b.produced.accepted(), 32u);  // the FIFO holds 32
  for (uint32_t i = 0; i < 41; ++i) b.axil.read(kTokenOut);
  b.run();
  for (uint32_t i = 0; i < 40; ++i) {
    EXPECT_EQ(b.axil.results()[i].data, 0x80000000u | word(i % 16, 3 * i, 1000 + i)) << i;
  }
  EXPECT_EQ(b.axil.results()[40].data, 0u);  // none waiting: valid 0
  EXPECT_EQ(b.axil.results()[40].resp, kOkay);
}

TEST(HostCsr, CountersAndBadAccesses) {
  CsrBench b;
  b.h.reset();
  for (unsigned k = 0; k < kNumCounters; ++k) b.axil.read(kCounters + 4 * k);
  b.axil.read(kCmd);                   // write-only
  b.axil.read(kRope);                  // write-only
  b.axil.read(0x3F0);                  // unmapped
  b.axil.read(kDim + 2);               // misaligned
  b.axil.write(0x0, 5);                // read-only
  b.axil.write(kDim, 64, 0x3);         // partial strobe
  b.axil.write(kSections + 8 * kNumSections, 1);  // beyond the table
  b.axil.write(kRope + 4 * 64, 1);                // beyond the RoPE steps
  b.axil.write(kCounters, 1);                     // read-only
  b.axil.read(kStatus);
  b.axil.read(kDim);
  b.axil.write(kRope + 4 * 63, 1);                // the last RoPE step
  b.axil.write(kSections + 8 * kNumSections - 4, 1);  // the last section word
  b.run();
  const auto& r = b.axil.results();
  for (unsigned k = 0; k < kNumCounters; ++k) EXPECT_EQ(r[k].data, b.counters[k]);
  for (unsigned i = kNumCounters; i < kNumCounters + 9; ++i) EXPECT_EQ(r[i].resp, kSlverr) << i;
  EXPECT_EQ(r[kNumCounters + 9].data, 1u << 8);
  EXPECT_EQ(r[kNumCounters + 10].data, 0u);  // the partial write changed nothing
  EXPECT_EQ(r[kNumCounters + 11].resp, kOkay);
  EXPECT_EQ(r[kNumCounters + 12].resp, kOkay);
}

// Random traffic against the reference model, every handshake order.
class HostCsrStalls : public ::testing::TestWithParam<std::tuple<double, double>> {};

TEST_P(HostCsrStalls, RandomTrafficMatchesTheRegisterMap) {
  const auto [gap_p, response_p] = GetParam();
  CsrBench b(StallGenerator(gap_p, 1), StallGenerator(response_p, 2), StallGenerator(0.5, 3));
  b.h.reset();
  CsrModel model;
  std::mt19937 rng(11);
  const std::vector<uint32_t> addresses = {0,        kStatus,  kDim,       kHidden,   kLayers,    kHeads,
                                           kKvHeads, kHeadSize, kVocab,    kSeqLen,   kQuant,     kWeightBase,
                                           kKvBase,  kInvDim,  kScoreScale, kCmd,      kTokenIn,   kCounters + 4,
                                           kSections, kSections + 4 * 197, kRope + 8, 0x0C, 0x3FC,  kDim + 1};
  struct Op {
    bool write;
    uint32_t addr, data;
    unsigned strobe;
  };
  std::vector<Op> ops;
  for (int i = 0; i < 3000; ++i) {
    const uint32_t addr = addresses[rng() % addresses.size()];
    const bool write = (rng() & 1) != 0;
    uint32_t data = static_cast<uint32_t>(rng());
    if (addr == kTokenIn) data %= 600;  // around the vocabulary size
    if (addr == kVocab) data = 400 + rng() % 200;
    const unsigned strobe = rng() % 16 == 0 ? 0x7 : 0xF;
    ops.push_back({write, addr, data, strobe});
    if (write) {
      b.axil.write(addr, data, strobe);
    } else {
      b.axil.read(addr);
    }
  }
  b.run(400000);
  // The streams drain as the sinks take them; the model's queues follow the
  // order the RTL saw them, so compare responses op by op with the model
  // consuming its queues the way the sinks did. The sinks never stall for
  // long, so compare the accepted sets instead: every OKAY command and token
  // reaches its sink, in order.
  std::vector<uint32_t> commands_written, tokens_written;
  const auto& r = b.axil.results();
  ASSERT_EQ(r.size(), ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (!op.write) {
      if (op.addr == kStatus || op.addr == kCmd || op.addr == kTokenIn) continue;  // depend on timing
      const auto [data, resp] = model.read(op.addr, false, b.counters);
      EXPECT_EQ(r[i].resp, resp) << "op " << i << " read 0x" << std::hex << op.addr;
      if (resp == kOkay) {
        EXPECT_EQ(r[i].data, data) << "op " << i << " read 0x" << std::hex << op.addr;
      }
      continue;
    }
    if (op.addr == kCmd || op.addr == kTokenIn) {
      // Whether a FIFO was full depends on timing; an id >= VOCAB never goes in.
      if (op.addr == kTokenIn && op.strobe == 0xF && op.data >= model.vocab()) {
        EXPECT_EQ(r[i].resp, kSlverr) << "op " << i << " token " << op.data << " >= vocab " << model.vocab();
      }
      if (r[i].resp == kOkay) (op.addr == kCmd ? commands_written : tokens_written).push_back(op.data);
      continue;
    }
    EXPECT_EQ(r[i].resp, model.write(op.addr, op.data, op.strobe)) << "op " << i << " write 0x" << std::hex << op.addr;
  }
  b.h.tick(100);
  EXPECT_FALSE(commands_written.empty());
  EXPECT_FALSE(tokens_written.empty());
  EXPECT_EQ(b.commands.beats(), commands_written);
  EXPECT_EQ(b.tokens.beats(), tokens_written);
}

INSTANTIATE_TEST_SUITE_P(GapResponse, HostCsrStalls, tp::tb::stall_matrix<2>(),
                         tp::tb::stall_matrix_names("Gap", "Response"));

TEST(HostCsr, ResetInTheMiddleThenCleanAndDefinedFromRandomState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    CsrBench b({}, StallGenerator(0.5, 4), {}, options);
    b.h.reset();
    EXPECT_FALSE(b.h->s_axil_bvalid_o);
    EXPECT_FALSE(b.h->s_axil_rvalid_o);
    EXPECT_FALSE(b.h->cmd_valid_o);
    EXPECT_FALSE(b.h->tok_in_valid_o);
    EXPECT_FALSE(b.h->cfg_ok_o);
    write_config(b, kStories);
    b.axil.write(kCmd, 42);
    b.h.tick(7);
    b.h.reset();
    EXPECT_FALSE(b.h->cfg_ok_o);
    EXPECT_FALSE(b.h->cmd_valid_o);
    const std::size_t before = b.axil.results().size();
    b.axil.read(0);
    b.axil.read(kDim);
    b.run();
    ASSERT_EQ(b.axil.results().size(), before + 2);
    EXPECT_EQ(b.axil.results()[before].data, kId);
    EXPECT_EQ(b.axil.results()[before + 1].data, 0u);  // the configuration is gone
  });
}

}  // namespace
