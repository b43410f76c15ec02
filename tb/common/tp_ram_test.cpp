// Testbench of rtl/common/tp_ram.sv (default Width 32, Depth 64). Golden
// model: an array. Stated timing: the word at the read address sampled at an
// edge is on rd_data_o after that edge (latency 1) and holds while re_i is
// low; a read of the address written at the same edge returns the old word.
#include "Vtp_ram.h"
#include "common/harness.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>

namespace {

using tp::tb::Harness;

constexpr unsigned kDepth = 64;

TEST(TpRam, RandomReadsAndWritesMatchAnArray) {
  Harness<Vtp_ram> h;
  h.reset();
  std::array<uint32_t, kDepth> model{};
  // Fill every word first: the RAM has no reset, a word is read only after it was written.
  for (unsigned a = 0; a < kDepth; ++a) {
    model[a] = 0x1000u * a + 7;
    h->we_i = 1;
    h->wr_addr_i = a;
    h->wr_data_i = model[a];
    h->re_i = 0;
    h.tick();
  }
  std::mt19937 rng(5);
  uint32_t expected = 0;
  bool have_read = false;
  for (int cycle = 0; cycle < 4000; ++cycle) {
    const bool we = rng() % 2, re = rng() % 3 != 0;
    const unsigned waddr = rng() % kDepth;
    // Every fourth read targets the address being written: it must see the old word.
    const unsigned raddr = (cycle % 4 == 0) ? waddr : rng() % kDepth;
    const uint32_t data = static_cast<uint32_t>(rng());
    h->we_i = we;
    h->wr_addr_i = waddr;
    h->wr_data_i = data;
    h->re_i = re;
    h->rd_addr_i = raddr;
    if (re) expected = model[raddr];  // sampled before this edge's write
    have_read = have_read || re;
    h.tick();
    if (we) model[waddr] = data;
    // After the edge: the read register holds the last read (unchanged when re_i was low).
    if (have_read) {
      ASSERT_EQ(h->rd_data_o, expected) << "cycle " << cycle;
    }
  }
}

}  // namespace
