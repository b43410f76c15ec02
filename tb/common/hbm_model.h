// tp::tb::HbmModel: an HBM-like memory behind a 512-bit AXI4 read channel
// (AR + R, single ID, 64-byte beats, INCR bursts), serving the bytes of an
// image (e.g. a weight image, docs/weight-image.md). A Component of the bench:
// it takes part in every cycle like Source and Sink, and the test maps its
// channels to the DUT's ports with lambdas (HbmPorts).
//
// Timing, in the cycle model of bench.h:
//   - AR: arready is high while fewer than `max_outstanding` bursts are in
//     flight (accepted, last beat not yet taken). A burst accepted at edge k
//     has its first R beat presented so that it can move at edge k + latency
//     at the earliest (latency >= 1); bursts are served in order.
//   - R: at most `bytes_per_cycle` bytes per cycle on average (a token bucket
//     of at most one beat: below 64 B/cycle this shows as gaps between R
//     beats); plus random gaps from the `r_stall` generator. A presented beat
//     holds (valid, data, last) until the master takes it (rvalid && rready).
//
//
// Optional AXI4 write channel (AW + W + B, single ID, INCR, 64-byte beats with
// byte strobes), when the model is built with HbmWritePorts:
//   - AW: awready is high while fewer than `max_outstanding_writes` write
//     bursts are in flight (accepted, B not yet taken), but on `aw_stall`
//     cycles. W: wready is high but on `w_stall` cycles; W beats may come
//     before their AW (AXI4 allows it) and are matched to the AWs in order.
//   - B: a burst whose AW and last W beat moved at edges a and w gets its B
//     presented so that it can move at edge max(a, w) + b_latency at the
//     earliest (b_latency >= 1), in order. The burst's bytes (strobe bits set)
//     are written into the image only when its B is presented: a read served
//     before that sees the old bytes, so a read that overtakes a write the
//     master has not seen acknowledged is caught by the data. `bresp(addr)`
//     (optional) gives the response of a beat at addr: non-zero (SLVERR 2,
//     DECERR 3) leaves that beat's bytes unwritten; the burst's B carries the
//     worst response of its beats.
//   - reads and writes are independent channels: nothing orders them here.
//
// Errors (each a GoogleTest failure with a message, counted in violations()):
// araddr not 64-byte aligned, arlen > 63, a burst crossing a 4 KiB boundary,
// a read beyond the image (those bytes read as zero); for writes: awaddr not
// 64-byte aligned, awlen > 63, awsize != 6, awburst != INCR, a 4 KiB crossing,
// a write beyond the image (not written), wlast on a beat that is not the
// burst's last or missing on its last.
//
// Reset: Bench::reset() resets the model with the DUT (AXI4's shared ARESETn):
// every burst in flight and the presented beat are dropped, arready and rvalid
// go low; write bursts not yet acknowledged are dropped unwritten (awready,
// wready, bvalid low). The counters and violations() survive a reset
// (clear_counters()). memory() gives the test the bytes (read and write).
#pragma once

#include "common/bench.h"
#include "common/stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace tp::tb {

inline constexpr unsigned kHbmBeatBytes = 64;
using HbmBeat = std::array<uint8_t, kHbmBeatBytes>;

// A memory image of `bytes` random bytes (deterministic for a seed): what a
// test's memory holds outside the data it places.
inline std::vector<uint8_t> random_image(size_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> image(bytes);
  for (auto& b : image) b = static_cast<uint8_t>(rng());
  return image;
}

// How the model reads and writes the DUT's AXI4 read-master ports.
struct HbmPorts {
  std::function<bool()> arvalid;
  std::function<uint64_t()> araddr;
  std::function<unsigned()> arlen;  // beats - 1
  std::function<void(bool)> set_arready;
  std::function<void(bool valid, const HbmBeat& data, bool last)> set_r;
  std::function<bool()> rready;
};

// The ports of a DUT whose AXI4 read master uses the project's names
// (m_axi_arvalid_o, ..., m_axi_rdata_i as 16 little-endian 32-bit words);
// `dut` is anything with operator-> to the verilated model (a Harness).
template <class Dut>
HbmPorts axi_read_ports(Dut& dut) {
  return HbmPorts{
      .arvalid = [&dut] { return dut->m_axi_arvalid_o != 0; },
      .araddr = [&dut] { return static_cast<uint64_t>(dut->m_axi_araddr_o); },
      .arlen = [&dut] { return static_cast<unsigned>(dut->m_axi_arlen_o); },
      .set_arready = [&dut](bool r) { dut->m_axi_arready_i = r; },
      .set_r =
          [&dut](bool valid, const HbmBeat& data, bool last) {
            dut->m_axi_rvalid_i = valid;
            dut->m_axi_rlast_i = last;
            for (unsigned w = 0; w < 16; ++w) {
              uint32_t word = 0;
              for (unsigned b = 0; b < 4; ++b) word |= uint32_t{data[4 * w + b]} << (8 * b);
              dut->m_axi_rdata_i[w] = word;
            }
          },
      .rready = [&dut] { return dut->m_axi_rready_o != 0; },
  };
}

// How the model reads and writes the DUT's AXI4 write-master ports.
struct HbmWritePorts {
  std::function<bool()> awvalid;
  std::function<uint64_t()> awaddr;
  std::function<unsigned()> awlen;    // beats - 1
  std::function<unsigned()> awsize;   // log2(bytes per beat)
  std::function<unsigned()> awburst;  // 1: INCR
  std::function<void(bool)> set_awready;
  std::function<bool()> wvalid;
  std::function<HbmBeat()> wdata;
  std::function<uint64_t()> wstrb;    // bit i: byte i of the beat
  std::function<bool()> wlast;
  std::function<void(bool)> set_wready;
  std::function<void(bool valid, unsigned resp)> set_b;
  std::function<bool()> bready;
};

// The write ports of a DUT whose AXI4 write master uses the project's names
// (m_axi_awvalid_o, ..., m_axi_wdata_o as 16 little-endian 32-bit words).
template <class Dut>
HbmWritePorts axi_write_ports(Dut& dut) {
  return HbmWritePorts{
      .awvalid = [&dut] { return dut->m_axi_awvalid_o != 0; },
      .awaddr = [&dut] { return static_cast<uint64_t>(dut->m_axi_awaddr_o); },
      .awlen = [&dut] { return static_cast<unsigned>(dut->m_axi_awlen_o); },
      .awsize = [&dut] { return static_cast<unsigned>(dut->m_axi_awsize_o); },
      .awburst = [&dut] { return static_cast<unsigned>(dut->m_axi_awburst_o); },
      .set_awready = [&dut](bool r) { dut->m_axi_awready_i = r; },
      .wvalid = [&dut] { return dut->m_axi_wvalid_o != 0; },
      .wdata =
          [&dut] {
            HbmBeat beat{};
            for (unsigned w = 0; w < 16; ++w) {
              for (unsigned b = 0; b < 4; ++b) beat[4 * w + b] = static_cast<uint8_t>(dut->m_axi_wdata_o[w] >> (8 * b));
            }
            return beat;
          },
      .wstrb = [&dut] { return static_cast<uint64_t>(dut->m_axi_wstrb_o); },
      .wlast = [&dut] { return dut->m_axi_wlast_o != 0; },
      .set_wready = [&dut](bool r) { dut->m_axi_wready_i = r; },
      .set_b =
          [&dut](bool valid, unsigned resp) {
            dut->m_axi_bvalid_i = valid;
            dut->m_axi_bresp_i = resp;
          },
      .bready = [&dut] { return dut->m_axi_bready_o != 0; },
  };
}

struct HbmConfig {
  unsigned latency = 100;           // cycles from AR acceptance to the first R beat (>= 1)
  unsigned bytes_per_cycle = 64;    // sustained R bandwidth (1..64)
  unsigned max_outstanding = 16;    // bursts in flight before arready drops (>= 1)
  StallGenerator r_stall{};         // random R-valid gaps
  // Write channel (used only with HbmWritePorts).
  unsigned b_latency = 30;                // cycles from a burst's AW and last W beat to its B (>= 1)
  unsigned max_outstanding_writes = 16;   // write bursts in flight before awready drops (>= 1)
  StallGenerator aw_stall{};              // random awready gaps
  StallGenerator w_stall{};               // random wready gaps
  std::function<unsigned(uint64_t addr)> bresp{};  // response of a write beat at addr (default OKAY)
};

class HbmModel final : public Component {
 public:
  HbmModel(Bench& bench, HbmPorts ports, std::vector<uint8_t> image, HbmConfig config = {})
      : Component(bench), ports_(std::move(ports)), image_(std::move(image)), config_(std::move(config)) {
    if (config_.latency == 0) config_.latency = 1;
    config_.bytes_per_cycle = std::clamp(config_.bytes_per_cycle, 1u, kHbmBeatBytes);
    if (config_.max_outstanding == 0) config_.max_outstanding = 1;
    if (config_.b_latency == 0) config_.b_latency = 1;
    if (config_.max_outstanding_writes == 0) config_.max_outstanding_writes = 1;
    idle();
  }
  // With an AXI4 write channel as well.
  HbmModel(Bench& bench, HbmPorts ports, HbmWritePorts write_ports, std::vector<uint8_t> image, HbmConfig config = {})
      : HbmModel(bench, std::move(ports), std::move(image), std::move(config)) {
    wports_ = std::move(write_ports);
    has_write_ = true;
    idle();
  }

  const std::vector<uint8_t>& image() const { return image_; }
  std::vector<uint8_t>& memory() { return image_; }  // the bytes, for the test to read and set

  // Counters (kept across reset).
  uint64_t bursts() const { return bursts_; }              // AR accepted
  uint64_t beats() const { return beats_; }                // R beats taken by the master
  uint64_t bytes() const { return beats_ * kHbmBeatBytes; }
  uint64_t r_stall_cycles() const { return r_stall_cycles_; }  // rvalid && !rready
  uint64_t violations() const { return violations_; }
  uint64_t last_beat_cycle() const { return last_beat_cycle_; }  // cycle the latest R beat was taken
  size_t outstanding() const { return bursts_in_flight_.size(); }
  // Write counters (kept across reset).
  uint64_t write_bursts() const { return write_bursts_; }    // AW accepted
  uint64_t write_beats() const { return write_beats_; }      // W beats accepted
  uint64_t write_responses() const { return write_responses_; }  // B taken by the master
  // Write bursts in flight: AW accepted and B not yet taken, plus W beats
  // accepted ahead of their AW (0 or 1 for a master that sends W with AW).
  size_t writes_outstanding() const { return writes_.size() + (w_beats_.empty() ? 0 : 1); }
  // A write in flight (AW taken, B not yet) and a read in flight that has
  // still to deliver a beat the write covers: AXI4 orders neither against the
  // other, so the read may return either bytes. A master must never let this
  // happen.
  bool read_write_overlap() const {
    for (const Burst& r : bursts_in_flight_) {
      const uint64_t r_begin = r.addr + uint64_t{r.next_beat} * kHbmBeatBytes;
      const uint64_t r_end = r.addr + uint64_t{r.beats} * kHbmBeatBytes;
      for (const WriteBurst& w : writes_) {
        if (w.addr < r_end && r_begin < w.addr + uint64_t{w.beats} * kHbmBeatBytes) return true;
      }
    }
    return false;
  }
  void clear_counters() {
    bursts_ = beats_ = r_stall_cycles_ = violations_ = 0;
    write_bursts_ = write_beats_ = write_responses_ = 0;
  }

  void drive(uint64_t cycle) override {
    if (has_write_) drive_write(cycle);
    arready_ = bursts_in_flight_.size() < config_.max_outstanding;
    ports_.set_arready(arready_);
    tokens_ = std::min<unsigned>(tokens_ + config_.bytes_per_cycle, kHbmBeatBytes);
    if (!presenting_ && !bursts_in_flight_.empty()) {
      const Burst& b = bursts_in_flight_.front();
      const bool due = b.next_beat > 0 || cycle >= b.accept_cycle + config_.latency;
      if (due && tokens_ >= kHbmBeatBytes && !config_.r_stall.next()) {
        tokens_ -= kHbmBeatBytes;
        presenting_ = true;
        beat_ = read_beat(b.addr + uint64_t{b.next_beat} * kHbmBeatBytes);
        last_ = b.next_beat + 1 == b.beats;
      }
    }
    ports_.set_r(presenting_, presenting_ ? beat_ : HbmBeat{}, presenting_ && last_);
  }

  void sample(uint64_t cycle) override {
    if (has_write_) sample_write(cycle);
    if (arready_ && ports_.arvalid()) accept_ar(ports_.araddr(), ports_.arlen(), cycle);
    if (!presenting_) return;
    if (!ports_.rready()) {
      ++r_stall_cycles_;
      return;
    }
    ++beats_;
    last_beat_cycle_ = cycle;
    presenting_ = false;
    Burst& b = bursts_in_flight_.front();
    if (++b.next_beat == b.beats) bursts_in_flight_.pop_front();
  }

  void reset() override {
    bursts_in_flight_.clear();
    tokens_ = 0;
    writes_.clear();
    w_beats_.clear();
    b_presenting_ = false;
    idle();
  }

 private:
  struct Burst {
    uint64_t addr;
    unsigned beats;
    uint64_t accept_cycle;
    unsigned next_beat = 0;
  };

  struct WBeat {
    HbmBeat data;
    uint64_t strb;
    bool last;
    uint64_t cycle;
  };
  struct WriteBurst {
    uint64_t addr;
    unsigned beats;
    uint64_t aw_cycle;
    bool legal;                  // no address violation: may be written
    std::vector<WBeat> data{};   // W beats matched so far
    uint64_t due = 0;            // cycle its B may be presented (once complete)
  };

  void idle() {
    presenting_ = false;
    arready_ = false;
    ports_.set_arready(false);
    ports_.set_r(false, HbmBeat{}, false);
    if (has_write_) {
      awready_ = wready_ = b_presenting_ = false;
      wports_.set_awready(false);
      wports_.set_wready(false);
      wports_.set_b(false, 0);
    }
  }

  void drive_write(uint64_t cycle) {
    awready_ = writes_.size() < config_.max_outstanding_writes && !config_.aw_stall.next();
    wports_.set_awready(awready_);
    wready_ = !config_.w_stall.next();
    wports_.set_wready(wready_);
    if (!b_presenting_ && !writes_.empty()) {
      WriteBurst& w = writes_.front();
      if (w.data.size() == w.beats && cycle >= w.due) {
        b_resp_ = commit_write(w);
        b_presenting_ = true;
      }
    }
    wports_.set_b(b_presenting_, b_presenting_ ? b_resp_ : 0);
  }

  void sample_write(uint64_t cycle) {
    if (b_presenting_ && wports_.bready()) {
      b_presenting_ = false;
      ++write_responses_;
      writes_.pop_front();
    }
    if (awready_ && wports_.awvalid()) {
      accept_aw(wports_.awaddr(), wports_.awlen(), wports_.awsize(), wports_.awburst(), cycle);
    }
    if (wready_ && wports_.wvalid()) {
      ++write_beats_;
      w_beats_.push_back(WBeat{wports_.wdata(), wports_.wstrb(), wports_.wlast(), cycle});
    }
    match_w(cycle);
  }

  void accept_aw(uint64_t addr, unsigned len, unsigned size, unsigned burst_type, uint64_t cycle) {
    ++write_bursts_;
    const unsigned beats = len + 1;
    const std::string burst = "write burst awaddr 0x" + hex(addr) + " awlen " + std::to_string(len);
    bool legal = true;
    const auto bad = [&](const std::string& what) {
      violation(burst + ": " + what, cycle);
      legal = false;
    };
    if (addr % kHbmBeatBytes != 0) bad("awaddr not 64-byte aligned");
    if (size != 6) bad("awsize " + std::to_string(size) + " != 6");
    if (burst_type != 1) bad("awburst " + std::to_string(burst_type) + " != INCR");
    const uint64_t end = addr + uint64_t{beats} * kHbmBeatBytes;  // exclusive
    if (len > 63) bad("awlen > 63");
    else if (addr / 4096 != (end - 1) / 4096) bad("crosses a 4 KiB boundary");
    if (end > image_.size()) bad("writes beyond the image (" + std::to_string(image_.size()) + " bytes)");
    writes_.push_back(WriteBurst{addr - addr % kHbmBeatBytes, beats, cycle, legal});
  }

  // W beats go to the oldest burst still missing beats, in order.
  void match_w(uint64_t cycle) {
    for (WriteBurst& w : writes_) {
      if (w_beats_.empty()) return;
      while (w.data.size() < w.beats && !w_beats_.empty()) {
        const WBeat beat = w_beats_.front();
        w_beats_.pop_front();
        const bool should_be_last = w.data.size() + 1 == w.beats;
        if (beat.last != should_be_last) {
          violation("write burst awaddr 0x" + hex(w.addr) + ": wlast " + (beat.last ? "on beat " : "missing on beat ") +
                        std::to_string(w.data.size()) + " of " + std::to_string(w.beats),
                    cycle);
        }
        w.data.push_back(beat);
        if (w.data.size() == w.beats) w.due = std::max(w.aw_cycle, beat.cycle) + config_.b_latency;
      }
    }
  }

  // Writes the burst's strobed bytes (beats whose response is OKAY); returns
  // the burst's response (the worst of its beats).
  unsigned commit_write(const WriteBurst& w) {
    unsigned resp = 0;
    for (unsigned i = 0; i < w.beats; ++i) {
      const uint64_t addr = w.addr + uint64_t{i} * kHbmBeatBytes;
      const unsigned beat_resp = config_.bresp ? config_.bresp(addr) : 0u;
      resp = std::max(resp, beat_resp);
      if (!w.legal || beat_resp != 0) continue;
      for (unsigned j = 0; j < kHbmBeatBytes; ++j) {
        if ((w.data[i].strb >> j) & 1) image_[addr + j] = w.data[i].data[j];
      }
    }
    return resp;
  }

  void violation(const std::string& what, uint64_t cycle) {
    ++violations_;
    ADD_FAILURE() << "HBM model at cycle " << cycle << ": " << what;
  }

  void accept_ar(uint64_t addr, unsigned len, uint64_t cycle) {
    ++bursts_;
    const unsigned beats = len + 1;
    const std::string burst = "burst araddr 0x" + hex(addr) + " arlen " + std::to_string(len);
    if (addr % kHbmBeatBytes != 0) violation(burst + ": araddr not 64-byte aligned", cycle);
    const uint64_t end = addr + uint64_t{beats} * kHbmBeatBytes;  // exclusive
    if (len > 63) violation(burst + ": arlen > 63", cycle);
    else if (addr / 4096 != (end - 1) / 4096) violation(burst + ": crosses a 4 KiB boundary", cycle);
    if (end > image_.size())
      violation(burst + ": reads beyond the image (" + std::to_string(image_.size()) + " bytes)", cycle);
    bursts_in_flight_.push_back(Burst{addr, beats, cycle});
  }

  HbmBeat read_beat(uint64_t addr) const {
    HbmBeat beat{};
    for (unsigned i = 0; i < kHbmBeatBytes; ++i) {
      if (addr + i < image_.size()) beat[i] = image_[addr + i];
    }
    return beat;
  }

  static std::string hex(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
    return buf;
  }

  HbmPorts ports_;
  HbmWritePorts wports_{};
  bool has_write_ = false;
  std::deque<WriteBurst> writes_;  // AW accepted, B not yet taken, in order
  std::deque<WBeat> w_beats_;      // W beats not yet matched to an AW
  bool awready_ = false, wready_ = false, b_presenting_ = false;
  unsigned b_resp_ = 0;
  uint64_t write_bursts_ = 0, write_beats_ = 0, write_responses_ = 0;
  std::vector<uint8_t> image_;
  HbmConfig config_;
  std::deque<Burst> bursts_in_flight_;
  unsigned tokens_ = 0;
  uint64_t last_beat_cycle_ = 0;
  bool arready_ = false;
  bool presenting_ = false;
  bool last_ = false;
  HbmBeat beat_{};
  uint64_t bursts_ = 0, beats_ = 0, r_stall_cycles_ = 0, violations_ = 0;
};

}  // namespace tp::tb
