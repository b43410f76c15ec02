// The KV memory layout: scale codes and the placement of rows and scales in a
// page segment, checked against the definition written out in the header.
#include "golden/int/kv_layout.h"

#include <gtest/gtest.h>

#include <random>

namespace tp::fx {
namespace {

TEST(KvLayout, EveryScaleCodeRoundTrips) {
  for (unsigned code = 0; code <= 0xFFFF; ++code) {
    if (code != 0 && (code >> 10) == 0) {
      EXPECT_THROW(kv_scale_from_code(static_cast<std::uint16_t>(code)), std::invalid_argument);
      continue;
    }
    const ScaleFp scale = kv_scale_from_code(static_cast<std::uint16_t>(code));
    ASSERT_EQ(kv_scale_code(scale), code);
  }
}

TEST(KvLayout, ScaleCodeKeepsTheValue) {
  const ScaleFp scale{1536, -20, false};  // 1.5 * 2^-10
  EXPECT_EQ(kv_scale_from_code(kv_scale_code(scale)).to_double(), scale.to_double());
  EXPECT_EQ(kv_scale_code(ScaleFp{}), 0);
  EXPECT_THROW(kv_scale_code(ScaleFp{1024, 24, false}), std::invalid_argument);   // exponent too large
  EXPECT_THROW(kv_scale_code(ScaleFp{1024, -40, false}), std::invalid_argument);  // exponent too small
  EXPECT_THROW(kv_scale_code(ScaleFp{1024, 0, true}), std::invalid_argument);     // negative
}

TEST(KvLayout, ActivationScalesOfInt32InputsAllHaveCodes) {
  // quantize_q16 of any int32 group: the extremes of the absolute maximum.
  for (const std::int32_t extreme : {1, -1, 127, 65536, INT32_MAX, INT32_MIN}) {
    const std::vector<std::int32_t> x{extreme, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_NO_THROW(kv_scale_code(quantize_q16(x, 8).scales[0])) << extreme;
  }
}

TEST(KvLayout, PitchAndSizes) {
  EXPECT_EQ(KvLayout(5, 4, 8).pitch(), 8);
  EXPECT_EQ(KvLayout(5, 4, 3).pitch(), 8);
  EXPECT_EQ(KvLayout(4, 4, 16).pitch(), 16);
  EXPECT_EQ(KvLayout(6, 6, 48).pitch(), 64);
  const KvLayout stories(5, 4, 8);
  EXPECT_EQ(stories.segment_beats(), 5);
  EXPECT_EQ(stories.segment_bytes(), 320u);
  EXPECT_EQ(stories.page_bytes(), 320u * 20);
  EXPECT_EQ(stories.segment_address(3, 2, 1), 3u * 6400 + (2 * 4 + 1) * 320u);
  EXPECT_EQ(KvLayout(1, 1, 64).segment_beats(), 33);
  EXPECT_THROW(KvLayout(1, 1, 65), std::invalid_argument);
  EXPECT_THROW(KvLayout(1, 1, 0), std::invalid_argument);
  EXPECT_THROW(KvLayout(0, 1, 8), std::invalid_argument);
  EXPECT_THROW(KvLayout(1, 0, 8), std::invalid_argument);
}

TEST(KvLayout, SegmentPlacesEveryRowAndScale) {
  for (const int head_size : {3, 8, 16, 48, 64}) {
    const int kv_heads = 2, seq = 40;
    KvCache cache(seq, kv_heads, head_size);
    std::mt19937 rng(head_size);
    std::uniform_int_distribution<std::int32_t> value(-(1 << 20), 1 << 20);
    for (int pos = 0; pos < seq; ++pos) {
      std::vector<std::int32_t> k(kv_heads * head_size), v(k.size());
      for (auto& x : k) x = value(rng);
      for (auto& x : v) x = value(rng);
      cache.store(pos, k, v);
    }
    const KvLayout layout(3, kv_heads, head_size);
    const int first = 32, count = 8, head = 1;
    const auto beats = kv_segment(layout, cache, head, first, count);
    ASSERT_EQ(static_cast<int>(beats.size()), layout.segment_beats());
    std::vector<std::uint8_t> bytes;
    for (const auto& beat : beats) bytes.insert(bytes.end(), beat.begin(), beat.end());
    const int pitch = layout.pitch();
    for (int slot = 0; slot < 16; ++slot) {
      const bool used = slot < count;
      const auto u16 = [&](int at) { return static_cast<std::uint16_t>(bytes[at] | (bytes[at + 1] << 8)); };
      EXPECT_EQ(u16(2 * slot), used ? kv_scale_code(cache.key_scale(first + slot, head)) : 0);
      EXPECT_EQ(u16(32 + 2 * slot), used ? kv_scale_code(cache.value_scale(first + slot, head)) : 0);
      for (int i = 0; i < pitch; ++i) {
        const auto key = static_cast<std::int8_t>(bytes[64 + slot * pitch + i]);
        const auto val = static_cast<std::int8_t>(bytes[64 + (16 + slot) * pitch + i]);
        EXPECT_EQ(key, used && i < head_size ? cache.key(first + slot, head)[i] : 0);
        EXPECT_EQ(val, used && i < head_size ? cache.value(first + slot, head)[i] : 0);
      }
    }
  }
}

TEST(KvLayout, SegmentRejectsBadCounts) {
  KvCache cache(16, 1, 8);
  const KvLayout layout(1, 1, 8);
  EXPECT_THROW(kv_segment(layout, cache, 0, 0, 0), std::invalid_argument);
  EXPECT_THROW(kv_segment(layout, cache, 0, 0, 17), std::invalid_argument);
  EXPECT_THROW(kv_segment(KvLayout(1, 1, 16), cache, 0, 0, 4), std::invalid_argument);
}

// The golden-only hifi attention has no RTL layout: 16-bit rows and 16-bit
// scale mantissas fit neither the pitch nor the scale code.
TEST(KvLayout, SegmentRefusesCachesOutsideTheRtlFormat) {
  const KvLayout layout(1, 1, 8);
  for (const AttentionPrecision& precision :
       {kHifiAttention, AttentionPrecision{16, 8, 11}, AttentionPrecision{8, 8, 16}}) {
    KvCache cache(16, 1, 8, precision);
    cache.store(0, std::vector<std::int32_t>(8, 70000), std::vector<std::int32_t>(8, -5000));
    EXPECT_THROW(kv_segment(layout, cache, 0, 0, 1), std::invalid_argument);
  }
  KvCache query_only(16, 1, 8, AttentionPrecision{8, 16, 11});  // the cache itself is INT8, but not the RTL's unit
  EXPECT_THROW(kv_segment(layout, query_only, 0, 0, 1), std::invalid_argument);
}

}  // namespace
}  // namespace tp::fx
