// `pantry online ...`: commands that work on the online store directly,
// without pantryd.
#pragma once

#include <string>

namespace pantry::cli {

struct OnlineMigrateOptions {
  std::string config;  // the feature repository: project and online_store
  std::string redis;   // HOST:PORT overriding online_store's
  int batch = 1000;    // keys per SCAN page and pipeline
  bool json = false;   // print the totals as JSON
};

// `pantry online migrate`: rewrites the project's online data from layout 1
// to layout 2 in place (server/online/migrate.h), with a progress bar on
// stderr. Exit code: 0 migrated (or nothing to do), 1 failed (run again
// once the cause is fixed: the migration resumes), 2 bad arguments.
int RunOnlineMigrate(const OnlineMigrateOptions& options);

}  // namespace pantry::cli
