// Activation statistics for activation-aware weight quantization: the mean
// square of every input column of every matrix, measured by running the float
// model on a sequence it samples itself from a fixed seed. The quantizer then
// weights each weight's rounding error by how strongly its column is driven
// (as llama.cpp's importance matrix does). Offline only: the hardware and the
// weight image format are unchanged.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <vector>

#include "golden/checkpoint.h"

namespace tp::fx {

struct ActivationStats {
  std::vector<Eigen::VectorXf> qkv;  // per layer: input of wq, wk, wv [dim]
  std::vector<Eigen::VectorXf> wo;   // per layer: input of wo [dim]
  std::vector<Eigen::VectorXf> w13;  // per layer: input of w1, w3 [dim]
  std::vector<Eigen::VectorXf> w2;   // per layer: input of w2 [hidden_dim]
  Eigen::VectorXf classifier;        // input of the classifier [dim]
};

inline constexpr std::uint64_t kCalibrationSeed = 0xCA11B8A7E;

// Samples `positions` tokens from BOS (temperature 1, top-p 0.9, `seed`;
// a produced BOS does not stop it) and averages x^2 per input column.
ActivationStats calibrate(std::shared_ptr<const Checkpoint> checkpoint, int positions = 128,
                          std::uint64_t seed = kCalibrationSeed);

}  // namespace tp::fx
