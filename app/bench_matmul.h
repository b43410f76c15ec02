// tokenpipe bench matmul (app/bench_matmul.cpp): the verilated matrix unit's
// GEMV weight-port and GEMM PE utilization on the real models' layer shapes.
#pragma once

#include <string>

namespace tp::app {

struct MatmulBenchOptions {
  std::string models_dir = "../shared/models";
  std::string quant;  // "int8", "int4" or empty: both
  std::string json_path;
};

void run_bench_matmul(const MatmulBenchOptions& options);

}  // namespace tp::app
