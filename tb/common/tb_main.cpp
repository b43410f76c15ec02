// main() of every RTL testbench binary. Same as gtest_main, plus:
//   --trace     write an FST per test (same as env WAVES=1), see harness.h;
// and it names the trace subdirectory after the binary (<module>_test ->
// waves/<module>/). GoogleTest removes its own flags from argv first, so any
// argument left over that is not ours is an error.
#include "common/bench.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--trace") {
      tp::tb::request_trace(true);
    } else {
      std::fprintf(stderr, "unknown argument: %s (testbench options: --trace, or env WAVES=1)\n", argv[i]);
      return 2;
    }
  }
  std::string group = std::filesystem::path(argv[0]).filename().string();
  constexpr std::string_view kSuffix = "_test";
  if (group.ends_with(kSuffix)) group.resize(group.size() - kSuffix.size());
  tp::tb::set_trace_group(group);
  return RUN_ALL_TESTS();
}
