// The Thrift compact protocol reader and writer (server/parquet/thrift.h).
#include "server/parquet/thrift.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry::parquet {
namespace {

using ::testing::HasSubstr;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Field headers and values of the struct the tests round trip and skip.
void WriteEveryType(CompactWriter& w) {
  w.WriteBoolField(1, true);
  w.WriteBoolField(2, false);
  w.WriteI8Field(3, -128);
  w.WriteI16Field(4, std::numeric_limits<int16_t>::min());
  w.WriteI32Field(5, std::numeric_limits<int32_t>::min());
  w.WriteI64Field(6, std::numeric_limits<int64_t>::min());
  w.WriteI64Field(7, std::numeric_limits<int64_t>::max());
  w.WriteDoubleField(8, -2.5e300);
  w.WriteBinaryField(9, std::string("bin\0ary", 7));
  w.WriteFieldHeader(10, CompactType::kList);  // list<i32>, long size form
  w.WriteListHeader(CompactType::kI32, 20);
  for (int i = 0; i < 20; ++i) w.WriteI32(i * 1000 - 7000);
  w.WriteFieldHeader(11, CompactType::kSet);  // set<binary>
  w.WriteSetHeader(CompactType::kBinary, 2);
  w.WriteBinary("a");
  w.WriteBinary("bc");
  w.WriteFieldHeader(12, CompactType::kMap);  // map<i32, bool>
  w.WriteMapHeader(CompactType::kI32, CompactType::kBool, 2);
  w.WriteI32(1);
  w.WriteBool(true);
  w.WriteI32(2);
  w.WriteBool(false);
  w.WriteFieldHeader(13, CompactType::kStruct);  // struct { 1: i32, 40: bool }
  w.WriteStructBegin();
  w.WriteI32Field(1, 77);
  w.WriteBoolField(40, true);
  w.WriteStructEnd();
  w.WriteFieldHeader(14, CompactType::kUuid);
  w.WriteUuid("0123456789abcdef");
  w.WriteFieldHeader(15, CompactType::kList);  // list<bool>
  w.WriteListHeader(CompactType::kBool, 3);
  w.WriteBool(true);
  w.WriteBool(false);
  w.WriteBool(true);
  w.WriteFieldHeader(300, CompactType::kMap);  // empty map, long-form id
  w.WriteMapHeader(CompactType::kBinary, CompactType::kI64, 0);
  w.WriteFieldHeader(-5, CompactType::kDouble);  // negative id
  w.WriteDouble(0.25);
}

std::string EveryTypeStruct() {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  WriteEveryType(w);
  w.WriteStructEnd();
  return out;
}

// Writes `depth` structs nested in one another as field 1 of each other.
void WriteNestedStructs(CompactWriter& w, int depth) {
  for (int i = 0; i < depth; ++i) {
    w.WriteFieldHeader(1, CompactType::kStruct);
    w.WriteStructBegin();
  }
  for (int i = 0; i < depth; ++i) w.WriteStructEnd();
}

// ---------------------------------------------------------------------------
// Byte-exact encodings from the compact protocol spec.

TEST(CompactWriter, ShortFieldHeaderIsDeltaNibbleAndTypeNibble) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteI32Field(1, 1);       // 0x15 = delta 1, type 5 (i32); zigzag(1) = 2
  w.WriteBinaryField(4, "x");  // 0x38 = delta 3, type 8 (binary)
  w.WriteI64Field(19, 0);      // delta 15: still the short form, 0xf6
  w.WriteStructEnd();
  EXPECT_EQ(out, Bytes({0x15, 0x02, 0x38, 0x01, 'x', 0xf6, 0x00, 0x00}));
}

TEST(CompactWriter, FieldIdJumpsOver15OrBackwardsUseTheLongForm) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteI32Field(1, 0);
  w.WriteI32Field(17, 0);  // delta 16: type byte then zigzag id 34
  w.WriteI32Field(3, 0);   // backwards: zigzag id 6
  w.WriteI32Field(-1, 0);  // negative: zigzag id 1
  w.WriteStructEnd();
  EXPECT_EQ(out, Bytes({0x15, 0x00, 0x05, 0x22, 0x00, 0x05, 0x06, 0x00, 0x05, 0x01, 0x00, 0x00}));
}

TEST(CompactWriter, BoolFieldsCarryTheValueInTheTypeNibble) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteBoolField(1, true);
  w.WriteBoolField(2, false);
  w.WriteStructEnd();
  EXPECT_EQ(out, Bytes({0x11, 0x12, 0x00}));
}

TEST(CompactWriter, ZigZagVarintsMatchTheSpec) {
  struct Case {
    int64_t value;
    std::string bytes;
  };
  const Case cases[] = {
      {0, Bytes({0x00})},
      {-1, Bytes({0x01})},
      {1, Bytes({0x02})},
      {-2, Bytes({0x03})},
      {2, Bytes({0x04})},
      {63, Bytes({0x7e})},
      {-64, Bytes({0x7f})},
      {64, Bytes({0x80, 0x01})},
      {-25200, Bytes({0xdf, 0x89, 0x03})},  // the spec's varint example 50399
      {std::numeric_limits<int64_t>::max(),
       Bytes({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
      {std::numeric_limits<int64_t>::min(),
       Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  for (const Case& c : cases) {
    std::string out;
    CompactWriter(&out).WriteI64(c.value);
    EXPECT_EQ(out, c.bytes) << c.value;
    CompactReader r(c.bytes);
    int64_t v = 0;
    ASSERT_TRUE(r.ReadI64(&v).ok()) << c.value;
    EXPECT_EQ(v, c.value);
    EXPECT_EQ(r.remaining(), 0u);
  }
  std::string out;
  CompactWriter(&out).WriteI32(std::numeric_limits<int32_t>::min());
  EXPECT_EQ(out, Bytes({0xff, 0xff, 0xff, 0xff, 0x0f}));
}

TEST(CompactWriter, DoubleIsEightBytesLittleEndian) {
  std::string out;
  CompactWriter(&out).WriteDouble(1.5);  // 0x3ff8000000000000
  EXPECT_EQ(out, Bytes({0, 0, 0, 0, 0, 0, 0xf8, 0x3f}));
}

TEST(CompactWriter, BinaryIsVarintLengthAndBytes) {
  std::string out;
  CompactWriter w(&out);
  w.WriteBinary("abc");
  w.WriteBinary("");
  w.WriteBinary(std::string(200, 'z'));
  EXPECT_EQ(out.substr(0, 7), Bytes({0x03, 'a', 'b', 'c', 0x00, 0xc8, 0x01}));
  EXPECT_EQ(out.size(), 7u + 200u);
}

TEST(CompactWriter, ListHeadersUseShortFormUpTo14) {
  std::string out;
  CompactWriter w(&out);
  w.WriteListHeader(CompactType::kI32, 0);
  w.WriteListHeader(CompactType::kStruct, 14);
  w.WriteListHeader(CompactType::kI32, 15);
  w.WriteListHeader(CompactType::kBinary, 300);
  w.WriteListHeader(CompactType::kBool, 1);  // the spec's bool element type is 2
  EXPECT_EQ(out, Bytes({0x05, 0xec, 0xf5, 0x0f, 0xf8, 0xac, 0x02, 0x12}));
}

TEST(CompactWriter, MapHeaderIsSizeThenKeyValueTypes) {
  std::string out;
  CompactWriter w(&out);
  w.WriteMapHeader(CompactType::kBinary, CompactType::kI32, 0);  // empty: size only
  w.WriteMapHeader(CompactType::kBinary, CompactType::kI32, 2);
  EXPECT_EQ(out, Bytes({0x00, 0x02, 0x85}));
}

TEST(CompactWriter, NestedStructRestoresTheOuterFieldIdForDeltas) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteFieldHeader(3, CompactType::kStruct);  // 0x3c
  w.WriteStructBegin();
  w.WriteI32Field(10, 0);  // 0xa5 0x00: the delta starts from 0 inside
  w.WriteStructEnd();
  w.WriteI32Field(4, 0);  // 0x15 0x00: delta 1 from the outer field 3
  w.WriteStructEnd();
  EXPECT_EQ(out, Bytes({0x3c, 0xa5, 0x00, 0x00, 0x15, 0x00, 0x00}));
}

// ---------------------------------------------------------------------------
// Reading hand-encoded bytes.

TEST(CompactReader, FieldHeader0x15IsFieldOneOfTypeI32) {
  const std::string data = Bytes({0x15, 0x02, 0x00});
  CompactReader r(data);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  FieldHeader f;
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  EXPECT_EQ(f.id, 1);
  EXPECT_EQ(f.type, CompactType::kI32);
  int32_t v = 0;
  ASSERT_TRUE(r.ReadI32(&v).ok());
  EXPECT_EQ(v, 1);
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  EXPECT_EQ(f.type, CompactType::kStop);
  r.ReadStructEnd();
  EXPECT_EQ(r.depth(), 0);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(CompactReader, DeltasAccumulateWithinAStruct) {
  const std::string data = Bytes({0x15, 0x00, 0x35, 0x00, 0xf5, 0x00, 0x00});
  CompactReader r(data);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  FieldHeader f;
  std::vector<int> ids;
  while (r.ReadFieldBegin(&f).ok() && f.type != CompactType::kStop) {
    ids.push_back(f.id);
    ASSERT_TRUE(r.Skip(f.type).ok());
  }
  EXPECT_EQ(ids, (std::vector<int>{1, 4, 19}));
}

TEST(CompactReader, LongFormFieldHeaderReadsZigZagId) {
  // Field 1000 (zigzag 2000 = 0xd0 0x0f), then field -3 (zigzag 5), then
  // field -2 in short form (delta 1 from -3).
  const std::string data = Bytes({0x08, 0xd0, 0x0f, 0x01, 'q', 0x05, 0x05, 0x04, 0x16, 0x02, 0x00});
  CompactReader r(data);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  FieldHeader f;
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  EXPECT_EQ(f.id, 1000);
  EXPECT_EQ(f.type, CompactType::kBinary);
  absl::string_view s;
  ASSERT_TRUE(r.ReadBinary(&s).ok());
  EXPECT_EQ(s, "q");
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  EXPECT_EQ(f.id, -3);
  EXPECT_EQ(f.type, CompactType::kI32);
  ASSERT_TRUE(r.Skip(f.type).ok());
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  EXPECT_EQ(f.id, -2);
  EXPECT_EQ(f.type, CompactType::kI64);
}

TEST(CompactReader, BoolFieldValueComesFromTheTypeNibble) {
  const std::string data = Bytes({0x11, 0x12, 0x00});
  CompactReader r(data);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  FieldHeader f;
  bool v = false;
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  EXPECT_EQ(f.type, CompactType::kBool);
  ASSERT_TRUE(r.ReadBool(&v).ok());
  EXPECT_TRUE(v);
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  EXPECT_EQ(f.id, 2);
  EXPECT_EQ(f.type, CompactType::kBool);
  ASSERT_TRUE(r.ReadBool(&v).ok());
  EXPECT_FALSE(v);
  EXPECT_EQ(r.position(), 2u);  // no value bytes
}

TEST(CompactReader, BoolListElementsAreOneByteEach) {
  // Element type 2 (spec) and 1 (libthrift writers); false as 0 or 2.
  for (int type : {0x01, 0x02}) {
    const std::string data = Bytes({0x30 | type, 0x01, 0x00, 0x02});
    CompactReader r(data);
    ListHeader h;
    ASSERT_TRUE(r.ReadListBegin(&h).ok());
    EXPECT_EQ(h.element_type, CompactType::kBool);
    ASSERT_EQ(h.size, 3u);
    bool a = false, b = true, c = true;
    ASSERT_TRUE(r.ReadBool(&a).ok());
    ASSERT_TRUE(r.ReadBool(&b).ok());
    ASSERT_TRUE(r.ReadBool(&c).ok());
    EXPECT_TRUE(a);
    EXPECT_FALSE(b);
    EXPECT_FALSE(c);
  }
}

TEST(CompactReader, BoolElementByteAbove2IsDataLoss) {
  const std::string data = Bytes({0x07});
  CompactReader r(data);
  bool v;
  absl::Status s = r.ReadBool(&v);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("at byte 0"));
}

TEST(CompactReader, ListHeaderLongFormReadsVarintSize) {
  std::string data = Bytes({0xf8, 0x10});  // 16 binaries
  for (int i = 0; i < 16; ++i) data.push_back('\0');
  CompactReader r(data);
  ListHeader h;
  ASSERT_TRUE(r.ReadListBegin(&h).ok());
  EXPECT_EQ(h.element_type, CompactType::kBinary);
  EXPECT_EQ(h.size, 16u);
}

TEST(CompactReader, MapHeaderOfEmptyMapHasNoTypeByte) {
  const std::string data = Bytes({0x00, 0x15});
  CompactReader r(data);
  MapHeader h;
  ASSERT_TRUE(r.ReadMapBegin(&h).ok());
  EXPECT_EQ(h.size, 0u);
  EXPECT_EQ(r.position(), 1u);
}

TEST(CompactReader, ReadsTheSpecVarintExample) {
  const std::string data = Bytes({0xdf, 0x89, 0x03});
  CompactReader r(data);
  int32_t v = 0;
  ASSERT_TRUE(r.ReadI32(&v).ok());
  EXPECT_EQ(v, -25200);  // zigzag 50399
}

TEST(CompactReader, DoubleIsLittleEndian) {
  const std::string data = Bytes({0, 0, 0, 0, 0, 0, 0xf8, 0xbf});
  CompactReader r(data);
  double v = 0;
  ASSERT_TRUE(r.ReadDouble(&v).ok());
  EXPECT_EQ(v, -1.5);
}

// ---------------------------------------------------------------------------
// Round trips and skipping.

TEST(CompactReader, RoundTripsEveryType) {
  const std::string data = EveryTypeStruct();
  CompactReader r(data);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  FieldHeader f;
  auto next = [&](int16_t id, CompactType type) {
    ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
    EXPECT_EQ(f.id, id);
    EXPECT_EQ(f.type, type);
  };
  bool b = false;
  next(1, CompactType::kBool);
  ASSERT_TRUE(r.ReadBool(&b).ok());
  EXPECT_TRUE(b);
  next(2, CompactType::kBool);
  ASSERT_TRUE(r.ReadBool(&b).ok());
  EXPECT_FALSE(b);
  int8_t i8 = 0;
  next(3, CompactType::kI8);
  ASSERT_TRUE(r.ReadI8(&i8).ok());
  EXPECT_EQ(i8, -128);
  int16_t i16 = 0;
  next(4, CompactType::kI16);
  ASSERT_TRUE(r.ReadI16(&i16).ok());
  EXPECT_EQ(i16, std::numeric_limits<int16_t>::min());
  int32_t i32 = 0;
  next(5, CompactType::kI32);
  ASSERT_TRUE(r.ReadI32(&i32).ok());
  EXPECT_EQ(i32, std::numeric_limits<int32_t>::min());
  int64_t i64 = 0;
  next(6, CompactType::kI64);
  ASSERT_TRUE(r.ReadI64(&i64).ok());
  EXPECT_EQ(i64, std::numeric_limits<int64_t>::min());
  next(7, CompactType::kI64);
  ASSERT_TRUE(r.ReadI64(&i64).ok());
  EXPECT_EQ(i64, std::numeric_limits<int64_t>::max());
  double d = 0;
  next(8, CompactType::kDouble);
  ASSERT_TRUE(r.ReadDouble(&d).ok());
  EXPECT_EQ(d, -2.5e300);
  absl::string_view s;
  next(9, CompactType::kBinary);
  ASSERT_TRUE(r.ReadBinary(&s).ok());
  EXPECT_EQ(s, absl::string_view("bin\0ary", 7));
  ListHeader lh;
  next(10, CompactType::kList);
  ASSERT_TRUE(r.ReadListBegin(&lh).ok());
  EXPECT_EQ(lh.element_type, CompactType::kI32);
  ASSERT_EQ(lh.size, 20u);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(r.ReadI32(&i32).ok());
    EXPECT_EQ(i32, i * 1000 - 7000);
  }
  next(11, CompactType::kSet);
  ASSERT_TRUE(r.ReadSetBegin(&lh).ok());
  EXPECT_EQ(lh.element_type, CompactType::kBinary);
  ASSERT_EQ(lh.size, 2u);
  ASSERT_TRUE(r.ReadBinary(&s).ok());
  EXPECT_EQ(s, "a");
  ASSERT_TRUE(r.ReadBinary(&s).ok());
  EXPECT_EQ(s, "bc");
  MapHeader mh;
  next(12, CompactType::kMap);
  ASSERT_TRUE(r.ReadMapBegin(&mh).ok());
  EXPECT_EQ(mh.key_type, CompactType::kI32);
  EXPECT_EQ(mh.value_type, CompactType::kBool);
  ASSERT_EQ(mh.size, 2u);
  ASSERT_TRUE(r.ReadI32(&i32).ok());
  EXPECT_EQ(i32, 1);
  ASSERT_TRUE(r.ReadBool(&b).ok());
  EXPECT_TRUE(b);
  ASSERT_TRUE(r.ReadI32(&i32).ok());
  EXPECT_EQ(i32, 2);
  ASSERT_TRUE(r.ReadBool(&b).ok());
  EXPECT_FALSE(b);
  next(13, CompactType::kStruct);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  EXPECT_EQ(r.depth(), 2);
  next(1, CompactType::kI32);
  ASSERT_TRUE(r.ReadI32(&i32).ok());
  EXPECT_EQ(i32, 77);
  next(40, CompactType::kBool);
  ASSERT_TRUE(r.ReadBool(&b).ok());
  EXPECT_TRUE(b);
  next(0, CompactType::kStop);
  r.ReadStructEnd();
  next(14, CompactType::kUuid);  // delta from the outer field 13
  ASSERT_TRUE(r.ReadUuid(&s).ok());
  EXPECT_EQ(s, "0123456789abcdef");
  next(15, CompactType::kList);
  ASSERT_TRUE(r.ReadListBegin(&lh).ok());
  EXPECT_EQ(lh.element_type, CompactType::kBool);
  ASSERT_EQ(lh.size, 3u);
  for (bool want : {true, false, true}) {
    ASSERT_TRUE(r.ReadBool(&b).ok());
    EXPECT_EQ(b, want);
  }
  next(300, CompactType::kMap);
  ASSERT_TRUE(r.ReadMapBegin(&mh).ok());
  EXPECT_EQ(mh.size, 0u);
  next(-5, CompactType::kDouble);
  ASSERT_TRUE(r.ReadDouble(&d).ok());
  EXPECT_EQ(d, 0.25);
  next(0, CompactType::kStop);
  r.ReadStructEnd();
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.depth(), 0);
}

TEST(CompactReader, SkipsEveryTypeIncludingNestedContainers) {
  std::string data;
  CompactWriter w(&data);
  w.WriteStructBegin();
  WriteEveryType(w);
  // map<binary, list<struct>> and list<map<i32, set<double>>>
  w.WriteFieldHeader(400, CompactType::kMap);
  w.WriteMapHeader(CompactType::kBinary, CompactType::kList, 2);
  for (int i = 0; i < 2; ++i) {
    w.WriteBinary("key");
    w.WriteListHeader(CompactType::kStruct, 2);
    for (int j = 0; j < 2; ++j) {
      w.WriteStructBegin();
      w.WriteBoolField(1, true);
      w.WriteFieldHeader(2, CompactType::kList);
      w.WriteListHeader(CompactType::kBool, 2);
      w.WriteBool(false);
      w.WriteBool(true);
      w.WriteStructEnd();
    }
  }
  w.WriteFieldHeader(401, CompactType::kList);
  w.WriteListHeader(CompactType::kMap, 1);
  w.WriteMapHeader(CompactType::kI32, CompactType::kSet, 1);
  w.WriteI32(9);
  w.WriteSetHeader(CompactType::kDouble, 2);
  w.WriteDouble(1);
  w.WriteDouble(2);
  w.WriteFieldHeader(402, CompactType::kList);  // list<i8>, list<uuid>
  w.WriteListHeader(CompactType::kI8, 3);
  w.WriteI8(1);
  w.WriteI8(2);
  w.WriteI8(3);
  w.WriteFieldHeader(403, CompactType::kList);
  w.WriteListHeader(CompactType::kUuid, 1);
  w.WriteUuid("fedcba9876543210");
  w.WriteI32Field(404, 1234);
  w.WriteStructEnd();

  CompactReader r(data);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  FieldHeader f;
  int32_t found = 0;
  while (true) {
    ASSERT_TRUE(r.ReadFieldBegin(&f).ok()) << r.position();
    if (f.type == CompactType::kStop) break;
    if (f.id == 404) {
      ASSERT_TRUE(r.ReadI32(&found).ok());
    } else {
      ASSERT_TRUE(r.Skip(f.type).ok()) << "field " << f.id;
    }
  }
  r.ReadStructEnd();
  EXPECT_EQ(found, 1234);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(CompactReader, SkipOfWholeStructConsumesItExactly) {
  std::string data = EveryTypeStruct();
  data += "tail";
  CompactReader r(data);
  ASSERT_TRUE(r.Skip(CompactType::kStruct).ok());
  EXPECT_EQ(r.remaining(), 4u);
}

TEST(CompactReader, SkipOfBoolFieldConsumesNothing) {
  const std::string data = Bytes({0x11, 0x15, 0x04, 0x00});
  CompactReader r(data);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  FieldHeader f;
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  ASSERT_TRUE(r.Skip(f.type).ok());
  EXPECT_EQ(r.position(), 1u);
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  EXPECT_EQ(f.id, 2);
  int32_t v = 0;
  ASSERT_TRUE(r.ReadI32(&v).ok());
  EXPECT_EQ(v, 2);
}

// ---------------------------------------------------------------------------
// Malformed input.

TEST(CompactReader, EveryTruncationIsDataLossNeverACrash) {
  const std::string data = EveryTypeStruct();
  for (size_t len = 0; len < data.size(); ++len) {
    // A copy of exactly `len` bytes, so ASan sees any read past the end.
    const std::string prefix = data.substr(0, len);
    CompactReader r(prefix);
    absl::Status s = r.Skip(CompactType::kStruct);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "prefix " << len;
  }
}

TEST(CompactReader, TruncatedValueNamesWhatAndTheByteOffset) {
  const std::string data = Bytes({0x15, 0x80});
  CompactReader r(data);
  ASSERT_TRUE(r.ReadStructBegin().ok());
  FieldHeader f;
  ASSERT_TRUE(r.ReadFieldBegin(&f).ok());
  int32_t v;
  absl::Status s = r.ReadI32(&v);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("truncated varint (i32) at byte 1"));
}

TEST(CompactReader, HugeListSizeIsDataLoss) {
  // 2^31 - 1 i64 elements announced, three bytes present.
  const std::string data = Bytes({0xf6, 0xff, 0xff, 0xff, 0xff, 0x07, 0x02, 0x02, 0x02});
  CompactReader r(data);
  ListHeader h;
  absl::Status s = r.ReadListBegin(&h);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("at byte 0"));
  CompactReader skipper(data);
  EXPECT_EQ(skipper.Skip(CompactType::kList).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, ListSizeIsCheckedAgainstTheElementsMinimumSize) {
  // Two doubles need 16 bytes; 15 are present.
  std::string data = Bytes({0x27});
  data.append(15, '\0');
  CompactReader r(data);
  ListHeader h;
  EXPECT_EQ(r.ReadListBegin(&h).code(), absl::StatusCode::kDataLoss);
  data.push_back('\0');
  CompactReader ok(data);
  EXPECT_TRUE(ok.ReadListBegin(&h).ok());
  EXPECT_EQ(h.size, 2u);
}

TEST(CompactReader, ListSizeAboveInt32IsDataLoss) {
  std::string data = Bytes({0xf3, 0x80, 0x80, 0x80, 0x80, 0x08});  // 2^31
  data.append(64, '\0');
  CompactReader r(data);
  ListHeader h;
  EXPECT_EQ(r.ReadListBegin(&h).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, HugeMapSizeIsDataLoss) {
  const std::string data = Bytes({0xff, 0xff, 0xff, 0xff, 0x07, 0x55, 0x00, 0x00});
  CompactReader r(data);
  MapHeader h;
  EXPECT_EQ(r.ReadMapBegin(&h).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, BinaryLongerThanTheBufferIsDataLoss) {
  const std::string data = Bytes({0xe8, 0x07, 'a', 'b'});  // length 1000
  CompactReader r(data);
  absl::string_view v;
  absl::Status s = r.ReadBinary(&v);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("binary of length 1000 at byte 0"));
}

TEST(CompactReader, VarintLongerThanTenBytesIsDataLoss) {
  std::string data(10, '\x80');
  data.push_back('\x01');
  CompactReader r(data);
  int64_t v;
  absl::Status s = r.ReadI64(&v);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("longer than 10 bytes"));
}

TEST(CompactReader, VarintOverflowing64BitsIsDataLoss) {
  std::string data(9, '\xff');
  data.push_back('\x02');
  CompactReader r(data);
  int64_t v;
  EXPECT_EQ(r.ReadI64(&v).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, I32AndI16OutOfRangeAreDataLoss) {
  const std::string big = Bytes({0x80, 0x80, 0x80, 0x80, 0x10});  // zigzag 2^32
  CompactReader r32(big);
  int32_t v32;
  EXPECT_EQ(r32.ReadI32(&v32).code(), absl::StatusCode::kDataLoss);
  const std::string medium = Bytes({0x80, 0x80, 0x04});  // zigzag 65536
  CompactReader r16(medium);
  int16_t v16;
  EXPECT_EQ(r16.ReadI16(&v16).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, InvalidTypeNibbleIsDataLoss) {
  for (int type : {0x0e, 0x0f}) {
    const std::string data = Bytes({0x10 | type, 0x00});
    CompactReader r(data);
    FieldHeader f;
    absl::Status s = r.ReadFieldBegin(&f);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(s.message(), HasSubstr("invalid compact type"));
  }
  const std::string list = Bytes({0x10, 0x00});  // element type 0
  CompactReader r(list);
  ListHeader h;
  EXPECT_EQ(r.ReadListBegin(&h).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, StructNestingAtTheLimitIsAccepted) {
  std::string data;
  CompactWriter w(&data);
  w.WriteStructBegin();
  WriteNestedStructs(w, CompactReader::kMaxDepth - 1);
  w.WriteStructEnd();
  CompactReader r(data);
  EXPECT_TRUE(r.Skip(CompactType::kStruct).ok());
  EXPECT_EQ(r.remaining(), 0u);

  std::string deeper;
  CompactWriter w2(&deeper);
  w2.WriteStructBegin();
  WriteNestedStructs(w2, CompactReader::kMaxDepth);
  w2.WriteStructEnd();
  CompactReader r2(deeper);
  EXPECT_EQ(r2.Skip(CompactType::kStruct).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, ExcessiveStructNestingIsDataLoss) {
  std::string data;
  CompactWriter w(&data);
  w.WriteStructBegin();
  WriteNestedStructs(w, 10000);
  w.WriteStructEnd();
  CompactReader r(data);
  absl::Status s = r.Skip(CompactType::kStruct);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("nesting deeper than 64"));
}

TEST(CompactReader, ExcessiveListNestingIsDataLoss) {
  // list<list<list<...>>> 1000 deep, each holding one element.
  std::string data;
  CompactWriter w(&data);
  for (int i = 0; i < 1000; ++i) w.WriteListHeader(CompactType::kList, 1);
  w.WriteListHeader(CompactType::kI32, 0);
  CompactReader r(data);
  EXPECT_EQ(r.Skip(CompactType::kList).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, ExcessiveMapNestingIsDataLoss) {
  std::string data;
  CompactWriter w(&data);
  for (int i = 0; i < 1000; ++i) {
    w.WriteMapHeader(CompactType::kI8, CompactType::kMap, 1);
    w.WriteI8(0);
  }
  w.WriteMapHeader(CompactType::kI8, CompactType::kI8, 0);
  CompactReader r(data);
  EXPECT_EQ(r.Skip(CompactType::kMap).code(), absl::StatusCode::kDataLoss);
}

TEST(CompactReader, ReadStructBeginBeyondTheLimitIsDataLoss) {
  CompactReader r{absl::string_view()};
  for (int i = 0; i < CompactReader::kMaxDepth; ++i) ASSERT_TRUE(r.ReadStructBegin().ok());
  EXPECT_EQ(r.ReadStructBegin().code(), absl::StatusCode::kDataLoss);
  for (int i = 0; i < CompactReader::kMaxDepth; ++i) r.ReadStructEnd();
  EXPECT_EQ(r.depth(), 0);
}

TEST(CompactReader, RandomBytesNeverCrash) {
  // A fixed xorshift sequence: deterministic, no test flakiness.
  uint64_t state = 0x9e3779b97f4a7c15u;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 2000; ++round) {
    std::string data(next() % 64, '\0');
    for (char& c : data) c = static_cast<char>(next());
    CompactReader r(data);
    (void)r.Skip(CompactType::kStruct);
    EXPECT_LE(r.position(), data.size());
  }
}

}  // namespace
}  // namespace pantry::parquet
