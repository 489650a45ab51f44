// FileReader: reads Parquet files column chunk by column chunk.
//
// Open() reads and checks the footer; ReadColumn() decodes one column chunk
// of one row group into a ColumnData (levels plus the non-null values in
// their physical form). Memory in use is the chunk's bytes plus its decoded
// values, so a scan that reads one row group at a time is bounded by the
// largest row group it reads, whatever the file size.
//
// Errors name the file, the column and the byte offset: DataLoss for corrupt
// or truncated data, InvalidArgument for a file that is not Parquet,
// Unimplemented for features Pantry does not read (LZO, nested groups).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/parquet/byte_arrays.h"
#include "server/parquet/file.h"
#include "server/parquet/metadata.h"
#include "server/parquet/schema.h"

namespace pantry::parquet {

// One column chunk, decoded. A "slot" is one level entry: one row of a flat
// column, or one element (or the marker of a null or empty list) of a list
// column. Values are stored only for non-null slots, densely, in the one
// vector matching the physical type.
struct ColumnData {
  int64_t num_slots = 0;
  // One entry per slot; empty when the column's max definition (repetition)
  // level is 0, meaning every slot is a present value (a new row).
  std::vector<int16_t> def_levels;
  std::vector<int16_t> rep_levels;

  std::vector<uint8_t> bools;  // BOOLEAN, 0 or 1
  std::vector<int32_t> i32;    // INT32
  std::vector<int64_t> i64;    // INT64; INT96 converted to nanoseconds since the epoch
  std::vector<float> f32;      // FLOAT
  std::vector<double> f64;     // DOUBLE
  ByteArrays bytes;            // BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY

  // The number of values stored (non-null slots).
  size_t num_values() const;
  // Bytes held by the decoded data.
  size_t MemoryBytes() const;
  void Clear();
};

class FileReader {
 public:
  // Opens `file` and reads its footer. InvalidArgument when the file is not
  // Parquet (no "PAR1" magic, encrypted footer), DataLoss when the footer is
  // corrupt or names byte ranges outside the file.
  static absl::StatusOr<std::unique_ptr<FileReader>> Open(std::unique_ptr<RandomAccessFile> file);
  static absl::StatusOr<std::unique_ptr<FileReader>> Open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint64_t file_size() const { return file_->size(); }
  const FileMetaData& metadata() const { return meta_; }
  const Schema& schema() const { return schema_; }
  int num_row_groups() const { return static_cast<int>(meta_.row_groups.size()); }
  int64_t num_rows() const { return meta_.num_rows; }
  int64_t row_group_rows(int row_group) const { return meta_.row_groups[row_group].num_rows; }

  // Decodes column `column` (a leaf index) of row group `row_group` into
  // `*out`, replacing its contents (its buffers are reused). Thread-safe:
  // several threads may read different (or the same) chunks at once.
  absl::Status ReadColumn(int row_group, int column, ColumnData* out) const;

  // The [min, max] event times in microseconds of a TIMESTAMP or DATE column
  // in one row group, from its statistics, or nullopt when the statistics do
  // not say (absent, or a column of another type). Use it to skip row
  // groups outside a time range without reading them.
  std::optional<std::pair<int64_t, int64_t>> TimeRangeMicros(int row_group, int column) const;

 private:
  FileReader(std::unique_ptr<RandomAccessFile> file, FileMetaData meta, Schema schema)
      : file_(std::move(file)), meta_(std::move(meta)), schema_(std::move(schema)) {}

  std::unique_ptr<RandomAccessFile> file_;
  FileMetaData meta_;
  Schema schema_;
};

}  // namespace pantry::parquet
