#include "golden/int/weight_image.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "golden/default_model.h"
#include "golden/fuzz/fuzz_support.h"
#include "golden/int/int_model.h"
#include "golden/tests/real_models.h"

namespace tp::fx {
namespace {

using fuzz::Bytes;

// ---------------------------------------------------------------------------
// Comparing quantized models.

std::string matrix_difference(const std::string& name, const QuantMatrix& a, const QuantMatrix& b) {
  if (a.rows != b.rows || a.cols != b.cols || a.bits != b.bits) return name + ": shape or bits differ; ";
  if (a.values != b.values) return name + ": values differ; ";
  if (a.scales != b.scales) return name + ": scales differ; ";
  return "";
}

std::string gains_difference(const std::string& name, const NormGains& a, const NormGains& b) {
  return a.mantissas == b.mantissas && a.exponent == b.exponent ? "" : name + ": gains differ; ";
}

// "" when the two models hold the same config, bits and every value.
std::string model_difference(const QuantizedModel& a, const QuantizedModel& b) {
  if (!(a.config == b.config) || a.bits != b.bits || a.layers.size() != b.layers.size()) {
    return "config, bits or layer count differ";
  }
  std::string d = matrix_difference("embedding", a.embedding, b.embedding) +
                  gains_difference("rms_final", a.rms_final, b.rms_final) +
                  matrix_difference("classifier", a.classifier, b.classifier);
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    const QuantizedLayer &x = a.layers[l], &y = b.layers[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    d += gains_difference(p + "rms_att", x.rms_att, y.rms_att) + matrix_difference(p + "wqkv", x.wqkv, y.wqkv) +
         matrix_difference(p + "wo", x.wo, y.wo) + gains_difference(p + "rms_ffn", x.rms_ffn, y.rms_ffn) +
         matrix_difference(p + "w13", x.w13, y.w13) + matrix_difference(p + "w2", x.w2, y.w2);
  }
  return d;
}

// ---------------------------------------------------------------------------
// An independent reader that knows nothing but docs/weight-image.md: literal
// offsets and the tile rule, none of the reader's code. It pins the format.

struct DocEntry {
  std::uint32_t kind, layer, rows, cols;
  std::uint64_t offset, length;
};

class DocumentedImage {
 public:
  explicit DocumentedImage(const Bytes& bytes) : b_(bytes), covered_(bytes.size(), false) {}

  std::uint64_t le(std::uint64_t at, int n) const {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | b_.at(at + static_cast<std::uint64_t>(i));
    return v;
  }
  int bits() const { return static_cast<int>(le(12, 4)); }
  std::uint32_t section_count() const { return static_cast<std::uint32_t>(le(28, 4)); }
  DocEntry entry(std::uint32_t i) const {
    const std::uint64_t at = 64 + 32 * std::uint64_t{i};
    return {static_cast<std::uint32_t>(le(at, 4)), static_cast<std::uint32_t>(le(at + 4, 4)),
            static_cast<std::uint32_t>(le(at + 8, 4)), static_cast<std::uint32_t>(le(at + 12, 4)),
            le(at + 16, 8), le(at + 24, 8)};
  }

  // Rows in groups of 32; per group and block column a tile: the group's blocks
  // of that column back to back (32 bytes at INT8, 16 at INT4, filling whole
  // beats), then a beat of their fp16 scales. Groups one after the other, the
  // tiles of a group along the columns. Only the last group has fewer rows.
  QuantMatrix matrix(const DocEntry& e) {
    const int bits = this->bits();
    const std::uint64_t per_row = (e.cols + 31) / 32;
    const std::uint64_t block_bytes = bits == 8 ? 32 : 16, full_tile = bits == 8 ? 17 * 64 : 9 * 64;
    QuantMatrix m;
    m.rows = static_cast<int>(e.rows);
    m.cols = static_cast<int>(e.cols);
    m.bits = bits;
    for (std::uint64_t r = 0; r < e.rows; ++r) {
      const std::uint64_t group = r / 32, j = r % 32;
      const std::uint64_t rows_here = std::min<std::uint64_t>(32, e.rows - group * 32);
      const std::uint64_t value_beats = (rows_here * block_bytes + 63) / 64;
      for (std::uint64_t b = 0; b < per_row; ++b) {
        const std::uint64_t base = e.offset + group * per_row * full_tile + b * (value_beats + 1) * 64;
        for (std::uint64_t i = 0; i < 32; ++i) {
          const std::uint64_t byte = le(base + j * block_bytes + (bits == 8 ? i : i / 2), 1);
          const std::uint64_t field = bits == 8 ? byte : (i % 2 == 0 ? byte & 0xF : byte >> 4);
          const int sign_bit = bits == 8 ? 0x80 : 0x8;
          m.values.push_back(static_cast<std::int8_t>(static_cast<int>(field) - ((field & sign_bit) ? 2 * sign_bit : 0)));
        }
        m.scales.push_back(static_cast<std::uint16_t>(le(base + value_beats * 64 + 2 * j, 2)));
        cover(base + j * block_bytes, block_bytes);
        cover(base + value_beats * 64 + 2 * j, 2);
      }
    }
    return m;
  }

  // The mantissas (int16, 32 a beat), then a beat holding the int32 exponent.
  NormGains gains(const DocEntry& e) {
    NormGains g;
    for (std::uint64_t i = 0; i < e.cols; ++i) g.mantissas.push_back(static_cast<std::int16_t>(le(e.offset + 2 * i, 2)));
    const std::uint64_t exponent_at = e.offset + (2 * e.cols + 63) / 64 * 64;
    g.exponent = static_cast<std::int32_t>(le(exponent_at, 4));
    cover(e.offset, 2 * e.cols);
    cover(exponent_at, 4);
    return g;
  }

  // Bytes of [begin, end) that no decoded field used and that are not zero.
  int nonzero_uncovered(std::uint64_t begin, std::uint64_t end) const {
    int n = 0;
    for (std::uint64_t i = begin; i < end; ++i) n += !covered_[i] && b_[i] != 0;
    return n;
  }

 private:
  void cover(std::uint64_t at, std::uint64_t n) { std::fill_n(covered_.begin() + static_cast<std::ptrdiff_t>(at), n, true); }

  const Bytes& b_;
  std::vector<bool> covered_;
};

// The (kind, layer) of every section in image order, from the documented numbers.
std::vector<std::pair<std::uint32_t, std::uint32_t>> documented_order(int n_layers) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> order{{1, kNoLayer}};
  for (std::uint32_t l = 0; l < static_cast<std::uint32_t>(n_layers); ++l) {
    for (std::uint32_t kind = 2; kind <= 7; ++kind) order.emplace_back(kind, l);
  }
  order.emplace_back(8, kNoLayer);
  order.emplace_back(9, kNoLayer);
  return order;
}

// ---------------------------------------------------------------------------
// Round trips of the default model and the real models.

struct ImageSource {
  std::string name;
  std::string file;  // a real model file, or "" for the default model
  int bits;
};

class WeightImageRoundTrip : public ::testing::TestWithParam<ImageSource> {
 protected:
  void SetUp() override {
    if (!GetParam().file.empty()) TP_REQUIRE_MODEL_FILE(GetParam().file);
    checkpoint_ = GetParam().file.empty()
                      ? make_default_model().checkpoint
                      : std::make_shared<const Checkpoint>(read_checkpoint(testing::model_path(GetParam().file)));
    model_ = std::make_shared<const QuantizedModel>(quantize_model(*checkpoint_, GetParam().bits));
    image_ = write_weight_image(*model_);
  }

  std::shared_ptr<const Checkpoint> checkpoint_;
  std::shared_ptr<const QuantizedModel> model_;
  Bytes image_;
};

TEST_P(WeightImageRoundTrip, ReadsBackTheIdenticalModel) {
  const QuantizedModel back = read_weight_image(image_);
  EXPECT_EQ(model_difference(*model_, back), "");
  EXPECT_EQ(write_weight_image(back), image_);  // one model, one image
}

TEST_P(WeightImageRoundTrip, IntModelGivesBitIdenticalLogits) {
  IntModel original(model_);
  IntModel loaded(std::make_shared<const QuantizedModel>(read_weight_image(image_)));
  const int tokens[] = {1, 7, 42, 300, 9};
  for (int pos = 0; pos < 5; ++pos) {
    original.forward(tokens[pos], pos);
    loaded.forward(tokens[pos], pos);
    const auto a = original.logits_q16(), b = loaded.logits_q16();
    ASSERT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << "position " << pos;
  }
}

TEST_P(WeightImageRoundTrip, SectionsAreBeatAlignedPackedAndInReadOrder) {
  const DocumentedImage doc(image_);
  const ModelConfig& c = model_->config;
  const auto order = documented_order(c.n_layers);
  ASSERT_EQ(doc.section_count(), order.size());
  const std::uint64_t header = 64 + (32 * order.size() + 63) / 64 * 64;
  std::uint64_t next = header;
  for (std::uint32_t i = 0; i < order.size(); ++i) {
    const DocEntry e = doc.entry(i);
    SCOPED_TRACE("entry " + std::to_string(i));
    EXPECT_EQ(std::make_pair(e.kind, e.layer), order[i]);
    EXPECT_EQ(e.offset % 64, 0u);
    EXPECT_EQ(e.length % 64, 0u);
    if (e.kind == 9 && c.shared_classifier) {
      EXPECT_EQ(e.offset, doc.entry(0).offset);  // the classifier aliases the embedding
      EXPECT_EQ(e.length, doc.entry(0).length);
      continue;
    }
    EXPECT_EQ(e.offset, next);
    next = e.offset + e.length;
  }
  EXPECT_EQ(next, image_.size());
  EXPECT_EQ(doc.le(16, 8), image_.size());
  EXPECT_EQ(std::string(image_.begin(), image_.begin() + 4), "TPWI");
  EXPECT_EQ(doc.le(4, 4), 2u);
  EXPECT_EQ(doc.bits(), GetParam().bits);
  EXPECT_EQ(doc.le(24, 4), 32u);
  const std::uint64_t config[] = {
      static_cast<std::uint64_t>(c.dim),        static_cast<std::uint64_t>(c.hidden_dim),
      static_cast<std::uint64_t>(c.n_layers),   static_cast<std::uint64_t>(c.n_heads),
      static_cast<std::uint64_t>(c.n_kv_heads), static_cast<std::uint64_t>(c.vocab_size),
      static_cast<std::uint64_t>(c.seq_len),    c.shared_classifier ? 1u : 0u};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(doc.le(32 + 4 * i, 4), config[i]) << "config field " << i;
  // The layout the reader reports is the one in the bytes.
  const WeightImageLayout layout = read_weight_image_layout(image_);
  EXPECT_EQ(layout.header_bytes, static_cast<std::int64_t>(header));
  for (std::uint32_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(layout.sections[i].offset, static_cast<std::int64_t>(doc.entry(i).offset));
  }
}

TEST_P(WeightImageRoundTrip, EverySectionDecodesByTheDocumentedRules) {
  DocumentedImage doc(image_);
  const QuantizedModel& m = *model_;
  const WeightImageLayout layout = read_weight_image_layout(image_);
  for (std::uint32_t i = 0; i < doc.section_count(); ++i) {
    const DocEntry e = doc.entry(i);
    SCOPED_TRACE("entry " + std::to_string(i));
    const QuantizedLayer* l = e.layer == kNoLayer ? nullptr : &m.layers.at(e.layer);
    switch (e.kind) {
      case 1: EXPECT_EQ(matrix_difference("embedding", doc.matrix(e), m.embedding), ""); break;
      case 2: EXPECT_EQ(gains_difference("rms_att", doc.gains(e), l->rms_att), ""); break;
      case 3: EXPECT_EQ(matrix_difference("wqkv", doc.matrix(e), l->wqkv), ""); break;
      case 4: EXPECT_EQ(matrix_difference("wo", doc.matrix(e), l->wo), ""); break;
      case 5: EXPECT_EQ(gains_difference("rms_ffn", doc.gains(e), l->rms_ffn), ""); break;
      case 6: EXPECT_EQ(matrix_difference("w13", doc.matrix(e), l->w13), ""); break;
      case 7: EXPECT_EQ(matrix_difference("w2", doc.matrix(e), l->w2), ""); break;
      case 8: EXPECT_EQ(gains_difference("rms_final", doc.gains(e), m.rms_final), ""); break;
      case 9: EXPECT_EQ(matrix_difference("classifier", doc.matrix(e), m.classifier), ""); break;
      default: ADD_FAILURE() << "kind " << e.kind;
    }
    EXPECT_EQ(doc.nonzero_uncovered(e.offset, e.offset + e.length), 0) << "padding must be zero";
    // The testbench's address helpers agree with the documented rule.
    const ImageSection& s = layout.sections[i];
    if (is_gains(s.kind)) {
      EXPECT_EQ(gain_exponent_address(s), static_cast<std::int64_t>(e.offset + (2 * e.cols + 63) / 64 * 64));
    } else {
      // The last block of the last row closes the section: the last tile's
      // final value bytes, and its scale in the section's last beat.
      const std::int64_t last_row = s.rows - 1, last_block = (s.cols + 31) / 32 - 1;
      const std::int64_t j = last_row % 32, per_beat = GetParam().bits == 8 ? 2 : 4;
      const std::int64_t block_bytes = GetParam().bits == 8 ? 32 : 16;
      const std::int64_t last_value_beat = s.end() - 128;
      EXPECT_EQ(block_address(s, GetParam().bits, 0, 0).values, s.offset);
      EXPECT_EQ(block_address(s, GetParam().bits, last_row, last_block).values,
                last_value_beat + j % per_beat * block_bytes);
      EXPECT_EQ(block_address(s, GetParam().bits, last_row, last_block).scale, s.end() - 64 + 2 * j);
    }
  }
  EXPECT_EQ(doc.nonzero_uncovered(64 + 32 * std::uint64_t{doc.section_count()}, doc.entry(0).offset), 0);
}

// Q, K, V stacked and W1/W3 interleaved, read straight from the bytes.
TEST_P(WeightImageRoundTrip, FusedMatricesHoldTheirPartsInTheDocumentedOrder) {
  DocumentedImage doc(image_);
  const ModelConfig& c = model_->config;
  const int bits = GetParam().bits;
  const LayerWeights& w = checkpoint_->weights.layers.back();
  const std::uint32_t first_entry_of_last_layer = 1 + 6 * static_cast<std::uint32_t>(c.n_layers - 1);
  const QuantMatrix qkv = doc.matrix(doc.entry(first_entry_of_last_layer + 1));
  const QuantMatrix w13 = doc.matrix(doc.entry(first_entry_of_last_layer + 4));
  EXPECT_EQ(matrix_difference("wq", slice_rows(qkv, 0, c.dim), quantize_matrix(w.wq, bits)), "");
  EXPECT_EQ(matrix_difference("wk", slice_rows(qkv, c.dim, c.kv_dim()), quantize_matrix(w.wk, bits)), "");
  EXPECT_EQ(matrix_difference("wv", slice_rows(qkv, c.dim + c.kv_dim(), c.kv_dim()), quantize_matrix(w.wv, bits)), "");
  const QuantMatrix w1 = quantize_matrix(w.w1, bits), w3 = quantize_matrix(w.w3, bits);
  for (const int j : {0, 1, c.hidden_dim - 1}) {
    EXPECT_EQ(matrix_difference("w1", slice_rows(w13, 2 * j, 1), slice_rows(w1, j, 1)), "") << "row " << j;
    EXPECT_EQ(matrix_difference("w3", slice_rows(w13, 2 * j + 1, 1), slice_rows(w3, j, 1)), "") << "row " << j;
  }
}

TEST_P(WeightImageRoundTrip, BytesPerTokenFollowsTheDocumentedRule) {
  const WeightImageLayout layout = read_weight_image_layout(image_);
  const ModelConfig& c = layout.config;
  // Every section but the embedding (a shared classifier counts: it is read
  // again as the classifier), plus one embedding row: at dim 64 two blocks, each
  // a value beat and a scale beat of its own tile.
  std::int64_t expected = c.dim == 64 ? 4 * 64 : embedding_row_bytes(layout);
  for (std::size_t i = 1; i < layout.sections.size(); ++i) expected += layout.sections[i].length;
  const std::int64_t per_token = weight_bytes_per_token(layout);
  EXPECT_EQ(per_token, expected);
  EXPECT_EQ(per_token % 64, 0);
  const double ratio = static_cast<double>(per_token) / static_cast<double>(c.weight_bytes_per_token(GetParam().bits));
  EXPECT_NEAR(ratio, 1.0, 0.01);
  RecordProperty("weight_bytes_per_token", std::to_string(per_token));
  RecordProperty("ratio_to_config_estimate", std::to_string(ratio));
}

const ImageSource kSources[] = {
    {"Default_Int8", "", 8},           {"Default_Int4", "", 4},
    {"Stories_Int8", "stories260K.bin", 8}, {"Stories_Int4", "stories260K.bin", 4},
    {"Aidreams_Int8", "aidreams260K.bin", 8}, {"Aidreams_Int4", "aidreams260K.bin", 4},
};
INSTANTIATE_TEST_SUITE_P(Models, WeightImageRoundTrip, ::testing::ValuesIn(kSources),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// Small hand-checked facts of the format.

QuantizedModel small_model(bool shared, int bits, int dim = 16, int n_layers = 2) {
  const ModelConfig c = fuzz::small_config(dim, n_layers, 4, 2, shared);
  Checkpoint ckpt;
  ckpt.config = c;
  ckpt.weights = fuzz::deterministic_weights(c, 5);
  return quantize_model(ckpt, bits);
}

TEST(WeightImageFormat, TileSizesAreHandChecked) {
  EXPECT_EQ(tile_bytes(32, 8), 17 * 64);
  EXPECT_EQ(tile_bytes(32, 4), 9 * 64);
  // 40 rows of one block: a full tile, then 8 blocks (4 INT8 / 2 INT4 value beats) and a scale beat.
  EXPECT_EQ(matrix_section_bytes(40, 32, 8), 17 * 64 + 5 * 64);
  EXPECT_EQ(matrix_section_bytes(40, 32, 4), 9 * 64 + 3 * 64);
  // 1 row of 172 columns: 6 tiles of one block (padded to 192 columns), a value and a scale beat each.
  EXPECT_EQ(matrix_section_bytes(1, 172, 8), 12 * 64);
  EXPECT_EQ(matrix_section_bytes(1, 172, 4), 12 * 64);
  // 344 x 64 (w13 of the real models): 10 full groups and one of 24 rows, 2 block columns.
  EXPECT_EQ(matrix_section_bytes(344, 64, 8), 2 * (10 * 17 + 13) * 64);
  EXPECT_EQ(matrix_section_bytes(344, 64, 4), 2 * (10 * 9 + 7) * 64);
  EXPECT_EQ(gains_section_bytes(64), 3 * 64);
  EXPECT_EQ(gains_section_bytes(16), 2 * 64);
}

TEST(WeightImageFormat, TilesGoAlongTheColumnsOfARowGroupThenToTheNextGroup) {
  const ImageSection s{SectionKind::kW2, 0, 40, 96, 4096, matrix_section_bytes(40, 96, 8)};
  // Group 0 (rows 0..31): tiles of block columns 0, 1, 2 (17 beats each); group 1 (8 rows): 5 beats each.
  EXPECT_EQ(tile_address(s, 8, 0, 1), 4096 + 17 * 64);
  EXPECT_EQ(tile_address(s, 8, 1, 0), 4096 + 3 * 17 * 64);
  EXPECT_EQ(tile_address(s, 8, 1, 2), 4096 + 3 * 17 * 64 + 2 * 5 * 64);
  EXPECT_EQ(block_address(s, 8, 3, 1).values, 4096 + 17 * 64 + 1 * 64 + 32);  // row 3: beat 1, upper half
  EXPECT_EQ(block_address(s, 8, 3, 1).scale, 4096 + 17 * 64 + 16 * 64 + 6);
  EXPECT_EQ(block_address(s, 8, 37, 2).values, 4096 + 3 * 17 * 64 + 2 * 5 * 64 + 2 * 64 + 32);
  EXPECT_EQ(block_address(s, 8, 37, 2).scale, 4096 + 3 * 17 * 64 + 2 * 5 * 64 + 4 * 64 + 10);
  EXPECT_EQ(block_address(s, 4, 37, 2).values,
            4096 + 3 * 9 * 64 + 2 * 3 * 64 + 1 * 64 + 16);  // INT4: 4 blocks a beat, row 5 of its group
}

TEST(WeightImageFormat, Int4NibblesHoldTheEvenColumnLowAndTheOddColumnHigh) {
  QuantizedModel m = small_model(false, 4, 32);
  for (int i = 0; i < 32; ++i) m.embedding.values[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(i % 16 - 8);
  m.embedding.scales[0] = 0x3C00;  // 1.0
  const Bytes image = write_weight_image(m);
  const std::size_t at = static_cast<std::size_t>(read_weight_image_layout(image).sections[0].offset);
  // Columns 0, 1 = -8, -7: 0x8 low, 0x9 high.
  EXPECT_EQ(image[at], 0x98);
  EXPECT_EQ(image[at + 4], 0x10);  // columns 8, 9 = 0, 1
  EXPECT_EQ(image[at + 7], 0x76);  // columns 14, 15 = 6, 7
  EXPECT_EQ(image[at + 8], 0x98);  // columns 16, 17 again
  // One block a row, 40 rows: the tile of group 0 holds rows 0..31, its scale beat follows 8 value beats.
  EXPECT_EQ(image[at + 8 * 64], 0x00);
  EXPECT_EQ(image[at + 8 * 64 + 1], 0x3C);
  EXPECT_EQ(read_weight_image(image).embedding.values, m.embedding.values);
}

TEST(WeightImageFormat, AnEmbeddingRowCostsAValueAndAScaleBeatPerBlock) {
  ModelConfig c = fuzz::small_config(96, 1, 2, 2, true);  // 3 blocks a row, each in its own tile
  const WeightImageLayout int8 = weight_image_layout(c, 8), int4 = weight_image_layout(c, 4);
  EXPECT_EQ(embedding_row_bytes(int8), 6 * 64);
  EXPECT_EQ(embedding_row_bytes(int4), 6 * 64);
  std::int64_t rest = 0;
  for (std::size_t i = 1; i < int8.sections.size(); ++i) rest += int8.sections[i].length;
  EXPECT_EQ(weight_bytes_per_token(int8), rest + 6 * 64);
}

// A bitwise CRC-32 (IEEE, reflected 0xEDB88320), independent of the reader's table.
std::uint32_t crc32_bitwise(const Bytes& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const std::uint8_t byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(WeightImageFormat, ChecksumIsTheZlibCrc32WithTheChecksumFieldZero) {
  const Bytes check{'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  ASSERT_EQ(crc32_bitwise(check), 0xCBF43926u);  // the standard CRC-32 check value
  Bytes image = write_weight_image(small_model(true, 8));
  std::uint32_t stored = 0;
  std::memcpy(&stored, image.data() + 8, 4);
  std::fill_n(image.begin() + 8, 4, 0);
  EXPECT_EQ(crc32_bitwise(image), stored);
  EXPECT_EQ(weight_image_checksum(image), stored);
}

TEST(WeightImageFormat, WriterRefusesAModelThatDoesNotFitItsConfig) {
  QuantizedModel m = small_model(false, 8);
  m.layers[1].w2.values[0] = -128;
  EXPECT_NE(fuzz::message_of<WeightImageError>([&] { write_weight_image(m); }).find("not a INT8 weight"),
            std::string::npos);
  m = small_model(false, 4);
  m.layers[0].wo = slice_rows(m.layers[0].wo, 0, 3);
  EXPECT_NE(fuzz::message_of<WeightImageError>([&] { write_weight_image(m); }).find("'layer 0 wo': the matrix is 3x16"),
            std::string::npos);
  m = small_model(true, 8);
  m.classifier.values[0] ^= 1;
  EXPECT_NE(fuzz::message_of<WeightImageError>([&] { write_weight_image(m); }).find("differs from the embedding"),
            std::string::npos);
}

// ---------------------------------------------------------------------------
// Malformed images: each refused with a WeightImageError naming the problem.

// Two layers, separate classifier, INT8: 15 sections, so the table's last beat
// holds one entry and 32 bytes of padding. Entries: 0 embedding, 1 rms_att,
// 2 wqkv, 3 wo, 4 rms_ffn, 5 w13, 6 w2 (layer 0), 7..12 layer 1, 13 rms_final,
// 14 classifier.
const Bytes& small_image() {
  static const Bytes image = write_weight_image(small_model(false, 8));
  return image;
}
const Bytes& small_shared_int4_image() {
  static const Bytes image = write_weight_image(small_model(true, 4));
  return image;
}
std::size_t entry_field(std::size_t entry, std::size_t field) { return 64 + 32 * entry + field; }
std::size_t section_offset(std::size_t entry) {
  std::uint64_t offset = 0;
  std::memcpy(&offset, small_image().data() + entry_field(entry, 16), 8);
  return static_cast<std::size_t>(offset);
}

template <typename T>
Bytes with(Bytes bytes, std::size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
  return bytes;
}
Bytes sealed(Bytes bytes) { return with<std::uint32_t>(bytes, 8, weight_image_checksum(bytes)); }
Bytes resized(Bytes bytes, std::size_t size) {
  bytes.resize(size);
  return bytes;
}
Bytes flipped(Bytes bytes, std::size_t at) {
  bytes[at] ^= 0x10;
  return bytes;
}

// A llama2.c checkpoint (not an image) in a file of its own, so the path
// tests need no real model.
std::string checkpoint_file() {
  static const std::string path = [] {
    const auto file = std::filesystem::temp_directory_path() /
                      ("tokenpipe_weight_image_test_" + std::to_string(::getpid()) + ".bin");
    const auto config = fuzz::small_config(16, 1, 4, 2, true);
    const Bytes bytes = serialize_checkpoint(config, fuzz::deterministic_weights(config, 1), CheckpointFormat::kFloatV1);
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
    return file.string();
  }();
  return path;
}

fuzz::BadInput bad_image(std::string name, Bytes bytes, std::string expected) {
  return {std::move(name), [bytes = std::move(bytes)] { read_weight_image(bytes); }, std::move(expected)};
}

std::vector<fuzz::BadInput> malformed_images() {
  const Bytes& img = small_image();
  const std::size_t size = img.size();
  const std::size_t w2_padding = section_offset(6) + 30;  // row 0, column 30 of w2 (24 columns)
  const std::size_t rms_att_padding = section_offset(1) + 40;  // after 16 mantissas
  const std::size_t w2_first_scale = section_offset(6) + 8 * 64;  // 16 blocks: 8 value beats
  return {
      bad_image("Empty", {}, "truncated: 0 bytes, the header beat needs 64"),
      bad_image("Header63Bytes", resized(img, 63), "truncated: 63 bytes"),
      bad_image("BadMagic", with<char>(img, 3, 'X'), "bad magic"),
      bad_image("ALlamaCheckpoint", serialize_checkpoint(fuzz::small_config(16, 1, 4, 2, true),
                                                         fuzz::deterministic_weights(fuzz::small_config(16, 1, 4, 2, true), 1),
                                                         CheckpointFormat::kFloatV1),
                "bad magic"),
      bad_image("Version1", with<std::uint32_t>(img, 4, 1), "unsupported version 1 (this reader reads version 2)"),
      bad_image("Version3", with<std::uint32_t>(img, 4, 3), "unsupported version 3"),
      bad_image("Version0", with<std::uint32_t>(img, 4, 0), "unsupported version 0"),
      bad_image("TruncatedAfterHeaderBeat", resized(img, 64), "truncated: the header says " + std::to_string(size)),
      bad_image("TruncatedInTable", resized(img, 300), "truncated: the header says"),
      bad_image("TruncatedMidPayload", resized(img, size / 2), "truncated: the header says"),
      bad_image("LastByteMissing", resized(img, size - 1), "truncated: the header says"),
      bad_image("TotalBytesHuge", sealed(with<std::uint64_t>(img, 16, ~0ull)), "truncated: the header says"),
      bad_image("TrailingByte", resized(img, size + 1), "trailing bytes"),
      bad_image("FlippedPayloadByte", flipped(img, size - 100), "checksum mismatch"),
      bad_image("FlippedTableByte", flipped(img, entry_field(3, 16)), "checksum mismatch"),
      bad_image("FlippedConfigByte", flipped(img, 56), "checksum mismatch"),
      bad_image("FlippedChecksum", flipped(img, 9), "checksum mismatch"),
      bad_image("Bits5", sealed(with<std::uint32_t>(img, 12, 5)), "unsupported quant bits 5 (8 or 4)"),
      bad_image("Bits4OnAnInt8Image", sealed(with<std::uint32_t>(img, 12, 4)),
                "section 'embedding': length 1408, its shape needs 768 bytes at INT4"),
      bad_image("BlockSize64", sealed(with<std::uint32_t>(img, 24, 64)), "unsupported block size 64"),
      bad_image("UnknownFlag", sealed(with<std::uint32_t>(img, 60, 2)), "unknown flags 0x2"),
      bad_image("DimNotMultipleOfHeads", sealed(with<std::int32_t>(img, 32, 18)),
                "invalid config: dim 18 is not a multiple of n_heads 4"),
      bad_image("LayersZero", sealed(with<std::int32_t>(img, 40, 0)), "invalid config: n_layers = 0 is outside"),
      bad_image("DimNegative", sealed(with<std::int32_t>(img, 32, -16)), "invalid config: dim = -16 is outside"),
      bad_image("ConfigSaysThreeLayers", sealed(with<std::int32_t>(img, 40, 3)),
                "section table: 15 sections, a model of 3 layers has 21"),
      bad_image("ConfigHiddenDisagrees", sealed(with<std::int32_t>(img, 36, 32)),
                "section 'layer 0 w13': shape 48x16, the config needs 64x16"),
      bad_image("ConfigVocabDisagrees", sealed(with<std::int32_t>(img, 52, 41)),
                "section 'embedding': shape 40x16, the config needs 41x16"),
      bad_image("SharedFlagOnSeparateClassifier", sealed(with<std::uint32_t>(img, 60, 1)),
                "a shared classifier must alias the embedding"),
      bad_image("SectionCountLow", sealed(with<std::uint32_t>(img, 28, 14)), "section table: 14 sections"),
      bad_image("SectionsSwapped", sealed(with<std::uint32_t>(with<std::uint32_t>(img, entry_field(2, 0), 4), entry_field(3, 0), 3)),
                "found section 'layer 0 wo' where section 'layer 0 wqkv' belongs"),
      bad_image("UnknownKind", sealed(with<std::uint32_t>(img, entry_field(5, 0), 77)),
                "found section 'layer 0 kind 77' where section 'layer 0 w13' belongs"),
      bad_image("WrongLayer", sealed(with<std::uint32_t>(img, entry_field(8, 4), 0)),
                "found section 'layer 0 wqkv' where section 'layer 1 wqkv' belongs"),
      bad_image("RowsWrong", sealed(with<std::uint32_t>(img, entry_field(3, 8), 17)),
                "section 'layer 0 wo': shape 17x16, the config needs 16x16"),
      bad_image("LengthWrong", sealed(with<std::uint64_t>(img, entry_field(6, 24), 64)),
                "section 'layer 0 w2': length 64, its shape needs"),
      bad_image("OffsetMisaligned", sealed(with<std::uint64_t>(img, entry_field(6, 16), section_offset(6) + 8)),
                "section 'layer 0 w2': misaligned offset"),
      bad_image("OffsetPastTheEnd", sealed(with<std::uint64_t>(img, entry_field(14, 16), size)),
                "section 'classifier': out of bounds"),
      bad_image("OffsetHuge", sealed(with<std::uint64_t>(img, entry_field(14, 16), ~std::uint64_t{63})),
                "section 'classifier': out of bounds"),
      bad_image("OffsetInTheHeader", sealed(with<std::uint64_t>(img, entry_field(0, 16), 0)),
                "section 'embedding': out of bounds: bytes [0, 1408) lie outside the payload [576, "),
      bad_image("Overlapping", sealed(with<std::uint64_t>(img, entry_field(3, 16), section_offset(2))),
                "section 'layer 0 wo': overlapping"),
      bad_image("TablePaddingNonzero", sealed(with<std::uint8_t>(img, entry_field(15, 3), 1)),
                "nonzero padding after the last entry"),
      bad_image("Int8ValueMinus128", sealed(with<std::int8_t>(img, section_offset(3) + 5, -128)),
                "section 'layer 0 wo': value -128 at row 0 column 5"),
      bad_image("NonzeroPaddingColumn", sealed(with<std::int8_t>(img, w2_padding, 3)),
                "section 'layer 0 w2': nonzero padding at byte " + std::to_string(w2_padding)),
      bad_image("NonzeroGainsPadding", sealed(with<std::int8_t>(img, rms_att_padding, 3)),
                "section 'layer 0 rms_att': nonzero padding at byte " + std::to_string(rms_att_padding)),
      bad_image("InfiniteScale", sealed(with<std::uint16_t>(img, w2_first_scale, 0x7C00)),
                "section 'layer 0 w2': the scale of row 0 block 0 is infinite or NaN"),
      bad_image("GainsExponentHuge", sealed(with<std::int32_t>(img, section_offset(4) + 64, 1 << 20)),
                "section 'layer 0 rms_ffn': gains exponent 1048576 is outside the int16 range"),
      bad_image("SharedClassifierMoved",
                sealed(with<std::uint64_t>(small_shared_int4_image(), entry_field(14, 16), 640)),
                "a shared classifier must alias the embedding"),
      {"NonexistentPath", [] { load_weight_image(testing::model_path("no_such_image.tpwi")); }, "no such file"},
      {"CheckpointGivenAsImage", [] { load_weight_image(checkpoint_file()); }, "bad magic"},
  };
}

class MalformedWeightImage : public ::testing::TestWithParam<fuzz::BadInput> {};

TEST_P(MalformedWeightImage, IsRefusedWithAClearMessage) {
  const std::string message = fuzz::message_of<WeightImageError>(GetParam().load);
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << "message: " << message;
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedWeightImage, ::testing::ValuesIn(malformed_images()),
                         [](const auto& info) { return info.param.name; });

TEST(MalformedWeightImage, LoadNamesThePath) {
  const std::string path = checkpoint_file();
  EXPECT_EQ(fuzz::message_of<WeightImageError>([&] { load_weight_image(path); }).rfind(path + ": bad magic", 0), 0u);
}

// ---------------------------------------------------------------------------
// Seeded mutations: only a model that survives a write/read round trip, or a
// WeightImageError. Resealing the checksum lets mutations reach past it.

TEST(WeightImageFuzz, MutatedImagesParseConsistentlyOrThrowWeightImageError) {
  const std::vector<Bytes> seeds{small_image(), small_shared_int4_image(),
                                 write_weight_image(small_model(false, 4, 8, 1))};
  for (const bool reseal : {false, true}) {
    SCOPED_TRACE(reseal ? "checksum resealed" : "checksum as mutated");
    const auto report = fuzz::mutation_fuzz<WeightImageError>(
        seeds, 4000, reseal ? 0x7E5EA1 : 0x7B1A5, [reseal](const Bytes& mutated, std::size_t) {
          const Bytes bytes = reseal && mutated.size() >= 12 ? sealed(mutated) : mutated;
          const QuantizedModel model = read_weight_image(bytes);
          return model_difference(model, read_weight_image(write_weight_image(model)));
        });
    for (const auto& problem : report.problems) ADD_FAILURE() << problem;
    EXPECT_GT(report.refused, 1000);
    if (reseal) {
      EXPECT_GT(report.parsed, 100);  // mutations that only change weights
    }
    EXPECT_LT(report.seconds, 20.0);
    RecordProperty(reseal ? "parsed_resealed" : "parsed", report.parsed);
  }
}

}  // namespace
}  // namespace tp::fx
