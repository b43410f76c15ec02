// tp::tb Scoreboard: compares every output beat of the DUT, in the cycle it
// appears, against the value the golden model expects. Expected values come
// from a golden callback fed with every accepted input beat (connect()), or
// directly from the test (expect()).
#pragma once

#include "common/bench.h"
#include "common/stream.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tp::tb {

template <class Out>
class Scoreboard final : public Component {
 public:
  explicit Scoreboard(Bench& bench, std::string name = "out") : Component(bench), name_(std::move(name)) {}

  // Wires source -> golden -> scoreboard <- sink. `golden(const In&)` runs on
  // every beat the DUT accepts and returns the beats it must produce for it:
  // an Out (one for one), a std::optional<Out> or a std::vector<Out> (a
  // stateful golden model that emits only when a block is complete). The
  // sink is a Sink<Out> or a PairSink<Out>.
  template <class In, class Golden, template <class> class SinkOf>
  void connect(Source<In>& source, Golden golden, SinkOf<Out>& sink) {
    source.on_accept([this, golden](const In& in, uint64_t) mutable { expect_from(golden(in)); });
    sink.on_beat([this](const Out& out, uint64_t cycle) { observe(out, cycle); });
  }

  void expect(const Out& value) { expected_.push_back(value); }
  // Queues a DUT beat seen at `cycle`; it is compared in commit() of the same
  // cycle, after every source fed the golden model, whatever the attach order.
  void observe(const Out& value, uint64_t cycle) { observed_.push_back({value, cycle}); }

  size_t matched() const { return matched_; }
  size_t mismatched() const { return mismatched_; }
  size_t pending() const { return expected_.size(); }  // expected, not yet seen
  size_t checked() const { return matched_ + mismatched_; }

  void commit(uint64_t) override {
    for (const auto& [got, cycle] : observed_) compare(got, cycle);
    observed_.clear();
  }
  void reset() override {
    expected_.clear();
    observed_.clear();
    matched_ = 0;
    mismatched_ = 0;
  }

 private:
  void expect_from(const Out& v) { expect(v); }
  void expect_from(const std::optional<Out>& v) {
    if (v) expect(*v);
  }
  void expect_from(const std::vector<Out>& vs) {
    for (const auto& v : vs) expect(v);
  }

  static std::string describe(const Out& v) {
    if constexpr (std::is_integral_v<Out>) {
      std::ostringstream s;
      s << "0x" << std::hex << static_cast<uint64_t>(v) << std::dec << " (" << +v << ")";
      return s.str();
    } else {
      return ::testing::PrintToString(v);
    }
  }

  void compare(const Out& got, uint64_t cycle) {
    const size_t index = checked();
    const bool unexpected = expected_.empty();
    if (!unexpected && got == expected_.front()) {
      expected_.pop_front();
      ++matched_;
      return;
    }
    ++mismatched_;
    if (mismatched_ > kMaxReported) {
      if (mismatched_ == kMaxReported + 1) ADD_FAILURE() << name_ << ": further mismatches not reported";
    } else if (unexpected) {
      ADD_FAILURE() << name_ << " beat " << index << " at cycle " << cycle << ": unexpected beat " << describe(got)
                    << " (the golden model expects none)";
    } else {
      ADD_FAILURE() << name_ << " beat " << index << " at cycle " << cycle << ": got " << describe(got)
                    << ", expected " << describe(expected_.front());
    }
    if (!unexpected) expected_.pop_front();
  }

  static constexpr size_t kMaxReported = 10;  // mismatches reported one by one

  std::string name_;
  std::deque<Out> expected_;
  std::vector<std::pair<Out, uint64_t>> observed_;
  size_t matched_ = 0;
  size_t mismatched_ = 0;
};

}  // namespace tp::tb
