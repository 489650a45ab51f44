// JSON <-> feature values for the admin CLI. Timestamps are RFC 3339
// strings, bytes are base64, lists are arrays, null is null.
#ifndef PANTRY_CLIENT_CLI_JSON_VALUES_H_
#define PANTRY_CLIENT_CLI_JSON_VALUES_H_

#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "server/value/value.h"

namespace pantry::cli {

// Converts `json` into a value of `type`. InvalidArgument naming the
// expected type and what was found.
absl::StatusOr<Value> JsonToValue(const nlohmann::json& json, ValueType type);

// Parses command-line text ("1001", "abc") as a value of `type` (scalars).
absl::StatusOr<Value> TextToValue(absl::string_view text, ValueType type);

nlohmann::json ValueToJson(const Value& value);

}  // namespace pantry::cli

#endif  // PANTRY_CLIENT_CLI_JSON_VALUES_H_
