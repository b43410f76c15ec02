// tp::tb::MatrixUnitBench: tp_matrix_unit (weight port + matrix engine) with
// the HBM model serving matrix sections, sources for commands and
// activations, a sink and a scoreboard fed by the golden tp::fx::matvec.
// Shared by the module test and `tokenpipe bench matmul`.
#pragma once

#include "Vtp_matrix_unit.h"
#include "common/harness.h"
#include "common/hbm_model.h"
#include "common/scoreboard.h"
#include "common/stream.h"
#include "golden/int/quantize.h"
#include "golden/int/weight_image.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <ostream>
#include <utility>
#include <vector>

namespace tp::tb {

// One matrix command: the matrix (its section in the image) times T tokens.
struct MatrixJob {
  const fx::QuantMatrix* matrix = nullptr;
  std::vector<fx::QuantVector> tokens;  // one INT8 vector per token
  uint64_t address = 0;                 // byte address of the section in the image
};

// tp_matrix_unit's cmd_kind_i.
enum class CommandKind : uint8_t { kBoth = 0, kPrefetch = 1, kFetched = 2, kDrop = 3 };

struct MatrixCommand {
  uint64_t addr = 0;
  uint32_t beats = 0;
  uint32_t rows = 0, cols = 0, tokens = 0;
  bool int4 = false;
  const MatrixJob* job = nullptr;  // golden data (not driven)
  CommandKind kind = CommandKind::kBoth;
  // Only kBoth and kFetched compute (and produce results).
  bool computes() const { return kind == CommandKind::kBoth || kind == CommandKind::kFetched; }
};

struct ActBeat {
  std::array<int8_t, 32> q{};
  uint16_t mant = 0;
  int16_t exp = 0;
  bool last = false;
};

struct OutBeat {
  std::array<int32_t, 32> lanes{};
  unsigned rows = 0, token = 0;
  bool last = false;
  bool operator==(const OutBeat&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const OutBeat& b) {
  os << "{rows " << b.rows << ", token " << b.token << ", last " << b.last << ", lanes";
  for (unsigned j = 0; j < b.rows; ++j) os << ' ' << b.lanes[j];
  return os << '}';
}

// Golden: per row group, per token, the 32 lanes of fx::matvec.
inline std::vector<OutBeat> golden_matrix_beats(const MatrixJob& job) {
  const fx::QuantMatrix& w = *job.matrix;
  std::vector<std::vector<int32_t>> y;
  for (const auto& x : job.tokens) y.push_back(fx::matvec(w, x));
  std::vector<OutBeat> beats;
  const int groups = (w.rows + 31) / 32;
  for (int g = 0; g < groups; ++g) {
    for (size_t t = 0; t < y.size(); ++t) {
      OutBeat b;
      b.rows = static_cast<unsigned>(std::min(32, w.rows - 32 * g));
      b.token = static_cast<unsigned>(t);
      b.last = g + 1 == groups && t + 1 == y.size();
      for (unsigned j = 0; j < b.rows; ++j) b.lanes[j] = y[t][static_cast<size_t>(32 * g) + j];
      beats.push_back(b);
    }
  }
  return beats;
}

// The activation beats of a job: token-major, one group per beat.
inline std::vector<ActBeat> activation_beats(const MatrixJob& job) {
  std::vector<ActBeat> beats;
  for (const auto& x : job.tokens) {
    for (size_t g = 0; g < x.scales.size(); ++g) {
      ActBeat a;
      for (int i = 0; i < 32; ++i) a.q[static_cast<size_t>(i)] = x.values[g * 32 + static_cast<size_t>(i)];
      a.mant = x.scales[g].mantissa;
      a.exp = x.scales[g].exponent;
      beats.push_back(a);
    }
  }
  beats.back().last = true;
  return beats;
}

inline MatrixCommand command_for(const MatrixJob& job) {
  const fx::QuantMatrix& w = *job.matrix;
  return {job.address,
          static_cast<uint32_t>(fx::matrix_section_bytes(w.rows, w.cols, w.bits) / 64),
          static_cast<uint32_t>(w.rows),
          static_cast<uint32_t>(w.cols),
          static_cast<uint32_t>(job.tokens.size()),
          w.bits == 4,
          &job};
}

// The sections of `matrices` one after the other (64-byte aligned); sets
// each job's address from the matrix it names.
inline std::vector<uint8_t> image_of(const std::vector<const fx::QuantMatrix*>& matrices,
                                     std::vector<uint64_t>& addresses) {
  std::vector<uint8_t> image;
  for (const fx::QuantMatrix* m : matrices) {
    addresses.push_back(image.size());
    const auto section = fx::matrix_section_image(*m);
    image.insert(image.end(), section.begin(), section.end());
  }
  return image;
}

struct MatrixUnitBench {
  using Model = Vtp_matrix_unit;

  MatrixUnitBench(std::vector<uint8_t> image, HbmConfig hbm_config, StallGenerator cmd_stall = {},
                  StallGenerator act_stall = {}, StallGenerator out_stall = {}, HarnessOptions options = {})
      : h(options),
        cmds(
            h,
            [this](bool valid, const MatrixCommand& c) {
              h->cmd_valid_i = valid;
              h->cmd_addr_i = c.addr;
              h->cmd_beats_i = c.beats;
              h->cmd_rows_i = static_cast<uint16_t>(c.rows);
              h->cmd_cols_i = static_cast<uint16_t>(c.cols);
              h->cmd_tokens_i = static_cast<uint8_t>(c.tokens);
              h->cmd_int4_i = c.int4;
              h->cmd_kind_i = static_cast<uint8_t>(c.kind);
            },
            [this] { return h->cmd_ready_o != 0; }, std::move(cmd_stall)),
        acts(
            h,
            [this](bool valid, const ActBeat& a) {
              h->act_valid_i = valid;
              for (unsigned w = 0; w < 8; ++w) {
                uint32_t word = 0;
                for (unsigned b = 0; b < 4; ++b) word |= uint32_t{static_cast<uint8_t>(a.q[4 * w + b])} << (8 * b);
                h->act_q_i[w] = word;
              }
              h->act_mant_i = a.mant;
              h->act_exp_i = static_cast<uint16_t>(a.exp);
              h->act_last_i = a.last;
            },
            [this] { return h->act_ready_o != 0; }, std::move(act_stall)),
        hbm(h, axi_read_ports(h), std::move(image), std::move(hbm_config)),
        sink(
            h, [this](bool r) { h->out_ready_i = r; }, [this] { return h->out_valid_o != 0; },
            [this] {
              OutBeat b;
              for (unsigned j = 0; j < 32; ++j) b.lanes[j] = static_cast<int32_t>(h->out_data_o[j]);
              b.rows = h->out_rows_o;
              b.token = h->out_token_o;
              b.last = h->out_last_o != 0;
              return b;
            },
            std::move(out_stall)),
        scoreboard(h, "out") {
    scoreboard.connect(
        cmds,
        [](const MatrixCommand& c) { return c.computes() ? golden_matrix_beats(*c.job) : std::vector<OutBeat>{}; },
        sink);
  }

  // Queues a job: its command and its activations.
  size_t push(const MatrixJob& job) {
    cmds.push(command_for(job));
    acts.push_all(activation_beats(job));
    const auto& w = *job.matrix;
    return static_cast<size_t>((w.rows + 31) / 32) * job.tokens.size();
  }

  // The cycle each command's last result beat left, in command order.
  std::vector<uint64_t> command_end_cycles() const {
    std::vector<uint64_t> ends;
    for (size_t i = 0; i < sink.beats().size(); ++i) {
      if (sink.beats()[i].last) ends.push_back(sink.beat_cycles()[i]);
    }
    return ends;
  }

  Harness<Model> h;
  Source<MatrixCommand> cmds;
  Source<ActBeat> acts;
  HbmModel hbm;
  Sink<OutBeat> sink;
  Scoreboard<OutBeat> scoreboard;
};

}  // namespace tp::tb
