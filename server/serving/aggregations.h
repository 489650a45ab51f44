// Aggregation views in the online store: each entity's EntityState
// (server/transform/aggregate.h) under its own key, written over the
// version it was read at.
//
// Key: OnlineKey(project, view, keys) + ":tiles", in the entity's hash
// slot. Value: a row (server/online/row.h) whose event time is the state's
// version, a counter, and whose one entry (id kAggregationStateId) is the
// state's stored form as BYTES. Writing version V + 1 over a read of V
// goes through the store's newer-wins write unchanged: it lands exactly
// when nobody wrote since the read (V + 1 is newer than V only), and when
// somebody did, it is skipped and the write is redone from a fresh read.
#ifndef PANTRY_SERVER_SERVING_AGGREGATIONS_H_
#define PANTRY_SERVER_SERVING_AGGREGATIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"
#include "server/serving/online_serving.h"
#include "server/transform/aggregate.h"

namespace pantry {

// FeatureId("#state"): '#' cannot start a feature name, so no feature clashes.
uint32_t AggregationStateId();

// The key of an entity's aggregation state (`values`: one per join key, of
// its type, not null).
std::string AggregationStateKey(absl::string_view project, const FeatureView& view,
                                const std::vector<const Value*>& values);

// The event of a checked row of an aggregation view: its identity (keys,
// event time, every written column) and the values of the plan's columns.
transform::EntityState::RawEvent MakeRawEvent(const transform::AggregationPlan& plan,
                                              const CheckedRow& row);

struct AggregationWriteResult {
  int64_t applied = 0;     // events now in their entity's state
  int64_t late = 0;        // older than the entity's newest minus allowed lateness
  int64_t duplicate = 0;   // already applied
  int64_t conflicts = 0;   // states written by another writer meanwhile (redone)
};

// Applies checked rows (events) of aggregation view `view` to their
// entities' states at time `now`: one read of every state touched, one
// write, and again for the states another writer changed meanwhile.
// Blocking: never call it on a gRPC thread. The store's errors;
// FAILED_PRECONDITION for a stored state this build cannot read, naming
// the key; DATA_LOSS for a corrupt one; ABORTED when states keep changing
// under it past the deadline.
absl::StatusOr<AggregationWriteResult> WriteAggregationEvents(
    OnlineStore* store, const Registry& registry, const FeatureView& view,
    const std::vector<CheckedRow>& rows, Micros now, Micros deadline);

// The online write of checked rows of any view, blocking: newer-wins rows
// for a plain view; WriteAggregationEvents for an aggregation view, whose
// applied events count as written and late or repeated ones as skipped.
absl::StatusOr<WriteResult> WriteCheckedRowsSync(OnlineStore* store, const Registry& registry,
                                                 const FeatureView& view,
                                                 const std::vector<CheckedRow>& rows, Micros now,
                                                 Micros deadline);

// Decodes the stored value of an aggregation state (a ViewReadResult of a
// read with the one id AggregationStateId()) into `state`; an absent one
// leaves it empty. Errors name `key`.
absl::Status DecodeAggregationState(const ViewReadResult& result, absl::string_view key,
                                    transform::EntityState* state, uint64_t* version);

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVING_AGGREGATIONS_H_
