#include "golden/int/weight_image.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <sstream>
#include <type_traits>

namespace tp::fx {

static_assert(std::endian::native == std::endian::little, "the image is little-endian; so is the host");

namespace {

using Bytes = std::vector<std::uint8_t>;
using Image = std::span<const std::uint8_t>;
using H = ImageHeaderOffsets;
using E = SectionEntryOffsets;

[[noreturn]] void fail(const std::string& message) { throw WeightImageError(message); }

std::string hex(std::uint64_t v) {
  std::ostringstream out;
  out << "0x" << std::hex << v;
  return out.str();
}

// Callers check bounds first.
template <typename T>
T get(Image image, std::int64_t at) {
  T value;
  std::memcpy(&value, image.data() + at, sizeof value);
  return value;
}
template <typename T>
void put(Bytes& image, std::int64_t at, T value) {
  std::memcpy(image.data() + at, &value, sizeof value);
}

std::int64_t round_up(std::int64_t v, std::int64_t unit) { return (v + unit - 1) / unit * unit; }
std::int64_t blocks_per_row(std::int64_t cols) { return (cols + kBlock - 1) / kBlock; }
std::int64_t header_bytes_for(std::int64_t section_count) {
  return kBeatBytes + round_up(section_count * kSectionEntryBytes, kBeatBytes);
}
std::string quant_name(int bits) { return bits == 8 ? "INT8" : "INT4"; }

void check_bits(int bits) {
  if (bits != 8 && bits != 4) fail("unsupported quant bits " + std::to_string(bits) + " (8 or 4)");
}

void check_config(const ModelConfig& config) {
  try {
    validate_config(config);
  } catch (const CheckpointError& e) {
    fail(std::string("invalid config: ") + e.what());
  }
}

// The sections a config implies, in image order, with shapes and lengths but
// no offsets yet.
std::vector<ImageSection> expected_sections(const ModelConfig& c, int bits) {
  std::vector<ImageSection> sections;
  auto matrix = [&](SectionKind kind, std::uint32_t layer, std::int64_t rows, std::int64_t cols) {
    sections.push_back({kind, layer, rows, cols, 0, matrix_section_bytes(rows, cols, bits)});
  };
  auto gains = [&](SectionKind kind, std::uint32_t layer) {
    sections.push_back({kind, layer, 1, c.dim, 0, gains_section_bytes(c.dim)});
  };
  matrix(SectionKind::kEmbedding, kNoLayer, c.vocab_size, c.dim);
  for (std::uint32_t l = 0; l < static_cast<std::uint32_t>(c.n_layers); ++l) {
    gains(SectionKind::kRmsAtt, l);
    matrix(SectionKind::kWqkv, l, c.dim + 2 * c.kv_dim(), c.dim);
    matrix(SectionKind::kWo, l, c.dim, c.dim);
    gains(SectionKind::kRmsFfn, l);
    matrix(SectionKind::kW13, l, 2 * c.hidden_dim, c.dim);
    matrix(SectionKind::kW2, l, c.dim, c.hidden_dim);
  }
  gains(SectionKind::kRmsFinal, kNoLayer);
  matrix(SectionKind::kClassifier, kNoLayer, c.vocab_size, c.dim);
  return sections;
}

// ---------------------------------------------------------------------------
// Section payloads. A section's bytes are exactly the encoding of what they
// decode to (the reader re-encodes and compares), so every padding byte is 0.

void encode_matrix(const QuantMatrix& m, const ImageSection& s, int bits, Bytes& image) {
  for (std::int64_t r = 0; r < m.rows; ++r) {
    for (int b = 0; b < m.blocks(); ++b) {
      const BlockAddress at = block_address(s, bits, r, b);
      const std::int8_t* v = &m.values[static_cast<std::size_t>(r * m.padded_cols() + b * kBlock)];
      if (bits == 8) {
        std::memcpy(image.data() + at.values, v, kBlock);
      } else {
        for (int i = 0; i < kBlock / 2; ++i) {  // low nibble: even column, high nibble: odd column
          image[static_cast<std::size_t>(at.values + i)] =
              static_cast<std::uint8_t>((v[2 * i] & 0xF) | ((v[2 * i + 1] & 0xF) << 4));
        }
      }
      put<std::uint16_t>(image, at.scale, m.scale_bits(static_cast<int>(r), b));
    }
  }
}

QuantMatrix decode_matrix(Image image, const ImageSection& s, int bits) {
  QuantMatrix m;
  m.rows = static_cast<int>(s.rows);
  m.cols = static_cast<int>(s.cols);
  m.bits = bits;
  m.values.resize(static_cast<std::size_t>(m.rows) * m.padded_cols());
  m.scales.resize(static_cast<std::size_t>(m.rows) * m.blocks());
  for (int r = 0; r < m.rows; ++r) {
    for (int b = 0; b < m.blocks(); ++b) {
      const BlockAddress at = block_address(s, bits, r, b);
      std::int8_t* v = &m.values[static_cast<std::size_t>(r) * m.padded_cols() + b * kBlock];
      for (int i = 0; i < kBlock; ++i) {
        if (b * kBlock + i >= m.cols) continue;  // padding stays 0: check_canonical sees any other value
        if (bits == 8) {
          v[i] = static_cast<std::int8_t>(image[static_cast<std::size_t>(at.values + i)]);
          if (v[i] == -128) {
            fail(s.describe() + ": value -128 at row " + std::to_string(r) + " column " +
                 std::to_string(b * kBlock + i) + " (INT8 weights lie in [-127, 127])");
          }
        } else {
          const int byte = image[static_cast<std::size_t>(at.values + i / 2)];
          const int nibble = (i % 2 == 0 ? byte : byte >> 4) & 0xF;
          v[i] = static_cast<std::int8_t>(nibble >= 8 ? nibble - 16 : nibble);
        }
      }
      const std::uint16_t scale = get<std::uint16_t>(image, at.scale);
      if (((scale >> 10) & 0x1F) == 0x1F) {
        fail(s.describe() + ": the scale of row " + std::to_string(r) + " block " + std::to_string(b) +
             " is infinite or NaN (fp16 " + hex(scale) + ")");
      }
      m.scales[static_cast<std::size_t>(r) * m.blocks() + b] = scale;
    }
  }
  return m;
}

void encode_gains(const NormGains& g, const ImageSection& s, Bytes& image) {
  for (std::size_t i = 0; i < g.mantissas.size(); ++i) {
    put<std::int16_t>(image, gain_mantissa_address(s, static_cast<std::int64_t>(i)), g.mantissas[i]);
  }
  put<std::int32_t>(image, gain_exponent_address(s), g.exponent);
}

NormGains decode_gains(Image image, const ImageSection& s) {
  NormGains g;
  g.mantissas.resize(static_cast<std::size_t>(s.cols));
  for (std::int64_t i = 0; i < s.cols; ++i) {
    g.mantissas[static_cast<std::size_t>(i)] = get<std::int16_t>(image, gain_mantissa_address(s, i));
  }
  g.exponent = get<std::int32_t>(image, gain_exponent_address(s));
  if (g.exponent < INT16_MIN || g.exponent > INT16_MAX) {
    fail(s.describe() + ": gains exponent " + std::to_string(g.exponent) + " is outside the int16 range");
  }
  return g;
}

// The first byte where the section differs from the encoding of what it decoded to.
void check_canonical(Image image, const ImageSection& s, const Bytes& encoded) {
  const auto bytes = image.subspan(static_cast<std::size_t>(s.offset), static_cast<std::size_t>(s.length));
  const auto mismatch = std::mismatch(bytes.begin(), bytes.end(), encoded.begin() + s.offset);
  if (mismatch.first != bytes.end()) {
    fail(s.describe() + ": nonzero padding at byte " + std::to_string(s.offset + (mismatch.first - bytes.begin())));
  }
}

// ---------------------------------------------------------------------------
// What the writer is given must fit the config; what it writes then reads back.

void check_matrix_for_writing(const QuantMatrix& m, const ImageSection& s, int bits) {
  const bool shape_ok = m.rows == s.rows && m.cols == s.cols && m.bits == bits &&
                        m.values.size() == static_cast<std::size_t>(m.rows) * m.padded_cols() &&
                        m.scales.size() == static_cast<std::size_t>(m.rows) * m.blocks();
  if (!shape_ok) {
    fail("cannot write " + s.describe() + ": the matrix is " + std::to_string(m.rows) + "x" +
         std::to_string(m.cols) + " at " + std::to_string(m.bits) + " bits, the config needs " +
         std::to_string(s.rows) + "x" + std::to_string(s.cols) + " at " + std::to_string(bits));
  }
  const int lo = bits == 8 ? -127 : -8, hi = bits == 8 ? 127 : 7;
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    const int col = static_cast<int>(i % static_cast<std::size_t>(m.padded_cols()));
    if (m.values[i] < lo || m.values[i] > hi || (col >= m.cols && m.values[i] != 0)) {
      fail("cannot write " + s.describe() + ": value " + std::to_string(m.values[i]) + " at index " +
           std::to_string(i) + " is not a " + quant_name(bits) + " weight (or is nonzero padding)");
    }
  }
}

void check_gains_for_writing(const NormGains& g, const ImageSection& s) {
  if (g.mantissas.size() != static_cast<std::size_t>(s.cols) || g.exponent < INT16_MIN || g.exponent > INT16_MAX) {
    fail("cannot write " + s.describe() + ": " + std::to_string(g.mantissas.size()) + " gains with exponent " +
         std::to_string(g.exponent) + ", the config needs " + std::to_string(s.cols));
  }
}

bool same_matrix(const QuantMatrix& a, const QuantMatrix& b) {
  return a.rows == b.rows && a.cols == b.cols && a.bits == b.bits && a.planes == b.planes && a.values == b.values &&
         a.scales == b.scales;
}

// The tensor a section holds: exactly one of the two pointers is set.
template <typename Model>  // QuantizedModel or const QuantizedModel
auto tensor_of(Model& m, const ImageSection& s) {
  constexpr bool kConst = std::is_const_v<Model>;
  struct Tensor {
    std::conditional_t<kConst, const QuantMatrix, QuantMatrix>* matrix = nullptr;
    std::conditional_t<kConst, const NormGains, NormGains>* gains = nullptr;
  };
  const bool per_layer = s.layer != kNoLayer;
  if (per_layer && s.layer >= m.layers.size()) {
    fail("cannot write " + s.describe() + ": the model has " + std::to_string(m.layers.size()) + " layers");
  }
  auto* l = per_layer ? &m.layers[s.layer] : nullptr;
  switch (s.kind) {
    case SectionKind::kEmbedding: return Tensor{&m.embedding};
    case SectionKind::kRmsAtt: return Tensor{nullptr, &l->rms_att};
    case SectionKind::kWqkv: return Tensor{&l->wqkv};
    case SectionKind::kWo: return Tensor{&l->wo};
    case SectionKind::kRmsFfn: return Tensor{nullptr, &l->rms_ffn};
    case SectionKind::kW13: return Tensor{&l->w13};
    case SectionKind::kW2: return Tensor{&l->w2};
    case SectionKind::kRmsFinal: return Tensor{nullptr, &m.rms_final};
    case SectionKind::kClassifier: return Tensor{&m.classifier};
  }
  fail("unknown section kind");
}

// ---------------------------------------------------------------------------
// Header and section table.

void write_header(const WeightImageLayout& layout, Bytes& image) {
  std::memcpy(image.data() + H::kMagic, kImageMagic, sizeof kImageMagic);
  put<std::uint32_t>(image, H::kVersion, kImageVersion);
  put<std::uint32_t>(image, H::kBits, static_cast<std::uint32_t>(layout.bits));
  put<std::uint64_t>(image, H::kTotalBytes, static_cast<std::uint64_t>(layout.total_bytes));
  put<std::uint32_t>(image, H::kBlockSize, kBlock);
  put<std::uint32_t>(image, H::kSectionCount, static_cast<std::uint32_t>(layout.sections.size()));
  const ModelConfig& c = layout.config;
  const int fields[] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len};
  for (int i = 0; i < 7; ++i) put<std::int32_t>(image, H::kConfig + 4 * i, fields[i]);
  put<std::uint32_t>(image, H::kFlags, c.shared_classifier ? 1u : 0u);
  for (std::size_t i = 0; i < layout.sections.size(); ++i) {
    const ImageSection& s = layout.sections[i];
    const std::int64_t at = kBeatBytes + static_cast<std::int64_t>(i) * kSectionEntryBytes;
    put<std::uint32_t>(image, at + E::kKind, static_cast<std::uint32_t>(s.kind));
    put<std::uint32_t>(image, at + E::kLayer, s.layer);
    put<std::uint32_t>(image, at + E::kRows, static_cast<std::uint32_t>(s.rows));
    put<std::uint32_t>(image, at + E::kCols, static_cast<std::uint32_t>(s.cols));
    put<std::uint64_t>(image, at + E::kOffset, static_cast<std::uint64_t>(s.offset));
    put<std::uint64_t>(image, at + E::kLength, static_cast<std::uint64_t>(s.length));
  }
}

// Beat 0 up to the checksum: identity, size, checksum, then meaning.
WeightImageLayout read_header(Image image) {
  if (image.size() < static_cast<std::size_t>(kBeatBytes)) {
    fail("truncated: " + std::to_string(image.size()) + " bytes, the header beat needs " + std::to_string(kBeatBytes));
  }
  if (std::memcmp(image.data() + H::kMagic, kImageMagic, sizeof kImageMagic) != 0) {
    fail("bad magic " + hex(get<std::uint32_t>(image, H::kMagic)) + ": not a weight image (expected \"TPWI\")");
  }
  const auto version = get<std::uint32_t>(image, H::kVersion);
  if (version != kImageVersion) {
    fail("unsupported version " + std::to_string(version) + " (this reader reads version " +
         std::to_string(kImageVersion) + ")");
  }
  const auto total = get<std::uint64_t>(image, H::kTotalBytes);
  if (total > image.size()) {
    fail("truncated: the header says " + std::to_string(total) + " bytes, the image has " + std::to_string(image.size()));
  }
  if (total < image.size()) {
    fail("trailing bytes: the header says " + std::to_string(total) + " bytes, the image has " +
         std::to_string(image.size()));
  }
  const auto stored = get<std::uint32_t>(image, H::kChecksum);
  const auto computed = weight_image_checksum(image);
  if (stored != computed) fail("checksum mismatch: stored " + hex(stored) + ", computed " + hex(computed));

  WeightImageLayout layout;
  layout.total_bytes = static_cast<std::int64_t>(total);
  const auto bits = get<std::uint32_t>(image, H::kBits);
  if (bits != 8 && bits != 4) fail("unsupported quant bits " + std::to_string(bits) + " (8 or 4)");
  layout.bits = static_cast<int>(bits);
  const auto block = get<std::uint32_t>(image, H::kBlockSize);
  if (block != kBlock) fail("unsupported block size " + std::to_string(block) + " (32)");
  const auto flags = get<std::uint32_t>(image, H::kFlags);
  if (flags > 1) fail("unknown flags " + hex(flags) + " (bit 0 is the only flag)");
  ModelConfig& c = layout.config;
  int* fields[] = {&c.dim, &c.hidden_dim, &c.n_layers, &c.n_heads, &c.n_kv_heads, &c.vocab_size, &c.seq_len};
  for (int i = 0; i < 7; ++i) *fields[i] = get<std::int32_t>(image, H::kConfig + 4 * i);
  c.shared_classifier = flags == 1;
  check_config(c);
  return layout;
}

// Entry i of the table, checked against `want` (the section the config puts
// there). Offset and length are checked as the u64 they are stored as, so
// every message shows the stored value.
ImageSection read_entry(Image image, std::int64_t i, const ImageSection& want, const WeightImageLayout& layout,
                        const ImageSection* previous) {
  const std::int64_t at = kBeatBytes + i * kSectionEntryBytes;
  ImageSection got{static_cast<SectionKind>(get<std::uint32_t>(image, at + E::kKind)),
                   get<std::uint32_t>(image, at + E::kLayer), get<std::uint32_t>(image, at + E::kRows),
                   get<std::uint32_t>(image, at + E::kCols)};
  const auto offset = get<std::uint64_t>(image, at + E::kOffset), length = get<std::uint64_t>(image, at + E::kLength);
  if (got.kind != want.kind || got.layer != want.layer) {
    fail("section table: found " + got.describe() + " where " + want.describe() + " belongs");
  }
  const std::string what = got.describe();
  if (got.rows != want.rows || got.cols != want.cols) {
    fail(what + ": shape " + std::to_string(got.rows) + "x" + std::to_string(got.cols) + ", the config needs " +
         std::to_string(want.rows) + "x" + std::to_string(want.cols));
  }
  if (length != static_cast<std::uint64_t>(want.length)) {
    fail(what + ": length " + std::to_string(length) + ", its shape needs " + std::to_string(want.length) +
         " bytes at " + quant_name(layout.bits));
  }
  if (offset % kBeatBytes != 0) {
    fail(what + ": misaligned offset " + std::to_string(offset) + " (sections start on 64-byte beats)");
  }
  const auto header = static_cast<std::uint64_t>(layout.header_bytes), total = static_cast<std::uint64_t>(layout.total_bytes);
  if (offset < header || offset > total || length > total - offset) {
    fail(what + ": out of bounds: bytes [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
         ") lie outside the payload [" + std::to_string(header) + ", " + std::to_string(total) + ")");
  }
  got.offset = static_cast<std::int64_t>(offset);
  got.length = static_cast<std::int64_t>(length);
  if (got.kind == SectionKind::kClassifier && layout.config.shared_classifier) {
    const ImageSection& embedding = layout.sections.front();
    if (got.offset != embedding.offset) {
      fail(what + ": a shared classifier must alias the embedding at offset " + std::to_string(embedding.offset) +
           ", not " + std::to_string(got.offset));
    }
  } else if (previous != nullptr && got.offset < previous->end()) {
    fail(what + ": overlapping: starts at " + std::to_string(got.offset) + ", inside or before " +
         previous->describe() + " which ends at " + std::to_string(previous->end()));
  }
  return got;
}

}  // namespace

// ---------------------------------------------------------------------------

const char* section_kind_name(SectionKind kind) {
  switch (kind) {
    case SectionKind::kEmbedding: return "embedding";
    case SectionKind::kRmsAtt: return "rms_att";
    case SectionKind::kWqkv: return "wqkv";
    case SectionKind::kWo: return "wo";
    case SectionKind::kRmsFfn: return "rms_ffn";
    case SectionKind::kW13: return "w13";
    case SectionKind::kW2: return "w2";
    case SectionKind::kRmsFinal: return "rms_final";
    case SectionKind::kClassifier: return "classifier";
  }
  return "unknown";
}

bool is_gains(SectionKind kind) {
  return kind == SectionKind::kRmsAtt || kind == SectionKind::kRmsFfn || kind == SectionKind::kRmsFinal;
}

std::string ImageSection::describe() const {
  std::string name = section_kind_name(kind);
  if (name == "unknown") name = "kind " + std::to_string(static_cast<std::uint32_t>(kind));
  if (layer != kNoLayer) name = "layer " + std::to_string(layer) + " " + name;
  return "section '" + name + "'";
}

const ImageSection& WeightImageLayout::section(SectionKind kind, int layer) const {
  const std::uint32_t want = layer < 0 ? kNoLayer : static_cast<std::uint32_t>(layer);
  for (const ImageSection& s : sections) {
    if (s.kind == kind && s.layer == want) return s;
  }
  fail("the layout has no " + ImageSection{kind, want}.describe());
}

int blocks_per_beat(int bits) { return kBeatBytes * 8 / (kBlock * bits); }
int tile_value_beats(std::int64_t rows, int bits) {
  return static_cast<int>(round_up(rows, blocks_per_beat(bits)) / blocks_per_beat(bits));
}
std::int64_t tile_bytes(std::int64_t rows, int bits) { return (tile_value_beats(rows, bits) + 1) * kBeatBytes; }

std::int64_t matrix_section_bytes(std::int64_t rows, std::int64_t cols, int bits) {
  const std::int64_t full_groups = rows / kTileRows, rest = rows % kTileRows;
  const std::int64_t group_bytes = full_groups * tile_bytes(kTileRows, bits) + (rest == 0 ? 0 : tile_bytes(rest, bits));
  return blocks_per_row(cols) * group_bytes;
}

std::int64_t gains_section_bytes(std::int64_t size) { return round_up(size * 2, kBeatBytes) + kBeatBytes; }

std::int64_t tile_address(const ImageSection& matrix, int bits, std::int64_t group, std::int64_t block) {
  // Every group before `group` is full; the tiles of one group all have its row count.
  const std::int64_t rows_in_group = std::min<std::int64_t>(kTileRows, matrix.rows - group * kTileRows);
  return matrix.offset + group * blocks_per_row(matrix.cols) * tile_bytes(kTileRows, bits) +
         block * tile_bytes(rows_in_group, bits);
}

BlockAddress block_address(const ImageSection& matrix, int bits, std::int64_t row, std::int64_t block) {
  const std::int64_t group = row / kTileRows, j = row % kTileRows;  // j: the block's slot in its tile
  const std::int64_t rows_in_group = std::min<std::int64_t>(kTileRows, matrix.rows - group * kTileRows);
  const std::int64_t base = tile_address(matrix, bits, group, block);
  const std::int64_t block_bytes = kBlock * bits / 8;
  return {base + (j / blocks_per_beat(bits)) * kBeatBytes + (j % blocks_per_beat(bits)) * block_bytes,
          base + tile_value_beats(rows_in_group, bits) * kBeatBytes + 2 * j};
}

std::vector<std::uint8_t> matrix_section_image(const QuantMatrix& m) {
  const ImageSection s{SectionKind::kWo, kNoLayer, m.rows, m.cols, 0, matrix_section_bytes(m.rows, m.cols, m.bits)};
  Bytes image(static_cast<std::size_t>(s.length), 0);
  encode_matrix(m, s, m.bits, image);
  return image;
}

std::int64_t gain_mantissa_address(const ImageSection& gains, std::int64_t i) { return gains.offset + 2 * i; }
std::int64_t gain_exponent_address(const ImageSection& gains) {
  return gains.offset + round_up(gains.cols * 2, kBeatBytes);
}

WeightImageLayout weight_image_layout(const ModelConfig& config, int bits) {
  check_bits(bits);
  check_config(config);
  WeightImageLayout layout{config, bits, 0, 0, expected_sections(config, bits)};
  layout.header_bytes = header_bytes_for(static_cast<std::int64_t>(layout.sections.size()));
  std::int64_t at = layout.header_bytes;
  for (ImageSection& s : layout.sections) {
    if (s.kind == SectionKind::kClassifier && config.shared_classifier) {
      s.offset = layout.sections.front().offset;  // aliases the embedding
      continue;
    }
    s.offset = at;
    at += s.length;
  }
  layout.total_bytes = at;
  return layout;
}

std::uint32_t weight_image_checksum(std::span<const std::uint8_t> image) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < image.size(); ++i) {
    const bool checksum_field = i >= H::kChecksum && i < H::kChecksum + 4;
    const std::uint8_t byte = checksum_field ? 0 : image[i];
    crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

std::vector<std::uint8_t> write_weight_image(const QuantizedModel& model) {
  const WeightImageLayout layout = weight_image_layout(model.config, model.bits);
  if (model.layers.size() != static_cast<std::size_t>(model.config.n_layers)) {
    fail("cannot write: the model has " + std::to_string(model.layers.size()) + " layers, its config " +
         std::to_string(model.config.n_layers));
  }
  if (model.config.shared_classifier && !same_matrix(model.classifier, model.embedding)) {
    fail("cannot write: the config shares the classifier, but it differs from the embedding");
  }
  if (!is_plain(model)) {
    fail("cannot write: the model is mixed precision (weight or activation planes), which version 2 cannot hold");
  }
  Bytes image(static_cast<std::size_t>(layout.total_bytes), 0);
  write_header(layout, image);
  for (const ImageSection& s : layout.sections) {
    if (s.kind == SectionKind::kClassifier && model.config.shared_classifier) continue;
    const auto t = tensor_of(model, s);
    if (t.gains != nullptr) {
      check_gains_for_writing(*t.gains, s);
      encode_gains(*t.gains, s, image);
    } else {
      check_matrix_for_writing(*t.matrix, s, layout.bits);
      encode_matrix(*t.matrix, s, layout.bits, image);
    }
  }
  put<std::uint32_t>(image, H::kChecksum, weight_image_checksum(image));
  return image;
}

WeightImageLayout read_weight_image_layout(std::span<const std::uint8_t> image) {
  WeightImageLayout layout = read_header(image);
  const WeightImageLayout canonical = weight_image_layout(layout.config, layout.bits);
  const auto count = get<std::uint32_t>(image, H::kSectionCount);
  if (count != canonical.sections.size()) {
    fail("section table: " + std::to_string(count) + " sections, a model of " +
         std::to_string(layout.config.n_layers) + " layers has " + std::to_string(canonical.sections.size()));
  }
  layout.header_bytes = canonical.header_bytes;
  if (layout.header_bytes > layout.total_bytes) {
    fail("truncated: the section table needs " + std::to_string(layout.header_bytes) + " bytes, the image has " +
         std::to_string(layout.total_bytes));
  }
  const std::int64_t table_end = kBeatBytes + static_cast<std::int64_t>(count) * kSectionEntryBytes;
  if (std::any_of(image.begin() + table_end, image.begin() + layout.header_bytes, [](auto b) { return b != 0; })) {
    fail("section table: nonzero padding after the last entry");
  }
  const ImageSection* previous = nullptr;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) {
    layout.sections.push_back(read_entry(image, i, canonical.sections[static_cast<std::size_t>(i)], layout, previous));
    const ImageSection& got = layout.sections.back();
    if (!(got.kind == SectionKind::kClassifier && layout.config.shared_classifier)) previous = &got;
  }
  return layout;
}

QuantizedModel read_weight_image(std::span<const std::uint8_t> image) {
  const WeightImageLayout layout = read_weight_image_layout(image);
  QuantizedModel model;
  model.config = layout.config;
  model.bits = layout.bits;
  model.layers.resize(static_cast<std::size_t>(layout.config.n_layers));
  Bytes encoded(image.size(), 0);  // each section encoded again from what it decoded to
  for (const ImageSection& s : layout.sections) {
    if (s.kind == SectionKind::kClassifier && layout.config.shared_classifier) {
      model.classifier = model.embedding;
      continue;
    }
    const auto t = tensor_of(model, s);
    if (t.gains != nullptr) {
      *t.gains = decode_gains(image, s);
      encode_gains(*t.gains, s, encoded);
    } else {
      *t.matrix = decode_matrix(image, s, layout.bits);
      encode_matrix(*t.matrix, s, layout.bits, encoded);
    }
    check_canonical(image, s, encoded);
  }
  return model;
}

QuantizedModel load_weight_image(const std::string& path) {
  Bytes bytes;
  try {
    bytes = read_file(path);
  } catch (const CheckpointError& e) {
    fail(e.what());  // already names the path
  }
  try {
    return read_weight_image(bytes);
  } catch (const WeightImageError& e) {
    fail(path + ": " + e.what());
  }
}

std::int64_t embedding_row_bytes(const WeightImageLayout& layout) {
  return 2 * blocks_per_row(layout.config.dim) * kBeatBytes;
}

std::int64_t weight_bytes_per_token(const WeightImageLayout& layout) {
  std::int64_t total = embedding_row_bytes(layout);
  for (const ImageSection& s : layout.sections) {
    if (s.kind != SectionKind::kEmbedding) total += s.length;
  }
  return total;
}

}  // namespace tp::fx
