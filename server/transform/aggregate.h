// The aggregation kernel: one implementation of every aggregation function,
// called by the online path (tiles in the online store, updated by pushes
// and streams, merged at read time) and by the offline path (point-in-time
// joins over the raw events of the offline history). docs/concepts.md,
// "Aggregations", states the semantics; this file is their only code.
//
// Window: the value at time t aggregates the entity's events with
// start <= event time <= t, start = t - window rounded down to a multiple of
// the hop (UTC, from the epoch). Events are ordered by (event time, event
// id); `last` and `last_n` take the greatest in that order. Nulls
// are ignored; with no value in the window `count` is 0 and the others null.
//
// Partial aggregates (State) are kept per hop and merged: every function's
// merge is associative and commutative, so any grouping of the same events
// gives the same count, min, max, last, last_n and approx_count_distinct, and
// sums, means and deviations equal within floating-point rounding.
//
// Everything here is pure computation: no I/O, no clocks, no locks. States
// and plans are values; const methods are safe from any thread.
#ifndef PANTRY_SERVER_TRANSFORM_AGGREGATE_H_
#define PANTRY_SERVER_TRANSFORM_AGGREGATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/common/time.h"
#include "server/registry/registry.h"
#include "server/value/value.h"

namespace pantry::transform {

// A stable 64-bit hash of `bytes` (the same on every machine and build).
uint64_t Hash64(absl::string_view bytes, uint64_t seed = 0);

// Where an event sorts, and who it is: events are ordered by time, then id
// (ties in time are broken arbitrarily, but the same way everywhere); two
// events with the same id are one event.
struct EventKey {
  Micros time = 0;
  uint64_t id = 0;

  friend bool operator<(const EventKey& a, const EventKey& b) {
    return a.time != b.time ? a.time < b.time : a.id < b.id;
  }
  friend bool operator==(const EventKey& a, const EventKey& b) {
    return a.time == b.time && a.id == b.id;
  }
};

// The identity of an event: a hash of its join keys, its event time and the
// values of every written column of its view (FeatureView::written_columns,
// in order), each by its value encoding. Events equal in all of them are one
// event, however often they are delivered.
class EventIdBuilder {
 public:
  void AddValue(const Value& v);
  void AddTime(Micros t);
  uint64_t Finish() const;

 private:
  std::string bytes_;
};

// Rounds `t` down to a multiple of `step` (> 0), toward minus infinity.
inline Micros FloorTo(Micros t, Micros step) {
  const Micros q = t / step;
  return (t % step != 0 && t < 0 ? q - 1 : q) * step;
}

// The first event time inside the window of `window`/`hop` ending at `t`.
inline Micros WindowStart(Micros t, Micros window, Micros hop) {
  return FloorTo(t - window, hop);
}

// One partial aggregate kept per hop: the aggregations of a view that differ
// only in their window share it.
struct TileSpec {
  AggFunction function = AggFunction::kCount;
  int column = -1;  // index in the view's written_columns(); -1: the events
  ValueType column_type = ValueType::kInt64;
  int n = 0;        // last_n
  Micros hop = 0;
  // Stable across restarts and registry versions: names the spec's states
  // in stored tiles (a hash of function, column name, n and hop).
  uint32_t id = 0;
  int hop_set = 0;  // index in AggregationPlan::hops
  int local = 0;    // index among the specs of its hop
  int slot = -1;    // index in AggregationPlan::used_columns; -1: the events
};

// How one view's aggregations are computed: built once per registry
// snapshot from a validated aggregation view.
struct AggregationPlan {
  struct Output {
    int spec = 0;      // in specs
    int hop_set = 0;   // in hops
    Micros window = 0;
    ValueType dtype = ValueType::kInt64;
  };
  std::vector<TileSpec> specs;
  std::vector<Micros> hops;                    // distinct, ascending
  std::vector<std::vector<int>> specs_of_hop;  // per hop: its specs, ascending
  std::vector<std::vector<int>> outputs_of_hop;  // per hop: its outputs, ascending
  std::vector<Output> outputs;                 // one per aggregation, in the view's order
  std::vector<int> used_columns;               // written columns any spec reads, ascending
  std::vector<uint32_t> used_column_ids;       // FeatureId of their names
  std::vector<ValueType> used_column_types;
  std::vector<Micros> longest_window_of_hop;   // per hop
  Micros longest_window = 0;
  Micros largest_hop = 0;
  Micros allowed_lateness = 0;                 // the source's

  // How far back from a read time events can matter: the longest window
  // plus its hop (a window spans up to window + hop).
  Micros Horizon() const;
};

// The plan of `view` (an aggregation view) with `allowed_lateness`.
AggregationPlan MakePlan(const FeatureView& view, Micros allowed_lateness);

// One spec's partial aggregate over some events.
class State {
 public:
  // Adds one event's value (the spec's column; ignored for a count of
  // events). Nulls are ignored.
  void Add(const TileSpec& spec, const Value& value, const EventKey& key);
  // Adds every event `other` holds (of the same spec).
  void Merge(const TileSpec& spec, const State& other);
  // The aggregate's value, of type `dtype` (the aggregation's result type).
  Value Finalize(const TileSpec& spec, ValueType dtype) const;
  bool empty() const { return n_ == 0; }

  // A self-delimiting encoding (appended), and its inverse, which consumes
  // the state from the front of `*in`; false when the bytes are malformed.
  void Encode(const TileSpec& spec, std::string* out) const;
  bool Decode(const TileSpec& spec, absl::string_view* in);

 private:
  // Values added (count, sum, mean, stddev, hll: non-null values; min, max:
  // 0 or 1; last, last_n: entries).
  int64_t n_ = 0;
  int64_t i_ = 0;        // integer sum, min, max
  double a_ = 0, b_ = 0;  // float sum and its compensation; mean and M2; min, max
  std::vector<std::pair<EventKey, std::string>> latest_;  // last, last_n: newest first
  std::vector<uint8_t> registers_;  // approx_count_distinct: empty, sparse or dense
};

// The state of one entity of one aggregation view in the online store:
// partial aggregates of closed hops (tiles) and the raw events of open ones.
//
// An event is late when it is older than the newest event time applied
// minus the source's allowed lateness: it does not change the state (the
// offline history still gets it, and Heal brings it in). Events at or after
// the fold boundary B = min(newest - allowed lateness, now) stay raw, so
// that duplicates are recognised (by id) and a read is exact to the
// microsecond at its head; when B passes the end of a hop, that hop's raw
// events are folded into its tile. Tiles that no window can reach any more
// are dropped.
class EntityState {
 public:
  struct RawEvent {
    EventKey key;
    // One per plan.used_columns; the first inline, since many views
    // aggregate one column and events are many.
    absl::InlinedVector<Value, 1> values;
  };
  struct Tile {
    int64_t index = 0;          // hop index: covers [index * hop, (index + 1) * hop)
    std::vector<State> states;  // one per spec of the hop
  };
  struct TileSet {
    std::vector<Tile> tiles;  // ascending index
    // Per spec of the hop: the first time from which its tiles are complete
    // (a spec added to the view after the state was started knows only the
    // events folded since); kNoTimestamp: complete.
    std::vector<Micros> complete_from;
    // Tiles before this time were dropped (no window reached them); a
    // window made longer since cannot be answered from them.
    Micros pruned_before = kNoTimestamp;
  };

  struct ApplyStats {
    int64_t applied = 0;
    int64_t late = 0;
    int64_t duplicate = 0;
  };

  explicit EntityState(const AggregationPlan* plan);

  // Applies `events` (any order) at time `now`.
  ApplyStats Apply(std::vector<RawEvent> events, Micros now);

  // The value of every output of the plan at time `t` (t >= the time of the
  // last Apply for an exact head). `present[o]` is false where the state
  // cannot answer (a spec added since its tiles began; Heal fixes it).
  void Read(Micros t, std::vector<Value>* values, std::vector<bool>* present) const;

  // Rebuilds the state from `history`, the entity's events of the offline
  // history since at least now - plan.Horizon() (any order, duplicates
  // allowed), keeping the raw events this state has applied that the
  // history may lack. `fold_boundary` is what FoldBoundary() returned before
  // the history was read: when folds have moved on since, tiles may hold
  // events the history lacks, and Heal returns false without changing
  // anything (read again and retry).
  bool Heal(std::vector<RawEvent> history, Micros fold_boundary, Micros now);

  Micros newest() const { return newest_; }
  Micros FoldBoundary() const { return boundary_; }
  bool empty() const { return newest_ == kNoTimestamp; }
  // How long the stored state stays useful after `now` with no event: the
  // expiry its key gets.
  Micros Expiry(Micros now) const;

  // The stored form (docs/redis-layout.md, "Aggregation state"), and its
  // inverse; DataLoss naming nothing (the caller names the key) when the
  // bytes are malformed.
  std::string Encode() const;
  absl::Status Decode(absl::string_view bytes);

  const std::vector<RawEvent>& raw() const { return raw_; }
  const std::vector<TileSet>& tile_sets() const { return sets_; }

 private:
  void Fold(Micros now);
  void AddToTile(size_t hop_set, const RawEvent& e);
  void Prune(Micros now);

  const AggregationPlan* plan_;
  Micros newest_ = kNoTimestamp;
  Micros boundary_ = kNoTimestamp;  // B; kNoTimestamp: nothing folded yet
  std::vector<RawEvent> raw_;       // ascending key
  std::vector<TileSet> sets_;       // one per plan hop
};

// Offline: the outputs of a plan at a series of times for one entity, from
// its raw events. `events` sorted by key with duplicates removed; `times`
// ascending. Calls `emit(i, output, value)` for each time i and output.
// Uses the same State code as the online path, tiled by the same hops.
void EvaluateAt(const AggregationPlan& plan, absl::Span<const EntityState::RawEvent> events,
                absl::Span<const Micros> times,
                absl::FunctionRef<void(size_t, size_t, Value)> emit);

// Sorts `events` by key and removes repeated keys (keeping one of each).
void SortAndDedupe(std::vector<EntityState::RawEvent>* events);
// The same in place on a range: returns how many distinct events it now
// starts with (the rest is unspecified).
size_t SortAndDedupe(absl::Span<EntityState::RawEvent> events);

}  // namespace pantry::transform

#endif  // PANTRY_SERVER_TRANSFORM_AGGREGATE_H_
