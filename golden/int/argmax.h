// Greedy token choice on the integer logits (Q16.16), what the accelerator's
// tp_argmax computes: the index of the largest value, the LOWEST index among
// equal maxima (llama2.c's sample_argmax keeps the first maximum: a later
// value replaces the best only when strictly greater).
//
// The golden engine's greedy path (Sampler at temperature 0) runs
// sample_argmax on the float logits float(q / 2^16). That conversion is exact
// and strictly increasing for |q| < 2^24 (logits below 256.0), so the two
// choose the same token there; beyond, distinct integers can round to the same
// float and the float path may pick an earlier, smaller logit.
// golden/tests/argmax_test.cpp pins both facts and checks the real models.
#pragma once

#include <cstdint>
#include <span>

namespace tp::fx {

// Index of the largest value, the lowest one on ties. `logits` is not empty
// (std::invalid_argument otherwise).
int argmax(std::span<const std::int32_t> logits);

}  // namespace tp::fx
