// Testbench of rtl/common/tp_stream_checker.sv (Width = 8, tb/common/tp_stream_checker.cmake):
// the simulation-only handshake checker every module instantiates on each of
// its streams. It must stay silent on legal streams, in reset and after a
// beat moved, and fail exactly once for each violation of the valid/ready rule
// (valid dropped, or data changed, while valid && !ready). Ports driven by hand.
#include "Vtp_stream_checker.h"
#include "common/harness.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace {

using tp::tb::Harness;

// Number of GoogleTest failures (RTL assertion reports of Bench) raised by f.
template <class F>
int failures_of(F f) {
  ::testing::TestPartResultArray results;
  {
    const ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    f();
  }
  return results.size();
}

struct Checker : Harness<Vtp_stream_checker> {
  // Drives one cycle: the stream's signals during clock edge cycle().
  void beat(bool valid, bool ready, uint8_t data) {
    dut().valid_i = valid;
    dut().ready_i = ready;
    dut().data_i = data;
    tick();
  }
};

TEST(StreamChecker, LegalRandomStreamIsSilent) {
  // A source that holds valid and data until ready, with random bubbles, and
  // a sink with random ready, for 5000 cycles.
  Checker c;
  c.reset();
  std::mt19937 rng(1);
  bool valid = false;
  uint8_t data = 0;
  for (int i = 0; i < 5000; ++i) {
    if (!valid && rng() % 3 != 0) {
      valid = true;
      data = static_cast<uint8_t>(rng());
    }
    const bool ready = rng() % 2 != 0;
    c.beat(valid, ready, data);
    if (valid && ready) valid = false;  // the beat moved: anything may follow
  }
  EXPECT_EQ(c.context().errorCount(), 0);
}

TEST(StreamChecker, ValidDroppedWhileStalledFailsOnce) {
  Checker c;
  c.reset();
  c.beat(true, false, 0x5A);  // stalled
  EXPECT_EQ(failures_of([&] { c.beat(false, false, 0x5A); }), 1);
  EXPECT_EQ(failures_of([&] { c.beat(false, false, 0x00); }), 0) << "idle after the drop";
  EXPECT_EQ(c.context().errorCount(), 1);  // the valid assertion only
}

TEST(StreamChecker, DataChangedWhileStalledFailsOnce) {
  Checker c;
  c.reset();
  c.beat(true, false, 0x5A);                                     // stalled
  c.beat(true, false, 0x5A);                                     // still stalled, unchanged: legal
  EXPECT_EQ(failures_of([&] { c.beat(true, true, 0x5B); }), 1);  // changed in the cycle it moves
  EXPECT_EQ(c.context().errorCount(), 1);                        // the data assertion only
}

TEST(StreamChecker, AnythingGoesAfterABeatMovedAndInReset) {
  Checker c;
  c.reset();
  EXPECT_EQ(failures_of([&] {
              c.beat(true, true, 0x01);    // moves
              c.beat(true, false, 0x02);   // a new beat, stalled
              c.beat(true, true, 0x02);    // moves
              c.beat(false, false, 0x7F);  // valid may drop after a beat moved
              c.beat(true, false, 0x03);   // stalled ...
            }),
            0);
  // ... and reset: the stall is forgotten, nothing is checked while rst_ni is low.
  EXPECT_EQ(failures_of([&] {
              c.reset(2);
              c.beat(false, false, 0x00);
            }),
            0);
}

}  // namespace
