// Testbench of rtl/attention/tp_kv_slot_bytes.sv (combinational). Golden
// model: the byte offsets of golden/int/kv_layout.h (tp::fx::KvLayout). Every
// head size 1..64, slot 0..15 and part (scales, K row, V row, none), with
// random rows and codes: the beats it names are the layout's, its strobes
// cover exactly the slot's bytes of that beat, and the data under them is
// what an append writes there (the row, zero from head_size to the pitch).
#include "Vtp_kv_slot_bytes.h"
#include "verilated.h"

#include "golden/int/kv_layout.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <random>

namespace {

using tp::fx::KvLayout;

int log2_pitch(int pitch) {
  int l = 0;
  while ((1 << l) < pitch) ++l;
  return l;
}

TEST(KvSlotBytes, EveryHeadSizeSlotAndPartMatchesTheLayout) {
  VerilatedContext context;
  Vtp_kv_slot_bytes dut(&context);
  std::mt19937_64 rng(17);
  for (int head_size = 1; head_size <= 64; ++head_size) {
    const KvLayout layout(1, 1, head_size);
    for (int slot = 0; slot < 16; ++slot) {
      std::array<uint8_t, 64> k{}, v{};
      for (auto& b : k) b = static_cast<uint8_t>(rng());
      for (auto& b : v) b = static_cast<uint8_t>(rng());
      const auto k_code = static_cast<uint16_t>(rng()), v_code = static_cast<uint16_t>(rng());
      for (unsigned w = 0; w < 16; ++w) {
        uint32_t kw = 0, vw = 0;
        for (unsigned j = 0; j < 4; ++j) {
          kw |= uint32_t{k[4 * w + j]} << (8 * j);
          vw |= uint32_t{v[4 * w + j]} << (8 * j);
        }
        dut.k_row_i[w] = kw;
        dut.v_row_i[w] = vw;
      }
      dut.k_code_i = k_code;
      dut.v_code_i = v_code;
      dut.pl_i = static_cast<uint8_t>(log2_pitch(layout.pitch()));
      dut.hs_i = static_cast<uint8_t>(head_size);
      dut.slot_i = static_cast<uint8_t>(slot);

      // The slot's bytes in its segment: offset -> value.
      std::map<int, uint8_t> bytes = {{KvLayout::key_scale_offset(slot), static_cast<uint8_t>(k_code)},
                                      {KvLayout::key_scale_offset(slot) + 1, static_cast<uint8_t>(k_code >> 8)},
                                      {KvLayout::value_scale_offset(slot), static_cast<uint8_t>(v_code)},
                                      {KvLayout::value_scale_offset(slot) + 1, static_cast<uint8_t>(v_code >> 8)}};
      for (int i = 0; i < layout.pitch(); ++i) {
        bytes[layout.key_offset(slot) + i] = i < head_size ? k[static_cast<size_t>(i)] : 0;
        bytes[layout.value_offset(slot) + i] = i < head_size ? v[static_cast<size_t>(i)] : 0;
      }
      const int beat_of_part[3] = {0, layout.key_offset(slot) / 64, layout.value_offset(slot) / 64};

      for (int part = 0; part < 4; ++part) {
        dut.part_i = static_cast<uint8_t>(part);
        dut.eval();
        const std::string where = "head_size " + std::to_string(head_size) + ", slot " + std::to_string(slot) +
                                  ", part " + std::to_string(part);
        ASSERT_EQ(dut.k_beat_o, beat_of_part[1]) << where;
        ASSERT_EQ(dut.v_beat_o, beat_of_part[2]) << where;
        for (int j = 0; j < 64; ++j) {
          const bool strobe = (dut.strb_o >> j) & 1;
          const auto expected = part < 3 ? bytes.find(beat_of_part[part] * 64 + j) : bytes.end();
          ASSERT_EQ(strobe, expected != bytes.end()) << where << ", byte " << j;
          if (strobe) {
            const auto got = static_cast<uint8_t>(dut.data_o[static_cast<unsigned>(j / 4)] >> (8 * (j % 4)));
            ASSERT_EQ(got, expected->second) << where << ", byte " << j;
          }
        }
      }
    }
  }
}

}  // namespace
