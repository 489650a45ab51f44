// Migration of a project's online data from layout 1 (one hash per entity:
// a field per feature and "#ts:<view>" per view) to layout 2 (one packed row
// per entity and view, server/online/row.h), in place, on the Redis the
// online store config names (docs/redis-layout.md, "Migrating").
//
// Safe against concurrent writers: rows are written with the newer-wins row
// script, so a newer row written meanwhile (by a pantryd already on layout
// 2) is never replaced; a layout-1 hash is deleted only by a script that
// checks it still holds the event times that were migrated, so a write to
// it meanwhile (an older pantryd still running) sends it round again.
// Resumable: every step is idempotent, so a migration cut short (kill -9,
// Redis restart) is finished by running it again. The layout key reads
// "migrating" while it runs (pantryd refuses to serve) and "2" at the end,
// once a full scan found no layout-1 hash left.
#ifndef PANTRY_SERVER_ONLINE_MIGRATE_H_
#define PANTRY_SERVER_ONLINE_MIGRATE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/time.h"
#include "server/registry/registry.h"

namespace pantry {

struct MigrationProgress {
  int64_t keys_total = 0;       // DBSIZE when the migration began (all projects)
  int64_t keys_scanned = 0;     // keys the current pass has looked at
  int64_t pass = 0;             // 1 migrates, the next checks that nothing is left
  int64_t hashes_migrated = 0;  // layout-1 hashes rewritten and deleted
  int64_t rows_written = 0;     // rows that landed
  int64_t rows_skipped = 0;     // rows not written: a newer one was stored already
  int64_t hashes_retried = 0;   // hashes written to meanwhile, migrated again
};

struct MigrationOptions {
  // Expiry of the rows of each view (its online_ttl) when the hash had
  // none; a hash with an expiry passes what is left of it to its rows.
  std::map<std::string, Micros, std::less<>> online_ttls;
  int scan_count = 1000;  // SCAN COUNT, and keys migrated per pipeline
  // Called after every batch; must not block for long.
  std::function<void(const MigrationProgress&)> progress;
  // Asked after every batch; true stops the migration with CANCELLED
  // (running it again resumes).
  std::function<bool()> stop;
  // For tests: called with a batch's hashes after their rows were written,
  // just before each is deleted if unchanged (a write here must send the
  // hash round again).
  std::function<void(const std::vector<std::string>& keys)> before_delete;
};

// Migrates `project` on `config`'s Redis (type redis). Returns the totals.
// Errors: UNAVAILABLE (Redis unreachable or failing; run again), CANCELLED
// (options.stop said so; run again),
// FAILED_PRECONDITION (the project is in a layout this build does not know;
// hashes keep appearing because an older pantryd is still writing), DATA_LOSS
// (some hashes hold values Pantry cannot read: they are left in place and
// named, the layout key stays "migrating").
absl::StatusOr<MigrationProgress> MigrateToRows(const OnlineStoreConfig& config,
                                                absl::string_view project,
                                                const MigrationOptions& options);

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_MIGRATE_H_
