// `pantry bench historical`: runs the point-in-time join in process (no
// server) on a feature repository and an entity file, and reports time and
// peak RSS. scripts/bench-historical runs it beside DuckDB.
#pragma once

#include <string>
#include <vector>

namespace pantry::cli {

struct HistoricalBenchOptions {
  std::string repo;       // feature repository YAML
  std::string entities;   // entity Parquet file
  std::string service;    // feature service (or features)
  std::vector<std::string> features;
  std::string out;
  int threads = 2;
  bool json = false;
};

int RunHistoricalBench(const HistoricalBenchOptions& options);

}  // namespace pantry::cli
