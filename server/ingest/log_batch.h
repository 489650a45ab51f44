// The rows of one push (or one batch of stream entries) as one write-ahead
// log record: the view, the column names, and every row's event time and
// values in the one value encoding (server/value/encoding.h), back to back.
//
//   "PB1" | flags (bit 0: also written online) | u64 logged-at time |
//   varint view length | view | varint columns | (varint length,
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
#include "server/registry/registry.h"
#include "server/serving/online_serving.h"
#include "server/value/value.h"

namespace pantry::ingest {

struct LogRow {
  Micros event_time = 0;
  std::vector<Value> values;  // one per LogBatch::columns
};

struct LogBatch {
  std::string view;
  // The rows were also written to the online store (push --to both): a
  // restart writes them online again (newer-wins makes that harmless), so
  // that the online store converges after a crash between log and store.
  bool online = false;
  // When pantryd took the rows (microseconds since the epoch): the created
  // timestamp of the rows in the offline history, so that of two rows with
  // one event time the later push wins a point-in-time join's tie.
  Micros logged_at = 0;
  std::vector<std::string> columns;  // join keys, then features
  std::vector<LogRow> rows;
};

// Appends the record of `batch` to `out`. Every row must hold one value per
// column.
void EncodeLogBatch(const LogBatch& batch, std::string* out);

// The rows of `batch` as rows of `view` as the registry defines it now: the
// batch's columns matched by name, a feature missing from the batch null, a
// column the view no longer has left out, values cast to the view's types (a
// value that cannot be cast becomes null and is counted in *not_castable). A
// row whose join key is missing or cannot be cast is left out and counted
// too.
std::vector<CheckedRow> RowsForView(const LogBatch& batch, const FeatureView& view,
                                    int64_t* not_castable);

// The same record, made straight from rows checked against `view` (columns:
// its join keys, then its features), without building a LogBatch.
void EncodeCheckedRows(const FeatureView& view, bool online, Micros logged_at,
                       const std::vector<CheckedRow>& rows, std::string* out);

// A batch of entries read from a stream source, as one log record: every
// entry's id, and per view fed by the source the rows made from them (each
// row knowing its entry). Whether an entry's rows go into the offline
// history is decided after the record is durable, when pantryd acknowledges
// the entries (see stream_consumer.h): one record per batch, so that a crash
// never logs a batch for some views only.
//
//   "PS1" | u64 logged-at time | varint source length | source |
//   varint entries | (varint length, id)... | varint views |
//   per view: varint length | a "PB1" record | varint rows | entry index per row (varint)
struct StreamViewRows {
  LogBatch batch;
  std::vector<uint32_t> entry_of_row;  // index into StreamBatch::entry_ids
};

struct StreamBatch {
  std::string source;
  Micros logged_at = 0;
  std::vector<std::string> entry_ids;
  std::vector<StreamViewRows> views;
};

// Whether `record` is a stream batch (else a push batch).
bool IsStreamBatch(absl::string_view record);

void EncodeStreamBatch(const StreamBatch& batch, std::string* out);

// DATA_LOSS as DecodeLogBatch.
absl::StatusOr<StreamBatch> DecodeStreamBatch(absl::string_view record);

// Decodes a record made by EncodeLogBatch. DATA_LOSS naming what is wrong
// (a bad magic, a count past the end, a value that does not decode,
// trailing bytes).
absl::StatusOr<LogBatch> DecodeLogBatch(absl::string_view record);

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_LOG_BATCH_H_
