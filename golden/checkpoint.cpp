#include "golden/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "golden/byte_io.h"

namespace tp {

namespace {

constexpr std::uint32_t kMagicAk42 = 0x616b3432;  // "ak42" as written by export.py
constexpr std::size_t kAk42HeaderBytes = 256;
constexpr std::size_t kLegacyHeaderBytes = 7 * sizeof(std::int32_t);

using Reader = ByteReader<CheckpointError>;

// One tensor in file order. `data` is null for the RoPE tables that legacy
// files carry and readers skip.
template <typename Float>
struct Slot {
  std::string name;
  Float* data;
  std::int64_t size;
};

template <typename W>
using SlotOf = Slot<std::remove_pointer_t<decltype(std::declval<W&>().rms_final.data())>>;

template <typename W, typename Member>
void add_per_layer(std::vector<SlotOf<W>>& slots, W& weights, const char* name, Member member) {
  for (std::size_t l = 0; l < weights.layers.size(); ++l) {
    auto& tensor = weights.layers[l].*member;
    slots.push_back({std::string(name) + "[" + std::to_string(l) + "]", tensor.data(),
                     static_cast<std::int64_t>(tensor.size())});
  }
}

template <typename W>
void add_norms(std::vector<SlotOf<W>>& slots, W& weights) {
  add_per_layer(slots, weights, "rms_att", &LayerWeights::rms_att);
  add_per_layer(slots, weights, "rms_ffn", &LayerWeights::rms_ffn);
  slots.push_back({"rms_final", weights.rms_final.data(), weights.rms_final.size()});
}

template <typename W>
void add_matrices(std::vector<SlotOf<W>>& slots, W& weights) {
  add_per_layer(slots, weights, "wq", &LayerWeights::wq);
  add_per_layer(slots, weights, "wk", &LayerWeights::wk);
  add_per_layer(slots, weights, "wv", &LayerWeights::wv);
  add_per_layer(slots, weights, "wo", &LayerWeights::wo);
  add_per_layer(slots, weights, "w1", &LayerWeights::w1);
  add_per_layer(slots, weights, "w2", &LayerWeights::w2);
  add_per_layer(slots, weights, "w3", &LayerWeights::w3);
}

template <typename W>
SlotOf<W> embedding_slot(W& weights) {
  return {"token_embedding", weights.token_embedding.data(), weights.token_embedding.size()};
}

template <typename W>
SlotOf<W> classifier_slot(W& weights) {
  return {"classifier", weights.classifier.data(), weights.classifier.size()};
}

std::int64_t rope_floats(const ModelConfig& c) { return std::int64_t{c.seq_len} * (c.head_size() / 2) * 2; }

// run.c's memory_map_weights order, RoPE tables included.
template <typename W>
std::vector<SlotOf<W>> legacy_layout(const ModelConfig& c, W& weights) {
  std::vector<SlotOf<W>> slots{embedding_slot(weights)};
  add_per_layer(slots, weights, "rms_att", &LayerWeights::rms_att);
  add_per_layer(slots, weights, "wq", &LayerWeights::wq);
  add_per_layer(slots, weights, "wk", &LayerWeights::wk);
  add_per_layer(slots, weights, "wv", &LayerWeights::wv);
  add_per_layer(slots, weights, "wo", &LayerWeights::wo);
  add_per_layer(slots, weights, "rms_ffn", &LayerWeights::rms_ffn);
  add_per_layer(slots, weights, "w1", &LayerWeights::w1);
  add_per_layer(slots, weights, "w2", &LayerWeights::w2);
  add_per_layer(slots, weights, "w3", &LayerWeights::w3);
  slots.push_back({"rms_final", weights.rms_final.data(), weights.rms_final.size()});
  slots.push_back({"rope tables", nullptr, rope_floats(c)});
  if (!c.shared_classifier) slots.push_back(classifier_slot(weights));
  return slots;
}

// export.py version1_export order: norms first, then every matrix.
template <typename W>
std::vector<SlotOf<W>> v1_layout(const ModelConfig& c, W& weights) {
  std::vector<SlotOf<W>> slots;
  add_norms(slots, weights);
  slots.push_back(embedding_slot(weights));
  add_matrices(slots, weights);
  if (!c.shared_classifier) slots.push_back(classifier_slot(weights));
  return slots;
}

// export.py version2_export: the Q8_0 tensors (the norms stay fp32 and come first).
template <typename W>
std::vector<SlotOf<W>> v2_quantized_layout(const ModelConfig& c, W& weights) {
  std::vector<SlotOf<W>> slots{embedding_slot(weights)};
  add_matrices(slots, weights);
  if (!c.shared_classifier) slots.push_back(classifier_slot(weights));
  return slots;
}

template <typename Slots>
std::int64_t total_floats(const Slots& slots) {
  std::int64_t total = 0;
  for (const auto& slot : slots) total += slot.size;
  return total;
}

void require(bool ok, const std::string& message) {
  if (!ok) throw CheckpointError(message);
}

void require_in_range(const char* field, std::int64_t value, std::int64_t lo, std::int64_t hi) {
  require(value >= lo && value <= hi, std::string(field) + " = " + std::to_string(value) +
                                          " is outside [" + std::to_string(lo) + ", " +
                                          std::to_string(hi) + "]");
}

void require_size(std::size_t actual, std::int64_t expected, const std::string& format) {
  if (static_cast<std::int64_t>(actual) == expected) return;
  const bool truncated = static_cast<std::int64_t>(actual) < expected;
  throw CheckpointError(std::string(truncated ? "truncated" : "trailing bytes") + ": a " + format +
                        " checkpoint with this header has " + std::to_string(expected) +
                        " bytes, the file has " + std::to_string(actual));
}

ModelConfig read_config_fields(Reader& in) {
  ModelConfig c;
  c.dim = in.read<std::int32_t>("header dim");
  c.hidden_dim = in.read<std::int32_t>("header hidden_dim");
  c.n_layers = in.read<std::int32_t>("header n_layers");
  c.n_heads = in.read<std::int32_t>("header n_heads");
  c.n_kv_heads = in.read<std::int32_t>("header n_kv_heads");
  c.vocab_size = in.read<std::int32_t>("header vocab_size");
  c.seq_len = in.read<std::int32_t>("header seq_len");
  return c;
}

void read_floats(Reader& in, const Slot<float>& slot) {
  const std::string what = slot.name;
  if (slot.data == nullptr) {
    in.skip(static_cast<std::size_t>(slot.size) * sizeof(float), what.c_str());
  } else {
    in.read_into(slot.data, static_cast<std::size_t>(slot.size), what.c_str());
  }
}

void finish_weights(Checkpoint& ckpt) {
  if (ckpt.config.shared_classifier) ckpt.weights.classifier = ckpt.weights.token_embedding;
}

Checkpoint parse_legacy(std::span<const std::uint8_t> bytes) {
  Reader in(bytes);
  Checkpoint ckpt;
  ckpt.format = CheckpointFormat::kLegacy;
  ckpt.config = read_config_fields(in);
  // A negative vocab_size is llama2.c's flag for a separate classifier.
  ckpt.config.shared_classifier = ckpt.config.vocab_size > 0;
  if (ckpt.config.vocab_size < 0 && ckpt.config.vocab_size != INT32_MIN) {
    ckpt.config.vocab_size = -ckpt.config.vocab_size;
  }
  validate_config(ckpt.config);
  // Checked from the header before allocating: a header may claim terabytes.
  require_size(bytes.size(),
               kLegacyHeaderBytes + (ckpt.config.parameter_count() + rope_floats(ckpt.config)) * 4,
               "legacy");
  ckpt.weights = allocate_weights(ckpt.config);
  const auto slots = legacy_layout(ckpt.config, ckpt.weights);
  for (const auto& slot : slots) read_floats(in, slot);
  finish_weights(ckpt);
  return ckpt;
}

Checkpoint parse_ak42(std::span<const std::uint8_t> bytes) {
  Reader in(bytes);
  in.skip(sizeof(kMagicAk42), "magic");
  Checkpoint ckpt;
  const auto version = in.read<std::int32_t>("version");
  require(version == 1 || version == 2, "unsupported ak42 version " + std::to_string(version) +
                                            " (this reader knows 1 = fp32 and 2 = Q8_0)");
  ckpt.format = version == 1 ? CheckpointFormat::kFloatV1 : CheckpointFormat::kQ8V2;
  ckpt.config = read_config_fields(in);
  const auto shared = in.read<std::uint8_t>("shared_classifier flag");
  require(shared <= 1, "shared_classifier flag is " + std::to_string(shared) + ", expected 0 or 1");
  ckpt.config.shared_classifier = shared == 1;
  validate_config(ckpt.config);
  if (version == 2) {
    ckpt.group_size = in.read<std::int32_t>("group_size");
    require_in_range("group_size", ckpt.group_size, 1, CheckpointLimits::kMaxGroupSize);
    // export.py picks a group size that divides dim, so groups never straddle rows of dim.
    require(ckpt.config.dim % ckpt.group_size == 0, "group_size " + std::to_string(ckpt.group_size) +
                                                        " does not divide dim " + std::to_string(ckpt.config.dim));
  }
  require(bytes.size() >= kAk42HeaderBytes, "truncated: the ak42 header needs 256 bytes");
  in.skip(kAk42HeaderBytes - in.offset(), "header padding");
  // Checked from the header before allocating: a header may claim terabytes. A
  // version-2 file holds at least one byte per weight, so what is allocated
  // stays within a few times the file size.
  const std::int64_t params = ckpt.config.parameter_count();
  if (version == 1) {
    require_size(bytes.size(), kAk42HeaderBytes + params * 4, "version-1");
  } else {
    const std::int64_t at_least = kAk42HeaderBytes + params;
    require(static_cast<std::int64_t>(bytes.size()) >= at_least,
            "truncated: a version-2 checkpoint with this header has at least " +
                std::to_string(at_least) + " bytes, the file has " + std::to_string(bytes.size()));
  }
  ckpt.weights = allocate_weights(ckpt.config);

  if (version == 1) {
    const auto slots = v1_layout(ckpt.config, ckpt.weights);
    for (const auto& slot : slots) read_floats(in, slot);
    finish_weights(ckpt);
    return ckpt;
  }

  std::vector<Slot<float>> norms;
  add_norms(norms, ckpt.weights);
  const auto quantized = v2_quantized_layout(ckpt.config, ckpt.weights);
  const std::int64_t gs = ckpt.group_size;
  // Every tensor has a multiple of dim values, so whole groups (checked above).
  const std::int64_t q_values = total_floats(quantized);
  require_size(bytes.size(), kAk42HeaderBytes + total_floats(norms) * 4 + q_values + q_values / gs * 4,
               "version-2");
  for (const auto& slot : norms) read_floats(in, slot);
  for (const auto& slot : quantized) {
    StoredQ8Tensor stored{slot.name, std::vector<std::int8_t>(slot.size),
                          std::vector<float>(slot.size / gs)};
    in.read_into(stored.values.data(), stored.values.size(), (slot.name + " values").c_str());
    in.read_into(stored.scales.data(), stored.scales.size(), (slot.name + " scales").c_str());
    for (std::int64_t i = 0; i < slot.size; ++i) {
      slot.data[i] = static_cast<float>(stored.values[i]) * stored.scales[i / gs];
    }
    ckpt.stored_q8.push_back(std::move(stored));
  }
  finish_weights(ckpt);
  return ckpt;
}

void append_config(std::vector<std::uint8_t>& out, const ModelConfig& c, bool negate_vocab) {
  const std::int32_t fields[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads,
                                  c.n_kv_heads, negate_vocab ? -c.vocab_size : c.vocab_size,
                                  c.seq_len};
  append_bytes(out, fields, 7);
}

// The RoPE tables legacy exports carry: cos then sin of pos * 10000^(-2i/head_size).
void append_rope_tables(std::vector<std::uint8_t>& out, const ModelConfig& c) {
  const int half = c.head_size() / 2;
  for (int table = 0; table < 2; ++table) {
    for (int pos = 0; pos < c.seq_len; ++pos) {
      for (int i = 0; i < half; ++i) {
        const float freq = 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / c.head_size());
        const float angle = static_cast<float>(pos) * freq;
        append_value(out, table == 0 ? std::cos(angle) : std::sin(angle));
      }
    }
  }
}

void append_q8(std::vector<std::uint8_t>& out, const float* data, std::int64_t size, int group_size) {
  std::vector<std::int8_t> values(size);
  std::vector<float> scales(size / group_size);
  for (std::int64_t g = 0; g < size / group_size; ++g) {
    const float* group = data + g * group_size;
    float absmax = 0.0f;
    for (int i = 0; i < group_size; ++i) absmax = std::max(absmax, std::fabs(group[i]));
    scales[g] = absmax / 127.0f;
    for (int i = 0; i < group_size; ++i) {
      // torch.round: half to even, which nearbyint gives in the default rounding mode.
      const float q = scales[g] == 0.0f ? 0.0f : std::nearbyint(group[i] / scales[g]);
      values[g * group_size + i] = static_cast<std::int8_t>(q);
    }
  }
  append_bytes(out, values.data(), values.size());
  append_bytes(out, scales.data(), scales.size());
}

}  // namespace

const char* format_name(CheckpointFormat format) {
  switch (format) {
    case CheckpointFormat::kLegacy: return "llama2.c legacy (fp32)";
    case CheckpointFormat::kFloatV1: return "ak42 version 1 (fp32)";
    case CheckpointFormat::kQ8V2: return "ak42 version 2 (Q8_0)";
  }
  return "unknown";
}

void validate_config(const ModelConfig& c) {
  using L = CheckpointLimits;
  require_in_range("dim", c.dim, 1, L::kMaxDim);
  require_in_range("hidden_dim", c.hidden_dim, 1, L::kMaxHiddenDim);
  require_in_range("n_layers", c.n_layers, 1, L::kMaxLayers);
  require_in_range("n_heads", c.n_heads, 1, L::kMaxHeads);
  require_in_range("n_kv_heads", c.n_kv_heads, 1, c.n_heads);
  require_in_range("vocab_size", c.vocab_size, 1, L::kMaxVocab);
  require_in_range("seq_len", c.seq_len, 1, L::kMaxSeqLen);
  require(c.dim % c.n_heads == 0, "dim " + std::to_string(c.dim) + " is not a multiple of n_heads " +
                                      std::to_string(c.n_heads));
  require(c.n_heads % c.n_kv_heads == 0, "n_heads " + std::to_string(c.n_heads) +
                                             " is not a multiple of n_kv_heads " +
                                             std::to_string(c.n_kv_heads));
  require(c.head_size() % 2 == 0, "head_size " + std::to_string(c.head_size()) +
                                      " is odd; RoPE rotates pairs");
}

Weights allocate_weights(const ModelConfig& c) {
  Weights w;
  w.token_embedding = MatrixRM::Zero(c.vocab_size, c.dim);
  w.layers.resize(c.n_layers);
  for (auto& layer : w.layers) {
    layer.rms_att = Eigen::VectorXf::Zero(c.dim);
    layer.wq = MatrixRM::Zero(c.dim, c.dim);
    layer.wk = MatrixRM::Zero(c.kv_dim(), c.dim);
    layer.wv = MatrixRM::Zero(c.kv_dim(), c.dim);
    layer.wo = MatrixRM::Zero(c.dim, c.dim);
    layer.rms_ffn = Eigen::VectorXf::Zero(c.dim);
    layer.w1 = MatrixRM::Zero(c.hidden_dim, c.dim);
    layer.w2 = MatrixRM::Zero(c.dim, c.hidden_dim);
    layer.w3 = MatrixRM::Zero(c.hidden_dim, c.dim);
  }
  w.rms_final = Eigen::VectorXf::Zero(c.dim);
  w.classifier = MatrixRM::Zero(c.vocab_size, c.dim);
  return w;
}

Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes) {
  require(bytes.size() >= kLegacyHeaderBytes,
          "truncated: " + std::to_string(bytes.size()) + " bytes is shorter than any header");
  std::uint32_t magic;
  std::memcpy(&magic, bytes.data(), sizeof(magic));
  return magic == kMagicAk42 ? parse_ak42(bytes) : parse_legacy(bytes);
}

Checkpoint read_checkpoint(const std::string& path) {
  const auto bytes = read_file(path);
  try {
    return parse_checkpoint(bytes);
  } catch (const CheckpointError& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

std::vector<std::uint8_t> serialize_checkpoint(const ModelConfig& c, const Weights& weights,
                                               CheckpointFormat format, int group_size) {
  validate_config(c);
  std::vector<std::uint8_t> out;
  if (format == CheckpointFormat::kLegacy) {
    append_config(out, c, !c.shared_classifier);
    for (const auto& slot : legacy_layout(c, weights)) {
      if (slot.data == nullptr) {
        append_rope_tables(out, c);
      } else {
        append_bytes(out, slot.data, slot.size);
      }
    }
    return out;
  }

  append_value(out, kMagicAk42);
  append_value(out, std::int32_t{format == CheckpointFormat::kFloatV1 ? 1 : 2});
  append_config(out, c, false);
  append_value(out, std::uint8_t{c.shared_classifier ? std::uint8_t{1} : std::uint8_t{0}});
  if (format == CheckpointFormat::kQ8V2) append_value(out, std::int32_t{group_size});
  out.resize(kAk42HeaderBytes, 0);

  if (format == CheckpointFormat::kFloatV1) {
    for (const auto& slot : v1_layout(c, weights)) append_bytes(out, slot.data, slot.size);
    return out;
  }
  require(group_size > 0 && c.dim % group_size == 0,
          "group_size " + std::to_string(group_size) + " must divide dim " + std::to_string(c.dim));
  std::vector<Slot<const float>> norms;
  add_norms(norms, weights);
  for (const auto& slot : norms) append_bytes(out, slot.data, slot.size);
  for (const auto& slot : v2_quantized_layout(c, weights)) {
    require(slot.size % group_size == 0,
            slot.name + " size is not a multiple of group_size " + std::to_string(group_size));
    append_q8(out, slot.data, slot.size, group_size);
  }
  return out;
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw CheckpointError(path + ": " + (std::filesystem::exists(path, error) ? "not a regular file" : "no such file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path + ": cannot open for reading");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) throw CheckpointError(path + ": read error");
  return bytes;
}

void write_file(const std::string& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw CheckpointError(path + ": cannot write");
}

}  // namespace tp
