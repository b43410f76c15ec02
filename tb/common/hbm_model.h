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
// Errors (each a GoogleTest failure with a message, counted in violations()):
// araddr not 64-byte aligned, arlen > 63, a burst crossing a 4 KiB boundary,
// a read beyond the image (those bytes read as zero).
//
// Reset: Bench::reset() resets the model with the DUT (AXI4's shared ARESETn):
// every burst in flight and the presented beat are dropped, arready and rvalid
// go low. The counters and violations() survive a reset (clear_counters()).
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
#include <string>
#include <utility>
#include <vector>

namespace tp::tb {

inline constexpr unsigned kHbmBeatBytes = 64;
using HbmBeat = std::array<uint8_t, kHbmBeatBytes>;

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

struct HbmConfig {
  unsigned latency = 100;           // cycles from AR acceptance to the first R beat (>= 1)
  unsigned bytes_per_cycle = 64;    // sustained R bandwidth (1..64)
  unsigned max_outstanding = 16;    // bursts in flight before arready drops (>= 1)
  StallGenerator r_stall{};         // random R-valid gaps
};

class HbmModel final : public Component {
 public:
  HbmModel(Bench& bench, HbmPorts ports, std::vector<uint8_t> image, HbmConfig config = {})
      : Component(bench), ports_(std::move(ports)), image_(std::move(image)), config_(std::move(config)) {
    if (config_.latency == 0) config_.latency = 1;
    config_.bytes_per_cycle = std::clamp(config_.bytes_per_cycle, 1u, kHbmBeatBytes);
    if (config_.max_outstanding == 0) config_.max_outstanding = 1;
    idle();
  }

  const std::vector<uint8_t>& image() const { return image_; }

  // Counters (kept across reset).
  uint64_t bursts() const { return bursts_; }              // AR accepted
  uint64_t beats() const { return beats_; }                // R beats taken by the master
  uint64_t bytes() const { return beats_ * kHbmBeatBytes; }
  uint64_t r_stall_cycles() const { return r_stall_cycles_; }  // rvalid && !rready
  uint64_t violations() const { return violations_; }
  uint64_t last_beat_cycle() const { return last_beat_cycle_; }  // cycle the latest R beat was taken
  size_t outstanding() const { return bursts_in_flight_.size(); }
  void clear_counters() { bursts_ = beats_ = r_stall_cycles_ = violations_ = 0; }

  void drive(uint64_t cycle) override {
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
    idle();
  }

 private:
  struct Burst {
    uint64_t addr;
    unsigned beats;
    uint64_t accept_cycle;
    unsigned next_beat = 0;
  };

  void idle() {
    presenting_ = false;
    arready_ = false;
    ports_.set_arready(false);
    ports_.set_r(false, HbmBeat{}, false);
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
