// tp::tb::Harness<Model>: the fixture for one verilated model (ports clk_i and
// rst_ni), on top of the cycle loop of bench.h. Owns its VerilatedContext
// (time, error count, random state), so tests never share simulator state, and
// writes an FST per test when tracing is requested (WAVES=1 or --trace).
#pragma once

#include "common/bench.h"

#include <verilated.h>
#include <verilated_fst_c.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

namespace tp::tb {

struct HarnessOptions {
  // 0: every flop and memory starts at 0 (Verilator default). Otherwise the
  // seed for random initial values (Verilator's stand-in for X): a design must
  // behave identically for every seed once reset.
  uint32_t random_init_seed = 0;
  // Non-empty: write the FST here (e.g. `tokenpipe generate --trace`),
  // whether or not a trace was requested for the test.
  std::string trace_path{};
};

// The "outputs defined after reset from a random initial state" check of
// every module test: runs check(options) once per seed, with
// options.random_init_seed = seed (also a handy seed for the test data) and a
// SCOPED_TRACE naming it. The check builds its harness from the options,
// resets it and asserts that nothing depends on the initial state.
template <class Check>
void for_each_random_init(Check check, std::initializer_list<uint32_t> seeds = {1, 2, 3, 1234567}) {
  for (uint32_t seed : seeds) {
    SCOPED_TRACE(::testing::Message() << "random init seed " << seed);
    check(HarnessOptions{.random_init_seed = seed});
  }
}

template <class Model>
class Harness : public Bench {
 public:
  explicit Harness(HarnessOptions options = {}) : context_(std::make_unique<VerilatedContext>()) {
    context_->fatalOnError(false);  // RTL assertion failures become test failures
    if (options.random_init_seed != 0) {
      context_->randReset(2);
      context_->randSeed(static_cast<int>(options.random_init_seed));
    }
    const bool trace = !options.trace_path.empty() || trace_requested();
    if (trace) context_->traceEverOn(true);
    Verilated::threadContextp(context_.get());
    dut_ = std::make_unique<Model>(context_.get(), "TOP");
    if (trace) {
      trace_ = std::make_unique<VerilatedFstC>();
      dut_->trace(trace_.get(), 99);
      const std::string path = options.trace_path.empty() ? trace_path_for_current_test() : options.trace_path;
      trace_->open(path.c_str());
    }
    if constexpr (requires { dut_->clk_i; }) dut_->clk_i = 0;
    set_reset(true);
    dut_->eval();
  }
  ~Harness() override {
    Verilated::threadContextp(context_.get());
    dut_->final();
    if (trace_) trace_->close();
  }

  Model& dut() { return *dut_; }
  Model* operator->() { return dut_.get(); }
  VerilatedContext& context() { return *context_; }

 protected:
  void set_clock(bool high) override {
    if constexpr (requires { dut_->clk_i; }) dut_->clk_i = high;
    // Falling edge at t=10k (none before cycle 0), rising edge at t=10k+5.
    if (high || context_->time() != 0) context_->timeInc(5);
  }
  void set_reset(bool active) override {
    if constexpr (requires { dut_->rst_ni; }) dut_->rst_ni = !active;
  }
  void eval_and_dump() override {
    // Verilator reports $error/$stop to the thread's context, not the model's:
    // point it at ours before every eval (several harnesses may be alive).
    Verilated::threadContextp(context_.get());
    dut_->eval();
    if (trace_) trace_->dump(context_->time());
  }
  int rtl_error_count() override { return context_->errorCount(); }

 private:
  std::unique_ptr<VerilatedContext> context_;
  std::unique_ptr<Model> dut_;
  std::unique_ptr<VerilatedFstC> trace_;
};

}  // namespace tp::tb
