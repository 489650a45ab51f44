#include "server/service/feature_service.h"

#include <chrono>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/service/convert.h"

namespace pantry {
namespace {

v1::FieldStatus ToProto(FieldStatus s) {
  switch (s) {
    case FieldStatus::kPresent: return v1::PRESENT;
    case FieldStatus::kNullValue: return v1::NULL_VALUE;
    case FieldStatus::kNotFound: return v1::NOT_FOUND;
    case FieldStatus::kOutsideMaxAge: return v1::OUTSIDE_MAX_AGE;
  }
  return v1::FIELD_STATUS_UNSPECIFIED;
}

// The request as the engine takes it, checked without touching the disk.
absl::StatusOr<offline::HistoricalRequest> HistoricalFromProto(
    const v1::GetHistoricalFeaturesRequest& proto) {
  offline::HistoricalRequest request;
  switch (proto.kind_case()) {
    case v1::GetHistoricalFeaturesRequest::kFeatures:
      if (proto.features().refs().empty()) {
        return absl::InvalidArgumentError("features is empty: name at least one view:feature");
      }
      request.feature_refs.assign(proto.features().refs().begin(), proto.features().refs().end());
      break;
    case v1::GetHistoricalFeaturesRequest::kFeatureService:
      if (proto.feature_service().empty()) {
        return absl::InvalidArgumentError("feature_service is empty");
      }
      request.feature_service = proto.feature_service();
      break;
    case v1::GetHistoricalFeaturesRequest::KIND_NOT_SET:
      return absl::InvalidArgumentError("give either features or feature_service");
  }
  request.full_feature_names = proto.full_feature_names();
  // pantryd's working directory is not the caller's, so a relative path
  // would silently name some other file.
  auto check_path = [](absl::string_view field, const std::string& path) -> absl::Status {
    if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
    if (!std::filesystem::path(path).is_absolute()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " '", path,
                       "' is relative: pantryd needs an absolute path (its working "
                       "directory is not the caller's)"));
    }
    return absl::OkStatus();
  };
  PANTRY_RETURN_IF_ERROR(check_path("entities_path", proto.entities_path()));
  PANTRY_RETURN_IF_ERROR(check_path("output_path", proto.output_path()));
  const std::filesystem::path output(proto.output_path());
  if (!output.has_filename()) {
    return absl::InvalidArgumentError(
        absl::StrCat("output_path '", proto.output_path(), "' names a folder, not a file"));
  }
  if (output.lexically_normal() ==
      std::filesystem::path(proto.entities_path()).lexically_normal()) {
    return absl::InvalidArgumentError(absl::StrCat("output_path '", proto.output_path(),
                                                   "' is the entity file: it would be replaced"));
  }
  request.entities_path = proto.entities_path();
  request.output_path = proto.output_path();
  request.timestamp_column =
      proto.timestamp_column().empty() ? "event_timestamp" : proto.timestamp_column();
  return request;
}

// The features must exist in the snapshot the join will use. Checked before
// queueing so a typo fails at once rather than after waiting for a worker;
// the engine resolves them again with the same registry calls.
absl::Status CheckFeatures(const Registry& registry, const offline::HistoricalRequest& request) {
  return registry.ResolveFeatures(request.feature_service, request.feature_refs).status();
}

// Checks on the worker, just before the join, that need the disk: the
// engine would only find a missing output folder after the whole join.
absl::Status CheckOutput(const offline::HistoricalRequest& request) {
  namespace fs = std::filesystem;
  const fs::path output(request.output_path);
  std::error_code ec;
  if (!fs::is_directory(output.parent_path(), ec)) {
    return absl::InvalidArgumentError(absl::StrCat("output_path '", request.output_path,
                                                   "': folder '", output.parent_path().string(),
                                                   "' does not exist"));
  }
  if (fs::is_directory(output, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("output_path '", request.output_path, "' is a folder"));
  }
  if (fs::equivalent(output, fs::path(request.entities_path), ec)) {
    return absl::InvalidArgumentError(absl::StrCat("output_path '", request.output_path,
                                                   "' is the entity file: it would be replaced"));
  }
  return absl::OkStatus();
}

}  // namespace

Micros FeatureServiceImpl::Deadline(grpc::CallbackServerContext* context) const {
  const Micros fallback = NowMicros() + default_timeout_;
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return fallback;
  const Micros d =
      std::chrono::duration_cast<std::chrono::microseconds>(deadline.time_since_epoch()).count();
  return std::min(d, fallback);
}

grpc::ServerUnaryReactor* FeatureServiceImpl::GetOnlineFeatures(
    grpc::CallbackServerContext* context, const v1::GetOnlineFeaturesRequest* request,
    v1::GetOnlineFeaturesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  OnlineFeaturesRequest req;
  if (request->kind_case() == v1::GetOnlineFeaturesRequest::kFeatureService) {
    req.feature_service = request->feature_service();
    if (req.feature_service.empty()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   "feature_service is empty"));
      return reactor;
    }
  } else {
    req.feature_refs.assign(request->features().refs().begin(), request->features().refs().end());
  }
  req.full_feature_names = request->full_feature_names();
  req.entities.reserve(request->entities_size());
  for (const auto& [name, column] : request->entities()) {
    std::vector<Value> values;
    values.reserve(column.val_size());
    for (const v1::Value& v : column.val()) values.push_back(FromProto(v));
    req.entities.emplace_back(name, std::move(values));
  }
  serving_->GetOnlineFeatures(
      std::move(req), Deadline(context),
      [reactor, response](absl::StatusOr<OnlineFeaturesResponse> result) {
        if (!result.ok()) {
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        auto* metadata = response->mutable_metadata();
        for (FeatureColumn& column : result->columns) {
          metadata->add_feature_names(column.name);
          metadata->add_feature_refs(column.ref);
          auto* out = response->add_results();
          out->mutable_values()->Reserve(static_cast<int>(result->rows));
          for (size_t r = 0; r < result->rows; ++r) {
            ToProto(column.values[r], out->add_values());
            out->add_statuses(ToProto(column.statuses[r]));
            out->add_event_timestamps_us(
                column.event_times[r] == kNoTimestamp ? 0 : column.event_times[r]);
          }
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* FeatureServiceImpl::WriteOnlineFeatures(
    grpc::CallbackServerContext* context, const v1::WriteOnlineFeaturesRequest* request,
    v1::WriteOnlineFeaturesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::vector<WriteRowInput> rows;
  rows.reserve(request->rows_size());
  for (const v1::WriteRow& row : request->rows()) {
    WriteRowInput in;
    in.event_time = row.event_timestamp_us();
    in.values.reserve(row.values_size());
    for (const auto& [name, value] : row.values()) in.values.emplace_back(name, FromProto(value));
    rows.push_back(std::move(in));
  }
  serving_->WriteOnlineFeatures(request->feature_view(), std::move(rows), Deadline(context),
                                [reactor, response](absl::StatusOr<WriteResult> result) {
                                  if (!result.ok()) {
                                    reactor->Finish(ToGrpcStatus(result.status()));
                                    return;
                                  }
                                  response->set_rows_written(result->written);
                                  response->set_rows_skipped_older(result->skipped_older);
                                  reactor->Finish(grpc::Status::OK);
                                });
  return reactor;
}

grpc::ServerUnaryReactor* FeatureServiceImpl::GetHistoricalFeatures(
    grpc::CallbackServerContext* context, const v1::GetHistoricalFeaturesRequest* request,
    v1::GetHistoricalFeaturesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Micros arrived = NowMicros();
  absl::StatusOr<offline::HistoricalRequest> checked_request = HistoricalFromProto(*request);
  // The snapshot of the moment the request arrived: an apply while the job
  // waits or runs does not change what it joins.
  std::shared_ptr<const Registry> registry = registry_->Get();
  absl::Status checked =
      checked_request.ok() ? CheckFeatures(*registry, *checked_request) : checked_request.status();
  if (!checked.ok()) {
    reactor->Finish(ToGrpcStatus(checked));
    return reactor;
  }
  // Copied now: once submitted, the job may finish the call (freeing
  // `request`) before Submit returns.
  const std::string output_path = request->output_path();
  spdlog::info("historical join into {} requested ({} running, {} waiting)", output_path,
               offline_jobs_->running(), offline_jobs_->queued());
  absl::Status queued =
      offline_jobs_->Submit([context, reactor, response, registry = std::move(registry),
                             req = *std::move(checked_request), options = historical_options_,
                             arrived](absl::Status start) {
        const Micros started = NowMicros();
        // The join cannot be interrupted once it runs, so this is the last
        // point at which a caller that gave up costs nothing.
        const auto deadline = context->deadline();
        grpc::Status dropped = grpc::Status::OK;
        if (!start.ok()) {
          dropped = ToGrpcStatus(start);  // pantryd is shutting down
        } else if (deadline != std::chrono::system_clock::time_point::max() &&
                   deadline <= std::chrono::system_clock::now()) {
          dropped = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                 "the deadline passed while the join waited in the queue");
        } else if (context->IsCancelled()) {
          dropped = grpc::Status(grpc::StatusCode::CANCELLED,
                                 "the call was cancelled while the join waited in the queue");
        }
        if (!dropped.ok()) {
          spdlog::info("historical join into {} dropped after {} ms: {}", req.output_path,
                       (started - arrived) / 1000, dropped.error_message());
          reactor->Finish(dropped);
          return;
        }
        absl::Status output = CheckOutput(req);
        // The budget is the repository's, from the snapshot of this request.
        offline::HistoricalOptions run_options = options;
        run_options.memory_budget_bytes = registry->offline_store.memory_budget_bytes;
        absl::StatusOr<offline::HistoricalStats> stats =
            output.ok() ? offline::GetHistoricalFeatures(*registry, req, run_options)
                        : absl::StatusOr<offline::HistoricalStats>(output);
        const Micros finished = NowMicros();
        if (!stats.ok()) {
          // Bad requests are the caller's business; anything else is ours.
          const bool bad_input =
              absl::IsInvalidArgument(stats.status()) || absl::IsNotFound(stats.status());
          spdlog::log(bad_input ? spdlog::level::info : spdlog::level::warn,
                      "historical join of {} into {} failed after {} ms: {}", req.entities_path,
                      req.output_path, (finished - started) / 1000, stats.status());
          reactor->Finish(ToGrpcStatus(stats.status()));
          return;
        }
        spdlog::info(
            "historical join of {} into {}: {} entity rows, {} values found, {} feature rows "
            "scanned, {} ms (queued {} ms)",
            req.entities_path, req.output_path, stats->entity_rows, stats->values_found,
            stats->feature_rows_scanned, (finished - started) / 1000, (started - arrived) / 1000);
        response->set_output_path(req.output_path);
        v1::HistoricalStats* out = response->mutable_stats();
        out->set_entity_rows(stats->entity_rows);
        out->set_feature_rows_scanned(stats->feature_rows_scanned);
        out->set_row_groups_skipped(stats->row_groups_skipped);
        out->set_files_skipped(stats->files_skipped);
        out->set_values_found(stats->values_found);
        response->set_queued_us(started - arrived);
        response->set_run_us(finished - started);
        reactor->Finish(grpc::Status::OK);
      });
  if (!queued.ok()) {
    spdlog::warn("historical join into {} rejected: {}", output_path, queued);
    reactor->Finish(ToGrpcStatus(queued));
  }
  return reactor;
}

}  // namespace pantry
