#include "golden/int/calibration.h"

#include <algorithm>

#include "golden/float_model.h"
#include "golden/sampler.h"

namespace tp::fx {

namespace {

class SquareAccumulator final : public ForwardObserver {
 public:
  explicit SquareAccumulator(const ModelConfig& c) {
    stats_.qkv.assign(c.n_layers, Eigen::VectorXf::Zero(c.dim));
    stats_.wo.assign(c.n_layers, Eigen::VectorXf::Zero(c.dim));
    stats_.w13.assign(c.n_layers, Eigen::VectorXf::Zero(c.dim));
    stats_.w2.assign(c.n_layers, Eigen::VectorXf::Zero(c.hidden_dim));
    stats_.classifier = Eigen::VectorXf::Zero(c.dim);
  }

  void matmul_input(MatmulInput site, int layer, const Eigen::VectorXf& x) override {
    sum(site, layer) += x.cwiseAbs2();
  }

  ActivationStats mean(int positions) {
    const float scale = 1.0f / static_cast<float>(positions);
    for (auto* per_layer : {&stats_.qkv, &stats_.wo, &stats_.w13, &stats_.w2}) {
      for (auto& v : *per_layer) v *= scale;
    }
    stats_.classifier *= scale;
    return stats_;
  }

 private:
  Eigen::VectorXf& sum(MatmulInput site, int layer) {
    switch (site) {
      case MatmulInput::kQkv: return stats_.qkv[layer];
      case MatmulInput::kWo: return stats_.wo[layer];
      case MatmulInput::kW13: return stats_.w13[layer];
      case MatmulInput::kW2: return stats_.w2[layer];
      case MatmulInput::kClassifier: return stats_.classifier;
    }
    return stats_.classifier;
  }

  ActivationStats stats_;
};

}  // namespace

ActivationStats calibrate(std::shared_ptr<const Checkpoint> checkpoint, int positions, std::uint64_t seed) {
  const ModelConfig& c = checkpoint->config;
  positions = std::clamp(positions, 1, c.seq_len);
  FloatModel model(checkpoint);
  SquareAccumulator squares(c);
  model.set_observer(&squares);
  Sampler sampler(c.vocab_size, {1.0f, 0.9f, seed});
  int token = 1;
  for (int pos = 0; pos < positions; ++pos) token = sampler.sample(model.forward(token, pos));
  return squares.mean(positions);
}

}  // namespace tp::fx
