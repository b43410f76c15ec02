#include "golden/int/silu.h"

#include "golden/int/fixed_point.h"
#include "golden/int/tables.h"

namespace tp::fx {

std::uint32_t sigmoid(std::int16_t t) {
  const auto table = sigmoid_table();
  const std::int32_t magnitude = t < 0 ? -static_cast<std::int32_t>(t) : t;  // up to 32768 = 8.0
  const std::int32_t k = magnitude >> 9;
  const std::int32_t r = magnitude & 511;
  const std::int64_t upper = k + 1 < static_cast<std::int32_t>(table.size()) ? table[k + 1] : table[k];
  const auto positive = static_cast<std::uint32_t>(table[k] + (((upper - table[k]) * r + 256) >> 9));
  return t < 0 ? 65536u - positive : positive;
}

std::int32_t silu_gate(std::int32_t h1, std::int32_t h3) {
  const int128 t = round_shift(h1, -4);
  const std::uint32_t sigma = t > 32767 ? 65536u : (t < -32768 ? 0u : sigmoid(static_cast<std::int16_t>(t)));
  const int128 silu = round_shift(static_cast<int128>(h1) * sigma, -16);
  return saturate_i32(round_shift(silu * h3, -16));
}

}  // namespace tp::fx
