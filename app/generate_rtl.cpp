// tokenpipe generate --engine rtl: the prompt as one PROMPT command (prefill
// blocks of 32 tokens on the matrix unit's GEMM), then one STEP per decoded
// token, on the verilated tp_accel_top with HBM models behind its ports.
// Counters are snapshot around the PROMPT and the STEPs for the figures of
// docs/accelerator.md (decode cycles per token against the weight-port bound,
// prefill PE utilization, port utilizations).
#include "app/generate_rtl.h"

#include <algorithm>
#include <stdexcept>

#include "golden/tokenizer.h"

namespace tp::app {

namespace {

constexpr unsigned kSeq = 0;

}  // namespace

tb::CommandResult require_ok(const tb::CommandResult& r, const std::string& what, std::uint64_t values_compared) {
  if (!r.ok()) throw RtlCommandError(what + " completed with status " + tb::status_name(unsigned(r.status)), values_compared);
  return r;
}

RtlGeneration generate_rtl(std::shared_ptr<const fx::QuantizedModel> model, std::span<const int> prompt, int steps,
                           const TokenCallback& on_token, tb::AccelDriverOptions driver) {
  check_generate_arguments(model->config, prompt, steps);
  tb::CheckedAccel accel(model, std::move(driver));
  accel.configure();
  const auto ok = [&](const tb::CommandResult& r, const std::string& what) {
    return require_ok(r, what, accel.checker().values_compared());
  };
  ok(accel.open(kSeq), "OPEN");

  // generate() forces prompt[pos + 1] after position pos and stops at a BOS:
  // the PROMPT covers the positions up to the first forced BOS or `steps`.
  int forced = std::min(static_cast<int>(prompt.size()), steps);
  const auto bos = std::find(prompt.begin() + 1, prompt.begin() + forced, kBosToken);
  const bool stop_in_prompt = bos != prompt.begin() + forced;
  forced = static_cast<int>(bos - prompt.begin());

  RtlGeneration run;
  Generation& g = run.generation;
  g.tokens = {prompt[0]};
  const auto push = [&](int next) {
    if (next == kBosToken) {  // BOS delimits sequences
      g.stopped_at_bos = true;
      return false;
    }
    if (on_token) on_token(g.tokens.back(), next);
    g.tokens.push_back(next);
    return true;
  };

  const tb::AccelSnapshot prefill_start = accel.driver().snapshot();
  const tb::CommandResult produced = ok(accel.prompt(kSeq, prompt.first(forced)), "PROMPT");
  const tb::AccelSnapshot decode_start = accel.driver().snapshot();
  g.positions = forced;
  for (int pos = 1; pos < forced; ++pos) push(prompt[pos]);
  // After the last prompted position: a forced token, else the hardware's.
  bool going = !stop_in_prompt && push(forced < static_cast<int>(prompt.size()) ? prompt[forced] : produced.token);
  while (going && g.positions < steps) {
    const tb::CommandResult r = ok(accel.step(kSeq), "STEP");
    ++g.positions;
    going = push(r.token);
  }
  if (stop_in_prompt) g.stopped_at_bos = true;
  const tb::AccelSnapshot decode_end = accel.driver().snapshot();

  run.metrics = tb::accel_metrics(prefill_start, decode_start, decode_end, accel.driver().layout());
  run.values_compared = accel.checker().values_compared();
  return run;
}

}  // namespace tp::app
