// Text of stream entry fields (and JSON) as values of a column's type.
#include "server/value/json_values.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

TEST(FieldText, ParsesEachTypeAsWritten) {
  EXPECT_EQ(*FieldTextToValue("-7", ValueType::kInt32), Value::Int32(-7));
  EXPECT_EQ(*FieldTextToValue("9000000000", ValueType::kInt64), Value::Int64(9000000000));
  EXPECT_EQ(*FieldTextToValue("0.25", ValueType::kFloat), Value::Float(0.25f));
  EXPECT_EQ(*FieldTextToValue("1e3", ValueType::kDouble), Value::Double(1000));
  EXPECT_EQ(*FieldTextToValue("true", ValueType::kBool), Value::Bool(true));
  EXPECT_EQ(*FieldTextToValue("0", ValueType::kBool), Value::Bool(false));
  EXPECT_EQ(*FieldTextToValue("a b", ValueType::kString), Value::String("a b"));
  EXPECT_EQ(*FieldTextToValue("", ValueType::kString), Value::String(""));
  EXPECT_EQ(*FieldTextToValue("2026-01-01T00:00:00Z", ValueType::kUnixTimestamp),
            Value::UnixTimestamp(kT0));
  EXPECT_EQ(*FieldTextToValue("1767225600000000", ValueType::kUnixTimestamp),
            Value::UnixTimestamp(kT0));
  EXPECT_EQ(*FieldTextToValue("[1,2]", ValueType::kInt64List), Value::Int64List({1, 2}));
  EXPECT_TRUE(FieldTextToValue("", ValueType::kInt64)->is_null());
}

TEST(FieldText, BadTextNamesTheTextAndType) {
  EXPECT_THAT(FieldTextToValue("x", ValueType::kInt64).status().message(),
              HasSubstr("'x' is not a valid INT64"));
  EXPECT_THAT(FieldTextToValue("3000000000", ValueType::kInt32).status().message(),
              HasSubstr("INT32"));
  EXPECT_THAT(FieldTextToValue("yes", ValueType::kBool).status().message(), HasSubstr("BOOL"));
  EXPECT_THAT(FieldTextToValue("yesterday", ValueType::kUnixTimestamp).status().message(),
              HasSubstr("UNIX_TIMESTAMP"));
  EXPECT_THAT(FieldTextToValue("[1,", ValueType::kInt64List).status().message(),
              HasSubstr("INT64_LIST"));
  EXPECT_THAT(FieldTextToValue("[1.5]", ValueType::kInt64List).status().message(),
              HasSubstr("INT64"));
}

TEST(JsonValues, TimestampsMayBeIntegerMicroseconds) {
  EXPECT_EQ(*JsonToValue(nlohmann::json(kT0), ValueType::kUnixTimestamp),
            Value::UnixTimestamp(kT0));
  EXPECT_EQ(*JsonToValue(nlohmann::json("2026-01-01T00:00:00Z"), ValueType::kUnixTimestamp),
            Value::UnixTimestamp(kT0));
  EXPECT_FALSE(JsonToValue(nlohmann::json(1.5), ValueType::kUnixTimestamp).ok());
}

}  // namespace
}  // namespace pantry
