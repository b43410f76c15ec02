#include "golden/float_model.h"

#include <cmath>

namespace tp {

namespace {

// Every reduction below is a plain sequential fp32 sum: the real models have
// top-2 logit gaps of 3e-5, so a vectorised (reordered) sum can flip a token.

void rmsnorm(Eigen::VectorXf& out, const Eigen::VectorXf& x, const Eigen::VectorXf& weight) {
  float ss = 0.0f;
  for (Eigen::Index j = 0; j < x.size(); ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(x.size());
  ss += 1e-5f;
  ss = 1.0f / std::sqrt(ss);
  for (Eigen::Index j = 0; j < x.size(); ++j) out[j] = weight[j] * (ss * x[j]);
}

// out = W x for W [d][n]; `out` may be a row of a cache.
template <typename Out>
void matvec(Out&& out, const MatrixRM& w, const Eigen::VectorXf& x) {
  for (Eigen::Index i = 0; i < w.rows(); ++i) {
    float sum = 0.0f;
    for (Eigen::Index j = 0; j < w.cols(); ++j) sum += w(i, j) * x[j];
    out[i] = sum;
  }
}

// Rotates adjacent pairs (2i, 2i+1) of every head by pos * 10000^(-2i/head_size).
template <typename Vec>
void rope(Vec&& vec, int pos, int head_size) {
  for (Eigen::Index i = 0; i < vec.size(); i += 2) {
    const int head_dim = static_cast<int>(i % head_size);
    const float freq = 1.0f / std::pow(10000.0f, static_cast<float>(head_dim) / static_cast<float>(head_size));
    const float angle = static_cast<float>(pos) * freq;
    const float fcr = std::cos(angle);
    const float fci = std::sin(angle);
    const float v0 = vec[i];
    const float v1 = vec[i + 1];
    vec[i] = v0 * fcr - v1 * fci;
    vec[i + 1] = v0 * fci + v1 * fcr;
  }
}

void softmax_prefix(Eigen::VectorXf& x, int size) {
  float max_value = x[0];
  for (int i = 1; i < size; ++i) max_value = std::max(max_value, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < size; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  for (int i = 0; i < size; ++i) x[i] /= sum;
}

}  // namespace

FloatModel::FloatModel(std::shared_ptr<const Checkpoint> checkpoint)
    : checkpoint_(std::move(checkpoint)) {
  const ModelConfig& c = config();
  x_ = xb_ = xb2_ = q_ = Eigen::VectorXf::Zero(c.dim);
  hb_ = hb2_ = Eigen::VectorXf::Zero(c.hidden_dim);
  att_ = Eigen::VectorXf::Zero(c.seq_len);
  logits_ = Eigen::VectorXf::Zero(c.vocab_size);
  key_cache_.assign(c.n_layers, MatrixRM::Zero(c.seq_len, c.kv_dim()));
  value_cache_.assign(c.n_layers, MatrixRM::Zero(c.seq_len, c.kv_dim()));
}

std::span<const float> FloatModel::forward(int token, int pos) {
  const ModelConfig& c = config();
  check_forward_arguments(c, token, pos);
  const Weights& w = checkpoint_->weights;

  x_ = w.token_embedding.row(token).transpose();
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& layer = w.layers[l];

    rmsnorm(xb_, x_, layer.rms_att);
    observe(MatmulInput::kQkv, l, xb_);
    matvec(q_, layer.wq, xb_);
    matvec(key_cache_[l].row(pos), layer.wk, xb_);
    matvec(value_cache_[l].row(pos), layer.wv, xb_);
    rope(q_, pos, c.head_size());
    rope(key_cache_[l].row(pos), pos, c.head_size());

    attention(l, pos);
    observe(MatmulInput::kWo, l, xb_);
    matvec(xb2_, layer.wo, xb_);
    for (int i = 0; i < c.dim; ++i) x_[i] += xb2_[i];

    rmsnorm(xb_, x_, layer.rms_ffn);
    observe(MatmulInput::kW13, l, xb_);
    matvec(hb_, layer.w1, xb_);
    matvec(hb2_, layer.w3, xb_);
    for (int i = 0; i < c.hidden_dim; ++i) {
      float value = hb_[i];
      value *= 1.0f / (1.0f + std::exp(-value));  // SiLU
      value *= hb2_[i];                           // gate
      hb_[i] = value;
    }
    observe(MatmulInput::kW2, l, hb_);
    matvec(xb_, layer.w2, hb_);
    for (int i = 0; i < c.dim; ++i) x_[i] += xb_[i];
  }

  rmsnorm(x_, x_, w.rms_final);
  observe(MatmulInput::kClassifier, 0, x_);
  matvec(logits_, w.classifier, x_);
  return {logits_.data(), static_cast<std::size_t>(logits_.size())};
}

// Causal attention of every query head over positions 0..pos; query head h
// reads KV head h / kv_mul. The result lands in xb_.
void FloatModel::attention(int layer, int pos) {
  const ModelConfig& c = config();
  const int head_size = c.head_size();
  const float scale = std::sqrt(static_cast<float>(head_size));
  for (int h = 0; h < c.n_heads; ++h) {
    const int kv_offset = (h / c.kv_mul()) * head_size;
    const float* q = q_.data() + h * head_size;
    for (int t = 0; t <= pos; ++t) {
      const float* k = key_cache_[layer].row(t).data() + kv_offset;
      float score = 0.0f;
      for (int i = 0; i < head_size; ++i) score += q[i] * k[i];
      att_[t] = score / scale;
    }
    softmax_prefix(att_, pos + 1);

    float* out = xb_.data() + h * head_size;
    std::fill(out, out + head_size, 0.0f);
    for (int t = 0; t <= pos; ++t) {
      const float* v = value_cache_[layer].row(t).data() + kv_offset;
      const float a = att_[t];
      for (int i = 0; i < head_size; ++i) out[i] += a * v[i];
    }
  }
}

}  // namespace tp
