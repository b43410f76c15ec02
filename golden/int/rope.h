// tp_rope: rotary position embedding on adjacent pairs, sin/cos from a
// quarter-wave table addressed by a 32-bit phase in turns.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tp::fx {

// Phase step of pair i of a head, in turns * 2^32: round(2^32 * f_i / (2 pi))
// with f_i = 10000^(-2i / head_size). Host-computed, head_size / 2 entries.
std::vector<std::uint32_t> rope_phase_steps(int head_size);

// sin(2 pi * phase / 2^32) in Q1.15: quadrant = phase >> 30, u = phase bits
// [29:14] (mirrored to 2^16 - u in quadrants 1 and 3), k = u >> 8, r = u & 255,
// S[k] + (((S[k+1] - S[k]) * r + 128) >> 8), negated in quadrants 2 and 3.
std::int32_t sine(std::uint32_t phase);
std::int32_t cosine(std::uint32_t phase);  // sine(phase + 2^30)

// Rotates pairs (2i, 2i+1) of every head of vec (Q16.16) by phase pos * step_i
// (mod 2^32): a' = round_shift(a*c - b*s, -15), b' = round_shift(a*s + b*c, -15),
// saturated to int32.
void rope(std::span<std::int32_t> vec, int head_size, int pos, std::span<const std::uint32_t> steps);

}  // namespace tp::fx
