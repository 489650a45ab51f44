// Apply-time checks of a repository's data sources against the Parquet files
// they point to. pantryd passes ValidateSources to RegistryManager (wired in
// server/main.cc), so `pantry apply`, SIGHUP and startup reject a repository
// whose sources do not fit its feature views, exactly like a YAML error.
#pragma once

#include "absl/status/status.h"
#include "server/registry/registry.h"

namespace pantry::offline {

// Checks every data source of `registry`:
// - each source must match at least one Parquet file (ListSourceFiles);
// - for each feature view with a source, in every file of the source (footers
//   only, never data): the source's timestamp_field and, when set, its
//   created_timestamp_field exist and pass CheckTimeColumn; every join key of
//   the view exists and passes CheckKeyColumn for its entity's value_type;
//   every feature of the view's schema exists and passes CheckFeatureColumn.
// Sources used by no view are checked for existence only.
//
// OK when all pass. Otherwise InvalidArgument listing every problem, one per
// line, sorted by feature view (source problems first), each naming the
// view, the source, the file and the column:
//   source 'txn_src': no Parquet files at /data/txn
//   feature view 'user_stats': source 'txn_src' (/data/txn.parquet): column
//     'avg_amount_7d' is BYTE_ARRAY STRING OPTIONAL, the view declares DOUBLE
//   feature view 'user_stats': source 'txn_src' (/data/txn.parquet): no
//     column 'txn_count_7d' (columns: a, b, c)
// The same problem in several files of one source is one line naming the
// first file and how many more share it ("/data/t/a.parquet and 41 more
// files"), so a partitioned source cannot flood the message. Reads
// directory entries and footers only; thread-safe.
absl::Status ValidateSources(const Registry& registry);

}  // namespace pantry::offline
