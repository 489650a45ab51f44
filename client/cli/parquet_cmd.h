// `pantry parquet schema|head|stats`: inspect Parquet files with Pantry's own
// reader, without a server. `pantry parquet from-jsonl`: write one from JSON
// lines (sample data, entity files for training sets).
#pragma once

#include <cstdint>
#include <string>

namespace pantry::cli {

struct ParquetArgs {
  std::string file;
  int64_t limit = 10;
  std::string columns;  // comma-separated top-level names; empty: all
  bool json = false;
};

// Each returns the process exit code: 0, 1 (the file is corrupt or cannot be
// read), 2 (bad arguments, no such file, not a Parquet file).
int ParquetSchema(const ParquetArgs& args);
int ParquetHead(const ParquetArgs& args);
int ParquetStats(const ParquetArgs& args);

struct FromJsonlArgs {
  std::string in;      // JSON lines, one object per row
  std::string out;     // Parquet file written (atomically: temp file, rename)
  std::string schema;  // "name:TYPE,name:TYPE,...", TYPE a feature value type
  bool json = false;
};

// Writes `in` as a Parquet file of the columns `schema` names, in that order,
// each as Pantry writes a feature of that type (offline::OutputSpec). Every
// line is an object holding exactly those fields; values as for `pantry
// write` (timestamps RFC 3339 strings, bytes base64, lists arrays), null
// allowed; blank lines are skipped. Returns 0, 2 (a bad schema or line,
// naming the line and field; nothing is written then, and an existing `out`
// is left as it was) or 1 (the output cannot be written).
int ParquetFromJsonl(const FromJsonlArgs& args);

}  // namespace pantry::cli
