// tokenpipe bench accel (app/bench_accel.cpp): the figures of issue 7 on the
// verilated accelerator top, every token and tap checked against the golden
// integer model: decode at batch 1 against the weight-port bound, prefill PE
// utilization, per model (default, aidreams260K, stories260K) and INT8 / INT4.
#pragma once

#include <string>

namespace tp::app {

struct AccelBenchOptions {
  std::string models_dir = "../shared/models";
  std::string model;  // "default", "aidreams260K", "stories260K"; empty: all three
  std::string quant;  // "int8", "int4"; empty: both
  int tokens = 0;     // decode STEPs; 0: 128, or 16 with `quick`
  bool quick = false;
  std::string json_path;
};

void run_bench_accel(const AccelBenchOptions& options);

}  // namespace tp::app
