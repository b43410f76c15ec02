// tp_silu: SwiGLU's silu(h1) * h3 with a piecewise-linear sigmoid.
#pragma once

#include <cstdint>

namespace tp::fx {

// sigmoid(t * 2^-12) in Q0.16 for t in Q4.12 (all int16: [-8, 8)).
// t >= 0: k = t >> 9, r = t & 511 (segments of 1/8), between table entries
//   A[k] and A[k+1]: A[k] + ((A[k+1] - A[k]) * r + 256) >> 9;
// t < 0: 65536 - sigmoid(-t), the symmetry sigmoid(-x) = 1 - sigmoid(x).
std::uint32_t sigmoid(std::int16_t t);

// h1, h3 and the result in Q16.16:
//   t = round_shift(h1, -4); sigma = 65536 if t > 32767 (h1 >= 8: sigmoid ~ 1),
//   0 if t < -32768 (h1 < -8: sigmoid ~ 0), else sigmoid(t);
//   s = round_shift(h1 * sigma, -16), result = saturate_i32(round_shift(s * h3, -16)).
// Beyond +-8 the error of silu is thus at most 8 * sigmoid(-8) = 0.0027 in
// absolute terms, instead of growing with |h1|.
std::int32_t silu_gate(std::int32_t h1, std::int32_t h3);

}  // namespace tp::fx
