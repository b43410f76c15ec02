// generate_rtl (app/generate_rtl.h): the generation loop of `tokenpipe
// generate --engine rtl` on the verilated accelerator top.
#include "app/generate_rtl.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "golden/default_model.h"
#include "golden/generate.h"
#include "golden/int/int_model.h"
#include "golden/int/kv_layout.h"

namespace {

using namespace tp;

std::shared_ptr<const fx::QuantizedModel> default_int8() {
  return std::make_shared<const fx::QuantizedModel>(fx::quantize_model(*make_default_model().checkpoint, 8));
}

// The tokens are those of greedy generation on the golden integer model.
TEST(GenerateRtl, TokensAreTheGoldenGreedyGeneration) {
  const auto model = default_int8();
  const std::vector<int> prompt{kBosToken, 7, 11};
  const app::RtlGeneration run = app::generate_rtl(model, prompt, 12, {});

  fx::IntModel golden(model);
  Sampler greedy(model->config.vocab_size, {0.0f, 0.9f, 1});
  const Generation expected = generate(golden, greedy, prompt, 12, {});
  EXPECT_EQ(run.generation.tokens, expected.tokens);
  EXPECT_EQ(run.generation.positions, expected.positions);
  EXPECT_GT(run.values_compared, 0u);
}

// A KV memory that answers SLVERR to the writes of the second page
// (positions 16..31; pages are taken in order from a fresh reset): after a
// 15-token prompt and the STEP at position 15, the STEP at 16 completes
// with HW_ERROR (its own append reaches attention through the KV port's
// forwarding, so nothing differs before), and the error names the command,
// the status and the values compared before it.
TEST(GenerateRtl, AnErrorStatusNamesTheCommandAndTheValuesCheckedBeforeIt) {
  const auto model = default_int8();
  const ModelConfig& c = model->config;
  const std::uint64_t page_bytes = fx::KvLayout(c.n_layers, c.n_kv_heads, c.head_size()).page_bytes();
  auto first_write = std::make_shared<std::uint64_t>(0);  // the first append: position 0, page 0
  tb::AccelDriverOptions driver;
  driver.kv_memory.bresp = [first_write, page_bytes](std::uint64_t addr) {
    if (*first_write == 0) *first_write = addr;
    return addr >= *first_write + page_bytes ? 2u : 0u;
  };
  std::vector<int> prompt{kBosToken};  // positions 0..14 (page 0), then STEPs
  for (int id = 20; id < 34; ++id) prompt.push_back(id);
  try {
    const app::RtlGeneration run = app::generate_rtl(model, prompt, 24, {}, driver);
    FAIL() << "no error after " << run.generation.positions << " positions";
  } catch (const app::RtlCommandError& e) {
    EXPECT_EQ(std::string(e.what()), "STEP completed with status " + tb::status_name(unsigned(tb::Status::kHwError)));
    EXPECT_GT(e.values_compared, 0u);
  }
}

}  // namespace
