// The rows of one push (or one batch of stream entries) as one write-ahead
// log record: the view, the column names, and every row's event time and
// values in the one value encoding (server/value/encoding.h), back to back.
//
//   "PB1" | varint view length | view | varint columns | (varint length,
//   name)... | varint rows | per row: u64 event time (little endian), then
//   one encoded value per column
//
// The columns are the view's join keys then its features, by name, as the
// registry had them when the rows were pushed; the compactor maps them to
// the view's definition at compaction time.
#ifndef PANTRY_SERVER_INGEST_LOG_BATCH_H_
#define PANTRY_SERVER_INGEST_LOG_BATCH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/time.h"
#include "server/value/value.h"

namespace pantry::ingest {

struct LogRow {
  Micros event_time = 0;
  std::vector<Value> values;  // one per LogBatch::columns
};

struct LogBatch {
  std::string view;
  std::vector<std::string> columns;  // join keys, then features
  std::vector<LogRow> rows;
};

// Appends the record of `batch` to `out`. Every row must hold one value per
// column.
void EncodeLogBatch(const LogBatch& batch, std::string* out);

// Decodes a record made by EncodeLogBatch. DATA_LOSS naming what is wrong
// (a bad magic, a count past the end, a value that does not decode,
// trailing bytes).
absl::StatusOr<LogBatch> DecodeLogBatch(absl::string_view record);

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_LOG_BATCH_H_
