// Reading Parquet columns as Pantry values: which Parquet column types a
// feature dtype, an entity key type or an event time may be read from, and
// the conversions themselves (times to microseconds, keys to a comparable
// encoding, feature values to their dtype). Shared by apply-time checks,
// point-in-time joins and materialization, so every path reads a column the
// same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/parquet/reader.h"
#include "server/parquet/schema.h"
#include "server/parquet/writer.h"
#include "server/value/value.h"

namespace pantry::offline {

// OK when values of `column` can be read as feature dtype `dtype` without
// loss of meaning: the same type, a widening integer or float, a TIMESTAMP or
// DATE as UNIX_TIMESTAMP, DECIMAL or integers as DOUBLE, a STRING/ENUM/JSON as
// STRING, any byte array as BYTES, and list forms element-wise.
// InvalidArgument otherwise, saying both types ("is BYTE_ARRAY STRING
// OPTIONAL, the view declares DOUBLE").
absl::Status CheckFeatureColumn(const parquet::Column& column, ValueType dtype);

// OK when `column` can hold join key values of an entity whose value_type is
// `key_type` (INT32/INT64 from any non-list integer column, STRING from a
// string column, BYTES from any byte array). InvalidArgument otherwise.
absl::Status CheckKeyColumn(const parquet::Column& column, ValueType key_type);

// OK when `column` can be an event or created time: TIMESTAMP (any unit,
// UTC-adjusted or naive: naive times are read as UTC), DATE, INT96, or a plain
// INT64 (microseconds since the epoch). InvalidArgument otherwise.
absl::Status CheckTimeColumn(const parquet::Column& column);

// Converts a checked time column chunk (flat) to microseconds since the
// epoch, one per row; null rows get kNoTimestamp. Nanoseconds are floored.
void ReadTimes(const parquet::Column& column, const parquet::ColumnData& data,
               std::vector<Micros>* out);

// Random access to the rows of one decoded column chunk as values of one
// dtype. The column must have passed CheckFeatureColumn or CheckKeyColumn
// for `dtype`. Keeps references to `column` and `data`.
class RowValues {
 public:
  RowValues(const parquet::Column& column, const parquet::ColumnData& data, ValueType dtype);
  int64_t rows() const { return rows_; }
  bool IsNull(int64_t row) const;
  // The value of `row`; a null Value of the dtype for a null row.
  Value Get(int64_t row) const;
  // Integer keys: the value of a non-null row of an integer column.
  int64_t GetInt(int64_t row) const;
  // Appends the bytes of a non-null row of a byte-array column.
  absl::string_view GetBytes(int64_t row) const;

 private:
  Value Scalar(int64_t index, ValueType type) const;

  const parquet::Column& column_;
  const parquet::ColumnData& data_;
  const ValueType dtype_;
  int64_t rows_ = 0;
  // Flat: value index of each row, -1 for null. Lists: first slot of each
  // row plus a final entry, and the number of values before each slot.
  std::vector<int64_t> index_;
  std::vector<int64_t> values_before_;
};

// The Parquet column a feature of `dtype` is written as (training-set
// outputs, offline rows Pantry appends): INT32, INT64, FLOAT, DOUBLE,
// BOOLEAN, STRING, BYTE_ARRAY, TIMESTAMP(MICROS, UTC), and lists of those.
parquet::ColumnSpec OutputSpec(const std::string& name, ValueType dtype);

// Appends one row holding `value` (null allowed) to `out`, a column of
// OutputSpec(_, value.type()).
void AppendOutputValue(const Value& value, parquet::ColumnData* out);

}  // namespace pantry::offline
