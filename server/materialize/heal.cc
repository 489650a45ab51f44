#include "server/materialize/heal.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/offline/events.h"
#include "server/offline/scan.h"
#include "server/online/row.h"
#include "server/serving/aggregations.h"
#include "server/transform/aggregate.h"
#include "server/value/encoding.h"

namespace pantry::materialize {
namespace {

using offline::RowValues;
using transform::EntityState;

// One entity: its join key values and, per round, what is known of it.
struct HealEntity {
  std::string text;  // the key as offline::AppendKey writes it
  std::vector<Value> keys;
  std::string state_key;
  Micros fold_boundary = kNoTimestamp;  // when its state was first read this round
  std::vector<EntityState::RawEvent> history;
};

std::string KeyText(const std::vector<RowValues>& keys, const std::vector<bool>& integer,
                    int64_t row) {
  std::string text;
  for (size_t k = 0; k < keys.size(); ++k) offline::AppendKey(keys[k], row, integer[k], &text);
  return text;
}

// Pass 1: the entities with events in reach, keys only.
class KeySink : public offline::EventSink {
 public:
  KeySink(const FeatureView& view, int threads) : found_(static_cast<size_t>(threads)) {
    for (const JoinKey& k : view.join_keys) integer_.push_back(offline::IsIntegerKey(k.value_type));
  }
  int64_t Entity(const std::vector<RowValues>& keys, int64_t row, Micros, int worker) override {
    for (size_t k = 0; k < keys.size(); ++k) {
      if (keys[k].IsNull(row)) return -1;
    }
    auto& mine = found_[static_cast<size_t>(worker)];
    std::string text = KeyText(keys, integer_, row);
    if (!mine.contains(text)) {
      std::vector<Value> values;
      for (const RowValues& k : keys) values.push_back(k.Get(row));
      mine.emplace(std::move(text), std::move(values));
    }
    return -1;  // nothing more to read
  }
  void Event(int64_t, EntityState::RawEvent, int) override {}

  // Merges the workers' finds into `entities` (keys not there yet).
  void MergeInto(std::map<std::string, HealEntity>* entities) {
    for (auto& mine : found_) {
      for (auto& [text, values] : mine) {
        auto [it, inserted] = entities->try_emplace(text);
        if (inserted) it->second.keys = std::move(values);
      }
      mine.clear();
    }
  }

 private:
  std::vector<bool> integer_;
  std::vector<absl::flat_hash_map<std::string, std::vector<Value>>> found_;
};

// Pass 2: the events of the entities of this round.
class HistorySink : public offline::EventSink {
 public:
  // Keeps the events of the entities i of `index` with i % passes == pass.
  HistorySink(const FeatureView& view, const absl::flat_hash_map<std::string, int64_t>& index,
              int threads, int pass, int passes)
      : index_(index), pass_(pass), passes_(passes), events_(static_cast<size_t>(threads)),
        unknown_(static_cast<size_t>(threads)) {
    for (const JoinKey& k : view.join_keys) integer_.push_back(offline::IsIntegerKey(k.value_type));
  }
  int64_t Entity(const std::vector<RowValues>& keys, int64_t row, Micros, int worker) override {
    for (size_t k = 0; k < keys.size(); ++k) {
      if (keys[k].IsNull(row)) return -1;
    }
    std::string text = KeyText(keys, integer_, row);
    auto it = index_.find(text);
    if (it == index_.end()) {
      auto& mine = unknown_[static_cast<size_t>(worker)];
      if (!mine.contains(text)) {
        std::vector<Value> values;
        for (const RowValues& k : keys) values.push_back(k.Get(row));
        mine.emplace(std::move(text), std::move(values));
      }
      return -1;
    }
    if (passes_ > 1 && it->second % passes_ != pass_) return -1;
    return it->second;
  }
  void Event(int64_t entity, EntityState::RawEvent event, int worker) override {
    events_[static_cast<size_t>(worker)].emplace_back(entity, std::move(event));
  }

  const absl::flat_hash_map<std::string, int64_t>& index_;
  const int64_t pass_, passes_;
  std::vector<bool> integer_;
  std::vector<std::vector<std::pair<int64_t, EntityState::RawEvent>>> events_;
  // Entities that appeared since pass 1: healed in the next round.
  std::vector<absl::flat_hash_map<std::string, std::vector<Value>>> unknown_;
};

std::vector<uint32_t> StateIds() { return {AggregationStateId()}; }

// Reads the fold boundary of every entity's state.
absl::Status ReadFoldBoundaries(OnlineStore* store, const FeatureView& view,
                                const transform::AggregationPlan& plan,
                                std::vector<HealEntity*>& entities, const HealOptions& options) {
  for (size_t begin = 0; begin < entities.size();
       begin += static_cast<size_t>(options.batch_entities)) {
    if (options.interrupt) PANTRY_RETURN_IF_ERROR(options.interrupt());
    const size_t end = std::min(entities.size(), begin + static_cast<size_t>(options.batch_entities));
    std::vector<ViewRead> reads;
    for (size_t i = begin; i < end; ++i) reads.push_back({entities[i]->state_key, view.name, StateIds()});
    PANTRY_ASSIGN_OR_RETURN(std::vector<ViewReadResult> results,
                            store->ReadSync(std::move(reads), NowMicros() + options.write_timeout));
    for (size_t i = begin; i < end; ++i) {
      EntityState state(&plan);
      uint64_t version = 0;
      PANTRY_RETURN_IF_ERROR(
          DecodeAggregationState(results[i - begin], entities[i]->state_key, &state, &version));
      entities[i]->fold_boundary = state.FoldBoundary();
    }
  }
  return absl::OkStatus();
}

// Heals a batch of entities: read, heal, write over the version read;
// again for the states written meanwhile. Entities whose folds moved since
// their boundary was read go to `deferred`.
absl::Status HealBatch(OnlineStore* store, const FeatureView& view,
                       const transform::AggregationPlan& plan, std::vector<HealEntity*> batch,
                       Micros now, const HealOptions& options, HealStats* stats,
                       std::vector<HealEntity*>* deferred) {
  while (!batch.empty()) {
    if (options.interrupt) PANTRY_RETURN_IF_ERROR(options.interrupt());
    std::vector<ViewRead> reads;
    for (HealEntity* e : batch) reads.push_back({e->state_key, view.name, StateIds()});
    const Micros deadline = NowMicros() + options.write_timeout;
    PANTRY_ASSIGN_OR_RETURN(std::vector<ViewReadResult> results,
                            store->ReadSync(std::move(reads), deadline));
    std::vector<ViewWrite> writes;
    std::vector<HealEntity*> written;
    for (size_t i = 0; i < batch.size(); ++i) {
      EntityState state(&plan);
      uint64_t version = 0;
      PANTRY_RETURN_IF_ERROR(
          DecodeAggregationState(results[i], batch[i]->state_key, &state, &version));
      if (!state.Heal(batch[i]->history, batch[i]->fold_boundary, now)) {
        deferred->push_back(batch[i]);
        continue;
      }
      ViewWrite w;
      w.key = batch[i]->state_key;
      w.view = view.name;
      w.online_ttl = state.Expiry(now);
      AppendRowHeader(static_cast<Micros>(version + 1), &w.row);
      AppendRowEntry(AggregationStateId(), EncodeValue(Value::Bytes(state.Encode())), &w.row);
      writes.push_back(std::move(w));
      written.push_back(batch[i]);
    }
    if (writes.empty()) break;
    PANTRY_ASSIGN_OR_RETURN(WriteResult result, store->WriteSync(std::move(writes), deadline));
    std::vector<HealEntity*> again;
    for (size_t index : result.skipped) again.push_back(written[index]);
    stats->written += static_cast<int64_t>(written.size() - again.size());
    stats->conflicts += static_cast<int64_t>(again.size());
    batch = std::move(again);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HealStats> HealAggregationView(const Registry& registry, const FeatureView& view,
                                              OnlineStore* store, const HealOptions& options) {
  if (!view.is_aggregation()) {
    return absl::FailedPreconditionError(
        absl::StrCat("feature view '", view.name, "' is not an aggregation view"));
  }
  if (!view.online) {
    return absl::FailedPreconditionError(
        absl::StrCat("feature view '", view.name, "' is not online (online: false)"));
  }
  auto source = registry.sources.find(view.source);
  const transform::AggregationPlan plan = transform::MakePlan(
      view, source == registry.sources.end() ? 0 : source->second.allowed_lateness);
  const Micros now = options.clock();
  // Events older than every window of a read from now on cannot matter.
  const Micros lo = now - plan.Horizon() - plan.largest_hop;
  const Micros hi = now + kMaxEventTimeAhead;
  const int threads = std::max(1, options.threads);
  HealStats stats;

  std::map<std::string, HealEntity> entities;
  {
    // The entities: those with events in the history, including what the
    // log holds yet.
    if (options.flush_log) PANTRY_RETURN_IF_ERROR(options.flush_log());
    KeySink keys(view, threads);
    PANTRY_ASSIGN_OR_RETURN(offline::EventScanStats scan,
                            offline::ScanViewEvents(registry, view, plan, lo, hi, threads,
                                                    options.interrupt, &keys));
    stats.rows_scanned += scan.rows_scanned;
    keys.MergeInto(&entities);
  }
  std::vector<HealEntity*> pending;
  std::vector<const Value*> key_ptrs;
  for (auto& [text, e] : entities) {
    e.text = text;
    key_ptrs.clear();
    for (const Value& v : e.keys) key_ptrs.push_back(&v);
    e.state_key = AggregationStateKey(registry.project, view, key_ptrs);
    pending.push_back(&e);
  }
  stats.entities = static_cast<int64_t>(entities.size());

  while (!pending.empty() && stats.rounds < options.max_rounds) {
    ++stats.rounds;
    // 1. Where each state's folds stand, before the history is read.
    PANTRY_RETURN_IF_ERROR(ReadFoldBoundaries(store, view, plan, pending, options));
    // 2. Everything acknowledged here is in the history.
    if (options.flush_log) PANTRY_RETURN_IF_ERROR(options.flush_log());
    // 3. The history of this round's entities, in passes when their
    // events would not fit the memory budget together.
    absl::flat_hash_map<std::string, int64_t> index;
    for (size_t i = 0; i < pending.size(); ++i) {
      pending[i]->history.clear();
      index.emplace(pending[i]->text, static_cast<int64_t>(i));
    }
    PANTRY_ASSIGN_OR_RETURN(offline::EventScanSize size,
                            offline::MeasureViewEvents(registry, view, plan, lo, hi));
    const int passes = std::min<int>(
        offline::EventPasses(size.rows * (offline::HeldEventBytes(plan) + 8) + size.value_bytes,
                             options.memory_budget_bytes),
        static_cast<int>(std::min<size_t>(pending.size(), 4096)));
    stats.passes += passes;
    std::vector<HealEntity*> deferred;
    for (int pass = 0; pass < passes; ++pass) {
      HistorySink history(view, index, threads, pass, passes);
      PANTRY_ASSIGN_OR_RETURN(offline::EventScanStats scan,
                              offline::ScanViewEvents(registry, view, plan, lo, hi, threads,
                                                      options.interrupt, &history));
      stats.rows_scanned += scan.rows_scanned;
      std::vector<HealEntity*> mine;
      for (size_t i = static_cast<size_t>(pass); i < pending.size();
           i += static_cast<size_t>(passes)) {
        mine.push_back(pending[i]);
      }
      for (auto& part : history.events_) {
        stats.events += static_cast<int64_t>(part.size());
        for (auto& [i, event] : part) {
          pending[static_cast<size_t>(i)]->history.push_back(std::move(event));
        }
        std::vector<std::pair<int64_t, EntityState::RawEvent>>().swap(part);
      }
      // 4. Heal, batch by batch.
      for (size_t begin = 0; begin < mine.size();
           begin += static_cast<size_t>(options.batch_entities)) {
        const size_t end =
            std::min(mine.size(), begin + static_cast<size_t>(options.batch_entities));
        PANTRY_RETURN_IF_ERROR(HealBatch(
            store, view, plan, std::vector<HealEntity*>(mine.begin() + begin, mine.begin() + end),
            now, options, &stats, &deferred));
      }
      for (HealEntity* e : mine) std::vector<EntityState::RawEvent>().swap(e->history);
      // Entities that appeared meanwhile join the next round.
      for (auto& found : history.unknown_) {
        for (auto& [text, values] : found) {
          auto [it, inserted] = entities.try_emplace(text);
          if (!inserted) continue;
          it->second.text = text;
          it->second.keys = std::move(values);
          key_ptrs.clear();
          for (const Value& v : it->second.keys) key_ptrs.push_back(&v);
          it->second.state_key = AggregationStateKey(registry.project, view, key_ptrs);
          deferred.push_back(&it->second);
          ++stats.entities;
        }
      }
    }
    pending = std::move(deferred);
  }
  stats.unhealed = static_cast<int64_t>(pending.size());
  return stats;
}

}  // namespace pantry::materialize
