// The tokenpipe command line, run as a user runs it.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "golden/checkpoint.h"
#include "golden/default_model.h"
#include "real_models.h"

namespace tp {
namespace {

using testing::model_path;
using testing::read_text;

struct CliRun {
  int exit_code;
  std::string out;
  std::string err;
};

std::string quoted(const std::string& arg) {
  std::string q = "'";
  for (const char c : arg) {
    if (c == '\'') {
      q.append("'\\''");  // close, escaped quote, reopen
    } else {
      q.push_back(c);
    }
  }
  return q + "'";
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("tokenpipe_cli_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CliRun tokenpipe(const std::vector<std::string>& args) {
    std::string command = quoted(TOKENPIPE_BINARY);
    for (const auto& arg : args) command.append(" ").append(quoted(arg));
    const auto out = dir_ / "stdout", err = dir_ / "stderr";
    command.append(" >").append(quoted(out.string())).append(" 2>").append(quoted(err.string()));
    command.append(" </dev/null");
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out.string()), read_text(err.string())};
  }

  std::filesystem::path dir_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A failure is one clear line on stderr and a non-zero exit.
void expect_clean_failure(const CliRun& run, const std::string& message_part) {
  EXPECT_NE(run.exit_code, 0);
  EXPECT_EQ(lines_of(run.err).size(), 1u) << run.err;
  EXPECT_NE(run.err.find(message_part), std::string::npos) << run.err;
}

TEST_F(Cli, GreedyGenerationPrintsExactlyLlama2cText) {
  TP_REQUIRE_MODEL_FILE("aidreams260K.bin");
  const std::vector<std::string> base{"generate", model_path("aidreams260K.bin"), "-z",
                                      model_path("aidreams_tok512.bin"), "-t", "0", "-n", "128"};
  const CliRun bos = tokenpipe(base);
  EXPECT_EQ(bos.exit_code, 0) << bos.err;
  EXPECT_EQ(bos.out, read_text(model_path("reference/aidreams_greedy_bos.txt")));
  auto with_prompt = base;
  with_prompt.insert(with_prompt.end(), {"-i", "I dream of"});
  EXPECT_EQ(tokenpipe(with_prompt).out, read_text(model_path("reference/aidreams_greedy_idream.txt")));
}

TEST_F(Cli, PrintIdsEndsWithTheReferenceIdsLine) {
  TP_REQUIRE_MODEL_FILE("aidreams260K.bin");
  const CliRun run = tokenpipe({"generate", model_path("aidreams260K.bin"), "-z", model_path("aidreams_tok512.bin"),
                             "-t", "0", "-n", "128", "--print-ids"});
  const auto lines = lines_of(run.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back() + "\n", read_text(model_path("reference/aidreams_greedy_bos.ids")));
}

TEST_F(Cli, PromptIdsDriveAModelWithoutTokenizer) {
  TP_REQUIRE_MODEL_FILE("aidreams260K.bin");
  const auto ids = testing::read_reference_ids(model_path("reference/aidreams_greedy_bos.ids"));
  // Forcing the first 10 reference tokens must lead greedy decoding to the rest.
  std::string prompt = "1";
  for (int i = 0; i < 10; ++i) prompt.append(" ").append(std::to_string(ids[i]));
  const CliRun run = tokenpipe({"generate", model_path("aidreams260K.bin"), "--prompt-ids", prompt, "-t", "0",
                             "-n", "128"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, read_text(model_path("reference/aidreams_greedy_bos.ids")));
}

TEST_F(Cli, DefaultModelNeedsNoFiles) {
  const CliRun run = tokenpipe({"generate", "-t", "0"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, std::string(default_model_text()) + "\n");
  EXPECT_NE(run.err.find("engine: float"), std::string::npos);
  EXPECT_NE(run.err.find("achieved tok/s"), std::string::npos);
}

TEST_F(Cli, SamplingIsReproducibleFromTheSeed) {
  const std::vector<std::string> args{"generate", "-t", "1.5", "-p", "0.95", "-s", "17", "--print-ids"};
  const CliRun a = tokenpipe(args), b = tokenpipe(args);
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST_F(Cli, JsonReportDescribesTheRun) {
  const auto path = (dir_ / "report.json").string();
  const CliRun run = tokenpipe({"generate", "-t", "0", "-n", "5", "--json", path});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto report = nlohmann::json::parse(read_text(path));
  EXPECT_EQ(report["engine"], "float");
  EXPECT_EQ(report["model"], "default");
  EXPECT_EQ(report["positions"], 5);
  EXPECT_EQ(report["tokens"].size(), 6u);  // BOS and one token per position
  EXPECT_EQ(report["tokens"][0], 1);
  EXPECT_EQ(report["config"]["n_kv_heads"], 2);
}

TEST_F(Cli, StepsBeyondTheContextAreClampedToIt) {
  TP_REQUIRE_MODEL_FILE("stories260K.bin");
  const auto path = (dir_ / "r.json").string();
  const CliRun run = tokenpipe({"generate", model_path("stories260K.bin"), "-t", "0", "-n", "100000", "--json", path});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(path))["steps"], 512);
}

TEST_F(Cli, InspectReportsConfigAndBytesPerToken) {
  TP_REQUIRE_MODEL_FILE("stories260K.bin");
  const CliRun run = tokenpipe({"inspect", model_path("stories260K.bin")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* line : {"n_heads: 8", "n_kv_heads: 4", "n_layers: 5", "hidden_dim: 172", "seq_len: 512",
                           "weight_bytes_per_token_fp32:", "weight_bytes_per_token_int8:",
                           "weight_bytes_per_token_int4:", "parameters: "}) {
    EXPECT_NE(run.out.find(line), std::string::npos) << line;
  }
}

TEST_F(Cli, BenchPrintsTokensPerSecond) {
  const CliRun run = tokenpipe({"bench", "float", "--positions", "8", "--repeats", "1", "--models-dir",
                             std::string(TOKENPIPE_MODELS_DIR)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("float_tokens_per_s[default]:"), std::string::npos);
}

// The attention bench on the default model's shape (no real models in the
// folder): every length checked against fx::attention, the JSON report.
TEST_F(Cli, BenchAttentionReportsKvPortUtilization) {
  const auto report = (dir_ / "attention.json").string();
  const CliRun run =
      tokenpipe({"bench", "attention", "--models-dir", (dir_ / "none").string(), "--json", report});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("attention[default, length 16]:"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\nkv_port_utilization: "), std::string::npos) << run.out;
  const auto json = nlohmann::json::parse(read_text(report));
  EXPECT_EQ(json["bench"], "attention");
  EXPECT_GT(json["results"].size(), 1u);
  EXPECT_GT(json["kv_port_utilization"].get<double>(), 0.5);
}

// The accelerator bench on the default model only (--quick: 16 decode STEPs
// and the 64-token prefill per format): one table row and one JSON result per
// format, every figure present, bit-exact with the golden model.
TEST_F(Cli, BenchAccelReportsTheIssue7Targets) {
  const auto report = (dir_ / "accel.json").string();
  const CliRun run = tokenpipe({"bench", "accel", "--model", "default", "--quick", "--json", report});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  int table_rows = 0;
  for (const std::string& line : lines_of(run.out)) table_rows += line.rfind("default ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(table_rows, 2) << run.out;
  for (const char* text : {"\ntargets: decode roofline_ratio <= 1.10", "\nllama2.clash", "\nbit_exact: yes"}) {
    EXPECT_NE(run.out.find(text), std::string::npos) << text << "\n" << run.out;
  }
  const auto json = nlohmann::json::parse(read_text(report));
  EXPECT_EQ(json["bench"], "accel");
  EXPECT_EQ(json["bit_exact"], true);
  ASSERT_EQ(json["results"].size(), 2u);
  for (const auto& r : json["results"]) {
    EXPECT_EQ(r["model"], "default");
    EXPECT_EQ(r["bit_exact"], true);
    EXPECT_EQ(r["decode_tokens"], 16);
    EXPECT_EQ(r["prefill_tokens"], 64);
    for (const char* key : {"decode_cycles_per_token", "weight_bytes_per_token", "roofline_ratio",
                            "roofline_ratio_documented", "prefill_cycles_per_token", "prefill_pe_utilization",
                            "weight_port_utilization", "kv_port_utilization", "matrix_busy", "attention_busy",
                            "vector_busy", "sim_cycles_per_s", "sim_tokens_per_s"}) {
      ASSERT_TRUE(r.contains(key)) << key;
      EXPECT_GT(r[key].get<double>(), 0) << key;
    }
    EXPECT_TRUE(r["decode_target_met"].is_boolean());
    EXPECT_TRUE(r["prefill_target_met"].is_boolean());
  }
  EXPECT_EQ(json["reference"]["cycles_per_token"], 38000);
}

// The verilated accelerator top: its tokens equal the golden INT8 engine's,
// every tap matches the golden model, and the issue-7 figures are reported.
TEST_F(Cli, RtlEngineIsBitExactOnTheDefaultModel) {
  const auto report = (dir_ / "rtl.json").string();
  const CliRun run = tokenpipe({"generate", "--engine", "rtl", "--quant", "int8", "-n", "12", "--json", report});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("\nbit_exact: yes\n"), std::string::npos) << run.err;
  for (const char* figure : {"decode_cycles_per_token", "weight_bytes_per_token", "roofline_ratio",
                             "prefill_pe_utilization", "sim_tokens_per_s", "sim_cycles_per_s",
                             "weight_port_utilization", "kv_port_utilization"}) {
    const std::string line = std::string(figure).append(": ");
    EXPECT_NE(run.err.find(line), std::string::npos) << run.err;
  }
  EXPECT_EQ(run.out, tokenpipe({"generate", "--engine", "int8", "-t", "0", "-n", "12"}).out);
  const auto json = nlohmann::json::parse(read_text(report));
  EXPECT_EQ(json["engine"], "rtl-int8");
  EXPECT_EQ(json["bit_exact"], true);
  EXPECT_EQ(json["decode_tokens"], 11);
  EXPECT_GT(json["decode_cycles_per_token"].get<double>(), 0);
}

// INT4 on the top, with a waveform: the tokens equal the golden INT4
// engine's and the FST holds the run.
TEST_F(Cli, RtlEngineRunsInt4AndWritesATrace) {
  const auto trace = (dir_ / "run.fst").string();
  const CliRun run = tokenpipe({"generate", "--engine", "rtl", "--quant", "int4", "-n", "6", "--trace", trace});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("\nbit_exact: yes\n"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("engine: rtl-int4\n"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, tokenpipe({"generate", "--engine", "int4", "-t", "0", "-n", "6"}).out);
  ASSERT_TRUE(std::filesystem::exists(trace));
  EXPECT_GT(std::filesystem::file_size(trace), 10'000u);
}

// A trained checkpoint with its tokenizer on the top: the text equals the
// golden INT8 engine's, every tap bit-exact.
TEST_F(Cli, RtlEngineIsBitExactOnARealCheckpoint) {
  TP_REQUIRE_MODEL_FILE("aidreams260K.bin");
  const std::vector<std::string> model{model_path("aidreams260K.bin"), "-z", model_path("aidreams_tok512.bin"),
                                       "-n", "24", "-i", "Once upon a time"};
  std::vector<std::string> rtl{"generate", "--engine", "rtl", "--quant", "int8"};
  rtl.insert(rtl.end(), model.begin(), model.end());
  std::vector<std::string> golden{"generate", "--engine", "int8", "-t", "0"};
  golden.insert(golden.end(), model.begin(), model.end());
  const CliRun run = tokenpipe(rtl);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("\nbit_exact: yes\n"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, tokenpipe(golden).out);
}

// A checkpoint beyond the accelerator's maxima is refused by name before
// anything runs (the CSR would only answer SLVERR or BAD_CONFIG).
TEST_F(Cli, RtlEngineNamesTheLimitAModelExceeds) {
  const tp::ModelConfig deep{.dim = 8, .hidden_dim = 16, .n_layers = 17, .n_heads = 1, .n_kv_heads = 1,
                             .vocab_size = 32, .seq_len = 16};
  const auto path = (dir_ / "deep.bin").string();
  tp::write_file(path, tp::serialize_checkpoint(deep, tp::allocate_weights(deep), tp::CheckpointFormat::kLegacy));
  expect_clean_failure(tokenpipe({"generate", path, "--engine", "rtl", "-n", "2"}),
                       "n_layers 17 exceeds the accelerator's maximum of 16");
}

// A prompt longer than -n runs only its first -n positions (as run.c), says
// so, and with no STEP the decode figures are "n/a", not 0.
TEST_F(Cli, RtlPromptOnlyRunHasNoDecodeFigures) {
  const CliRun run = tokenpipe({"generate", "--engine", "rtl", "-n", "4", "--prompt-ids", "1 2 3 4 5 6"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("note: the prompt has 6 tokens; only the first 4 are run"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("\ndecode_cycles_per_token: n/a\n"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("\nroofline_ratio: n/a\n"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("\nprefill_pe_utilization: n/a"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("\nprefill_tokens: 4\n"), std::string::npos) << run.err;
}

TEST_F(Cli, RtlEngineRefusesSamplingAndRtlOptionsElsewhere) {
  expect_clean_failure(tokenpipe({"generate", "--engine", "rtl", "-t", "0.8"}), "-t/--temperature must be 0");
  expect_clean_failure(tokenpipe({"generate", "--quant", "int4"}), "--quant and --trace need --engine rtl");
}

TEST_F(Cli, IntegerEnginesSpellTheDefaultText) {
  for (const char* engine : {"int8", "int4", "int8-mixed", "int4-mixed", "int8-hifi", "int4-hifi"}) {
    const CliRun run = tokenpipe({"generate", "--engine", engine, "-t", "0"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, std::string(default_model_text()) + "\n") << engine;
  }
}

TEST_F(Cli, QuantizedImageRunsLikeTheEngineThatQuantizesItself) {
  const auto image = (dir_ / "default.tpwi").string();
  const auto report = (dir_ / "quantize.json").string();
  const CliRun quantize = tokenpipe({"quantize", "--quant", "int4", "-o", image, "--json", report});
  ASSERT_EQ(quantize.exit_code, 0) << quantize.err;
  EXPECT_NE(quantize.out.find("weight_bytes_per_token:"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(read_text(report))["image_bytes"], std::filesystem::file_size(image));
  const std::vector<std::string> sampled{"generate", "--engine", "int4", "-t", "0.8", "-s", "5", "--print-ids"};
  auto from_image = sampled;
  from_image.insert(from_image.end(), {"--image", image});
  EXPECT_EQ(tokenpipe(from_image).out, tokenpipe(sampled).out);
  expect_clean_failure(tokenpipe({"generate", "--engine", "int8", "--image", image}), "INT4");
  expect_clean_failure(tokenpipe({"generate", "--image", image}), "integer engine");
  expect_clean_failure(tokenpipe({"generate", "--engine", "int4-mixed", "--image", image}), "plain format");
}

TEST_F(Cli, EvalPrintsTheAgreementMetrics) {
  const auto ids = (dir_ / "ids.txt").string();
  const CliRun printed = tokenpipe({"generate", "-t", "0", "--print-ids"});
  { std::ofstream(ids) << lines_of(printed.out).back() << "\n"; }
  const CliRun run = tokenpipe({"eval", "--engine", "int8", "--ids-file", ids});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* key : {"top1_agreement: 1\n", "mean_kl: ", "ppl_float: ", "ppl_quant: "}) {
    EXPECT_NE(run.out.find(key), std::string::npos) << key << " in " << run.out;
  }
  { std::ofstream(ids) << "1 2 oops"; }
  expect_clean_failure(tokenpipe({"eval", "--ids-file", ids}), "'oops' is not a token id");
  expect_clean_failure(tokenpipe({"eval", "--ids-file", (dir_ / "none.txt").string()}), "cannot open");
}

TEST_F(Cli, BadInputsFailWithOneClearLine) {
  const auto garbage = (dir_ / "garbage.bin").string();
  { std::ofstream(garbage) << "not a checkpoint"; }
  expect_clean_failure(tokenpipe({"generate", "missing.bin"}), "missing.bin: no such file");
  expect_clean_failure(tokenpipe({"generate", garbage}), "truncated");
  expect_clean_failure(tokenpipe({"inspect", dir_.string()}), "not a regular file");
  expect_clean_failure(tokenpipe({"generate", "--no-such-flag"}), "--no-such-flag");
  expect_clean_failure(tokenpipe({"generate", "-t", "-0.5"}), "temperature");
  expect_clean_failure(tokenpipe({"generate", "-p", "1.5"}), "topp");
  expect_clean_failure(tokenpipe({"generate", "-n", "-3"}), "steps");
  expect_clean_failure(tokenpipe({"generate", "--engine", "quantum"}), "quantum");
  expect_clean_failure(tokenpipe({"generate", "--prompt-ids", "1 x 3"}), "'x' is not a token id");
  expect_clean_failure(tokenpipe({"generate", "--prompt-ids", "1 100000"}), "outside the vocabulary");
  expect_clean_failure(tokenpipe({"generate", "--prompt-ids", "1", "-i", "hi"}), "not both");
  expect_clean_failure(tokenpipe({"generate", "-z", garbage}), "needs a checkpoint");
  expect_clean_failure(tokenpipe({"generate", "--json", (dir_ / "no/such/dir/r.json").string()}), "cannot write");
  expect_clean_failure(tokenpipe({}), "subcommand");
}

TEST_F(Cli, MismatchedTokenizerIsRefused) {
  TP_REQUIRE_MODEL_FILE("aidreams260K.bin");
  expect_clean_failure(tokenpipe({"generate", model_path("aidreams260K.bin"), "-z", model_path("aidreams260K.bin")}),
                       "aidreams260K.bin");
  expect_clean_failure(tokenpipe({"generate", model_path("aidreams260K.bin"), "-i", "hello"}), "needs a tokenizer");
}

}  // namespace
}  // namespace tp
