#include "golden/int/rope.h"

#include <cmath>
#include <stdexcept>

#include "golden/int/fixed_point.h"
#include "golden/int/tables.h"

namespace tp::fx {

std::vector<std::uint32_t> rope_phase_steps(int head_size) {
  std::vector<std::uint32_t> steps(head_size / 2);
  for (int i = 0; i < head_size / 2; ++i) {
    const double frequency = std::pow(10000.0, -2.0 * i / head_size);
    steps[i] = static_cast<std::uint32_t>(std::llround(std::ldexp(frequency / (2.0 * M_PI), 32)));
  }
  return steps;
}

std::int32_t sine(std::uint32_t phase) {
  const auto table = sine_table();
  const std::uint32_t quadrant = phase >> 30;
  std::uint32_t u = (phase >> 14) & 0xFFFF;
  if (quadrant & 1u) u = 65536 - u;  // 1..65536: sin(pi/2 - x) mirrored
  const std::uint32_t k = u >> 8;
  const std::int64_t r = u & 255;
  const std::int64_t upper = k + 1 < table.size() ? table[k + 1] : table[k];
  const auto magnitude = static_cast<std::int32_t>(table[k] + (((upper - table[k]) * r + 128) >> 8));
  return quadrant >= 2 ? -magnitude : magnitude;
}

std::int32_t cosine(std::uint32_t phase) { return sine(phase + (1u << 30)); }

void rope(std::span<std::int32_t> vec, int head_size, int pos, std::span<const std::uint32_t> steps) {
  if (head_size % 2 != 0 || vec.size() % head_size != 0 || static_cast<int>(steps.size()) != head_size / 2) {
    throw std::invalid_argument("rope: vector, head size and phase steps do not fit");
  }
  for (std::size_t i = 0; i < vec.size(); i += 2) {
    const std::uint32_t phase = static_cast<std::uint32_t>(pos) * steps[(i % head_size) / 2];
    const std::int64_t c = cosine(phase), s = sine(phase);
    const std::int64_t a = vec[i], b = vec[i + 1];
    vec[i] = saturate_i32(round_shift(a * c - b * s, -15));
    vec[i + 1] = saturate_i32(round_shift(a * s + b * c, -15));
  }
}

}  // namespace tp::fx
