// The packed row: how every online store backend holds the values of one
// feature view for one entity (docs/redis-layout.md, "Rows").
//
//   row   := format (1 byte, kRowFormat)
//            event time (8 bytes: the int64 microseconds with the sign bit
//            flipped, big-endian, so that rows compare by event time as
//            unsigned bytes)
//            entry*
//   entry := feature id (4 bytes, little-endian: FeatureId of the name)
//            value (server/value/encoding.h; self-delimiting)
//
// Rows carry ids rather than names, so a row is small, and carry one id per
// value, so a row written before a schema change stays readable after it: a
// feature added since is absent (NOT_FOUND), one removed is skipped, and a
// widened type is widened by the reader because each value carries its type.
#ifndef PANTRY_SERVER_ONLINE_ROW_H_
#define PANTRY_SERVER_ONLINE_ROW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/common/time.h"
#include "server/value/encoding.h"  // FeatureId

namespace pantry {

inline constexpr uint8_t kRowFormat = 1;
inline constexpr size_t kRowHeaderSize = 9;

// Appends the format byte and `event_time`.
void AppendRowHeader(Micros event_time, std::string* out);
// Appends one entry: `id` and the value's encoding, which must be valid.
void AppendRowEntry(uint32_t id, absl::string_view encoding, std::string* out);

// A whole row from (feature name, encoding) pairs.
std::string PackRow(Micros event_time,
                    const std::vector<std::pair<std::string, std::string>>& values);

// Whether `row` starts with a header of kRowFormat (the check a store makes
// of the rows it is given to write).
bool IsRow(absl::string_view row);

// The event time of a row at least kRowHeaderSize bytes long.
Micros RowEventTime(absl::string_view row);

// Unpacks `row`: `*event_time` and, for each of `ids`, the value's encoding
// or nullopt when the row has none. Errors name `view` and `key`:
// FAILED_PRECONDITION for a format this build cannot read (never a guess),
// DATA_LOSS for a truncated or corrupt row.
absl::Status UnpackRow(absl::string_view row, const std::vector<uint32_t>& ids,
                       absl::string_view view, absl::string_view key, Micros* event_time,
                       std::vector<std::optional<std::string>>* values);

// The entries of `row` as (id, encoding) pairs, in order; same errors.
absl::Status RowEntries(absl::string_view row, absl::string_view view, absl::string_view key,
                        std::vector<std::pair<uint32_t, absl::string_view>>* entries);

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_ROW_H_
