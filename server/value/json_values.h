// JSON <-> feature values (the admin CLI, stream entries). Timestamps are RFC 3339
// strings (or integer microseconds), bytes are base64, lists are arrays, null is null.
#ifndef PANTRY_SERVER_VALUE_JSON_VALUES_H_
#define PANTRY_SERVER_VALUE_JSON_VALUES_H_

#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "server/value/value.h"

namespace pantry {

// Converts `json` into a value of `type`. InvalidArgument naming the
// expected type and what was found.
absl::StatusOr<Value> JsonToValue(const nlohmann::json& json, ValueType type);

// Parses command-line text ("1001", "abc") as a value of `type`, as
// FieldTextToValue does.
absl::StatusOr<Value> TextToValue(absl::string_view text, ValueType type);

// Parses the text of a Redis stream entry's field as a value of `type`:
// integers and decimals as written, BOOL as true/false/1/0, UNIX_TIMESTAMP as
// RFC 3339 or integer microseconds since the epoch, STRING and BYTES as the
// text itself, lists as a JSON array; empty text is null (but an empty
// STRING or BYTES). InvalidArgument quoting the text and naming the type.
absl::StatusOr<Value> FieldTextToValue(absl::string_view text, ValueType type);

nlohmann::json ValueToJson(const Value& value);

}  // namespace pantry

#endif  // PANTRY_SERVER_VALUE_JSON_VALUES_H_
