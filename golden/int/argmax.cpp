#include "golden/int/argmax.h"

#include <stdexcept>

namespace tp::fx {

int argmax(std::span<const std::int32_t> logits) {
  if (logits.empty()) throw std::invalid_argument("argmax of an empty vector");
  std::size_t best = 0;
  for (std::size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int>(best);
}

}  // namespace tp::fx
