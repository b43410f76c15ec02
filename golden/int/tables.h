// The lookup tables of the integer path, generated from one source: the golden
// functions read them from here and the build emits them as $readmemh files for
// the RTL (tools/tp_tables). Each is computed in double and rounded half away.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tp::fx {

struct Table {
  std::string name;         // file stem for the RTL: <name>.mem
  int width;                // bits per entry in the RTL ROM
  std::string description;  // what entry k holds
  std::vector<std::int64_t> entries;
};

// exp2 fraction: round(2^16 * 2^(-k/64)), k = 0..64 (65 entries, 17 bits).
std::span<const std::int64_t> exp2_table();
// Sigmoid breakpoints: round(2^16 * sigmoid(k/8)), k = 0..64 (65 entries, 17 bits).
std::span<const std::int64_t> sigmoid_table();
// Quarter sine: round(2^15 * sin(pi/2 * k/256)), k = 0..256 (257 entries, 17 bits).
std::span<const std::int64_t> sine_table();
// rsqrt seed: round(2^15 / sqrt((k + 0.5) / 16)) for k = 16..63, stored at k - 16 (48 entries).
std::span<const std::int64_t> rsqrt_seed_table();

// Every table, for emission.
std::vector<Table> all_tables();

}  // namespace tp::fx
