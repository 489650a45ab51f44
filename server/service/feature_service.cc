#include "server/service/feature_service.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/service/convert.h"
#include "server/auth/paths.h"
#include "server/service/authorize.h"
#include "server/service/historical_job.h"

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
  if (guard_->on()) {
    const std::shared_ptr<const Registry> registry = registry_->Get();
    std::optional<auth::CallAuth> call = BeginCall(
        *guard_, context, "/pantry.v1.FeatureService/GetOnlineFeatures", *registry, reactor);
    if (!call) return reactor;
    const bool by_service = request->kind_case() == v1::GetOnlineFeaturesRequest::kFeatureService;
    if (Refused(auth::RequireFeatures(*call, *registry, request->features().refs(),
                                      by_service ? request->feature_service() : std::string()),
                reactor)) {
      return reactor;
    }
  }
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
  for (const auto& [name, column] : request->request_data()) {
    std::vector<Value> values;
    values.reserve(column.val_size());
    for (const v1::Value& v : column.val()) values.push_back(FromProto(v));
    req.request_data.emplace_back(name, std::move(values));
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
  if (guard_->on()) {
    const std::shared_ptr<const Registry> registry = registry_->Get();
    std::optional<auth::CallAuth> call = BeginCall(
        *guard_, context, "/pantry.v1.FeatureService/WriteOnlineFeatures", *registry, reactor);
    if (!call || Refused(auth::RequireView(*call, *registry, request->feature_view()), reactor)) {
      return reactor;
    }
  }
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
  absl::StatusOr<offline::HistoricalRequest> checked_request =
      HistoricalFromProto(*request, HistoricalPaths::kRequired);
  // The snapshot of the moment the request arrived: an apply while the job
  // waits or runs does not change what it joins.
  std::shared_ptr<const Registry> registry = registry_->Get();
  std::optional<auth::CallAuth> call = BeginCall(
      *guard_, context, "/pantry.v1.FeatureService/GetHistoricalFeatures", *registry, reactor);
  if (!call) return reactor;
  if (checked_request.ok() &&
      Refused(auth::RequireFeatures(*call, *registry, checked_request->feature_refs,
                                    checked_request->feature_service),
              reactor)) {
    return reactor;
  }
  if (checked_request.ok() && call->on()) {
    // The files it names: within the folders callers may use, symlinks
    // resolved.
    const std::shared_ptr<const auth::AuthConfig> config = guard_->config();
    std::vector<std::string> readable = config->files.read_roots;
    if (!registry->offline_store.path.empty()) readable.push_back(registry->offline_store.path);
    absl::StatusOr<std::string> entities = auth::ConfineRead(checked_request->entities_path, readable);
    if (Refused(entities.status(), reactor)) return reactor;
    absl::StatusOr<std::string> output =
        auth::ConfineWrite(checked_request->output_path, config->files.write_roots);
    if (Refused(output.status(), reactor)) return reactor;
    checked_request->entities_path = *std::move(entities);
    checked_request->output_path = *std::move(output);
  }
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
  absl::Status queued = offline_jobs_->Submit(
      [this, context, reactor, response, registry = std::move(registry),
       req = *std::move(checked_request), arrived](absl::Status start) {
        const std::string what = absl::StrCat("of ", req.entities_path, " into ", req.output_path);
        absl::StatusOr<HistoricalOutcome> outcome = RunHistoricalJob(
            std::move(start), context, *offline_jobs_, *registry, req, historical_options_,
            arrived, what);
        if (!outcome.ok()) {
          reactor->Finish(ToGrpcStatus(outcome.status()));
          return;
        }
        response->set_output_path(req.output_path);
        ToProto(*outcome, response);
        reactor->Finish(grpc::Status::OK);
      });
  if (!queued.ok()) {
    spdlog::warn("historical join into {} rejected: {}", output_path, queued);
    reactor->Finish(ToGrpcStatus(queued));
  }
  return reactor;
}

grpc::ServerBidiReactor<v1::HistoricalUpload, v1::HistoricalDownload>*
FeatureServiceImpl::StreamHistoricalFeatures(grpc::CallbackServerContext* context) {
  std::shared_ptr<const Registry> registry = registry_->Get();
  absl::StatusOr<auth::CallAuth> call =
      guard_->Begin(*context, "/pantry.v1.FeatureService/StreamHistoricalFeatures",
                    registry->project);
  if (!call.ok()) return new RefusedStream(ToGrpcStatus(call.status()));
  return new HistoricalStream(context, std::move(registry), offline_jobs_, historical_options_,
                              stream_options_, *std::move(call));
}

}  // namespace pantry
