#include "server/value/value.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/time.h"

namespace pantry {
namespace {

struct TypeName {
  ValueType type;
  absl::string_view name;
};
constexpr std::array<TypeName, 16> kTypeNames = {{
    {ValueType::kInt32, "INT32"},
    {ValueType::kInt64, "INT64"},
    {ValueType::kFloat, "FLOAT"},
    {ValueType::kDouble, "DOUBLE"},
    {ValueType::kBool, "BOOL"},
    {ValueType::kString, "STRING"},
    {ValueType::kBytes, "BYTES"},
    {ValueType::kUnixTimestamp, "UNIX_TIMESTAMP"},
    {ValueType::kInt32List, "INT32_LIST"},
    {ValueType::kInt64List, "INT64_LIST"},
    {ValueType::kFloatList, "FLOAT_LIST"},
    {ValueType::kDoubleList, "DOUBLE_LIST"},
    {ValueType::kBoolList, "BOOL_LIST"},
    {ValueType::kStringList, "STRING_LIST"},
    {ValueType::kBytesList, "BYTES_LIST"},
    {ValueType::kUnixTimestampList, "UNIX_TIMESTAMP_LIST"},
}};

// Index into Value::Payload that holds a non-null value of `type`.
size_t PayloadIndex(ValueType type) {
  switch (type) {
    case ValueType::kInt32: return 1;
    case ValueType::kInt64:
    case ValueType::kUnixTimestamp: return 2;
    case ValueType::kFloat: return 3;
    case ValueType::kDouble: return 4;
    case ValueType::kBool: return 5;
    case ValueType::kString:
    case ValueType::kBytes: return 6;
    case ValueType::kInt32List: return 7;
    case ValueType::kInt64List:
    case ValueType::kUnixTimestampList: return 8;
    case ValueType::kFloatList: return 9;
    case ValueType::kDoubleList: return 10;
    case ValueType::kBoolList: return 11;
    case ValueType::kStringList:
    case ValueType::kBytesList: return 12;
  }
  return 0;
}

std::string Quote(const std::string& s) { return absl::StrCat("\"", s, "\""); }

}  // namespace

absl::string_view ValueTypeName(ValueType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "UNKNOWN";
}

const std::vector<absl::string_view>& ValueTypeNames() {
  static const auto* names = [] {
    auto* out = new std::vector<absl::string_view>();
    for (const auto& t : kTypeNames) out->push_back(t.name);
    return out;
  }();
  return *names;
}

std::optional<ValueType> ParseValueType(absl::string_view name) {
  for (const auto& t : kTypeNames) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

bool IsListType(ValueType type) { return static_cast<uint8_t>(type) > 10; }

ValueType ElementType(ValueType type) {
  return IsListType(type) ? static_cast<ValueType>(static_cast<uint8_t>(type) - 10) : type;
}

bool IsWideningOf(ValueType from, ValueType to) {
  if (from == to) return true;
  return (from == ValueType::kInt32 && to == ValueType::kInt64) ||
         (from == ValueType::kFloat && to == ValueType::kDouble) ||
         (from == ValueType::kInt32List && to == ValueType::kInt64List) ||
         (from == ValueType::kFloatList && to == ValueType::kDoubleList);
}

absl::StatusOr<Value> Value::Make(ValueType type, Payload payload) {
  if (payload.index() != 0 && payload.index() != PayloadIndex(type)) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload does not hold a ", ValueTypeName(type), " value"));
  }
  return Value(type, std::move(payload));
}

absl::StatusOr<Value> Value::CastTo(ValueType target) const {
  if (target == type_) return *this;
  if (is_null()) {
    return Null(target);  // a null has no payload to lose
  } else if (type_ == ValueType::kInt32 && target == ValueType::kInt64) {
    return Int64(get<int32_t>());
  } else if (type_ == ValueType::kFloat && target == ValueType::kDouble) {
    return Double(get<float>());
  } else if (type_ == ValueType::kInt32List && target == ValueType::kInt64List) {
    const auto& v = get<std::vector<int32_t>>();
    return Int64List(std::vector<int64_t>(v.begin(), v.end()));
  } else if (type_ == ValueType::kFloatList && target == ValueType::kDoubleList) {
    const auto& v = get<std::vector<float>>();
    return DoubleList(std::vector<double>(v.begin(), v.end()));
  }
  return absl::InvalidArgumentError(absl::StrCat("a ", ValueTypeName(type_),
                                                 " value cannot be used as ",
                                                 ValueTypeName(target)));
}

std::string Value::DebugString() const {
  if (is_null()) return "null";
  switch (type_) {
    case ValueType::kInt32: return absl::StrCat(get<int32_t>());
    case ValueType::kInt64: return absl::StrCat(get<int64_t>());
    case ValueType::kFloat: return absl::StrCat(get<float>());
    case ValueType::kDouble: return absl::StrCat(get<double>());
    case ValueType::kBool: return get<bool>() ? "true" : "false";
    case ValueType::kString: return Quote(get<std::string>());
    case ValueType::kBytes: return absl::StrCat("<", get<std::string>().size(), " bytes>");
    case ValueType::kUnixTimestamp: return FormatRfc3339(get<int64_t>());
    case ValueType::kInt32List: return absl::StrCat("[", absl::StrJoin(get<std::vector<int32_t>>(), ","), "]");
    case ValueType::kInt64List: return absl::StrCat("[", absl::StrJoin(get<std::vector<int64_t>>(), ","), "]");
    case ValueType::kFloatList: return absl::StrCat("[", absl::StrJoin(get<std::vector<float>>(), ","), "]");
    case ValueType::kDoubleList: return absl::StrCat("[", absl::StrJoin(get<std::vector<double>>(), ","), "]");
    case ValueType::kBoolList: {
      std::vector<std::string> parts;
      for (bool b : get<std::vector<bool>>()) parts.push_back(b ? "true" : "false");
      return absl::StrCat("[", absl::StrJoin(parts, ","), "]");
    }
    case ValueType::kStringList: {
      std::vector<std::string> parts;
      for (const auto& s : get<std::vector<std::string>>()) parts.push_back(Quote(s));
      return absl::StrCat("[", absl::StrJoin(parts, ","), "]");
    }
    case ValueType::kBytesList: return absl::StrCat("<", get<std::vector<std::string>>().size(), " byte strings>");
    case ValueType::kUnixTimestampList: {
      std::vector<std::string> parts;
      for (int64_t t : get<std::vector<int64_t>>()) parts.push_back(FormatRfc3339(t));
      return absl::StrCat("[", absl::StrJoin(parts, ","), "]");
    }
  }
  return "?";
}

}  // namespace pantry
