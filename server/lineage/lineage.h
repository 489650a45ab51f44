// Lineage: OpenLineage run events (https://openlineage.io, RunEvent of spec
// 2-0-2) for what pantryd runs, appended as JSON lines to a file and read
// back by the admin API.
#ifndef PANTRY_SERVER_LINEAGE_LINEAGE_H_
#define PANTRY_SERVER_LINEAGE_LINEAGE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"

namespace pantry::lineage {

struct Dataset {
  std::string ns;    // "file" for local files, "redis://HOST:PORT", ...
  std::string name;  // the path, or "<project>.<view>"
  // Its columns (name, type), as the "schema" dataset facet; empty: none.
  std::vector<std::pair<std::string, std::string>> schema;
};

struct RunEvent {
  std::string event_type;  // START, COMPLETE, FAIL or ABORT
  Micros event_time = 0;
  std::string run_id;      // a UUID, the same for a run's events
  std::string job_namespace;
  std::string job_name;
  std::vector<Dataset> inputs;
  std::vector<Dataset> outputs;
  std::string error;  // FAIL and ABORT: the errorMessage run facet
  // Figures of the run, as the "pantry" run facet.
  std::map<std::string, int64_t> figures;
};

// A random (version 4) UUID.
std::string NewRunId();

// The event as one line of OpenLineage JSON (no newline).
std::string ToJson(const RunEvent& event);

// Appends events to, and reads them from, JSON-lines files. Thread-safe;
// appends from this process never interleave.
class LineageLog {
 public:
  // Appends `event` as one line to `path` (made with its folders if
  // missing), written with one write(2) in append mode and fsynced.
  // Internal naming the file on failure.
  absl::Status Append(const std::string& path, const RunEvent& event);

  // The events of `path` whose job name is `job_name` (all when empty), the
  // last `limit`, oldest first. No file: none. Lines that are not JSON are
  // skipped (a line cut short by a crash).
  absl::StatusOr<std::vector<std::string>> Read(const std::string& path,
                                                const std::string& job_name, size_t limit) const;

 private:
  mutable std::mutex mu_;
};

}  // namespace pantry::lineage

#endif  // PANTRY_SERVER_LINEAGE_LINEAGE_H_
