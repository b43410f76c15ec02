// tp::tb::AccelDriver, GoldenChecker, CheckedAccel (accel_driver.h).
#include "top/accel_driver.h"

#include "golden/int/argmax.h"
#include "golden/int/kv_layout.h"

#include <chrono>
#include <limits>
#include <sstream>

namespace tp::tb {

namespace {

constexpr std::uint64_t kAxiTimeout = 1000;      // cycles for one AXI4-Lite transaction
constexpr unsigned kPollInterval = 16;           // cycles between two reads of counter 0
constexpr unsigned kRetryInterval = 64;          // cycles before writing to a full FIFO again
constexpr unsigned kTokenOutReads = 64;          // reads of TOKEN_OUT after a completion
constexpr std::uint64_t kRegionAlign = 4096;

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

std::string hex(std::uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

// 512-bit ports as 16 little-endian 32-bit words (HbmBeat byte 4w + b is byte b of word w).
template <class Wide>
void put_beat(Wide& wide, const HbmBeat& beat) {
  for (unsigned w = 0; w < 16; ++w) {
    std::uint32_t word = 0;
    for (unsigned b = 0; b < 4; ++b) word |= std::uint32_t{beat[4 * w + b]} << (8 * b);
    wide[w] = word;
  }
}
template <class Wide>
HbmBeat get_beat(const Wide& wide) {
  HbmBeat beat{};
  for (unsigned w = 0; w < 16; ++w) {
    for (unsigned b = 0; b < 4; ++b) beat[4 * w + b] = static_cast<std::uint8_t>(wide[w] >> (8 * b));
  }
  return beat;
}

// The HBM model's view of the read channel m_axi_<p>_* of the top: addresses
// relative to `base` (the region the model holds). A macro because the three
// channels differ only in their port names.
#define TP_ACCEL_READ_PORTS(p, base)                                                                   \
  HbmPorts {                                                                                           \
    .arvalid = [this] { return h_->m_axi_##p##_arvalid_o != 0; },                                      \
    .araddr = [this] { return static_cast<std::uint64_t>(h_->m_axi_##p##_araddr_o) - (base); },         \
    .arlen = [this] { return static_cast<unsigned>(h_->m_axi_##p##_arlen_o); },                        \
    .set_arready = [this](bool r) { h_->m_axi_##p##_arready_i = r; },                                  \
    .set_r =                                                                                           \
        [this](bool valid, const HbmBeat& data, bool last) {                                           \
          h_->m_axi_##p##_rvalid_i = valid;                                                            \
          h_->m_axi_##p##_rlast_i = last;                                                              \
          put_beat(h_->m_axi_##p##_rdata_i, data);                                                     \
        },                                                                                             \
    .rready = [this] { return h_->m_axi_##p##_rready_o != 0; },                                        \
  }

std::string command_name(std::uint32_t word) {
  static const char* const kNames[] = {"?", "LOAD", "OPEN", "PROMPT", "STEP", "CLOSE"};
  const unsigned op = word >> 28;
  std::ostringstream s;
  s << (op >= 1 && op <= 5 ? kNames[op] : "opcode " + std::to_string(op)) << "(seq " << ((word >> 24) & 0xF);
  if (op == static_cast<unsigned>(Opcode::kPrompt)) s << ", " << (word & 0xFFFF) << " tokens";
  return s.str() + ")";
}

// The hardware's tap stage codes and the golden stages they compare with.
constexpr fx::Stage kTapStages[] = {fx::Stage::kEmbedding, fx::Stage::kAttentionResidual,
                                    fx::Stage::kFfnResidual, fx::Stage::kLogits};

int tap_code(fx::Stage stage) {
  for (int code = 0; code < 4; ++code) {
    if (kTapStages[code] == stage) return code;
  }
  return -1;  // not tapped by the hardware
}

}  // namespace

std::uint32_t command_word(unsigned opcode, unsigned seq, unsigned count) {
  return (opcode & 0xF) << 28 | (seq & 0xF) << 24 | (count & 0xFFFF);
}

std::string status_name(unsigned status) {
  static const char* const kNames[] = {"OK",      "BAD_CONFIG", "BAD_STATE", "BAD_SEQ", "SEQ_FULL",
                                       "NO_PAGE", "BAD_TOKEN",  "BAD_CMD",   "HW_ERROR"};
  const std::string name = status < std::size(kNames) ? kNames[status] : "unknown status";
  return name + " (" + std::to_string(status) + ")";
}

// --------------------------------------------------------------- metrics ---
AccelCounters AccelCounters::since(const AccelCounters& earlier) const {
  AccelCounters d;
  for (unsigned k = 0; k < kAccelCounters; ++k) d.value[k] = value[k] - earlier.value[k];
  return d;
}

std::vector<std::pair<std::string, double>> AccelMetrics::named() const {
  return {{"decode_cycles_per_token", decode_cycles_per_token},
          {"weight_bytes_per_token", weight_bytes_per_token},
          {"roofline_ratio", roofline_ratio},
          {"roofline_ratio_documented", roofline_ratio_documented},
          {"prefill_cycles_per_token", prefill_cycles_per_token},
          {"prefill_pe_utilization", prefill_pe_utilization},
          {"weight_port_utilization", weight_port_utilization},
          {"kv_port_utilization", kv_port_utilization},
          {"matrix_busy", matrix_busy},
          {"attention_busy", attention_busy},
          {"vector_busy", vector_busy},
          {"kv_busy", kv_busy},
          {"sim_tokens_per_s", sim_tokens_per_s},
          {"sim_cycles_per_s", sim_cycles_per_s},
          {"prefill_tokens", static_cast<double>(prefill_tokens)},
          {"decode_tokens", static_cast<double>(decode_tokens)}};
}

AccelMetrics accel_metrics(const AccelSnapshot& prefill_start, const AccelSnapshot& decode_start,
                           const AccelSnapshot& decode_end, const fx::WeightImageLayout& layout) {
  using C = AccelCounters;
  const C p = decode_start.counters.since(prefill_start.counters);
  const C d = decode_end.counters.since(decode_start.counters);
  // A figure over no cycles or tokens (e.g. no decode ran) is NaN: "n/a", not 0.
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : std::numeric_limits<double>::quiet_NaN(); };
  AccelMetrics m;
  m.prefill_tokens = p[C::kPrefillTokens];
  m.decode_tokens = d[C::kDecodeTokens];
  const double decode_cycles = d[C::kDecodeCycles];
  m.decode_cycles_per_token = ratio(decode_cycles, m.decode_tokens);
  m.weight_bytes_per_token =
      ratio((static_cast<double>(d[C::kWeightBeats]) + d[C::kAuxBeats]) * fx::kBeatBytes, m.decode_tokens);
  m.roofline_ratio = ratio(m.decode_cycles_per_token, m.weight_bytes_per_token / fx::kBeatBytes);
  m.roofline_ratio_documented = ratio(
      m.decode_cycles_per_token, static_cast<double>(fx::weight_bytes_per_token(layout)) / fx::kBeatBytes);
  m.prefill_cycles_per_token = ratio(p[C::kPrefillCycles], m.prefill_tokens);
  m.prefill_pe_utilization = ratio(p[C::kMatrixIssue], p[C::kPrefillCycles]);
  m.weight_port_utilization = ratio(d[C::kWeightBeats], decode_cycles);
  m.kv_port_utilization = ratio(d[C::kKvReadBeats], d[C::kKvBusy]);
  m.matrix_busy = ratio(d[C::kMatrixBusy], decode_cycles);
  m.attention_busy = ratio(d[C::kAttentionBusy], decode_cycles);
  m.vector_busy = ratio(d[C::kVectorBusy], decode_cycles);
  m.kv_busy = ratio(d[C::kKvBusy], decode_cycles);
  const double seconds = decode_end.sim_seconds - prefill_start.sim_seconds;
  m.sim_cycles_per_s = ratio(static_cast<double>(decode_end.cycle - prefill_start.cycle), seconds);
  m.sim_tokens_per_s = ratio(static_cast<double>(m.prefill_tokens + m.decode_tokens), seconds);
  return m;
}

// ---------------------------------------------------------------- driver ---
// Hands every tap beat to the driver's callback, whatever the driver is doing.
class AccelDriver::TapMonitor final : public Component {
 public:
  explicit TapMonitor(AccelDriver& d) : Component(d.h_), d_(d) {}
  void sample(std::uint64_t) override {
    auto& top = d_.h_.dut();
    if (!top.tap_valid_o) return;
    AccelTap tap{.stage = top.tap_stage_o, .layer = top.tap_layer_o, .token = top.tap_token_o,
                 .pos = top.tap_pos_o, .index = top.tap_index_o, .count = top.tap_count_o};
    for (unsigned i = 0; i < kAccelTapLanes; ++i) tap.lanes[i] = static_cast<std::int32_t>(top.tap_data_o[i]);
    ++d_.taps_seen_;
    if (d_.tap_callback_) d_.tap_callback_(tap);
  }

 private:
  AccelDriver& d_;
};

AccelDriver::AccelDriver(std::vector<std::uint8_t> image, AccelDriverOptions options)
    : options_(std::move(options)),
      layout_(fx::read_weight_image_layout(image)),
      kv_base_(align_up(kWeightBase + image.size(), kRegionAlign)),
      h_(options_.harness),
      axil_(h_, h_.dut(), options_.host_gap, options_.host_response_stall),
      w_hbm_(h_, TP_ACCEL_READ_PORTS(w, kWeightBase), image, options_.weight_memory),
      e_hbm_(h_, TP_ACCEL_READ_PORTS(e, kWeightBase), std::move(image), options_.weight_memory),
      kv_hbm_(h_, TP_ACCEL_READ_PORTS(kv, kv_base_),
              HbmWritePorts{
                  .awvalid = [this] { return h_->m_axi_kv_awvalid_o != 0; },
                  .awaddr = [this] { return static_cast<std::uint64_t>(h_->m_axi_kv_awaddr_o) - kv_base_; },
                  .awlen = [this] { return static_cast<unsigned>(h_->m_axi_kv_awlen_o); },
                  .awsize = [this] { return static_cast<unsigned>(h_->m_axi_kv_awsize_o); },
                  .awburst = [this] { return static_cast<unsigned>(h_->m_axi_kv_awburst_o); },
                  .set_awready = [this](bool r) { h_->m_axi_kv_awready_i = r; },
                  .wvalid = [this] { return h_->m_axi_kv_wvalid_o != 0; },
                  .wdata = [this] { return get_beat(h_->m_axi_kv_wdata_o); },
                  .wstrb = [this] { return static_cast<std::uint64_t>(h_->m_axi_kv_wstrb_o); },
                  .wlast = [this] { return h_->m_axi_kv_wlast_o != 0; },
                  .set_wready = [this](bool r) { h_->m_axi_kv_wready_i = r; },
                  .set_b =
                      [this](bool valid, unsigned resp) {
                        h_->m_axi_kv_bvalid_i = valid;
                        h_->m_axi_kv_bresp_i = resp;
                      },
                  .bready = [this] { return h_->m_axi_kv_bready_o != 0; },
              },
              random_image(fx::KvLayout(layout_.config.n_layers, layout_.config.n_kv_heads,
                                        layout_.config.head_size())
                                   .page_bytes() *
                               kAccelKvPages,
                           options_.kv_seed),
              options_.kv_memory),
      taps_(std::make_unique<TapMonitor>(*this)) {
  h_->m_axi_kv_rresp_i = 0;  // the model answers every read OKAY
  reset();
}

AccelDriver::~AccelDriver() = default;

void AccelDriver::reset() {
  pending_.reset();
  const auto start = std::chrono::steady_clock::now();
  h_.reset();
  sim_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void AccelDriver::tick(unsigned n) {
  clock_until([] { return false; }, cycle() + n);
}

bool AccelDriver::clock_until(const std::function<bool()>& done, std::uint64_t deadline) {
  const auto start = std::chrono::steady_clock::now();
  bool reached = true;
  while (!(reached = done()) && cycle() < deadline) h_.tick();
  sim_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return reached;
}

unsigned AccelDriver::write_register(std::uint32_t addr, std::uint32_t data) {
  axil_.write(addr, data);
  if (!clock_until([this] { return axil_.done(); }, cycle() + kAxiTimeout)) {
    throw std::runtime_error("AXI4-Lite write of " + hex(addr) + " not answered within " +
                             std::to_string(kAxiTimeout) + " cycles");
  }
  return axil_.results().back().resp;
}

std::uint32_t AccelDriver::read_register(std::uint32_t addr) {
  axil_.read(addr);
  if (!clock_until([this] { return axil_.done(); }, cycle() + kAxiTimeout)) {
    throw std::runtime_error("AXI4-Lite read of " + hex(addr) + " not answered within " +
                             std::to_string(kAxiTimeout) + " cycles");
  }
  const AxiLiteResult& r = axil_.results().back();
  if (r.resp != 0) throw std::runtime_error("AXI4-Lite read of " + hex(addr) + " answered SLVERR");
  return r.data;
}

// A write refused because a FIFO is full is tried again a little later; a
// token id the CSR refuses (>= VOCAB) is the caller's error.
void AccelDriver::write_retrying(std::uint32_t addr, std::uint32_t data, std::uint32_t full_error,
                                 std::string_view what) {
  const std::uint64_t deadline = cycle() + options_.command_timeout;
  while (write_register(addr, data) != 0) {
    const std::uint32_t errors = read_register(csr::kStatus) & 0xFF00;
    write_register(csr::kStatus, errors);  // write 1s to clear
    if (errors & csr::kErrTokenId) {
      throw std::invalid_argument("TOKEN_IN refused token id " + std::to_string(data) + " (>= VOCAB)");
    }
    if (!(errors & full_error)) {
      throw std::runtime_error(std::string(what) + ": write of " + hex(data) + " answered SLVERR, STATUS errors " +
                               hex(errors >> 8));
    }
    if (cycle() >= deadline) throw std::runtime_error(std::string(what) + ": the FIFO stayed full");
    tick(kRetryInterval);
  }
}

void AccelDriver::replace_weight_image(const std::vector<std::uint8_t>& image) {
  if (image.size() > w_hbm_.memory().size()) {
    throw std::invalid_argument("replace_weight_image: the new image (" + std::to_string(image.size()) +
                                " bytes) is larger than the weight region (" +
                                std::to_string(w_hbm_.memory().size()) + " bytes)");
  }
  layout_ = fx::read_weight_image_layout(image);
  for (HbmModel* memory : {&w_hbm_, &e_hbm_}) {
    std::vector<std::uint8_t>& bytes = memory->memory();
    std::fill(std::copy(image.begin(), image.end(), bytes.begin()), bytes.end(), std::uint8_t{0});
  }
}

void AccelDriver::write_configuration(const ModelConfig& c, bool int4, const fx::WeightImageLayout& layout) {
  const fx::ModelConstants k = fx::model_constants(c);
  const auto word = [](const fx::ScaleFp& s, unsigned exponent_bits) {
    const std::uint32_t exponent = static_cast<std::uint16_t>(s.exponent) & ((1u << exponent_bits) - 1);
    return exponent << 16 | (s.mantissa & 0x7FF);
  };
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> registers = {
      {csr::kDim, c.dim},
      {csr::kHiddenDim, c.hidden_dim},
      {csr::kNLayers, c.n_layers},
      {csr::kNHeads, c.n_heads},
      {csr::kNKvHeads, c.n_kv_heads},
      {csr::kHeadSize, c.head_size()},
      {csr::kVocab, c.vocab_size},
      {csr::kSeqLen, c.seq_len},
      {csr::kQuant, int4 ? 1u : 0u},
      {csr::kWeightBase, static_cast<std::uint32_t>(kWeightBase / fx::kBeatBytes)},
      {csr::kKvBase, static_cast<std::uint32_t>(kv_base_ / fx::kBeatBytes)},
      {csr::kInvDim, word(k.inv_dim, 16)},
      {csr::kScoreScale, word(k.score_scale, 8)},
  };
  const auto write = [this](std::uint32_t addr, std::uint32_t data) {
    if (write_register(addr, data) != 0) {
      throw std::runtime_error("configuration write of " + hex(data) + " to " + hex(addr) + " answered SLVERR");
    }
  };
  for (const auto& [addr, data] : registers) write(addr, data);
  // Offsets are relative to WEIGHT_BASE, where the image starts.
  for (std::size_t i = 0; i < layout.sections.size(); ++i) {
    const fx::ImageSection& s = layout.sections[i];
    const auto addr = static_cast<std::uint32_t>(csr::kSections + 8 * i);
    write(addr, static_cast<std::uint32_t>(s.offset / fx::kBeatBytes));
    write(addr + 4, static_cast<std::uint32_t>(s.length / fx::kBeatBytes));
  }
  for (std::size_t j = 0; j < k.rope_steps.size(); ++j) {
    write(static_cast<std::uint32_t>(csr::kRope + 4 * j), k.rope_steps[j]);
  }
}

std::string accel_misfit(const ModelConfig& c) {
  const AccelLimits& m = kAccelLimits;
  struct Size {
    const char* name;
    int value, max;
  };
  const Size sizes[] = {
      {"dim", c.dim, m.dim},
      {"hidden_dim", c.hidden_dim, m.hidden_dim},
      {"n_layers", c.n_layers, m.n_layers},
      {"n_heads", c.n_heads, m.n_heads},
      {"n_kv_heads", c.n_kv_heads, m.n_kv_heads},
      {"head_size", c.n_heads > 0 ? c.head_size() : 0, m.head_size},
      {"vocab_size", c.vocab_size, m.vocab_size},
      {"seq_len", c.seq_len, m.seq_len},
  };
  for (const Size& size : sizes) {
    if (size.value > size.max) {
      return std::string(size.name) + " " + std::to_string(size.value) + " exceeds the accelerator's maximum of " +
             std::to_string(size.max);
    }
  }
  return {};
}

void AccelDriver::configure(const ModelConfig& config, bool int4, const fx::WeightImageLayout& layout) {
  if (const std::string misfit = accel_misfit(config); !misfit.empty()) {
    throw std::invalid_argument("the model does not fit the RTL top: " + misfit);
  }
  write_configuration(config, int4, layout);
  const CommandResult r = load();
  if (!r.ok()) throw std::runtime_error("LOAD completed with status " + status_name(static_cast<unsigned>(r.status)));
}

void AccelDriver::configure() { configure(layout_.config, layout_.bits == 4, layout_); }

CommandResult AccelDriver::load() { return command(command_word(unsigned(Opcode::kLoad), 0)); }
CommandResult AccelDriver::open(unsigned seq) { return command(command_word(unsigned(Opcode::kOpen), seq)); }
CommandResult AccelDriver::step(unsigned seq) { return command(command_word(unsigned(Opcode::kStep), seq)); }
CommandResult AccelDriver::close(unsigned seq) { return command(command_word(unsigned(Opcode::kClose), seq)); }
CommandResult AccelDriver::prompt(unsigned seq, std::span<const int> ids) {
  return command(command_word(unsigned(Opcode::kPrompt), seq, static_cast<unsigned>(ids.size())), ids);
}

CommandResult AccelDriver::command(std::uint32_t word, std::span<const int> tokens) {
  start_command(word, tokens);
  return finish_command();
}

void AccelDriver::start_command(std::uint32_t word, std::span<const int> tokens) {
  if (pending_) throw std::logic_error("AccelDriver: " + command_name(word) + " while another command runs");
  const Pending p{.word = word, .completed_before = read_register(csr::kCounters) >> 16, .start_cycle = cycle()};
  write_retrying(csr::kCmd, word, csr::kErrCmdFull, "CMD");
  pending_ = p;
  for (const int id : tokens) write_retrying(csr::kTokenIn, static_cast<std::uint32_t>(id), csr::kErrTokenFull, "TOKEN_IN");
}

CommandResult AccelDriver::finish_command() {
  if (!pending_) throw std::logic_error("AccelDriver::finish_command: no command running");
  const Pending p = *pending_;
  const std::uint64_t deadline = p.start_cycle + options_.command_timeout;
  CommandResult result;
  // Counter 0 is read when busy_o is low (at most every kPollInterval cycles).
  for (;;) {
    const std::uint32_t status = read_register(csr::kCounters);
    const unsigned completed = ((status >> 16) - p.completed_before) & 0xFFFF;
    if (completed > 1) throw std::runtime_error(command_name(p.word) + ": more than one command completed");
    if (completed == 1) {
      result.status = static_cast<Status>(status & 0xF);
      break;
    }
    if (cycle() >= deadline) {
      pending_.reset();
      throw std::runtime_error(command_name(p.word) + " did not complete within " +
                               std::to_string(options_.command_timeout) + " cycles");
    }
    const std::uint64_t earliest = cycle() + kPollInterval;
    clock_until([&] { return cycle() >= earliest && h_->busy_o == 0; }, deadline);
  }
  result.cycles = cycle() - p.start_cycle;
  pending_.reset();

  const unsigned op = p.word >> 28, seq = (p.word >> 24) & 0xF;
  const bool produces = op == unsigned(Opcode::kPrompt) || op == unsigned(Opcode::kStep);
  if (result.ok() && produces) {
    std::uint32_t out = 0;
    for (unsigned i = 0; i < kTokenOutReads && !(out >> 31); ++i) out = read_register(csr::kTokenOut);
    if (!(out >> 31)) throw std::runtime_error(command_name(p.word) + " completed OK but TOKEN_OUT stayed empty");
    if (((out >> 27) & 0xF) != seq) {
      throw std::runtime_error(command_name(p.word) + ": TOKEN_OUT holds a token of sequence " +
                               std::to_string((out >> 27) & 0xF));
    }
    result.pos = static_cast<int>((out >> 16) & 0x7FF);
    result.token = static_cast<int>(out & 0x7FFF);
  }
  check_health();
  return result;
}

void AccelDriver::check_health() {
  const int errors = h_.context().errorCount();
  if (errors != rtl_errors_) {
    rtl_errors_ = errors;
    throw std::runtime_error("RTL assertion(s) failed (messages above)");
  }
  const std::uint64_t violations = w_hbm_.violations() + e_hbm_.violations() + kv_hbm_.violations();
  if (violations != memory_violations_) {
    memory_violations_ = violations;
    throw std::runtime_error("AXI4 memory protocol violation(s) (messages above)");
  }
}

AccelCounters AccelDriver::counters() {
  AccelCounters c;
  for (unsigned k = 0; k < kAccelCounters; ++k) c.value[k] = read_register(csr::kCounters + 4 * k);
  return c;
}

AccelSnapshot AccelDriver::snapshot() {
  AccelCounters c = counters();
  return {c, cycle(), sim_seconds_};
}

// ---------------------------------------------------------------- golden ---
std::string TapMismatch::describe() const {
  std::ostringstream s;
  s << "position " << pos;
  if (stage == "token") {
    s << ": token expected " << expected << ", actual " << (actual ? std::to_string(*actual) : "none");
  } else {
    s << ", layer " << layer << ", stage '" << stage << "', index " << index << ": expected " << expected
      << ", actual " << (actual ? std::to_string(*actual) : "none (no tap carried it)");
  }
  if (!note.empty()) s << " (" << note << ")";
  return s.str();
}

GoldenChecker::GoldenChecker(std::shared_ptr<const fx::QuantizedModel> model, bool stop_at_first)
    : model_(std::move(model)), stop_at_first_(stop_at_first) {}

void GoldenChecker::open(unsigned seq) { sequences_[seq] = Sequence{std::make_unique<fx::IntModel>(model_)}; }

void GoldenChecker::close(unsigned seq) { sequences_.erase(seq); }

void GoldenChecker::reset() {
  sequences_.clear();
  armed_.reset();
}

void GoldenChecker::mismatch(TapMismatch m) {
  if (!first_mismatch_) first_mismatch_ = m;
  if (stop_at_first_) throw TapMismatchError(std::move(m));
}

GoldenChecker::Expected GoldenChecker::run_golden(unsigned seq, std::span<const int> ids) {
  if (armed_) throw std::logic_error("GoldenChecker: a command is armed already");
  const auto it = sequences_.find(seq);
  if (it == sequences_.end()) throw std::logic_error("GoldenChecker: sequence " + std::to_string(seq) + " is not open");
  if (ids.empty()) throw std::logic_error("GoldenChecker: a command without tokens");
  Sequence& s = it->second;
  Armed a;
  a.seq = seq;
  a.first_pos = a.saved_next_pos = s.next_pos;
  a.end_pos = s.next_pos + static_cast<int>(ids.size());
  a.saved_last_token = s.last_token;
  // The hardware emits logits only for the last position of a command.
  s.model->set_observer([&a](const fx::Tap& t) {
    const int code = tap_code(t.stage);
    if (code < 0 || (t.stage == fx::Stage::kLogits && t.pos != a.end_pos - 1)) return;
    a.taps[Key{t.pos, t.layer, code}] =
        Expectation{std::vector<std::int32_t>(t.values.begin(), t.values.end()), std::vector<bool>(t.values.size())};
  });
  for (std::size_t i = 0; i < ids.size(); ++i) s.model->forward(ids[i], a.first_pos + static_cast<int>(i));
  s.model->set_observer({});
  a.expected = {fx::argmax(s.model->logits_q16()), a.end_pos};
  s.next_pos = a.end_pos;
  s.last_token = a.expected.token;
  armed_ = std::move(a);
  return armed_->expected;
}

GoldenChecker::Expected GoldenChecker::begin_prompt(unsigned seq, std::span<const int> ids) {
  return run_golden(seq, ids);
}

GoldenChecker::Expected GoldenChecker::begin_step(unsigned seq) {
  const auto it = sequences_.find(seq);
  if (it == sequences_.end() || it->second.last_token < 0) {
    throw std::logic_error("GoldenChecker: STEP of sequence " + std::to_string(seq) + " before any PROMPT");
  }
  const int token = it->second.last_token;
  return run_golden(seq, std::span(&token, 1));
}

void GoldenChecker::observe(const AccelTap& tap) {
  if (!armed_) {
    ++unexpected_taps_;
    return;
  }
  const int n_layers = model_->config.n_layers;
  const fx::Stage stage = kTapStages[tap.stage & 3];
  const int layer = stage == fx::Stage::kEmbedding ? -1 : stage == fx::Stage::kLogits ? n_layers
                                                                                       : static_cast<int>(tap.layer);
  TapMismatch m;
  m.pos = static_cast<int>(tap.pos);
  m.layer = layer;
  m.stage = fx::stage_name(stage);
  m.index = static_cast<long>(tap.index);
  const auto it = armed_->taps.find(Key{m.pos, layer, static_cast<int>(tap.stage & 3)});
  if (it == armed_->taps.end()) {
    m.note = "unexpected tap: no such vector in this command (positions " + std::to_string(armed_->first_pos) +
             ".." + std::to_string(armed_->end_pos - 1) + ")";
    return mismatch(m);
  }
  const unsigned expected_token = static_cast<unsigned>(m.pos - armed_->first_pos) % kAccelMaxBlock;
  if (tap.token != expected_token) {
    m.note = "tap_token_o " + std::to_string(tap.token) + ", expected " + std::to_string(expected_token);
    return mismatch(m);
  }
  Expectation& e = it->second;
  if (tap.count == 0 || tap.count > kAccelTapLanes || tap.index + tap.count > e.values.size()) {
    m.note = std::to_string(tap.count) + " lanes from index " + std::to_string(tap.index) + " in a vector of " +
             std::to_string(e.values.size());
    return mismatch(m);
  }
  for (unsigned i = 0; i < tap.count; ++i) {
    const std::size_t at = tap.index + i;
    ++values_compared_;
    if (e.seen[at]) {  // a vector written twice (e.g. a layer run again) is a difference too
      m.index = static_cast<long>(at);
      m.expected = e.values[at];
      m.actual = tap.lanes[i];
      m.note = "element tapped twice";
      return mismatch(m);
    }
    e.seen[at] = true;
    if (tap.lanes[i] != e.values[at]) {
      m.index = static_cast<long>(at);
      m.expected = e.values[at];
      m.actual = tap.lanes[i];
      return mismatch(m);
    }
  }
}

void GoldenChecker::end_command(const CommandResult& result) {
  if (!armed_) return;
  Armed a = std::move(*armed_);
  armed_.reset();
  Sequence& s = sequences_.at(a.seq);
  if (!result.ok()) {
    s.next_pos = a.saved_next_pos;
    s.last_token = a.saved_last_token;
    return;
  }
  if (result.token != a.expected.token || result.pos != a.expected.pos) {
    mismatch({.pos = a.end_pos - 1, .layer = model_->config.n_layers, .stage = "token", .index = -1,
              .expected = a.expected.token, .actual = result.token,
              .note = "TOKEN_OUT pos " + std::to_string(result.pos) + ", expected " + std::to_string(a.expected.pos)});
  }
  for (const auto& [key, e] : a.taps) {
    for (std::size_t i = 0; i < e.seen.size(); ++i) {
      if (e.seen[i]) continue;
      return mismatch({.pos = key.pos, .layer = key.layer, .stage = std::string(fx::stage_name(kTapStages[key.stage])),
                       .index = static_cast<long>(i), .expected = e.values[i], .actual = std::nullopt,
                       .note = "the command completed"});
    }
  }
}

void GoldenChecker::abort_command() { armed_.reset(); }

// ---------------------------------------------------------------- checked ---
CheckedAccel::CheckedAccel(std::shared_ptr<const fx::QuantizedModel> model, AccelDriverOptions options,
                           bool stop_at_first)
    : stop_at_first_(stop_at_first), checker_(model, stop_at_first),
      driver_(fx::write_weight_image(*model), std::move(options)) {
  driver_.set_tap_callback([this](const AccelTap& tap) { checker_.observe(tap); });
}

void CheckedAccel::switch_model(std::shared_ptr<const fx::QuantizedModel> model) {
  driver_.replace_weight_image(fx::write_weight_image(*model));
  checker_ = GoldenChecker(std::move(model), stop_at_first_);
}

CommandResult CheckedAccel::open(unsigned seq) {
  const CommandResult r = driver_.open(seq);
  if (r.ok()) checker_.open(seq);
  return r;
}

CommandResult CheckedAccel::close(unsigned seq) {
  const CommandResult r = driver_.close(seq);
  if (r.ok()) checker_.close(seq);
  return r;
}

CommandResult CheckedAccel::prompt(unsigned seq, std::span<const int> ids) {
  checker_.begin_prompt(seq, ids);
  const CommandResult r = driver_.prompt(seq, ids);
  checker_.end_command(r);
  return r;
}

CommandResult CheckedAccel::step(unsigned seq) {
  checker_.begin_step(seq);
  const CommandResult r = driver_.step(seq);
  checker_.end_command(r);
  return r;
}

void CheckedAccel::reset() {
  checker_.reset();
  driver_.reset();
}

}  // namespace tp::tb
