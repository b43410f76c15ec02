// tokenpipe generate: llama2.c `run` flags and output, on any engine.
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "app/commands.h"
#include "app/generate_rtl.h"
#include "app/model_loading.h"
#include "app/report.h"
#include "golden/generate.h"

namespace tp::app {

namespace {

struct GenerateOptions {
  std::string checkpoint;
  std::string tokenizer;
  std::string prompt;
  std::string prompt_ids;
  std::string engine = "float";
  std::string image;
  std::string json_path;
  int steps = 256;
  float temperature = 1.0f;
  float topp = 0.9f;
  unsigned long long seed = 0;
  bool print_ids = false;
  bool temperature_given = false;
  // --engine rtl only.
  std::string quant;       // int8 or int4; empty: int8, or the --image's
  std::string trace_path;  // FST of the run
};

std::vector<int> parse_ids(const std::string& text) {
  std::vector<int> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    ids.push_back(parse_token_id(word, "--prompt-ids"));
  }
  if (ids.empty()) throw UsageError("--prompt-ids: no token ids given");
  return ids;
}

std::vector<int> prompt_tokens(const GenerateOptions& options, const LoadedModel& model) {
  if (!options.prompt_ids.empty()) return parse_ids(options.prompt_ids);
  if (!model.tokenizer) {
    if (!options.prompt.empty()) throw UsageError("-i needs a tokenizer (-z) to encode the prompt");
    return {kBosToken};
  }
  return model.tokenizer->encode(options.prompt, true, false);
}

std::string join_ids(std::span<const int> ids) {
  std::string out;
  for (const int id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

// A figure as printed: whole numbers without decimals.
std::string metric_text(double v) {
  if (std::isnan(v)) return "n/a";  // e.g. decode figures of a run without decode steps
  std::ostringstream out;
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out << static_cast<long long>(v);
  } else {
    out << std::fixed << std::setprecision(4) << v;
  }
  return out.str();
}

void check_rtl_options(const GenerateOptions& options) {
  if (options.engine != "rtl") {
    if (!options.quant.empty() || !options.trace_path.empty()) throw UsageError("--quant and --trace need --engine rtl");
    return;
  }
  if (options.temperature_given && options.temperature != 0.0f) {
    throw UsageError("--engine rtl samples greedily (the hardware's argmax): -t/--temperature must be 0");
  }
  if (!options.trace_path.empty() && !std::ofstream(options.trace_path, std::ios::app)) {
    throw UsageError(options.trace_path + ": cannot write the trace");
  }
}

void run_generate(const GenerateOptions& options) {
  if (!options.prompt.empty() && !options.prompt_ids.empty()) {
    throw UsageError("give the prompt as text (-i) or as ids (--prompt-ids), not both");
  }
  if (options.steps < 0) throw UsageError("-n/--steps must be >= 0");
  if (options.temperature < 0.0f) throw UsageError("-t/--temperature must be >= 0");
  if (options.topp < 0.0f || options.topp > 1.0f) throw UsageError("-p/--topp must be in [0, 1]");

  check_rtl_options(options);
  check_writable(options.json_path);
  const LoadedModel model = load_model(options.checkpoint, options.tokenizer, options.image);
  const ModelConfig& config = model.checkpoint->config;
  // As in run.c: 0 or more than the context means the whole context.
  const int steps = options.steps == 0 || options.steps > config.seq_len ? config.seq_len : options.steps;
  const std::uint64_t seed = options.seed != 0 ? options.seed : static_cast<std::uint64_t>(std::time(nullptr));
  const auto prompt = prompt_tokens(options, model);
  if (static_cast<int>(prompt.size()) > steps) {  // run.c runs only `steps` positions, prompt included
    std::cerr << "note: the prompt has " << prompt.size() << " tokens; only the first " << steps
              << " are run (-n / seq_len " << config.seq_len << ")\n";
  }

  std::string text;
  const TokenCallback print = [&](int prev, int next) {
    if (!model.tokenizer) return;
    const auto piece = Tokenizer::printable(model.tokenizer->decode(prev, next));
    text += piece;
    std::cout << piece << std::flush;
  };
  const auto start = std::chrono::steady_clock::now();
  Generation generation;
  std::string engine_name;
  std::optional<RtlGeneration> hardware;  // --engine rtl
  // The fields every --json report has, also one written on a mismatch.
  const auto report_base = [&] {
    nlohmann::json report{{"model", model.name}, {"config", config_json(config)}, {"engine", engine_name},
                          {"steps", steps}, {"prompt_tokens", prompt}};
    if (model.tokenizer) report["text"] = text;
    return report;
  };
  if (options.engine == "rtl") {
    const std::string quant = !options.quant.empty() ? options.quant
                              : model.image != nullptr ? "int" + std::to_string(model.image->bits)
                                                       : "int8";
    const auto quantized = plain_model(model, quant == "int4" ? 4 : 8, "--quant " + quant);
    engine_name = "rtl-" + quant;
    tb::AccelDriverOptions driver;
    driver.harness.trace_path = options.trace_path;
    try {
      hardware = generate_rtl(quantized, prompt, steps, print, std::move(driver));
    } catch (const RtlCommandError& e) {
      // Everything the hardware produced before the error was checked.
      if (model.tokenizer) std::cout << "\n" << std::flush;
      std::cerr << "bit_exact: yes (" << e.values_compared << " values compared before the error)\n";
      if (!options.json_path.empty()) {
        nlohmann::json report = report_base();
        report["bit_exact"] = true;
        report["values_compared"] = e.values_compared;
        report["error"] = e.what();
        write_json(options.json_path, report);
      }
      throw std::runtime_error(std::string("the accelerator refused a command: ") + e.what());
    } catch (const tb::TapMismatchError& e) {
      if (model.tokenizer) std::cout << "\n" << std::flush;
      std::cerr << "bit_exact: no\n";
      if (!options.json_path.empty()) {
        const tb::TapMismatch& m = e.mismatch;
        nlohmann::json report = report_base();
        report["bit_exact"] = false;
        report["mismatch"] = {{"pos", m.pos}, {"layer", m.layer}, {"stage", m.stage}, {"index", m.index},
                              {"expected", m.expected}, {"actual", m.actual ? nlohmann::json(*m.actual) : nullptr},
                              {"description", m.describe()}};
        write_json(options.json_path, report);
      }
      throw std::runtime_error(std::string("the RTL differs from the golden model at ") + e.what());
    }
    generation = hardware->generation;
  } else {
    auto engine = make_engine(options.engine, model);
    Sampler sampler(config.vocab_size, {options.temperature, options.topp, seed});
    generation = generate(*engine, sampler, prompt, steps, print);
    engine_name = engine->name();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double tokens_per_s = seconds > 0 ? generation.positions / seconds : 0.0;

  if (model.tokenizer) std::cout << "\n";
  const std::span<const int> after_first(generation.tokens.begin() + 1, generation.tokens.end());
  if (options.print_ids || !model.tokenizer) std::cout << "ids: " << join_ids(after_first) << "\n";
  std::cout << std::flush;
  std::cerr << "engine: " << engine_name << "\n"
            << "positions: " << generation.positions << "\n"
            << "achieved tok/s: " << tokens_per_s << "\n";
  if (hardware) {
    std::cerr << "bit_exact: yes\n";
    for (const auto& [name, value] : hardware->metrics.named()) std::cerr << name << ": " << metric_text(value) << "\n";
  }

  if (!options.json_path.empty()) {
    const float temperature = hardware ? 0.0f : options.temperature;
    nlohmann::json report = report_base();
    report["sampler"] = {{"temperature", temperature}, {"topp", options.topp}, {"seed", seed}};
    report["tokens"] = generation.tokens;
    report["positions"] = generation.positions;
    report["stopped_at_bos"] = generation.stopped_at_bos;
    report["seconds"] = seconds;
    report["tokens_per_s"] = tokens_per_s;
    if (hardware) {
      report["bit_exact"] = true;
      report["values_compared"] = hardware->values_compared;
      for (const auto& [name, value] : hardware->metrics.named()) report[name] = value;
      if (!options.trace_path.empty()) report["trace"] = options.trace_path;
    }
    write_json(options.json_path, report);
  }
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto options = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "generate tokens (llama2.c `run` semantics)");
  cmd->add_option("checkpoint", options->checkpoint,
                  "llama2.c checkpoint (legacy, ak42 v1 or v2); none: the embedded default model");
  cmd->add_option("-z,--tokenizer", options->tokenizer, "tokenizer .bin of the checkpoint");
  cmd->add_option("-i,--prompt", options->prompt, "prompt text");
  cmd->add_option("--prompt-ids", options->prompt_ids, "prompt as token ids, e.g. \"1 72 305\" (BOS first)");
  cmd->add_option("-n,--steps", options->steps, "positions to run, prompt included; 0 = seq_len")
      ->capture_default_str();
  CLI::Option* temperature =
      cmd->add_option("-t,--temperature", options->temperature, "0 = greedy (--engine rtl: 0, the default there)")
          ->capture_default_str();
  cmd->add_option("-p,--topp", options->topp, "top-p (nucleus) threshold in [0, 1]")->capture_default_str();
  cmd->add_option("-s,--seed", options->seed, "random seed; 0 = time")->capture_default_str();
  cmd->add_option("--engine", options->engine, "engine that runs the model")
      ->check(CLI::IsMember(engine_names()))
      ->capture_default_str();
  cmd->add_option("--image", options->image, "weight image (tokenpipe quantize) for the int8/int4/rtl engine");
  cmd->add_option("--quant", options->quant, "--engine rtl: weight format (default int8, or the --image's)")
      ->check(CLI::IsMember({"int8", "int4"}));
  cmd->add_option("--trace", options->trace_path, "--engine rtl: write an FST waveform of the run to this file");
  cmd->add_flag("--print-ids", options->print_ids, "end with a line 'ids: <tokens after the first>'");
  cmd->add_option("--json", options->json_path, "write a JSON report to this file");
  cmd->callback([options, temperature] {
    options->temperature_given = temperature->count() > 0;
    run_generate(*options);
  });
}

}  // namespace tp::app
