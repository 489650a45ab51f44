#include "server/serving/online_serving.h"

#include <memory>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/value/encoding.h"

namespace pantry {
namespace {

// The features requested from one view, and where each lands in the output.
struct ViewPlan {
  const FeatureView* view = nullptr;
  std::vector<std::string> features;
  std::vector<size_t> output_columns;
  std::vector<ValueType> dtypes;
  // For each of the view's join keys, the index of its entity column.
  std::vector<size_t> key_columns;
};

absl::StatusOr<Value> CoerceKey(const Value& v, const JoinKey& key, size_t row) {
  if (v.is_null()) {
    return absl::InvalidArgumentError(
        absl::StrCat("join key '", key.name, "' is null in entity row ", row + 1));
  }
  if (v.type() == key.value_type) return v;
  if (v.type() == ValueType::kInt32 && key.value_type == ValueType::kInt64) {
    return Value::Int64(v.get<int32_t>());
  }
  if (v.type() == ValueType::kInt64 && key.value_type == ValueType::kInt32) {
    const int64_t x = v.get<int64_t>();
    if (x >= INT32_MIN && x <= INT32_MAX) return Value::Int32(static_cast<int32_t>(x));
  }
  return absl::InvalidArgumentError(absl::StrCat("join key '", key.name, "' expects ",
                                                 ValueTypeName(key.value_type), ", got ",
                                                 ValueTypeName(v.type()), " in entity row ",
                                                 row + 1));
}

}  // namespace

absl::string_view FieldStatusName(FieldStatus status) {
  switch (status) {
    case FieldStatus::kPresent: return "PRESENT";
    case FieldStatus::kNullValue: return "NULL_VALUE";
    case FieldStatus::kNotFound: return "NOT_FOUND";
    case FieldStatus::kOutsideMaxAge: return "OUTSIDE_MAX_AGE";
  }
  return "UNKNOWN";
}

void OnlineServing::GetOnlineFeatures(OnlineFeaturesRequest request, Micros deadline,
                                      ReadDone done) {
  std::shared_ptr<const Registry> registry = registry_->Get();
  auto fail = [&](absl::Status s) { done(std::move(s)); };

  // 1. Resolve the features.
  std::vector<FeatureRef> refs;
  if (!request.feature_service.empty()) {
    if (!request.feature_refs.empty()) {
      return fail(absl::InvalidArgumentError(
          "give either feature references or a feature service, not both"));
    }
    const FeatureService* service = registry->FindFeatureService(request.feature_service);
    if (service == nullptr) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("unknown feature service '", request.feature_service, "'")));
    }
    refs = service->features;
  } else {
    for (const std::string& ref : request.feature_refs) {
      absl::Status s = registry->ResolveFeatureRef(ref, &refs);
      if (!s.ok()) return fail(std::move(s));
    }
  }
  if (refs.empty()) return fail(absl::InvalidArgumentError("no features requested"));
  if (refs.size() > static_cast<size_t>(registry->serving.max_features_per_request)) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "request names ", refs.size(), " features; the limit is ",
        registry->serving.max_features_per_request, " (serving.max_features_per_request)")));
  }

  // 2. Check the entity columns.
  const auto& columns = request.entities;
  if (columns.empty()) return fail(absl::InvalidArgumentError("no entity rows given"));
  const size_t rows = columns[0].second.size();
  for (const auto& [name, values] : columns) {
    if (values.size() != rows) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("entity column '", name, "' has ", values.size(), " values but '",
                       columns[0].first, "' has ", rows, "; all columns need one per row")));
    }
  }
  if (rows == 0) return fail(absl::InvalidArgumentError("no entity rows given"));
  if (rows > static_cast<size_t>(registry->serving.max_entities_per_request)) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "request has ", rows, " entity rows; the limit is ",
        registry->serving.max_entities_per_request, " (serving.max_entities_per_request)")));
  }

  // 3. Plan per view, in first-seen order; outputs keep request order.
  auto response = std::make_shared<OnlineFeaturesResponse>();
  response->rows = rows;
  std::vector<ViewPlan> plans;
  std::unordered_map<std::string, size_t> plan_of_view;
  std::unordered_map<std::string, std::string> ref_of_name;
  std::vector<bool> column_used(columns.size(), false);
  for (const FeatureRef& ref : refs) {
    auto [it, inserted] = plan_of_view.try_emplace(ref.view, plans.size());
    if (inserted) {
      ViewPlan plan;
      plan.view = registry->FindFeatureView(ref.view);
      if (!plan.view->online) {
        return fail(absl::InvalidArgumentError(
            absl::StrCat("feature view '", ref.view, "' is not online (online: false)")));
      }
      for (const JoinKey& key : plan.view->join_keys) {
        size_t c = 0;
        while (c < columns.size() && columns[c].first != key.name) ++c;
        if (c == columns.size()) {
          return fail(absl::InvalidArgumentError(absl::StrCat(
              "missing join key '", key.name, "' required by feature view '", ref.view, "'")));
        }
        column_used[c] = true;
        plan.key_columns.push_back(c);
      }
      plans.push_back(std::move(plan));
    }
    ViewPlan& plan = plans[it->second];
    const int index = plan.view->FeatureIndex(ref.feature);
    std::string name =
        request.full_feature_names ? absl::StrCat(ref.view, "__", ref.feature) : ref.feature;
    auto [prev, fresh] = ref_of_name.try_emplace(name, ref.ToString());
    if (!fresh) {
      if (prev->second == ref.ToString()) continue;  // the same feature asked twice
      return fail(absl::InvalidArgumentError(
          absl::StrCat("output name '", name, "' is produced by both ", prev->second, " and ",
                       ref.ToString(), "; set full_feature_names to tell them apart")));
    }
    plan.features.push_back(ref.feature);
    plan.dtypes.push_back(plan.view->schema[index].dtype);
    plan.output_columns.push_back(response->columns.size());
    FeatureColumn column;
    column.name = std::move(name);
    column.ref = ref.ToString();
    response->columns.push_back(std::move(column));
  }
  for (size_t c = 0; c < columns.size(); ++c) {
    if (!column_used[c]) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          "entity column '", columns[c].first, "' is not a join key of any requested feature view")));
    }
  }

  // 4. One read per (row, view), all in one store call.
  std::vector<ViewRead> reads;
  reads.reserve(rows * plans.size());
  std::vector<Value> coerced;
  std::vector<const Value*> key_values;
  for (size_t row = 0; row < rows; ++row) {
    for (const ViewPlan& plan : plans) {
      coerced.clear();
      coerced.reserve(plan.key_columns.size());
      key_values.clear();
      for (size_t k = 0; k < plan.key_columns.size(); ++k) {
        auto v = CoerceKey(columns[plan.key_columns[k]].second[row], plan.view->join_keys[k], row);
        if (!v.ok()) return fail(v.status());
        coerced.push_back(*std::move(v));
      }
      for (const Value& v : coerced) key_values.push_back(&v);
      ViewRead read;
      read.key = OnlineKey(registry->project, plan.view->join_keys, key_values);
      read.view = plan.view->name;
      read.features = plan.features;
      reads.push_back(std::move(read));
    }
  }
  for (FeatureColumn& column : response->columns) {
    column.values.reserve(rows);
    column.statuses.reserve(rows);
    column.event_times.reserve(rows);
  }

  store_->Read(
      std::move(reads), deadline,
      [registry, response, plans = std::move(plans),
       done = std::move(done)](absl::StatusOr<std::vector<ViewReadResult>> results) mutable {
        if (!results.ok()) return done(results.status());
        const Micros now = NowMicros();
        size_t i = 0;
        for (size_t row = 0; row < response->rows; ++row) {
          for (const ViewPlan& plan : plans) {
            ViewReadResult& result = (*results)[i++];
            const bool stale = result.found && plan.view->ttl > 0 &&
                               result.event_time <= now - plan.view->ttl;
            for (size_t f = 0; f < plan.features.size(); ++f) {
              FeatureColumn& column = response->columns[plan.output_columns[f]];
              const ValueType dtype = plan.dtypes[f];
              column.event_times.push_back(result.found ? result.event_time : kNoTimestamp);
              if (!result.found || !result.values[f].has_value()) {
                column.values.push_back(Value::Null(dtype));
                column.statuses.push_back(FieldStatus::kNotFound);
                continue;
              }
              if (stale) {
                column.values.push_back(Value::Null(dtype));
                column.statuses.push_back(FieldStatus::kOutsideMaxAge);
                continue;
              }
              auto decoded = DecodeValue(*result.values[f]);
              if (!decoded.ok()) {
                return done(Annotate(decoded.status(), column.ref));
              }
              auto value = decoded->CastTo(dtype);
              if (!value.ok()) {
                return done(absl::FailedPreconditionError(absl::StrCat(
                    "stored value of ", column.ref, " is ", ValueTypeName(decoded->type()),
                    " but the view declares ", ValueTypeName(dtype),
                    "; write or materialize the view again")));
              }
              column.statuses.push_back(value->is_null() ? FieldStatus::kNullValue
                                                         : FieldStatus::kPresent);
              column.values.push_back(*std::move(value));
            }
          }
        }
        done(std::move(*response));
      });
}

void OnlineServing::WriteOnlineFeatures(const std::string& view_name,
                                        std::vector<WriteRowInput> rows, Micros deadline,
                                        WriteDone done) {
  std::shared_ptr<const Registry> registry = registry_->Get();
  const FeatureView* view = registry->FindFeatureView(view_name);
  if (view == nullptr) {
    return done(absl::InvalidArgumentError(absl::StrCat("unknown feature view '", view_name, "'")));
  }
  if (rows.empty()) return done(absl::InvalidArgumentError("no rows to write"));
  if (rows.size() > static_cast<size_t>(registry->serving.max_write_rows_per_request)) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "request has ", rows.size(), " rows; the limit is ",
        registry->serving.max_write_rows_per_request, " (serving.max_write_rows_per_request)")));
  }
  std::vector<ViewWrite> writes;
  writes.reserve(rows.size());
  const size_t width = view->join_keys.size() + view->schema.size();
  for (size_t r = 0; r < rows.size(); ++r) {
    WriteRowInput& row = rows[r];
    auto row_error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature view '", view_name, "', row ", r + 1, ": ", what));
    };
    if (row.event_time <= 0) return done(row_error("event timestamp missing or not after 1970"));
    std::vector<const Value*> by_slot(width, nullptr);
    for (const auto& [name, value] : row.values) {
      size_t slot = 0;
      while (slot < view->join_keys.size() && view->join_keys[slot].name != name) ++slot;
      if (slot == view->join_keys.size()) {
        const int f = view->FeatureIndex(name);
        if (f < 0) {
          return done(row_error(absl::StrCat("'", name, "' is neither a join key nor a feature")));
        }
        slot += f;
      }
      if (by_slot[slot] != nullptr) return done(row_error(absl::StrCat("'", name, "' given twice")));
      by_slot[slot] = &value;
    }
    std::vector<Value> keys;
    keys.reserve(view->join_keys.size());
    for (size_t k = 0; k < view->join_keys.size(); ++k) {
      if (by_slot[k] == nullptr) {
        return done(row_error(absl::StrCat("missing join key '", view->join_keys[k].name, "'")));
      }
      auto key = CoerceKey(*by_slot[k], view->join_keys[k], r);
      if (!key.ok()) return done(row_error(key.status().message()));
      keys.push_back(*std::move(key));
    }
    std::vector<const Value*> key_ptrs;
    for (const Value& k : keys) key_ptrs.push_back(&k);
    ViewWrite write;
    write.key = OnlineKey(registry->project, view->join_keys, key_ptrs);
    write.view = view->name;
    write.event_time = row.event_time;
    write.values.reserve(view->schema.size());
    for (size_t f = 0; f < view->schema.size(); ++f) {
      const Value* value = by_slot[view->join_keys.size() + f];
      const Feature& feature = view->schema[f];
      if (value == nullptr) {
        return done(row_error(absl::StrCat("missing feature '", feature.name,
                                           "' (write null explicitly to clear it)")));
      }
      auto cast = value->CastTo(feature.dtype);
      if (!cast.ok()) {
        return done(row_error(absl::StrCat("feature '", feature.name, "': ", cast.status().message())));
      }
      write.values.emplace_back(feature.name, EncodeValue(*cast));
    }
    writes.push_back(std::move(write));
  }
  store_->Write(std::move(writes), deadline, std::move(done));
}

}  // namespace pantry
