#include "golden/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "golden/default_model.h"
#include "golden/fuzz/fuzz_support.h"
#include "golden/tests/real_models.h"

namespace tp {
namespace {

using fuzz::Bytes;
using fuzz::tiny_tokenizer;

// The text of `ids` as generation prints it: each piece decoded after its predecessor.
std::string decode_all(const Tokenizer& tok, const std::vector<int>& ids) {
  std::string text;
  for (std::size_t i = 1; i < ids.size(); ++i) text += tok.decode(ids[i - 1], ids[i]);
  return text;
}

// The ids of `pieces` (each looked up by its exact text).
std::vector<int> ids_of(const Tokenizer& tok, const std::vector<std::string>& pieces) {
  std::vector<int> ids;
  for (const auto& piece : pieces) {
    int id = 0;
    while (id < tok.vocab_size() && tok.piece(id) != piece) ++id;
    ids.push_back(id);
  }
  return ids;
}

// ---------------------------------------------------------------------------
// The real aidreams tokenizer.

class RealTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    TP_REQUIRE_MODEL_FILE("aidreams_tok512.bin");
    loaded_.emplace(Tokenizer::read(testing::model_path("aidreams_tok512.bin"), 512));
  }
  const Tokenizer& tok() const { return *loaded_; }

 private:
  std::optional<Tokenizer> loaded_;
};

TEST_F(RealTokenizer, HoldsTheSpecialAndBytePieces) {
  EXPECT_EQ(tok().vocab_size(), 512);
  EXPECT_EQ(tok().piece(kUnkToken), "<unk>");
  EXPECT_EQ(tok().piece(kBosToken), "\n<s>\n");
  EXPECT_EQ(tok().piece(kEosToken), "\n</s>\n");
  EXPECT_EQ(tok().piece(kFirstBytePiece), "<0x00>");
  EXPECT_EQ(tok().piece(kFirstBytePiece + 0xFF), "<0xFF>");
}

TEST_F(RealTokenizer, EncodesThePromptAsTheReferenceGenerationDid) {
  const auto ids = tok().encode("I dream of", true, false);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[0], kBosToken);
  std::string pieces;
  for (std::size_t i = 1; i < ids.size(); ++i) pieces += tok().piece(ids[i]);
  EXPECT_EQ(pieces, " I dream of");               // with the dummy-prefix space
  EXPECT_EQ(decode_all(tok(), ids), "I dream of");  // decode drops it after BOS

  // The reference lists every token after BOS, the prompt first.
  const auto reference = testing::read_reference_ids(
      testing::model_path("reference/aidreams_greedy_idream.ids"));
  ASSERT_GE(reference.size(), ids.size() - 1);
  EXPECT_TRUE(std::equal(ids.begin() + 1, ids.end(), reference.begin()));
}

TEST_F(RealTokenizer, FallsBackToBytesForCharactersOutsideTheVocabulary) {
  const std::string text = "I dream of caf\xC3\xA9 \xF0\x9F\x99\x82";  // "café 🙂"
  const auto ids = tok().encode(text, true, false);
  EXPECT_EQ(decode_all(tok(), ids), text);
  const auto emoji = tok().encode("\xF0\x9F\x99\x82", false, false);
  EXPECT_EQ(emoji, (std::vector<int>{ids_of(tok(), {" "})[0], 0xF0 + 3, 0x9F + 3, 0x99 + 3, 0x82 + 3}));
}

// ---------------------------------------------------------------------------
// Encoding and decoding rules, on the default model's vocabulary (byte pieces
// at 3..258) and on hand-built ones.

TEST(Tokenizer, ByteFallbackPiecesAreTheBytePlus3AndDecodeToTheRawBytes) {
  const Tokenizer tok = make_default_model().tokenizer;
  const std::string e_acute = "\xC3\xA9";
  const auto ids = tok.encode(e_acute, false, false);
  EXPECT_EQ(ids, (std::vector<int>{ids_of(tok, {" "})[0], 0xC3 + 3, 0xA9 + 3}));
  EXPECT_EQ(tok.piece(0xC3 + 3), "<0xC3>");
  EXPECT_EQ(tok.decode(0, 0xC3 + 3), "\xC3");
  EXPECT_EQ(tok.decode(0, 0xA9 + 3), "\xA9");

  const std::string mixed = "Tokens \xC3\xA9 flow \xF0\x9F\x99\x82 next.";
  EXPECT_EQ(decode_all(tok, tok.encode(mixed, true, false)), mixed);
}

TEST(Tokenizer, PrintableDropsLoneUnprintableBytesAndKeepsWhitespace) {
  for (const std::string_view dropped : {"\x01", "\x1b", "\x7f", "\x80", "\xff"}) {
    EXPECT_EQ(Tokenizer::printable(dropped), "") << int(static_cast<unsigned char>(dropped[0]));
  }
  for (const std::string_view kept : {" ", "\n", "\t", "\r", "a", "~", "\xC3\xA9", "\x01\x02", ""}) {
    EXPECT_EQ(Tokenizer::printable(kept), kept);
  }
}

TEST(Tokenizer, DecodeStripsTheLeadingSpaceAfterBosOnly) {
  const Tokenizer tok = tiny_tokenizer({" ", "a", " a", "<0x20>"}, {0, 0, 1, 0});
  const int space_a = ids_of(tok, {" a"})[0];
  EXPECT_EQ(tok.decode(kBosToken, space_a), "a");
  EXPECT_EQ(tok.decode(kUnkToken, space_a), " a");
  EXPECT_EQ(tok.decode(kEosToken, space_a), " a");
  EXPECT_EQ(tok.decode(space_a, space_a), " a");
  EXPECT_EQ(tok.decode(kBosToken, ids_of(tok, {" "})[0]), "");
  // A byte piece is decoded after the check: <0x20> stays a space after BOS (as in run.c).
  EXPECT_EQ(tok.decode(kBosToken, ids_of(tok, {"<0x20>"})[0]), " ");
}

TEST(Tokenizer, EmptyTextIsJustTheRequestedSpecialTokens) {
  const Tokenizer tok = tiny_tokenizer({" ", "a"}, {0, 0});
  EXPECT_EQ(tok.encode("", true, false), std::vector<int>{kBosToken});
  EXPECT_EQ(tok.encode("", true, true), (std::vector<int>{kBosToken, kEosToken}));
  EXPECT_EQ(tok.encode("", false, false), std::vector<int>{});
  EXPECT_EQ(tok.encode("a", false, true), (std::vector<int>{3, 4, kEosToken}));
}

// Encodes `text` with a vocabulary of " ", a, b, c and the given scored merges;
// returns the resulting pieces after the dummy prefix.
std::vector<std::string> merged(const std::string& text,
                                const std::vector<std::pair<std::string, float>>& merges) {
  std::vector<std::string> pieces{" ", "a", "b", "c"};
  std::vector<float> scores(pieces.size(), 0.0f);
  for (const auto& [piece, score] : merges) {
    pieces.push_back(piece);
    scores.push_back(score);
  }
  const Tokenizer tok = tiny_tokenizer(pieces, scores);
  std::vector<std::string> out;
  for (const int id : tok.encode(text, false, false)) out.push_back(tok.piece(id));
  return out;
}

using Pieces = std::vector<std::string>;

TEST(TokenizerMerges, TheBestScoringPairMergesFirstNotTheLeftmost) {
  EXPECT_EQ(merged("abc", {{"ab", 1}, {"bc", 5}}), (Pieces{" ", "a", "bc"}));
  EXPECT_EQ(merged("abc", {{"ab", 5}, {"bc", 1}}), (Pieces{" ", "ab", "c"}));
  // The better pair wins even when merging left to right would have reached a better piece.
  EXPECT_EQ(merged("abc", {{"ab", 1}, {"bc", 2}, {" ab", 9}}), (Pieces{" ", "a", "bc"}));
}

TEST(TokenizerMerges, TiesKeepTheLeftmostPair) {
  EXPECT_EQ(merged("abc", {{"ab", 3}, {"bc", 3}}), (Pieces{" ", "ab", "c"}));
  EXPECT_EQ(merged("cabc", {{"ab", 3}, {"bc", 3}, {"ca", 3}}), (Pieces{" ", "ca", "bc"}));
}

TEST(TokenizerMerges, RepeatUntilNoAdjacentPairIsAPiece) {
  EXPECT_EQ(merged("ab", {{" a", 2}, {"ab", 1}, {" ab", 3}}), (Pieces{" ab"}));
  EXPECT_EQ(merged("abab", {{"ab", 1}, {"abab", 2}}), (Pieces{" ", "abab"}));
  EXPECT_EQ(merged("cba", {{"ab", 1}}), (Pieces{" ", "c", "b", "a"}));
}

TEST(Tokenizer, RefusesSpecialTokensItsVocabularyDoesNotHold) {
  const Tokenizer one = Tokenizer::parse(Tokenizer({" "}, {0.0f}, 1).serialize(), 1);
  EXPECT_EQ(one.encode("  ", false, false), (std::vector<int>{0, 0, 0}));
  EXPECT_THROW(one.encode("  ", true, false), TokenizerError);  // used to read past the pieces
  EXPECT_THROW(one.encode("", false, true), TokenizerError);
  EXPECT_THROW(tiny_tokenizer({"a"}, {0}).encode("a", false, false), TokenizerError);  // no " "
  EXPECT_THROW(tiny_tokenizer({" "}, {0}).encode("a", false, false), TokenizerError);  // no <0x61>
}

// ---------------------------------------------------------------------------
// Malformed tokenizer files: each refused with a TokenizerError naming the problem.

// Seven pieces: <unk>, <s>, </s>, " ", "a", "b", "ab"; max_token_length 6.
const Tokenizer& small_tokenizer() {
  static const Tokenizer tok = tiny_tokenizer({" ", "a", "b", "ab"}, {0, 0, 0, 1});
  return tok;
}

// Where piece `i` starts in the serialized small tokenizer (its score).
std::size_t piece_offset(int i) {
  std::size_t at = 4;
  for (int j = 0; j < i; ++j) at += 8 + small_tokenizer().piece(j).size();
  return at;
}

Bytes small_file() { return small_tokenizer().serialize(); }

Bytes with_i32(Bytes bytes, std::size_t at, std::int32_t value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
  return bytes;
}

Bytes cut(std::size_t size) {
  Bytes bytes = small_file();
  bytes.resize(size);
  return bytes;
}

fuzz::BadInput bad(std::string name, Bytes bytes, std::string expected, int vocab_size = 7) {
  return {std::move(name), [bytes = std::move(bytes), vocab_size] { Tokenizer::parse(bytes, vocab_size); },
          std::move(expected)};
}

std::vector<fuzz::BadInput> malformed_tokenizers() {
  const std::size_t size = small_file().size();
  return {
      bad("Empty", {}, "truncated: max_token_length needs 4 bytes"),
      bad("MaxTokenLengthZero", with_i32(small_file(), 0, 0), "max_token_length = 0 is outside [1, 65536]"),
      bad("MaxTokenLengthNegative", with_i32(small_file(), 0, -6), "max_token_length = -6 is outside"),
      bad("MaxTokenLengthHuge", with_i32(small_file(), 0, INT32_MAX), "max_token_length = 2147483647 is outside"),
      bad("PieceLongerThanMaxTokenLength", with_i32(small_file(), 0, 2), "piece 0 has length 5, outside [0, 2]"),
      bad("NegativePieceLength", with_i32(small_file(), piece_offset(3) + 4, -1), "piece 3 has length -1"),
      bad("HugePieceLength", with_i32(small_file(), piece_offset(3) + 4, INT32_MAX),
          "piece 3 has length 2147483647, outside [0, 6]"),
      bad("PieceLengthBeyondTheFile", with_i32(small_file(), piece_offset(6) + 4, 6),
          "truncated: piece 6 bytes needs 6 bytes"),
      bad("CutInsideAPiece", cut(piece_offset(1) + 8 + 2), "truncated: piece 1 bytes"),
      bad("CutInsideAScore", cut(piece_offset(5) + 2), "truncated: piece 5 score"),
      bad("CutInsideALength", cut(piece_offset(5) + 6), "truncated: piece 5 length"),
      bad("LastByteMissing", cut(size - 1), "truncated: piece 6 bytes"),
      bad("TrailingByte", cut(size + 1), "trailing bytes"),
      bad("MorePiecesThanVocab", small_file(), "trailing bytes: the file holds more than the model's 6 pieces", 6),
      bad("FewerPiecesThanVocab", small_file(), "truncated: piece 7 score", 8),
      bad("VocabSizeZero", small_file(), "vocab_size must be positive", 0),
      {"NonexistentPath", [] { Tokenizer::read(testing::model_path("no_such_tokenizer.bin"), 512); }, "no such file"},
      {"DirectoryPath", [] { Tokenizer::read(std::filesystem::temp_directory_path().string(), 512); }, "not a regular file"},
  };
}

class MalformedTokenizer : public ::testing::TestWithParam<fuzz::BadInput> {};

TEST_P(MalformedTokenizer, IsRefusedWithAClearMessage) {
  const std::string message = fuzz::message_of<TokenizerError>(GetParam().load);
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << "message: " << message;
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedTokenizer, ::testing::ValuesIn(malformed_tokenizers()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// Seeded mutation fuzzing.

TEST(TokenizerFuzz, MutatedFilesParseAndWorkOrThrowTokenizerError) {
  const std::vector<Tokenizer> tokenizers{make_default_model().tokenizer, small_tokenizer(),
                                          Tokenizer({" "}, {0.0f}, 1), Tokenizer({"<unk>", " "}, {0.0f, 0.0f}, 5)};
  std::vector<Bytes> seeds;
  for (const auto& tok : tokenizers) seeds.push_back(tok.serialize());
  const auto report = fuzz::mutation_fuzz<TokenizerError>(
      seeds, 20000, 0x70C3, [&](const Bytes& bytes, std::size_t which) {
        return fuzz::tokenizer_problem(Tokenizer::parse(bytes, tokenizers[which].vocab_size()));
      });
  EXPECT_EQ(fuzz::verdict(report, 1000, 10.0), "");
  RecordProperty("parsed", report.parsed);
  RecordProperty("refused", report.refused);
}

}  // namespace
}  // namespace tp
