#include "golden/int/exp2.h"

#include <stdexcept>

#include "golden/int/fixed_point.h"
#include "golden/int/tables.h"

namespace tp::fx {

std::uint32_t exp2_neg(std::int64_t d) {
  if (d > 0) throw std::invalid_argument("exp2_neg takes d <= 0");
  const std::int64_t magnitude = -d;
  const std::int64_t n = magnitude >> 16;
  if (n > 17) return 0;
  const std::int64_t f = magnitude & 0xFFFF;
  const auto table = exp2_table();
  const std::int64_t k = f >> 10;
  const std::int64_t r = f & 1023;
  const std::int64_t e = table[k] - (((table[k] - table[k + 1]) * r + 512) >> 10);
  return static_cast<std::uint32_t>(round_shift(e, -static_cast<int>(n)));
}

}  // namespace tp::fx
