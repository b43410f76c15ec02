// Testbench of rtl/top/tp_accel_top.sv: the whole accelerator behind its host
// interface (tb/top/accel_driver.h), with HBM models behind its three AXI4
// masters. Every command's token and every debug tap (embedding, attention
// and FFN residuals, logits) are compared with the golden fx::IntModel of the
// same sequence as they come; the first difference fails the test naming
// position, layer, stage and element. The bad-input table checks each error
// status and that the next valid command is still bit-exact.
#include "golden/checkpoint.h"
#include "golden/default_model.h"
#include "golden/int/argmax.h"
#include "golden/int/quantized_model.h"
#include "golden/tests/real_models.h"
#include "top/accel_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace tp::tb;  // the driver, the checker, the statuses
namespace fx = tp::fx;

std::shared_ptr<const fx::QuantizedModel> quantized_default(int bits) {
  return std::make_shared<const fx::QuantizedModel>(fx::quantize_model(*tp::make_default_model().checkpoint, bits));
}

// BOS, then random ids of the vocabulary (deterministic for a seed).
std::vector<int> random_prompt(int length, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int> ids{tp::kBosToken};
  while (static_cast<int>(ids.size()) < length) ids.push_back(static_cast<int>(rng() % static_cast<unsigned>(vocab)));
  return ids;
}

// OPEN, PROMPT, `steps` STEPs of one sequence, each OK and bit-exact (a
// difference throws TapMismatchError, which fails the test with its message).
void generate(CheckedAccel& accel, unsigned seq, const std::vector<int>& prompt, int steps) {
  ASSERT_EQ(accel.open(seq).status, Status::kOk);
  const CommandResult p = accel.prompt(seq, prompt);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_EQ(p.pos, static_cast<int>(prompt.size()));
  for (int i = 0; i < steps; ++i) ASSERT_EQ(accel.step(seq).status, Status::kOk) << "step " << i;
}

void expect_bit_exact(CheckedAccel& accel) {
  const auto& mismatch = accel.checker().first_mismatch();
  EXPECT_FALSE(mismatch.has_value()) << (mismatch ? mismatch->describe() : "");
  EXPECT_GT(accel.checker().values_compared(), 0u);
}

std::uint32_t word_of(Opcode op, unsigned seq, unsigned count = 0) {
  return command_word(static_cast<unsigned>(op), seq, count);
}

// A command the top must refuse: what it is, how to send it, its status.
struct Refusal {
  std::string name;
  std::function<CommandResult()> run;
  Status expected;
};

// Each refusal completes with its status without running (no tap), and a
// STEP of the live sequence after it is still OK (and checked bit-exact).
void expect_refusals(CheckedAccel& accel, unsigned live, const std::vector<Refusal>& table) {
  AccelDriver& d = accel.driver();
  for (const Refusal& bad : table) {
    SCOPED_TRACE(bad.name);
    const std::uint64_t taps = d.taps_seen();
    EXPECT_EQ(status_name(static_cast<unsigned>(bad.run().status)), status_name(static_cast<unsigned>(bad.expected)));
    EXPECT_EQ(d.taps_seen(), taps) << "a refused command ran";
    ASSERT_EQ(accel.step(live).status, Status::kOk);
  }
}

// The tap beats a correct top emits for `ids` at positions first_pos..: every
// vector of the golden model's tapped stages, 32 lanes a beat (logits only
// for the last position).
std::vector<AccelTap> golden_tap_beats(fx::IntModel& model, const std::vector<int>& ids, int first_pos) {
  std::vector<AccelTap> beats;
  const int last = first_pos + static_cast<int>(ids.size()) - 1;
  model.set_observer([&](const fx::Tap& t) {
    const unsigned stage = t.stage == fx::Stage::kEmbedding           ? 0
                           : t.stage == fx::Stage::kAttentionResidual ? 1
                           : t.stage == fx::Stage::kFfnResidual       ? 2
                           : t.stage == fx::Stage::kLogits && t.pos == last ? 3
                                                                            : 4;
    if (stage == 4) return;
    for (std::size_t i = 0; i < t.values.size(); i += kAccelTapLanes) {
      AccelTap b{.stage = stage, .layer = static_cast<unsigned>(std::max(t.layer, 0)),
                 .token = static_cast<unsigned>(t.pos - first_pos) % kAccelMaxBlock,
                 .pos = static_cast<unsigned>(t.pos), .index = static_cast<unsigned>(i),
                 .count = static_cast<unsigned>(std::min<std::size_t>(kAccelTapLanes, t.values.size() - i))};
      for (unsigned l = 0; l < b.count; ++l) b.lanes[l] = t.values[i + l];
      beats.push_back(b);
    }
  });
  for (std::size_t i = 0; i < ids.size(); ++i) model.forward(ids[i], first_pos + static_cast<int>(i));
  model.set_observer({});
  return beats;
}

// The checker on its own (no RTL): the golden model's own taps pass, and a
// changed lane, a missing beat, a wrong token and an error status are each
// reported as the brief says.
TEST(GoldenChecker, AcceptsTheGoldenTapsAndNamesTheFirstDifference) {
  const auto quantized = quantized_default(8);
  fx::IntModel twin(quantized);
  GoldenChecker checker(quantized, /*stop_at_first=*/false);
  checker.open(0);
  const std::vector<int> prompt = random_prompt(5, quantized->config.vocab_size, 9);
  const auto expected = checker.begin_prompt(0, prompt);
  EXPECT_EQ(expected.pos, 5);
  for (const AccelTap& b : golden_tap_beats(twin, prompt, 0)) checker.observe(b);
  EXPECT_EQ(expected.token, fx::argmax(twin.logits_q16()));
  checker.end_command({.status = Status::kOk, .token = expected.token, .pos = expected.pos});
  EXPECT_TRUE(checker.bit_exact());

  // An error status: the golden sequence stays at position 5.
  EXPECT_EQ(checker.begin_step(0).pos, 6);
  checker.end_command({.status = Status::kSeqFull});
  const auto step = checker.begin_step(0);
  EXPECT_EQ(step.pos, 6);
  auto beats = golden_tap_beats(twin, {expected.token}, 5);
  beats[5].lanes[3] += 1;  // embedding: 2 beats; layer 0 attention residual: 2; layer 0 FFN: beat 4, 5
  for (const AccelTap& b : beats) checker.observe(b);
  checker.end_command({.status = Status::kOk, .token = step.token, .pos = step.pos});
  ASSERT_FALSE(checker.bit_exact());
  EXPECT_EQ(checker.first_mismatch()->describe(),
            "position 5, layer 0, stage 'ffn residual', index 35: expected " + std::to_string(beats[5].lanes[3] - 1) +
                ", actual " + std::to_string(beats[5].lanes[3]));

  // A missing beat and a wrong token, each the first difference of its checker.
  GoldenChecker strict(quantized);
  strict.open(1);
  fx::IntModel twin2(quantized);
  const auto e = strict.begin_prompt(1, prompt);
  auto all = golden_tap_beats(twin2, prompt, 0);
  all.pop_back();  // the last logits beat
  for (const AccelTap& b : all) strict.observe(b);
  try {
    strict.end_command({.status = Status::kOk, .token = e.token, .pos = e.pos});
    ADD_FAILURE() << "a missing tap was not reported";
  } catch (const TapMismatchError& error) {
    EXPECT_EQ(error.mismatch.stage, "logits");
    EXPECT_FALSE(error.mismatch.actual.has_value());
  }
  GoldenChecker tokens(quantized);
  tokens.open(0);
  fx::IntModel twin3(quantized);
  const auto t = tokens.begin_prompt(0, prompt);
  for (const AccelTap& b : golden_tap_beats(twin3, prompt, 0)) tokens.observe(b);
  EXPECT_THROW(tokens.end_command({.status = Status::kOk, .token = t.token + 1, .pos = t.pos}), TapMismatchError);
}

// The figures from three snapshots of known counters.
TEST(AccelMetrics, FiguresFromCounterDeltas) {
  const auto layout = fx::weight_image_layout(quantized_default(8)->config, 8);
  AccelSnapshot a, b, c;
  a.counters.value[AccelCounters::kCycles] = 0xFFFFFF00;  // the counters wrap
  b = a;
  b.counters.value[AccelCounters::kPrefillCycles] = 1000;
  b.counters.value[AccelCounters::kPrefillTokens] = 4;
  b.counters.value[AccelCounters::kMatrixIssue] = 900;
  c = b;
  c.counters.value[AccelCounters::kDecodeCycles] = 4400;
  c.counters.value[AccelCounters::kDecodeTokens] = 2;
  c.counters.value[AccelCounters::kWeightBeats] = 4000;
  c.counters.value[AccelCounters::kAuxBeats] = 8;
  c.counters.value[AccelCounters::kMatrixBusy] = 4290;
  c.counters.value[AccelCounters::kKvReadBeats] = 300;
  c.counters.value[AccelCounters::kKvWriteBeats] = 40;  // on the other channel: not in the port's figure
  c.counters.value[AccelCounters::kKvBusy] = 400;
  c.cycle = 10000;
  c.sim_seconds = 2;
  const AccelMetrics m = accel_metrics(a, b, c, layout);
  EXPECT_EQ(m.decode_cycles_per_token, 2200);
  EXPECT_EQ(m.weight_bytes_per_token, 2004 * 64);
  EXPECT_DOUBLE_EQ(m.roofline_ratio, 2200.0 / 2004);
  EXPECT_DOUBLE_EQ(m.roofline_ratio_documented, 2200.0 / (fx::weight_bytes_per_token(layout) / 64.0));
  EXPECT_EQ(m.prefill_cycles_per_token, 250);
  EXPECT_DOUBLE_EQ(m.prefill_pe_utilization, 0.9);
  EXPECT_DOUBLE_EQ(m.weight_port_utilization, 4000.0 / 4400);
  EXPECT_DOUBLE_EQ(m.matrix_busy, 4290.0 / 4400);
  EXPECT_EQ(m.sim_cycles_per_s, 5000);
  EXPECT_EQ(m.sim_tokens_per_s, 3);
  EXPECT_DOUBLE_EQ(m.kv_port_utilization, 300.0 / 400);
  EXPECT_DOUBLE_EQ(m.kv_busy, 400.0 / 4400);

  // No STEP: the decode figures are not available (NaN), the prefill ones are.
  const AccelMetrics prompt_only = accel_metrics(a, b, b, layout);
  EXPECT_TRUE(std::isnan(prompt_only.decode_cycles_per_token));
  EXPECT_TRUE(std::isnan(prompt_only.roofline_ratio));
  EXPECT_TRUE(std::isnan(prompt_only.weight_port_utilization));
  EXPECT_EQ(prompt_only.prefill_cycles_per_token, 250);
}

class AccelTopDefaultModel : public ::testing::TestWithParam<int> {};

// The embedded default model (GQA, hidden 176, separate classifier): a prompt
// of a few tokens, then 16 decode steps.
TEST_P(AccelTopDefaultModel, PromptAndDecodeEqualTheGoldenModel) {
  const tp::DefaultModel model = tp::make_default_model();
  CheckedAccel accel(quantized_default(GetParam()));
  accel.configure();
  generate(accel, 0, model.tokenizer.encode("Tokens flow through", true, false), 16);
  expect_bit_exact(accel);
}

// 70 prompt tokens: prefill blocks of 32, 32 and 6 tokens (the token FIFO
// holds 32: the driver retries TOKEN_IN while the first block runs).
TEST_P(AccelTopDefaultModel, LongPromptRunsInSeveralPrefillBlocks) {
  CheckedAccel accel(quantized_default(GetParam()));
  accel.configure();
  generate(accel, 0, random_prompt(70, accel.driver().layout().config.vocab_size, 7), 4);
  expect_bit_exact(accel);
}

// Two sequences with their own KV pages and positions, steps alternating.
TEST_P(AccelTopDefaultModel, InterleavedSequencesEachMatchTheirOwnGoldenModel) {
  CheckedAccel accel(quantized_default(GetParam()));
  accel.configure();
  const int vocab = accel.driver().layout().config.vocab_size;
  ASSERT_EQ(accel.open(0).status, Status::kOk);
  ASSERT_EQ(accel.open(1).status, Status::kOk);
  ASSERT_EQ(accel.prompt(0, random_prompt(5, vocab, 1)).status, Status::kOk);
  ASSERT_EQ(accel.prompt(1, random_prompt(19, vocab, 2)).status, Status::kOk);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(accel.step(0).status, Status::kOk);
    ASSERT_EQ(accel.step(1).status, Status::kOk);
  }
  ASSERT_EQ(accel.close(0).status, Status::kOk);
  ASSERT_EQ(accel.step(1).status, Status::kOk);  // closing one leaves the other intact
  expect_bit_exact(accel);
}

INSTANTIATE_TEST_SUITE_P(Quant, AccelTopDefaultModel, ::testing::Values(8, 4),
                         [](const auto& info) { return info.param == 8 ? "Int8" : "Int4"; });

// Decode reads a layer's KV segments ahead only while they fit the KV port
// (64 read commands, 512 beats); beyond, appends go first, then reads and
// attention. The default model with a 512-position context: 2 KV heads of 9-beat
// segments fit up to position 447 (28 pages: 504 beats, the FIFO nearly full)
// and no longer from 448 on; a 440-token prompt and 16 steps cross the limit.
TEST(AccelTop, DecodeAcrossTheReadAheadLimitStaysExact) {
  tp::Checkpoint long_context = *tp::make_default_model().checkpoint;
  long_context.config.seq_len = 512;
  CheckedAccel accel(std::make_shared<const fx::QuantizedModel>(fx::quantize_model(long_context, 8)));
  accel.configure();
  generate(accel, 0, random_prompt(440, long_context.config.vocab_size, 11), 16);
  expect_bit_exact(accel);
}

// Every error status of the table, each followed by a valid STEP of a live
// sequence that must still be bit-exact (an error changes nothing stored).
TEST(AccelTop, BadInputsCompleteWithAnErrorStatusAndChangeNothing) {
  CheckedAccel accel(quantized_default(8));
  AccelDriver& d = accel.driver();
  const tp::ModelConfig& config = d.layout().config;

  // Before any configuration, and with a bad one (n_heads 3 does not divide dim 64).
  EXPECT_EQ(d.open(0).status, Status::kBadConfig);
  d.write_configuration(config, false, d.layout());
  ASSERT_EQ(d.write_register(csr::kNHeads, 3), 0u);
  EXPECT_EQ(d.load().status, Status::kBadConfig);
  EXPECT_EQ(d.open(0).status, Status::kBadConfig);

  accel.configure();
  ASSERT_EQ(accel.open(0).status, Status::kOk);
  ASSERT_EQ(accel.prompt(0, random_prompt(6, config.vocab_size, 3)).status, Status::kOk);

  expect_refusals(accel, 0, {
      {"STEP of a never-opened sequence", [&] { return d.step(3); }, Status::kBadState},
      {"OPEN of an open sequence", [&] { return d.open(0); }, Status::kBadState},
      {"CLOSE of a never-opened sequence", [&] { return d.close(5); }, Status::kBadState},
      {"OPEN of sequence 8", [&] { return d.open(8); }, Status::kBadSeq},
      {"STEP of sequence 15", [&] { return d.step(15); }, Status::kBadSeq},
      {"PROMPT of 0 tokens", [&] { return d.command(word_of(Opcode::kPrompt, 0, 0)); }, Status::kBadCmd},
      {"opcode 0", [&] { return d.command(command_word(0, 0)); }, Status::kBadCmd},
      {"opcode 6", [&] { return d.command(command_word(6, 0)); }, Status::kBadCmd},
      {"opcode 15", [&] { return d.command(command_word(15, 0)); }, Status::kBadCmd},
  });
  expect_bit_exact(accel);
  EXPECT_EQ(accel.checker().unexpected_taps(), 0u) << "taps during a refused command";
}

// Random gaps on every memory's R channel, the KV memory's AW and W
// channels, and the host's AXI4-Lite bus (gaps between accesses, withheld
// ready on responses): a two-block prompt and decode stay bit-exact.
TEST_P(AccelTopDefaultModel, MemoryAndHostStallsChangeNoValue) {
  AccelDriverOptions options;
  options.weight_memory.r_stall = StallGenerator(0.3, 71);
  options.kv_memory.r_stall = StallGenerator(0.3, 72);
  options.kv_memory.aw_stall = StallGenerator(0.3, 73);
  options.kv_memory.w_stall = StallGenerator(0.3, 74);
  options.host_gap = StallGenerator(0.3, 75);
  options.host_response_stall = StallGenerator(0.3, 76);
  CheckedAccel accel(quantized_default(GetParam()), options);
  accel.configure();
  generate(accel, 0, random_prompt(40, accel.driver().layout().config.vocab_size, 77), 8);
  expect_bit_exact(accel);
  EXPECT_EQ(accel.checker().unexpected_taps(), 0u);
}

// The counters of a prompt and its decode steps: tokens counted per phase, no
// unit error, KV appends written (the same number of beats every step), and
// decode within its contract: INT8 at the weight bound (roofline <= 1.10, the
// target), INT4 below 1.30 (1.24 over these 24 steps; a regression guard
// until the target is met), and a prefill block's PE utilization.
TEST_P(AccelTopDefaultModel, CountersAndTheDecodeAndPrefillContracts) {
  CheckedAccel accel(quantized_default(GetParam()));
  AccelDriver& d = accel.driver();
  accel.configure();
  ASSERT_EQ(accel.open(0).status, Status::kOk);
  const AccelSnapshot before = d.snapshot();
  ASSERT_EQ(accel.prompt(0, random_prompt(6, d.layout().config.vocab_size, 81)).status, Status::kOk);
  const AccelSnapshot prompted = d.snapshot();
  for (int i = 0; i < 12; ++i) ASSERT_EQ(accel.step(0).status, Status::kOk);
  const AccelSnapshot half = d.snapshot();
  for (int i = 0; i < 12; ++i) ASSERT_EQ(accel.step(0).status, Status::kOk);
  const AccelSnapshot after = d.snapshot();
  expect_bit_exact(accel);

  using C = AccelCounters;
  const C prefill = prompted.counters.since(before.counters), first = half.counters.since(prompted.counters),
          second = after.counters.since(half.counters);
  EXPECT_EQ(prefill[C::kPrefillTokens], 6u);
  EXPECT_EQ(prefill[C::kDecodeTokens], 0u);
  EXPECT_EQ(first[C::kDecodeTokens], 12u);
  EXPECT_EQ(first[C::kPrefillTokens], 0u);
  EXPECT_EQ(after.counters[C::kHwErrors], 0u);
  EXPECT_GT(first[C::kKvWriteBeats], 0u);
  EXPECT_EQ(first[C::kKvWriteBeats], second[C::kKvWriteBeats]) << "appends of 12 steps, twice";
  const AccelMetrics m = accel_metrics(before, prompted, after, d.layout());
  EXPECT_LE(m.roofline_ratio, GetParam() == 8 ? 1.10 : 1.30) << m.decode_cycles_per_token << " cycles a token";

  // Prefill of a whole block (32 tokens) on a second sequence: a regression
  // guard under the 0.66 measured here (the target is 0.85; before the
  // folded micro-ops of docs/performance.md's prefill table it was ~0.55).
  ASSERT_EQ(accel.open(1).status, Status::kOk);
  const AccelSnapshot block_start = d.snapshot();
  ASSERT_EQ(accel.prompt(1, random_prompt(32, d.layout().config.vocab_size, 82)).status, Status::kOk);
  const AccelSnapshot block_end = d.snapshot();
  expect_bit_exact(accel);
  const AccelMetrics block = accel_metrics(block_start, block_end, block_end, d.layout());
  EXPECT_GE(block.prefill_pe_utilization, 0.62) << block.prefill_cycles_per_token << " cycles a token";
}

// The refusals that need a particular state: more KV pages than are free, a
// PROMPT past SEQ_LEN, commands on a closed or token-less sequence, reserved
// command bits. Each is followed by a STEP of a live sequence that must still
// be bit-exact. SEQ_LEN is the hardware maximum here, so that one sequence
// could take every KV page.
TEST(AccelTop, RefusalsOfPagesLengthStateAndReservedBitsChangeNothing) {
  CheckedAccel accel(quantized_default(8));
  AccelDriver& d = accel.driver();
  tp::ModelConfig config = d.layout().config;
  config.seq_len = 1024;  // tp_pkg::MaxSeqLen: 64 pages of 16 positions, all the top has
  d.configure(config, false, d.layout());
  const int vocab = config.vocab_size;
  ASSERT_EQ(accel.open(0).status, Status::kOk);
  ASSERT_EQ(accel.prompt(0, random_prompt(3, vocab, 31)).status, Status::kOk);  // holds one page
  ASSERT_EQ(accel.open(4).status, Status::kOk);

  const std::vector<int> all_pages = random_prompt(1024, vocab, 32);  // 64 pages, 63 free
  const std::vector<int> too_long = random_prompt(1025, vocab, 33);
  const std::vector<int> two = random_prompt(2, vocab, 34);
  expect_refusals(accel, 0, {
      {"PROMPT needing every page while one is taken", [&] { return d.prompt(4, all_pages); }, Status::kNoPage},
      {"PROMPT beyond SEQ_LEN", [&] { return d.prompt(4, too_long); }, Status::kSeqFull},
      {"PROMPT of a never-opened sequence", [&] { return d.prompt(3, two); }, Status::kBadState},
      {"STEP of a sequence with no token yet", [&] { return d.step(4); }, Status::kBadState},
      {"STEP with reserved bits set", [&] { return d.command(word_of(Opcode::kStep, 0) | 1u << 16); }, Status::kBadCmd},
      {"OPEN with reserved bits set", [&] { return d.command(word_of(Opcode::kOpen, 5) | 1u << 23); }, Status::kBadCmd},
  });
  // Nothing was stored: sequence 4 still takes a prompt, sequence 5 opens.
  ASSERT_EQ(accel.prompt(4, two).status, Status::kOk);
  ASSERT_EQ(accel.open(5).status, Status::kOk);
  ASSERT_EQ(accel.step(4).status, Status::kOk);
  expect_bit_exact(accel);
}

// A prompt token the vocabulary no longer holds (written to TOKEN_IN before
// VOCAB shrank) is found only as the PROMPT takes it, after some of its
// tokens were appended: BAD_TOKEN closes the sequence, whose pages return,
// and it can be opened again and run bit-exact.
TEST(AccelTop, BadTokenInAPromptClosesTheSequence) {
  CheckedAccel accel(quantized_default(8));
  AccelDriver& d = accel.driver();
  accel.configure();
  const tp::ModelConfig& config = d.layout().config;
  generate(accel, 1, random_prompt(6, config.vocab_size, 41), 1);
  generate(accel, 2, random_prompt(4, config.vocab_size, 42), 1);

  const unsigned small_vocab = 100;
  const std::vector<int> ids = {5, 6, 7, 8, 9, static_cast<int>(small_vocab) + 3, 10, 11};
  for (const int id : ids) ASSERT_EQ(d.write_register(csr::kTokenIn, static_cast<std::uint32_t>(id)), 0u);
  ASSERT_EQ(d.write_register(csr::kVocab, small_vocab), 0u);
  ASSERT_EQ(d.load().status, Status::kOk);
  const std::uint64_t taps = d.taps_seen();
  const CommandResult bad =
      d.command(word_of(Opcode::kPrompt, 1, static_cast<unsigned>(ids.size())));
  EXPECT_EQ(status_name(static_cast<unsigned>(bad.status)), status_name(unsigned(Status::kBadToken)));
  EXPECT_EQ(d.taps_seen(), taps);
  EXPECT_EQ(d.step(1).status, Status::kBadState) << "the sequence stayed open";
  accel.checker().close(1);

  ASSERT_EQ(d.write_register(csr::kVocab, static_cast<std::uint32_t>(config.vocab_size)), 0u);
  ASSERT_EQ(d.load().status, Status::kOk);
  ASSERT_EQ(accel.step(2).status, Status::kOk);  // the other sequence is untouched
  generate(accel, 1, random_prompt(20, config.vocab_size, 43), 3);
  expect_bit_exact(accel);
}

// A unit error (here the KV memory answering SLVERR to the appends) completes
// the command with HW_ERROR; the errors are sticky, so every later command,
// LOAD included, completes with HW_ERROR without running until reset. After
// reset the top runs bit-exact again.
TEST(AccelTop, AHardwareErrorRefusesEveryCommandUntilReset) {
  auto fail_kv_writes = std::make_shared<bool>(false);
  AccelDriverOptions options;
  options.kv_memory.bresp = [fail_kv_writes](std::uint64_t) { return *fail_kv_writes ? 2u : 0u; };
  CheckedAccel accel(quantized_default(8), options);
  AccelDriver& d = accel.driver();
  accel.configure();
  const int vocab = d.layout().config.vocab_size;
  generate(accel, 0, random_prompt(5, vocab, 51), 1);

  *fail_kv_writes = true;
  EXPECT_EQ(status_name(static_cast<unsigned>(d.step(0).status)), status_name(unsigned(Status::kHwError)));
  *fail_kv_writes = false;
  const std::uint64_t taps = d.taps_seen();
  EXPECT_EQ(d.step(0).status, Status::kHwError);
  EXPECT_EQ(d.open(1).status, Status::kHwError);
  EXPECT_EQ(d.load().status, Status::kHwError);
  EXPECT_EQ(d.taps_seen(), taps) << "a command ran after the hardware error";

  accel.reset();
  accel.configure();
  generate(accel, 0, random_prompt(7, vocab, 52), 3);
  expect_bit_exact(accel);
}

// The host's view of the largest model (kAccelLimits, which the CLI checks a
// checkpoint against) is the hardware's: at each maximum the CSR's cfg_ok is
// high, one beyond it low, and accel_misfit names the field.
TEST(AccelTop, TheHostLimitsAreTheHardwareLimits) {
  AccelDriver d(fx::write_weight_image(*quantized_default(8)));
  const AccelLimits& m = kAccelLimits;
  // A consistent base: 8 heads of 8 over 4 KV heads.
  const tp::ModelConfig base{.dim = 64, .hidden_dim = 172, .n_layers = 4, .n_heads = 8, .n_kv_heads = 4,
                             .vocab_size = 512, .seq_len = 256};
  struct Case {
    std::string field;
    std::function<void(tp::ModelConfig&, int)> set;  // the field at a value, the rest kept consistent
    int max;
  };
  const std::vector<Case> cases = {
      {"dim", [](tp::ModelConfig& c, int v) { c.dim = v, c.n_heads = v / 64, c.n_kv_heads = 1; }, m.dim},
      {"hidden_dim", [](tp::ModelConfig& c, int v) { c.hidden_dim = v; }, m.hidden_dim},
      {"n_layers", [](tp::ModelConfig& c, int v) { c.n_layers = v; }, m.n_layers},
      {"n_heads", [](tp::ModelConfig& c, int v) { c.n_heads = v, c.dim = 4 * v, c.n_kv_heads = 1; }, m.n_heads},
      {"n_kv_heads", [](tp::ModelConfig& c, int v) { c.n_heads = 16, c.n_kv_heads = v, c.dim = 64; }, m.n_kv_heads},
      {"head_size", [](tp::ModelConfig& c, int v) { c.dim = v, c.n_heads = c.n_kv_heads = 1; }, m.head_size},
      {"vocab_size", [](tp::ModelConfig& c, int v) { c.vocab_size = v; }, m.vocab_size},
      {"seq_len", [](tp::ModelConfig& c, int v) { c.seq_len = v; }, m.seq_len},
  };
  const auto hardware_accepts = [&](const tp::ModelConfig& c) {
    d.write_configuration(c, false, d.layout());
    return (d.read_register(csr::kStatus) & 1u) != 0;
  };
  ASSERT_TRUE(hardware_accepts(base));
  EXPECT_EQ(accel_misfit(base), "");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    tp::ModelConfig at_max = base, beyond = base;
    c.set(at_max, c.max);
    c.set(beyond, c.max + (c.field == "dim" ? 64 : 1));
    EXPECT_TRUE(hardware_accepts(at_max));
    EXPECT_EQ(accel_misfit(at_max), "");
    EXPECT_FALSE(hardware_accepts(beyond));
    EXPECT_NE(accel_misfit(beyond).find(c.field + " "), std::string::npos) << accel_misfit(beyond);
  }
  tp::ModelConfig too_deep = base;
  too_deep.n_layers = 17;
  EXPECT_THROW(d.configure(too_deep, false, d.layout()), std::invalid_argument);
}

// SEQ_LEN written smaller than the model's: a STEP at position seq_len is
// refused, the sequence can still be closed, and a new one runs bit-exact.
TEST(AccelTop, StepBeyondSeqLenIsSeqFull) {
  CheckedAccel accel(quantized_default(8));
  AccelDriver& d = accel.driver();
  tp::ModelConfig small = d.layout().config;
  small.seq_len = 8;
  d.configure(small, false, d.layout());
  const auto prompt = random_prompt(4, small.vocab_size, 4);
  ASSERT_EQ(accel.open(0).status, Status::kOk);
  ASSERT_EQ(accel.prompt(0, prompt).status, Status::kOk);  // positions 0..3, token for 4
  for (int pos = 4; pos < small.seq_len; ++pos) ASSERT_EQ(accel.step(0).status, Status::kOk) << "pos " << pos;
  EXPECT_EQ(status_name(static_cast<unsigned>(accel.step(0).status)), status_name(unsigned(Status::kSeqFull)));
  EXPECT_EQ(accel.step(0).status, Status::kSeqFull);  // and stays so
  ASSERT_EQ(accel.close(0).status, Status::kOk);
  generate(accel, 0, prompt, 2);
  expect_bit_exact(accel);
}

// Reset while a PROMPT runs (once its first taps came): after reset, the
// configuration is gone; configured again, the same work is bit-exact.
TEST(AccelTop, ResetInTheMiddleOfAPromptThenRunAgain) {
  CheckedAccel accel(quantized_default(4));
  AccelDriver& d = accel.driver();
  accel.configure();
  const auto prompt = random_prompt(20, d.layout().config.vocab_size, 5);
  ASSERT_EQ(accel.open(2).status, Status::kOk);
  accel.checker().begin_prompt(2, prompt);
  d.start_command(word_of(Opcode::kPrompt, 2, static_cast<unsigned>(prompt.size())), prompt);
  const std::uint64_t taps_before = d.taps_seen();
  for (int i = 0; i < 10000 && d.taps_seen() == taps_before; ++i) d.tick(10);
  ASSERT_GT(d.taps_seen(), taps_before) << "the PROMPT produced no tap";
  d.tick(300);
  accel.checker().abort_command();
  accel.reset();

  EXPECT_EQ(d.open(2).status, Status::kBadConfig);
  accel.configure();
  generate(accel, 2, prompt, 8);
  expect_bit_exact(accel);
  EXPECT_EQ(accel.checker().unexpected_taps(), 0u) << "taps of the work dropped by the reset came afterwards";
}

// Between blocks the pipeline requests the next block's first weight
// sections; a host that puts a new image at the same address must not get
// them. Writing the configuration makes the next block BAD_CONFIG until a
// LOAD, and LOAD drops the prefetched beats: the default model's INT4 image
// over its INT8 one (other sections, other lengths) then runs bit-exact; an
// INT4 block computed on prefetched INT8 beats would not.
TEST(AccelTop, ANewImageNeedsALoadWhichDropsThePrefetchedWeights) {
  CheckedAccel accel(quantized_default(8));
  AccelDriver& d = accel.driver();
  accel.configure();
  const int vocab = d.layout().config.vocab_size;
  generate(accel, 0, random_prompt(5, vocab, 21), 3);

  accel.switch_model(quantized_default(4));
  d.write_configuration(d.layout().config, true, d.layout());
  EXPECT_EQ(d.step(0).status, Status::kBadConfig) << "a block before the LOAD of the new configuration";
  ASSERT_EQ(d.load().status, Status::kOk);
  generate(accel, 1, random_prompt(9, vocab, 22), 4);
  expect_bit_exact(accel);
  EXPECT_EQ(accel.checker().unexpected_taps(), 0u);
}

// A model of uniform random weights in `config` (amplitudes as the default
// model's, without its planted chain), deterministic for a seed.
tp::Checkpoint random_checkpoint(const tp::ModelConfig& config, unsigned seed) {
  tp::Checkpoint checkpoint;
  checkpoint.config = config;
  checkpoint.weights = tp::allocate_weights(config);
  std::mt19937 rng(seed);
  const auto fill = [&](auto& tensor, float amplitude, float offset = 0.0f) {
    std::uniform_real_distribution<float> uniform(offset - amplitude, offset + amplitude);
    for (Eigen::Index i = 0; i < tensor.size(); ++i) tensor.data()[i] = uniform(rng);
  };
  tp::Weights& w = checkpoint.weights;
  const float matrix = 1.0f / std::sqrt(static_cast<float>(config.dim));
  fill(w.token_embedding, 1.0f);
  for (tp::LayerWeights& layer : w.layers) {
    fill(layer.rms_att, 0.1f, 1.0f);
    fill(layer.wq, matrix);
    fill(layer.wk, matrix);
    fill(layer.wv, matrix);
    fill(layer.wo, matrix);
    fill(layer.rms_ffn, 0.1f, 1.0f);
    fill(layer.w1, matrix);
    fill(layer.w2, 1.0f / std::sqrt(static_cast<float>(config.hidden_dim)));
    fill(layer.w3, matrix);
  }
  fill(w.rms_final, 0.1f, 1.0f);
  fill(w.classifier, matrix);
  return checkpoint;
}

// Head size 48: a head crosses the matrix output's row groups (32 rows, the
// unit in which a block's tokens take turns), so prefill rotates q and k in
// the ROPE micro-op, while decode (one token, rows in order) rotates them on
// their way into S. dim 96 puts k and v words in one row group; hidden 184
// (23 words) ends the gated vector with a padding word in its last row group,
// which must not complete a quantizer group again. A 40-token prompt (blocks
// of 32 and 8), then 8 steps.
TEST(AccelTop, HeadsAcrossRowGroupsRotateInPrefillAndDecode) {
  const tp::ModelConfig config{.dim = 96, .hidden_dim = 184, .n_layers = 2, .n_heads = 2, .n_kv_heads = 1,
                               .vocab_size = 80, .seq_len = 64, .shared_classifier = false};
  ASSERT_EQ(config.head_size(), 48);
  const tp::Checkpoint checkpoint = random_checkpoint(config, 48);
  for (const int bits : {8, 4}) {
    SCOPED_TRACE(bits == 8 ? "INT8" : "INT4");
    CheckedAccel accel(std::make_shared<const fx::QuantizedModel>(fx::quantize_model(checkpoint, bits)));
    accel.configure();
    generate(accel, 0, random_prompt(40, config.vocab_size, 48), 8);
    expect_bit_exact(accel);
  }
}

// Sizes past the old counter widths: a gated vector of 1,100 values (138
// words of S, 35 quantizer groups, the last one partial; the prefill groups
// enter tp_act_quant as they complete) and 2,100 logits (66 row groups of
// the classifier, each tapped at its index).
TEST(AccelTop, WideHiddenAndVocabularyStayExact) {
  const tp::ModelConfig config{.dim = 64, .hidden_dim = 1100, .n_layers = 1, .n_heads = 4, .n_kv_heads = 4,
                               .vocab_size = 2100, .seq_len = 64, .shared_classifier = false};
  const tp::Checkpoint checkpoint = random_checkpoint(config, 1100);
  CheckedAccel accel(std::make_shared<const fx::QuantizedModel>(fx::quantize_model(checkpoint, 8)));
  accel.configure();
  generate(accel, 0, random_prompt(20, config.vocab_size, 1100), 2);
  expect_bit_exact(accel);
}

// stories260K (shared classifier, 5 layers, 8 heads on 4 KV heads): 8 prompt
// tokens and 32 decode steps.
class AccelTopStories : public ::testing::TestWithParam<int> {};

TEST_P(AccelTopStories, PromptAndDecodeEqualTheGoldenModel) {
  TP_REQUIRE_MODEL_FILE("stories260K.bin");
  const tp::Checkpoint checkpoint = tp::read_checkpoint(tp::testing::model_path("stories260K.bin"));
  CheckedAccel accel(std::make_shared<const fx::QuantizedModel>(fx::quantize_model(checkpoint, GetParam())));
  accel.configure();
  generate(accel, 0, random_prompt(8, checkpoint.config.vocab_size, 8), 32);
  expect_bit_exact(accel);
}

INSTANTIATE_TEST_SUITE_P(Quant, AccelTopStories, ::testing::Values(8, 4),
                         [](const auto& info) { return info.param == 8 ? "Int8" : "Int4"; });

}  // namespace
