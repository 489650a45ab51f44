// Point-in-time correct training data (GetHistoricalFeatures).
//
// For every entity row (join keys + an event time) and every requested
// feature view: the feature row with the same join keys whose event time is
// <= the entity row's time and > that time - ttl (ttl 0: no lower bound),
// the latest such event time, ties broken by the largest created timestamp
// (docs/point-in-time.md). No qualifying row gives nulls.
//
// How: the entity rows are grouped by key and sorted by time; each view's
// source is scanned once for its join keys and times only (partitions and
// row groups outside the entity rows' time range are skipped unread), and
// every feature row updates the best candidate of the entity rows it
// qualifies for. A second pass reads the feature columns of just the row
// groups that hold winners. Both passes run on `threads` threads. Entity
// rows that do not fit the memory budget are joined in consecutive chunks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/registry/registry.h"

namespace pantry::offline {

struct HistoricalRequest {
  // "view:feature" or "view:*" references; or a feature service name.
  std::vector<std::string> feature_refs;
  std::string feature_service;
  bool full_feature_names = false;
  // Parquet file of entity rows: the join keys of every requested view, the
  // timestamp column, and any other columns (passed through unchanged).
  std::string entities_path;
  std::string timestamp_column = "event_timestamp";
  // Where the result is written (atomically: temp file, fsync, rename).
  std::string output_path;
};

struct HistoricalOptions {
  int threads = 2;
  int64_t output_row_group_rows = 122880;
  // Memory for entity rows and their join state (offline_store.memory_budget).
  // Entity rows beyond it are joined in several chunks, each a scan of the
  // sources; the feature data itself is never held, whatever its size. The
  // raw events of aggregation views are held until evaluated: with them,
  // entity rows get half the budget, and events beyond what is left are
  // taken in passes over the view's history, a share of the entities each.
  int64_t memory_budget_bytes = int64_t{2} << 30;
  // Asked before every unit of work (a row group scanned or fetched, a view,
  // a chunk, an output row group): a non-OK answer stops the join, which
  // then returns that status and leaves no output file. Unset: never asked.
  // Called from the join's worker threads, possibly at once.
  std::function<absl::Status()> interrupt;
};

struct HistoricalStats {
  int64_t entity_rows = 0;
  int64_t feature_rows_scanned = 0;   // rows of key/time columns read, all views
  int64_t row_groups_skipped = 0;     // from partitions or statistics
  int64_t files_skipped = 0;
  int64_t values_found = 0;           // entity rows × views with a qualifying row
  int64_t chunks = 0;                 // entity chunks joined (1 unless over the budget)
  int64_t event_passes = 0;           // scans of aggregation views' events, over all chunks
                                      // (1 per view and chunk unless over the budget)
  // Wall time of the phases, summed over views.
  double index_seconds = 0;           // reading and grouping the entity rows
  double scan_seconds = 0;            // pass 1: keys and times
  double fetch_seconds = 0;           // pass 2: feature values of the winners
  double write_seconds = 0;           // the output file
};

// Runs the join. InvalidArgument for bad requests, naming what is wrong (an
// unknown feature, an output name clash without full names, an entity file
// lacking a join key or the timestamp column or holding them with the wrong
// type, a null entity time); FailedPrecondition for a view without a source;
// DataLoss / NotFound for unreadable sources, naming file and column; the
// status of options.interrupt when it stops the join. On any error no output
// file is left behind.
absl::StatusOr<HistoricalStats> GetHistoricalFeatures(const Registry& registry,
                                                      const HistoricalRequest& request,
                                                      const HistoricalOptions& options);

}  // namespace pantry::offline
