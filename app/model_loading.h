// Where a command's model comes from: a checkpoint file (+ optional tokenizer)
// or, with no checkpoint, the embedded default model and its tokenizer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "golden/checkpoint.h"
#include "golden/engine.h"
#include "golden/int/quantized_model.h"
#include "golden/tokenizer.h"

namespace tp::app {

struct LoadedModel {
  std::string name;  // the checkpoint path, or "default"
  std::shared_ptr<const Checkpoint> checkpoint;
  std::optional<Tokenizer> tokenizer;
  std::shared_ptr<const fx::QuantizedModel> image;  // a weight image given with --image
};

// Empty checkpoint_path: the embedded default model (a tokenizer path is then
// refused). A weight image must hold the checkpoint's configuration.
LoadedModel load_model(const std::string& checkpoint_path, const std::string& tokenizer_path,
                       const std::string& image_path = "");

// The precision plans of the integer engines (golden/int/quantized_model.h):
// plain (int8, int4), fx::mixed_precision_plan (int8-mixed, int4-mixed) and
// the golden-only fx::hifi_precision_plan (int8-hifi, int4-hifi).
enum class Plan { kPlain, kMixed, kHifi };

// The weight image the integer engines run: activation-aware quantization with
// statistics from the float model (golden/int/calibration.h), with `plan`.
std::shared_ptr<const fx::QuantizedModel> quantize_calibrated(const LoadedModel& model, int bits,
                                                              Plan plan = Plan::kPlain);

// The plain weight image at `bits` (8 or 4): the one given with --image, which
// must be INT<bits> (`option` names the flag that asked for it in the error),
// else the checkpoint quantized by quantize_calibrated.
std::shared_ptr<const fx::QuantizedModel> plain_model(const LoadedModel& model, int bits, const std::string& option);

// The real checkpoints of `models_dir` that exist (aidreams260K, stories260K),
// each missing one named on stderr as skipped: the benches' model list.
std::vector<std::string> real_model_files(const std::string& models_dir);

// One token id written in decimal; `where` names the source in the error.
int parse_token_id(const std::string& word, const std::string& where);

// The engines `--engine` may name ("rtl": the verilated accelerator, which
// only `generate` runs, app/generate_rtl.h; make_engine refuses it).
std::vector<std::string> engine_names();
std::unique_ptr<Engine> make_engine(const std::string& name, const LoadedModel& model);

}  // namespace tp::app
