// tp::tb bench: the model-independent core of the testbench harness. A Bench
// owns the cycle loop; Components (stream sources, sinks, scoreboards) take
// part in every cycle. Harness<Model> (harness.h) binds it to a verilated model.
//
// Cycle model. Every clock cycle k (0-based count of rising edges) runs:
//   1. drive(k)   components set the DUT inputs for edge k (clock low, t=10k)
//   2. eval       combinational outputs settle
//   3. sample(k)  components observe what moves at edge k (valid && ready)
//   4. commit(k)  scoreboards compare what was sampled (order-independent)
//   5. edge k     clock rises at t=10k+5, flops update
// So "beat accepted at cycle k" means it moved on rising edge k, and a unit of
// latency L presents the result of an input accepted at edge k so that it can
// move at edge k+L. Waveform time is 10 units per cycle.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tp::tb {

// Trace requests (set by tb_main from `--trace`, or env WAVES=1).
bool trace_requested();
void request_trace(bool on);
// Where the FST of the running GoogleTest test goes:
// waves/<group>/<Suite>.<Test>.fst relative to the working directory, where
// <group> is the test binary's name without "_test" (the RTL module). The
// directory is created; a second harness in the same test gets ".2", ".3"...
std::string trace_path_for_current_test();
// Group (subdirectory) used by trace_path_for_current_test().
void set_trace_group(std::string group);

class Bench;

// Something that takes part in every cycle. Attaches itself to the bench on
// construction and detaches on destruction; must not outlive the bench.
class Component {
 public:
  explicit Component(Bench& bench);
  virtual ~Component();
  Component(const Component&) = delete;
  Component& operator=(const Component&) = delete;

  virtual void drive(uint64_t /*cycle*/) {}   // set DUT inputs for this edge
  virtual void sample(uint64_t /*cycle*/) {}  // see handshakes at this edge
  virtual void commit(uint64_t /*cycle*/) {}  // after every component sampled
  virtual void reset() {}                     // Bench::reset(): drop all in-flight state, go idle

 protected:
  Bench& bench_;
};

// The model-independent part of the harness: cycle counter, components,
// reset sequencing, timeouts, RTL assertion reporting.
class Bench {
 public:
  virtual ~Bench() = default;

  // Holds rst_ni low for `cycles` edges (components reset and idle, not
  // driven), then releases it. The DUT is in reset from construction until
  // the first reset() returns.
  void reset(unsigned cycles = 4);
  // Runs n full clock cycles.
  void tick(unsigned n = 1);
  // Ticks until done() is true (checked before every cycle). On timeout adds a
  // GoogleTest failure naming `what` and returns false: ASSERT_TRUE(run_until(..)).
  bool run_until(const std::function<bool()>& done, uint64_t max_cycles, std::string_view what);
  // Rising edges so far (reset cycles included).
  uint64_t cycle() const { return cycle_; }

 protected:
  virtual void set_clock(bool high) = 0;
  virtual void set_reset(bool active) = 0;
  virtual void eval_and_dump() = 0;   // eval, then trace at the current time
  virtual int rtl_error_count() = 0;  // $error/assertion failures so far

 private:
  friend class Component;
  void falling_edge();  // clock low, eval, trace
  void rising_edge();   // clock high, eval, trace, count the cycle, report RTL errors
  std::vector<Component*> components_;
  uint64_t cycle_ = 0;
  int reported_errors_ = 0;
};

}  // namespace tp::tb
