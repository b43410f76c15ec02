// The two output streams of tp_act_quant (also those of tp_rmsnorm, which ends
// in it): int8 value beats of Lanes lanes and one ScaleFp per group. Sinks,
// scoreboards and the golden expectations of one QuantVector, shared by the
// testbenches of both modules.
#pragma once

#include "common/harness.h"
#include "common/scoreboard.h"
#include "common/stream.h"
#include "golden/int/quantize.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <ostream>

namespace tp::tb {

template <int Lanes>
struct QuantValueBeat {
  std::array<int8_t, Lanes> q{};
  bool last = false;
  friend bool operator==(const QuantValueBeat&, const QuantValueBeat&) = default;
  friend std::ostream& operator<<(std::ostream& out, const QuantValueBeat& b) {
    for (int v : b.q) out << v << ' ';
    return out << (b.last ? "(last)" : "");
  }
};

struct QuantScaleBeat {
  uint16_t mantissa = 0;
  int16_t exponent = 0;
  bool last = false;
  friend bool operator==(const QuantScaleBeat&, const QuantScaleBeat&) = default;
  friend std::ostream& operator<<(std::ostream& out, const QuantScaleBeat& s) {
    return out << s.mantissa << "*2^" << s.exponent << (s.last ? " (last)" : "");
  }
};

// Ports val_valid_o, val_ready_i, val_q_o (Lanes x int8), val_last_o and
// scale_valid_o, scale_ready_i, scale_mantissa_o, scale_exponent_o, scale_last_o.
template <class Model, int Lanes>
struct QuantOutputs {
  using ValueBeat = QuantValueBeat<Lanes>;

  QuantOutputs(Harness<Model>& harness, StallGenerator val_stall, StallGenerator scale_stall)
      : h(harness),
        val(
            h, [this](bool ready) { h->val_ready_i = ready; }, [this] { return h->val_valid_o != 0; },
            [this] {
              ValueBeat b;
              for (int i = 0; i < Lanes; ++i) b.q[i] = static_cast<int8_t>(h->val_q_o[i / 4] >> ((i % 4) * 8));
              b.last = h->val_last_o != 0;
              return b;
            },
            val_stall),
        scale(
            h, [this](bool ready) { h->scale_ready_i = ready; }, [this] { return h->scale_valid_o != 0; },
            [this] {
              return QuantScaleBeat{static_cast<uint16_t>(h->scale_mantissa_o),
                                    static_cast<int16_t>(h->scale_exponent_o), h->scale_last_o != 0};
            },
            scale_stall),
        val_board(h, "values"),
        scale_board(h, "scales") {
    val.on_beat([this](const ValueBeat& b, uint64_t cycle) { val_board.observe(b, cycle); });
    scale.on_beat([this](const QuantScaleBeat& s, uint64_t cycle) { scale_board.observe(s, cycle); });
  }

  // Expects the beats of one golden vector; returns its number of value beats.
  size_t expect(const fx::QuantVector& q) {
    const size_t beats = q.values.size() / Lanes;
    for (size_t b = 0; b < beats; ++b) {
      ValueBeat v;
      for (int i = 0; i < Lanes; ++i) v.q[i] = q.values[b * Lanes + i];
      v.last = b + 1 == beats;
      val_board.expect(v);
    }
    for (size_t g = 0; g < q.scales.size(); ++g) {
      scale_board.expect({q.scales[g].mantissa, q.scales[g].exponent, g + 1 == q.scales.size()});
    }
    expected_vals += beats;
    expected_scales += q.scales.size();
    return beats;
  }

  // Runs until every expected beat came out; all must match.
  void run_to_end(uint64_t max_cycles) {
    ASSERT_TRUE(h.run_until(
        [&] { return val_board.checked() == expected_vals && scale_board.checked() == expected_scales; },
        max_cycles, "every value beat and scale"));
    EXPECT_EQ(val_board.mismatched(), 0u);
    EXPECT_EQ(scale_board.mismatched(), 0u);
    EXPECT_EQ(val_board.pending(), 0u);
    EXPECT_EQ(scale_board.pending(), 0u);
  }

  // After run_to_end(): `cycles` more cycles, and no beat beyond the expected.
  void expect_nothing_more(unsigned cycles) {
    h.tick(cycles);
    EXPECT_EQ(val.received(), expected_vals);
    EXPECT_EQ(scale.received(), expected_scales);
  }

  // After Bench::reset(): nothing is expected any more.
  void forget() { expected_vals = expected_scales = 0; }

  // Right after a reset in mid-stream: forgets the expectations, and checks
  // that both outputs are idle and no stale beat comes out for `cycles`.
  void expect_clean_after_reset(unsigned cycles) {
    forget();
    EXPECT_FALSE(h->val_valid_o);
    EXPECT_FALSE(h->scale_valid_o);
    h.tick(cycles);
    EXPECT_EQ(val_board.checked() + scale_board.checked(), 0u) << "stale beat after reset";
  }

  Harness<Model>& h;
  Sink<ValueBeat> val;
  Sink<QuantScaleBeat> scale;
  Scoreboard<ValueBeat> val_board;
  Scoreboard<QuantScaleBeat> scale_board;
  size_t expected_vals = 0;
  size_t expected_scales = 0;
};

}  // namespace tp::tb
