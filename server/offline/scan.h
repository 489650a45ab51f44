// What the scans of a view's history share (the point-in-time join and
// materialization): opening a view's files with their columns checked,
// ranking candidate rows, keys as compact byte strings, and running work on
// several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/offline/columns.h"
#include "server/offline/source.h"
#include "server/parquet/reader.h"
#include "server/registry/registry.h"

namespace pantry::offline {

// Runs fn(i, worker) for i in [0, n) on up to `threads` threads (worker in
// [0, threads) says which, so per-thread state can be indexed by it); stops
// handing out work after the first error and returns it.
absl::Status ParallelFor(int threads, size_t n,
                         const std::function<absl::Status(size_t, int)>& fn);

// Whether a join key of this type is encoded as an integer by AppendKey.
bool IsIntegerKey(ValueType t);

// Appends the key encoding of `v`'s row `row` to `key`: integers as 8
// bytes, byte strings length-prefixed; several keys are appended in turn.
void AppendKey(const RowValues& v, int64_t row, bool integer, std::string* key);

// Where a candidate feature row is, and how it ranks.
struct Candidate {
  Micros event = kNoTimestamp;
  Micros created = kNoTimestamp;
  uint32_t file = 0;
  uint32_t row_group = 0;
  uint32_t row = 0;
  bool set = false;

  // A set candidate: the row `row` of row group `row_group` of file `file`.
  static Candidate At(Micros event, Micros created, uint32_t file, uint32_t row_group,
                      uint32_t row) {
    return Candidate{event, created, file, row_group, row, true};
  }
};

// Total order: event time, then created time, then position (so exact
// duplicates resolve to the last one in file order, the same every run).
inline bool Better(const Candidate& a, const Candidate& b) {
  if (!b.set) return a.set;
  if (!a.set) return false;
  if (a.event != b.event) return a.event > b.event;
  if (a.created != b.created) return a.created > b.created;
  if (a.file != b.file) return a.file > b.file;
  if (a.row_group != b.row_group) return a.row_group > b.row_group;
  return a.row > b.row;
}

// One open file of a view's history, with its column positions.
struct ViewFile {
  std::unique_ptr<parquet::FileReader> reader;
  std::vector<int> key_columns;      // in view.join_keys order
  int time_column = -1;
  int created_column = -1;           // -1: the source has none
  std::vector<int> feature_columns;  // per entry of `features` given to OpenViewFile
};

// Opens `path`, a file of `view`'s history read with `source`'s column
// names, and finds and checks the join keys, the time columns and the
// columns at `features` (indexes into view.written_columns(): the features
// of a plain view, the event columns of an aggregation view). InvalidArgument naming
// the view, source, file and column when one is missing or of an
// incompatible type; the reader's errors for unreadable files.
absl::StatusOr<ViewFile> OpenViewFile(const FeatureView& view, const DataSource& source,
                                      const std::string& path, const std::vector<int>& features);

// One row group of one of ScanPlan::files.
struct ScanTask {
  uint32_t file, row_group;
};

// The files of a view's history a scan for event times in [lo, hi] reads,
// opened (OpenViewFile with `features`), and their row groups that may hold
// such times: files are skipped by their partitions, row groups by their
// statistics, and both counted.
struct ScanPlan {
  std::vector<ViewFile> files;
  std::vector<ScanTask> tasks;
  int64_t files_skipped = 0;
  int64_t row_groups_skipped = 0;
};
absl::StatusOr<ScanPlan> PlanScan(const FeatureView& view, const DataSource& source,
                                  const std::vector<SourceFile>& listed, Micros lo, Micros hi,
                                  const std::vector<int>& features);

}  // namespace pantry::offline
