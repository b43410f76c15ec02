// libFuzzer target: the input is a uint16 vocab_size (little-endian) and the
// bytes of a tokenizer file. It either parses into a tokenizer that encodes,
// decodes and round-trips (fuzz::tokenizer_problem) or is refused with
// TokenizerError; anything else is a crash.
#include <cstdio>
#include <cstdlib>

#include "golden/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int vocab_size = data[0] | (data[1] << 8);
  try {
    const auto tok = tp::Tokenizer::parse({data + 2, size - 2}, vocab_size);
    const std::string problem = tp::fuzz::tokenizer_problem(tok);
    if (!problem.empty()) {
      std::fprintf(stderr, "tokenizer invariant broken: %s\n", problem.c_str());
      std::abort();
    }
  } catch (const tp::TokenizerError&) {
    // a refusal with a message: the expected outcome for most inputs
  }
  return 0;
}
