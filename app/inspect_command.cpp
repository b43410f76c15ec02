// tokenpipe inspect: what a checkpoint holds and what a token costs to read.
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/report.h"
#include "golden/checkpoint.h"

namespace tp::app {

namespace {

struct InspectOptions {
  std::string checkpoint;
  std::string json_path;
};

void run_inspect(const InspectOptions& options) {
  check_writable(options.json_path);
  const Checkpoint ckpt = read_checkpoint(options.checkpoint);
  const ModelConfig& c = ckpt.config;
  nlohmann::json report{{"file", options.checkpoint},
                        {"format", format_name(ckpt.format)},
                        {"config", config_json(c)},
                        {"head_size", c.head_size()},
                        {"kv_dim", c.kv_dim()},
                        {"parameters", c.parameter_count()},
                        {"weight_bytes_per_token",
                         {{"fp32", c.weight_bytes_per_token(32)},
                          {"int8", c.weight_bytes_per_token(8)},
                          {"int4", c.weight_bytes_per_token(4)}}}};
  if (ckpt.format == CheckpointFormat::kQ8V2) report["group_size"] = ckpt.group_size;

  std::cout << "file: " << options.checkpoint << "\n"
            << "format: " << format_name(ckpt.format) << "\n";
  for (const auto& [key, value] : report["config"].items()) std::cout << key << ": " << value << "\n";
  if (ckpt.format == CheckpointFormat::kQ8V2) std::cout << "group_size: " << ckpt.group_size << "\n";
  std::cout << "head_size: " << c.head_size() << "\n"
            << "kv_dim: " << c.kv_dim() << "\n"
            << "parameters: " << c.parameter_count() << "\n";
  for (const char* format : {"fp32", "int8", "int4"}) {
    std::cout << "weight_bytes_per_token_" << format << ": "
              << report["weight_bytes_per_token"][format] << "\n";
  }
  if (!options.json_path.empty()) write_json(options.json_path, report);
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "print a checkpoint's configuration and sizes");
  cmd->add_option("checkpoint", options->checkpoint, "llama2.c checkpoint")->required();
  cmd->add_option("--json", options->json_path, "write a JSON report to this file");
  cmd->callback([options] { run_inspect(*options); });
}

}  // namespace tp::app
