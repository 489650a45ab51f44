#include "server/parquet/encodings.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry::parquet {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Test helpers, written independently of the code under test.

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string Uleb(uint64_t v) {
  std::string s;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v != 0) b |= 0x80;
    s.push_back(static_cast<char>(b));
  } while (v != 0);
  return s;
}

std::string ZigZag(int64_t v) {
  return Uleb((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// LSB-first packing one bit at a time (the hybrid's and delta's order).
std::string PackLsb(const std::vector<uint64_t>& values, int width) {
  std::string out((values.size() * width + 7) / 8, '\0');
  size_t bit = 0;
  for (uint64_t v : values) {
    for (int b = 0; b < width; ++b, ++bit) {
      if ((v >> b) & 1) out[bit / 8] = static_cast<char>(out[bit / 8] | (1 << (bit % 8)));
    }
  }
  return out;
}

uint64_t MaskOf(int width) { return width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1; }

std::vector<uint32_t> RandomValues(size_t n, int width, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> v(n);
  for (auto& x : v) x = static_cast<uint32_t>(rng() & MaskOf(width));
  return v;
}

// Runs of random length (1..20) of random values: exercises RLE, bit-packed
// and the switches between them.
std::vector<uint32_t> RunValues(size_t n, int width, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> v;
  while (v.size() < n) {
    const uint32_t x = static_cast<uint32_t>(rng() & MaskOf(width));
    const size_t len = 1 + rng() % 20;
    for (size_t i = 0; i < len && v.size() < n; ++i) v.push_back(x);
  }
  return v;
}

std::vector<uint32_t> DecodeAll(const std::string& enc, int width, size_t n, absl::Status* st) {
  std::vector<uint32_t> out(n);
  RleBitPackedDecoder d(U8(enc), enc.size(), width);
  *st = d.Decode(out.data(), n);
  return out;
}

// ---------------------------------------------------------------------------
// BitWidthOf

TEST(BitWidthOf, CountsBitsOfTheMaximum) {
  EXPECT_EQ(BitWidthOf(0), 0);
  EXPECT_EQ(BitWidthOf(1), 1);
  EXPECT_EQ(BitWidthOf(2), 2);
  EXPECT_EQ(BitWidthOf(3), 2);
  EXPECT_EQ(BitWidthOf(4), 3);
  EXPECT_EQ(BitWidthOf(255), 8);
  EXPECT_EQ(BitWidthOf(256), 9);
  EXPECT_EQ(BitWidthOf(0xffffffffu), 32);
  EXPECT_EQ(BitWidthOf(uint64_t{1} << 32), 33);
  EXPECT_EQ(BitWidthOf(~uint64_t{0}), 64);
}

// ---------------------------------------------------------------------------
// RLE / bit-packed hybrid: bytes from the spec and by hand

TEST(RleBitPacked, EncodesTheSpecBitPackingExampleByteForByte) {
  // Encodings.md: 0..7 at width 3 pack to 10001000 11000110 11111010.
  const std::vector<uint32_t> values = {0, 1, 2, 3, 4, 5, 6, 7};
  std::string enc;
  EncodeRleBitPacked(values.data(), values.size(), 3, &enc);
  EXPECT_EQ(enc, Bytes({0x03, 0x88, 0xC6, 0xFA}));  // header: 1 group << 1 | 1
  absl::Status st;
  EXPECT_THAT(DecodeAll(enc, 3, 8, &st), ElementsAreArray(values));
  EXPECT_TRUE(st.ok()) << st;
}

TEST(RleBitPacked, EncodesRepeatsAsRleRuns) {
  std::string enc;
  const std::vector<uint32_t> tens(10, 5);
  EncodeRleBitPacked(tens.data(), tens.size(), 3, &enc);
  EXPECT_EQ(enc, Bytes({0x14, 0x05}));  // 10 << 1, one value byte

  enc.clear();
  const std::vector<uint32_t> wide(8, 300);
  EncodeRleBitPacked(wide.data(), wide.size(), 9, &enc);
  EXPECT_EQ(enc, Bytes({0x10, 0x2C, 0x01}));  // value in 2 bytes, little endian

  enc.clear();
  const std::vector<uint32_t> long_run(200, 1);
  EncodeRleBitPacked(long_run.data(), long_run.size(), 1, &enc);
  EXPECT_EQ(enc, Bytes({0x90, 0x03, 0x01}));  // 400 as a two-byte varint

  enc.clear();
  const std::vector<uint32_t> full(8, 0xffffffffu);
  EncodeRleBitPacked(full.data(), full.size(), 32, &enc);
  EXPECT_EQ(enc, Bytes({0x10, 0xff, 0xff, 0xff, 0xff}));
}

TEST(RleBitPacked, EncodesRunThenPaddedLiteralGroup) {
  const std::vector<uint32_t> values = {1, 1, 1, 1, 1, 1, 1, 1, 2, 3};
  std::string enc;
  EncodeRleBitPacked(values.data(), values.size(), 2, &enc);
  // RLE(8 x 1), then one bit-packed group [2, 3, 0 x 6] = 0b00001110, 0.
  EXPECT_EQ(enc, Bytes({0x10, 0x01, 0x03, 0x0E, 0x00}));
}

TEST(RleBitPacked, EncodesShortEqualTailAsRun) {
  const std::vector<uint32_t> values = {7, 7, 7};
  std::string enc;
  EncodeRleBitPacked(values.data(), values.size(), 3, &enc);
  EXPECT_EQ(enc, Bytes({0x06, 0x07}));
}

TEST(RleBitPacked, EncodesNothingForNoValues) {
  std::string enc;
  EncodeRleBitPacked(static_cast<const uint32_t*>(nullptr), 0, 5, &enc);
  EXPECT_TRUE(enc.empty());
}

TEST(RleBitPacked, RunsOnlyStartAtGroupBoundaries) {
  // 3 literals then 20 x 9: the run is found at the next group boundary, as
  // parquet-mr and Arrow do, after one group mixing literals and the run.
  std::vector<uint32_t> values = {1, 2, 3};
  values.insert(values.end(), 20, 9);
  std::string enc;
  EncodeRleBitPacked(values.data(), values.size(), 4, &enc);
  // bit-packed 1 group (4 bytes), RLE of the remaining 15 x 9.
  ASSERT_EQ(enc.size(), 1u + 4u + 2u);
  EXPECT_EQ(static_cast<uint8_t>(enc[0]), 0x03);
  EXPECT_EQ(enc.substr(5), Bytes({15 << 1, 9}));
  absl::Status st;
  EXPECT_THAT(DecodeAll(enc, 4, values.size(), &st), ElementsAreArray(values));
  EXPECT_TRUE(st.ok()) << st;
}

TEST(RleBitPacked, SplitsBitPackedRunsAt63Groups) {
  const auto values = RandomValues(64 * 8, 5, 7);
  std::vector<uint32_t> distinct(values);
  for (size_t i = 0; i < distinct.size(); ++i) distinct[i] = static_cast<uint32_t>(i % 32);
  std::string enc;
  EncodeRleBitPacked(distinct.data(), distinct.size(), 5, &enc);
  ASSERT_EQ(enc.size(), 1 + 63 * 5 + 1 + 5u);
  EXPECT_EQ(static_cast<uint8_t>(enc[0]), (63 << 1) | 1);
  EXPECT_EQ(static_cast<uint8_t>(enc[1 + 63 * 5]), (1 << 1) | 1);
  absl::Status st;
  EXPECT_THAT(DecodeAll(enc, 5, distinct.size(), &st), ElementsAreArray(distinct));
  EXPECT_TRUE(st.ok()) << st;
}

TEST(RleBitPacked, DecodesIndependentlyPackedGroupsAtEveryWidth) {
  for (int width = 0; width <= 32; ++width) {
    SCOPED_TRACE(width);
    std::mt19937_64 rng(width);
    std::vector<uint64_t> values(24);
    for (auto& v : values) v = rng() & MaskOf(width);
    // bit-packed run of 3 groups, then an RLE run of 5 x values[0].
    std::string enc = Uleb((3 << 1) | 1) + PackLsb(values, width) + Uleb(5 << 1);
    for (int b = 0; b < (width + 7) / 8; ++b)
      enc.push_back(static_cast<char>(values[0] >> (8 * b)));
    std::vector<uint32_t> expected(values.begin(), values.end());
    expected.insert(expected.end(), 5, static_cast<uint32_t>(values[0]));

    RleBitPackedDecoder d(U8(enc), enc.size(), width);
    std::vector<uint32_t> out(expected.size());
    ASSERT_TRUE(d.Decode(out.data(), out.size()).ok());
    EXPECT_EQ(out, expected);
    EXPECT_EQ(d.position(), enc.size());
  }
}

TEST(RleBitPacked, MasksRleValuesToTheBitWidth) {
  const std::string enc = Bytes({0x10, 0xFF});
  absl::Status st;
  EXPECT_THAT(DecodeAll(enc, 3, 8, &st), ElementsAreArray(std::vector<uint32_t>(8, 7)));
  EXPECT_TRUE(st.ok()) << st;
}

// ---------------------------------------------------------------------------
// RLE / bit-packed hybrid: round trips

TEST(RleBitPacked, RoundTripsEveryWidthAndLength) {
  const std::vector<size_t> lengths = {0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 504, 505, 1000};
  for (int width = 0; width <= 32; ++width) {
    for (size_t n : lengths) {
      for (int pattern = 0; pattern < 4; ++pattern) {
        SCOPED_TRACE(testing::Message()
                     << "width " << width << " n " << n << " pattern " << pattern);
        std::vector<uint32_t> values;
        switch (pattern) {
          case 0:
            values = RandomValues(n, width, static_cast<uint32_t>(width * 1000 + n));
            break;
          case 1:
            values = RunValues(n, width, static_cast<uint32_t>(width * 1000 + n));
            break;
          case 2:
            values.assign(n, static_cast<uint32_t>(MaskOf(width)));
            break;
          default:
            for (size_t i = 0; i < n; ++i) {
              values.push_back(static_cast<uint32_t>((i / 10) % 2 ? MaskOf(width) : 0));
            }
        }
        std::string enc;
        EncodeRleBitPacked(values.data(), n, width, &enc);
        absl::Status st;
        const auto out = DecodeAll(enc, width, n, &st);
        ASSERT_TRUE(st.ok()) << st;
        ASSERT_EQ(out, values);
      }
    }
  }
}

TEST(RleBitPacked, ContinuesAcrossCallsOfAnySize) {
  for (int width : {1, 3, 8, 13, 32}) {
    const auto values = RunValues(3000, width, 99);
    std::string enc;
    EncodeRleBitPacked(values.data(), values.size(), width, &enc);
    for (size_t step : {1, 3, 7, 8, 9, 64, 100}) {
      SCOPED_TRACE(testing::Message() << "width " << width << " step " << step);
      RleBitPackedDecoder d(U8(enc), enc.size(), width);
      std::vector<uint32_t> out(values.size());
      for (size_t at = 0; at < out.size(); at += step) {
        ASSERT_TRUE(d.Decode(out.data() + at, std::min(step, out.size() - at)).ok());
      }
      EXPECT_EQ(out, values);
      EXPECT_EQ(d.position(), enc.size());
    }
  }
}

TEST(RleBitPacked, RoundTripsLevelsAndBooleans) {
  for (int width = 0; width <= 16; ++width) {
    std::vector<int16_t> levels;
    for (uint32_t v : RunValues(777, width, width)) levels.push_back(static_cast<int16_t>(v));
    std::string enc;
    EncodeRleBitPacked(levels.data(), levels.size(), width, &enc);
    RleBitPackedDecoder d(U8(enc), enc.size(), width);
    std::vector<int16_t> out(levels.size());
    ASSERT_TRUE(d.Decode(out.data(), out.size()).ok());
    EXPECT_EQ(out, levels) << width;
  }
  std::vector<uint8_t> bools;
  for (uint32_t v : RunValues(1001, 1, 5)) bools.push_back(static_cast<uint8_t>(v));
  std::string enc;
  EncodeRleBitPacked(bools.data(), bools.size(), 1, &enc);
  RleBitPackedDecoder d(U8(enc), enc.size(), 1);
  std::vector<uint8_t> out(bools.size());
  ASSERT_TRUE(d.Decode(out.data(), out.size()).ok());
  EXPECT_EQ(out, bools);
}

// ---------------------------------------------------------------------------
// RLE / bit-packed hybrid: bad input

TEST(RleBitPacked, EveryTruncationFailsOrYieldsTheRightValues) {
  for (int width : {1, 2, 5, 8, 17, 32}) {
    for (int pattern = 0; pattern < 2; ++pattern) {
      const auto values = pattern == 0 ? RandomValues(203, width, 3) : RunValues(203, width, 3);
      std::string enc;
      EncodeRleBitPacked(values.data(), values.size(), width, &enc);
      for (size_t cut = 0; cut < enc.size(); ++cut) {
        SCOPED_TRACE(testing::Message() << "width " << width << " cut " << cut);
        const std::string prefix = enc.substr(0, cut);
        absl::Status st;
        // A copy on the heap, so ASan sees any read past the prefix.
        std::vector<uint8_t> heap(prefix.begin(), prefix.end());
        std::vector<uint32_t> out(values.size());
        RleBitPackedDecoder d(heap.data(), heap.size(), width);
        st = d.Decode(out.data(), out.size());
        // Only the zero padding of the last group may be cut.
        if (st.ok()) {
          EXPECT_EQ(out, values);
        } else {
          EXPECT_TRUE(absl::IsDataLoss(st)) << st;
        }
      }
    }
  }
}

TEST(RleBitPacked, RleOnlyTruncationsAlwaysFail) {
  const std::vector<uint32_t> values = {5,   5,   5,   5,   5,   5,   5,   5,  5,
                                        300, 300, 300, 300, 300, 300, 300, 300};
  std::string enc;
  EncodeRleBitPacked(values.data(), values.size(), 9, &enc);
  ASSERT_EQ(enc.size(), 6u);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    absl::Status st;
    DecodeAll(enc.substr(0, cut), 9, values.size(), &st);
    EXPECT_TRUE(absl::IsDataLoss(st)) << cut << " " << st;
  }
}

TEST(RleBitPacked, AcceptsLastBitPackedRunCutAfterItsValues) {
  // 10 values at width 8 take 2 groups (16 bytes); keep only the 10 bytes the
  // values need, as some writers do.
  std::vector<uint32_t> values(10);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint32_t>(i + 100);
  std::string enc;
  EncodeRleBitPacked(values.data(), values.size(), 8, &enc);
  ASSERT_EQ(enc.size(), 17u);
  enc.resize(11);
  absl::Status st;
  EXPECT_THAT(DecodeAll(enc, 8, 10, &st), ElementsAreArray(values));
  EXPECT_TRUE(st.ok()) << st;
  DecodeAll(enc, 8, 11, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("missing"));
}

TEST(RleBitPacked, RejectsMalformedHeaders) {
  absl::Status st;
  // A varint longer than 32 bits.
  DecodeAll(Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), 1, 1, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("byte 0"));
  // An empty RLE run and an empty bit-packed run.
  DecodeAll(Bytes({0x00, 0x01}), 1, 1, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  DecodeAll(Bytes({0x01}), 1, 1, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  // A valid run followed by garbage names the second header's offset.
  DecodeAll(Bytes({0x02, 0x01, 0x80}), 1, 2, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("byte 2"));
  // Data that simply ends.
  DecodeAll(Bytes({0x02, 0x01}), 1, 2, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  DecodeAll("", 1, 1, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
}

TEST(RleBitPacked, HugeRunCountsNeitherAllocateNorOverread) {
  // RLE run of 2^31 - 1 values: decoding a few is fine.
  const std::string rle = Uleb(((uint64_t{1} << 31) - 1) << 1) + Bytes({0x01});
  absl::Status st;
  EXPECT_THAT(DecodeAll(rle, 1, 5, &st), ElementsAre(1, 1, 1, 1, 1));
  EXPECT_TRUE(st.ok()) << st;
  // Bit-packed run claiming 2^31 - 1 groups over 2 bytes: 16 values exist.
  const std::string packed = Uleb((((uint64_t{1} << 31) - 1) << 1) | 1) + Bytes({0xff, 0xff});
  DecodeAll(packed, 1, 16, &st);
  EXPECT_TRUE(st.ok()) << st;
  DecodeAll(packed, 1, 17, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
}

TEST(RleBitPacked, ErrorsAreSticky) {
  const std::string enc = Bytes({0x04, 0x01});  // 2 x 1
  RleBitPackedDecoder d(U8(enc), enc.size(), 1);
  uint32_t out[4];
  EXPECT_TRUE(absl::IsDataLoss(d.Decode(out, 3)));
  EXPECT_TRUE(absl::IsDataLoss(d.Decode(out, 1)));
}

TEST(RleBitPacked, RejectsBitWidthsTheOutputCannotHold) {
  const std::string enc = Bytes({0x02, 0x00, 0x00, 0x00, 0x00, 0x00});
  int16_t levels[1];
  uint8_t bools[1];
  uint32_t ints[1];
  EXPECT_TRUE(
      absl::IsInvalidArgument(RleBitPackedDecoder(U8(enc), enc.size(), 17).Decode(levels, 1)));
  EXPECT_TRUE(
      absl::IsInvalidArgument(RleBitPackedDecoder(U8(enc), enc.size(), 9).Decode(bools, 1)));
  EXPECT_TRUE(
      absl::IsInvalidArgument(RleBitPackedDecoder(U8(enc), enc.size(), 33).Decode(ints, 1)));
  EXPECT_TRUE(
      absl::IsInvalidArgument(RleBitPackedDecoder(U8(enc), enc.size(), -1).Decode(ints, 1)));
  EXPECT_TRUE(RleBitPackedDecoder(U8(enc), enc.size(), 32).Decode(ints, 1).ok());
}

TEST(RleBitPacked, ZeroWidthStreamsMayOmitTheirRuns) {
  // Some writers emit no runs for a one-entry dictionary's indices.
  RleBitPackedDecoder empty(nullptr, 0, 0);
  std::vector<uint32_t> out(5, 9);
  ASSERT_TRUE(empty.Decode(out.data(), out.size()).ok());
  EXPECT_THAT(out, ElementsAre(0, 0, 0, 0, 0));
  // A run that ends early is padded the same way; other widths still fail.
  const std::string run = Bytes({0x04});
  RleBitPackedDecoder short_run(U8(run), run.size(), 0);
  ASSERT_TRUE(short_run.Decode(out.data(), out.size()).ok());
  EXPECT_THAT(out, ElementsAre(0, 0, 0, 0, 0));
  RleBitPackedDecoder one_bit(nullptr, 0, 1);
  EXPECT_TRUE(absl::IsDataLoss(one_bit.Decode(out.data(), 1)));
}

TEST(RleBitPacked, DecodesZeroValuesFromNothing) {
  RleBitPackedDecoder d(nullptr, 0, 3);
  EXPECT_TRUE(d.Decode(static_cast<uint32_t*>(nullptr), 0).ok());
  EXPECT_EQ(d.position(), 0u);
}

// ---------------------------------------------------------------------------
// BIT_PACKED (deprecated)

TEST(BitPackedLegacy, DecodesTheSpecExampleMsbFirst) {
  // Encodings.md: 0..7 at width 3 pack to 00000101 00111001 01110111.
  const std::string enc = Bytes({0x05, 0x39, 0x77});
  int16_t out[8];
  size_t consumed = 0;
  ASSERT_TRUE(DecodeBitPackedLegacy(U8(enc), enc.size(), 3, 8, out, &consumed).ok());
  EXPECT_THAT(out, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_EQ(consumed, 3u);
}

TEST(BitPackedLegacy, ConsumesWholeBytesAndChecksSize) {
  // 30 values at width 2: 60 bits, 8 bytes (the spec's example).
  std::string enc(8, '\0');
  std::vector<int16_t> expected(30);
  size_t bit = 0;
  for (size_t i = 0; i < 30; ++i) {
    expected[i] = static_cast<int16_t>(i % 4);
    for (int b = 1; b >= 0; --b, ++bit) {
      if ((expected[i] >> b) & 1)
        enc[bit / 8] = static_cast<char>(enc[bit / 8] | (0x80 >> (bit % 8)));
    }
  }
  std::vector<int16_t> out(30);
  size_t consumed = 0;
  ASSERT_TRUE(DecodeBitPackedLegacy(U8(enc), enc.size(), 2, 30, out.data(), &consumed).ok());
  EXPECT_EQ(out, expected);
  EXPECT_EQ(consumed, 8u);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    std::vector<uint8_t> heap(enc.begin(), enc.begin() + cut);
    EXPECT_TRUE(absl::IsDataLoss(
        DecodeBitPackedLegacy(heap.data(), heap.size(), 2, 30, out.data(), &consumed)));
  }
}

TEST(BitPackedLegacy, HandlesWidths0To16) {
  for (int width = 0; width <= 16; ++width) {
    std::mt19937 rng(width);
    std::vector<int16_t> expected(37);
    std::string enc((37 * width + 7) / 8, '\0');
    size_t bit = 0;
    for (auto& v : expected) {
      v = static_cast<int16_t>(rng() & MaskOf(width));
      for (int b = width - 1; b >= 0; --b, ++bit) {
        if ((v >> b) & 1) enc[bit / 8] = static_cast<char>(enc[bit / 8] | (0x80 >> (bit % 8)));
      }
    }
    std::vector<uint8_t> heap(enc.begin(), enc.end());
    std::vector<int16_t> out(37);
    size_t consumed = 99;
    ASSERT_TRUE(
        DecodeBitPackedLegacy(heap.data(), heap.size(), width, 37, out.data(), &consumed).ok());
    EXPECT_EQ(out, expected) << width;
    EXPECT_EQ(consumed, enc.size());
  }
  int16_t out[1];
  size_t consumed = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeBitPackedLegacy(nullptr, 0, 17, 1, out, &consumed)));
  EXPECT_TRUE(absl::IsDataLoss(
      DecodeBitPackedLegacy(nullptr, 0, 1, std::numeric_limits<size_t>::max(), out, &consumed)));
}

// ---------------------------------------------------------------------------
// DELTA_BINARY_PACKED

// A reference encoder for any block shape, bit by bit, in 64-bit arithmetic
// truncated to `bits` (32 for INT32), so decoders can be checked against
// layouts Pantry's encoder does not write.
std::string RefDelta(const std::vector<int64_t>& values, uint64_t block, uint64_t miniblocks,
                     int bits = 64, uint8_t unused_width = 0) {
  const uint64_t mask = MaskOf(bits);
  const uint64_t per_mb = block / miniblocks;
  std::string out =
      Uleb(block) + Uleb(miniblocks) + Uleb(values.size()) + ZigZag(values.empty() ? 0 : values[0]);
  for (size_t start = 1; start < values.size(); start += block) {
    const size_t count = std::min<size_t>(block, values.size() - start);
    std::vector<uint64_t> deltas(count);
    for (size_t i = 0; i < count; ++i) {
      deltas[i] = (static_cast<uint64_t>(values[start + i]) -
                   static_cast<uint64_t>(values[start + i - 1])) &
                  mask;
    }
    // The min as a signed value of `bits` bits.
    auto as_signed = [&](uint64_t d) {
      if (bits == 64) return static_cast<int64_t>(d);
      return static_cast<int64_t>(d << (64 - bits)) >> (64 - bits);
    };
    int64_t min = as_signed(deltas[0]);
    for (uint64_t d : deltas) min = std::min(min, as_signed(d));
    for (auto& d : deltas) d = (d - static_cast<uint64_t>(min)) & mask;
    out += ZigZag(min);
    std::string widths, data;
    for (uint64_t mb = 0; mb < miniblocks; ++mb) {
      const size_t first = mb * per_mb;
      if (first >= count) {
        widths.push_back(static_cast<char>(unused_width));
        continue;
      }
      std::vector<uint64_t> chunk(per_mb, 0);
      uint64_t max = 0;
      for (size_t i = 0; i < per_mb && first + i < count; ++i) {
        chunk[i] = deltas[first + i];
        max = std::max(max, chunk[i]);
      }
      const int w = BitWidthOf(max);
      widths.push_back(static_cast<char>(w));
      data += PackLsb(chunk, w);
    }
    out += widths + data;
  }
  return out;
}

template <typename T>
std::vector<T> DecodeDelta(const std::string& enc, size_t n, absl::Status* st,
                           size_t* consumed = nullptr) {
  std::vector<uint8_t> heap(enc.begin(), enc.end());
  std::vector<T> out(n);
  size_t used = 0;
  *st = DecodeDeltaBinaryPacked(heap.data(), heap.size(), n, out.data(), &used);
  if (consumed != nullptr) *consumed = used;
  return out;
}

TEST(DeltaBinaryPacked, EncodesSpecExample1ByteForByte) {
  const std::vector<int64_t> values = {1, 2, 3, 4, 5};
  std::string enc;
  EncodeDeltaBinaryPacked(values.data(), values.size(), &enc);
  // header 128, 4, 5, zigzag(1); block: zigzag(min delta 1), widths 0 0 0 0.
  EXPECT_EQ(enc, Bytes({0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00}));
  absl::Status st;
  size_t consumed = 0;
  EXPECT_THAT(DecodeDelta<int64_t>(enc, 5, &st, &consumed), ElementsAreArray(values));
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(consumed, enc.size());
}

TEST(DeltaBinaryPacked, EncodesSpecExample2ByteForByte) {
  const std::vector<int32_t> values = {7, 5, 3, 1, 2, 3, 4, 5};
  std::string enc;
  EncodeDeltaBinaryPacked(values.data(), values.size(), &enc);
  // Relative deltas 0,0,0,3,3,3,3 at width 2 in a 32-value miniblock.
  EXPECT_EQ(enc, Bytes({0x80, 0x01, 0x04, 0x08, 0x0E,  // header
                        0x03, 0x02, 0x00, 0x00, 0x00,  // min delta -2, widths
                        0xC0, 0x3F, 0, 0, 0, 0, 0, 0}));
  absl::Status st;
  size_t consumed = 0;
  EXPECT_THAT(DecodeDelta<int32_t>(enc, 8, &st, &consumed), ElementsAreArray(values));
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(consumed, enc.size());
}

TEST(DeltaBinaryPacked, RejectsTheSpecExamplesBlockSizeOf8) {
  // The spec's examples use block size 8 "to keep the examples short", which
  // it calls invalid.
  const std::string enc = Bytes({0x08, 0x01, 0x05, 0x02, 0x02, 0x00});
  absl::Status st;
  DecodeDelta<int32_t>(enc, 5, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("block size 8"));
}

TEST(DeltaBinaryPacked, RoundTripsManyLengthsAndShapes) {
  const std::vector<size_t> lengths = {0, 1, 2, 7, 31, 32, 33, 127, 128, 129, 130, 257, 1000};
  for (size_t n : lengths) {
    for (int shape = 0; shape < 5; ++shape) {
      SCOPED_TRACE(testing::Message() << "n " << n << " shape " << shape);
      std::mt19937_64 rng(n * 10 + shape);
      std::vector<int64_t> v64(n);
      for (size_t i = 0; i < n; ++i) {
        switch (shape) {
          case 0:
            v64[i] = static_cast<int64_t>(rng());
            break;
          case 1:
            v64[i] = 1'700'000'000'000 + static_cast<int64_t>(i) * 1000 + rng() % 7;
            break;
          case 2:
            v64[i] = 42;
            break;
          case 3:
            v64[i] = -static_cast<int64_t>(i) * 3;
            break;
          default:
            v64[i] = static_cast<int64_t>(rng() % 1000) - 500;
        }
      }
      std::string enc;
      EncodeDeltaBinaryPacked(v64.data(), n, &enc);
      EXPECT_EQ(enc, RefDelta(v64, 128, 4));
      absl::Status st;
      size_t consumed = 0;
      EXPECT_EQ(DecodeDelta<int64_t>(enc, n, &st, &consumed), v64);
      EXPECT_TRUE(st.ok()) << st;
      EXPECT_EQ(consumed, enc.size());

      std::vector<int32_t> v32(n);
      for (size_t i = 0; i < n; ++i) v32[i] = static_cast<int32_t>(v64[i]);
      enc.clear();
      EncodeDeltaBinaryPacked(v32.data(), n, &enc);
      EXPECT_EQ(DecodeDelta<int32_t>(enc, n, &st, &consumed), v32);
      EXPECT_TRUE(st.ok()) << st;
      EXPECT_EQ(consumed, enc.size());
    }
  }
}

TEST(DeltaBinaryPacked, RoundTripsInt64Extremes) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> values;
  for (int i = 0; i < 300; ++i) values.push_back(i % 2 ? kMax : kMin);
  for (int i = 0; i < 300; ++i) values.push_back(i % 2 ? kMax : 0);
  for (int i = 0; i < 300; ++i) values.push_back(i % 3 == 0 ? kMin : i % 3 == 1 ? -1 : kMax);
  std::string enc;
  EncodeDeltaBinaryPacked(values.data(), values.size(), &enc);
  EXPECT_EQ(enc, RefDelta(values, 128, 4));
  absl::Status st;
  EXPECT_EQ(DecodeDelta<int64_t>(enc, values.size(), &st), values);
  EXPECT_TRUE(st.ok()) << st;
}

TEST(DeltaBinaryPacked, UsesAll64BitsWhenDeltasSpanTheRange) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<int64_t> values = {0, kMax, 0};
  // Deltas kMax and -kMax: min -kMax, relative 2^64 - 2 and 0.
  std::vector<uint64_t> rel(32, 0);
  rel[0] = ~uint64_t{0} - 1;
  const std::string expected = Uleb(128) + Uleb(4) + Uleb(3) + ZigZag(0) + ZigZag(-kMax) +
                               Bytes({64, 0, 0, 0}) + PackLsb(rel, 64);
  std::string enc;
  EncodeDeltaBinaryPacked(values.data(), values.size(), &enc);
  EXPECT_EQ(enc, expected);
  absl::Status st;
  EXPECT_EQ(DecodeDelta<int64_t>(enc, 3, &st), values);
  EXPECT_TRUE(st.ok()) << st;
}

TEST(DeltaBinaryPacked, RoundTripsInt32ExtremesWithin32Bits) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  std::vector<int32_t> values;
  for (int i = 0; i < 300; ++i) values.push_back(i % 2 ? kMax : kMin);
  for (int i = 0; i < 300; ++i) values.push_back(i % 2 ? kMax : 0);
  for (int i = 0; i < 300; ++i) values.push_back(i % 3 == 0 ? kMin : i % 3 == 1 ? -1 : kMax);
  std::string enc;
  EncodeDeltaBinaryPacked(values.data(), values.size(), &enc);
  // Same bytes as deltas taken in 32-bit arithmetic: no width above 32.
  EXPECT_EQ(enc, RefDelta(std::vector<int64_t>(values.begin(), values.end()), 128, 4, 32));
  absl::Status st;
  EXPECT_EQ(DecodeDelta<int32_t>(enc, values.size(), &st), values);
  EXPECT_TRUE(st.ok()) << st;
  // Alternating 0 and INT32_MAX needs exactly 32 bits.
  const std::vector<int32_t> wide = {0, kMax, 0};
  enc.clear();
  EncodeDeltaBinaryPacked(wide.data(), wide.size(), &enc);
  EXPECT_EQ(static_cast<uint8_t>(enc[5 + 5]), 32);  // header 5 bytes, min delta 5 bytes
  EXPECT_EQ(DecodeDelta<int32_t>(enc, 3, &st), wide);
  EXPECT_TRUE(st.ok()) << st;
}

TEST(DeltaBinaryPacked, Int32FromAWriterWorkingIn64Bits) {
  // A writer that took deltas in 64 bits writes min delta -(2^32 - 1) and
  // relative deltas truncated to 32 bits; the values still come out.
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  const int64_t min_delta = -(int64_t{1} << 32) + 1;
  std::vector<uint64_t> rel(32, 0);
  rel[0] = 0xfffffffe;  // (2^32 - 1) - min_delta, truncated
  rel[1] = 0;
  const std::string enc = Uleb(128) + Uleb(4) + Uleb(3) + ZigZag(kMin) + ZigZag(min_delta) +
                          Bytes({32, 0, 0, 0}) + PackLsb(rel, 32);
  absl::Status st;
  EXPECT_THAT(DecodeDelta<int32_t>(enc, 3, &st), ElementsAre(kMin, kMax, kMin));
  EXPECT_TRUE(st.ok()) << st;
  // The same layout from the reference encoder in 32-bit arithmetic.
  const std::vector<int64_t> values = {kMin, kMax, kMin, kMax, 0};
  EXPECT_THAT(DecodeDelta<int32_t>(RefDelta(values, 128, 4, 32), 5, &st),
              ElementsAre(kMin, kMax, kMin, kMax, 0));
  EXPECT_TRUE(st.ok()) << st;
}

TEST(DeltaBinaryPacked, DecodesMiniblocksOfEveryWidth) {
  for (int width = 0; width <= 64; ++width) {
    SCOPED_TRACE(width);
    std::mt19937_64 rng(width);
    // 100 values: first value, then 99 deltas over 4 miniblocks of 32 (the
    // last one partial), all at `width` bits, min delta 5.
    std::vector<uint64_t> rel(128, 0);
    for (size_t i = 0; i < 99; ++i) rel[i] = rng() & MaskOf(width);
    std::string enc = Uleb(128) + Uleb(4) + Uleb(100) + ZigZag(-7) + ZigZag(5) +
                      std::string(4, static_cast<char>(width));
    for (int mb = 0; mb < 4; ++mb) {
      enc +=
          PackLsb(std::vector<uint64_t>(rel.begin() + mb * 32, rel.begin() + mb * 32 + 32), width);
    }
    std::vector<int64_t> expected = {-7};
    for (size_t i = 0; i < 99; ++i) {
      expected.push_back(static_cast<int64_t>(static_cast<uint64_t>(expected.back()) + 5 + rel[i]));
    }
    absl::Status st;
    size_t consumed = 0;
    EXPECT_EQ(DecodeDelta<int64_t>(enc, 100, &st, &consumed), expected);
    EXPECT_TRUE(st.ok()) << st;
    EXPECT_EQ(consumed, enc.size());
    if (width <= 32) {
      std::vector<int32_t> expected32(expected.begin(), expected.end());
      for (size_t i = 0; i < expected.size(); ++i) {
        expected32[i] = static_cast<int32_t>(static_cast<uint32_t>(expected[i]));
      }
      EXPECT_EQ(DecodeDelta<int32_t>(enc, 100, &st), expected32);
      EXPECT_TRUE(st.ok()) << st;
    }
  }
}

TEST(DeltaBinaryPacked, DecodesOtherBlockShapes) {
  std::mt19937_64 rng(11);
  std::vector<int64_t> values(5000);
  for (auto& v : values) v = static_cast<int64_t>(rng() % 100000);
  for (auto [block, mbs] : std::vector<std::pair<uint64_t, uint64_t>>{
           {128, 1}, {128, 4}, {256, 8}, {256, 2}, {1024, 8}, {2048, 8}}) {
    SCOPED_TRACE(testing::Message() << block << "/" << mbs);
    const std::string enc = RefDelta(values, block, mbs);
    absl::Status st;
    size_t consumed = 0;
    EXPECT_EQ(DecodeDelta<int64_t>(enc, values.size(), &st, &consumed), values);
    EXPECT_TRUE(st.ok()) << st;
    EXPECT_EQ(consumed, enc.size());
  }
}

TEST(DeltaBinaryPacked, IgnoresUnusedMiniblockWidthsAndPaddingBits) {
  std::vector<int64_t> values(40);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int64_t>(i * i);
  // Garbage widths for the two unused miniblocks of the last block.
  std::string enc = RefDelta(values, 128, 4, 64, 0xEE);
  absl::Status st;
  size_t consumed = 0;
  EXPECT_EQ(DecodeDelta<int64_t>(enc, values.size(), &st, &consumed), values);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(consumed, enc.size());
  // Ones in the padding of the last used miniblock.
  enc.back() = static_cast<char>(0xff);
  EXPECT_EQ(DecodeDelta<int64_t>(enc, values.size(), &st), values);
  EXPECT_TRUE(st.ok()) << st;
}

TEST(DeltaBinaryPacked, HandlesEmptyStreams) {
  std::string enc;
  EncodeDeltaBinaryPacked(static_cast<const int64_t*>(nullptr), 0, &enc);
  EXPECT_EQ(enc, Bytes({0x80, 0x01, 0x04, 0x00, 0x00}));
  absl::Status st;
  size_t consumed = 0;
  DecodeDelta<int64_t>(enc, 0, &st, &consumed);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(consumed, 5u);
  int64_t out[1];
  EXPECT_TRUE(DecodeDeltaBinaryPacked(nullptr, 0, 0, out, &consumed).ok());
  EXPECT_EQ(consumed, 0u);
  DecodeDelta<int64_t>(enc, 1, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
}

TEST(DeltaBinaryPacked, DecodesAPrefixAndReportsTheWholeStream) {
  std::vector<int64_t> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int64_t>(i * 7 % 13);
  std::string enc;
  EncodeDeltaBinaryPacked(values.data(), values.size(), &enc);
  enc += "trailing section";
  absl::Status st;
  size_t consumed = 0;
  const auto out = DecodeDelta<int64_t>(enc, 10, &st, &consumed);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(out, std::vector<int64_t>(values.begin(), values.begin() + 10));
  EXPECT_EQ(consumed, enc.size() - 16);
  DecodeDelta<int64_t>(enc, 1001, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
}

TEST(DeltaBinaryPacked, EveryTruncationFails) {
  std::mt19937_64 rng(5);
  std::vector<int64_t> values(300);
  for (auto& v : values) v = static_cast<int64_t>(rng() % 100000);
  std::string enc;
  EncodeDeltaBinaryPacked(values.data(), values.size(), &enc);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    absl::Status st;
    DecodeDelta<int64_t>(enc.substr(0, cut), values.size(), &st);
    EXPECT_TRUE(absl::IsDataLoss(st)) << cut << " " << st;
    // Decoding fewer values still needs the whole stream to find its end.
    DecodeDelta<int64_t>(enc.substr(0, cut), 1, &st);
    EXPECT_TRUE(absl::IsDataLoss(st)) << cut << " " << st;
  }
}

TEST(DeltaBinaryPacked, RejectsBadHeadersAndWidths) {
  const auto bad = [](const std::string& enc, size_t n = 1) {
    absl::Status st;
    DecodeDelta<int64_t>(enc, n, &st);
    return absl::IsDataLoss(st);
  };
  EXPECT_TRUE(bad(Uleb(0) + Uleb(4) + Uleb(1) + ZigZag(0)));
  EXPECT_TRUE(bad(Uleb(64) + Uleb(2) + Uleb(1) + ZigZag(0)));
  EXPECT_TRUE(bad(Uleb(129) + Uleb(1) + Uleb(1) + ZigZag(0)));
  EXPECT_TRUE(bad(Uleb(128) + Uleb(0) + Uleb(1) + ZigZag(0)));
  EXPECT_TRUE(bad(Uleb(128) + Uleb(3) + Uleb(1) + ZigZag(0)));
  EXPECT_TRUE(bad(Uleb(128) + Uleb(8) + Uleb(1) + ZigZag(0)));  // 16-value miniblocks
  EXPECT_TRUE(bad(Uleb(uint64_t{1} << 40) + Uleb(4) + Uleb(1) + ZigZag(0)));
  EXPECT_TRUE(bad(Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})));
  EXPECT_FALSE(bad(Uleb(256) + Uleb(8) + Uleb(1) + ZigZag(0)));
  // A huge value count over a few blocks fails at the end of the data.
  EXPECT_TRUE(bad(Uleb(128) + Uleb(4) + Uleb(uint64_t{1} << 62) + ZigZag(0) +
                  Bytes({0x00, 0, 0, 0, 0, 0x00, 0, 0, 0, 0})));
  // Widths beyond the type.
  const std::string w33 = Uleb(128) + Uleb(4) + Uleb(2) + ZigZag(0) + ZigZag(0) +
                          Bytes({33, 0, 0, 0}) + std::string(32 * 33 / 8, '\0');
  absl::Status st;
  // INT32 streams with 33-bit miniblocks (deltas computed in 64 bits, as
  // DuckDB writes them) decode in 64 bits and truncate.
  DecodeDelta<int32_t>(w33, 2, &st);
  EXPECT_TRUE(st.ok()) << st;
  DecodeDelta<int64_t>(w33, 2, &st);
  EXPECT_TRUE(st.ok()) << st;
  const std::string w65 = Uleb(128) + Uleb(4) + Uleb(2) + ZigZag(0) + ZigZag(0) +
                          Bytes({65, 0, 0, 0}) + std::string(32 * 65 / 8, '\0');
  DecodeDelta<int64_t>(w65, 2, &st);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
}

// ---------------------------------------------------------------------------
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY

ByteArrays Arrays(const std::vector<std::string>& values) {
  ByteArrays a;
  for (const auto& v : values) a.Append(v);
  return a;
}

std::vector<std::string> Strings(const ByteArrays& a) {
  std::vector<std::string> out;
  for (size_t i = 0; i < a.size(); ++i) out.emplace_back(a.Get(i));
  return out;
}

std::string DeltaInt32(const std::vector<int32_t>& v) {
  std::string s;
  EncodeDeltaBinaryPacked(v.data(), v.size(), &s);
  return s;
}

std::vector<std::string> RandomStrings(size_t n, uint32_t seed, bool sorted) {
  std::mt19937 rng(seed);
  std::vector<std::string> out(n);
  for (auto& s : out) {
    const size_t len = rng() % 3 == 0 ? 0 : rng() % 40;
    for (size_t i = 0; i < len; ++i) s.push_back(static_cast<char>('a' + rng() % 4));
  }
  if (sorted) std::sort(out.begin(), out.end());
  return out;
}

TEST(DeltaLengthByteArray, EncodesTheSpecExample) {
  const std::vector<std::string> values = {"Hello", "World", "Foobar", "ABCDEF"};
  std::string enc;
  EncodeDeltaLengthByteArray(Arrays(values), &enc);
  EXPECT_EQ(enc, DeltaInt32({5, 5, 6, 6}) + "HelloWorldFoobarABCDEF");
  ByteArrays out;
  ASSERT_TRUE(DecodeDeltaLengthByteArray(U8(enc), enc.size(), 4, &out).ok());
  EXPECT_EQ(Strings(out), values);
}

TEST(DeltaLengthByteArray, RoundTripsAndAppends) {
  for (size_t n : {0, 1, 7, 128, 129, 1000}) {
    const auto values = RandomStrings(n, static_cast<uint32_t>(n), false);
    std::string enc;
    EncodeDeltaLengthByteArray(Arrays(values), &enc);
    ByteArrays out = Arrays({"already", "there"});
    ASSERT_TRUE(DecodeDeltaLengthByteArray(U8(enc), enc.size(), n, &out).ok()) << n;
    auto expected = values;
    expected.insert(expected.begin(), {"already", "there"});
    EXPECT_EQ(Strings(out), expected);
  }
  ByteArrays out;
  EXPECT_TRUE(DecodeDeltaLengthByteArray(nullptr, 0, 0, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(DeltaLengthByteArray, RejectsBadLengths) {
  ByteArrays out = Arrays({"keep"});
  std::string neg = DeltaInt32({3, -1}) + "abc";
  EXPECT_TRUE(absl::IsDataLoss(DecodeDeltaLengthByteArray(U8(neg), neg.size(), 2, &out)));
  std::string over = DeltaInt32({3, 4}) + "abcdef";
  const absl::Status st = DecodeDeltaLengthByteArray(U8(over), over.size(), 2, &out);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("lengths sum to 7"));
  std::string fewer = DeltaInt32({3}) + "abc";
  EXPECT_TRUE(absl::IsDataLoss(DecodeDeltaLengthByteArray(U8(fewer), fewer.size(), 2, &out)));
  EXPECT_THAT(Strings(out), ElementsAre("keep"));
}

TEST(DeltaLengthByteArray, EveryTruncationFails) {
  const auto values = RandomStrings(200, 3, false);
  std::string enc;
  EncodeDeltaLengthByteArray(Arrays(values), &enc);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    std::vector<uint8_t> heap(enc.begin(), enc.begin() + cut);
    ByteArrays out;
    EXPECT_TRUE(absl::IsDataLoss(DecodeDeltaLengthByteArray(heap.data(), heap.size(), 200, &out)))
        << cut;
    EXPECT_TRUE(out.empty());
  }
}

TEST(DeltaLengthByteArray, HugeCountsFailWithoutAllocating) {
  // Header claims 2^40 values; the caller asks for as many.
  const std::string enc = Uleb(128) + Uleb(4) + Uleb(uint64_t{1} << 40) + ZigZag(0);
  ByteArrays out;
  EXPECT_TRUE(
      absl::IsDataLoss(DecodeDeltaLengthByteArray(U8(enc), enc.size(), size_t{1} << 40, &out)));
}

TEST(DeltaByteArray, EncodesTheSpecExample) {
  const std::vector<std::string> values = {"axis", "axle", "babble", "babyhood"};
  std::string enc;
  EncodeDeltaByteArray(Arrays(values), &enc);
  EXPECT_EQ(enc, DeltaInt32({0, 2, 0, 3}) + DeltaInt32({4, 2, 6, 5}) + "axislebabbleyhood");
  ByteArrays out;
  ASSERT_TRUE(DecodeDeltaByteArray(U8(enc), enc.size(), 4, &out).ok());
  EXPECT_EQ(Strings(out), values);
}

TEST(DeltaByteArray, RoundTripsSharedPrefixes) {
  for (size_t n : {0, 1, 2, 100, 1000}) {
    for (bool sorted : {false, true}) {
      auto values = RandomStrings(n, static_cast<uint32_t>(n + 17), sorted);
      if (n > 10) values[5] = values[4];  // identical neighbours
      std::string enc;
      EncodeDeltaByteArray(Arrays(values), &enc);
      ByteArrays out = Arrays({"x"});
      ASSERT_TRUE(DecodeDeltaByteArray(U8(enc), enc.size(), n, &out).ok()) << n;
      auto expected = values;
      expected.insert(expected.begin(), "x");
      EXPECT_EQ(Strings(out), expected);
    }
  }
}

TEST(DeltaByteArray, RejectsPrefixesLongerThanThePreviousValue) {
  ByteArrays out = Arrays({"keep"});
  const std::string first = DeltaInt32({1}) + DeltaInt32({2}) + "ab";
  absl::Status st = DecodeDeltaByteArray(U8(first), first.size(), 1, &out);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  const std::string later = DeltaInt32({0, 3}) + DeltaInt32({2, 1}) + "abc";
  st = DecodeDeltaByteArray(U8(later), later.size(), 2, &out);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("value 1"));
  EXPECT_THAT(Strings(out), ElementsAre("keep"));
}

TEST(DeltaByteArray, RejectsExpansionBombs) {
  // 100 KB once, then 30000 values repeating it: 3 GB from a 100 KB page.
  std::vector<int32_t> prefixes(30001, 100000);
  std::vector<int32_t> suffixes(30001, 0);
  prefixes[0] = 0;
  suffixes[0] = 100000;
  const std::string enc = DeltaInt32(prefixes) + DeltaInt32(suffixes) + std::string(100000, 'z');
  ByteArrays out;
  const absl::Status st = DecodeDeltaByteArray(U8(enc), enc.size(), prefixes.size(), &out);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("expand"));
  EXPECT_TRUE(out.empty());
}

TEST(DeltaByteArray, EveryTruncationFails) {
  const auto values = RandomStrings(150, 8, true);
  std::string enc;
  EncodeDeltaByteArray(Arrays(values), &enc);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    std::vector<uint8_t> heap(enc.begin(), enc.begin() + cut);
    ByteArrays out;
    EXPECT_TRUE(absl::IsDataLoss(DecodeDeltaByteArray(heap.data(), heap.size(), 150, &out))) << cut;
  }
}

// ---------------------------------------------------------------------------
// BYTE_STREAM_SPLIT

TEST(ByteStreamSplit, MatchesTheSpecExample) {
  const std::string values =
      Bytes({0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x11, 0x22, 0x33, 0xA3, 0xB4, 0xC5, 0xD6});
  const std::string split =
      Bytes({0xAA, 0x00, 0xA3, 0xBB, 0x11, 0xB4, 0xCC, 0x22, 0xC5, 0xDD, 0x33, 0xD6});
  std::string enc;
  EncodeByteStreamSplit(U8(values), 3, 4, &enc);
  EXPECT_EQ(enc, split);
  std::string out(12, '\0');
  ASSERT_TRUE(
      DecodeByteStreamSplit(U8(split), split.size(), 3, 4, reinterpret_cast<uint8_t*>(out.data()))
          .ok());
  EXPECT_EQ(out, values);
}

TEST(ByteStreamSplit, RoundTripsEveryWidth) {
  for (int width : {1, 2, 3, 4, 5, 8, 12, 16}) {
    for (size_t n : {0, 1, 7, 1000}) {
      std::mt19937 rng(width * 7 + static_cast<int>(n));
      std::string values(n * width, '\0');
      for (auto& c : values) c = static_cast<char>(rng());
      std::string enc;
      EncodeByteStreamSplit(U8(values), n, width, &enc);
      ASSERT_EQ(enc.size(), values.size());
      std::vector<uint8_t> out(values.size());
      ASSERT_TRUE(DecodeByteStreamSplit(U8(enc), enc.size(), n, width, out.data()).ok());
      EXPECT_EQ(std::string(out.begin(), out.end()), values) << width << " " << n;
    }
  }
}

TEST(ByteStreamSplit, RejectsSizeMismatches) {
  const std::string enc(12, 'x');
  uint8_t out[16];
  EXPECT_TRUE(absl::IsDataLoss(DecodeByteStreamSplit(U8(enc), 12, 4, 4, out)));
  EXPECT_TRUE(absl::IsDataLoss(DecodeByteStreamSplit(U8(enc), 12, 2, 4, out)));
  EXPECT_TRUE(absl::IsDataLoss(DecodeByteStreamSplit(U8(enc), 11, 3, 4, out)));
  EXPECT_TRUE(absl::IsDataLoss(
      DecodeByteStreamSplit(U8(enc), 12, std::numeric_limits<size_t>::max() / 2, 8, out)));
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeByteStreamSplit(U8(enc), 12, 3, 0, out)));
  EXPECT_TRUE(DecodeByteStreamSplit(U8(enc), 12, 3, 4, out).ok());
}

// ---------------------------------------------------------------------------
// Random corruption: every decoder either fails or returns, never reads out of
// bounds (ASan) or overflows (UBSan).

TEST(Encodings, RandomlyCorruptedInputNeverCrashes) {
  std::mt19937_64 rng(2024);
  const auto ints = RunValues(500, 7, 1);
  std::string rle;
  EncodeRleBitPacked(ints.data(), ints.size(), 7, &rle);
  std::vector<int64_t> longs(500);
  for (auto& v : longs) v = static_cast<int64_t>(rng() % 1000000);
  std::string delta;
  EncodeDeltaBinaryPacked(longs.data(), longs.size(), &delta);
  const auto strings = RandomStrings(300, 4, true);
  std::string dlba, dba;
  EncodeDeltaLengthByteArray(Arrays(strings), &dlba);
  EncodeDeltaByteArray(Arrays(strings), &dba);

  for (int iter = 0; iter < 3000; ++iter) {
    const std::string* sources[] = {&rle, &delta, &dlba, &dba};
    const int kind = iter % 4;
    std::string data = *sources[kind];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      data[rng() % data.size()] = static_cast<char>(rng());
    }
    if (rng() % 4 == 0) data.resize(rng() % data.size());
    std::vector<uint8_t> heap(data.begin(), data.end());
    switch (kind) {
      case 0: {
        std::vector<uint32_t> out(ints.size());
        RleBitPackedDecoder d(heap.data(), heap.size(), 7);
        (void)d.Decode(out.data(), out.size());
        EXPECT_LE(d.position(), heap.size());
        for (uint32_t v : out) ASSERT_LT(v, 128u);
        break;
      }
      case 1: {
        std::vector<int64_t> out(longs.size());
        std::vector<int32_t> out32(longs.size());
        size_t consumed = 0;
        if (DecodeDeltaBinaryPacked(heap.data(), heap.size(), out.size(), out.data(), &consumed)
                .ok()) {
          EXPECT_LE(consumed, heap.size());
        }
        (void)DecodeDeltaBinaryPacked(heap.data(), heap.size(), out32.size(), out32.data(),
                                      &consumed);
        break;
      }
      case 2: {
        ByteArrays out;
        (void)DecodeDeltaLengthByteArray(heap.data(), heap.size(), strings.size(), &out);
        break;
      }
      default: {
        ByteArrays out;
        if (DecodeDeltaByteArray(heap.data(), heap.size(), strings.size(), &out).ok()) {
          EXPECT_EQ(out.size(), strings.size());
        }
      }
    }
  }
}

}  // namespace
}  // namespace pantry::parquet
