#include "client/cli/online_cmd.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/cli/output.h"
#include "client/cli/repo_file.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"
#include "server/online/migrate.h"

namespace pantry::cli {

int RunOnlineMigrate(const OnlineMigrateOptions& o) {
  if (o.batch < 1) return BadInput("--batch must be at least 1");
  auto registry = LoadRepositoryFile(o.config);
  if (!registry.ok()) return Fail(registry.status(), "online migrate");
  if (!o.redis.empty()) {
    if (absl::Status s = OverrideRedis(o.redis, "--redis", &*registry); !s.ok()) {
      return BadInput(s.message());
    }
  }
  if (registry->online_store.type == OnlineStoreConfig::Type::kRedisCluster) {
    return BadInput(
        "online_store is a Redis Cluster: Pantry has only ever written rows (layout 2) to a "
        "cluster, so there is nothing to migrate");
  }
  if (registry->online_store.type != OnlineStoreConfig::Type::kRedis) {
    return BadInput("online_store is not Redis: there is nothing to migrate");
  }
  MigrationOptions options;
  options.scan_count = o.batch;
  for (const auto& [name, view] : registry->feature_views) options.online_ttls[name] = view.online_ttl;
  ProgressLine line;
  options.progress = [&](const MigrationProgress& p) {
    const double fraction =
        p.keys_total > 0 ? static_cast<double>(p.keys_scanned) / static_cast<double>(p.keys_total)
                         : 1.0;
    line.Update(fraction, absl::StrCat(p.pass == 1 ? "migrating" : "checking", "  ",
                                       Count(p.keys_scanned), " keys scanned  ",
                                       Count(p.hashes_migrated), " hashes migrated  ",
                                       Count(p.rows_written), " rows written"));
  };
  spdlog::set_level(spdlog::level::warn);
  absl::StatusOr<MigrationProgress> done =
      MigrateToRows(registry->online_store, registry->project, options);
  line.Finish();
  if (!done.ok()) return Fail(done.status(), "online migrate");
  if (o.json) {
    std::cout << nlohmann::json{{"project", registry->project},
                                {"hashes_migrated", done->hashes_migrated},
                                {"rows_written", done->rows_written},
                                {"rows_skipped_newer", done->rows_skipped},
                                {"hashes_retried", done->hashes_retried},
                                {"passes", done->pass},
                                {"seconds", line.elapsed_seconds()}}
                     .dump()
              << "\n";
  } else {
    std::cout << "project '" << registry->project << "' is in online layout 2: "
              << Count(done->hashes_migrated) << " hashes migrated into "
              << Count(done->rows_written) << " rows ("
              << Count(done->rows_skipped) << " skipped: a newer row was stored, "
              << Count(done->hashes_retried) << " hashes written to meanwhile and migrated again) in "
              << Duration(line.elapsed_seconds()) << "\n";
  }
  return 0;
}

}  // namespace pantry::cli
