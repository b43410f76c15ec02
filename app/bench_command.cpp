// tokenpipe bench: speed figures printed (and written as JSON), never asserted.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "app/bench_accel.h"
#include "app/bench_attention.h"
#include "app/bench_matmul.h"
#include "app/commands.h"
#include "app/model_loading.h"
#include "app/report.h"
#include "golden/float_model.h"
#include "golden/sampler.h"

namespace tp::app {

namespace {

struct BenchOptions {
  std::string models_dir = "../shared/models";
  int positions = 128;
  int repeats = 3;
  std::string json_path;
};

// Greedy decoding for `positions` steps (a produced BOS does not stop it).
double seconds_for_greedy_run(Engine& engine, int positions) {
  const auto start = std::chrono::steady_clock::now();
  int token = 1;
  for (int pos = 0; pos < positions; ++pos) token = sample_argmax(engine.forward(token, pos));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_bench_float(const BenchOptions& options) {
  if (options.positions < 1 || options.repeats < 1) throw UsageError("--positions and --repeats must be >= 1");
  check_writable(options.json_path);
  std::vector<std::string> checkpoints{""};  // the embedded default model first
  for (const auto& path : real_model_files(options.models_dir)) checkpoints.push_back(path);
  nlohmann::json results = nlohmann::json::array();
  for (const auto& path : checkpoints) {
    const LoadedModel model = load_model(path, "");
    const int positions = std::min(options.positions, model.checkpoint->config.seq_len);
    std::vector<double> runs;
    for (int r = 0; r < options.repeats; ++r) {
      FloatModel engine(model.checkpoint);
      runs.push_back(seconds_for_greedy_run(engine, positions));
    }
    std::sort(runs.begin(), runs.end());
    const double median = runs[runs.size() / 2];
    const std::string name = path.empty() ? "default" : std::filesystem::path(path).stem().string();
    std::cout << "float_tokens_per_s[" << name << "]: " << positions / median << "  (" << positions
              << " positions, median of " << options.repeats << " runs, " << median * 1e3 << " ms)\n";
    results.push_back({{"model", name},
                       {"positions", positions},
                       {"seconds_median", median},
                       {"tokens_per_s", positions / median}});
  }
  if (!options.json_path.empty()) write_json(options.json_path, {{"bench", "float"}, {"results", results}});
}

}  // namespace

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "benchmarks (figures printed, optionally JSON)");
  bench->require_subcommand(1);
  auto options = std::make_shared<BenchOptions>();
  CLI::App* float_cmd = bench->add_subcommand("float", "golden float model tokens/s on the default and real models");
  float_cmd->add_option("--models-dir", options->models_dir, "folder with the real checkpoints")
      ->capture_default_str();
  float_cmd->add_option("--positions", options->positions, "greedy positions per run")->capture_default_str();
  float_cmd->add_option("--repeats", options->repeats, "runs per model (the median is reported)")
      ->capture_default_str();
  float_cmd->add_option("--json", options->json_path, "write a JSON report to this file");
  float_cmd->callback([options] { run_bench_float(*options); });

  auto matmul = std::make_shared<MatmulBenchOptions>();
  CLI::App* matmul_cmd =
      bench->add_subcommand("matmul", "verilated matrix unit: GEMV weight-port and GEMM PE utilization");
  matmul_cmd->add_option("--models-dir", matmul->models_dir, "folder with the real checkpoints (their layer shapes)")
      ->capture_default_str();
  matmul_cmd->add_option("--quant", matmul->quant, "int8 or int4 (default: both)")
      ->check(CLI::IsMember({"int8", "int4"}));
  matmul_cmd->add_option("--json", matmul->json_path, "write a JSON report to this file");
  matmul_cmd->callback([matmul] { run_bench_matmul(*matmul); });

  auto attention = std::make_shared<AttentionBenchOptions>();
  CLI::App* attention_cmd = bench->add_subcommand(
      "attention", "verilated attention unit: decode-step cycles and KV-port utilization per sequence length");
  attention_cmd->add_option("--models-dir", attention->models_dir, "folder with the real checkpoints (their shapes)")
      ->capture_default_str();
  attention_cmd->add_option("--json", attention->json_path, "write a JSON report to this file");
  attention_cmd->callback([attention] { run_bench_attention(*attention); });

  auto accel = std::make_shared<AccelBenchOptions>();
  CLI::App* accel_cmd = bench->add_subcommand(
      "accel", "verilated accelerator top, checked against the golden model: decode roofline, prefill PE utilization");
  accel_cmd->add_option("--models-dir,--models", accel->models_dir, "folder with the real checkpoints")
      ->capture_default_str();
  accel_cmd->add_option("--model", accel->model, "only this model (default: all three)")
      ->check(CLI::IsMember({"default", "aidreams260K", "stories260K"}));
  accel_cmd->add_option("--quant", accel->quant, "int8 or int4 (default: both)")
      ->check(CLI::IsMember({"int8", "int4"}));
  accel_cmd
      ->add_option("--tokens", accel->tokens, "decode STEPs per run (default 128, 16 with --quick; <= seq_len - 1)")
      ->check(CLI::Range(1, 1'000'000));
  accel_cmd->add_flag("--quick", accel->quick, "16 decode STEPs per run");
  accel_cmd->add_option("--json", accel->json_path, "write a JSON report to this file");
  accel_cmd->callback([accel] { run_bench_accel(*accel); });
}

}  // namespace tp::app
