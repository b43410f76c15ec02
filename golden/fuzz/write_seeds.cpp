// Writes seed corpora for the fuzz targets into DIR/checkpoint and
// DIR/tokenizer: the tiny models of fuzz_support in all three checkpoint
// formats, and the default model's and a few tiny tokenizers (each prefixed
// with its vocab_size as tokenizer_fuzzer expects).
#include <cstdio>
#include <filesystem>

#include "golden/default_model.h"
#include "golden/fuzz/fuzz_support.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir / "checkpoint");
  fs::create_directories(dir / "tokenizer");

  const auto checkpoints = tp::fuzz::small_checkpoint_files();
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    tp::write_file((dir / "checkpoint" / ("small_" + std::to_string(i) + ".bin")).string(), checkpoints[i]);
  }
  const tp::Tokenizer tokenizers[] = {tp::make_default_model().tokenizer,
                                      tp::fuzz::tiny_tokenizer({" ", "a", "b", "ab"}, {0, 0, 0, 1}),
                                      tp::Tokenizer({" "}, {0.0f}, 1)};
  int n = 0;
  for (const auto& tok : tokenizers) {
    const auto vocab = static_cast<std::uint16_t>(tok.vocab_size());
    tp::fuzz::Bytes bytes{static_cast<std::uint8_t>(vocab & 0xFF), static_cast<std::uint8_t>(vocab >> 8)};
    const auto file = tok.serialize();
    bytes.insert(bytes.end(), file.begin(), file.end());
    tp::write_file((dir / "tokenizer" / ("tok_" + std::to_string(n++) + ".bin")).string(), bytes);
  }
  std::printf("wrote %zu checkpoint and %d tokenizer seeds under %s\n", checkpoints.size(), n, argv[1]);
  return 0;
}
