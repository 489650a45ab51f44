#include "server/service/historical_job.h"

#include <chrono>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status.h"

namespace pantry {

absl::StatusOr<offline::HistoricalRequest> HistoricalFromProto(
    const v1::GetHistoricalFeaturesRequest& proto, HistoricalPaths paths) {
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
  request.timestamp_column =
      proto.timestamp_column().empty() ? "event_timestamp" : proto.timestamp_column();
  if (paths == HistoricalPaths::kForbidden) {
    if (!proto.entities_path().empty() || !proto.output_path().empty()) {
      return absl::InvalidArgumentError(
          "a streamed join takes its entity rows from the stream and sends its result back: "
          "leave entities_path and output_path empty");
    }
    return request;
  }
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
  return request;
}

absl::Status CheckFeatures(const Registry& registry, const offline::HistoricalRequest& request) {
  return registry.ResolveFeatures(request.feature_service, request.feature_refs).status();
}

namespace {

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


// What stops a join: before it starts (`queued`) or while it runs.
absl::Status Interruption(grpc::CallbackServerContext* context, const JobPool& pool, bool queued) {
  const absl::string_view when =
      queued ? " while the join waited in the queue" : ": the join was stopped";
  if (pool.shutting_down()) {
    return absl::UnavailableError(absl::StrCat("pantryd is shutting down", when));
  }
  const auto deadline = context->deadline();
  if (deadline != std::chrono::system_clock::time_point::max() &&
      deadline <= std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError(absl::StrCat("the deadline passed", when));
  }
  if (context->IsCancelled()) return absl::CancelledError(absl::StrCat("the call was cancelled", when));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HistoricalOutcome> RunHistoricalJob(absl::Status start,
                                                   grpc::CallbackServerContext* context,
                                                   const JobPool& pool, const Registry& registry,
                                                   const offline::HistoricalRequest& request,
                                                   offline::HistoricalOptions options,
                                                   Micros arrived, const std::string& what) {
  HistoricalOutcome outcome;
  const Micros started = NowMicros();
  outcome.queued_us = started - arrived;
  // Before the join starts, a caller that gave up costs nothing.
  absl::Status dropped = start.ok() ? Interruption(context, pool, /*queued=*/true) : start;
  if (!dropped.ok()) {
    spdlog::info("historical join {} dropped after {} ms: {}", what,
                 outcome.queued_us / 1000, dropped.message());
    return dropped;
  }
  options.memory_budget_bytes = registry.offline_store.memory_budget_bytes;
  options.interrupt = [context, &pool] { return Interruption(context, pool, /*queued=*/false); };
  absl::Status output = CheckOutput(request);
  absl::StatusOr<offline::HistoricalStats> stats =
      output.ok() ? offline::GetHistoricalFeatures(registry, request, options)
                  : absl::StatusOr<offline::HistoricalStats>(output);
  outcome.run_us = NowMicros() - started;
  if (!stats.ok()) {
    // Bad requests and callers that gave up are the caller's business;
    // anything else is ours.
    const absl::Status& s = stats.status();
    const bool callers = absl::IsInvalidArgument(s) || absl::IsNotFound(s) ||
                         absl::IsCancelled(s) || absl::IsDeadlineExceeded(s);
    spdlog::log(callers ? spdlog::level::info : spdlog::level::warn,
                "historical join {} failed after {} ms: {}", what, outcome.run_us / 1000, s);
    return s;
  }
  outcome.stats = *std::move(stats);
  spdlog::info(
      "historical join {}: {} entity rows, {} values found, {} feature rows scanned, {} ms "
      "(queued {} ms)",
      what, outcome.stats.entity_rows, outcome.stats.values_found,
      outcome.stats.feature_rows_scanned, outcome.run_us / 1000, outcome.queued_us / 1000);
  return outcome;
}

void ToProto(const HistoricalOutcome& outcome, v1::GetHistoricalFeaturesResponse* response) {
  v1::HistoricalStats* out = response->mutable_stats();
  out->set_entity_rows(outcome.stats.entity_rows);
  out->set_feature_rows_scanned(outcome.stats.feature_rows_scanned);
  out->set_row_groups_skipped(outcome.stats.row_groups_skipped);
  out->set_files_skipped(outcome.stats.files_skipped);
  out->set_values_found(outcome.stats.values_found);
  response->set_queued_us(outcome.queued_us);
  response->set_run_us(outcome.run_us);
}

}  // namespace pantry
