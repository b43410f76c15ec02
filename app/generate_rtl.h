// tokenpipe generate --engine rtl (app/generate_rtl.cpp): the generation loop
// of golden/generate.h on the verilated accelerator top, through the host
// driver of tb/top/accel_driver.h, every token and tap checked against the
// golden integer model.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "golden/generate.h"
#include "golden/int/quantized_model.h"
#include "top/accel_driver.h"

namespace tp::app {

struct RtlGeneration {
  Generation generation;
  tb::AccelMetrics metrics;
  std::uint64_t values_compared = 0;  // tap elements equal to the golden model's
};

// A command of the generation completed with an error status. Every tap up
// to it equalled the golden model's (a difference throws first).
struct RtlCommandError : std::runtime_error {
  RtlCommandError(const std::string& what, std::uint64_t compared)
      : std::runtime_error(what), values_compared(compared) {}
  std::uint64_t values_compared;
};

// OPEN, PROMPT (the prompt, cut to `steps` positions), then STEP until `steps`
// positions are done or BOS comes: run.c's greedy loop, forced prompt tokens
// reported to on_token as generate() does. A difference from the golden
// model throws tb::TapMismatchError at once, an error status RtlCommandError;
// `driver` sets the memories and the FST trace (harness.trace_path).
// `r` unless its status is an error: then RtlCommandError naming `what` (a
// command the benches and generate expect to succeed) and the status.
tb::CommandResult require_ok(const tb::CommandResult& r, const std::string& what, std::uint64_t values_compared = 0);

RtlGeneration generate_rtl(std::shared_ptr<const fx::QuantizedModel> model, std::span<const int> prompt, int steps,
                           const TokenCallback& on_token, tb::AccelDriverOptions driver = {});

}  // namespace tp::app
