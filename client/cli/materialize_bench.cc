#include "client/cli/materialize_bench.h"

#include "client/cli/repo_file.h"

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "absl/strings/numbers.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"
#include "server/materialize/materialize.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry::cli {

int RunMaterializeBench(const MaterializeBenchOptions& o) {
  auto fail = [](const std::string& message, int code) {
    std::cerr << "pantry bench materialize: " << message << "\n";
    return code;
  };
  auto parsed = LoadRepositoryFile(o.repo);
  if (!parsed.ok()) return fail(std::string(parsed.status().message()), 2);
  Registry registry = *std::move(parsed);
  if (!o.redis.empty()) {
    if (absl::Status s = OverrideRedis(o.redis, "--redis", &registry); !s.ok()) {
      return fail(std::string(s.message()), 2);
    }
  }
  const FeatureView* view = registry.FindFeatureView(o.view);
  if (view == nullptr) return fail("unknown feature view '" + o.view + "'", 2);
  Micros start = std::numeric_limits<Micros>::min() + 1, end = NowMicros();
  if (!o.start.empty()) {
    auto t = ParseRfc3339(o.start);
    if (!t.ok()) return fail("--start: " + std::string(t.status().message()), 2);
    start = *t;
  }
  if (!o.end.empty()) {
    auto t = ParseRfc3339(o.end);
    if (!t.ok()) return fail("--end: " + std::string(t.status().message()), 2);
    end = *t;
  }
  // Connection notices would mix with the figures on stdout.
  spdlog::set_level(spdlog::level::warn);
  auto store = CreateOnlineStore(registry.online_store, registry.project);
  if (!store.ok()) return fail(std::string(store.status().message()), 1);
  materialize::MaterializeOptions options;
  options.threads = o.threads;
  options.memory_budget_bytes = registry.offline_store.memory_budget_bytes;
  const auto began = std::chrono::steady_clock::now();
  auto stats = materialize::MaterializeView(registry, *view, start, end, store->get(), options,
                                            nullptr);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  if (!stats.ok()) return fail(stats.status().ToString(), 1);
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const double rss = static_cast<double>(ru.ru_maxrss) / 1024.0;
  const double rate = seconds > 0 ? static_cast<double>(stats->rows_read) / seconds : 0;
  if (o.json) {
    nlohmann::ordered_json j;
    j["engine"] = "pantry";
    j["seconds"] = seconds;
    j["rows_read"] = stats->rows_read;
    j["rows_per_s"] = rate;
    j["keys"] = stats->keys;
    j["rows_written"] = stats->rows_written;
    j["rows_skipped_older"] = stats->rows_skipped;
    j["partitions"] = stats->partitions;
    j["scan_seconds"] = static_cast<double>(stats->scan_micros) / 1e6;
    j["peak_rss_mib"] = rss;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "pantry materialize " << o.view << ": " << stats->rows_read << " rows read, "
              << stats->keys << " keys, " << stats->rows_written << " written, "
              << stats->rows_skipped << " skipped as older in " << seconds << " s (" << rate
              << " rows/s, " << stats->partitions << " partition(s)), peak RSS " << rss
              << " MiB\n";
  }
  return 0;
}

}  // namespace pantry::cli
