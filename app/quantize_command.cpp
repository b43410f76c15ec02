// tokenpipe quantize: writes the accelerator's weight image (docs/weight-image.md).
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "app/commands.h"
#include "app/model_loading.h"
#include "app/report.h"
#include "golden/int/weight_image.h"

namespace tp::app {

namespace {

struct QuantizeOptions {
  std::string checkpoint;
  std::string quant;
  std::string output;
  std::string json_path;
};

std::string section_name(const fx::ImageSection& s) {
  std::string name = fx::section_kind_name(s.kind);
  return s.layer == fx::kNoLayer ? name : "layer" + std::to_string(s.layer) + "." + name;
}

nlohmann::json sections_json(const fx::WeightImageLayout& layout) {
  nlohmann::json sections = nlohmann::json::array();
  for (const fx::ImageSection& s : layout.sections) {
    sections.push_back({{"name", section_name(s)}, {"rows", s.rows}, {"cols", s.cols},
                        {"offset", s.offset}, {"length", s.length}});
  }
  return sections;
}

void run_quantize(const QuantizeOptions& options) {
  check_writable(options.json_path);
  const int bits = options.quant == "int8" ? 8 : 4;
  const LoadedModel model = load_model(options.checkpoint, "");
  const std::vector<std::uint8_t> image = fx::write_weight_image(*quantize_calibrated(model, bits));
  // Read back what is written: the file is known good before anyone streams it.
  const fx::WeightImageLayout layout = fx::read_weight_image_layout(image);
  try {
    write_file(options.output, image);
  } catch (const CheckpointError& e) {
    throw UsageError(e.what());
  }

  const ModelConfig& c = layout.config;
  const std::int64_t per_token = fx::weight_bytes_per_token(layout);
  const std::int64_t estimate = c.weight_bytes_per_token(bits);
  const auto checksum = fx::weight_image_checksum(image);
  std::ostringstream crc;
  crc << "0x" << std::hex << std::setw(8) << std::setfill('0') << checksum;
  std::cout << "model: " << model.name << " (" << c.describe() << ")\n"
            << "quant: " << options.quant << "\n"
            << "sections: " << layout.sections.size() << " (embedding, " << c.n_layers
            << " layers x 6, rms_final, classifier" << (c.shared_classifier ? " = embedding" : "") << ")\n"
            << "image_bytes: " << layout.total_bytes << " (header " << layout.header_bytes << ")\n"
            << "weight_bytes_per_token: " << per_token << " (" << per_token / fx::kBeatBytes
            << " beats of 64 bytes; config estimate " << estimate << ")\n"
            << "checksum: " << crc.str() << "\n"
            << "wrote: " << options.output << "\n";
  if (!options.json_path.empty()) {
    write_json(options.json_path, {{"model", model.name},
                                   {"config", config_json(c)},
                                   {"quant", options.quant},
                                   {"image", options.output},
                                   {"format_version", fx::kImageVersion},
                                   {"image_bytes", layout.total_bytes},
                                   {"header_bytes", layout.header_bytes},
                                   {"checksum", crc.str()},
                                   {"weight_bytes_per_token", per_token},
                                   {"weight_bytes_per_token_estimate", estimate},
                                   {"sections", sections_json(layout)}});
  }
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto options = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "write the accelerator's weight image of a checkpoint");
  cmd->add_option("checkpoint", options->checkpoint, "llama2.c checkpoint; none: the embedded default model");
  cmd->add_option("--quant", options->quant, "weight format")->required()->check(CLI::IsMember({"int8", "int4"}));
  cmd->add_option("-o,--output", options->output, "the weight image to write")->required();
  cmd->add_option("--json", options->json_path, "write a JSON report to this file");
  cmd->callback([options] { run_quantize(*options); });
}

}  // namespace tp::app
