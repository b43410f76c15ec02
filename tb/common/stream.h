// tp::tb valid/ready stream components: a random stall generator, a Source
// that drives beats into a DUT input stream and a Sink that takes beats from a
// DUT output stream. Both record the cycle of every beat that moves, for
// latency and initiation-interval checks (timing.h). The test maps beats to
// ports with lambdas, so one template serves every stream of every module.
#pragma once

#include "common/bench.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <utility>
#include <vector>

namespace tp::tb {

// Decides, cycle by cycle, whether a source inserts a bubble or a sink
// withholds ready. Deterministic for a given (probability, seed) on every
// platform (mt19937_64 is fully specified; no std distributions).
class StallGenerator {
 public:
  StallGenerator() = default;  // never stalls
  StallGenerator(double probability, uint64_t seed);
  static StallGenerator never() { return {}; }

  bool next();  // true: stall this cycle
  double probability() const { return probability_; }

 private:
  double probability_ = 0.0;
  std::mt19937_64 rng_;
};

// Drives a queue of beats into a valid/ready input of the DUT. A beat, once
// presented, stays presented (valid high, data unchanged) until accepted; the
// stall generator only inserts bubbles between beats.
template <class T>
class Source final : public Component {
 public:
  using Put = std::function<void(bool valid, const T& beat)>;  // write valid + data ports
  using Ready = std::function<bool()>;                         // read the ready port
  using OnAccept = std::function<void(const T& beat, uint64_t cycle)>;

  Source(Bench& bench, Put put, Ready ready, StallGenerator stall = {})
      : Component(bench), put_(std::move(put)), ready_(std::move(ready)), stall_(std::move(stall)) {
    put_(false, T{});
  }

  void push(const T& beat) { queue_.push_back(beat); }
  template <class Range>
  void push_all(const Range& beats) {
    for (const auto& b : beats) push(b);
  }
  // Called for every accepted beat (e.g. to feed the golden model).
  void on_accept(OnAccept f) { on_accept_ = std::move(f); }

  // While paused no new beat is presented (a beat already presented stays).
  void pause(bool on) { paused_ = on; }

  bool done() const { return queue_.empty() && !presenting_; }
  size_t accepted() const { return accept_cycles_.size(); }
  const std::vector<uint64_t>& accept_cycles() const { return accept_cycles_; }

  void drive(uint64_t) override {
    if (!presenting_ && !paused_ && !queue_.empty() && !stall_.next()) {
      current_ = queue_.front();
      queue_.pop_front();
      presenting_ = true;
    }
    put_(presenting_, presenting_ ? current_ : T{});
  }
  void sample(uint64_t cycle) override {
    if (!presenting_ || !ready_()) return;
    accept_cycles_.push_back(cycle);
    presenting_ = false;
    if (on_accept_) on_accept_(current_, cycle);
  }
  void reset() override {
    queue_.clear();
    accept_cycles_.clear();
    presenting_ = false;
    put_(false, T{});
  }

 private:
  Put put_;
  Ready ready_;
  StallGenerator stall_;
  OnAccept on_accept_;
  std::deque<T> queue_;
  T current_{};
  bool presenting_ = false;
  bool paused_ = false;
  std::vector<uint64_t> accept_cycles_;
};

// Takes beats from a valid/ready output of the DUT; ready is withheld on the
// cycles the stall generator picks.
template <class T>
class Sink final : public Component {
 public:
  using SetReady = std::function<void(bool ready)>;  // write the ready port
  using Valid = std::function<bool()>;               // read the valid port
  using Data = std::function<T()>;                   // read the data port(s)
  using OnBeat = std::function<void(const T& beat, uint64_t cycle)>;

  Sink(Bench& bench, SetReady set_ready, Valid valid, Data data, StallGenerator stall = {})
      : Component(bench),
        set_ready_(std::move(set_ready)),
        valid_(std::move(valid)),
        data_(std::move(data)),
        stall_(std::move(stall)) {
    set_ready_(false);
  }

  // Called for every beat received (a Scoreboard connects here).
  void on_beat(OnBeat f) { on_beat_ = std::move(f); }

  // While paused ready stays low (e.g. to fill up the DUT).
  void pause(bool on) { paused_ = on; }

  size_t received() const { return beats_.size(); }
  const std::vector<T>& beats() const { return beats_; }
  const std::vector<uint64_t>& beat_cycles() const { return beat_cycles_; }

  void drive(uint64_t) override {
    ready_ = !paused_ && !stall_.next();
    set_ready_(ready_);
  }
  void sample(uint64_t cycle) override {
    if (!ready_ || !valid_()) return;
    beats_.push_back(data_());
    beat_cycles_.push_back(cycle);
    if (on_beat_) on_beat_(beats_.back(), cycle);
  }
  void reset() override {
    beats_.clear();
    beat_cycles_.clear();
    ready_ = false;
    set_ready_(false);
  }

 private:
  SetReady set_ready_;
  Valid valid_;
  Data data_;
  StallGenerator stall_;
  OnBeat on_beat_;
  bool ready_ = false;
  bool paused_ = false;
  std::vector<T> beats_;
  std::vector<uint64_t> beat_cycles_;
};

// Takes up to two beats per cycle from a two-lane output of the DUT (e.g.
// tp_weight_port with OutBeats 2): lane 0 holds the stream's next beat, lane
// 1 the beat after it, which moves only together with lane 0 (valid and ready
// of both lanes). Each cycle the sink asks for no beat (`stall` picks the
// cycle), one (`single`) or two. Records every beat and its cycle in stream
// order, like Sink (two beats of one cycle share the cycle).
template <class T>
class PairSink final : public Component {
 public:
  using SetReady = std::function<void(bool ready0, bool ready1)>;  // write the ready ports
  using Valid = std::function<bool(unsigned lane)>;                // read a lane's valid
  using Data = std::function<T(unsigned lane)>;                    // read a lane's data
  using OnBeat = std::function<void(const T& beat, uint64_t cycle)>;

  PairSink(Bench& bench, SetReady set_ready, Valid valid, Data data, StallGenerator stall = {},
           StallGenerator single = {})
      : Component(bench),
        set_ready_(std::move(set_ready)),
        valid_(std::move(valid)),
        data_(std::move(data)),
        stall_(std::move(stall)),
        single_(std::move(single)) {
    set_ready_(false, false);
  }

  void on_beat(OnBeat f) { on_beat_ = std::move(f); }
  void pause(bool on) { paused_ = on; }

  size_t received() const { return beats_.size(); }
  size_t pairs() const { return pairs_; }  // cycles that took two beats
  const std::vector<T>& beats() const { return beats_; }
  const std::vector<uint64_t>& beat_cycles() const { return beat_cycles_; }

  void drive(uint64_t) override {
    ready0_ = !paused_ && !stall_.next();
    ready1_ = !single_.next() && ready0_;
    set_ready_(ready0_, ready1_);
  }
  void sample(uint64_t cycle) override {
    if (!ready0_ || !valid_(0)) return;
    take(data_(0), cycle);
    if (!ready1_ || !valid_(1)) return;
    take(data_(1), cycle);
    ++pairs_;
  }
  void reset() override {
    beats_.clear();
    beat_cycles_.clear();
    pairs_ = 0;
    ready0_ = ready1_ = false;
    set_ready_(false, false);
  }

 private:
  void take(const T& beat, uint64_t cycle) {
    beats_.push_back(beat);
    beat_cycles_.push_back(cycle);
    if (on_beat_) on_beat_(beat, cycle);
  }

  SetReady set_ready_;
  Valid valid_;
  Data data_;
  StallGenerator stall_, single_;
  OnBeat on_beat_;
  bool ready0_ = false, ready1_ = false, paused_ = false;
  size_t pairs_ = 0;
  std::vector<T> beats_;
  std::vector<uint64_t> beat_cycles_;
};

}  // namespace tp::tb
