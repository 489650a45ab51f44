#include "server/ingest/pusher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/common/time.h"
#include "server/serving/aggregations.h"

namespace pantry::ingest {

namespace {
constexpr size_t kRememberedPushes = 100000;
}  // namespace

absl::StatusOr<uint64_t> Pusher::ReserveOrFind(const std::string& push_id) {
  std::lock_guard<std::mutex> lock(logged_mu_);
  const auto [it, inserted] = logged_.try_emplace(push_id, 0);
  if (inserted) return 0;
  if (it->second == 0) {
    return absl::UnavailableError(
        "the same push (push_id) is still in progress from an earlier attempt; retry");
  }
  return it->second;
}

void Pusher::Release(const std::string& push_id) {
  std::lock_guard<std::mutex> lock(logged_mu_);
  const auto it = logged_.find(push_id);
  if (it != logged_.end() && it->second == 0) logged_.erase(it);
}

void Pusher::RememberLogged(const std::string& push_id, uint64_t lsn) {
  std::lock_guard<std::mutex> lock(logged_mu_);
  logged_[push_id] = lsn;
  logged_order_.push_back(push_id);
  if (logged_order_.size() > kRememberedPushes) {
    logged_.erase(logged_order_.front());
    logged_order_.pop_front();
  }
}

absl::StatusOr<PushResult> Pusher::Push(PushInput input, Micros deadline) {
  const std::shared_ptr<const Registry> registry = registry_->Get();
  const FeatureView* view = registry->FindFeatureView(input.view);
  if (view == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown feature view '", input.view, "'"));
  }
  if (input.rows.empty()) return absl::InvalidArgumentError("no rows to push");
  if (input.rows.size() > static_cast<size_t>(registry->serving.max_write_rows_per_request)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request has ", input.rows.size(), " rows; the limit is ",
        registry->serving.max_write_rows_per_request, " (serving.max_write_rows_per_request)"));
  }
  const bool online = input.to != PushTarget::kOffline && view->online;
  const bool offline = input.to != PushTarget::kOnline;
  if (input.to == PushTarget::kOnline && !view->online) {
    return absl::InvalidArgumentError(
        absl::StrCat("feature view '", view->name, "' is offline only (online: false)"));
  }
  if (offline && wal_ == nullptr) {
    return absl::FailedPreconditionError("this pantryd has no write-ahead log for offline pushes");
  }

  PushResult result;
  std::vector<CheckedRow> rows;
  rows.reserve(input.rows.size());
  const Micros latest_allowed = NowMicros() + kMaxEventTimeAhead;
  const WriteRowChecker checker(*view, latest_allowed);
  CheckedRow checked;
  for (size_t r = 0; r < input.rows.size(); ++r) {
    if (std::optional<RowProblem> problem = checker.Check(input.rows[r], &checked)) {
      result.rejected.push_back(
          {static_cast<int64_t>(r + 1), std::move(problem->column), std::move(problem->reason)});
      continue;
    }
    rows.push_back(std::move(checked));
  }
  if (metrics_ != nullptr) {
    metrics_->Pushed(view->name,
                     result.rejected.empty() || input.partial ? static_cast<int64_t>(rows.size()) : 0,
                     static_cast<int64_t>(result.rejected.size()));
  }
  if (!result.rejected.empty() && !input.partial) {
    const RejectedRow& first = result.rejected.front();
    return absl::InvalidArgumentError(absl::StrCat(
        "feature view '", view->name, "', row ", first.row,
        first.column.empty() ? "" : absl::StrCat(", column '", first.column, "'"), ": ",
        first.reason,
        result.rejected.size() > 1
            ? absl::StrCat(" (and ", result.rejected.size() - 1, " more bad rows)")
            : "",
        "; nothing was written (set partial to land the good rows)"));
  }
  result.accepted = static_cast<int64_t>(rows.size());
  if (rows.empty()) return result;

  if (offline) {
    if (!input.push_id.empty()) {
      // Reserved while this attempt logs it, so that a concurrent attempt
      // with the same id cannot log it too.
      PANTRY_ASSIGN_OR_RETURN(result.lsn, ReserveOrFind(input.push_id));
    }
    if (result.lsn == 0) {
      std::string record;
      EncodeCheckedRows(*view, online, NowMicros(), rows, &record);
      absl::StatusOr<uint64_t> lsn = wal_->Append(record);
      if (!lsn.ok()) {
        if (!input.push_id.empty()) Release(input.push_id);
        return lsn.status();
      }
      result.lsn = *lsn;
      if (!input.push_id.empty()) RememberLogged(input.push_id, result.lsn);
    }
  }
  if (online) {
    absl::StatusOr<WriteResult> written =
        WriteCheckedRowsSync(store_, *registry, *view, rows, NowMicros(), deadline);
    if (!written.ok()) {
      if (!offline) return written.status();
      return absl::Status(
          written.status().code(),
          absl::StrCat(written.status().message(),
                       " (the rows are durable for the offline history, log record ", result.lsn,
                       "; retry to write them online)"));
    }
    result.written_online = written->written;
    result.skipped_older = written->skipped_older;
    Micros newest = rows.front().event_time;
    for (const CheckedRow& r : rows) newest = std::max(newest, r.event_time);
    if (metrics_ != nullptr) metrics_->Fresh(view->name, newest);
    if (freshness_ != nullptr) freshness_->Saw(view->name, newest);
  }
  return result;
}

}  // namespace pantry::ingest
