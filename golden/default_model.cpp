#include "golden/default_model.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <sstream>
#include <vector>

#include "golden/sampler.h"

namespace tp {

namespace {

// Every word (with its punctuation) occurs once, so each has one successor.
constexpr std::string_view kText =
    "Tokens flow through seven engines: embedding, rotary phases, systolic arrays, flash "
    "attention, piecewise sigmoid, cordic roots, and a sampler choosing what comes next.";

std::vector<std::string> words_of_text() {
  std::vector<std::string> words;
  std::istringstream in{std::string(kText)};
  for (std::string word; in >> word;) words.push_back(" " + word);
  return words;
}

std::string byte_piece_name(int byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("<0x") + kHex[byte >> 4] + kHex[byte & 15] + ">";
}

// <unk> <s> </s>, the 256 byte pieces, every character of the text, and every
// prefix of every " word" so that BPE merges build each word left to right.
// Longer pieces score higher; merges never cross a word boundary.
Tokenizer make_tokenizer(const std::vector<std::string>& words) {
  std::vector<std::string> pieces{"<unk>", "\n<s>\n", "\n</s>\n"};
  for (int b = 0; b < 256; ++b) pieces.push_back(byte_piece_name(b));
  std::vector<float> scores(pieces.size(), 0.0f);
  std::set<std::string> seen;
  auto add = [&](const std::string& piece) {
    if (!seen.insert(piece).second) return;
    pieces.push_back(piece);
    scores.push_back(static_cast<float>(piece.size()));
  };
  for (const char c : std::set<char>(kText.begin(), kText.end())) add(std::string(1, c));
  add(" ");
  for (const auto& word : words) {
    for (std::size_t len = 2; len <= word.size(); ++len) add(word.substr(0, len));
  }
  std::size_t longest = 0;
  for (const auto& piece : pieces) longest = std::max(longest, piece.size());
  return Tokenizer(std::move(pieces), std::move(scores), static_cast<int>(longest));
}

ModelConfig default_config(int vocab_size) {
  ModelConfig c;
  c.dim = 64;
  c.hidden_dim = 176;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.vocab_size = vocab_size;
  c.seq_len = 128;
  c.shared_classifier = false;
  return c;
}

class UniformFiller {
 public:
  explicit UniformFiller(std::uint64_t seed) : state_(seed) {}
  // Uniform in [-amplitude, amplitude) (plus offset), in storage order.
  template <typename Tensor>
  void fill(Tensor& tensor, float amplitude, float offset = 0.0f) {
    for (Eigen::Index i = 0; i < tensor.size(); ++i) {
      tensor.data()[i] = offset + amplitude * (2.0f * random_f32(state_) - 1.0f);
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace

std::string_view default_model_text() { return kText; }

DefaultModel make_default_model(std::uint64_t seed) {
  const auto words = words_of_text();
  Tokenizer tokenizer = make_tokenizer(words);
  const ModelConfig c = default_config(tokenizer.vocab_size());

  auto checkpoint = std::make_shared<Checkpoint>();
  checkpoint->config = c;
  Weights& w = checkpoint->weights;
  w = allocate_weights(c);
  UniformFiller random(seed == 0 ? kDefaultModelSeed : seed);  // xorshift needs a non-zero state

  const float matrix_scale = 1.0f / std::sqrt(static_cast<float>(c.dim));
  random.fill(w.token_embedding, 1.0f);
  for (auto& layer : w.layers) {
    random.fill(layer.rms_att, 0.1f, 1.0f);
    random.fill(layer.wq, matrix_scale);
    random.fill(layer.wk, matrix_scale);
    random.fill(layer.wv, matrix_scale);
    random.fill(layer.wo, 0.1f * matrix_scale);  // small branches keep the chain intact
    random.fill(layer.rms_ffn, 0.1f, 1.0f);
    random.fill(layer.w1, matrix_scale);
    random.fill(layer.w2, 0.1f / std::sqrt(static_cast<float>(c.hidden_dim)));
    random.fill(layer.w3, matrix_scale);
  }
  random.fill(w.rms_final, 0.1f, 1.0f);
  random.fill(w.classifier, 0.05f);

  // The planted chain: BOS -> word 0 -> word 1 -> ... -> last word -> BOS.
  std::vector<int> chain{kBosToken};
  const auto ids = tokenizer.encode(kText, false, false);
  if (ids.size() != words.size()) throw std::logic_error("default model: a word did not encode to one piece");
  chain.insert(chain.end(), ids.begin(), ids.end());
  chain.push_back(kBosToken);
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    w.classifier.row(chain[i + 1]) = 0.5f * w.token_embedding.row(chain[i]);
  }
  return {std::move(checkpoint), std::move(tokenizer)};
}

}  // namespace tp
