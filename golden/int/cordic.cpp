#include "golden/int/cordic.h"

#include "golden/int/fixed_point.h"

namespace tp::fx {

std::uint32_t cordic_sqrt(std::uint64_t v) {
  if (v == 0) return 0;
  const int j = msb(v) >> 1;
  const std::uint64_t a = v << (62 - 2 * j);
  const std::int64_t w = static_cast<std::int64_t>(a >> (64 - kCordicFrac));
  std::int64_t x = w + (std::int64_t{1} << (kCordicFrac - 2));
  std::int64_t y = w - (std::int64_t{1} << (kCordicFrac - 2));
  for (const int s : cordic_shifts()) {
    const std::int64_t dx = y >> s;  // arithmetic shifts: floor
    const std::int64_t dy = x >> s;
    if (y >= 0) {
      x -= dx;
      y -= dy;
    } else {
      x += dx;
      y += dy;
    }
  }
  const int128 product = static_cast<int128>(x) * static_cast<int128>(kCordicGain);
  const int128 r = round_shift(product, -(kCordicFrac + kCordicGainBits - 1 - j));
  const int128 most = 0xFFFFFFFF;
  return static_cast<std::uint32_t>(r > most ? most : r);
}

}  // namespace tp::fx
