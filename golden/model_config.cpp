#include "golden/model_config.h"

#include <sstream>

namespace tp {

namespace {

std::int64_t matrices_per_layer(const ModelConfig& c) {
  const std::int64_t dim = c.dim, kv = c.kv_dim(), hidden = c.hidden_dim;
  return dim * dim * 2 + dim * kv * 2 + dim * hidden * 3;  // wq wo, wk wv, w1 w2 w3
}

}  // namespace

std::int64_t ModelConfig::parameter_count() const {
  const std::int64_t embedding = std::int64_t{vocab_size} * dim;
  const std::int64_t norms = std::int64_t{n_layers} * 2 * dim + dim;
  const std::int64_t classifier = shared_classifier ? 0 : embedding;
  return embedding + norms + n_layers * matrices_per_layer(*this) + classifier;
}

std::int64_t ModelConfig::weights_read_per_token() const {
  const std::int64_t norms = std::int64_t{n_layers} * 2 * dim + dim;
  return dim + norms + n_layers * matrices_per_layer(*this) + std::int64_t{vocab_size} * dim;
}

std::int64_t ModelConfig::weight_bytes_per_token(int weight_bits) const {
  if (weight_bits == 32) return weights_read_per_token() * 4;
  auto matrix_bytes = [weight_bits](std::int64_t rows, std::int64_t cols) {
    const std::int64_t blocks = (cols + 31) / 32;
    return rows * blocks * (32 * weight_bits / 8 + 2);
  };
  const std::int64_t dim_ = dim, kv = kv_dim(), hidden = hidden_dim;
  const std::int64_t per_layer = 2 * matrix_bytes(dim_, dim_) + 2 * matrix_bytes(kv, dim_) +
                                 2 * matrix_bytes(hidden, dim_) + matrix_bytes(dim_, hidden);
  const std::int64_t norms = (std::int64_t{n_layers} * 2 * dim + dim) * 4;
  return matrix_bytes(1, dim_) + n_layers * per_layer + norms + matrix_bytes(vocab_size, dim_);
}

std::string ModelConfig::describe() const {
  std::ostringstream out;
  out << "dim=" << dim << " hidden_dim=" << hidden_dim << " n_layers=" << n_layers
      << " n_heads=" << n_heads << " n_kv_heads=" << n_kv_heads << " vocab_size=" << vocab_size
      << " seq_len=" << seq_len << " classifier=" << (shared_classifier ? "shared" : "separate");
  return out.str();
}

bool operator==(const ModelConfig& a, const ModelConfig& b) {
  return a.dim == b.dim && a.hidden_dim == b.hidden_dim && a.n_layers == b.n_layers &&
         a.n_heads == b.n_heads && a.n_kv_heads == b.n_kv_heads &&
         a.vocab_size == b.vocab_size && a.seq_len == b.seq_len &&
         a.shared_classifier == b.shared_classifier;
}

}  // namespace tp
