// tokenpipe bench attention (app/bench_attention.cpp): the verilated attention
// unit (KV data port + flash-attention engine) on the real models' attention
// shapes: cycles of a decode step and KV-port utilization per sequence length.
#pragma once

#include <string>

namespace tp::app {

struct AttentionBenchOptions {
  std::string models_dir = "../shared/models";
  std::string json_path;
};

void run_bench_attention(const AttentionBenchOptions& options);

}  // namespace tp::app
