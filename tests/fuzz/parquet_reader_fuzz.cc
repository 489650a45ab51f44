// libFuzzer target over the Parquet reader: opens the input as a file, reads
// every column chunk of every row group and formats the rows, as
// `pantry parquet head` does. Any crash, sanitizer report, leak or
// out-of-memory is a bug; errors are the expected outcome for most inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/parquet/json_rows.h"
#include "server/parquet/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pantry::parquet;
  auto reader = FileReader::Open(
      MakeMemoryFile(std::string(reinterpret_cast<const char*>(data), size), "fuzz.parquet"));
  if (!reader.ok()) return 0;
  const auto& schema = (*reader)->schema();
  std::vector<const Column*> columns;
  for (const Column& c : schema.columns()) {
    if (c.supported) columns.push_back(&c);
  }
  std::vector<ColumnData> chunks(columns.size());
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    bool ok = true;
    for (size_t i = 0; i < columns.size() && ok; ++i) {
      ok = (*reader)->ReadColumn(g, columns[i]->leaf_index, &chunks[i]).ok();
    }
    if (!ok) continue;
    std::vector<const ColumnData*> views;
    for (const ColumnData& c : chunks) views.push_back(&c);
    std::string out;
    (void)AppendJsonRows(columns, views, (*reader)->row_group_rows(g), &out);
    for (size_t i = 0; i < columns.size(); ++i) {
      (void)(*reader)->TimeRangeMicros(g, columns[i]->leaf_index);
    }
  }
  return 0;
}
