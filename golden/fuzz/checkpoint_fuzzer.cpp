// libFuzzer target: any byte string either parses into a checkpoint that
// satisfies fuzz::checkpoint_problem's invariants or is refused with
// CheckpointError. Any other exception, a sanitizer report or a broken
// invariant is a crash.
#include <cstdio>
#include <cstdlib>

#include "golden/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const std::string problem = tp::fuzz::checkpoint_problem(tp::parse_checkpoint({data, size}));
    if (!problem.empty()) {
      std::fprintf(stderr, "checkpoint invariant broken: %s\n", problem.c_str());
      std::abort();
    }
  } catch (const tp::CheckpointError&) {
    // a refusal with a message: the expected outcome for most inputs
  }
  return 0;
}
