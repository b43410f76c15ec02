#include "golden/int/int_model.h"

#include "golden/int/activation_planes.h"
#include "golden/int/rope.h"
#include "golden/int/silu.h"

namespace tp::fx {

namespace {

void add_residual(std::vector<std::int32_t>& x, const std::vector<std::int32_t>& y) {
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = saturate_i32(int128{x[i]} + y[i]);
}

}  // namespace

std::vector<std::int32_t> embed(const QuantMatrix& embedding, int token) {
  std::vector<std::int32_t> x(embedding.cols, 0);
  const int plane_width = embedding.plane_blocks() * kBlock;
  for (int p = 0; p < embedding.planes; ++p) {
    for (int i = 0; i < embedding.cols; ++i) {
      const int col = p * plane_width + i;
      const ScaleFp s = scale_from_fp16(embedding.scale_bits(token, col / kBlock));
      const int128 product = int128{embedding.value(token, col)} * s.mantissa;
      x[i] = saturate_i32(int128{x[i]} + round_shift(s.negative ? -product : product, s.exponent + kResidualFrac));
    }
  }
  return x;
}

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::kEmbedding: return "embedding";
    case Stage::kQkv: return "qkv";
    case Stage::kRope: return "rope";
    case Stage::kAttention: return "attention";
    case Stage::kAttentionResidual: return "attention residual";
    case Stage::kGated: return "silu gate";
    case Stage::kFfnResidual: return "ffn residual";
    case Stage::kLogits: return "logits";
  }
  return "?";
}

IntModel::IntModel(std::shared_ptr<const QuantizedModel> model)
    : model_(std::move(model)), constants_(model_constants(model_->config)),
      score_scale_(score_scale(model_->config.head_size(), model_->attention.scale_bits)) {
  const ModelConfig& c = config();
  caches_.assign(c.n_layers, KvCache(c.seq_len, c.n_kv_heads, c.head_size(), model_->attention));
  logits_q16_.resize(c.vocab_size);
  logits_.resize(c.vocab_size);
}

std::string IntModel::name() const {
  const std::string bits = model_->bits == 8 ? "int8" : "int4";
  if (!model_->attention.is_rtl_format()) return bits + "-hifi";
  return bits + (is_plain(*model_) ? "" : "-mixed");
}

std::span<const float> IntModel::forward(int token, int pos) {
  const ModelConfig& c = config();
  check_forward_arguments(c, token, pos);
  const int dim = c.dim, kv_dim = c.kv_dim(), hs = c.head_size();
  const int planes = model_->activation_planes;

  std::vector<std::int32_t> x = embed(model_->embedding, token);
  tap(pos, -1, Stage::kEmbedding, x);
  for (int l = 0; l < c.n_layers; ++l) {
    const QuantizedLayer& layer = model_->layers[l];

    const auto qkv = multiply(layer.wqkv, rmsnorm_planes(x, layer.rms_att, constants_.inv_dim, planes));
    tap(pos, l, Stage::kQkv, qkv);
    std::vector<std::int32_t> q(qkv.begin(), qkv.begin() + dim);
    std::vector<std::int32_t> k(qkv.begin() + dim, qkv.begin() + dim + kv_dim);
    const std::span<const std::int32_t> v(qkv.data() + dim + kv_dim, kv_dim);
    rope(q, hs, pos, constants_.rope_steps);
    rope(k, hs, pos, constants_.rope_steps);
    if (observer_) {
      std::vector<std::int32_t> rotated(q);
      rotated.insert(rotated.end(), k.begin(), k.end());
      tap(pos, l, Stage::kRope, rotated);
    }
    caches_[l].store(pos, k, v);

    std::vector<std::int32_t> heads(dim);
    for (int h = 0; h < c.n_heads; ++h) {
      const QuantVector16 qh = quantize_q16(std::span(q).subspan(h * hs, hs), hs, model_->attention.query_format());
      const auto out = attention(qh, score_scale_, caches_[l], h / c.kv_mul(), pos);
      std::copy(out.begin(), out.end(), heads.begin() + h * hs);
    }
    tap(pos, l, Stage::kAttention, heads);
    add_residual(x, multiply(layer.wo, quantize_q16_planes(heads, planes)));
    tap(pos, l, Stage::kAttentionResidual, x);

    const auto h13 = multiply(layer.w13, rmsnorm_planes(x, layer.rms_ffn, constants_.inv_dim, planes));
    std::vector<std::int32_t> gated(c.hidden_dim);
    for (int j = 0; j < c.hidden_dim; ++j) gated[j] = silu_gate(h13[2 * j], h13[2 * j + 1]);
    tap(pos, l, Stage::kGated, gated);
    add_residual(x, multiply(layer.w2, quantize_q16_planes(gated, planes)));
    tap(pos, l, Stage::kFfnResidual, x);
  }

  logits_q16_ = multiply(model_->classifier, rmsnorm_planes(x, model_->rms_final, constants_.inv_dim, planes));
  tap(pos, c.n_layers, Stage::kLogits, logits_q16_);
  for (int i = 0; i < c.vocab_size; ++i) logits_[i] = static_cast<float>(from_q16(logits_q16_[i]));
  return logits_;
}

}  // namespace tp::fx
