// `pantry parquet schema|head|stats`: inspect Parquet files with Pantry's own
// reader, without a server.
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

}  // namespace pantry::cli
