#include "client/cli/historical_bench.h"

#include "client/cli/repo_file.h"

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "nlohmann/json.hpp"
#include "server/offline/historical.h"
#include "server/registry/registry.h"

namespace pantry::cli {

int RunHistoricalBench(const HistoricalBenchOptions& o) {
  auto registry = LoadRepositoryFile(o.repo);
  if (!registry.ok()) {
    std::cerr << "pantry bench historical: " << registry.status().message() << "\n";
    return 2;
  }
  offline::HistoricalRequest request;
  request.feature_service = o.service;
  request.feature_refs = o.features;
  request.entities_path = o.entities;
  request.output_path = o.out;
  offline::HistoricalOptions options;
  options.threads = o.threads;
  options.memory_budget_bytes = registry->offline_store.memory_budget_bytes;
  const auto start = std::chrono::steady_clock::now();
  auto stats = offline::GetHistoricalFeatures(*registry, request, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!stats.ok()) {
    std::cerr << "pantry bench historical: " << stats.status() << "\n";
    return 1;
  }
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const double rss = static_cast<double>(ru.ru_maxrss) / 1024.0;
  if (o.json) {
    nlohmann::ordered_json j;
    j["engine"] = "pantry";
    j["seconds"] = seconds;
    j["peak_rss_mib"] = rss;
    j["entity_rows"] = stats->entity_rows;
    j["feature_rows_scanned"] = stats->feature_rows_scanned;
    j["values_found"] = stats->values_found;
    j["row_groups_skipped"] = stats->row_groups_skipped;
    j["chunks"] = stats->chunks;
    j["index_seconds"] = stats->index_seconds;
    j["scan_seconds"] = stats->scan_seconds;
    j["fetch_seconds"] = stats->fetch_seconds;
    j["write_seconds"] = stats->write_seconds;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "pantry historical: " << stats->entity_rows << " entity rows, "
              << stats->feature_rows_scanned << " feature rows scanned, " << stats->values_found
              << " view values found in " << seconds << " s (index " << stats->index_seconds
              << ", scan " << stats->scan_seconds << ", fetch " << stats->fetch_seconds
              << ", write " << stats->write_seconds << "), peak RSS " << rss << " MiB\n";
  }
  return 0;
}

}  // namespace pantry::cli
