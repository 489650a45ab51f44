// Value types, Value::Make and Value::CastTo (server/value/value.h).
#include "server/value/value.h"

#include <cstdint>
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

TEST(ValueType, NamesRoundTripThroughParse) {
  for (ValueType t : kAllTypes) {
    const absl::string_view name = ValueTypeName(t);
    EXPECT_NE(name, "UNKNOWN");
    EXPECT_EQ(ParseValueType(name), t) << name;
  }
}

TEST(ValueType, ParseRejectsUnknownAndWrongCaseNames) {
  EXPECT_EQ(ParseValueType("int64"), std::nullopt);
  EXPECT_EQ(ParseValueType("TEXT"), std::nullopt);
  EXPECT_EQ(ParseValueType(""), std::nullopt);
  EXPECT_EQ(ParseValueType("UNKNOWN"), std::nullopt);
}

TEST(ValueType, ListTypesHaveTheirScalarAsElementType) {
  EXPECT_FALSE(IsListType(ValueType::kInt64));
  EXPECT_TRUE(IsListType(ValueType::kInt64List));
  EXPECT_EQ(ElementType(ValueType::kStringList), ValueType::kString);
  EXPECT_EQ(ElementType(ValueType::kUnixTimestampList), ValueType::kUnixTimestamp);
  EXPECT_EQ(ElementType(ValueType::kDouble), ValueType::kDouble);
}

TEST(Value, NullIsDistinctFromEveryNonNullValue) {
  const Value null = Value::Null(ValueType::kInt64);
  EXPECT_TRUE(null.is_null());
  EXPECT_EQ(null.type(), ValueType::kInt64);
  EXPECT_NE(null, Value::Int64(0));
  EXPECT_NE(null, Value::Null(ValueType::kInt32));
  EXPECT_EQ(null.DebugString(), "null");
  EXPECT_FALSE(Value::Int64List({}).is_null());
}

TEST(Value, MakeAcceptsTheMatchingPayloadOrNull) {
  auto v = Value::Make(ValueType::kUnixTimestamp, int64_t{5});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, Value::UnixTimestamp(5));
  v = Value::Make(ValueType::kBytesList, std::vector<std::string>{"a"});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, Value::BytesList({"a"}));
  v = Value::Make(ValueType::kDouble, std::monostate{});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_null());
}

TEST(Value, MakeRejectsAMismatchedPayload) {
  auto v = Value::Make(ValueType::kInt64, int32_t{1});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("INT64"));
  EXPECT_FALSE(Value::Make(ValueType::kString, 1.0).ok());
  EXPECT_FALSE(Value::Make(ValueType::kBoolList, std::vector<int32_t>{1}).ok());
}

TEST(ValueCastTo, IdentityReturnsTheSameValue) {
  for (const Value& v : {Value::Int32(3), Value::String("s"), Value::Null(ValueType::kBool),
                         Value::DoubleList({1.5})}) {
    auto c = v.CastTo(v.type());
    ASSERT_TRUE(c.ok()) << v.DebugString();
    EXPECT_EQ(*c, v);
  }
}

TEST(ValueCastTo, WidensInt32ToInt64AndFloatToDouble) {
  auto c = Value::Int32(-7).CastTo(ValueType::kInt64);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Value::Int64(-7));
  c = Value::Float(1.5f).CastTo(ValueType::kDouble);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Value::Double(1.5));
}

TEST(ValueCastTo, WidensListsElementwise) {
  auto c = Value::Int32List({1, -2}).CastTo(ValueType::kInt64List);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Value::Int64List({1, -2}));
  c = Value::FloatList({0.5f}).CastTo(ValueType::kDoubleList);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Value::DoubleList({0.5}));
  c = Value::Int32List({}).CastTo(ValueType::kInt64List);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Value::Int64List({}));
}

TEST(ValueCastTo, NullBecomesANullOfTheTarget) {
  for (ValueType from : kAllTypes) {
    for (ValueType to : kAllTypes) {
      auto c = Value::Null(from).CastTo(to);
      ASSERT_TRUE(c.ok()) << ValueTypeName(from) << " -> " << ValueTypeName(to);
      EXPECT_TRUE(c->is_null());
      EXPECT_EQ(c->type(), to);
    }
  }
}

TEST(ValueCastTo, LossyOrUnrelatedCastsAreRejectedNamingBothTypes) {
  struct Case {
    Value from;
    ValueType to;
  };
  const std::vector<Case> cases = {
      {Value::Int64(1), ValueType::kInt32},
      {Value::Double(1.5), ValueType::kFloat},
      {Value::Int32(1), ValueType::kDouble},
      {Value::Int64(1), ValueType::kString},
      {Value::String("1"), ValueType::kInt64},
      {Value::Bytes("x"), ValueType::kString},
      {Value::Int64(1), ValueType::kInt64List},
      {Value::Int64List({1}), ValueType::kInt64},
      {Value::Bool(true), ValueType::kInt32},
      {Value::UnixTimestamp(1), ValueType::kInt32},
      {Value::Int64(1), ValueType::kUnixTimestamp},
      {Value::UnixTimestamp(1), ValueType::kInt64},
      {Value::Int64List({1}), ValueType::kInt32List},
      {Value::StringList({"a"}), ValueType::kBytesList},
  };
  for (const Case& c : cases) {
    auto r = c.from.CastTo(c.to);
    ASSERT_FALSE(r.ok()) << ValueTypeName(c.from.type()) << " -> " << ValueTypeName(c.to);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr(std::string(ValueTypeName(c.from.type()))));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(std::string(ValueTypeName(c.to))));
  }
}

TEST(Value, DebugStringIsShortAndReadable) {
  EXPECT_EQ(Value::Int64(42).DebugString(), "42");
  EXPECT_EQ(Value::Bool(false).DebugString(), "false");
  EXPECT_EQ(Value::String("hi").DebugString(), "\"hi\"");
  EXPECT_EQ(Value::Bytes("abc").DebugString(), "<3 bytes>");
  EXPECT_EQ(Value::Int32List({1, 2}).DebugString(), "[1,2]");
  EXPECT_EQ(Value::StringList({"a"}).DebugString(), "[\"a\"]");
  EXPECT_EQ(Value::UnixTimestamp(0).DebugString(), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace pantry
