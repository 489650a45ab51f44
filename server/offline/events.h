// The raw events of an aggregation view's offline history, as the
// aggregation kernel takes them: the point-in-time join and the rebuild of
// online states (heal) read them through this one scan, so an event has the
// same identity and values on both paths.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/offline/columns.h"
#include "server/registry/registry.h"
#include "server/transform/aggregate.h"

namespace pantry::offline {

// Where the scan's events go. Called from the scan's worker threads
// (`worker` in [0, threads)), possibly at once for different workers.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Whether the row `row` (its join keys `keys`, of the view's key types, and
  // its event time `t`) is wanted: an entity number >= 0, or -1 to skip it.
  // Only keys and times are read before this is asked.
  virtual int64_t Entity(const std::vector<RowValues>& keys, int64_t row, Micros t,
                         int worker) = 0;
  // A wanted event of entity `entity` (as Entity returned).
  virtual void Event(int64_t entity, transform::EntityState::RawEvent event, int worker) = 0;
};

struct EventScanStats {
  int64_t rows_scanned = 0;
  int64_t row_groups_skipped = 0;
  int64_t files_skipped = 0;
};

// What a scan for event times in [lo, hi] reads, known from the files'
// metadata before any column is read: an upper bound of the events it hands
// a sink, for memory budgets.
struct EventScanSize {
  int64_t rows = 0;         // rows of the row groups the scan reads
  int64_t value_bytes = 0;  // their uncompressed bytes in the plan's used
                            // strings, bytes and lists (held beside the events)
};
absl::StatusOr<EventScanSize> MeasureViewEvents(const Registry& registry, const FeatureView& view,
                                                const transform::AggregationPlan& plan, Micros lo,
                                                Micros hi);

// Bytes of one event held as an EntityState::RawEvent with the plan's used
// values, beside what its strings, bytes and lists hold.
int64_t HeldEventBytes(const transform::AggregationPlan& plan);

// The passes over the history that keep `bytes` of held events within
// `budget` (from 1 to 4096): each pass keeps the events of the entities
// with entity number % passes == pass.
int EventPasses(int64_t bytes, int64_t budget);

// Scans the history of aggregation view `view` (ListViewFiles) for events
// with lo <= event time <= hi, on `threads` threads; `interrupt` (may be
// empty) is asked before every row group. Event identity: keys, time and
// every written column (transform::EventIdBuilder); values: the plan's used
// columns. Errors as the point-in-time join's for unreadable or mistyped
// files; the interrupt's status.
absl::StatusOr<EventScanStats> ScanViewEvents(const Registry& registry, const FeatureView& view,
                                              const transform::AggregationPlan& plan, Micros lo,
                                              Micros hi, int threads,
                                              const std::function<absl::Status()>& interrupt,
                                              EventSink* sink);

}  // namespace pantry::offline
