#include "golden/tokenizer.h"

#include <cctype>
#include <cstring>

#include "golden/byte_io.h"
#include "golden/checkpoint.h"

namespace tp {

namespace {

// <0x00>..<0xFF> decode to these one-byte strings.
const std::string& byte_piece(unsigned value) {
  static const auto table = [] {
    std::vector<std::string> bytes;
    for (unsigned b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
    return bytes;
  }();
  return table[value];
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// run.c parses pieces with sscanf("<0x%02hhX>"): "<0x" and one or two hex digits.
int parse_byte_piece(std::string_view piece) {
  if (piece.size() < 4 || piece.substr(0, 3) != "<0x") return -1;
  int value = hex_digit(piece[3]);
  if (value < 0) return -1;
  if (piece.size() > 4 && hex_digit(piece[4]) >= 0) value = value * 16 + hex_digit(piece[4]);
  return value;
}

std::string c_string(std::string text) {
  text.resize(std::strlen(text.c_str()));
  return text;
}

}  // namespace

Tokenizer::Tokenizer(std::vector<std::string> pieces, std::vector<float> scores,
                     int max_token_length)
    : scores_(std::move(scores)), max_token_length_(max_token_length) {
  if (pieces.size() != scores_.size()) throw TokenizerError("pieces and scores differ in count");
  pieces_.reserve(pieces.size());
  for (auto& piece : pieces) {
    pieces_.push_back(c_string(std::move(piece)));
    ids_.emplace(pieces_.back(), static_cast<int>(pieces_.size()) - 1);  // keeps the first id
  }
}

Tokenizer Tokenizer::parse(std::span<const std::uint8_t> bytes, int vocab_size) {
  if (vocab_size < 1) throw TokenizerError("vocab_size must be positive");
  ByteReader<TokenizerError> in(bytes);
  const auto max_len = in.read<std::int32_t>("max_token_length");
  if (max_len < 1 || max_len > kMaxTokenLength) {
    throw TokenizerError("max_token_length = " + std::to_string(max_len) + " is outside [1, " +
                         std::to_string(kMaxTokenLength) + "]");
  }
  std::vector<std::string> pieces(vocab_size);
  std::vector<float> scores(vocab_size);
  for (int i = 0; i < vocab_size; ++i) {
    const std::string id = "piece " + std::to_string(i);
    scores[i] = in.read<float>((id + " score").c_str());
    const auto len = in.read<std::int32_t>((id + " length").c_str());
    if (len < 0 || len > max_len) {
      throw TokenizerError(id + " has length " + std::to_string(len) + ", outside [0, " +
                           std::to_string(max_len) + "]");
    }
    pieces[i].resize(len);
    in.read_into(pieces[i].data(), len, (id + " bytes").c_str());
  }
  if (in.remaining() != 0) {
    throw TokenizerError("trailing bytes: the file holds more than the model's " +
                         std::to_string(vocab_size) + " pieces (wrong tokenizer for this model?)");
  }
  return Tokenizer(std::move(pieces), std::move(scores), max_len);
}

Tokenizer Tokenizer::read(const std::string& path, int vocab_size) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_file(path);  // its errors already name the path
  } catch (const CheckpointError& e) {
    throw TokenizerError(e.what());
  }
  try {
    return parse(bytes, vocab_size);
  } catch (const TokenizerError& e) {
    throw TokenizerError(path + ": " + e.what());
  }
}

std::vector<std::uint8_t> Tokenizer::serialize() const {
  std::vector<std::uint8_t> out;
  append_value(out, std::int32_t{max_token_length_});
  for (int i = 0; i < vocab_size(); ++i) {
    append_value(out, scores_[i]);
    append_value(out, static_cast<std::int32_t>(pieces_[i].size()));
    append_bytes(out, pieces_[i].data(), pieces_[i].size());
  }
  return out;
}

int Tokenizer::lookup(std::string_view text) const {
  const auto it = ids_.find(std::string(text));
  return it == ids_.end() ? -1 : it->second;
}

std::vector<int> Tokenizer::encode(std::string_view text, bool bos, bool eos) const {
  // A vocabulary may be too small to hold the special ids (the merges below index pieces by id).
  if ((bos && kBosToken >= vocab_size()) || (eos && kEosToken >= vocab_size())) {
    throw TokenizerError("a vocabulary of " + std::to_string(vocab_size()) +
                         " pieces has no BOS (1) or EOS (2) piece");
  }
  std::vector<int> tokens;
  if (bos) tokens.push_back(kBosToken);
  if (!text.empty()) {
    const int dummy_prefix = lookup(" ");
    if (dummy_prefix < 0) throw TokenizerError("the vocabulary has no \" \" piece for the dummy prefix");
    tokens.push_back(dummy_prefix);
  }

  // One code point at a time; a UTF-8 continuation byte starts with bits 10.
  auto is_continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  std::string code_point;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!is_continuation(text[i])) code_point.clear();
    code_point += text[i];
    const bool more = i + 1 < text.size() && is_continuation(text[i + 1]);
    if (more && code_point.size() < 4) continue;

    const int id = lookup(code_point);
    if (id >= 0) {
      tokens.push_back(id);
    } else {
      for (const char byte : code_point) {
        const int byte_id = static_cast<unsigned char>(byte) + kFirstBytePiece;
        if (byte_id >= vocab_size()) {
          throw TokenizerError("byte fallback needs piece " + std::to_string(byte_id) +
                               " but the vocabulary has " + std::to_string(vocab_size()));
        }
        tokens.push_back(byte_id);
      }
    }
    code_point.clear();  // a run of stray continuation bytes starts afresh
  }

  // Merge the best-scoring adjacent pair until no pair is a piece.
  for (;;) {
    float best_score = -1e10f;
    int best_id = -1;
    std::size_t best_index = 0;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
      const int id = lookup(pieces_[tokens[i]] + pieces_[tokens[i + 1]]);
      if (id >= 0 && scores_[id] > best_score) {
        best_score = scores_[id];
        best_id = id;
        best_index = i;
      }
    }
    if (best_id < 0) break;
    tokens[best_index] = best_id;
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best_index) + 1);
  }

  if (eos) tokens.push_back(kEosToken);
  return tokens;
}

std::string_view Tokenizer::decode(int prev_token, int token) const {
  std::string_view piece = pieces_.at(token);
  // After BOS, sentencepiece strips the leading space of the first piece.
  if (prev_token == kBosToken && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
  const int byte = parse_byte_piece(piece);
  if (byte >= 0) return byte_piece(byte);
  return piece;
}

std::string_view Tokenizer::printable(std::string_view piece) {
  if (piece.size() == 1) {
    const auto byte = static_cast<unsigned char>(piece[0]);
    if (!(std::isprint(byte) || std::isspace(byte))) return {};
  }
  return piece;
}

}  // namespace tp
