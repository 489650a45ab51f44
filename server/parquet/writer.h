// FileWriter: writes Parquet files Pantry-side (offline store rows,
// training-set outputs, tests).
//
// What it writes: flat columns and lists of primitives (three-level LIST),
// data pages v1 with RLE levels, PLAIN values or a dictionary where it pays
// (RLE_DICTIONARY), SNAPPY / ZSTD / GZIP / LZ4_RAW / BROTLI / no
// compression, chunk statistics (min_value, max_value, null_count) with
// TYPE_ORDER column orders, key-value metadata. Rows are buffered per row
// group, so memory is one row group's values plus its encoded bytes.
//
// Nothing half-written is visible: data goes to a temporary file beside
// `path` that Close() fsyncs and renames over `path`; a writer destroyed
// without a successful Close() removes it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/parquet/metadata.h"
#include "server/parquet/reader.h"
#include "server/parquet/schema.h"

namespace pantry::parquet {

struct WriterOptions {
  Codec codec = Codec::kSnappy;
  int compression_level = 0;          // 0: the codec's default
  int64_t row_group_rows = 1 << 20;   // rows per row group (the last may be smaller)
  int64_t page_bytes = 1 << 20;       // target size of a data page before compression
  bool dictionary = true;             // dictionary-encode columns where it is smaller
  int threads = 1;                    // columns of a row group encoded in parallel
  std::vector<KeyValue> key_value_metadata;
  std::string created_by = "pantry version 0.1.0";
};

// Describes one column to write. Uses the fields of Column that define a
// column: name, physical, type_length (FIXED_LEN_BYTE_ARRAY), logical and its
// parameters (unit, utc_adjusted, scale, precision, bit_width, is_signed),
// nullable, is_list and element_nullable. Levels are derived from them.
using ColumnSpec = Column;

class FileWriter {
 public:
  // Validates the specs (InvalidArgument naming the column: empty or
  // duplicate names, a logical type that does not fit the physical one, a
  // codec this build cannot write) and creates the temporary file.
  static absl::StatusOr<std::unique_ptr<FileWriter>> Create(const std::string& path,
                                                            std::vector<ColumnSpec> columns,
                                                            WriterOptions options);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // The columns as they will be read back (with their levels).
  const std::vector<Column>& columns() const { return columns_; }

  // Appends `rows` rows: `batch[i]` holds the slots of column i in the form
  // FileReader produces (ColumnData); `def_levels` may be left empty when
  // every slot holds a value, `rep_levels` when no column is a list.
  // InvalidArgument when a column's slots, levels and values disagree with
  // each other or with `rows`; nothing of the batch is kept then.
  absl::Status Write(const std::vector<ColumnData>& batch, int64_t rows);
  // The same, taking the batch's buffers when nothing is buffered yet
  // (no copy); `batch` is left valid but unspecified.
  absl::Status Write(std::vector<ColumnData>&& batch, int64_t rows);

  // Writes the last row group and the footer, fsyncs and renames the file
  // into place. Once only.
  absl::Status Close();

 private:
  FileWriter(std::string path, std::string temp_path, int fd, std::vector<Column> columns,
             WriterOptions options);
  absl::Status CheckWrite(const std::vector<ColumnData>& batch, int64_t rows) const;
  absl::Status FlushRowGroup();
  absl::Status WriteBytes(const std::string& bytes);

  const std::string path_;
  const std::string temp_path_;
  int fd_;
  std::vector<Column> columns_;
  const WriterOptions options_;
  std::vector<ColumnData> buffered_;
  int64_t buffered_rows_ = 0;
  uint64_t offset_ = 0;
  FileMetaData meta_;
  bool closed_ = false;
  bool failed_ = false;
};

}  // namespace pantry::parquet
