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

namespace {

// Quantizes each matrix from its fp32 weights, or, for INT8 from a version-2
// checkpoint, from the stored Q8_0 tensor of the same name.
class MatrixQuantizer {
 public:
  MatrixQuantizer(const Checkpoint& checkpoint, int bits) : checkpoint_(checkpoint), bits_(bits) {}

  // `importance`: null, or the mean square input of each column.
  QuantMatrix operator()(const MatrixRM& w, const std::string& name, const Eigen::VectorXf* importance) const {
    const std::span<const float> columns =
        importance != nullptr ? std::span<const float>(importance->data(), importance->size())
                              : std::span<const float>();
    if (bits_ == 8 && checkpoint_.format == CheckpointFormat::kQ8V2) {
      for (const StoredQ8Tensor& stored : checkpoint_.stored_q8) {
        if (stored.name == name) return quantize_matrix_from_q8(w, stored, checkpoint_.group_size, columns);
      }
    }
    return quantize_matrix(w, bits_, columns);
  }

 private:
  const Checkpoint& checkpoint_;
  int bits_;
};

}  // namespace

QuantizedModel quantize_model(const Checkpoint& checkpoint, int bits, const ActivationStats* stats) {
  const ModelConfig& c = checkpoint.config;
  const Weights& w = checkpoint.weights;
  const MatrixQuantizer quantize(checkpoint, bits);
  QuantizedModel q;
  q.config = c;
  q.bits = bits;
  // An input vector's statistics, or none.
  auto of = [stats](const std::vector<Eigen::VectorXf> ActivationStats::*site, std::size_t layer) {
    return stats != nullptr ? &((*stats).*site)[layer] : nullptr;
  };
  const Eigen::VectorXf* classifier_input = stats != nullptr ? &stats->classifier : nullptr;
  // A shared embedding is the classifier too: weigh its errors as the classifier's.
  q.embedding = quantize(w.token_embedding, "token_embedding", c.shared_classifier ? classifier_input : nullptr);
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& layer = w.layers[l];
    std::string suffix("[");
    suffix.append(std::to_string(l)).append("]");
    QuantizedLayer ql;
    ql.rms_att = quantize_gains(layer.rms_att);
    const auto* qkv_in = of(&ActivationStats::qkv, l);
    ql.wqkv = stack_rows(stack_rows(quantize(layer.wq, "wq" + suffix, qkv_in), quantize(layer.wk, "wk" + suffix, qkv_in)),
                         quantize(layer.wv, "wv" + suffix, qkv_in));
    ql.wo = quantize(layer.wo, "wo" + suffix, of(&ActivationStats::wo, l));
    ql.rms_ffn = quantize_gains(layer.rms_ffn);
    const auto* w13_in = of(&ActivationStats::w13, l);
    ql.w13 = interleave_rows(quantize(layer.w1, "w1" + suffix, w13_in), quantize(layer.w3, "w3" + suffix, w13_in));
    ql.w2 = quantize(layer.w2, "w2" + suffix, of(&ActivationStats::w2, l));
    q.layers.push_back(std::move(ql));
  }
  q.rms_final = quantize_gains(w.rms_final);
  q.classifier = c.shared_classifier ? q.embedding : quantize(w.classifier, "classifier", classifier_input);
  return q;
}

}  // namespace tp::fx
