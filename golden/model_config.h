// Model hyper-parameters as stored in a llama2.c checkpoint header.
#pragma once

#include <cstdint>
#include <string>

namespace tp {

struct ModelConfig {
  int dim = 0;         // residual stream width
  int hidden_dim = 0;  // FFN width
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads (grouped-query attention when < n_heads)
  int vocab_size = 0;  // always positive here; sharing is the flag below
  int seq_len = 0;     // maximum sequence length
  bool shared_classifier = true;  // logits use the token embedding as classifier

  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return dim * n_kv_heads / n_heads; }
  // How many query heads read one KV head.
  int kv_mul() const { return n_heads / n_kv_heads; }

  // Parameters without the skipped RoPE tables (classifier counted once if shared).
  std::int64_t parameter_count() const;
  // Weights a single forward pass reads (all matrices and norms, one embedding row).
  std::int64_t weights_read_per_token() const;

  // Bytes one forward pass reads from weight memory at `weight_bits` per weight:
  // 32 = fp32 everywhere; 8 or 4 = blocks of 32 weights along each row (rows
  // zero-padded to a multiple of 32) with one fp16 scale per block, norms fp32.
  // An estimate of the layout; the weight image defines the exact figure.
  std::int64_t weight_bytes_per_token(int weight_bits) const;

  std::string describe() const;
};

bool operator==(const ModelConfig& a, const ModelConfig& b);

}  // namespace tp
