// Materialization: the latest row of every entity key of a feature view in
// a time window, carried from the view's history (offline) to the online
// store.
//
// For each entity key, among the view's rows with start <= event time < end:
// the latest event time, ties broken by the largest created timestamp, then
// by the last in file order (the same ranking as the point-in-time join).
// The winner is written newer-wins, like every online write, so a run never
// takes a key back in time and may race pushes and other runs safely; running
// the same window again converges to the same online state.
//
// How: the view's files are listed (ListViewFiles) and pruned by partitions
// and row-group statistics; pass 1 reads the key and time columns and keeps,
// per key, where its best row is; pass 2 reads the feature columns of only
// the row groups holding winners and writes them in batches, several in
// flight. Both passes use `threads` threads. The per-key state is the only
// thing that grows with the data; when the window's rows could exceed the
// memory budget, the keys are split by hash into partitions processed one
// after the other, each a scan of the files.
#ifndef PANTRY_SERVER_MATERIALIZE_MATERIALIZE_H_
#define PANTRY_SERVER_MATERIALIZE_MATERIALIZE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry::materialize {

struct MaterializeOptions {
  int threads = 2;
  // offline_store.memory_budget: bound on the per-key state of one partition.
  int64_t memory_budget_bytes = int64_t{2} << 30;
  // Rows per online write, and writes in flight at once.
  int write_batch_rows = 1000;
  int writes_in_flight = 8;
  // Deadline of each online write, from when it is sent.
  Micros write_timeout = 30 * kMicrosPerSecond;
  // Asked before every unit of work (a row group, a write batch); a non-OK
  // answer stops the run with that status. Called from several threads.
  std::function<absl::Status()> interrupt;
  // Aggregation views (their runs heal, server/materialize/heal.h): makes
  // every event this pantryd acknowledged part of the offline history;
  // empty: nothing to do.
  std::function<absl::Status()> flush_log;
  // Aggregation views: the time their states are healed at.
  std::function<Micros()> clock = NowMicros;
};

// Live counters of a run, for progress reports; updated as it goes, read
// from any thread.
struct MaterializeProgress {
  std::atomic<int64_t> rows_read{0};       // rows of the window's row groups scanned
  std::atomic<int64_t> rows_written{0};    // online writes that landed
  std::atomic<int64_t> rows_skipped{0};    // not newer than what the store held
  std::atomic<int64_t> bytes_read{0};      // compressed bytes of column chunks read
  std::atomic<int64_t> work_done{0};       // units (row groups scanned or fetched)
  std::atomic<int64_t> work_total{0};      // known so far; grows by pass
};

struct MaterializeStats {
  int64_t rows_read = 0;
  int64_t keys = 0;          // distinct entity keys with a row in the window
  int64_t rows_written = 0;
  int64_t rows_skipped = 0;  // not newer than the stored event time
  int64_t bytes_read = 0;
  int64_t files_skipped = 0;
  int64_t row_groups_skipped = 0;
  int partitions = 1;
  Micros scan_micros = 0;           // in pass 1 (keys and times), all partitions
  std::vector<std::string> inputs;  // the files read
};

// Materializes `view` for [start, end) into `store`. For an aggregation
// view the run is a heal (HealAggregationView): every entity's online state
// rebuilt from the history, whatever the window; keys counts the entities,
// rows_written the states written. FailedPrecondition for a
// view that is not online or has no source; InvalidArgument for start >= end
// or a file lacking a column or holding one of the wrong type (naming view,
// source, file and column); DataLoss / NotFound for unreadable files; the
// store's errors (UNAVAILABLE, ...) for failed writes; the interrupt's status.
// On an error, writes already made stay (each is newer-wins and complete), so
// a rerun converges. `progress` may be null.
absl::StatusOr<MaterializeStats> MaterializeView(const Registry& registry,
                                                 const FeatureView& view, Micros start,
                                                 Micros end, OnlineStore* store,
                                                 const MaterializeOptions& options,
                                                 MaterializeProgress* progress);

}  // namespace pantry::materialize

#endif  // PANTRY_SERVER_MATERIALIZE_MATERIALIZE_H_
