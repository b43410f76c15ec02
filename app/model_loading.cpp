#include "app/model_loading.h"

#include <filesystem>
#include <iostream>

#include "app/commands.h"
#include "golden/default_model.h"
#include "golden/float_model.h"
#include "golden/int/int_model.h"
#include "golden/int/weight_image.h"

namespace tp::app {

namespace {

LoadedModel load_checkpoint_and_tokenizer(const std::string& checkpoint_path, const std::string& tokenizer_path) {
  if (checkpoint_path.empty()) {
    if (!tokenizer_path.empty()) {
      throw UsageError("-z/--tokenizer needs a checkpoint; the default model has its own tokenizer");
    }
    DefaultModel model = make_default_model();
    return {"default", std::move(model.checkpoint), std::move(model.tokenizer), nullptr};
  }
  LoadedModel loaded{checkpoint_path, std::make_shared<const Checkpoint>(read_checkpoint(checkpoint_path)),
                     std::nullopt, nullptr};
  if (!tokenizer_path.empty()) {
    loaded.tokenizer = Tokenizer::read(tokenizer_path, loaded.checkpoint->config.vocab_size);
  }
  return loaded;
}

}  // namespace

LoadedModel load_model(const std::string& checkpoint_path, const std::string& tokenizer_path,
                       const std::string& image_path) {
  LoadedModel loaded = load_checkpoint_and_tokenizer(checkpoint_path, tokenizer_path);
  if (!image_path.empty()) {
    loaded.image = std::make_shared<const fx::QuantizedModel>(fx::load_weight_image(image_path));
    if (!(loaded.image->config == loaded.checkpoint->config)) {
      throw UsageError(image_path + ": the image holds " + loaded.image->config.describe() + ", the model (" +
                       loaded.name + ") is " + loaded.checkpoint->config.describe());
    }
  }
  return loaded;
}

std::shared_ptr<const fx::QuantizedModel> quantize_calibrated(const LoadedModel& model, int bits, Plan plan) {
  const fx::ActivationStats stats = fx::calibrate(model.checkpoint);
  const ModelConfig& config = model.checkpoint->config;
  const fx::PrecisionPlan precision = plan == Plan::kMixed  ? fx::mixed_precision_plan(config, bits)
                                      : plan == Plan::kHifi ? fx::hifi_precision_plan(config, bits)
                                                            : fx::PrecisionPlan{};
  return std::make_shared<const fx::QuantizedModel>(fx::quantize_model(*model.checkpoint, bits, &stats, precision));
}

std::shared_ptr<const fx::QuantizedModel> plain_model(const LoadedModel& model, int bits, const std::string& option) {
  if (model.image == nullptr) return quantize_calibrated(model, bits);
  if (model.image->bits != bits) {
    throw UsageError(option + " but the weight image is INT" + std::to_string(model.image->bits));
  }
  return model.image;
}

int parse_token_id(const std::string& word, const std::string& where) {
  std::size_t used = 0;
  int id = 0;
  try {
    id = std::stoi(word, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != word.size()) throw UsageError(where + ": '" + word + "' is not a token id");
  return id;
}

std::vector<std::string> engine_names() {
  return {"float", "int8", "int4", "int8-mixed", "int4-mixed", "int8-hifi", "int4-hifi", "rtl"};
}

std::unique_ptr<Engine> make_engine(const std::string& name, const LoadedModel& model) {
  if (name == "float") {
    if (model.image != nullptr) throw UsageError("--image needs an integer engine (--engine int8 or int4)");
    return std::make_unique<FloatModel>(model.checkpoint);
  }
  const bool mixed = name == "int8-mixed" || name == "int4-mixed";
  if (mixed || name == "int8-hifi" || name == "int4-hifi") {
    if (model.image != nullptr) throw UsageError("--image holds the plain format: use --engine int8 or int4");
    const int bits = name.starts_with("int8") ? 8 : 4;
    return std::make_unique<fx::IntModel>(quantize_calibrated(model, bits, mixed ? Plan::kMixed : Plan::kHifi));
  }
  if (name == "int8" || name == "int4") {
    return std::make_unique<fx::IntModel>(plain_model(model, name == "int8" ? 8 : 4, "--engine " + name));
  }
  if (name == "rtl") throw UsageError("--engine rtl: only `tokenpipe generate` runs the verilated accelerator");
  throw UsageError("unknown engine '" + name + "'");
}

std::vector<std::string> real_model_files(const std::string& models_dir) {
  std::vector<std::string> files;
  for (const char* name : {"aidreams260K.bin", "stories260K.bin"}) {
    const auto path = std::filesystem::path(models_dir) / name;
    if (std::filesystem::exists(path)) {
      files.push_back(path.string());
    } else {
      std::cerr << "bench: " << path.string() << " not found, skipped (see --models-dir)\n";
    }
  }
  return files;
}

}  // namespace tp::app
