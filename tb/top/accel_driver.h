// tp::tb::AccelDriver: the host of the verilated accelerator top
// (rtl/top/tp_accel_top.sv, docs/accelerator.md). It owns the model, the
// memories behind its three AXI4 masters and an AXI4-Lite master, and runs
// the host flow of the top's header: configuration, LOAD, then OPEN / PROMPT
// / STEP / CLOSE, each clocked until the command completes.
//
// tp::tb::GoldenChecker is the golden side: one fx::IntModel per open
// sequence, whose taps (embedding, attention residual, FFN residual, logits)
// the hardware's debug taps are compared with as they come, element by
// element; the first difference is named by position, layer, stage and index.
// tp::tb::CheckedAccel runs both for every command: what the top's
// testbench and `tokenpipe generate --engine rtl` use.
//
// Memory map seen by the top (byte addresses, 4 KiB aligned so that the
// models' 4 KiB checks match the absolute addresses):
//   kWeightBase                     the weight image, served to m_axi_w_* and
//                                   m_axi_e_* by two HBM models (two
//                                   pseudo-channels of one memory)
//   kv_base() (after the image)     the KV region: kKvPages pages of
//                                   fx::KvLayout::page_bytes(), random bytes at
//                                   start (stale data), on m_axi_kv_*
// Each HBM model holds only its region: an access outside it is a violation.
#pragma once

#include "Vtp_accel_top.h"
#include "common/axil_master.h"
#include "common/harness.h"
#include "common/hbm_model.h"
#include "golden/int/int_model.h"
#include "golden/int/weight_image.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tp::tb {

// Parameters of tp_accel_top (defaults).
inline constexpr unsigned kAccelMaxBlock = 32;  // MaxBlock: prompt tokens per prefill block
inline constexpr unsigned kAccelKvPages = 64;   // NumPages
inline constexpr unsigned kAccelMaxSeqs = 8;    // MaxSeqs
inline constexpr unsigned kAccelCounters = 16;
inline constexpr unsigned kAccelTapLanes = 32;

inline constexpr std::uint64_t kWeightBase = 0x1000'0000;  // bytes

// The largest model the top takes (tp_pkg maxima; head size: the attention
// engine's). tp_host_csr refuses anything beyond them (cfg_ok); the test
// `AccelTop.TheHostLimitsAreTheHardwareLimits` holds these to the RTL.
struct AccelLimits {
  int dim = 512, hidden_dim = 1536, n_layers = 16, n_heads = 16, n_kv_heads = 16, head_size = 64,
      vocab_size = 32000, seq_len = 1024;
};
inline constexpr AccelLimits kAccelLimits{};
// Why the top cannot run `config` ("n_layers 17 exceeds the accelerator's
// maximum of 16"), or empty when it can.
std::string accel_misfit(const ModelConfig& config);

// CSR map (tp_host_csr.sv header).
namespace csr {
inline constexpr std::uint32_t kId = 0x000, kStatus = 0x004;
inline constexpr std::uint32_t kDim = 0x010, kHiddenDim = 0x014, kNLayers = 0x018, kNHeads = 0x01C,
                               kNKvHeads = 0x020, kHeadSize = 0x024, kVocab = 0x028, kSeqLen = 0x02C,
                               kQuant = 0x030, kWeightBase = 0x034, kKvBase = 0x038, kInvDim = 0x03C,
                               kScoreScale = 0x040;
inline constexpr std::uint32_t kCmd = 0x050, kTokenIn = 0x054, kTokenOut = 0x058;
inline constexpr std::uint32_t kCounters = 0x080, kSections = 0x400, kRope = 0x800;
// STATUS sticky error bits.
inline constexpr std::uint32_t kErrCmdFull = 1u << 9, kErrTokenFull = 1u << 10, kErrTokenId = 1u << 11;
}  // namespace csr

enum class Opcode : unsigned { kLoad = 1, kOpen = 2, kPrompt = 3, kStep = 4, kClose = 5 };
// CMD word: [31:28] opcode, [27:24] sequence id, [15:0] PROMPT's token count.
std::uint32_t command_word(unsigned opcode, unsigned seq, unsigned count = 0);

// Command status (counter 0 [3:0], tp_sequencer).
enum class Status : unsigned {
  kOk = 0, kBadConfig = 1, kBadState = 2, kBadSeq = 3, kSeqFull = 4,
  kNoPage = 5, kBadToken = 6, kBadCmd = 7, kHwError = 8,
};
std::string status_name(unsigned status);  // "BAD_STATE (2)"

struct CommandResult {
  Status status = Status::kOk;
  int token = -1;            // PROMPT / STEP with OK: the token popped from TOKEN_OUT
  int pos = -1;              // ... and the position it will take
  std::uint64_t cycles = 0;  // from the CMD write to the completion seen
  bool ok() const { return status == Status::kOk; }
};

// One cycle of the debug tap port.
struct AccelTap {
  unsigned stage = 0;  // 0 embedding, 1 attention residual, 2 FFN residual, 3 logits
  unsigned layer = 0, token = 0, pos = 0, index = 0, count = 0;
  std::array<std::int32_t, kAccelTapLanes> lanes{};
};

// The 16 counters of the CSR (0x080 + 4k), names as in tp_accel_top.sv.
struct AccelCounters {
  std::array<std::uint32_t, kAccelCounters> value{};
  enum Index : unsigned {
    kCommandStatus, kCycles, kPrefillCycles, kPrefillTokens, kDecodeCycles, kDecodeTokens,
    kWeightBeats, kAuxBeats, kKvReadBeats, kKvWriteBeats, kKvBusy, kMatrixBusy, kMatrixIssue,
    kAttentionBusy, kVectorBusy, kHwErrors,
  };
  std::uint32_t operator[](Index k) const { return value[k]; }
  // Counts since `earlier` (modulo 2^32, as the 32-bit counters wrap).
  AccelCounters since(const AccelCounters& earlier) const;
};

// The counters with the simulation's own clock and the wall time spent in it.
struct AccelSnapshot {
  AccelCounters counters;
  std::uint64_t cycle = 0;
  double sim_seconds = 0;
};

// The figures of issue 7 from three snapshots: before the PROMPT, after it
// (before the first STEP), after the last STEP. A figure whose denominator is
// zero (the decode figures when no STEP ran) is NaN.
struct AccelMetrics {
  double decode_cycles_per_token = 0;     // decode cycles / decode tokens
  double weight_bytes_per_token = 0;      // (weight-port + aux-port beats) x 64 / decode tokens, measured
  double roofline_ratio = 0;              // decode cycles per token / (measured bytes per token / 64)
  double roofline_ratio_documented = 0;   // ... / (fx::weight_bytes_per_token(layout) / 64), the bound
  double prefill_cycles_per_token = 0;
  double prefill_pe_utilization = 0;      // matrix issue cycles / prefill cycles (one issue a cycle)
  double weight_port_utilization = 0;     // weight-port beats / decode cycles
  double kv_port_utilization = 0;         // KV read beats / KV-port read-busy cycles, decode (tp_kv_port's own)
  double matrix_busy = 0, attention_busy = 0, vector_busy = 0, kv_busy = 0;  // fractions of decode cycles
  double sim_cycles_per_s = 0, sim_tokens_per_s = 0;  // wall clock, prefill and decode
  std::uint64_t prefill_tokens = 0, decode_tokens = 0;
  // Every figure as (name, value), in print order: one list for stderr and JSON.
  std::vector<std::pair<std::string, double>> named() const;
};
AccelMetrics accel_metrics(const AccelSnapshot& prefill_start, const AccelSnapshot& decode_start,
                           const AccelSnapshot& decode_end, const fx::WeightImageLayout& layout);

struct AccelDriverOptions {
  HbmConfig weight_memory{.latency = 100, .max_outstanding = 16};  // each of ports w and e
  HbmConfig kv_memory{.latency = 100, .max_outstanding = 32};
  StallGenerator host_gap{}, host_response_stall{};  // the AXI4-Lite master's gaps and withheld ready
  HarnessOptions harness{};  // random initial state, trace_path (FST)
  std::uint64_t kv_seed = 1;                       // the KV region's stale bytes
  std::uint64_t command_timeout = 20'000'000;      // cycles
};

class AccelDriver {
 public:
  using TapCallback = std::function<void(const AccelTap&)>;

  // The image (fx::write_weight_image) is served at kWeightBase; the KV region
  // is sized from its config. Resets the top.
  explicit AccelDriver(std::vector<std::uint8_t> image, AccelDriverOptions options = {});
  ~AccelDriver();
  AccelDriver(const AccelDriver&) = delete;
  AccelDriver& operator=(const AccelDriver&) = delete;

  const fx::WeightImageLayout& layout() const { return layout_; }
  std::uint64_t kv_base() const { return kv_base_; }  // bytes
  Harness<Vtp_accel_top>& harness() { return h_; }
  HbmModel& kv_memory() { return kv_hbm_; }

  // Reset (synchronous, the memories' in-flight bursts dropped with it): the
  // configuration is gone, every sequence closed.
  void reset();
  void tick(unsigned n = 1);
  std::uint64_t cycle() const { return h_.cycle(); }

  // Puts another weight image where the current one is (at most as large:
  // the KV region follows it), in both weight memories, as a host loading a
  // new model would; layout() becomes its layout. Configure and LOAD next.
  void replace_weight_image(const std::vector<std::uint8_t>& image);

  // Writes DIM .. SCORE_SCALE, the section table and the RoPE steps.
  void write_configuration(const ModelConfig& config, bool int4, const fx::WeightImageLayout& layout);
  // write_configuration, LOAD; throws std::invalid_argument when the model
  // is beyond kAccelLimits (accel_misfit), std::runtime_error naming the
  // status unless it is OK. The no-argument form: the image's own configuration.
  void configure(const ModelConfig& config, bool int4, const fx::WeightImageLayout& layout);
  void configure();

  // Each runs until the command completes; an error status is returned.
  CommandResult load();
  CommandResult open(unsigned seq);
  CommandResult prompt(unsigned seq, std::span<const int> ids);
  CommandResult step(unsigned seq);
  CommandResult close(unsigned seq);
  // Any command word (e.g. an unknown opcode) followed by `tokens` on TOKEN_IN.
  CommandResult command(std::uint32_t word, std::span<const int> tokens = {});
  // The same in two halves, to act while it runs (e.g. reset in the middle).
  void start_command(std::uint32_t word, std::span<const int> tokens = {});
  CommandResult finish_command();

  // Called on every cycle with tap_valid_o (during any clocking).
  void set_tap_callback(TapCallback callback) { tap_callback_ = std::move(callback); }
  std::uint64_t taps_seen() const { return taps_seen_; }

  // AXI4-Lite access (throws on timeout); write returns the response.
  unsigned write_register(std::uint32_t addr, std::uint32_t data);
  std::uint32_t read_register(std::uint32_t addr);  // throws unless OKAY
  AccelCounters counters();
  AccelSnapshot snapshot();
  double sim_seconds() const { return sim_seconds_; }  // wall time spent clocking the model

 private:
  class TapMonitor;
  struct Pending {
    std::uint32_t word = 0;
    unsigned completed_before = 0;  // counter 0 [31:16] before the command
    std::uint64_t start_cycle = 0;
  };

  // Clocks until done() (checked before every cycle) or the deadline cycle;
  // returns done(). The wall time spent is added to sim_seconds_.
  bool clock_until(const std::function<bool()>& done, std::uint64_t deadline);
  void write_retrying(std::uint32_t addr, std::uint32_t data, std::uint32_t full_error, std::string_view what);
  // Throws on RTL assertion failures and memory protocol violations.
  void check_health();

  AccelDriverOptions options_;
  fx::WeightImageLayout layout_;
  std::uint64_t kv_base_ = 0;
  Harness<Vtp_accel_top> h_;
  AxiLiteMaster<Vtp_accel_top> axil_;
  HbmModel w_hbm_, e_hbm_, kv_hbm_;
  std::unique_ptr<TapMonitor> taps_;
  TapCallback tap_callback_;
  std::uint64_t taps_seen_ = 0;
  std::optional<Pending> pending_;
  double sim_seconds_ = 0;
  int rtl_errors_ = 0;                  // reported by check_health
  std::uint64_t memory_violations_ = 0;
};

// ------------------------------------------------------------ golden side ---

// The first difference between the hardware and the golden model.
struct TapMismatch {
  int pos = 0;
  int layer = 0;
  std::string stage;         // fx::stage_name, or "token" for TOKEN_OUT
  long index = 0;            // element index (stage "token": -1)
  std::int64_t expected = 0;
  std::optional<std::int64_t> actual;  // none: no tap carried the element
  std::string note;          // what else was wrong (unexpected tap, ...)
  std::string describe() const;
};

class TapMismatchError : public std::runtime_error {
 public:
  explicit TapMismatchError(TapMismatch m) : std::runtime_error(m.describe()), mismatch(std::move(m)) {}
  TapMismatch mismatch;
};

class GoldenChecker {
 public:
  // stop_at_first: throw TapMismatchError at the first difference (from inside
  // the clocking when it is a tap); otherwise record it and go on.
  explicit GoldenChecker(std::shared_ptr<const fx::QuantizedModel> model, bool stop_at_first = true);

  void open(unsigned seq);   // a fresh golden sequence at position 0
  void close(unsigned seq);
  void reset();              // hardware reset: every sequence gone, nothing armed
  bool is_open(unsigned seq) const { return sequences_.count(seq) != 0; }

  struct Expected {
    int token = 0;  // argmax of the golden logits of the last position
    int pos = 0;    // the position that token takes
  };
  // Runs the golden forward passes of a PROMPT (ids at the sequence's next
  // positions) or a STEP (its last produced token) and arms the taps the
  // hardware must produce: embedding, attention and FFN residuals of every
  // position, the logits of the last.
  Expected begin_prompt(unsigned seq, std::span<const int> ids);
  Expected begin_step(unsigned seq);
  // The driver's tap callback.
  void observe(const AccelTap& tap);
  // After the hardware command: with status OK compares the token and its
  // position and checks that every armed element was tapped; with an error
  // status the golden sequence goes back to where it was (nothing stored).
  void end_command(const CommandResult& result);
  void abort_command();  // e.g. reset in the middle: drop what is armed

  bool bit_exact() const { return !first_mismatch_.has_value(); }
  const std::optional<TapMismatch>& first_mismatch() const { return first_mismatch_; }
  std::uint64_t values_compared() const { return values_compared_; }
  std::uint64_t unexpected_taps() const { return unexpected_taps_; }  // taps while nothing was armed

 private:
  struct Key {  // in the order the pipeline writes them
    int pos, layer, stage;
    auto operator<=>(const Key&) const = default;
  };
  struct Expectation {
    std::vector<std::int32_t> values;
    std::vector<bool> seen;
  };
  struct Sequence {
    std::unique_ptr<fx::IntModel> model;
    int next_pos = 0;
    int last_token = -1;  // the last produced token (fed by STEP)
  };
  struct Armed {
    unsigned seq = 0;
    int first_pos = 0, end_pos = 0;
    int saved_next_pos = 0, saved_last_token = -1;  // restored on an error status
    Expected expected;
    std::map<Key, Expectation> taps;
  };

  Expected run_golden(unsigned seq, std::span<const int> ids);
  void mismatch(TapMismatch m);

  std::shared_ptr<const fx::QuantizedModel> model_;
  bool stop_at_first_;
  std::map<unsigned, Sequence> sequences_;
  std::optional<Armed> armed_;
  std::optional<TapMismatch> first_mismatch_;
  std::uint64_t values_compared_ = 0, unexpected_taps_ = 0;
};

// The driver and the golden checker run together: every command's token and
// taps compared. Status != OK is returned, and the golden side unchanged.
class CheckedAccel {
 public:
  CheckedAccel(std::shared_ptr<const fx::QuantizedModel> model, AccelDriverOptions options = {},
               bool stop_at_first = true);

  AccelDriver& driver() { return driver_; }
  GoldenChecker& checker() { return checker_; }

  void configure() { driver_.configure(); }
  // Another model in the weight memory (AccelDriver::replace_weight_image)
  // and a fresh golden checker for it (no sequence open on the golden side).
  void switch_model(std::shared_ptr<const fx::QuantizedModel> model);
  CommandResult open(unsigned seq);
  CommandResult prompt(unsigned seq, std::span<const int> ids);
  CommandResult step(unsigned seq);
  CommandResult close(unsigned seq);
  void reset();  // the top and the golden sequences

 private:
  bool stop_at_first_;
  GoldenChecker checker_;
  AccelDriver driver_;
};

}  // namespace tp::tb
