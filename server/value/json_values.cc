#include "server/value/json_values.h"

#include <cmath>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/time.h"

namespace pantry {
namespace {

using nlohmann::json;

absl::string_view JsonKind(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "something else";
  }
}

absl::Status Mismatch(const json& j, ValueType type) {
  return absl::InvalidArgumentError(absl::StrCat("expected ", ValueTypeName(type), ", got ",
                                                 JsonKind(j), " (", j.dump(), ")"));
}

absl::StatusOr<int64_t> ToInt(const json& j, ValueType type, int64_t lo, int64_t hi) {
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) {
      return absl::InvalidArgumentError(absl::StrCat(u, " is out of range for ", ValueTypeName(type)));
    }
    return static_cast<int64_t>(u);
  }
  if (!j.is_number_integer()) return Mismatch(j, type);
  const int64_t v = j.get<int64_t>();
  if (v < lo || v > hi) {
    return absl::InvalidArgumentError(absl::StrCat(v, " is out of range for ", ValueTypeName(type)));
  }
  return v;
}

absl::StatusOr<Value> ScalarFromJson(const json& j, ValueType type) {
  switch (type) {
    case ValueType::kInt32: {
      auto v = ToInt(j, type, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
      if (!v.ok()) return v.status();
      return Value::Int32(static_cast<int32_t>(*v));
    }
    case ValueType::kInt64: {
      auto v = ToInt(j, type, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
      if (!v.ok()) return v.status();
      return Value::Int64(*v);
    }
    case ValueType::kFloat:
      if (!j.is_number()) return Mismatch(j, type);
      return Value::Float(j.get<float>());
    case ValueType::kDouble:
      if (!j.is_number()) return Mismatch(j, type);
      return Value::Double(j.get<double>());
    case ValueType::kBool:
      if (!j.is_boolean()) return Mismatch(j, type);
      return Value::Bool(j.get<bool>());
    case ValueType::kString:
      if (!j.is_string()) return Mismatch(j, type);
      return Value::String(j.get<std::string>());
    case ValueType::kBytes: {
      if (!j.is_string()) return Mismatch(j, type);
      std::string out;
      if (!absl::Base64Unescape(j.get<std::string>(), &out)) {
        return absl::InvalidArgumentError("expected BYTES as a base64 string");
      }
      return Value::Bytes(std::move(out));
    }
    case ValueType::kUnixTimestamp: {
      if (j.is_number_integer() || j.is_number_unsigned()) {  // microseconds since the epoch
        auto v = ToInt(j, type, std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max());
        if (!v.ok()) return v.status();
        return Value::UnixTimestamp(*v);
      }
      if (!j.is_string()) return Mismatch(j, type);
      auto t = ParseRfc3339(j.get<std::string>());
      if (!t.ok()) return t.status();
      return Value::UnixTimestamp(*t);
    }
    default: return Mismatch(j, type);
  }
}

template <typename T>
std::vector<T> Elements(const std::vector<Value>& values) {
  std::vector<T> out;
  out.reserve(values.size());
  for (const Value& v : values) out.push_back(v.get<T>());
  return out;
}

}  // namespace

absl::StatusOr<Value> JsonToValue(const json& j, ValueType type) {
  if (j.is_null()) return Value::Null(type);
  if (!IsListType(type)) return ScalarFromJson(j, type);
  if (!j.is_array()) return Mismatch(j, type);
  const ValueType element = ElementType(type);
  std::vector<Value> items;
  for (const json& e : j) {
    if (e.is_null()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a ", ValueTypeName(type), " cannot hold null elements"));
    }
    auto v = ScalarFromJson(e, element);
    if (!v.ok()) return v.status();
    items.push_back(*std::move(v));
  }
  switch (type) {
    case ValueType::kInt32List: return Value::Int32List(Elements<int32_t>(items));
    case ValueType::kInt64List: return Value::Int64List(Elements<int64_t>(items));
    case ValueType::kFloatList: return Value::FloatList(Elements<float>(items));
    case ValueType::kDoubleList: return Value::DoubleList(Elements<double>(items));
    case ValueType::kBoolList: return Value::BoolList(Elements<bool>(items));
    case ValueType::kStringList: return Value::StringList(Elements<std::string>(items));
    case ValueType::kBytesList: return Value::BytesList(Elements<std::string>(items));
    case ValueType::kUnixTimestampList: return Value::UnixTimestampList(Elements<int64_t>(items));
    default: return Mismatch(j, type);
  }
}

absl::StatusOr<Value> FieldTextToValue(absl::string_view text, ValueType type) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("'", absl::CHexEscape(text.substr(0, 64)), "' is not a valid ",
                     ValueTypeName(type)));
  };
  if (type == ValueType::kString) return Value::String(std::string(text));
  if (type == ValueType::kBytes) return Value::Bytes(std::string(text));
  if (text.empty()) return Value::Null(type);
  switch (type) {
    case ValueType::kInt32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad();
      return Value::Int32(v);
    }
    case ValueType::kInt64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad();
      return Value::Int64(v);
    }
    case ValueType::kFloat: {
      float v;
      if (!absl::SimpleAtof(text, &v)) return bad();
      return Value::Float(v);
    }
    case ValueType::kDouble: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return bad();
      return Value::Double(v);
    }
    case ValueType::kBool:
      if (text == "true" || text == "1") return Value::Bool(true);
      if (text == "false" || text == "0") return Value::Bool(false);
      return bad();
    case ValueType::kUnixTimestamp: {
      int64_t micros;
      if (absl::SimpleAtoi(text, &micros)) return Value::UnixTimestamp(micros);
      auto t = ParseRfc3339(text);
      if (!t.ok()) return bad();
      return Value::UnixTimestamp(*t);
    }
    default: {  // lists: a JSON array
      json j = json::parse(text, nullptr, false);
      if (j.is_discarded()) return bad();
      return JsonToValue(j, type);
    }
  }
}

absl::StatusOr<Value> TextToValue(absl::string_view text, ValueType type) {
  return FieldTextToValue(text, type);
}

json ValueToJson(const Value& v) {
  if (v.is_null()) return nullptr;
  switch (v.type()) {
    case ValueType::kInt32: return v.get<int32_t>();
    case ValueType::kInt64: return v.get<int64_t>();
    case ValueType::kFloat: return std::isfinite(v.get<float>()) ? json(v.get<float>()) : json();
    case ValueType::kDouble: return std::isfinite(v.get<double>()) ? json(v.get<double>()) : json();
    case ValueType::kBool: return v.get<bool>();
    case ValueType::kString: return v.get<std::string>();
    case ValueType::kBytes: return absl::Base64Escape(v.get<std::string>());
    case ValueType::kUnixTimestamp: return FormatRfc3339(v.get<int64_t>());
    case ValueType::kInt32List: return v.get<std::vector<int32_t>>();
    case ValueType::kInt64List: return v.get<std::vector<int64_t>>();
    case ValueType::kFloatList: return v.get<std::vector<float>>();
    case ValueType::kDoubleList: return v.get<std::vector<double>>();
    case ValueType::kBoolList: {
      json out = json::array();
      for (bool b : v.get<std::vector<bool>>()) out.push_back(b);
      return out;
    }
    case ValueType::kStringList: return v.get<std::vector<std::string>>();
    case ValueType::kBytesList: {
      json out = json::array();
      for (const auto& s : v.get<std::vector<std::string>>()) out.push_back(absl::Base64Escape(s));
      return out;
    }
    case ValueType::kUnixTimestampList: {
      json out = json::array();
      for (int64_t t : v.get<std::vector<int64_t>>()) out.push_back(FormatRfc3339(t));
      return out;
    }
  }
  return nullptr;
}

}  // namespace pantry
