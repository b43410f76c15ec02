#include "app/model_loading.h"

#include "app/commands.h"
#include "golden/default_model.h"
#include "golden/float_model.h"
#include "golden/int/int_model.h"

namespace tp::app {

LoadedModel load_model(const std::string& checkpoint_path, const std::string& tokenizer_path) {
  if (checkpoint_path.empty()) {
    if (!tokenizer_path.empty()) {
      throw UsageError("-z/--tokenizer needs a checkpoint; the default model has its own tokenizer");
    }
    DefaultModel model = make_default_model();
    return {"default", std::move(model.checkpoint), std::move(model.tokenizer)};
  }
  LoadedModel loaded{checkpoint_path,
                     std::make_shared<const Checkpoint>(read_checkpoint(checkpoint_path)),
                     std::nullopt};
  if (!tokenizer_path.empty()) {
    loaded.tokenizer = Tokenizer::read(tokenizer_path, loaded.checkpoint->config.vocab_size);
  }
  return loaded;
}

std::vector<std::string> engine_names() { return {"float", "int8", "int4"}; }

std::unique_ptr<Engine> make_engine(const std::string& name, const LoadedModel& model) {
  if (name == "float") return std::make_unique<FloatModel>(model.checkpoint);
  if (name == "int8" || name == "int4") {
    const fx::ActivationStats stats = fx::calibrate(model.checkpoint);
    auto quantized =
        std::make_shared<const fx::QuantizedModel>(fx::quantize_model(*model.checkpoint, name == "int8" ? 8 : 4, &stats));
    return std::make_unique<fx::IntModel>(std::move(quantized));
  }
  throw UsageError("unknown engine '" + name + "'");
}

}  // namespace tp::app
