// The accelerator's weight image: the bytes the RTL streams through its
// 512-bit weight port, one 64-byte beat per cycle. docs/weight-image.md is the
// specification; this header names its constants and gives the addresses a
// testbench HBM model needs. In short (all little-endian, every section starts
// on a beat):
//
//   beat 0          fixed header: "TPWI", version 2, CRC-32, bits, total bytes,
//                   block size 32, section count, the model config
//   beats 1..       section table, 32 bytes per entry, zero-padded to a beat
//   sections        in the order the accelerator reads them per token:
//                   embedding, per layer {rms_att, wqkv, wo, rms_ffn, w13, w2},
//                   rms_final, classifier (aliases the embedding when shared)
//
// A matrix section is a run of tiles: rows in groups of 32, and for each group
// and each block column b (of 32 input features) one tile holding block b of
// the group's rows: the value beats (INT8: 16 beats, 2 blocks a beat; INT4: 8
// beats, 4 blocks a beat) then one beat of the 32 fp16 block scales. Groups
// follow each other; within a group the tiles go along the input dimension,
// the order the matrix engine accumulates in.
// A gains section is the int16 mantissas (32 a beat), then one beat holding
// the int32 exponent.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "golden/int/quantized_model.h"

namespace tp::fx {

class WeightImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Format constants of version 2.
inline constexpr char kImageMagic[4] = {'T', 'P', 'W', 'I'};
inline constexpr std::uint32_t kImageVersion = 2;
inline constexpr int kBeatBytes = 64;             // one 512-bit beat
inline constexpr int kTileRows = 32;              // rows of a row group: blocks per tile
inline constexpr int kSectionEntryBytes = 32;     // one section-table entry
inline constexpr std::uint32_t kNoLayer = 0xFFFFFFFF;  // the layer field of model-wide sections

// Byte offsets of the fixed header fields (beat 0).
struct ImageHeaderOffsets {
  static constexpr int kMagic = 0;          // char[4] "TPWI"
  static constexpr int kVersion = 4;        // u32
  static constexpr int kChecksum = 8;       // u32 CRC-32, see weight_image_checksum
  static constexpr int kBits = 12;          // u32, 8 or 4
  static constexpr int kTotalBytes = 16;    // u64, the image size
  static constexpr int kBlockSize = 24;     // u32, 32
  static constexpr int kSectionCount = 28;  // u32
  static constexpr int kConfig = 32;        // u32 x 7: dim .. seq_len as in a llama2.c header
  static constexpr int kFlags = 60;         // u32, bit 0: shared classifier
};

// Byte offsets inside one section-table entry (entry i at 64 + 32 i).
struct SectionEntryOffsets {
  static constexpr int kKind = 0;     // u32 SectionKind
  static constexpr int kLayer = 4;    // u32, kNoLayer for model-wide sections
  static constexpr int kRows = 8;     // u32 (gains: 1)
  static constexpr int kCols = 12;    // u32, before padding to blocks
  static constexpr int kOffset = 16;  // u64, byte address in the image, a multiple of 64
  static constexpr int kLength = 24;  // u64, bytes, a multiple of 64
};

enum class SectionKind : std::uint32_t {
  kEmbedding = 1,
  kRmsAtt = 2,
  kWqkv = 3,
  kWo = 4,
  kRmsFfn = 5,
  kW13 = 6,
  kW2 = 7,
  kRmsFinal = 8,
  kClassifier = 9,
};
const char* section_kind_name(SectionKind kind);  // "wqkv", ...
bool is_gains(SectionKind kind);

struct ImageSection {
  SectionKind kind = SectionKind::kEmbedding;
  std::uint32_t layer = kNoLayer;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t offset = 0;  // byte address of the first beat
  std::int64_t length = 0;  // bytes

  std::int64_t end() const { return offset + length; }
  std::string describe() const;  // "section 'layer 2 wqkv'"
};

struct WeightImageLayout {
  ModelConfig config;
  int bits = 8;
  std::int64_t header_bytes = 0;  // beat 0 and the section table
  std::int64_t total_bytes = 0;
  std::vector<ImageSection> sections;  // in image order

  // layer: the layer of a per-layer section, -1 for a model-wide one. Throws
  // WeightImageError when absent.
  const ImageSection& section(SectionKind kind, int layer = -1) const;
};

// The geometry of tiles at `bits` (8 or 4): a tile of `rows` blocks (32, or
// fewer in the last row group) is ceil(rows / blocks_per_beat) value beats and
// a scale beat.
int blocks_per_beat(int bits);                        // 2 or 4
int tile_value_beats(std::int64_t rows, int bits);    // 16 or 8 for a full tile
std::int64_t tile_bytes(std::int64_t rows, int bits); // 1088 or 576 for a full tile
// Bytes of a section: a matrix [rows][cols] (the tiles of a last, partial row
// group cut after the beat of their last block), or a gains vector.
std::int64_t matrix_section_bytes(std::int64_t rows, std::int64_t cols, int bits);
std::int64_t gains_section_bytes(std::int64_t size);

// Where block `block` of row `row` of a matrix section lies: its value bytes
// (32 at INT8, 16 at INT4) and its fp16 scale (2 bytes).
struct BlockAddress {
  std::int64_t values = 0;
  std::int64_t scale = 0;
};
BlockAddress block_address(const ImageSection& matrix, int bits, std::int64_t row, std::int64_t block);
// Byte address of the tile of row group `group` and block column `block`.
std::int64_t tile_address(const ImageSection& matrix, int bits, std::int64_t group, std::int64_t block);
// Byte addresses of a gains section's mantissa i and of its exponent.
std::int64_t gain_mantissa_address(const ImageSection& gains, std::int64_t i);
std::int64_t gain_exponent_address(const ImageSection& gains);

// The canonical layout of a model: sections packed one after the other, in
// the order above. Validates the config (WeightImageError) and bits.
WeightImageLayout weight_image_layout(const ModelConfig& config, int bits);

// CRC-32 (IEEE 802.3 / zlib) of the whole image with the 4 checksum bytes read
// as zero. In Python: b = bytearray(img); b[8:12] = bytes(4); zlib.crc32(b).
std::uint32_t weight_image_checksum(std::span<const std::uint8_t> image);

std::vector<std::uint8_t> write_weight_image(const QuantizedModel& model);
// The bytes of one matrix section on its own (as at offset 0): what the matrix
// engine's testbench serves from its memory model.
std::vector<std::uint8_t> matrix_section_image(const QuantMatrix& m);
// Checks the header, the checksum and the section table (bounds, alignment,
// order, overlap, shapes against the config) without decoding the payload:
// what a testbench needs to serve the image from its HBM model.
WeightImageLayout read_weight_image_layout(std::span<const std::uint8_t> image);
// read_weight_image_layout, then decodes every section (values in range, zero
// padding, finite scales). The classifier of a shared model is a copy of the
// embedding, as quantize_model makes it.
QuantizedModel read_weight_image(std::span<const std::uint8_t> image);
// read_weight_image on a file's bytes; errors are prefixed with the path.
QuantizedModel load_weight_image(const std::string& path);

// Bytes of one embedding row as the engine fetches them: each of its blocks
// lies in its own tile, so one value beat and one scale beat per block.
std::int64_t embedding_row_bytes(const WeightImageLayout& layout);
// Bytes the accelerator reads per decoded token: every section except the
// embedding in full (the classifier too when it aliases the embedding), plus
// embedding_row_bytes.
std::int64_t weight_bytes_per_token(const WeightImageLayout& layout);

}  // namespace tp::fx
