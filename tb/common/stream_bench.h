// tp::tb::StreamBench<Model, In, Out>: the bench of a block with one input
// stream (in_valid_i / in_ready_o) and one output stream (out_valid_o /
// out_ready_i) whose golden model maps every input beat to one output beat:
// the harness, a Source, a Sink and the Scoreboard between them. A test only
// says how a beat maps to the data ports and names the golden function:
//
//   struct Bench : tp::tb::StreamBench<Vtp_silu, Pairs, Lanes> {
//     explicit Bench(StallGenerator source_stall = {}, StallGenerator sink_stall = {}, HarnessOptions options = {})
//         : StreamBench(put_pairs, get_lanes, golden, source_stall, sink_stall, options) {}
//   };
#pragma once

#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stream.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tp::tb {

template <class Model, class In, class Out>
struct StreamBench {
  using PutData = std::function<void(Model& dut, const In& beat)>;  // writes the input data ports
  using GetData = std::function<Out(Model& dut)>;                   // reads the output data ports
  using Golden = std::function<Out(const In& in)>;                  // the expected output beat

  StreamBench(PutData put, GetData get, Golden golden, StallGenerator source_stall, StallGenerator sink_stall,
              HarnessOptions options, std::string scoreboard_name = "out")
      : h(options),
        source(
            h,
            [this, put = std::move(put)](bool valid, const In& beat) {
              h->in_valid_i = valid;
              put(h.dut(), beat);
            },
            [this] { return h->in_ready_o != 0; }, std::move(source_stall)),
        sink(
            h, [this](bool ready) { h->out_ready_i = ready; }, [this] { return h->out_valid_o != 0; },
            [this, get = std::move(get)] { return get(h.dut()); }, std::move(sink_stall)),
        scoreboard(h, std::move(scoreboard_name)) {
    scoreboard.connect(source, std::move(golden), sink);
  }
  // The components hold `this`.
  StreamBench(const StreamBench&) = delete;
  StreamBench& operator=(const StreamBench&) = delete;

  // Pushes the beats and runs until each came out and matched its golden beat.
  void run(const std::vector<In>& beats, uint64_t max_cycles) {
    const size_t target = scoreboard.checked() + beats.size();
    source.push_all(beats);
    ASSERT_TRUE(h.run_until([&] { return scoreboard.checked() == target; }, max_cycles,
                            std::to_string(beats.size()).append(" beats through the DUT")));
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(scoreboard.pending(), 0u);
  }

  // A stalled sink freezes a pipeline of `stages` registers: in_ready_o falls
  // once every stage holds a beat (`stages` beats accepted), and the beats
  // resume in order, exact, once the sink takes them again.
  void expect_sink_stall_holds(const std::vector<In>& beats, unsigned stages) {
    const size_t target = scoreboard.checked() + beats.size();
    sink.pause(true);
    source.push_all(beats);
    h.tick(stages + 5);
    EXPECT_TRUE(h->out_valid_o);
    EXPECT_FALSE(h->in_ready_o);
    EXPECT_EQ(source.accepted(), stages);  // one beat per stage
    sink.pause(false);
    ASSERT_TRUE(h.run_until([&] { return scoreboard.checked() == target; }, 10 * beats.size() + 100,
                            "the held beats after the stall"));
    EXPECT_EQ(scoreboard.mismatched(), 0u);
  }

  // Right after a reset in mid-stream: input ready, output idle, and no stale
  // beat in the next `cycles` cycles with the sink ready (again).
  void expect_clean_after_reset(unsigned cycles) {
    EXPECT_TRUE(h->in_ready_o);
    EXPECT_FALSE(h->out_valid_o);
    sink.pause(false);
    h.tick(cycles);
    EXPECT_EQ(scoreboard.checked(), 0u) << "stale beat after reset";
  }

  Harness<Model> h;
  Source<In> source;
  Sink<Out> sink;
  Scoreboard<Out> scoreboard;
};

}  // namespace tp::tb
