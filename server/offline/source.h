// The files of a data source: a source's `path` is a Parquet file, a folder
// of them or a glob, and folders named `key=value` on the way to a file are
// Hive partitions (what Spark, Trino, DuckDB and pyarrow write). A date
// partition confines the event times of its files to one day (or one hour),
// so scans can skip files outside the time range they need.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/registry/registry.h"

namespace pantry::offline {

struct SourceFile {
  std::string path;  // absolute
  // Hive `key=value` folders between the source's root and the file,
  // outermost first; values with %XX escapes decoded. The root is the
  // source's folder, or for a glob the folder before its first wildcard; a
  // source that names one file has no partitions.
  std::vector<std::pair<std::string, std::string>> partitions;
  // [start, end) in microseconds the file's date partition confines event
  // times to, when one of its partition folders is date=, dt=, day= or
  // event_date= with a YYYY-MM-DD value (a UTC day); an hour=HH (0 to 23)
  // folder below such a day narrows it to that hour. Several date folders
  // intersect (an empty intersection gives start == end).
  std::optional<std::pair<Micros, Micros>> partition_time_range;
};

// Lists the Parquet files of a data source path (absolute):
// - a file: that file, whatever its name;
// - a folder: every file named *.parquet below it, recursively;
// - a glob: `*`, `?` and `[...]` match within one path component, `**` any
//   number of folders (none included). A match that is a folder is listed as
//   a folder; a match that is a file is taken whatever its name. Wildcards do
//   not match names starting with '.' or '_' unless the pattern component
//   itself starts with that character.
// Folders and files whose names start with '.' or '_' (`_SUCCESS`,
// `_temporary`, `.staging`) are skipped in folders, and so are Pantry's own
// temporary files (names containing ".tmp-"). Symbolic links are followed;
// a folder reached twice through links is listed once.
//
// A path that exists as written is never taken as a glob, so file names
// holding '[' work. Result sorted by path, no duplicates.
//
// NotFound naming the path when nothing matches (no such file, a folder or
// glob without Parquet files); PermissionDenied or Internal naming the
// folder or file when listing fails. Reads only directory entries, never
// file contents. Thread-safe.
absl::StatusOr<std::vector<SourceFile>> ListSourceFiles(const std::string& path);

// The folder of the rows Pantry itself appends to a view's history (pushes,
// streams): <offline_store.path>/views/<view>/, Parquet files with the same
// column names as the view's source, Hive partitions allowed.
std::string AppendedRowsFolder(const Registry& registry, const FeatureView& view);

// Every file of a view's history: its source's files, then the files in
// AppendedRowsFolder when that folder exists and holds any (each part
// sorted by path; that order breaks the last ties of a point-in-time join).
// Errors as ListSourceFiles for the source; FailedPrecondition for a view
// without a source.
absl::StatusOr<std::vector<SourceFile>> ListViewFiles(const Registry& registry,
                                                      const FeatureView& view);

// False only when the file's partitions prove it holds no event time in the
// closed range [lo, hi]; true when it has no time partition.
bool MayOverlap(const SourceFile& file, Micros lo, Micros hi);

// Exposed for tests: the [start, end) a Hive partition list confines event
// times to, as described at SourceFile::partition_time_range.
std::optional<std::pair<Micros, Micros>> PartitionTimeRange(
    const std::vector<std::pair<std::string, std::string>>& partitions);

}  // namespace pantry::offline
