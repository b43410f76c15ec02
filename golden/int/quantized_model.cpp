#include "golden/int/quantized_model.h"

#include <stdexcept>

#include "golden/int/attention.h"
#include "golden/int/rope.h"

namespace tp::fx {

ModelConstants model_constants(const ModelConfig& config) {
  return {scale_from_double(1.0 / config.dim), score_scale(config.head_size()),
          rope_phase_steps(config.head_size())};
}

QuantMatrix interleave_rows(const QuantMatrix& even, const QuantMatrix& odd) {
  if (even.rows != odd.rows || even.cols != odd.cols || even.bits != odd.bits) {
    throw std::invalid_argument("interleave_rows: shapes differ");
  }
  QuantMatrix m = slice_rows(even, 0, 0);
  for (int r = 0; r < even.rows; ++r) {
    m = stack_rows(m, slice_rows(even, r, 1));
    m = stack_rows(m, slice_rows(odd, r, 1));
  }
  return m;
}

QuantizedModel quantize_model(const Checkpoint& checkpoint, int bits) {
  const ModelConfig& c = checkpoint.config;
  const Weights& w = checkpoint.weights;
  QuantizedModel q;
  q.config = c;
  q.bits = bits;
  q.embedding = quantize_matrix(w.token_embedding, bits);
  for (const LayerWeights& layer : w.layers) {
    QuantizedLayer ql;
    ql.rms_att = quantize_gains(layer.rms_att);
    ql.wqkv = stack_rows(stack_rows(quantize_matrix(layer.wq, bits), quantize_matrix(layer.wk, bits)),
                         quantize_matrix(layer.wv, bits));
    ql.wo = quantize_matrix(layer.wo, bits);
    ql.rms_ffn = quantize_gains(layer.rms_ffn);
    ql.w13 = interleave_rows(quantize_matrix(layer.w1, bits), quantize_matrix(layer.w3, bits));
    ql.w2 = quantize_matrix(layer.w2, bits);
    q.layers.push_back(std::move(ql));
  }
  q.rms_final = quantize_gains(w.rms_final);
  q.classifier = c.shared_classifier ? q.embedding : quantize_matrix(w.classifier, bits);
  return q;
}

}  // namespace tp::fx
