// A checkpoint quantized for the accelerator: fused matrices (Q/K/V stacked,
// W1/W3 interleaved row by row), INT8 or INT4 blocks, block-floating gains, and
// the host-computed constants the hardware reads from its configuration.
#pragma once

#include <vector>

#include "golden/checkpoint.h"
#include "golden/int/attention.h"
#include "golden/int/calibration.h"
#include "golden/int/quantize.h"
#include "golden/int/rmsnorm.h"

namespace tp::fx {

struct QuantizedLayer {
  NormGains rms_att;
  QuantMatrix wqkv;  // rows: wq (dim), wk (kv_dim), wv (kv_dim)
  QuantMatrix wo;
  NormGains rms_ffn;
  QuantMatrix w13;   // row 2j = w1 row j, row 2j+1 = w3 row j
  QuantMatrix w2;
};

struct QuantizedModel {
  ModelConfig config;
  int bits = 8;
  int activation_planes = 1;  // INT8 planes of every matmul input
  AttentionPrecision attention;  // the K/V cache's and query's formats (default: the RTL's INT8)
  QuantMatrix embedding;  // [vocab][dim]
  std::vector<QuantizedLayer> layers;
  NormGains rms_final;
  QuantMatrix classifier;  // the embedding again when config.shared_classifier
};

// Host constants derived from the configuration (written to the accelerator's
// configuration registers).
struct ModelConstants {
  ScaleFp inv_dim;                       // 1 / dim
  ScaleFp score_scale;                   // log2(e) / sqrt(head_size)
  std::vector<std::uint32_t> rope_steps; // per pair of a head
};
ModelConstants model_constants(const ModelConfig& config);

// Mixed precision on the same engines. Weight planes per matrix (add_planes):
// 1 is the plain format; 2 adds a plane quantizing the first plane's error,
// for the matrices a model is most sensitive to. Layers beyond `layers` get 1.
// Activation planes (golden/int/activation_planes.h) for every matmul input.
// The attention's formats (golden/int/attention.h): the default is the RTL's.
struct LayerPlanes {
  int wqkv = 1, wo = 1, w13 = 1, w2 = 1;
};
struct PrecisionPlan {
  int activation_planes = 1;
  int embedding = 1;   // also the classifier when it is shared
  int classifier = 1;  // an unshared classifier
  std::vector<LayerPlanes> layers;
  AttentionPrecision attention;
};

// One plane of every weight matrix and of every activation, and the RTL's
// attention format: the format the weight image and the matrix-unit tests hold.
bool is_plain(const QuantizedModel& model);

// Bytes the weight port streams per decoded token: every matrix in full (per
// row and block, 32 values and an fp16 scale, per weight plane), one
// embedding row, the norm gains at 4 bytes each (as ModelConfig's count).
std::int64_t weight_bytes_per_token(const QuantizedModel& model);

// Bytes the KV cache grows by per token (written once; attention reads each
// position's bytes again at every later token): per layer and KV head, a K
// and a V row of head_size values at kv_bits, and two scales, 2 bytes each
// with 11-bit mantissas (the KV scale code) or 4 with 16-bit mantissas
// (15 stored mantissa bits and an exponent do not fit 16 bits).
std::int64_t kv_bytes_per_token(const QuantizedModel& model);

// The measured mixed-precision plan (docs/numerics.md, "Mixed precision"):
// two activation planes everywhere; weight planes for the tensors a model is
// most sensitive to, the embedding/classifier and the first two layers
// (INT8: 2 there, 1 elsewhere; INT4: 3 there, 2 elsewhere).
PrecisionPlan mixed_precision_plan(const ModelConfig& config, int bits);

// The golden-only high-fidelity plan (docs/numerics.md, "16-bit attention
// inputs"; the `int8-hifi` / `int4-hifi` engines): two activation planes
// everywhere, the hifi attention (kHifiAttention: 16-bit K, V and query,
// 16-bit scale mantissas), and weight planes INT8: 3 on the embedding /
// classifier, 2 on every layer matrix; INT4: those of mixed_precision_plan.
// The RTL implements the plain INT8/INT4 attention only: this plan is the
// specification of a later attention/KV revision.
PrecisionPlan hifi_precision_plan(const ModelConfig& config, int bits);

// bits: 8 or 4. With `stats`, every block scale minimizes the rounding error
// weighted by its columns' mean square input (activation-aware); without,
// the plain squared error. A version-2 (Q8_0) checkpoint quantized to INT8
// keeps its stored int8 values wherever a block of 32 lies inside one stored
// group; other blocks are requantized from the dequantized weights.
QuantizedModel quantize_model(const Checkpoint& checkpoint, int bits, const ActivationStats* stats = nullptr,
                              const PrecisionPlan& plan = {});

QuantMatrix interleave_rows(const QuantMatrix& even, const QuantMatrix& odd);

}  // namespace tp::fx
