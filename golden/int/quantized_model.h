// A checkpoint quantized for the accelerator: fused matrices (Q/K/V stacked,
// W1/W3 interleaved row by row), INT8 or INT4 blocks, block-floating gains, and
// the host-computed constants the hardware reads from its configuration.
#pragma once

#include <vector>

#include "golden/checkpoint.h"
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

// bits: 8 or 4. With `stats`, every block scale minimizes the rounding error
// weighted by its columns' mean square input (activation-aware); without,
// the plain squared error. A version-2 (Q8_0) checkpoint quantized to INT8
// keeps its stored int8 values wherever a block of 32 lies inside one stored
// group; other blocks are requantized from the dequantized weights.
QuantizedModel quantize_model(const Checkpoint& checkpoint, int bits, const ActivationStats* stats = nullptr);

QuantMatrix interleave_rows(const QuantMatrix& even, const QuantMatrix& odd);

}  // namespace tp::fx
