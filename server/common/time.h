// Time representation and text formats used across Pantry.
//
// Event times are microseconds since the Unix epoch, UTC (int64), the same
// unit Parquet's TIMESTAMP(MICROS) uses. kNoTimestamp marks "no time".
#ifndef PANTRY_SERVER_COMMON_TIME_H_
#define PANTRY_SERVER_COMMON_TIME_H_

#include <cstdint>
#include <limits>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace pantry {

using Micros = int64_t;
inline constexpr Micros kNoTimestamp = std::numeric_limits<int64_t>::min();
inline constexpr Micros kMicrosPerSecond = 1'000'000;
// Written event times may be at most this far ahead of the clock: further
// is almost always a unit mistake (nanoseconds or milliseconds sent as
// microseconds), and such a value would win every later newer-wins
// comparison and never age out.
inline constexpr Micros kMaxEventTimeAhead = 86400 * kMicrosPerSecond;

// Current wall-clock time in microseconds since the epoch.
Micros NowMicros();

// Parses an RFC 3339 timestamp ("2026-01-31T12:00:00Z",
// "2026-01-31T12:00:00.123456+02:00"). A timestamp without offset is taken
// as UTC. Returns InvalidArgument naming the text on failure.
absl::StatusOr<Micros> ParseRfc3339(absl::string_view text);

// Formats as RFC 3339 in UTC with 'Z'; fractional seconds only when non-zero
// (6 digits).
std::string FormatRfc3339(Micros t);

// Parses a duration: a non-negative integer with unit s, m, h or d ("7d",
// "15m"); "0" alone means zero. Returns InvalidArgument naming the text.
absl::StatusOr<Micros> ParseDuration(absl::string_view text);

// Formats a duration in the largest unit that divides it ("7d", "90s", "0s").
std::string FormatDuration(Micros d);

}  // namespace pantry

#endif  // PANTRY_SERVER_COMMON_TIME_H_
