// Reading back a view's offline history in tests. Header-only: link
// pantry_offline and pantry_parquet.
#ifndef PANTRY_TESTS_SUPPORT_OFFLINE_VALUES_H_
#define PANTRY_TESTS_SUPPORT_OFFLINE_VALUES_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "server/offline/columns.h"
#include "server/parquet/reader.h"

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

}  // namespace pantry::testing

#endif  // PANTRY_TESTS_SUPPORT_OFFLINE_VALUES_H_
