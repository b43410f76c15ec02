// tokenpipe eval: teacher-forced agreement of an integer engine with the float path.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "app/commands.h"
#include "app/model_loading.h"
#include "app/report.h"
#include "golden/eval.h"
#include "golden/float_model.h"

namespace tp::app {

namespace {

struct EvalOptions {
  std::string checkpoint;
  std::string engine = "int8";
  std::string ids_file;
  std::string image;
  std::string json_path;
};

// Whitespace-separated ids, BOS first. A leading "ids:" marks `generate
// --print-ids` output (the tokens after BOS), so BOS is put back in front.
std::vector<int> read_ids_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(path + ": cannot open the ids file");
  std::vector<int> ids;
  std::string word;
  bool first = true;
  while (in >> word) {
    if (first && word == "ids:") {
      ids.push_back(1);
      first = false;
      continue;
    }
    first = false;
    ids.push_back(parse_token_id(word, path));
  }
  if (ids.size() < 2) throw UsageError(path + ": needs at least 2 token ids");
  return ids;
}

void run_eval(const EvalOptions& options) {
  check_writable(options.json_path);
  const auto ids = read_ids_file(options.ids_file);
  const LoadedModel model = load_model(options.checkpoint, "", options.image);
  for (const int id : ids) {
    if (id < 0 || id >= model.checkpoint->config.vocab_size) {
      throw UsageError(options.ids_file + ": token " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  FloatModel reference(model.checkpoint);
  auto candidate = make_engine(options.engine, model);
  const EvalMetrics m = teacher_forced_compare(reference, *candidate, ids);
  std::cout << "positions: " << m.positions << "\n"
            << "top1_agreement: " << m.top1_agreement << "\n"
            << "mean_kl: " << m.mean_kl << "\n"
            << "ppl_float: " << m.ppl_reference << "\n"
            << "ppl_quant: " << m.ppl_candidate << "\n";
  if (!options.json_path.empty()) {
    write_json(options.json_path, {{"model", model.name},
                                   {"engine", candidate->name()},
                                   {"positions", m.positions},
                                   {"top1_agreement", m.top1_agreement},
                                   {"mean_kl", m.mean_kl},
                                   {"ppl_float", m.ppl_reference},
                                   {"ppl_quant", m.ppl_candidate}});
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "teacher-forced comparison of a quantized engine with the float path");
  cmd->add_option("checkpoint", options->checkpoint, "llama2.c checkpoint; none: the embedded default model");
  cmd->add_option("--engine", options->engine,
                  "quantized engine (-mixed: the mixed-precision plan; -hifi: it with the golden-only 16-bit "
                  "attention)")
      ->check(CLI::IsMember({"int8", "int4", "int8-mixed", "int4-mixed", "int8-hifi", "int4-hifi"}))
      ->capture_default_str();
  cmd->add_option("--ids-file", options->ids_file, "token ids, BOS first (or `generate --print-ids` output)")
      ->required();
  cmd->add_option("--image", options->image, "weight image (tokenpipe quantize) to evaluate instead of quantizing");
  cmd->add_option("--json", options->json_path, "write a JSON report to this file");
  cmd->callback([options] { run_eval(*options); });
}

}  // namespace tp::app
