#include "server/serving/aggregations.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/online/row.h"
#include "server/value/encoding.h"

namespace pantry {

uint32_t AggregationStateId() {
  static const uint32_t id = FeatureId("#state");
  return id;
}

std::string AggregationStateKey(absl::string_view project, const FeatureView& view,
                                const std::vector<const Value*>& values) {
  return absl::StrCat(OnlineKey(project, view.name, view.join_keys, values), ":tiles");
}

transform::EntityState::RawEvent MakeRawEvent(const transform::AggregationPlan& plan,
                                              const CheckedRow& row) {
  transform::EventIdBuilder id;
  for (const Value& k : row.keys) id.AddValue(k);
  id.AddTime(row.event_time);
  for (const Value& v : row.features) id.AddValue(v);
  transform::EntityState::RawEvent e;
  e.key = {row.event_time, id.Finish()};
  for (int c : plan.used_columns) e.values.push_back(row.features[static_cast<size_t>(c)]);
  return e;
}

absl::Status DecodeAggregationState(const ViewReadResult& result, absl::string_view key,
                                    transform::EntityState* state, uint64_t* version) {
  *version = 0;
  if (!result.found || result.values.empty() || !result.values[0].has_value()) {
    return absl::OkStatus();
  }
  *version = static_cast<uint64_t>(result.event_time);
  absl::StatusOr<Value> bytes = DecodeValue(*result.values[0]);
  absl::Status s = bytes.ok() && bytes->type() == ValueType::kBytes && !bytes->is_null()
                       ? state->Decode(bytes->get<std::string>())
                       : absl::DataLossError("aggregation state is not BYTES");
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("key ", key, ": ", s.message()));
  return absl::OkStatus();
}

absl::StatusOr<AggregationWriteResult> WriteAggregationEvents(
    OnlineStore* store, const Registry& registry, const FeatureView& view,
    const std::vector<CheckedRow>& rows, Micros now, Micros deadline) {
  const DataSource* source = nullptr;
  if (auto it = registry.sources.find(view.source); it != registry.sources.end()) {
    source = &it->second;
  }
  const transform::AggregationPlan plan =
      transform::MakePlan(view, source == nullptr ? 0 : source->allowed_lateness);
  // The events of each entity.
  std::map<std::string, std::vector<transform::EntityState::RawEvent>> by_key;
  std::vector<const Value*> key_values;
  for (const CheckedRow& row : rows) {
    key_values.clear();
    for (const Value& k : row.keys) key_values.push_back(&k);
    by_key[AggregationStateKey(registry.project, view, key_values)].push_back(
        MakeRawEvent(plan, row));
  }
  struct Pending {
    const std::string* key;
    std::vector<transform::EntityState::RawEvent>* events;
  };
  std::vector<Pending> pending;
  for (auto& [key, events] : by_key) pending.push_back({&key, &events});
  AggregationWriteResult total;
  const std::vector<uint32_t> ids = {AggregationStateId()};
  while (!pending.empty()) {
    if (NowMicros() > deadline) {
      return absl::AbortedError(absl::StrCat(
          "feature view '", view.name, "': ", pending.size(),
          " aggregation states kept changing under this write until its deadline"));
    }
    std::vector<ViewRead> reads;
    reads.reserve(pending.size());
    for (const Pending& p : pending) reads.push_back({*p.key, view.name, ids});
    PANTRY_ASSIGN_OR_RETURN(std::vector<ViewReadResult> read, store->ReadSync(reads, deadline));
    std::vector<ViewWrite> writes;
    writes.reserve(pending.size());
    std::vector<AggregationWriteResult> each(pending.size());
    for (size_t i = 0; i < pending.size(); ++i) {
      transform::EntityState state(&plan);
      uint64_t version = 0;
      PANTRY_RETURN_IF_ERROR(DecodeAggregationState(read[i], *pending[i].key, &state, &version));
      const transform::EntityState::ApplyStats stats = state.Apply(*pending[i].events, now);
      each[i] = {stats.applied, stats.late, stats.duplicate, 0};
      ViewWrite w;
      w.key = *pending[i].key;
      w.view = view.name;
      w.online_ttl = state.Expiry(now);
      AppendRowHeader(static_cast<Micros>(version + 1), &w.row);
      AppendRowEntry(AggregationStateId(), EncodeValue(Value::Bytes(state.Encode())), &w.row);
      writes.push_back(std::move(w));
    }
    PANTRY_ASSIGN_OR_RETURN(WriteResult written, store->WriteSync(std::move(writes), deadline));
    std::vector<Pending> again;
    size_t next_skipped = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (next_skipped < written.skipped.size() && written.skipped[next_skipped] == i) {
        ++next_skipped;
        ++total.conflicts;
        again.push_back(pending[i]);
        continue;
      }
      total.applied += each[i].applied;
      total.late += each[i].late;
      total.duplicate += each[i].duplicate;
    }
    pending = std::move(again);
  }
  return total;
}

absl::StatusOr<WriteResult> WriteCheckedRowsSync(OnlineStore* store, const Registry& registry,
                                                 const FeatureView& view,
                                                 const std::vector<CheckedRow>& rows, Micros now,
                                                 Micros deadline) {
  if (!view.is_aggregation()) return store->WriteSync(OnlineWrites(registry, view, rows), deadline);
  PANTRY_ASSIGN_OR_RETURN(AggregationWriteResult r,
                          WriteAggregationEvents(store, registry, view, rows, now, deadline));
  WriteResult result;
  result.written = r.applied;
  result.skipped_older = r.late + r.duplicate;
  return result;
}

}  // namespace pantry
