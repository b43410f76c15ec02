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
  if (even.rows != odd.rows || even.cols != odd.cols || even.bits != odd.bits || even.planes != odd.planes) {
    throw std::invalid_argument("interleave_rows: shapes differ");
  }
  QuantMatrix m = slice_rows(even, 0, 0);
  for (int r = 0; r < even.rows; ++r) {
    m = stack_rows(m, slice_rows(even, r, 1));
    m = stack_rows(m, slice_rows(odd, r, 1));
  }
  return m;
}

bool is_plain(const QuantizedModel& model) {
  bool plain = model.activation_planes == 1 && model.embedding.planes == 1 && model.classifier.planes == 1 &&
               model.attention.is_rtl_format();
  for (const QuantizedLayer& l : model.layers) {
    plain = plain && l.wqkv.planes == 1 && l.wo.planes == 1 && l.w13.planes == 1 && l.w2.planes == 1;
  }
  return plain;
}

std::int64_t weight_bytes_per_token(const QuantizedModel& model) {
  auto bytes = [&model](const QuantMatrix& m, std::int64_t rows) {
    return rows * m.blocks() * (kBlock * model.bits / 8 + 2);
  };
  const ModelConfig& c = model.config;
  std::int64_t total = bytes(model.embedding, 1) + bytes(model.classifier, model.classifier.rows);
  for (const QuantizedLayer& l : model.layers) {
    total += bytes(l.wqkv, l.wqkv.rows) + bytes(l.wo, l.wo.rows) + bytes(l.w13, l.w13.rows) + bytes(l.w2, l.w2.rows);
  }
  return total + (std::int64_t{c.n_layers} * 2 * c.dim + c.dim) * 4;
}

std::int64_t kv_bytes_per_token(const QuantizedModel& model) {
  const ModelConfig& c = model.config;
  const AttentionPrecision& a = model.attention;
  const int scale_bytes = a.scale_bits > ScaleFp::kMantissaBits ? 4 : 2;
  const std::int64_t per_head = 2 * (std::int64_t{c.head_size()} * a.kv_bits / 8 + scale_bytes);
  return std::int64_t{c.n_layers} * c.n_kv_heads * per_head;
}

PrecisionPlan mixed_precision_plan(const ModelConfig& config, int bits) {
  constexpr int kSensitiveLayers = 2;
  const int base = bits == 8 ? 1 : 2, sensitive = base + 1;
  PrecisionPlan plan;
  plan.activation_planes = 2;
  plan.embedding = plan.classifier = sensitive;
  for (int l = 0; l < config.n_layers; ++l) {
    const int planes = l < kSensitiveLayers ? sensitive : base;
    plan.layers.push_back({planes, planes, planes, planes});
  }
  return plan;
}

PrecisionPlan hifi_precision_plan(const ModelConfig& config, int bits) {
  PrecisionPlan plan = mixed_precision_plan(config, bits);
  if (bits == 8) {
    plan.embedding = plan.classifier = 3;
    for (LayerPlanes& layer : plan.layers) layer = {2, 2, 2, 2};
  }
  plan.attention = kHifiAttention;
  return plan;
}

namespace {

// Quantizes each matrix from its fp32 weights, or, for INT8 from a version-2
// checkpoint, from the stored Q8_0 tensor of the same name.
class MatrixQuantizer {
 public:
  MatrixQuantizer(const Checkpoint& checkpoint, int bits) : checkpoint_(checkpoint), bits_(bits) {}

  // `importance`: null, or the mean square input of each column.
  QuantMatrix operator()(const MatrixRM& w, const std::string& name, const Eigen::VectorXf* importance,
                         int planes) const {
    const std::span<const float> columns =
        importance != nullptr ? std::span<const float>(importance->data(), importance->size())
                              : std::span<const float>();
    return add_planes(first_plane(w, name, columns), w, planes, columns);
  }

 private:
  QuantMatrix first_plane(const MatrixRM& w, const std::string& name, std::span<const float> columns) const {
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

QuantizedModel quantize_model(const Checkpoint& checkpoint, int bits, const ActivationStats* stats,
                              const PrecisionPlan& plan) {
  const ModelConfig& c = checkpoint.config;
  const Weights& w = checkpoint.weights;
  const MatrixQuantizer quantize(checkpoint, bits);
  QuantizedModel q;
  q.config = c;
  q.bits = bits;
  q.activation_planes = plan.activation_planes;
  plan.attention.check();
  q.attention = plan.attention;
  // An input vector's statistics, or none.
  auto of = [stats](const std::vector<Eigen::VectorXf> ActivationStats::*site, std::size_t layer) {
    return stats != nullptr ? &((*stats).*site)[layer] : nullptr;
  };
  const Eigen::VectorXf* classifier_input = stats != nullptr ? &stats->classifier : nullptr;
  // A shared embedding is the classifier too: weigh its errors as the classifier's.
  q.embedding = quantize(w.token_embedding, "token_embedding", c.shared_classifier ? classifier_input : nullptr,
                         plan.embedding);
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& layer = w.layers[l];
    std::string suffix("[");
    suffix.append(std::to_string(l)).append("]");
    const LayerPlanes planes = l < plan.layers.size() ? plan.layers[l] : LayerPlanes{};
    QuantizedLayer ql;
    ql.rms_att = quantize_gains(layer.rms_att);
    const auto* qkv_in = of(&ActivationStats::qkv, l);
    ql.wqkv = stack_rows(stack_rows(quantize(layer.wq, "wq" + suffix, qkv_in, planes.wqkv),
                                    quantize(layer.wk, "wk" + suffix, qkv_in, planes.wqkv)),
                         quantize(layer.wv, "wv" + suffix, qkv_in, planes.wqkv));
    ql.wo = quantize(layer.wo, "wo" + suffix, of(&ActivationStats::wo, l), planes.wo);
    ql.rms_ffn = quantize_gains(layer.rms_ffn);
    const auto* w13_in = of(&ActivationStats::w13, l);
    ql.w13 = interleave_rows(quantize(layer.w1, "w1" + suffix, w13_in, planes.w13),
                             quantize(layer.w3, "w3" + suffix, w13_in, planes.w13));
    ql.w2 = quantize(layer.w2, "w2" + suffix, of(&ActivationStats::w2, l), planes.w2);
    q.layers.push_back(std::move(ql));
  }
  q.rms_final = quantize_gains(w.rms_final);
  q.classifier =
      c.shared_classifier ? q.embedding : quantize(w.classifier, "classifier", classifier_input, plan.classifier);
  return q;
}

}  // namespace tp::fx
