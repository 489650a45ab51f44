#include "server/serving/online_serving.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/online/row.h"
#include "server/serving/aggregations.h"
#include "server/value/encoding.h"

namespace pantry {
namespace {

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

constexpr size_t kMaxCachedPlans = 4096;

// Request data as the on-demand view declares it: widened, and integers
// taken as DOUBLE (clients that speak JSON send 150 for 150.0).
absl::StatusOr<Value> RequestValue(const Value& v, ValueType type) {
  if (v.is_null()) return Value::Null(type);
  if (v.type() == type) return v;
  if (type == ValueType::kDouble && v.type() == ValueType::kInt64) {
    return Value::Double(static_cast<double>(v.get<int64_t>()));
  }
  if (type == ValueType::kDouble && v.type() == ValueType::kInt32) {
    return Value::Double(v.get<int32_t>());
  }
  return v.CastTo(type);
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

// The features requested from each view, and where each lands in the output.
struct OnlineServing::Plan {
  struct View {
    const FeatureView* view = nullptr;
    std::vector<std::string> features;
    std::vector<uint32_t> feature_ids;  // FeatureId() of each of features
    std::vector<size_t> output_columns;
    std::vector<ValueType> dtypes;
    // Aggregation views: the plan their state is read with, and the
    // aggregation (plan output) of each of `features`.
    std::shared_ptr<const transform::AggregationPlan> aggregation;
    std::vector<size_t> outputs;
  };
  std::shared_ptr<const Registry> registry;  // keeps the views alive
  std::vector<View> views;                   // in first-requested order
  std::vector<std::string> names;            // output names, request order
  std::vector<std::string> refs;             // "view:feature", request order
  std::vector<bool> hidden;                  // per column: an on-demand input only
  // On-demand features: computed from request data and fetched columns.
  struct OnDemand {
    const OnDemandView* view = nullptr;
    const OnDemandFeature* feature = nullptr;
    size_t output = 0;                   // its column
    std::vector<size_t> feature_columns;  // per view input: the column fetched
  };
  std::vector<OnDemand> on_demand;
  std::vector<std::string> request_columns;  // the request data they read
};

absl::StatusOr<std::shared_ptr<const OnlineServing::Plan>> OnlineServing::GetPlan(
    const std::shared_ptr<const Registry>& registry, const OnlineFeaturesRequest& request) {
  std::string cache_key = request.full_feature_names ? "F" : "S";
  if (!request.feature_service.empty()) {
    absl::StrAppend(&cache_key, "@", request.feature_service);
  } else {
    // Length-prefixed, so no list of references can alias another.
    for (const std::string& ref : request.feature_refs) {
      absl::StrAppend(&cache_key, ref.size(), ":", ref);
    }
  }
  {
    std::lock_guard<std::mutex> lock(plans_mu_);
    if (plans_registry_ == registry.get()) {
      auto it = plans_.find(cache_key);
      if (it != plans_.end()) return it->second;
    }
  }

  PANTRY_ASSIGN_OR_RETURN(std::vector<FeatureRef> refs,
                          registry->ResolveFeatures(request.feature_service, request.feature_refs));
  if (refs.size() > static_cast<size_t>(registry->serving.max_features_per_request)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request names ", refs.size(), " features; the limit is ",
        registry->serving.max_features_per_request, " (serving.max_features_per_request)"));
  }

  auto plan = std::make_shared<Plan>();
  plan->registry = registry;
  std::unordered_map<std::string, size_t> view_index;
  std::unordered_map<std::string, std::string> ref_of_name;
  std::unordered_map<std::string, size_t> column_of_ref;  // fetched features
  // Adds feature `ref` of a feature view as an output column (hidden: read
  // only as an on-demand view's input).
  auto add_feature = [&](const FeatureRef& ref, bool hidden) -> absl::Status {
    auto [it, inserted] = view_index.try_emplace(ref.view, plan->views.size());
    if (inserted) {
      Plan::View view;
      view.view = registry->FindFeatureView(ref.view);
      if (!view.view->online) {
        return absl::InvalidArgumentError(
            absl::StrCat("feature view '", ref.view, "' is not online (online: false)"));
      }
      if (view.view->is_aggregation()) {
        auto source = registry->sources.find(view.view->source);
        view.aggregation = std::make_shared<const transform::AggregationPlan>(transform::MakePlan(
            *view.view, source == registry->sources.end() ? 0 : source->second.allowed_lateness));
      }
      plan->views.push_back(std::move(view));
    }
    Plan::View& view = plan->views[it->second];
    std::string name = hidden ? absl::StrCat("\x01", ref.ToString())
                       : request.full_feature_names ? absl::StrCat(ref.view, "__", ref.feature)
                                                    : ref.feature;
    if (!hidden) {
      auto [prev, fresh] = ref_of_name.try_emplace(name, ref.ToString());
      if (!fresh) {
        if (prev->second == ref.ToString()) return absl::OkStatus();  // the same feature asked twice
        return absl::InvalidArgumentError(
            absl::StrCat("output name '", name, "' is produced by both ", prev->second, " and ",
                         ref.ToString(), "; set full_feature_names to tell them apart"));
      }
    }
    view.features.push_back(ref.feature);
    view.feature_ids.push_back(FeatureId(ref.feature));
    view.outputs.push_back(static_cast<size_t>(view.view->FeatureIndex(ref.feature)));
    view.dtypes.push_back(view.view->schema[view.view->FeatureIndex(ref.feature)].dtype);
    view.output_columns.push_back(plan->names.size());
    column_of_ref.emplace(ref.ToString(), plan->names.size());
    plan->names.push_back(std::move(name));
    plan->refs.push_back(ref.ToString());
    plan->hidden.push_back(hidden);
    return absl::OkStatus();
  };
  for (const FeatureRef& ref : refs) {
    const OnDemandView* odv = registry->FindOnDemandView(ref.view);
    if (odv == nullptr) {
      if (column_of_ref.count(ref.ToString()) != 0 &&
          !plan->hidden[column_of_ref[ref.ToString()]]) {
        continue;  // the same feature asked twice
      }
      PANTRY_RETURN_IF_ERROR(add_feature(ref, /*hidden=*/false));
      continue;
    }
    std::string name =
        request.full_feature_names ? absl::StrCat(ref.view, "__", ref.feature) : ref.feature;
    auto [prev, fresh] = ref_of_name.try_emplace(name, ref.ToString());
    if (!fresh) {
      if (prev->second == ref.ToString()) continue;
      return absl::InvalidArgumentError(
          absl::StrCat("output name '", name, "' is produced by both ", prev->second, " and ",
                       ref.ToString(), "; set full_feature_names to tell them apart"));
    }
    Plan::OnDemand od;
    od.view = odv;
    od.feature = &odv->features[static_cast<size_t>(odv->FeatureIndex(ref.feature))];
    od.output = plan->names.size();
    plan->names.push_back(std::move(name));
    plan->refs.push_back(ref.ToString());
    plan->hidden.push_back(false);
    plan->on_demand.push_back(od);
  }
  // The inputs of the on-demand features: fetched like any feature, hidden
  // unless asked for too.
  for (Plan::OnDemand& od : plan->on_demand) {
    for (const FeatureRef& input : od.view->inputs) {
      if (column_of_ref.count(input.ToString()) == 0) {
        PANTRY_RETURN_IF_ERROR(add_feature(input, /*hidden=*/true));
      }
      od.feature_columns.push_back(column_of_ref.at(input.ToString()));
    }
  }
  for (const Plan::OnDemand& od : plan->on_demand) {
    for (const SourceColumn& c : od.view->request) {
      if (std::find(plan->request_columns.begin(), plan->request_columns.end(), c.name) ==
          plan->request_columns.end()) {
        plan->request_columns.push_back(c.name);
      }
    }
  }

  std::lock_guard<std::mutex> lock(plans_mu_);
  if (plans_registry_ != registry.get() || plans_.size() >= kMaxCachedPlans) {
    plans_.clear();
    plans_registry_ = registry.get();
  }
  plans_.emplace(std::move(cache_key), plan);
  return plan;
}

void OnlineServing::GetOnlineFeatures(OnlineFeaturesRequest request, Micros deadline,
                                      ReadDone done) {
  std::shared_ptr<const Registry> registry = registry_->Get();
  auto fail = [&](absl::Status s) { done(std::move(s)); };

  auto planned = GetPlan(registry, request);
  if (!planned.ok()) return fail(planned.status());
  std::shared_ptr<const Plan> plan = *std::move(planned);

  // Check the entity columns.
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
  // For each view, the entity column of each of its join keys.
  std::vector<std::vector<size_t>> key_columns(plan->views.size());
  std::vector<bool> column_used(columns.size(), false);
  for (size_t v = 0; v < plan->views.size(); ++v) {
    const FeatureView& view = *plan->views[v].view;
    for (const JoinKey& key : view.join_keys) {
      size_t c = 0;
      while (c < columns.size() && columns[c].first != key.name) ++c;
      if (c == columns.size()) {
        return fail(absl::InvalidArgumentError(absl::StrCat(
            "missing join key '", key.name, "' required by feature view '", view.name, "'")));
      }
      column_used[c] = true;
      key_columns[v].push_back(c);
    }
  }
  for (size_t c = 0; c < columns.size(); ++c) {
    if (!column_used[c]) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          "entity column '", columns[c].first, "' is not a join key of any requested feature view")));
    }
  }

  // Request data: exactly the columns the on-demand features read, a value
  // per row, of (or castable to) the declared type.
  auto request_data = std::make_shared<std::vector<std::vector<Value>>>();
  for (const auto& [name, values] : request.request_data) {
    if (std::find(plan->request_columns.begin(), plan->request_columns.end(), name) ==
        plan->request_columns.end()) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          "request data '", name, "' is not read by any requested on-demand feature")));
    }
    if (values.size() != rows) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("request data '", name, "' has ", values.size(), " values for ", rows,
                       " entity rows; it needs one per row")));
    }
  }
  // Per on-demand feature: its request columns, cast to their types.
  std::vector<std::vector<const std::vector<Value>*>> request_inputs(plan->on_demand.size());
  std::map<std::pair<std::string, ValueType>, size_t> cast_columns;
  for (size_t o = 0; o < plan->on_demand.size(); ++o) {
    const OnDemandView& odv = *plan->on_demand[o].view;
    for (const SourceColumn& c : odv.request) {
      auto found = std::find_if(request.request_data.begin(), request.request_data.end(),
                                [&](const auto& column) { return column.first == c.name; });
      if (found == request.request_data.end()) {
        return fail(absl::InvalidArgumentError(
            absl::StrCat("on-demand view '", odv.name, "' needs request data '", c.name, "' (",
                         ValueTypeName(c.dtype), ")")));
      }
      auto [it, fresh] = cast_columns.try_emplace({c.name, c.dtype}, request_data->size());
      if (fresh) {
        std::vector<Value> cast;
        cast.reserve(rows);
        for (size_t r = 0; r < rows; ++r) {
          const Value& v = found->second[r];
          absl::StatusOr<Value> x = RequestValue(v, c.dtype);
          if (!x.ok()) {
            return fail(absl::InvalidArgumentError(absl::StrCat(
                "request data '", c.name, "' row ", r + 1, ": on-demand view '", odv.name,
                "' expects ", ValueTypeName(c.dtype), ", got ", ValueTypeName(v.type()))));
          }
          cast.push_back(*std::move(x));
        }
        request_data->push_back(std::move(cast));
      }
      request_inputs[o].push_back(&(*request_data)[it->second]);
    }
  }
  // The vector's elements no longer move.
  for (size_t o = 0; o < plan->on_demand.size(); ++o) {
    const OnDemandView& odv = *plan->on_demand[o].view;
    for (size_t k = 0; k < odv.request.size(); ++k) {
      request_inputs[o][k] =
          &(*request_data)[cast_columns.at({odv.request[k].name, odv.request[k].dtype})];
    }
  }

  // One read per (row, view), all in one store call.
  std::vector<ViewRead> reads;
  reads.reserve(rows * plan->views.size());
  std::vector<Value> coerced;
  std::vector<const Value*> key_values;
  for (size_t row = 0; row < rows; ++row) {
    for (size_t v = 0; v < plan->views.size(); ++v) {
      const FeatureView& view = *plan->views[v].view;
      coerced.clear();
      key_values.clear();
      for (size_t k = 0; k < key_columns[v].size(); ++k) {
        auto value = CoerceKey(columns[key_columns[v][k]].second[row], view.join_keys[k], row);
        if (!value.ok()) return fail(value.status());
        coerced.push_back(*std::move(value));
      }
      for (const Value& value : coerced) key_values.push_back(&value);
      ViewRead read;
      read.view = view.name;
      if (view.is_aggregation()) {
        read.key = AggregationStateKey(registry->project, view, key_values);
        read.feature_ids = {AggregationStateId()};
      } else {
        read.key = OnlineKey(registry->project, view.name, view.join_keys, key_values);
        read.feature_ids = plan->views[v].feature_ids;
      }
      reads.push_back(std::move(read));
    }
  }

  store_->Read(
      std::move(reads), deadline,
      [plan, rows, now = clock_(), request_data, request_inputs = std::move(request_inputs),
       done = std::move(done)](absl::StatusOr<std::vector<ViewReadResult>> results) {
        if (!results.ok()) return done(results.status());
        OnlineFeaturesResponse response;
        response.rows = rows;
        response.columns.resize(plan->names.size());
        for (size_t c = 0; c < response.columns.size(); ++c) {
          FeatureColumn& column = response.columns[c];
          column.name = plan->names[c];
          column.ref = plan->refs[c];
          column.values.reserve(rows);
          column.statuses.reserve(rows);
          column.event_times.reserve(rows);
        }
        size_t i = 0;
        std::vector<Value> aggregated;
        std::vector<bool> present;
        for (size_t row = 0; row < rows; ++row) {
          for (const Plan::View& view : plan->views) {
            ViewReadResult& result = (*results)[i++];
            if (view.aggregation != nullptr) {
              transform::EntityState state(view.aggregation.get());
              uint64_t version = 0;
              if (absl::Status s = DecodeAggregationState(result, view.view->name, &state, &version);
                  !s.ok()) {
                return done(std::move(s));
              }
              state.Read(now, &aggregated, &present);
              for (size_t f = 0; f < view.features.size(); ++f) {
                FeatureColumn& column = response.columns[view.output_columns[f]];
                const size_t o = view.outputs[f];
                column.event_times.push_back(state.empty() ? kNoTimestamp : state.newest());
                if (!present[o]) {
                  column.values.push_back(Value::Null(view.dtypes[f]));
                  column.statuses.push_back(FieldStatus::kNotFound);
                  continue;
                }
                column.statuses.push_back(aggregated[o].is_null() ? FieldStatus::kNullValue
                                                                  : FieldStatus::kPresent);
                column.values.push_back(std::move(aggregated[o]));
              }
              continue;
            }
            const bool stale = result.found && view.view->ttl > 0 &&
                               result.event_time <= now - view.view->ttl;
            for (size_t f = 0; f < view.features.size(); ++f) {
              FeatureColumn& column = response.columns[view.output_columns[f]];
              const ValueType dtype = view.dtypes[f];
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
              if (!decoded.ok()) return done(Annotate(decoded.status(), column.ref));
              if (decoded->type() != dtype) {
                auto cast = decoded->CastTo(dtype);
                if (!cast.ok()) {
                  return done(absl::FailedPreconditionError(absl::StrCat(
                      "stored value of ", column.ref, " is ", ValueTypeName(decoded->type()),
                      " but the view declares ", ValueTypeName(dtype),
                      "; write or materialize the view again")));
                }
                decoded = std::move(cast);
              }
              column.statuses.push_back(decoded->is_null() ? FieldStatus::kNullValue
                                                           : FieldStatus::kPresent);
              column.values.push_back(*std::move(decoded));
            }
          }
        }
        if (!plan->on_demand.empty()) {
          EvaluateOnDemand(*plan, request_inputs, rows, now, &response);
        }
        done(std::move(response));
      });
}

void OnlineServing::EvaluateOnDemand(
    const Plan& plan, const std::vector<std::vector<const std::vector<Value>*>>& request,
    size_t rows, Micros now, OnlineFeaturesResponse* response) {
  std::vector<const Value*> inputs;
  for (size_t o = 0; o < plan.on_demand.size(); ++o) {
    const Plan::OnDemand& od = plan.on_demand[o];
    FeatureColumn& column = response->columns[od.output];
    for (size_t r = 0; r < rows; ++r) {
      inputs.clear();
      for (const std::vector<Value>* values : request[o]) inputs.push_back(&(*values)[r]);
      for (size_t c : od.feature_columns) inputs.push_back(&response->columns[c].values[r]);
      Value v = od.feature->compiled->Evaluate(inputs, now);
      column.statuses.push_back(v.is_null() ? FieldStatus::kNullValue : FieldStatus::kPresent);
      column.event_times.push_back(kNoTimestamp);
      column.values.push_back(std::move(v));
    }
  }
  if (std::find(plan.hidden.begin(), plan.hidden.end(), true) == plan.hidden.end()) return;
  std::vector<FeatureColumn> shown;
  for (size_t c = 0; c < response->columns.size(); ++c) {
    if (!plan.hidden[c]) shown.push_back(std::move(response->columns[c]));
  }
  response->columns = std::move(shown);
}

void OnlineServing::WriteOnlineFeatures(const std::string& view_name,
                                        std::vector<WriteRowInput> rows, Micros deadline,
                                        WriteDone done) {
  std::shared_ptr<const Registry> registry = registry_->Get();
  const FeatureView* view = registry->FindFeatureView(view_name);
  if (view == nullptr) {
    return done(absl::InvalidArgumentError(absl::StrCat("unknown feature view '", view_name, "'")));
  }
  if (view->is_aggregation()) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "feature view '", view_name,
        "' is an aggregation view: its features are computed from raw events; push the events "
        "(pantry push, IngestService.Push) instead of writing features")));
  }
  if (rows.empty()) return done(absl::InvalidArgumentError("no rows to write"));
  if (rows.size() > static_cast<size_t>(registry->serving.max_write_rows_per_request)) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "request has ", rows.size(), " rows; the limit is ",
        registry->serving.max_write_rows_per_request, " (serving.max_write_rows_per_request)")));
  }
  const Micros latest_allowed = NowMicros() + kMaxEventTimeAhead;
  const WriteRowChecker checker(*view, latest_allowed);
  std::vector<CheckedRow> checked(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    if (std::optional<RowProblem> problem = checker.Check(rows[r], &checked[r])) {
      return done(absl::InvalidArgumentError(
          absl::StrCat("feature view '", view_name, "', row ", r + 1, ": ", problem->reason)));
    }
  }
  std::vector<ViewWrite> writes = OnlineWrites(*registry, *view, checked);
  store_->Write(std::move(writes), deadline, std::move(done));
}

WriteRowChecker::WriteRowChecker(const FeatureView& view, Micros latest_allowed)
    : view_(view), latest_allowed_(latest_allowed) {
  for (size_t k = 0; k < view.join_keys.size(); ++k) slot_of_.emplace(view.join_keys[k].name, k);
  const std::vector<Feature>& columns = view.written_columns();
  for (size_t f = 0; f < columns.size(); ++f) {
    slot_of_.emplace(columns[f].name, view.join_keys.size() + f);
  }
}

std::optional<RowProblem> WriteRowChecker::Check(WriteRowInput& row, CheckedRow* out) const {
  if (row.event_time <= 0) return RowProblem{"", "event timestamp missing or not after 1970"};
  if (row.event_time > latest_allowed_) {
    return RowProblem{"", absl::StrCat("event timestamp ", FormatRfc3339(row.event_time),
                                       " is too far in the future (at most ",
                                       FormatRfc3339(latest_allowed_),
                                       "; microseconds since the epoch expected)")};
  }
  const size_t num_keys = view_.join_keys.size();
  Value* by_slot_storage[64];
  std::vector<Value*> by_slot_heap;
  const std::vector<Feature>& columns = view_.written_columns();
  const size_t width = num_keys + columns.size();
  Value** by_slot = by_slot_storage;
  if (width > 64) {
    by_slot_heap.resize(width);
    by_slot = by_slot_heap.data();
  }
  std::fill(by_slot, by_slot + width, nullptr);
  for (auto& [name, value] : row.values) {
    const auto found = slot_of_.find(std::string_view(name));
    if (found == slot_of_.end()) {
      return RowProblem{name, absl::StrCat("'", name, "' is neither a join key nor ",
                                           view_.is_aggregation() ? "a column of the view's events"
                                                                  : "a feature")};
    }
    if (by_slot[found->second] != nullptr) {
      return RowProblem{name, absl::StrCat("'", name, "' given twice")};
    }
    by_slot[found->second] = &value;
  }
  out->event_time = row.event_time;
  out->keys.clear();
  out->features.clear();
  for (size_t k = 0; k < num_keys; ++k) {
    const JoinKey& key = view_.join_keys[k];
    Value* v = by_slot[k];
    if (v == nullptr) return RowProblem{key.name, absl::StrCat("missing join key '", key.name, "'")};
    if (v->is_null()) return RowProblem{key.name, absl::StrCat("join key '", key.name, "' is null")};
    if (v->type() == key.value_type) {
      out->keys.push_back(std::move(*v));
      continue;
    }
    auto coerced = CoerceKey(*v, key, 0);
    if (!coerced.ok()) {
      return RowProblem{key.name, absl::StrCat("join key '", key.name, "' expects ",
                                               ValueTypeName(key.value_type), ", got ",
                                               ValueTypeName(v->type()))};
    }
    out->keys.push_back(*std::move(coerced));
  }
  for (size_t f = 0; f < columns.size(); ++f) {
    const Feature& feature = columns[f];
    Value* value = by_slot[num_keys + f];
    if (value == nullptr) {
      return RowProblem{feature.name, absl::StrCat("missing ",
                                                   view_.is_aggregation() ? "column '" : "feature '",
                                                   feature.name,
                                                   "' (write null explicitly to clear it)")};
    }
    if (value->type() == feature.dtype) {
      out->features.push_back(std::move(*value));
      continue;
    }
    auto cast = value->CastTo(feature.dtype);
    if (!cast.ok()) {
      return RowProblem{feature.name,
                        absl::StrCat("feature '", feature.name, "': ", cast.status().message())};
    }
    out->features.push_back(*std::move(cast));
  }
  return std::nullopt;
}

std::vector<ViewWrite> OnlineWrites(const Registry& registry, const FeatureView& view,
                                    const std::vector<CheckedRow>& rows) {
  std::vector<uint32_t> feature_ids;  // per schema feature, once per call
  feature_ids.reserve(view.schema.size());
  for (const Feature& feature : view.schema) feature_ids.push_back(FeatureId(feature.name));
  std::vector<ViewWrite> writes;
  writes.reserve(rows.size());
  std::vector<const Value*> key_ptrs;
  std::string encoding;
  for (const CheckedRow& row : rows) {
    key_ptrs.clear();
    for (const Value& k : row.keys) key_ptrs.push_back(&k);
    ViewWrite write;
    write.key = OnlineKey(registry.project, view.name, view.join_keys, key_ptrs);
    write.view = view.name;
    write.online_ttl = view.online_ttl;
    AppendRowHeader(row.event_time, &write.row);
    for (size_t f = 0; f < row.features.size(); ++f) {
      encoding.clear();
      EncodeValue(row.features[f], &encoding);
      AppendRowEntry(feature_ids[f], encoding, &write.row);
    }
    writes.push_back(std::move(write));
  }
  return writes;
}

}  // namespace pantry
