// Testbench of rtl/units/tp_quant_divider.sv (default parameters: Lanes 16,
// MagWidth 48, tp_act_quant's divider; built a second time as
// tp_quant_divider_w32 with MagWidth 32, tp_head_quant's, with
// TP_QUANT_DIVIDER_MAG_WIDTH telling the test). Golden model: per lane
// q = tp::fx::div_round_away(127 z, A) for z = +-m, |z| <= A, and 0 for A = 0
// (golden/int/quantize.cpp, quantize_activations). No handshake: the stages
// advance on en_i, so the test drives random enable patterns and checks q_o
// after every edge against the operands of exactly 6 enabled edges before
// (latency 6 enabled edges; q_o holds while en_i is low).
#include "Vtp_quant_divider.h"
#include "common/harness.h"
#include "golden/int/fixed_point.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

namespace {

using tp::tb::Harness;
using tp::tb::HarnessOptions;

#ifndef TP_QUANT_DIVIDER_MAG_WIDTH
#define TP_QUANT_DIVIDER_MAG_WIDTH 48
#endif
constexpr int kLanes = 16;
constexpr int kMagWidth = TP_QUANT_DIVIDER_MAG_WIDTH;
constexpr int kLatency = 6;
constexpr uint64_t kMaxMag = uint64_t{1} << (kMagWidth - 1);  // |most negative value| of a signed kMagWidth input

struct Operands {
  std::array<uint64_t, kLanes> m{};
  std::array<bool, kLanes> neg{};
  uint64_t a = 0;
};
using Quotients = std::array<int8_t, kLanes>;

Quotients golden(const Operands& in) {
  Quotients q{};
  for (int i = 0; i < kLanes; ++i) {
    if (in.a == 0) continue;
    const tp::fx::int128 z = in.neg[i] ? -static_cast<tp::fx::int128>(in.m[i]) : static_cast<tp::fx::int128>(in.m[i]);
    q[i] = static_cast<int8_t>(tp::fx::div_round_away(127 * z, static_cast<tp::fx::int128>(in.a)));
  }
  return q;
}

// Writes a bit field of a Verilator port of 32-bit words (wide or not).
template <class Port>
void put_bits(Port& port, int lo, int width, uint64_t v) {
  if constexpr (requires { port[0]; }) {
    for (int b = 0; b < width; ++b) {
      const int bit = lo + b;
      const uint32_t mask = 1u << (bit % 32);
      if ((v >> b) & 1) port[bit / 32] |= mask;
      else port[bit / 32] &= ~mask;
    }
  } else {
    port = static_cast<Port>(v);
  }
}

struct Bench {
  explicit Bench(HarnessOptions options = {}) : h(options) {}

  void put(bool en, const Operands& in) {
    h->en_i = en;
    for (int i = 0; i < kLanes; ++i) put_bits(h->mag_i, i * kMagWidth, kMagWidth, in.m[i]);
    uint32_t neg = 0;
    for (int i = 0; i < kLanes; ++i) neg |= static_cast<uint32_t>(in.neg[i]) << i;
    h->neg_i = neg;
    h->a_i = in.a;
  }
  Quotients got() {
    Quotients q{};
    for (int i = 0; i < kLanes; ++i) q[i] = static_cast<int8_t>(h->q_o[i / 4] >> ((i % 4) * 8));
    return q;
  }

  // One cycle: operands presented with en; after the edge, q_o must be the
  // golden result of the operands of the 6th enabled edge back (once there
  // were 6), and unchanged while en is low.
  void step(bool en, const Operands& in) {
    put(en, in);
    const Quotients before = got();
    h.tick();
    if (en) expected.push_back(golden(in));
    if (expected.size() > static_cast<size_t>(kLatency)) expected.pop_front();
    if (expected.size() == static_cast<size_t>(kLatency)) {
      ++checked;
      const Quotients q = got();
      for (int i = 0; i < kLanes; ++i) {
        ASSERT_EQ(int{q[i]}, int{expected.front()[i]}) << "lane " << i << " at cycle " << h.cycle();
      }
      if (!en) {
        ASSERT_EQ(q, before) << "q_o changed without en_i at cycle " << h.cycle();
      }
    }
  }

  Harness<Vtp_quant_divider> h;
  std::deque<Quotients> expected;  // results of the last enabled edges, oldest first
  size_t checked = 0;
};

// Random operands: a divisor of random size, magnitudes up to it (the
// divisor itself, zero, halves when the divisor is 254 * 2^s).
Operands random_operands(std::mt19937_64& rng) {
  Operands in;
  const int kind = static_cast<int>(rng() % 8);
  const int bits = static_cast<int>(rng() % kMagWidth);
  in.a = bits == kMagWidth - 1 ? kMaxMag - (rng() % 2) : (uint64_t{1} << bits) + (rng() & ((uint64_t{1} << bits) - 1));
  if (kind == 0) in.a = 0;
  if (kind == 1) in.a = 1;
  const int s = static_cast<int>(rng() % (kMagWidth - 9));
  if (kind == 2) in.a = uint64_t{254} << s;
  for (int i = 0; i < kLanes; ++i) {
    in.neg[i] = (rng() & 1) != 0;
    uint64_t m = in.a == 0 ? 0 : rng() % (in.a + 1);
    if (kind == 2) m = (2 * (rng() % 127) + 1) << s;  // 127 m / A = k + 0.5 exactly
    if (rng() % 8 == 0) m = in.a;
    if (rng() % 16 == 0) m = 0;
    in.m[i] = m;
  }
  return in;
}

TEST(QuantDivider, CornersAtFullRate) {
  Bench b;
  std::vector<Operands> cases;
  for (const uint64_t a : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{127}, uint64_t{254}, uint64_t{255},
                           kMaxMag, kMaxMag - 1, uint64_t{254} << (kMagWidth - 9)}) {
    Operands in;
    in.a = a;
    for (int i = 0; i < kLanes; ++i) {
      in.m[i] = a == 0 ? 0 : (a * static_cast<uint64_t>(i)) / (kLanes - 1);  // 0 .. A
      in.neg[i] = (i % 3) == 1;
    }
    cases.push_back(in);
    for (int i = 0; i < kLanes; ++i) in.m[i] = a;  // |q| = 127 in every lane
    cases.push_back(in);
  }
  for (int k = 0; k < 127; k += kLanes) {  // every half k + 0.5 at A = 254
    Operands in;
    in.a = 254;
    for (int i = 0; i < kLanes; ++i) {
      in.m[i] = static_cast<uint64_t>(2 * std::min(k + i, 126) + 1);
      in.neg[i] = (i & 1) != 0;
    }
    cases.push_back(in);
  }
  for (const Operands& in : cases) b.step(true, in);
  for (int i = 0; i < kLatency; ++i) b.step(true, Operands{});
  EXPECT_EQ(b.checked, cases.size() + 1);
}

TEST(QuantDivider, RandomOperandsFullRate) {
  Bench b;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) b.step(true, random_operands(rng));
  EXPECT_GT(b.checked, 19000u);
}

TEST(QuantDivider, RandomEnablePatternsHoldAndAdvance) {
  // Stalls (en_i low) at random, in runs: every result after exactly 6
  // enabled edges, q_o frozen in between.
  Bench b;
  std::mt19937_64 rng(2);
  for (int i = 0; i < 20000; ++i) {
    const bool en = (rng() % 10) < ((i / 1000) % 2 ? 3u : 8u);
    b.step(en, random_operands(rng));
  }
  EXPECT_GT(b.checked, 5000u);
}

TEST(QuantDivider, IndependentOfTheInitialState) {
  tp::tb::for_each_random_init([](HarnessOptions options) {
    Bench b(options);
    std::mt19937_64 rng(options.random_init_seed);
    for (int i = 0; i < 500; ++i) b.step(rng() % 4 != 0, random_operands(rng));
    EXPECT_GT(b.checked, 300u);
  });
}

}  // namespace
