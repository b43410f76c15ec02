#include "golden/eval.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "golden/sampler.h"

namespace tp {

namespace {

// log-softmax in double, so the metrics do not add rounding of their own.
std::vector<double> log_probabilities(std::span<const float> logits) {
  double max_logit = logits[0];
  for (const float v : logits) max_logit = std::max(max_logit, static_cast<double>(v));
  double sum = 0;
  for (const float v : logits) sum += std::exp(v - max_logit);
  const double log_sum = std::log(sum) + max_logit;
  std::vector<double> out(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - log_sum;
  return out;
}

}  // namespace

EvalMetrics teacher_forced_compare(Engine& reference, Engine& candidate, std::span<const int> tokens) {
  const int n = static_cast<int>(tokens.size());
  if (n < 2) throw std::invalid_argument("evaluation needs at least 2 tokens");
  if (n - 1 > reference.config().seq_len) {
    throw std::invalid_argument("evaluation sequence of " + std::to_string(n) + " tokens exceeds seq_len + 1 = " +
                                std::to_string(reference.config().seq_len + 1));
  }
  EvalMetrics m;
  double nll_reference = 0, nll_candidate = 0, kl = 0;
  int agree = 0;
  for (int pos = 0; pos + 1 < n; ++pos) {
    const auto ref_logits = reference.forward(tokens[pos], pos);
    const std::vector<float> ref_copy(ref_logits.begin(), ref_logits.end());
    const auto cand_logits = candidate.forward(tokens[pos], pos);
    agree += sample_argmax(ref_copy) == sample_argmax(cand_logits);
    const auto lp = log_probabilities(ref_copy);
    const auto lq = log_probabilities(cand_logits);
    for (std::size_t i = 0; i < lp.size(); ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
    nll_reference -= lp[tokens[pos + 1]];
    nll_candidate -= lq[tokens[pos + 1]];
  }
  m.positions = n - 1;
  m.top1_agreement = static_cast<double>(agree) / m.positions;
  m.mean_kl = kl / m.positions;
  m.ppl_reference = std::exp(nll_reference / m.positions);
  m.ppl_candidate = std::exp(nll_candidate / m.positions);
  return m;
}

}  // namespace tp
