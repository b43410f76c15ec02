// Model-independent parts of the tp::tb harness (bench.h, stream.h, timing.h): bench cycle loop, stall
// generator, trace naming and the latency / II checks.
#include "common/bench.h"

#include "common/stream.h"
#include "common/timing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace tp::tb {

namespace {
bool g_trace_flag = false;
std::string g_trace_group;
}  // namespace

bool trace_requested() {
  if (g_trace_flag) return true;
  const char* waves = std::getenv("WAVES");
  return waves != nullptr && std::string_view(waves) == "1";
}

void request_trace(bool on) { g_trace_flag = on; }

void set_trace_group(std::string group) { g_trace_group = std::move(group); }

std::string trace_path_for_current_test() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "no_test";
  std::replace(name.begin(), name.end(), '/', '_');  // parameterised tests: Suite/Name/3
  std::filesystem::path dir = "waves";
  if (!g_trace_group.empty()) dir /= g_trace_group;
  std::filesystem::create_directories(dir);
  static std::set<std::string> used;  // several harnesses in one test
  std::string path = (dir / (name + ".fst")).string();
  for (int n = 2; !used.insert(path).second; ++n) {
    path = (dir / (name + "." + std::to_string(n) + ".fst")).string();
  }
  return path;
}

// ------------------------------------------------------------- Component ---
Component::Component(Bench& bench) : bench_(bench) { bench_.components_.push_back(this); }

Component::~Component() { std::erase(bench_.components_, this); }

// ----------------------------------------------------------------- Bench ---
void Bench::falling_edge() {
  set_clock(false);
  eval_and_dump();
}

void Bench::rising_edge() {
  set_clock(true);
  eval_and_dump();
  ++cycle_;
  const int errors = rtl_error_count();
  if (errors != reported_errors_) {
    ADD_FAILURE() << (errors - reported_errors_) << " RTL assertion(s) failed at cycle " << cycle_ - 1
                  << " (messages above)";
    reported_errors_ = errors;
  }
}

void Bench::reset(unsigned cycles) {
  for (Component* c : components_) c->reset();
  set_reset(true);
  for (unsigned i = 0; i < cycles; ++i) {
    falling_edge();
    rising_edge();
  }
  set_reset(false);
}

void Bench::tick(unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    for (Component* c : components_) c->drive(cycle_);
    falling_edge();
    for (Component* c : components_) c->sample(cycle_);
    for (Component* c : components_) c->commit(cycle_);
    rising_edge();
  }
}

bool Bench::run_until(const std::function<bool()>& done, uint64_t max_cycles, std::string_view what) {
  const uint64_t start = cycle_;
  while (!done()) {
    if (cycle_ - start >= max_cycles) {
      ADD_FAILURE() << "timeout: " << what << " did not happen within " << max_cycles
                    << " cycles (cycles " << start << ".." << cycle_ << ")";
      return false;
    }
    tick();
  }
  return true;
}

// -------------------------------------------------------- StallGenerator ---
StallGenerator::StallGenerator(double probability, uint64_t seed) : probability_(probability), rng_(seed) {}

bool StallGenerator::next() {
  if (probability_ <= 0.0) return false;
  // 53 random bits -> uniform double in [0, 1), identical on every platform.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  return u < probability_;
}

// ---------------------------------------------------------------- timing ---
::testing::AssertionResult has_latency(const std::vector<uint64_t>& in_cycles,
                                       const std::vector<uint64_t>& out_cycles, uint64_t latency) {
  if (in_cycles.size() != out_cycles.size()) {
    return ::testing::AssertionFailure() << in_cycles.size() << " input beats but " << out_cycles.size()
                                         << " output beats";
  }
  for (size_t i = 0; i < in_cycles.size(); ++i) {
    if (out_cycles[i] - in_cycles[i] != latency) {
      return ::testing::AssertionFailure()
             << "beat " << i << ": in at cycle " << in_cycles[i] << ", out at cycle " << out_cycles[i]
             << ": latency " << static_cast<int64_t>(out_cycles[i] - in_cycles[i]) << ", expected " << latency;
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult has_interval(const std::vector<uint64_t>& cycles, uint64_t interval) {
  for (size_t i = 1; i < cycles.size(); ++i) {
    if (cycles[i] - cycles[i - 1] != interval) {
      return ::testing::AssertionFailure()
             << "beats " << i - 1 << " and " << i << " at cycles " << cycles[i - 1] << " and " << cycles[i]
             << ": interval " << cycles[i] - cycles[i - 1] << ", expected " << interval;
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult has_full_rate(const std::vector<uint64_t>& in_cycles,
                                         const std::vector<uint64_t>& out_cycles, uint64_t latency) {
  if (auto r = has_interval(in_cycles, 1); !r) return r << " (input)";
  if (auto r = has_interval(out_cycles, 1); !r) return r << " (output)";
  return has_latency(in_cycles, out_cycles, latency);
}

}  // namespace tp::tb
