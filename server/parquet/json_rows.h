// Rows of decoded Parquet column chunks as JSON text, one object per line:
// the output form of `pantry parquet head --output json` (docs/cli.md).
//
// Values: integers exact (unsigned types unsigned), FLOAT/DOUBLE in shortest
// round-trip form ("NaN", "Infinity", "-Infinity" as strings), strings as
// JSON strings, other binary as {"base64": "..."}, DATE as "YYYY-MM-DD",
// TIMESTAMP as "YYYY-MM-DDTHH:MM:SS.fffffffff" (9 digits) with a "Z" suffix
// when UTC-adjusted, DECIMAL as a number (unscaled / 10^scale in double
// arithmetic), UUID as its 36-character text, lists as arrays, null as null.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/parquet/reader.h"
#include "server/parquet/schema.h"

namespace pantry::parquet {

// Formats `rows` rows, starting at row 0, of one row group: `chunks[i]` is
// the decoded chunk of column `*columns[i]`. Appends one line
// per row to `*out`. DataLoss when a chunk's levels and values disagree
// with each other (fewer values than present slots, a list that does not
// start at repetition level 0).
absl::Status AppendJsonRows(const std::vector<const Column*>& columns,
                            const std::vector<const ColumnData*>& chunks, int64_t rows,
                            std::string* out);

// Appends value `index` (counting the non-null values of `data`) of column
// `column` in the form above, ignoring lists: the element's form.
// DataLoss when `data` has no such value.
absl::Status AppendJsonValue(const Column& column, const ColumnData& data, size_t index,
                             std::string* out);

// Appends `s` as a JSON string literal (quotes included, control characters
// escaped).
void AppendJsonString(absl::string_view s, std::string* out);

// Formatting helpers shared with the CLI's other outputs.
std::string FormatDate(int64_t days_since_epoch);
// `value` counts `unit`s since the epoch.
std::string FormatTimestamp(int64_t value, TimeUnit unit, bool utc_adjusted);

}  // namespace pantry::parquet
