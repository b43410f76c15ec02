// tp::tb timing checks on the beat cycles recorded by Source::accept_cycles()
// and Sink::beat_cycles(): exact latency and initiation interval, as stated in
// every RTL module's header comment. Use with EXPECT_TRUE / ASSERT_TRUE; a
// failure names the first offending beat and its cycles.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace tp::tb {

// out[i] - in[i] == latency for every beat i (one output per input), and both
// lists have the same length.
::testing::AssertionResult has_latency(const std::vector<uint64_t>& in_cycles,
                                       const std::vector<uint64_t>& out_cycles, uint64_t latency);

// cycles[i+1] - cycles[i] == interval for every i (II of a stream of beats).
::testing::AssertionResult has_interval(const std::vector<uint64_t>& cycles, uint64_t interval);

// A pipeline at full rate: inputs accepted at II 1, outputs leaving at II 1,
// each exactly `latency` cycles after its input (has_interval on both lists
// and has_latency).
::testing::AssertionResult has_full_rate(const std::vector<uint64_t>& in_cycles,
                                         const std::vector<uint64_t>& out_cycles, uint64_t latency);

}  // namespace tp::tb
