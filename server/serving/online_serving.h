// Online serving: resolves a request against the current registry snapshot,
// reads every (entity row, feature view) pair from the online store in one
// batched call, and applies statuses and ttl.
//
// Thread-safe; never blocks: results are delivered through callbacks on the
// store's thread (or the caller's, for validation errors and the memory
// store). Errors: INVALID_ARGUMENT for bad requests (the message names the
// feature, view, service or column), and the store's UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED; FAILED_PRECONDITION when a stored
// value no longer fits the view's declared dtype.
#ifndef PANTRY_SERVER_SERVING_ONLINE_SERVING_H_
#define PANTRY_SERVER_SERVING_ONLINE_SERVING_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"
#include "server/value/value.h"

namespace pantry {

struct OnlineFeaturesRequest {
  // Either references ("view:feature", "view:*") or a feature service name.
  std::vector<std::string> feature_refs;
  std::string feature_service;
  // Entity rows as columns: join key name -> one value per row.
  std::vector<std::pair<std::string, std::vector<Value>>> entities;
  // Request data for on-demand features: column name -> one value per row.
  std::vector<std::pair<std::string, std::vector<Value>>> request_data;
  bool full_feature_names = false;
};

enum class FieldStatus { kPresent, kNullValue, kNotFound, kOutsideMaxAge };
absl::string_view FieldStatusName(FieldStatus status);

// One output feature across all entity rows.
struct FeatureColumn {
  std::string name;  // "feature" or "view__feature"
  std::string ref;   // "view:feature"
  std::vector<Value> values;         // null unless kPresent
  std::vector<FieldStatus> statuses;
  std::vector<Micros> event_times;   // kNoTimestamp when nothing stored
};

struct OnlineFeaturesResponse {
  size_t rows = 0;
  std::vector<FeatureColumn> columns;
};

struct WriteRowInput {
  std::vector<std::pair<std::string, Value>> values;  // join keys and features by name
  Micros event_time = 0;
};

// A row checked against its view: the join keys (coerced to the keys'
// types) and every feature (cast to its dtype), in the view's order.
struct CheckedRow {
  std::vector<Value> keys;
  std::vector<Value> features;
  Micros event_time = 0;
};

// Why a row was refused: the column (a join key or feature name; empty for
// the event time or the row as a whole) and the reason, without the row
// number.
struct RowProblem {
  std::string column;
  std::string reason;
};

// Checks rows of one view as every write does: an event time after 1970
// and at most `latest_allowed`; every join key, non-null and of its type;
// every feature present (null allowed) and castable to its dtype; no other
// or repeated column. Built once per request (it indexes the view's
// columns); `view` must outlive it.
class WriteRowChecker {
 public:
  WriteRowChecker(const FeatureView& view, Micros latest_allowed);
  // Returns the problem found first, or nullopt with *out filled. The row's
  // values are moved into *out (the row is left unspecified either way).
  std::optional<RowProblem> Check(WriteRowInput& row, CheckedRow* out) const;

 private:
  const FeatureView& view_;
  const Micros latest_allowed_;
  std::unordered_map<std::string_view, size_t> slot_of_;  // join keys, then features
};

// The online write of checked rows of `view` (keys, rows in the stored
// layout, expiry).
std::vector<ViewWrite> OnlineWrites(const Registry& registry, const FeatureView& view,
                                    const std::vector<CheckedRow>& rows);

class OnlineServing {
 public:
  // Both pointers are borrowed and must outlive this object. `clock` is
  // the time reads are answered at (aggregation windows end there; ttl is
  // measured from it).
  OnlineServing(const RegistryHolder* registry, OnlineStore* store,
                std::function<Micros()> clock = NowMicros)
      : registry_(registry), store_(store), clock_(std::move(clock)) {}

  using ReadDone = std::function<void(absl::StatusOr<OnlineFeaturesResponse>)>;
  using WriteDone = std::function<void(absl::StatusOr<WriteResult>)>;

  // `deadline`: absolute, microseconds since the epoch.
  void GetOnlineFeatures(OnlineFeaturesRequest request, Micros deadline, ReadDone done);

  // Writes rows of one view (newer-wins per row).
  void WriteOnlineFeatures(const std::string& view, std::vector<WriteRowInput> rows,
                           Micros deadline, WriteDone done);

 private:
  struct Plan;
  // Resolves the request's features against `registry`; plans are cached
  // per registry snapshot, keyed by the feature list, since model servers
  // send the same features over and over.
  absl::StatusOr<std::shared_ptr<const Plan>> GetPlan(
      const std::shared_ptr<const Registry>& registry, const OnlineFeaturesRequest& request);

  // Computes the on-demand columns of `response` from request data (per
  // on-demand feature, its request columns) and the fetched columns, then
  // drops the columns fetched only as their inputs.
  static void EvaluateOnDemand(const Plan& plan,
                               const std::vector<std::vector<const std::vector<Value>*>>& request,
                               size_t rows, Micros now, OnlineFeaturesResponse* response);

  const RegistryHolder* registry_;
  OnlineStore* store_;
  const std::function<Micros()> clock_;

  std::mutex plans_mu_;
  const Registry* plans_registry_ = nullptr;  // the snapshot plans_ were made from
  std::unordered_map<std::string, std::shared_ptr<const Plan>> plans_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVING_ONLINE_SERVING_H_
