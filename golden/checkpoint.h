// llama2.c checkpoints: the legacy float file ("version 0"), and the "ak42"
// version 1 (float) and version 2 (Q8_0) files written by llama2.c's export.py.
// Every size is validated against the file length before anything is read.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "golden/model_config.h"

namespace tp {

using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Every matrix is [out][in], so y = W x.
struct LayerWeights {
  Eigen::VectorXf rms_att;  // [dim]
  MatrixRM wq;              // [dim][dim]
  MatrixRM wk;              // [kv_dim][dim]
  MatrixRM wv;              // [kv_dim][dim]
  MatrixRM wo;              // [dim][dim]
  Eigen::VectorXf rms_ffn;  // [dim]
  MatrixRM w1;              // [hidden][dim]
  MatrixRM w2;              // [dim][hidden]
  MatrixRM w3;              // [hidden][dim]
};

struct Weights {
  MatrixRM token_embedding;  // [vocab][dim]
  std::vector<LayerWeights> layers;
  Eigen::VectorXf rms_final;  // [dim]
  MatrixRM classifier;        // [vocab][dim]; a copy of token_embedding when shared
};

// Zero-filled weights of the shapes the configuration implies.
Weights allocate_weights(const ModelConfig& config);

enum class CheckpointFormat { kLegacy, kFloatV1, kQ8V2 };
const char* format_name(CheckpointFormat format);

// The int8 values and fp32 scales of one Q8_0 tensor as a version-2 file stores
// them: value i belongs to group i / group_size of the flattened tensor.
struct StoredQ8Tensor {
  std::string name;
  std::vector<std::int8_t> values;
  std::vector<float> scales;
};

struct Checkpoint {
  ModelConfig config;
  Weights weights;  // fp32; dequantized for version-2 files
  CheckpointFormat format = CheckpointFormat::kLegacy;
  int group_size = 0;                     // version 2 only
  std::vector<StoredQ8Tensor> stored_q8;  // version 2 only, in file order
};

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Largest values a header may hold; beyond them a file is refused as implausible.
struct CheckpointLimits {
  static constexpr int kMaxDim = 1 << 16;
  static constexpr int kMaxHiddenDim = 1 << 18;
  static constexpr int kMaxLayers = 1 << 10;
  static constexpr int kMaxHeads = 1 << 10;
  static constexpr int kMaxVocab = 1 << 22;
  static constexpr int kMaxSeqLen = 1 << 20;
  static constexpr int kMaxGroupSize = 1 << 16;
};

// Throws CheckpointError naming the first inconsistent field.
void validate_config(const ModelConfig& config);

Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes);
// parse_checkpoint on a file's bytes; errors are prefixed with the path.
Checkpoint read_checkpoint(const std::string& path);

// The file bytes of `weights` in `format`. Version 2 quantizes like export.py's
// quantize_q80 (scale = absmax / 127, round half to even); group_size must
// divide dim and every tensor's size.
std::vector<std::uint8_t> serialize_checkpoint(const ModelConfig& config, const Weights& weights,
                                               CheckpointFormat format, int group_size = 64);
void write_file(const std::string& path, std::span<const std::uint8_t> bytes);
std::vector<std::uint8_t> read_file(const std::string& path);

}  // namespace tp
