// Feature values and their types.
//
// A Value carries its ValueType and either a payload or null. Null (the
// feature exists, its value is null) is distinct from a missing value, which
// is never a Value but a status (NOT_FOUND) next to it.
#ifndef PANTRY_SERVER_VALUE_VALUE_H_
#define PANTRY_SERVER_VALUE_VALUE_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace pantry {

// The value types of the feature repository. Each scalar has a list form.
// The numeric values are stable: they are written into the online store.
enum class ValueType : uint8_t {
  kInt32 = 1,
  kInt64 = 2,
  kFloat = 3,
  kDouble = 4,
  kBool = 5,
  kString = 6,
  kBytes = 7,
  kUnixTimestamp = 8,  // microseconds since the epoch, UTC
  kInt32List = 11,
  kInt64List = 12,
  kFloatList = 13,
  kDoubleList = 14,
  kBoolList = 15,
  kStringList = 16,
  kBytesList = 17,
  kUnixTimestampList = 18,
};

// "INT64", "FLOAT_LIST", ... as written in the feature repository.
absl::string_view ValueTypeName(ValueType type);
// Every type name, in the order of the ValueType numbers.
const std::vector<absl::string_view>& ValueTypeNames();
// Parses a name as written in the feature repository; nullopt when unknown.
std::optional<ValueType> ParseValueType(absl::string_view name);
bool IsListType(ValueType type);
// The element type of a list type; the type itself for a scalar.
ValueType ElementType(ValueType type);
// True for a stored numeric value numbers `from` that may be read as `to`
// without loss (INT32 -> INT64, FLOAT -> DOUBLE), or identical types.
bool IsWideningOf(ValueType from, ValueType to);

class Value {
 public:
  using Payload = std::variant<std::monostate,  // null
                               int32_t, int64_t, float, double, bool, std::string,
                               std::vector<int32_t>, std::vector<int64_t>, std::vector<float>,
                               std::vector<double>, std::vector<bool>, std::vector<std::string>>;

  // A null value of `type`.
  static Value Null(ValueType type) { return Value(type, std::monostate{}); }
  static Value Int32(int32_t v) { return Value(ValueType::kInt32, v); }
  static Value Int64(int64_t v) { return Value(ValueType::kInt64, v); }
  static Value Float(float v) { return Value(ValueType::kFloat, v); }
  static Value Double(double v) { return Value(ValueType::kDouble, v); }
  static Value Bool(bool v) { return Value(ValueType::kBool, v); }
  static Value String(std::string v) { return Value(ValueType::kString, std::move(v)); }
  static Value Bytes(std::string v) { return Value(ValueType::kBytes, std::move(v)); }
  static Value UnixTimestamp(int64_t micros) {
    return Value(ValueType::kUnixTimestamp, micros);
  }
  static Value Int32List(std::vector<int32_t> v) { return Value(ValueType::kInt32List, std::move(v)); }
  static Value Int64List(std::vector<int64_t> v) { return Value(ValueType::kInt64List, std::move(v)); }
  static Value FloatList(std::vector<float> v) { return Value(ValueType::kFloatList, std::move(v)); }
  static Value DoubleList(std::vector<double> v) { return Value(ValueType::kDoubleList, std::move(v)); }
  static Value BoolList(std::vector<bool> v) { return Value(ValueType::kBoolList, std::move(v)); }
  static Value StringList(std::vector<std::string> v) { return Value(ValueType::kStringList, std::move(v)); }
  static Value BytesList(std::vector<std::string> v) { return Value(ValueType::kBytesList, std::move(v)); }
  static Value UnixTimestampList(std::vector<int64_t> v) {
    return Value(ValueType::kUnixTimestampList, std::move(v));
  }

  // Builds a value of `type` from a payload; InvalidArgument when the payload
  // does not hold that type's C++ representation (null always fits).
  static absl::StatusOr<Value> Make(ValueType type, Payload payload);

  Value() : type_(ValueType::kInt64) {}

  ValueType type() const { return type_; }
  bool is_null() const { return std::holds_alternative<std::monostate>(payload_); }
  const Payload& payload() const { return payload_; }

  // Typed access; the caller must know the type (checked by std::get).
  template <typename T>
  const T& get() const { return std::get<T>(payload_); }

  // Converts to `target` where that is lossless: a widening (INT32 to INT64,
  // FLOAT to DOUBLE, and their lists) or identity; a null becomes a null of
  // `target`. InvalidArgument naming both types otherwise.
  absl::StatusOr<Value> CastTo(ValueType target) const;

  // A short human-readable form for logs and tables ("null", "1.5", "[1,2]").
  std::string DebugString() const;

  friend bool operator==(const Value& a, const Value& b) {
    return a.type_ == b.type_ && a.payload_ == b.payload_;
  }

 private:
  Value(ValueType type, Payload payload) : type_(type), payload_(std::move(payload)) {}
  ValueType type_;
  Payload payload_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_VALUE_VALUE_H_
