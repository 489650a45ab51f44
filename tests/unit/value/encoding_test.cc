// The stored value encoding (server/value/encoding.h).
#include "server/value/encoding.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;

constexpr ValueType kAllTypes[] = {ValueType::kInt32,     ValueType::kInt64,
                                   ValueType::kFloat,     ValueType::kDouble,
                                   ValueType::kBool,      ValueType::kString,
                                   ValueType::kBytes,     ValueType::kUnixTimestamp,
                                   ValueType::kInt32List, ValueType::kInt64List,
                                   ValueType::kFloatList, ValueType::kDoubleList,
                                   ValueType::kBoolList,  ValueType::kStringList,
                                   ValueType::kBytesList, ValueType::kUnixTimestampList};

// One non-null sample per type, exercising extremes.
std::vector<Value> Samples() {
  return {
      Value::Int32(std::numeric_limits<int32_t>::min()),
      Value::Int32(-1),
      Value::Int64(std::numeric_limits<int64_t>::max()),
      Value::Int64(0),
      Value::Float(-1.5f),
      Value::Float(std::numeric_limits<float>::infinity()),
      Value::Double(3.141592653589793),
      Value::Double(-0.0),
      Value::Bool(true),
      Value::Bool(false),
      Value::String(""),
      Value::String("héllo, wörld"),
      Value::String(std::string(300, 'x')),  // length needs a two-byte varint
      Value::Bytes(std::string("\x00\x01\xff\x80", 4)),
      Value::UnixTimestamp(1769860800000000),
      Value::UnixTimestamp(-1),
      Value::Int32List({1, -2, std::numeric_limits<int32_t>::max()}),
      Value::Int64List({std::numeric_limits<int64_t>::min(), 0, 7}),
      Value::FloatList({0.25f, -3.0f}),
      Value::DoubleList({1e300, -1e-300, 0.0}),
      Value::BoolList({true, false, true, true}),
      Value::StringList({"a", "", "ccc"}),
      Value::BytesList({std::string("\0", 1), "\xff"}),
      Value::UnixTimestampList({0, 1769860800000000}),
  };
}

// Empty lists of every list type.
std::vector<Value> EmptyLists() {
  return {Value::Int32List({}),  Value::Int64List({}),        Value::FloatList({}),
          Value::DoubleList({}), Value::BoolList({}),         Value::StringList({}),
          Value::BytesList({}),  Value::UnixTimestampList({})};
}

void ExpectRoundTrip(const Value& v) {
  const std::string bytes = EncodeValue(v);
  auto back = DecodeValue(bytes);
  ASSERT_TRUE(back.ok()) << v.DebugString() << ": " << back.status();
  EXPECT_EQ(back->type(), v.type()) << v.DebugString();
  EXPECT_EQ(back->is_null(), v.is_null()) << v.DebugString();
  EXPECT_EQ(*back, v) << v.DebugString() << " came back as " << back->DebugString();
}

TEST(ValueEncoding, EveryTypeRoundTrips) {
  for (const Value& v : Samples()) ExpectRoundTrip(v);
}

TEST(ValueEncoding, SamplesCoverEveryType) {
  for (ValueType t : kAllTypes) {
    bool found = false;
    for (const Value& v : Samples()) found = found || v.type() == t;
    EXPECT_TRUE(found) << ValueTypeName(t);
  }
}

TEST(ValueEncoding, NullOfEveryTypeRoundTripsKeepingItsType) {
  for (ValueType t : kAllTypes) {
    const Value null = Value::Null(t);
    const std::string bytes = EncodeValue(null);
    ASSERT_EQ(bytes.size(), 2u);
    EXPECT_EQ(bytes[0], '\0');
    EXPECT_EQ(static_cast<uint8_t>(bytes[1]), static_cast<uint8_t>(t));
    ExpectRoundTrip(null);
  }
}

TEST(ValueEncoding, EmptyListsRoundTripAndAreNotNull) {
  for (const Value& v : EmptyLists()) {
    ExpectRoundTrip(v);
    auto back = DecodeValue(EncodeValue(v));
    ASSERT_TRUE(back.ok());
    EXPECT_FALSE(back->is_null()) << ValueTypeName(v.type());
  }
}

TEST(ValueEncoding, NanRoundTripsBitForBit) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto back = DecodeValue(EncodeValue(Value::Double(nan)));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::isnan(back->get<double>()));
  auto back_f = DecodeValue(EncodeValue(Value::FloatList({std::nanf("")})));
  ASSERT_TRUE(back_f.ok());
  EXPECT_TRUE(std::isnan(back_f->get<std::vector<float>>()[0]));
}

TEST(ValueEncoding, LayoutIsTagThenLittleEndianPayload) {
  EXPECT_EQ(EncodeValue(Value::Int32(1)), std::string("\x01\x01\x00\x00\x00", 5));
  EXPECT_EQ(EncodeValue(Value::Int64(258)), std::string("\x02\x02\x01\0\0\0\0\0\0", 9));
  EXPECT_EQ(EncodeValue(Value::String("ab")), std::string("\x06\x02"
                                                          "ab",
                                                          4));
  EXPECT_EQ(EncodeValue(Value::BoolList({true, false})), std::string("\x0f\x02\x01\x00", 4));
  EXPECT_EQ(EncodeValue(Value::StringList({})), std::string("\x10\x00", 2));
}

TEST(ValueEncoding, AppendingEncodeKeepsExistingBytes) {
  std::string out = "prefix";
  EncodeValue(Value::Bool(true), &out);
  EXPECT_EQ(out, std::string("prefix\x05\x01", 8));
}

void ExpectDataLoss(absl::string_view bytes, absl::string_view what) {
  auto v = DecodeValue(bytes);
  ASSERT_FALSE(v.ok()) << what << " decoded as " << v->DebugString();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss) << what << ": " << v.status();
}

TEST(ValueEncoding, EveryTruncationIsDataLoss) {
  std::vector<Value> values = Samples();
  for (const Value& v : EmptyLists()) values.push_back(v);
  for (ValueType t : kAllTypes) values.push_back(Value::Null(t));
  for (const Value& v : values) {
    const std::string bytes = EncodeValue(v);
    for (size_t n = 0; n < bytes.size(); ++n) {
      ExpectDataLoss(absl::string_view(bytes).substr(0, n),
                     v.DebugString() + " cut to " + std::to_string(n));
    }
  }
}

TEST(ValueEncoding, TrailingBytesAreDataLoss) {
  for (const Value& v : Samples()) {
    ExpectDataLoss(EncodeValue(v) + "x", v.DebugString() + " plus one byte");
  }
  ExpectDataLoss(std::string("\0\x02\x00", 3), "null with trailing byte");
}

TEST(ValueEncoding, UnknownTagsAreDataLoss) {
  for (int tag : {9, 10, 19, 20, 127, 128, 255}) {
    ExpectDataLoss(std::string(1, static_cast<char>(tag)) + std::string(16, '\0'),
                   "tag " + std::to_string(tag));
    ExpectDataLoss(std::string("\0", 1) + std::string(1, static_cast<char>(tag)),
                   "null of tag " + std::to_string(tag));
  }
  ExpectDataLoss(std::string("\0\0", 2), "null of type 0");
}

TEST(ValueEncoding, EmptyInputIsDataLossNamingTheProblem) {
  auto v = DecodeValue("");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("corrupt stored value"));
}

TEST(ValueEncoding, HugeLengthsAreDataLossNotAnAllocation) {
  // Varint lengths near 2^64 must be checked against the input before use.
  const std::string huge = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
  for (ValueType t : {ValueType::kString, ValueType::kBytes, ValueType::kInt32List,
                      ValueType::kInt64List, ValueType::kDoubleList, ValueType::kBoolList,
                      ValueType::kStringList, ValueType::kBytesList}) {
    ExpectDataLoss(std::string(1, static_cast<char>(t)) + huge + "abc",
                   std::string(ValueTypeName(t)) + " with huge length");
  }
  // A varint that never ends.
  ExpectDataLoss(std::string("\x06") + std::string(20, '\x80'), "unterminated varint");
  // A list count larger than the elements present.
  ExpectDataLoss(std::string("\x10\x05\x01"
                             "a",
                             4),
                 "string list count 5 with one element");
  ExpectDataLoss(std::string("\x0c\x02\x01\0\0\0\0\0\0\0", 10), "int64 list count 2 with one");
}

TEST(ValueEncoding, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(42);
  const std::vector<Value> samples = Samples();
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = EncodeValue(samples[round % samples.size()]);
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < flips && !bytes.empty(); ++i) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    }
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    auto v = DecodeValue(bytes);
    if (v.ok()) {
      // Whatever decodes is a well-formed value of its type.
      EXPECT_TRUE(DecodeValue(EncodeValue(*v)).ok()) << v->DebugString();
    } else {
      EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(rng() % 24, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    auto v = DecodeValue(bytes);
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

}  // namespace
}  // namespace pantry
