// Testbench of rtl/matrix/tp_embedding.sv (default Lanes = 16, MaxDim 512,
// MaxVocab 32000): the embedding lookup behind its weight port, served by the
// HBM model from weight images written by the golden writer (whole images of
// the real models, embedding sections of random matrices at odd addresses).
// Golden: tp::fx::embed of the row, cut into beats of 16 lanes; a refused
// request expects the one error beat. Every out beat is compared in the cycle
// it appears; the AXI addresses read are compared with the golden
// block_address of the row's blocks (exactly its value and scale beats).
#include "Vtp_embedding.h"
#include "common/harness.h"
#include "common/hbm_model.h"
#include "common/scoreboard.h"
#include "common/stall_matrix.h"
#include "common/stream.h"
#include "common/timing.h"
#include "golden/checkpoint.h"
#include "golden/int/int_model.h"
#include "golden/int/quantized_model.h"
#include "golden/int/weight_image.h"
#include "golden/tests/real_models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using tp::fx::QuantMatrix;
using tp::tb::HarnessOptions;
using tp::tb::HbmConfig;
using tp::tb::StallGenerator;

constexpr unsigned kLanes = 16;
constexpr unsigned kMaxDim = 512;
constexpr unsigned kMaxVocab = 32000;
constexpr uint64_t kFixedLatency = 10;  // first beat = request + memory latency + 10

// One embedding section in the served image, and the golden matrix it encodes.
struct Table {
  std::shared_ptr<const QuantMatrix> matrix;  // vocab x dim
  uint64_t base = 0;                          // byte address of the section
};

struct Request {
  uint32_t token = 0;
  uint64_t base = 0;
  uint32_t dim = 0, vocab = 0;
  bool int4 = false;
  const QuantMatrix* matrix = nullptr;  // golden data (not driven); null: expect a refusal
};

struct OutBeat {
  std::array<int32_t, kLanes> lanes{};
  bool last = false, error = false;
  bool operator==(const OutBeat&) const = default;
};

std::ostream& operator<<(std::ostream& os, const OutBeat& b) {
  os << "{last " << b.last << ", error " << b.error << ", lanes";
  for (const int32_t v : b.lanes) os << ' ' << v;
  return os << '}';
}

Request request_for(const Table& t, uint32_t token) {
  const QuantMatrix& m = *t.matrix;
  return {token, t.base, static_cast<uint32_t>(m.cols), static_cast<uint32_t>(m.rows), m.bits == 4, &m};
}

bool refused(const Request& r) {
  return r.dim == 0 || r.dim > kMaxDim || r.vocab == 0 || r.vocab > kMaxVocab || r.base % 64 != 0 ||
         r.token >= r.vocab || r.matrix == nullptr;
}

// Golden: fx::embed of the row in beats of kLanes, lanes beyond dim zero.
std::vector<OutBeat> golden_beats(const Request& r) {
  if (refused(r)) return {OutBeat{.lanes = {}, .last = true, .error = true}};
  const std::vector<int32_t> x = tp::fx::embed(*r.matrix, static_cast<int>(r.token));
  std::vector<OutBeat> beats;
  for (size_t i = 0; i < x.size(); i += kLanes) {
    OutBeat b;
    for (size_t j = 0; j < kLanes && i + j < x.size(); ++j) b.lanes[j] = x[i + j];
    b.last = i + kLanes >= x.size();
    beats.push_back(b);
  }
  return beats;
}

// The beat addresses a lookup must read: each block's value beat and scale beat.
std::vector<uint64_t> row_beat_addresses(const Request& r) {
  tp::fx::ImageSection s;
  s.kind = tp::fx::SectionKind::kEmbedding;
  s.rows = r.vocab;
  s.cols = r.dim;
  s.offset = static_cast<int64_t>(r.base);
  std::vector<uint64_t> beats;
  const int bits = r.int4 ? 4 : 8;
  for (int64_t b = 0; b < (r.dim + 31) / 32; ++b) {
    const tp::fx::BlockAddress a = tp::fx::block_address(s, bits, r.token, b);
    beats.push_back(static_cast<uint64_t>(a.values / 64 * 64));
    beats.push_back(static_cast<uint64_t>(a.scale / 64 * 64));
  }
  return beats;
}

// A random vocab x dim embedding: INT8 in [-127, 127] or INT4 in [-8, 7],
// fp16 scales of every exponent (subnormal, zero, up to biased 30, where
// values saturate), negative ones for INT4.
QuantMatrix random_embedding(std::mt19937_64& rng, int vocab, int dim, int bits) {
  QuantMatrix m;
  m.rows = vocab;
  m.cols = dim;
  m.bits = bits;
  m.values.assign(static_cast<size_t>(vocab) * m.padded_cols(), 0);
  for (int r = 0; r < vocab; ++r) {
    for (int c = 0; c < dim; ++c) {
      int v = bits == 8 ? static_cast<int>(rng() % 255) - 127 : static_cast<int>(rng() % 16) - 8;
      if (rng() % 16 == 0) v = bits == 8 ? (rng() % 2 ? 127 : -127) : (rng() % 2 ? 7 : -8);
      m.values[static_cast<size_t>(r) * m.padded_cols() + c] = static_cast<int8_t>(v);
    }
  }
  for (int i = 0; i < vocab * m.blocks(); ++i) {
    const unsigned kind = rng() % 16;
    uint16_t s = 0;
    if (kind == 0) s = 0;
    else if (kind == 1) s = static_cast<uint16_t>(1 + rng() % 1023);                     // subnormal
    else if (kind == 2) s = static_cast<uint16_t>(((1 + rng() % 30) << 10) | (rng() % 1024));  // any exponent
    else s = static_cast<uint16_t>(((3 + rng() % 14) << 10) | (rng() % 1024));           // around 2^-7
    if ((bits == 4 && rng() % 3 == 0) || (bits == 8 && rng() % 8 == 0)) s |= 0x8000;
    m.scales.push_back(s);
  }
  return m;
}

// Random embedding sections laid out in one image at odd (beat-aligned)
// addresses, with the golden matrices.
struct RandomImage {
  std::vector<Table> tables;
  std::vector<uint8_t> image;

  void add(QuantMatrix m, uint64_t gap_beats) {
    image.resize(image.size() + gap_beats * 64, 0xA5);  // garbage between sections
    const uint64_t base = image.size();
    const auto section = tp::fx::matrix_section_image(m);
    image.insert(image.end(), section.begin(), section.end());
    tables.push_back({std::make_shared<const QuantMatrix>(std::move(m)), base});
  }
};

// An image of one random vocab x dim table (after gap_beats of garbage).
RandomImage one_table_image(uint64_t seed, int vocab, int dim, int bits, uint64_t gap_beats) {
  std::mt19937_64 rng(seed);
  RandomImage img;
  img.add(random_embedding(rng, vocab, dim, bits), gap_beats);
  return img;
}

// The DUT with a request source, the HBM model, an output sink and the scoreboard.
struct Bench {
  Bench(std::vector<uint8_t> image, HbmConfig hbm_config, StallGenerator req_stall = {}, StallGenerator out_stall = {},
        HarnessOptions options = {})
      : h(options),
        reqs(
            h,
            [this](bool valid, const Request& r) {
              h->req_valid_i = valid;
              h->req_token_i = r.token;
              h->cfg_base_i = r.base;
              h->cfg_dim_i = static_cast<uint16_t>(r.dim);
              h->cfg_vocab_i = static_cast<uint16_t>(r.vocab);
              h->cfg_int4_i = r.int4;
            },
            [this] { return h->req_ready_o != 0; }, std::move(req_stall)),
        hbm(h, recording_ports(), std::move(image), std::move(hbm_config)),
        sink(
            h, [this](bool r) { h->out_ready_i = r; }, [this] { return h->out_valid_o != 0; },
            [this] {
              OutBeat b;
              for (unsigned j = 0; j < kLanes; ++j) b.lanes[j] = static_cast<int32_t>(h->out_data_o[j]);
              b.last = h->out_last_o != 0;
              b.error = h->out_error_o != 0;
              return b;
            },
            std::move(out_stall)),
        scoreboard(h, "out") {
    scoreboard.connect(
        reqs,
        [this](const Request& r) {
          if (!refused(r)) {
            for (const uint64_t a : row_beat_addresses(r)) expected_reads.push_back(a);
          }
          return golden_beats(r);
        },
        sink);
  }

  // axi_read_ports, recording the address of every accepted burst.
  tp::tb::HbmPorts recording_ports() {
    tp::tb::HbmPorts p = tp::tb::axi_read_ports(h);
    p.araddr = [this] {
      const uint64_t a = static_cast<uint64_t>(h->m_axi_araddr_o);
      reads.push_back(a);
      burst_beats.push_back(static_cast<unsigned>(h->m_axi_arlen_o) + 1);
      return a;
    };
    return p;
  }

  // Pushes the requests and runs until every answer came out and matched;
  // then the reads were exactly the rows' beats, one beat per burst.
  void run(const std::vector<Request>& requests, uint64_t max_cycles) {
    size_t beats = 0;
    for (const Request& r : requests) beats += golden_beats(r).size();
    const size_t target = scoreboard.checked() + beats;
    reqs.push_all(requests);
    ASSERT_TRUE(h.run_until([&] { return scoreboard.checked() == target; }, max_cycles,
                            std::to_string(requests.size()) + " lookups"));
    EXPECT_EQ(scoreboard.mismatched(), 0u);
    EXPECT_EQ(scoreboard.pending(), 0u);
    EXPECT_EQ(reads, expected_reads) << "the AXI reads are not exactly the rows' value and scale beats";
    EXPECT_TRUE(std::all_of(burst_beats.begin(), burst_beats.end(), [](unsigned n) { return n == 1; }));
    EXPECT_EQ(hbm.beats(), expected_reads.size());
  }

  // After a reset: forget what was in flight.
  void forget() {
    reads.clear();
    burst_beats.clear();
    expected_reads.clear();
    hbm.clear_counters();
  }

  tp::tb::Harness<Vtp_embedding> h;
  tp::tb::Source<Request> reqs;
  std::vector<uint64_t> reads, expected_reads;  // burst addresses: issued, and the rows' beats
  std::vector<unsigned> burst_beats;
  tp::tb::HbmModel hbm;
  tp::tb::Sink<OutBeat> sink;
  tp::tb::Scoreboard<OutBeat> scoreboard;
};

HbmConfig hbm_config(unsigned latency, double r_stall = 0.0, unsigned outstanding = 64) {
  return HbmConfig{.latency = latency, .max_outstanding = outstanding, .r_stall = StallGenerator(r_stall, 5)};
}

// Random sections of every kind that matters: dim 64 and 512 and dims that
// are not multiples of 32 or of 16; vocabularies with a partial last row
// group; INT8 and INT4.
RandomImage random_image(uint64_t seed) {
  std::mt19937_64 rng(seed);
  RandomImage img;
  const std::vector<std::tuple<int, int, int>> shapes = {
      {77, 64, 8}, {77, 64, 4}, {40, 512, 8}, {33, 512, 4}, {100, 40, 8}, {65, 100, 4}, {32, 17, 8}, {5, 288, 4}};
  for (const auto& [vocab, dim, bits] : shapes) img.add(random_embedding(rng, vocab, dim, bits), 1 + rng() % 70);
  return img;
}

// Tokens of every table: the first and last of each group, random ones, and
// some out of range (refused).
std::vector<Request> random_requests(const RandomImage& img, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Request> requests;
  for (const Table& t : img.tables) {
    const auto vocab = static_cast<uint32_t>(t.matrix->rows);
    for (const uint32_t tok : {0u, 31u % vocab, vocab - 1, (vocab - 1) / 32 * 32}) requests.push_back(request_for(t, tok));
  }
  while (requests.size() < n) {
    const Table& t = img.tables[rng() % img.tables.size()];
    const auto vocab = static_cast<uint32_t>(t.matrix->rows);
    Request r = request_for(t, static_cast<uint32_t>(rng() % vocab));
    if (rng() % 10 == 0) r.token = vocab + static_cast<uint32_t>(rng() % 3);  // refused
    requests.push_back(r);
  }
  std::shuffle(requests.begin(), requests.end(), rng);
  return requests;
}

// ------------------------------------------------------------ stall matrix ---
class EmbeddingStallMatrix : public ::testing::TestWithParam<std::tuple<double, double, double>> {};

TEST_P(EmbeddingStallMatrix, EveryBeatMatchesEmbed) {
  const auto [req_p, out_p, r_p] = GetParam();
  const RandomImage img = random_image(3);
  Bench b(img.image, hbm_config(60, r_p), StallGenerator(req_p, 1), StallGenerator(out_p, 2));
  b.h.reset();
  b.run(random_requests(img, 150, 4 + static_cast<uint64_t>(10 * (req_p + 2 * out_p + 4 * r_p))), 200000);
  b.h.tick(20);
  EXPECT_EQ(b.scoreboard.pending(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Streams, EmbeddingStallMatrix, tp::tb::stall_matrix<3>(),
                         tp::tb::stall_matrix_names("Req", "Out", "R"));

// ------------------------------------------------------------ real models ---
// Whole INT8 and INT4 images of the real checkpoints, written by the golden
// writer: every token's row, bytes per lookup = embedding_row_bytes.
TEST(Embedding, EveryRowOfTheRealModelsImages) {
  for (const char* file : {"stories260K.bin", "aidreams260K.bin"}) {
    TP_REQUIRE_MODEL_FILE(file);
    const tp::Checkpoint checkpoint = tp::read_checkpoint(tp::testing::model_path(file));
    for (const int bits : {8, 4}) {
      SCOPED_TRACE(std::string(file) + " INT" + std::to_string(bits));
      const std::vector<uint8_t> image = tp::fx::write_weight_image(tp::fx::quantize_model(checkpoint, bits));
      const tp::fx::WeightImageLayout layout = tp::fx::read_weight_image_layout(image);
      // The golden rows come from the image itself.
      const auto model = std::make_shared<const tp::fx::QuantizedModel>(tp::fx::read_weight_image(image));
      const Table table{std::shared_ptr<const QuantMatrix>(model, &model->embedding),
                        static_cast<uint64_t>(layout.section(tp::fx::SectionKind::kEmbedding).offset)};
      Bench b(image, hbm_config(40), {}, StallGenerator(0.2, 7));
      b.h.reset();
      std::vector<Request> requests;
      for (int tok = 0; tok < layout.config.vocab_size; ++tok) requests.push_back(request_for(table, static_cast<uint32_t>(tok)));
      b.run(requests, 200000);
      EXPECT_EQ(b.hbm.bytes(), static_cast<uint64_t>(layout.config.vocab_size * tp::fx::embedding_row_bytes(layout)));
    }
  }
}

// dim 512 (the maximum) with scales of every exponent: both saturation
// limits are reached, and subnormal and negative scales are taken.
TEST(Embedding, Dim512WithExtremeScalesSaturatesBothWays) {
  std::mt19937_64 rng(21);
  RandomImage img;
  img.add(random_embedding(rng, 70, 512, 8), 3);
  img.add(random_embedding(rng, 70, 512, 4), 5);
  Bench b(img.image, hbm_config(100));
  b.h.reset();
  std::vector<Request> requests;
  for (const Table& t : img.tables) {
    for (uint32_t tok = 0; tok < 70; tok += 3) requests.push_back(request_for(t, tok));
  }
  b.run(requests, 100000);
  bool high = false, low = false;
  for (const OutBeat& beat : b.sink.beats()) {
    for (const int32_t v : beat.lanes) {
      high |= v == std::numeric_limits<int32_t>::max();
      low |= v == std::numeric_limits<int32_t>::min();
    }
  }
  EXPECT_TRUE(high && low);
}

TEST(Embedding, CorrectUnderReadAddressBackpressure) {
  // The memory takes 3 bursts at a time: the port waits on AR, nothing changes.
  const RandomImage img = random_image(8);
  Bench b(img.image, hbm_config(30, 0.3, 3), {}, StallGenerator(0.3, 9));
  b.h.reset();
  b.run(random_requests(img, 60, 10), 100000);
}

// ----------------------------------------------------------------- errors ---
TEST(Embedding, RefusedRequestsReadNothingAndAnswerWithOneErrorBeat) {
  const RandomImage img = one_table_image(5, 77, 64, 8, 2);
  const Table& t = img.tables[0];
  Bench b(img.image, hbm_config(30));
  b.h.reset();
  EXPECT_EQ(b.h->err_refused_o, 0);
  std::vector<Request> bad;
  Request r = request_for(t, 77);  // token == vocab
  bad.push_back(r);
  r.token = 0xFFFFFFFF;            // far out of range
  bad.push_back(r);
  r = request_for(t, 1 << 16);     // beyond MaxVocab's index bits
  bad.push_back(r);
  r = request_for(t, 3);
  r.dim = 0;
  bad.push_back(r);
  r.dim = kMaxDim + 1;
  bad.push_back(r);
  r = request_for(t, 3);
  r.vocab = 0;
  bad.push_back(r);
  r.vocab = kMaxVocab + 1;
  bad.push_back(r);
  r = request_for(t, 3);
  r.base += 32;                    // not 64-byte aligned
  bad.push_back(r);
  for (Request& x : bad) x.matrix = nullptr;  // golden: a refusal
  b.run(bad, 2000);
  EXPECT_EQ(b.hbm.bursts(), 0u) << "a refused request must not read memory";
  EXPECT_EQ(b.sink.received(), bad.size());
  EXPECT_EQ(b.h->err_refused_o, 1);
  // Refusals are taken one a cycle and each answers 2 cycles after its request.
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(b.sink.beat_cycles()[i], b.reqs.accept_cycles()[i] + 2);
    if (i + 1 < bad.size()) {
      EXPECT_EQ(b.reqs.accept_cycles()[i + 1], b.reqs.accept_cycles()[i] + 1);
    }
  }
  // A good request afterwards works; the flag stays until reset.
  b.run({request_for(t, 76), request_for(t, 0)}, 2000);
  EXPECT_EQ(b.h->err_refused_o, 1);
  b.h.reset();
  EXPECT_EQ(b.h->err_refused_o, 0);
}

// ----------------------------------------------------------------- timing ---
// Without stalls: a request's reads go out one a cycle after one setup cycle,
// and the next request is taken right after them (2 + 2 x blocks cycles
// later), while the row is still in flight; its first beat comes exactly
// L + 10 cycles after its request, then one beat a cycle. Exact while the
// weight port's limits (32 one-beat reads in flight, 64 beats of FIFO) do not
// hold the reads back: dim 64 at any latency, dim 512 at latency 1. Beyond
// them (dim 512 rows at latency 100 and 200) the reads wait for the port and
// the times are lower bounds.
TEST(Embedding, LatencyAndThroughputAreAsStated) {
  std::mt19937_64 rng(31);
  RandomImage img;
  img.add(random_embedding(rng, 64, 64, 8), 1);
  img.add(random_embedding(rng, 64, 64, 4), 1);
  img.add(random_embedding(rng, 40, 512, 8), 1);
  img.add(random_embedding(rng, 40, 512, 4), 1);
  for (const unsigned latency : {1u, 100u, 200u}) {
    for (const Table& t : img.tables) {
      const uint64_t dim = static_cast<uint64_t>(t.matrix->cols);
      SCOPED_TRACE("latency " + std::to_string(latency) + " dim " + std::to_string(dim) + " INT" +
                   std::to_string(t.matrix->bits));
      Bench b(img.image, hbm_config(latency));
      b.h.reset();
      const std::vector<Request> requests = {request_for(t, 5), request_for(t, 38), request_for(t, 2)};
      b.run(requests, 10000);
      const uint64_t beats = (dim + kLanes - 1) / kLanes;
      const uint64_t issue = 2 + 2 * ((dim + 31) / 32);  // setup + a read a cycle
      const bool exact = dim == 64 || latency == 1;
      const auto& in = b.reqs.accept_cycles();
      const auto& out = b.sink.beat_cycles();
      ASSERT_EQ(out.size(), 3 * beats);
      for (size_t k = 0; k < 3; ++k) {
        const uint64_t first = out[k * beats];
        if (exact) {
          EXPECT_EQ(first, in[k] + latency + kFixedLatency) << "request " << k;
        } else {
          EXPECT_GE(first, in[k] + latency + kFixedLatency) << "request " << k;
        }
        for (uint64_t i = 1; i < beats; ++i) EXPECT_EQ(out[k * beats + i], first + i) << "request " << k << " beat " << i;
        if (k + 1 < 3) {
          if (exact) {
            EXPECT_EQ(in[k + 1], in[k] + issue) << "request " << k + 1;
          } else {
            EXPECT_GE(in[k + 1], in[k] + issue) << "request " << k + 1;
          }
        }
      }
      // Rows overlap: at dim 64 the third request is taken before the first row's first beat.
      if (dim == 64 && latency >= 100) EXPECT_LT(in[2], out[0]);
      // The row's reads: 2 per block, back to back from the memory.
      EXPECT_EQ(b.hbm.beats(), 3 * 2 * ((dim + 31) / 32));
    }
  }
}

// A refused request between rows answers in request order: its error beat
// right after the row before it; the row after it, whose reads went out while
// the first row was in flight, comes at its own latency.
TEST(Embedding, ARefusalBetweenRowsAnswersInOrder) {
  const RandomImage img = one_table_image(33, 64, 64, 8, 1);
  const Table& t = img.tables[0];
  Bench b(img.image, hbm_config(100));
  b.h.reset();
  Request bad = request_for(t, 64);  // token == vocab
  bad.matrix = nullptr;
  b.run({request_for(t, 7), bad, request_for(t, 9)}, 4000);
  const uint64_t beats = 64 / kLanes;
  const auto& in = b.reqs.accept_cycles();
  const auto& out = b.sink.beat_cycles();
  ASSERT_EQ(out.size(), 2 * beats + 1);
  EXPECT_EQ(in[1], in[0] + 6);   // the refusal is taken as soon as row 0's reads are out
  EXPECT_EQ(in[2], in[1] + 1);   // and the next request right after it
  EXPECT_EQ(out[beats], out[beats - 1] + 1) << "the error beat follows row 0";
  EXPECT_EQ(out[beats + 1], in[2] + 100 + kFixedLatency) << "row 2 at its own latency, not held back";
  EXPECT_EQ(b.hbm.beats(), 2u * 2 * 2);
}

// ------------------------------------------------------------------ reset ---
TEST(Embedding, ResetInTheMiddleDropsEverythingThenWorks) {
  const RandomImage img = random_image(12);
  const auto requests = random_requests(img, 40, 13);
  for (const uint64_t when : {5u, 40u, 75u, 90u}) {  // before, during and after the reads of a row
    SCOPED_TRACE("reset after " + std::to_string(when) + " cycles");
    Bench b(img.image, hbm_config(50), {}, StallGenerator(0.3, 3));
    b.h.reset();
    b.reqs.push_all(requests);
    b.h.tick(when);
    b.h.reset();
    b.forget();
    EXPECT_EQ(b.h->out_valid_o, 0);
    EXPECT_EQ(b.h->req_ready_o, 1);
    EXPECT_EQ(b.h->m_axi_arvalid_o, 0);
    b.h.tick(100);  // nothing stale comes out, nothing is read
    EXPECT_EQ(b.scoreboard.checked(), 0u) << "stale beat after reset";
    EXPECT_EQ(b.hbm.bursts(), 0u);
    b.run(requests, 100000);
  }
}

TEST(Embedding, OutputsAreDefinedAfterResetFromAnyInitialState) {
  const RandomImage img = random_image(14);
  tp::tb::for_each_random_init([&](const HarnessOptions& options) {
    Bench b(img.image, hbm_config(20), {}, {}, options);
    b.h.reset();
    EXPECT_EQ(b.h->out_valid_o, 0);
    EXPECT_EQ(b.h->req_ready_o, 1);
    EXPECT_EQ(b.h->err_refused_o, 0);
    EXPECT_EQ(b.h->m_axi_arvalid_o, 0);
    b.h.tick(10);
    EXPECT_EQ(b.sink.received(), 0u);
    b.run(random_requests(img, 20, options.random_init_seed), 20000);
  });
}

}  // namespace
