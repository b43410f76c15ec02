// tp_exp2: the base-2 exponential of softmax, 2^d for d <= 0.
#pragma once

#include <cstdint>

namespace tp::fx {

// 2^(d * 2^-16) in Q0.16 for d <= 0 (Q16.16): with -d = n * 2^16 + f,
// k = f >> 10, r = f & 1023, e = E[k] - (((E[k] - E[k+1]) * r + 512) >> 10)
// from the 65-entry table, result = round_shift(e, -n) (0 once n > 17).
std::uint32_t exp2_neg(std::int64_t d);

}  // namespace tp::fx
