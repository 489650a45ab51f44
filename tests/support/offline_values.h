// Reading back a view's offline history in tests. Header-only: link
// pantry_offline and pantry_parquet.
#ifndef PANTRY_TESTS_SUPPORT_OFFLINE_VALUES_H_
#define PANTRY_TESTS_SUPPORT_OFFLINE_VALUES_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/offline/columns.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"

namespace pantry::testing {

// Every value of INT64 column `column` in the Parquet files of `folder`,
// with how many times it appears (none when the folder does not exist).
inline std::map<int64_t, int> CountInt64Values(const std::filesystem::path& folder,
                                               const std::string& column) {
  std::map<int64_t, int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(folder, ec)) {
    if (e.path().extension() != ".parquet") continue;
    auto reader = parquet::FileReader::Open(e.path().string());
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) continue;
    const int c = (*reader)->schema().Find(column);
    for (int rg = 0; rg < (*reader)->num_row_groups(); ++rg) {
      parquet::ColumnData data;
      EXPECT_TRUE((*reader)->ReadColumn(rg, c, &data).ok());
      offline::RowValues values((*reader)->schema().columns()[c], data, ValueType::kInt64);
      for (int64_t r = 0; r < values.rows(); ++r) ++out[values.Get(r).get<int64_t>()];
    }
  }
  return out;
}

// Writes `rows` (one value per spec, nulls allowed) to a Parquet file at
// `path`, `group_rows` rows per row group.
inline void WriteParquetRows(const std::filesystem::path& path,
                             const std::vector<parquet::ColumnSpec>& specs,
                             const std::vector<std::vector<Value>>& rows, int64_t group_rows) {
  parquet::WriterOptions options;
  options.row_group_rows = group_rows;
  auto writer = parquet::FileWriter::Create(path.string(), specs, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<parquet::ColumnData> batch(specs.size());
  for (const auto& row : rows) {
    for (size_t c = 0; c < specs.size(); ++c) offline::AppendOutputValue(row[c], &batch[c]);
  }
  ASSERT_TRUE((*writer)->Write(batch, static_cast<int64_t>(rows.size())).ok());
  ASSERT_TRUE((*writer)->Close().ok());
}

}  // namespace pantry::testing

#endif  // PANTRY_TESTS_SUPPORT_OFFLINE_VALUES_H_
