// llama2.c tokenizer: the `.bin` vocabulary file, BPE encoding by best-scoring
// merges, and decoding with byte-fallback pieces, identical to run.c.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tp {

class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kUnkToken = 0;
inline constexpr int kBosToken = 1;
inline constexpr int kEosToken = 2;
inline constexpr int kFirstBytePiece = 3;  // pieces 3..258 are <0x00>..<0xFF>

class Tokenizer {
 public:
  static constexpr int kMaxTokenLength = 1 << 16;

  // Pieces are C strings as in run.c: anything after a NUL byte is not part of them.
  Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, int max_token_length);

  // A tokenizer file must hold exactly `vocab_size` pieces (the model's vocabulary).
  static Tokenizer parse(std::span<const std::uint8_t> bytes, int vocab_size);
  static Tokenizer read(const std::string& path, int vocab_size);
  std::vector<std::uint8_t> serialize() const;

  int vocab_size() const { return static_cast<int>(pieces_.size()); }
  int max_token_length() const { return max_token_length_; }
  const std::string& piece(int id) const { return pieces_.at(id); }
  float score(int id) const { return scores_.at(id); }

  // run.c encode(): optional BOS, a dummy-prefix space for non-empty text, one
  // piece per UTF-8 code point (bytes as <0xNN> when absent), then repeated
  // merges of the best-scoring adjacent pair. Where the vocabulary holds a
  // string twice, lookups use its lowest id.
  std::vector<int> encode(std::string_view text, bool bos, bool eos) const;

  // run.c decode(): the text of `token` following `prev_token` (a leading space
  // is dropped after BOS, <0xNN> pieces become that byte).
  std::string_view decode(int prev_token, int token) const;

  // run.c safe_printf(): a lone unprintable, non-space byte prints as nothing.
  static std::string_view printable(std::string_view piece);

 private:
  int lookup(std::string_view text) const;  // -1 when absent

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  int max_token_length_ = 0;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace tp
