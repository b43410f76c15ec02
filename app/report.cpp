#include "app/report.h"

#include <fstream>

#include "app/commands.h"

namespace tp::app {

nlohmann::json config_json(const ModelConfig& c) {
  return {{"dim", c.dim},           {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},   {"n_kv_heads", c.n_kv_heads}, {"vocab_size", c.vocab_size},
          {"seq_len", c.seq_len},   {"shared_classifier", c.shared_classifier}};
}

void check_writable(const std::string& path) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::app);
  if (!out) throw UsageError(path + ": cannot write the JSON report");
}

void write_json(const std::string& path, const nlohmann::json& report) {
  std::ofstream out(path);
  out << report.dump(2) << "\n";
  if (!out) throw UsageError(path + ": cannot write the JSON report");
}

}  // namespace tp::app
