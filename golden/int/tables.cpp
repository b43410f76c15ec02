#include "golden/int/tables.h"

#include <cmath>

namespace tp::fx {

namespace {

std::vector<std::int64_t> generate(int count, double (*entry)(int)) {
  std::vector<std::int64_t> values(count);
  for (int k = 0; k < count; ++k) values[k] = std::llround(entry(k));
  return values;
}

const std::vector<std::int64_t>& exp2_values() {
  static const auto values = generate(65, [](int k) { return 65536.0 * std::exp2(-k / 64.0); });
  return values;
}
const std::vector<std::int64_t>& sigmoid_values() {
  static const auto values = generate(65, [](int k) { return 65536.0 / (1.0 + std::exp(-k / 8.0)); });
  return values;
}
const std::vector<std::int64_t>& sine_values() {
  static const auto values = generate(257, [](int k) { return 32768.0 * std::sin(M_PI / 2.0 * k / 256.0); });
  return values;
}
const std::vector<std::int64_t>& rsqrt_seed_values() {
  static const auto values = generate(48, [](int k) { return 32768.0 / std::sqrt((k + 16 + 0.5) / 16.0); });
  return values;
}

}  // namespace

std::span<const std::int64_t> exp2_table() { return exp2_values(); }
std::span<const std::int64_t> sigmoid_table() { return sigmoid_values(); }
std::span<const std::int64_t> sine_table() { return sine_values(); }
std::span<const std::int64_t> rsqrt_seed_table() { return rsqrt_seed_values(); }

std::vector<Table> all_tables() {
  return {
      {"tp_exp2_table", 17, "round(2^16 * 2^(-k/64)), k = 0..64", exp2_values()},
      {"tp_sigmoid_table", 17, "round(2^16 * sigmoid(k/8)), k = 0..64", sigmoid_values()},
      {"tp_sine_table", 17, "round(2^15 * sin(pi/2 * k/256)), k = 0..256", sine_values()},
      {"tp_rsqrt_seed_table", 16, "round(2^15 / sqrt((k + 16.5)/16)), k = 0..47", rsqrt_seed_values()},
  };
}

}  // namespace tp::fx
