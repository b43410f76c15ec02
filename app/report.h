// JSON reports shared by the commands.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "golden/model_config.h"

namespace tp::app {

nlohmann::json config_json(const ModelConfig& config);
// Throws UsageError unless `path` can be written; commands call it before
// their work so that a long run never ends in a failed report.
void check_writable(const std::string& path);
// Throws UsageError when the file cannot be written.
void write_json(const std::string& path, const nlohmann::json& report);

}  // namespace tp::app
