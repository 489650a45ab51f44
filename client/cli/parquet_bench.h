// `pantry bench parquet`: times Pantry's Parquet reader over a whole file
// (every column decoded and aggregated) or its writer rewriting the file's
// data held in memory, with a fixed number of threads, and reports peak RSS.
// scripts/bench-parquet runs it beside DuckDB on the same file.
#pragma once

#include <string>

namespace pantry::cli {

struct ParquetBenchOptions {
  std::string file;
  std::string mode = "scan";  // scan | write
  std::string out;            // write: output path (removed after timing unless --keep)
  std::string codec = "snappy";
  int threads = 2;
  bool keep = false;
  bool json = false;
};

int RunParquetBench(const ParquetBenchOptions& options);

}  // namespace pantry::cli
