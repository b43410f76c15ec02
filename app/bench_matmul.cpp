// tokenpipe bench matmul: the verilated matrix unit (weight port + engine at
// the default parameters) on the real models' layer shapes, against the HBM
// model; every result is checked against tp::fx::matvec on the way.
//
// Both modes run K back-to-back commands of one shape and measure from the
// first command's last result to the last one's, the steady state of a
// token pipeline that prefetches the next matrix while computing this one
// (the first command pays the memory latency once).
//   GEMV (decode, 1 token): weight-port utilization = beats / cycles.
//   GEMM (prefill, MaxBatchTokens tokens): PE utilization =
//     rows x cols x tokens / (cycles x ROWS x COLS)  (useful MACs only).
#include "app/bench_matmul.h"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "app/commands.h"
#include "app/model_loading.h"
#include "app/report.h"
#include "golden/int/quantize.h"
#include "matrix/matrix_unit_bench.h"
#include "matrix/matrix_workload.h"

namespace tp::app {

namespace {

constexpr int kArrayRows = 16, kArrayCols = 8;  // tp_pkg::ArrayRows, ArrayCols (the verilated defaults)
constexpr int kGemmTokens = 32;                 // tp_pkg::MaxBatchTokens (>= the array size)
constexpr int kRepeats = 5;                     // back-to-back commands per measurement
constexpr unsigned kMemoryLatency = 200;        // HBM-like, cycles

struct Shape {
  std::string name;
  int rows = 0, cols = 0;
  bool operator==(const Shape& o) const { return rows == o.rows && cols == o.cols; }
};

std::vector<Shape> layer_shapes(const ModelConfig& c) {
  return {{"wqkv", c.dim + 2 * c.kv_dim(), c.dim},
          {"wo", c.dim, c.dim},
          {"w13", 2 * c.hidden_dim, c.dim},
          {"w2", c.dim, c.hidden_dim},
          {"classifier", c.vocab_size, c.dim}};
}

struct Measurement {
  uint64_t cycles = 0;  // per command, steady state
  double weight_port_utilization = 0, pe_utilization = 0;
};

// K commands of `tokens` tokens on one random matrix of the shape.
Measurement measure(const Shape& shape, int bits, int tokens, uint64_t seed) {
  std::mt19937_64 rng(seed);
  tb::Workload w;
  const fx::QuantMatrix m = tb::random_matrix(rng, shape.rows, shape.cols, bits);
  for (int i = 0; i < kRepeats; ++i) {
    std::vector<fx::QuantVector> xs;
    for (int t = 0; t < tokens; ++t) xs.push_back(tb::random_vector(rng, shape.cols));
    w.add(m, std::move(xs));
  }
  w.finish();
  tb::MatrixUnitBench b(w.image, tb::HbmConfig{.latency = kMemoryLatency});
  b.h.reset();
  size_t beats = 0;
  for (const auto& job : w.jobs) beats += b.push(job);
  if (!b.h.run_until([&] { return b.scoreboard.checked() == beats; }, 50'000'000, "bench matmul results")) {
    throw std::runtime_error("bench matmul: the matrix unit did not finish " + shape.name);
  }
  if (b.scoreboard.mismatched() != 0 || b.hbm.violations() != 0 || b.h->err_weight_last_o || b.h->err_act_count_o) {
    throw std::runtime_error("bench matmul: " + shape.name + ": results differ from the golden matvec");
  }
  const std::vector<uint64_t> ends = b.command_end_cycles();
  const double cycles = static_cast<double>(ends.back() - ends.front()) / (kRepeats - 1);
  const double beats_per_command = static_cast<double>(fx::matrix_section_bytes(shape.rows, shape.cols, bits) / 64);
  const double macs = static_cast<double>(shape.rows) * shape.cols * tokens;
  return {static_cast<uint64_t>(cycles + 0.5), beats_per_command / cycles,
          macs / (cycles * kArrayRows * kArrayCols)};
}

}  // namespace

void run_bench_matmul(const MatmulBenchOptions& options) {
  check_writable(options.json_path);
  std::vector<int> quants;
  if (options.quant.empty() || options.quant == "int8") quants.push_back(8);
  if (options.quant.empty() || options.quant == "int4") quants.push_back(4);
  if (quants.empty()) throw UsageError("--quant must be int8 or int4");

  // Layer shapes of the real models (or of the default model without them).
  std::vector<Shape> shapes;
  for (const auto& path : real_model_files(options.models_dir)) {
    for (const Shape& s : layer_shapes(load_model(path, "").checkpoint->config)) {
      if (std::find(shapes.begin(), shapes.end(), s) == shapes.end()) shapes.push_back(s);
    }
  }
  if (shapes.empty()) shapes = layer_shapes(load_model("", "").checkpoint->config);

  std::cout << std::fixed << std::setprecision(4);
  double worst_gemv = 1e9, worst_gemm = 1e9;
  nlohmann::json results = nlohmann::json::array();
  for (const int bits : quants) {
    for (const Shape& s : shapes) {
      const Measurement gemv = measure(s, bits, 1, 1);
      const Measurement gemm = measure(s, bits, kGemmTokens, 2);
      std::ostringstream label;
      label << "int" << bits << " " << s.name << " " << s.rows << "x" << s.cols;
      std::cout << "gemv[" << label.str() << "]: cycles " << gemv.cycles << ", weight_port_utilization "
                << gemv.weight_port_utilization << ", pe_utilization " << gemv.pe_utilization << "\n";
      std::cout << "gemm[" << label.str() << ", " << kGemmTokens << " tokens]: cycles " << gemm.cycles
                << ", weight_port_utilization " << gemm.weight_port_utilization << ", pe_utilization "
                << gemm.pe_utilization << "\n";
      worst_gemv = std::min(worst_gemv, gemv.weight_port_utilization);
      worst_gemm = std::min(worst_gemm, gemm.pe_utilization);
      for (const auto& [mode, r, tokens] :
           {std::tuple{"gemv", gemv, 1}, std::tuple{"gemm", gemm, kGemmTokens}}) {
        results.push_back({{"mode", mode}, {"bits", bits}, {"matrix", s.name}, {"rows", s.rows},
                           {"cols", s.cols}, {"tokens", tokens}, {"cycles", r.cycles},
                           {"weight_port_utilization", r.weight_port_utilization},
                           {"pe_utilization", r.pe_utilization}});
      }
    }
  }
  std::cout << "gemv_weight_port_utilization: " << worst_gemv << "\n";
  std::cout << "gemm_pe_utilization: " << worst_gemm << "\n";
  if (!options.json_path.empty()) {
    write_json(options.json_path, {{"bench", "matmul"},
                                   {"array", {{"rows", kArrayRows}, {"cols", kArrayCols}}},
                                   {"memory_latency", kMemoryLatency},
                                   {"results", results},
                                   {"gemv_weight_port_utilization", worst_gemv},
                                   {"gemm_pe_utilization", worst_gemm}});
  }
}

}  // namespace tp::app
