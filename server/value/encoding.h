// The one binary encoding of a feature value, shared by every path that
// stores values (the online store backends, and later the write-ahead log).
//
// Layout: one tag byte (the ValueType number; 0 for null followed by the
// type byte), then the payload. Fixed-width numbers are little-endian;
// strings and bytes are a varint length and the bytes; lists are a varint
// count followed by the elements (bools one byte each).
#ifndef PANTRY_SERVER_VALUE_ENCODING_H_
#define PANTRY_SERVER_VALUE_ENCODING_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "server/value/value.h"

namespace pantry {

// Appends the encoding of `value` to `out`.
void EncodeValue(const Value& value, std::string* out);
std::string EncodeValue(const Value& value);

// Decodes one value. DataLoss when the bytes are truncated, carry an unknown
// tag or have trailing bytes.
absl::StatusOr<Value> DecodeValue(absl::string_view bytes);

// The id of a feature in stored rows (server/online/row.h): the 32-bit
// FNV-1a hash of its name. The registry refuses a view with two features of
// the same id.
uint32_t FeatureId(absl::string_view feature);

// The length of the one encoded value that `bytes` starts with (bytes past
// it are not looked at), so that values can be packed back to back. DataLoss
// when the bytes are truncated or carry an unknown tag.
absl::StatusOr<size_t> EncodedValueSize(absl::string_view bytes);

}  // namespace pantry

#endif  // PANTRY_SERVER_VALUE_ENCODING_H_
