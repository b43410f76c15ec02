// Robustness checks of the checkpoint and tokenizer loaders, shared by the
// seeded mutation loops of golden/tests and the libFuzzer targets beside this
// file: small valid inputs to mutate, a deterministic mutator, and the
// invariants a successfully parsed input must satisfy. Free of GoogleTest, so
// that the fuzz targets need nothing but the golden library.
#pragma once

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "golden/checkpoint.h"
#include "golden/tokenizer.h"

namespace tp::fuzz {

using Bytes = std::vector<std::uint8_t>;

// SplitMix64: the same stream on every compiler (std:: distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); 0 when n is 0.
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  // Uniform in [-1, 1).
  float symmetric() { return static_cast<float>(next() >> 40) / static_cast<float>(1 << 23) - 1.0f; }

 private:
  std::uint64_t state_;
};

// Every tensor of a model in one fixed order (the classifier last), as flat spans.
template <typename W>  // Weights or const Weights
auto tensors_of(W& w) {
  std::vector<std::span<std::remove_pointer_t<decltype(w.rms_final.data())>>> out;
  auto add = [&out](auto& tensor) { out.emplace_back(tensor.data(), static_cast<std::size_t>(tensor.size())); };
  add(w.token_embedding);
  for (auto& l : w.layers) {
    for (auto* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3}) add(*t);
    add(l.rms_att);
    add(l.rms_ffn);
  }
  add(w.rms_final);
  add(w.classifier);
  return out;
}

// Zero-filled weights for `c`, then uniform values in [-1, 1) from `seed`.
inline Weights deterministic_weights(const ModelConfig& c, std::uint64_t seed) {
  Weights w = allocate_weights(c);
  Rng rng(seed);
  for (auto tensor : tensors_of(w)) {
    for (float& x : tensor) x = rng.symmetric();
  }
  if (c.shared_classifier) w.classifier = w.token_embedding;
  return w;
}

inline ModelConfig small_config(int dim, int n_layers, int n_heads, int n_kv_heads, bool shared) {
  ModelConfig c;
  c.dim = dim;
  c.hidden_dim = dim * 3 / 2;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.vocab_size = 40;
  c.seq_len = 8;
  c.shared_classifier = shared;
  return c;
}

// Valid files of two tiny models (one with grouped-query attention and a
// separate classifier, one shared and multi-head) in all three formats; each
// parses in microseconds.
inline std::vector<Bytes> small_checkpoint_files() {
  std::vector<Bytes> files;
  const ModelConfig configs[] = {small_config(16, 2, 4, 2, false), small_config(8, 1, 2, 2, true)};
  for (const ModelConfig& c : configs) {
    const Weights w = deterministic_weights(c, static_cast<std::uint64_t>(c.dim));
    files.push_back(serialize_checkpoint(c, w, CheckpointFormat::kLegacy));
    files.push_back(serialize_checkpoint(c, w, CheckpointFormat::kFloatV1));
    files.push_back(serialize_checkpoint(c, w, CheckpointFormat::kQ8V2, c.dim / 2));
  }
  return files;
}

// A tiny vocabulary: the three special pieces, then `pieces` with `scores`.
inline Tokenizer tiny_tokenizer(const std::vector<std::string>& pieces, const std::vector<float>& scores) {
  std::vector<std::string> all{"<unk>", "\n<s>\n", "\n</s>\n"};
  all.insert(all.end(), pieces.begin(), pieces.end());
  std::vector<float> all_scores(3, 0.0f);
  all_scores.insert(all_scores.end(), scores.begin(), scores.end());
  std::size_t longest = 0;
  for (const auto& piece : all) longest = std::max(longest, piece.size());
  return Tokenizer(std::move(all), std::move(all_scores), static_cast<int>(longest));
}

// Random structure-blind mutations, biased towards headers (the first 64 bytes),
// where a changed byte changes how the rest is read.
class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  // Applies one to four mutations to `bytes` (splices take bytes from `donor`);
  // returns what it did, for a failure message.
  std::string mutate(Bytes& bytes, const Bytes& donor) {
    std::string log;
    const int count = 1 + static_cast<int>(rng_.below(4));
    for (int i = 0; i < count; ++i) log += mutate_once(bytes, donor) + "; ";
    return log;
  }

 private:
  std::size_t offset(const Bytes& bytes) {
    const bool header = rng_.below(2) == 0;
    return rng_.below(header ? std::min<std::size_t>(bytes.size(), 64) : bytes.size());
  }

  std::string mutate_once(Bytes& bytes, const Bytes& donor) {
    static constexpr std::uint8_t kBytes[] = {0x00, 0xFF, 0x7F, 0x80};
    static constexpr std::int32_t kInts[] = {0,   1,     -1,      2,       3,        4,        7,
                                             8,   16,    31,      32,      -2,       -32,      64,
                                             255, 256,   1 << 16, (1 << 16) + 1, 1 << 22, INT32_MAX,
                                             INT32_MIN, INT32_MIN + 1, 0x616b3432};
    const std::size_t kind = rng_.below(bytes.empty() ? 2 : 7);
    if (kind == 0) {  // extension
      const std::size_t n = 1 + rng_.below(16);
      for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<std::uint8_t>(rng_.next()));
      return "append " + std::to_string(n) + " bytes";
    }
    if (kind == 1) {  // splice: our head, the donor's tail
      const std::size_t keep = rng_.below(bytes.size() + 1), from = rng_.below(donor.size() + 1);
      bytes.resize(keep);
      bytes.insert(bytes.end(), donor.begin() + static_cast<std::ptrdiff_t>(from), donor.end());
      return "splice at " + std::to_string(keep) + " from donor " + std::to_string(from);
    }
    const std::size_t at = offset(bytes);
    switch (kind) {
      case 2: {
        const int bit = static_cast<int>(rng_.below(8));
        bytes[at] ^= static_cast<std::uint8_t>(1u << bit);
        return "flip bit " + std::to_string(bit) + " at " + std::to_string(at);
      }
      case 3:
        bytes[at] = kBytes[rng_.below(std::size(kBytes))];
        return "set byte " + std::to_string(at) + " to " + std::to_string(bytes[at]);
      case 4: {
        const std::size_t where = rng_.below(2) == 0 ? at & ~std::size_t{3} : at;
        const std::int32_t value = kInts[rng_.below(std::size(kInts))];
        const std::size_t n = std::min(sizeof(value), bytes.size() - where);
        std::memcpy(bytes.data() + where, &value, n);
        return "int32 " + std::to_string(value) + " at " + std::to_string(where);
      }
      case 5:
        bytes.resize(at);
        return "truncate to " + std::to_string(at);
      default: {  // overwrite a chunk with donor bytes
        const std::size_t from = rng_.below(donor.size());
        const std::size_t n = std::min({bytes.size() - at, donor.size() - from, 1 + rng_.below(32)});
        std::copy_n(donor.begin() + static_cast<std::ptrdiff_t>(from), n,
                    bytes.begin() + static_cast<std::ptrdiff_t>(at));
        return "copy " + std::to_string(n) + " donor bytes to " + std::to_string(at);
      }
    }
  }

  Rng rng_;
};

// What is wrong with a checkpoint that parsed ("" when nothing): its config must
// pass validate_config, every tensor must have the shape the config implies,
// Q8_0 tensors must be whole groups, and a legacy or version-1 checkpoint must
// survive being written and read again bit for bit.
inline std::string checkpoint_problem(const Checkpoint& ckpt) {
  const ModelConfig& c = ckpt.config;
  try {
    validate_config(c);
  } catch (const CheckpointError& e) {
    return std::string("parsed config fails validate_config: ") + e.what();
  }
  const Weights& w = ckpt.weights;
  std::string problems;
  auto shape = [&](const char* name, const auto& t, Eigen::Index rows, Eigen::Index cols) {
    if (t.rows() != rows || t.cols() != cols) problems += std::string(name) + " has the wrong shape; ";
  };
  shape("token_embedding", w.token_embedding, c.vocab_size, c.dim);
  shape("classifier", w.classifier, c.vocab_size, c.dim);
  shape("rms_final", w.rms_final, c.dim, 1);
  if (w.layers.size() != static_cast<std::size_t>(c.n_layers)) return problems + "wrong layer count";
  for (const LayerWeights& l : w.layers) {
    shape("rms_att", l.rms_att, c.dim, 1);
    shape("rms_ffn", l.rms_ffn, c.dim, 1);
    shape("wq", l.wq, c.dim, c.dim);
    shape("wk", l.wk, c.kv_dim(), c.dim);
    shape("wv", l.wv, c.kv_dim(), c.dim);
    shape("wo", l.wo, c.dim, c.dim);
    shape("w1", l.w1, c.hidden_dim, c.dim);
    shape("w2", l.w2, c.dim, c.hidden_dim);
    shape("w3", l.w3, c.hidden_dim, c.dim);
  }
  for (const StoredQ8Tensor& q : ckpt.stored_q8) {
    if (q.values.size() != q.scales.size() * static_cast<std::size_t>(ckpt.group_size)) {
      problems += q.name + " is not a whole number of groups; ";
    }
  }
  if (!problems.empty() || ckpt.format == CheckpointFormat::kQ8V2) return problems;

  Checkpoint again = parse_checkpoint(serialize_checkpoint(c, w, ckpt.format));
  if (!(again.config == c)) return "the written config reads back differently";
  const auto before = tensors_of(w);
  const auto after = tensors_of(std::as_const(again.weights));
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (std::memcmp(before[i].data(), after[i].data(), before[i].size_bytes()) != 0) {
      return "tensor " + std::to_string(i) + " changed in a write/read round trip";
    }
  }
  return "";
}

// What is wrong with a tokenizer that parsed ("" when nothing): encoding a few
// texts (which may refuse with TokenizerError) yields ids of the vocabulary,
// decoding every id works, and writing and reading it again keeps every piece.
inline std::string tokenizer_problem(const Tokenizer& tok) {
  static const std::string kTexts[] = {"", "I dream of", "Tokens flow, \xC3\xA9\xF0\x9F\x99\x82!",
                                       std::string("a\0b \xFF\x80\xC3", 7), "  \n\t<0x41>"};
  for (const std::string& text : kTexts) {
    try {
      for (const int id : tok.encode(text, true, true)) {
        if (id < 0 || id >= tok.vocab_size()) return "encode gave id " + std::to_string(id);
      }
    } catch (const TokenizerError&) {
      // a vocabulary without " " or byte pieces refuses some texts: allowed
    }
  }
  for (int id = 0; id < tok.vocab_size(); ++id) {
    for (const int prev : {kBosToken, id == 0 ? 0 : id - 1}) {
      const std::string_view text = tok.decode(prev, id);
      if (text.size() > tok.piece(id).size()) return "decode of " + std::to_string(id) + " grew";
      (void)Tokenizer::printable(text);
    }
  }
  const Tokenizer again = Tokenizer::parse(tok.serialize(), tok.vocab_size());
  for (int id = 0; id < tok.vocab_size(); ++id) {
    const float a = tok.score(id), b = again.score(id);
    if (again.piece(id) != tok.piece(id) || std::memcmp(&a, &b, sizeof a) != 0) {
      return "piece " + std::to_string(id) + " changed in a write/read round trip";
    }
  }
  return "";
}

// The message of the `Error` that `load` throws, or "(no error)". Exceptions of
// other types propagate.
template <typename Error>
std::string message_of(const std::function<void()>& load) {
  try {
    load();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A malformed input for a table-driven test: how to load it, and a piece of the
// message the loader must refuse it with.
struct BadInput {
  std::string name;  // a test-name suffix: letters, digits and '_'
  std::function<void()> load;
  std::string expected;
};
// For GoogleTest's messages (a BadInput is a test parameter).
inline void PrintTo(const BadInput& input, std::ostream* out) { *out << input.name; }

struct FuzzReport {
  int parsed = 0;
  int refused = 0;
  std::vector<std::string> problems;  // with the mutations that led to each
  double seconds = 0;
};

// What is wrong with a run ("" when nothing): the problems it found, too few
// parsed or refused inputs (both outcomes must be common, so that mutations
// reach past the header checks), or too slow a run.
inline std::string verdict(const FuzzReport& report, int min_each, double max_seconds) {
  std::string out;
  for (const auto& problem : report.problems) out += problem + "\n";
  if (report.parsed < min_each || report.refused < min_each) {
    out += std::to_string(report.parsed) + " parsed and " + std::to_string(report.refused) +
           " refused: fewer than " + std::to_string(min_each) + "\n";
  }
  if (report.seconds > max_seconds) out += "took " + std::to_string(report.seconds) + " s\n";
  return out;
}

// Mutates the seeds `iterations` times; `parse_and_check` parses the bytes and
// returns checkpoint_problem/tokenizer_problem. Throwing `Error` counts as a
// refusal; any other exception is a problem.
template <typename Error>
FuzzReport mutation_fuzz(const std::vector<Bytes>& seeds, int iterations, std::uint64_t seed,
                         const std::function<std::string(const Bytes&, std::size_t)>& parse_and_check) {
  FuzzReport report;
  Mutator mutator(seed);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations && report.problems.size() < 10; ++i) {
    const std::size_t which = static_cast<std::size_t>(i) % seeds.size();
    Bytes bytes = seeds[which];
    const std::string how = mutator.mutate(bytes, seeds[(which + 1 + i / seeds.size()) % seeds.size()]);
    const std::string where = "iteration " + std::to_string(i) + " (" + how + "): ";
    try {
      const std::string problem = parse_and_check(bytes, which);
      if (!problem.empty()) report.problems.push_back(where + problem);
      ++report.parsed;
    } catch (const Error&) {
      ++report.refused;
    } catch (const std::exception& e) {
      report.problems.push_back(where + "threw " + typeid(e).name() + ": " + e.what());
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace tp::fuzz
