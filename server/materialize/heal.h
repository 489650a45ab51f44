// Heal: rebuilds the online states of an aggregation view
// (server/serving/aggregations.h) from the view's offline history, with the
// aggregation kernel, so that online equals offline again: late events
// (kept out of the online state when they arrived) are brought in, tiles of
// aggregations added to the view since an entity's state began are filled.
// Materialization of an aggregation view is this rebuild.
//
// Races with live writes are safe. The history is read after the states'
// fold boundaries and after this pantryd's write-ahead log was compacted
// (flush_log), so every event an entity's tiles hold is in the history as
// long as no hop was folded since; an entity whose fold line moved meanwhile
// is done again in a next round (at most max_rounds); a state written by
// another writer between the read and the write is read and healed again.
// Events applied online by another pantryd and not yet in the offline
// history at the time of the read are kept where they are raw, and are
// healed by the next run once folded.
#ifndef PANTRY_SERVER_MATERIALIZE_HEAL_H_
#define PANTRY_SERVER_MATERIALIZE_HEAL_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry::materialize {

struct HealOptions {
  int threads = 2;
  int batch_entities = 256;  // states read and written at a time
  Micros write_timeout = 30 * kMicrosPerSecond;
  int max_rounds = 5;
  // Asked before every unit of work; a non-OK answer stops the heal.
  std::function<absl::Status()> interrupt;
  // Makes every event this pantryd acknowledged part of the offline history
  // (compacts the write-ahead log); empty: nothing to do.
  std::function<absl::Status()> flush_log;
  // Bound on the raw events held at once (offline_store.memory_budget):
  // beyond it, each round reads the history in passes, a share of the
  // entities each.
  int64_t memory_budget_bytes = int64_t{2} << 30;
  // The time states are healed at.
  std::function<Micros()> clock = NowMicros;
};

struct HealStats {
  int64_t rows_scanned = 0;  // rows of the history read (both scans)
  int64_t entities = 0;      // entities with events in the history's reach
  int64_t events = 0;        // events read (with duplicates)
  int64_t written = 0;       // states written
  int64_t conflicts = 0;     // states changed by another writer meanwhile (redone)
  int64_t unhealed = 0;      // entities still moving after max_rounds
  int rounds = 0;
  int passes = 0;            // scans of the history for events, over all rounds
};

// Heals every entity of aggregation view `view` that has events in its
// offline history within the reach of its longest window. FailedPrecondition
// for a view that is not an aggregation view or not online; the scan's
// errors (files), the store's (UNAVAILABLE, ...), the interrupt's.
absl::StatusOr<HealStats> HealAggregationView(const Registry& registry, const FeatureView& view,
                                              OnlineStore* store, const HealOptions& options);

}  // namespace pantry::materialize

#endif  // PANTRY_SERVER_MATERIALIZE_HEAL_H_
