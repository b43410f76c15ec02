// Where a command's model comes from: a checkpoint file (+ optional tokenizer)
// or, with no checkpoint, the embedded default model and its tokenizer.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "golden/checkpoint.h"
#include "golden/engine.h"
#include "golden/tokenizer.h"

namespace tp::app {

struct LoadedModel {
  std::string name;  // the checkpoint path, or "default"
  std::shared_ptr<const Checkpoint> checkpoint;
  std::optional<Tokenizer> tokenizer;
};

// Empty checkpoint_path: the embedded default model (a tokenizer path is then refused).
LoadedModel load_model(const std::string& checkpoint_path, const std::string& tokenizer_path);

// The engines `--engine` may name.
std::vector<std::string> engine_names();
std::unique_ptr<Engine> make_engine(const std::string& name, const LoadedModel& model);

}  // namespace tp::app
