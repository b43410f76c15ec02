// tp::tb::AxiLiteMaster: drives an AXI4-Lite slave (32-bit data) port of a
// DUT, one transaction at a time, in the order they were queued: a write
// presents AW and W together (each held until the slave takes it), then waits
// for B; a read presents AR, then waits for R. Random gaps before a
// transaction and withheld bready/rready come from stall generators, so a
// slave meets every handshake order. Checks the AXI rule that a response's
// valid and data hold until it is taken. A Component of the bench, like
// Source and Sink; the test maps the channels to the DUT's ports (s_axil_*).
#pragma once

#include "common/bench.h"
#include "common/stream.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace tp::tb {

struct AxiLiteResult {
  bool write = false;
  uint32_t addr = 0;
  uint32_t data = 0;  // write: the data written; read: the data returned
  unsigned resp = 0;  // 0 OKAY, 2 SLVERR
  uint64_t taken_cycle = 0;     // edge at which the slave had taken the address (and data)
  uint64_t response_cycle = 0;  // edge at which the response was taken
};

// The DUT ports of an AXI4-Lite slave named s_axil_* (tp_host_csr).
template <class Dut>
class AxiLiteMaster final : public Component {
 public:
  AxiLiteMaster(Bench& bench, Dut& dut, StallGenerator gap = {}, StallGenerator response_stall = {})
      : Component(bench), dut_(dut), gap_(std::move(gap)), response_stall_(std::move(response_stall)) {
    idle();
  }

  void write(uint32_t addr, uint32_t data, unsigned strobe = 0xF) { queue_.push_back({true, addr, data, strobe}); }
  void read(uint32_t addr) { queue_.push_back({false, addr, 0, 0}); }
  bool done() const { return queue_.empty() && !active_; }
  const std::vector<AxiLiteResult>& results() const { return results_; }

  void drive(uint64_t) override {
    if (!active_ && !queue_.empty() && !gap_.next()) {
      current_ = queue_.front();
      queue_.pop_front();
      active_ = true;
      aw_pending_ = w_pending_ = current_.write;
      ar_pending_ = !current_.write;
    }
    dut_.s_axil_awvalid_i = active_ && aw_pending_;
    dut_.s_axil_awaddr_i = current_.addr;
    dut_.s_axil_wvalid_i = active_ && w_pending_;
    dut_.s_axil_wdata_i = current_.data;
    dut_.s_axil_wstrb_i = current_.strobe;
    dut_.s_axil_arvalid_i = active_ && ar_pending_;
    dut_.s_axil_araddr_i = current_.addr;
    const bool take = !response_stall_.next();
    dut_.s_axil_bready_i = take;
    dut_.s_axil_rready_i = take;
  }

  void sample(uint64_t cycle) override {
    check_held(dut_.s_axil_bvalid_o != 0, dut_.s_axil_bresp_o, 0u, dut_.s_axil_bready_i != 0, held_b_);
    check_held(dut_.s_axil_rvalid_o != 0, dut_.s_axil_rresp_o, static_cast<uint32_t>(dut_.s_axil_rdata_o),
               dut_.s_axil_rready_i != 0, held_r_);
    if (!active_) {
      EXPECT_FALSE(dut_.s_axil_bvalid_o && dut_.s_axil_bready_i) << "B response without a write";
      EXPECT_FALSE(dut_.s_axil_rvalid_o && dut_.s_axil_rready_i) << "R response without a read";
      return;
    }
    const bool was_addressed = !aw_pending_ && !w_pending_ && !ar_pending_;
    if (aw_pending_ && dut_.s_axil_awready_o) aw_pending_ = false;
    if (w_pending_ && dut_.s_axil_wready_o) w_pending_ = false;
    if (ar_pending_ && dut_.s_axil_arready_o) ar_pending_ = false;
    const bool addressed = !aw_pending_ && !w_pending_ && !ar_pending_;
    if (addressed && !was_addressed) taken_cycle_ = cycle;
    if (current_.write && dut_.s_axil_bvalid_o && dut_.s_axil_bready_i) {
      EXPECT_TRUE(addressed) << "B before the write was taken";
      finish(current_.data, dut_.s_axil_bresp_o, cycle);
    } else if (!current_.write && dut_.s_axil_rvalid_o && dut_.s_axil_rready_i) {
      EXPECT_TRUE(addressed) << "R before the read was taken";
      finish(static_cast<uint32_t>(dut_.s_axil_rdata_o), dut_.s_axil_rresp_o, cycle);
    }
  }

  void reset() override {
    queue_.clear();
    active_ = false;
    held_b_.reset();
    held_r_.reset();
    idle();
  }

 private:
  struct Transaction {
    bool write = false;
    uint32_t addr = 0, data = 0;
    unsigned strobe = 0;
  };

  // A response presented and not taken must be presented again unchanged.
  static void check_held(bool valid, unsigned resp, uint32_t data, bool ready,
                         std::optional<std::pair<unsigned, uint32_t>>& held) {
    if (held) {
      EXPECT_TRUE(valid) << "response valid dropped before it was taken";
      if (valid) {
        EXPECT_EQ(*held, std::make_pair(resp, data)) << "response changed before it was taken";
      }
    }
    held.reset();
    if (valid && !ready) held = std::make_pair(resp, data);
  }

  void finish(uint32_t data, unsigned resp, uint64_t cycle) {
    results_.push_back({current_.write, current_.addr, data, resp, taken_cycle_, cycle});
    active_ = false;
  }

  void idle() {
    dut_.s_axil_awvalid_i = 0;
    dut_.s_axil_wvalid_i = 0;
    dut_.s_axil_arvalid_i = 0;
    dut_.s_axil_bready_i = 0;
    dut_.s_axil_rready_i = 0;
  }

  Dut& dut_;
  StallGenerator gap_, response_stall_;
  std::deque<Transaction> queue_;
  Transaction current_{};
  bool active_ = false, aw_pending_ = false, w_pending_ = false, ar_pending_ = false;
  uint64_t taken_cycle_ = 0;
  std::optional<std::pair<unsigned, uint32_t>> held_b_, held_r_;
  std::vector<AxiLiteResult> results_;
};

}  // namespace tp::tb
