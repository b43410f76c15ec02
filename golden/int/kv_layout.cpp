#include "golden/int/kv_layout.h"

#include <stdexcept>
#include <string>

namespace tp::fx {

namespace {
constexpr int kScaleExponentBias = 40;

void put_u16(KvBeat& beat, int offset, std::uint16_t value) {
  beat[offset] = static_cast<std::uint8_t>(value & 0xFF);
  beat[offset + 1] = static_cast<std::uint8_t>(value >> 8);
}
}  // namespace

std::uint16_t kv_scale_code(const ScaleFp& scale) {
  if (scale.is_zero()) return 0;
  const int biased = scale.exponent + kScaleExponentBias;
  if (scale.negative || scale.mantissa < 1024 || scale.mantissa > 2047 || biased < 1 || biased > 63) {
    throw std::invalid_argument("KV scale " + scale.describe() + " has no 16-bit code");
  }
  return static_cast<std::uint16_t>((biased << 10) | (scale.mantissa - 1024));
}

ScaleFp kv_scale_from_code(std::uint16_t code) {
  if (code == 0) return {};
  const int biased = code >> 10;
  if (biased == 0) throw std::invalid_argument("KV scale code " + std::to_string(code) + " is malformed");
  return {static_cast<std::uint16_t>(1024 + (code & 0x3FF)), static_cast<std::int16_t>(biased - kScaleExponentBias),
          false};
}

KvLayout::KvLayout(int n_layers, int n_kv_heads, int head_size)
    : n_layers_(n_layers), n_kv_heads_(n_kv_heads), head_size_(head_size), pitch_(8) {
  if (n_layers < 1 || n_kv_heads < 1 || head_size < 1 || head_size > kKvMaxHeadSize) {
    throw std::invalid_argument("KV layout needs layers >= 1, KV heads >= 1 and a head size in 1.." +
                                std::to_string(kKvMaxHeadSize) + " (got " + std::to_string(n_layers) + ", " +
                                std::to_string(n_kv_heads) + ", " + std::to_string(head_size) + ")");
  }
  while (pitch_ < head_size_) pitch_ *= 2;
}

std::uint64_t KvLayout::segment_address(int page, int layer, int kv_head) const {
  return static_cast<std::uint64_t>(page) * page_bytes() +
         static_cast<std::uint64_t>(layer * n_kv_heads_ + kv_head) * segment_bytes();
}

std::vector<KvBeat> kv_segment(const KvLayout& layout, const KvCache& cache, int kv_head, int first, int count) {
  if (cache.head_size() != layout.head_size() || count < 1 || count > kKvPageTokens) {
    throw std::invalid_argument("kv_segment: head size or token count does not fit the layout");
  }
  if (!cache.precision().is_rtl_format()) {
    throw std::invalid_argument("kv_segment: the layout holds the INT8 KV cache only; the hifi (16-bit) attention "
                                "is golden-only and has no RTL layout");
  }
  std::vector<KvBeat> beats(static_cast<std::size_t>(layout.segment_beats()), KvBeat{});
  const auto put_row = [&](int offset, std::span<const std::int16_t> row) {  // int8 values, one byte each
    for (int i = 0; i < layout.head_size(); ++i) {
      beats[static_cast<std::size_t>((offset + i) / kKvBeatBytes)][(offset + i) % kKvBeatBytes] =
          static_cast<std::uint8_t>(row[i]);
    }
  };
  for (int slot = 0; slot < count; ++slot) {
    const int pos = first + slot;
    put_u16(beats[0], KvLayout::key_scale_offset(slot), kv_scale_code(cache.key_scale(pos, kv_head)));
    put_u16(beats[0], KvLayout::value_scale_offset(slot), kv_scale_code(cache.value_scale(pos, kv_head)));
    put_row(layout.key_offset(slot), cache.key(pos, kv_head));
    put_row(layout.value_offset(slot), cache.value(pos, kv_head));
  }
  return beats;
}

}  // namespace tp::fx
