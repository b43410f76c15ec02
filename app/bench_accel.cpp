// tokenpipe bench accel: the targets of issue 7 (docs/accelerator.md) on the
// verilated tp_accel_top through tb::CheckedAccel, so every token and every
// tapped vector is compared with the golden integer model on the way (a
// difference is an error). Per model and weight format, on one configured top:
//   decode   OPEN, PROMPT [BOS], N STEPs; the figures of tb::accel_metrics
//            over the STEPs (cycles per token against the weight-port bound,
//            port utilizations, engine busy fractions) and the simulation
//            speed over the PROMPT and the STEPs;
//   prefill  a fresh sequence, one PROMPT of 64 tokens (BOS, then ids drawn
//            from the vocabulary with a fixed seed: two blocks of MaxBlock);
//            prefill cycles per token and PE utilization (matrix issue cycles
//            / prefill cycles) over that command.
// The targets (decode roofline_ratio <= 1.10, prefill PE utilization >= 0.85)
// are reported as met or not, never asserted: this is a measurement.
#include "app/bench_accel.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "app/commands.h"
#include "app/generate_rtl.h"
#include "app/model_loading.h"
#include "app/report.h"
#include "golden/tokenizer.h"
#include "top/accel_driver.h"

namespace tp::app {

namespace {

constexpr int kDecodeTokens = 128, kQuickDecodeTokens = 16;
constexpr int kPrefillTokens = 64;
constexpr unsigned kPrefillSeed = 64;
constexpr unsigned kDecodeSeq = 0, kPrefillSeq = 1;
constexpr double kRooflineTarget = 1.10;      // decode cycles per token / (weight bytes per token / 64)
constexpr double kPeUtilizationTarget = 0.85;  // prefill
// For context only, a constant (not measured here): the figure quoted for
// llama2.clash, about 38,000 cycles per token on stories260K.
constexpr double kClashCyclesPerToken = 38000;
constexpr const char* kClashModel = "stories260K";

struct BenchModel {
  std::string name;
  std::string path;  // empty: the embedded default model
};

struct Row {
  std::string model, quant;
  ModelConfig config;
  tb::AccelMetrics metrics;  // decode figures of the STEPs, prefill figures of the 64-token PROMPT
  std::uint64_t values_compared = 0;
  bool bit_exact = false;
  double seconds = 0;  // wall clock of the row: quantization, golden model and simulation

  bool decode_met() const { return metrics.roofline_ratio <= kRooflineTarget; }
  bool prefill_met() const { return metrics.prefill_pe_utilization >= kPeUtilizationTarget; }
};

// The models to run: the default model first, then the real checkpoints found
// in the folder (real_model_files names the missing ones on stderr).
std::vector<BenchModel> bench_models(const AccelBenchOptions& options) {
  const auto wanted = [&](const std::string& name) { return options.model.empty() || options.model == name; };
  std::vector<BenchModel> models;
  if (wanted("default")) models.push_back({"default", ""});
  if (options.model != "default") {
    for (const auto& path : real_model_files(options.models_dir)) {
      const std::string name = std::filesystem::path(path).stem().string();
      if (wanted(name)) models.push_back({name, path});
    }
  }
  if (models.empty()) throw UsageError("--model " + options.model + ": not found in " + options.models_dir);
  return models;
}

// BOS, then ids of the vocabulary from a fixed seed.
std::vector<int> prefill_prompt(int vocab_size) {
  std::mt19937 rng(kPrefillSeed);
  std::vector<int> ids{kBosToken};
  while (static_cast<int>(ids.size()) < kPrefillTokens) {
    ids.push_back(static_cast<int>(rng() % static_cast<unsigned>(vocab_size)));
  }
  return ids;
}

Row measure(const std::string& name, const LoadedModel& model, int bits, int decode_tokens) {
  const auto start = std::chrono::steady_clock::now();
  const std::string quant = "int" + std::to_string(bits);
  tb::CheckedAccel accel(plain_model(model, bits, "--quant " + quant));
  tb::AccelDriver& driver = accel.driver();
  accel.configure();

  require_ok(accel.open(kDecodeSeq), "OPEN");
  const int bos = kBosToken;
  const tb::AccelSnapshot prompt_start = driver.snapshot();
  require_ok(accel.prompt(kDecodeSeq, std::span(&bos, 1)), "PROMPT");
  const tb::AccelSnapshot decode_start = driver.snapshot();
  for (int i = 0; i < decode_tokens; ++i) require_ok(accel.step(kDecodeSeq), "STEP");
  const tb::AccelSnapshot decode_end = driver.snapshot();
  require_ok(accel.close(kDecodeSeq), "CLOSE");

  require_ok(accel.open(kPrefillSeq), "OPEN");
  const tb::AccelSnapshot prefill_start = driver.snapshot();
  require_ok(accel.prompt(kPrefillSeq, prefill_prompt(model.checkpoint->config.vocab_size)), "PROMPT");
  const tb::AccelSnapshot prefill_end = driver.snapshot();
  const tb::AccelMetrics prefill = tb::accel_metrics(prefill_start, prefill_end, prefill_end, driver.layout());

  Row row;
  row.model = name;
  row.quant = quant;
  row.config = model.checkpoint->config;
  row.metrics = tb::accel_metrics(prompt_start, decode_start, decode_end, driver.layout());
  row.metrics.prefill_cycles_per_token = prefill.prefill_cycles_per_token;
  row.metrics.prefill_pe_utilization = prefill.prefill_pe_utilization;
  row.metrics.prefill_tokens = prefill.prefill_tokens;
  row.values_compared = accel.checker().values_compared();
  row.bit_exact = accel.checker().bit_exact() && row.values_compared > 0;
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return row;
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string target_cell(bool met, double ratio) { return (met ? "met (" : "NOT met (") + fixed(ratio, 3) + ")"; }

struct Column {
  std::string header;
  int width;
  bool left;  // aligned left (names) or right (figures)
  std::function<std::string(const Row&)> cell;
};

const std::vector<Column>& table_columns() {
  static const std::vector<Column> columns = {
      {"model", 13, true, [](const Row& r) { return r.model; }},
      {"quant", 5, true, [](const Row& r) { return r.quant; }},
      {"steps", 5, false, [](const Row& r) { return std::to_string(r.metrics.decode_tokens); }},
      {"cyc/tok", 8, false, [](const Row& r) { return fixed(r.metrics.decode_cycles_per_token, 1); }},
      {"B/tok", 7, false, [](const Row& r) { return fixed(r.metrics.weight_bytes_per_token, 0); }},
      {"roofline", 8, false, [](const Row& r) { return fixed(r.metrics.roofline_ratio, 3); }},
      {"roof_doc", 8, false, [](const Row& r) { return fixed(r.metrics.roofline_ratio_documented, 3); }},
      {"w_port", 6, false, [](const Row& r) { return fixed(r.metrics.weight_port_utilization, 3); }},
      {"kv_port", 7, false, [](const Row& r) { return fixed(r.metrics.kv_port_utilization, 3); }},
      {"matrix", 6, false, [](const Row& r) { return fixed(r.metrics.matrix_busy, 3); }},
      {"attn", 5, false, [](const Row& r) { return fixed(r.metrics.attention_busy, 3); }},
      {"vector", 6, false, [](const Row& r) { return fixed(r.metrics.vector_busy, 3); }},
      {"pf_cyc/tok", 10, false, [](const Row& r) { return fixed(r.metrics.prefill_cycles_per_token, 1); }},
      {"pe_util", 7, false, [](const Row& r) { return fixed(r.metrics.prefill_pe_utilization, 3); }},
      {"sim_cyc/s", 9, false, [](const Row& r) { return fixed(r.metrics.sim_cycles_per_s, 0); }},
      {"sim_tok/s", 9, false, [](const Row& r) { return fixed(r.metrics.sim_tokens_per_s, 1); }},
      {"decode<=" + fixed(kRooflineTarget, 2), 15, true,
       [](const Row& r) { return target_cell(r.decode_met(), r.metrics.roofline_ratio); }},
      {"prefill>=" + fixed(kPeUtilizationTarget, 2), 15, true,
       [](const Row& r) { return target_cell(r.prefill_met(), r.metrics.prefill_pe_utilization); }},
  };
  return columns;
}

void print_table(const std::vector<Row>& rows) {
  const auto line = [](const std::function<std::string(const Column&)>& text) {
    std::string out;
    for (const Column& c : table_columns()) {
      const std::string t = text(c);
      const std::string pad(static_cast<std::size_t>(std::max(0, c.width - static_cast<int>(t.size()))), ' ');
      out += (c.left ? t + pad : pad + t) + "  ";
    }
    out.erase(out.find_last_not_of(' ') + 1);
    std::cout << out << "\n";
  };
  line([](const Column& c) { return c.header; });
  for (const Row& r : rows) line([&](const Column& c) { return c.cell(r); });
}

nlohmann::json row_json(const Row& r) {
  nlohmann::json j{{"model", r.model},
                   {"quant", r.quant},
                   {"config", config_json(r.config)},
                   {"bit_exact", r.bit_exact},
                   {"values_compared", r.values_compared},
                   {"decode_target_met", r.decode_met()},
                   {"prefill_target_met", r.prefill_met()},
                   {"seconds", r.seconds}};
  for (const auto& [name, value] : r.metrics.named()) j[name] = value;
  return j;
}

}  // namespace

void run_bench_accel(const AccelBenchOptions& options) {
  check_writable(options.json_path);
  const int requested = options.tokens > 0 ? options.tokens : options.quick ? kQuickDecodeTokens : kDecodeTokens;
  std::vector<int> quants;
  if (options.quant.empty() || options.quant == "int8") quants.push_back(8);
  if (options.quant.empty() || options.quant == "int4") quants.push_back(4);
  const auto start = std::chrono::steady_clock::now();

  std::vector<Row> rows;
  for (const BenchModel& m : bench_models(options)) {
    const LoadedModel model = load_model(m.path, "");
    // PROMPT [BOS] takes position 0: STEPs fill positions 1 .. seq_len - 1.
    const int seq_len = model.checkpoint->config.seq_len;
    const int decode_tokens = std::min(requested, seq_len - 1);
    if (decode_tokens < requested) {
      std::cerr << "bench: " << m.name << " has seq_len " << seq_len << ": " << decode_tokens << " decode tokens\n";
    }
    for (const int bits : quants) {
      try {
        rows.push_back(measure(m.name, model, bits, decode_tokens));
      } catch (const tb::TapMismatchError& e) {
        throw std::runtime_error("bench accel: " + m.name + " int" + std::to_string(bits) +
                                 ": the RTL differs from the golden model at " + e.what());
      }
      std::cerr << "bench: " << m.name << " int" << bits << " done in " << fixed(rows.back().seconds, 1) << " s\n";
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const tb::AccelDriverOptions memory;  // the driver's HBM models, as measured
  std::cout << "accelerator top (verilated), every token and tap checked against the golden model\n"
            << "decode: OPEN, PROMPT [BOS], " << requested << " STEPs (at most seq_len - 1); prefill: a fresh "
            << "sequence, one PROMPT of " << kPrefillTokens << " tokens; memory latency "
            << memory.weight_memory.latency << " cycles (weights), " << memory.kv_memory.latency << " (KV)\n";
  print_table(rows);

  const auto count = [&](bool (Row::*met)() const) {
    return std::to_string(std::count_if(rows.begin(), rows.end(), [&](const Row& r) { return (r.*met)(); })) +
           " of " + std::to_string(rows.size()) + " rows";
  };
  std::cout << "targets: decode roofline_ratio <= " << fixed(kRooflineTarget, 2) << " met on "
            << count(&Row::decode_met) << "; prefill_pe_utilization >= " << fixed(kPeUtilizationTarget, 2)
            << " met on " << count(&Row::prefill_met) << "\n";

  nlohmann::json reference_ratios = nlohmann::json::array();
  std::cout << "llama2.clash (constant, for context): ~" << fixed(kClashCyclesPerToken, 0) << " cycles/token on "
            << kClashModel;
  for (const Row& r : rows) {
    if (r.model != kClashModel) continue;
    const double ratio = r.metrics.decode_cycles_per_token / kClashCyclesPerToken;
    std::cout << "; " << r.quant << ": " << fixed(r.metrics.decode_cycles_per_token, 1) << " = "
              << fixed(ratio, 3) << " of it (" << fixed(1 / ratio, 1) << "x fewer cycles)";
    reference_ratios.push_back({{"quant", r.quant},
                                {"decode_cycles_per_token", r.metrics.decode_cycles_per_token},
                                {"ratio", ratio}});
  }
  if (reference_ratios.empty()) std::cout << " (" << kClashModel << " not measured)";
  std::cout << "\n";

  const bool bit_exact = std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.bit_exact; });
  std::uint64_t values_compared = 0;
  for (const Row& r : rows) values_compared += r.values_compared;
  std::cout << "bit_exact: " << (bit_exact ? "yes" : "no") << " (" << values_compared << " values compared)\n"
            << "bench_seconds: " << fixed(seconds, 1) << "\n";

  if (!options.json_path.empty()) {
    nlohmann::json results = nlohmann::json::array();
    for (const Row& r : rows) results.push_back(row_json(r));
    write_json(options.json_path,
               {{"bench", "accel"},
                {"decode_tokens_requested", requested},
                {"prefill_prompt_tokens", kPrefillTokens},
                {"prefill_prompt_seed", kPrefillSeed},
                {"memory",
                 {{"weight_latency", memory.weight_memory.latency},
                  {"weight_max_outstanding", memory.weight_memory.max_outstanding},
                  {"kv_latency", memory.kv_memory.latency},
                  {"kv_max_outstanding", memory.kv_memory.max_outstanding}}},
                {"targets",
                 {{"roofline_ratio_max", kRooflineTarget}, {"prefill_pe_utilization_min", kPeUtilizationTarget}}},
                {"results", results},
                {"bit_exact", bit_exact},
                {"values_compared", values_compared},
                {"reference",
                 {{"design", "llama2.clash"},
                  {"model", kClashModel},
                  {"cycles_per_token", kClashCyclesPerToken},
                  {"ratios", reference_ratios}}},
                {"seconds", seconds}});
  }
}

}  // namespace tp::app
