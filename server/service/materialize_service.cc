#include "server/service/materialize_service.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/service/authorize.h"
#include "server/service/convert.h"

namespace pantry {
namespace {

v1::JobState StateToProto(materialize::JobState s) {
  switch (s) {
    case materialize::JobState::kQueued: return v1::QUEUED;
    case materialize::JobState::kRunning: return v1::RUNNING;
    case materialize::JobState::kSucceeded: return v1::SUCCEEDED;
    case materialize::JobState::kFailed: return v1::FAILED;
    case materialize::JobState::kCancelled: return v1::CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

// Answers with `job` or its error.
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                const absl::StatusOr<materialize::JobInfo>& job,
                                v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!job.ok()) {
    reactor->Finish(ToGrpcStatus(job.status()));
    return reactor;
  }
  pantry::ToProto(*job, response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace

std::optional<grpc::ServerUnaryReactor*> MaterializationServiceImpl::RefuseProject(
    grpc::CallbackServerContext* context, absl::string_view method) const {
  if (!guard_->on()) return std::nullopt;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<auth::CallAuth> call = BeginCall(*guard_, context, method, *registry_->Get(), reactor);
  if (!call || Refused(call->RequireProject(), reactor)) return reactor;
  return std::nullopt;
}

std::optional<grpc::ServerUnaryReactor*> MaterializationServiceImpl::RefuseViews(
    grpc::CallbackServerContext* context, absl::string_view method,
    const std::vector<std::string>& views) const {
  if (!guard_->on()) return std::nullopt;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<const Registry> registry = registry_->Get();
  std::optional<auth::CallAuth> call = BeginCall(*guard_, context, method, *registry, reactor);
  if (!call) return reactor;
  // No views named: every online view of the project.
  std::vector<std::string> all;
  if (views.empty()) {
    for (const auto& [name, view] : registry->feature_views) {
      if (view.online) all.push_back(name);
    }
  }
  for (const std::string& v : views.empty() ? all : views) {
    if (Refused(auth::RequireView(*call, *registry, v), reactor)) return reactor;
  }
  return std::nullopt;
}

void ToProto(const materialize::JobInfo& job, v1::Job* proto) {
  proto->set_id(job.id);
  proto->set_kind(job.incremental ? "materialize-incremental" : "materialize");
  proto->set_state(StateToProto(job.state));
  for (const materialize::ViewRunInfo& v : job.views) {
    v1::ViewRun* out = proto->add_views();
    out->set_view(v.view);
    out->set_start_us(v.start);
    out->set_end_us(v.end);
    out->set_state(StateToProto(v.state));
    out->set_rows_read(v.rows_read);
    out->set_rows_written(v.rows_written);
    out->set_rows_skipped_older(v.rows_skipped);
    out->set_bytes_read(v.bytes_read);
    out->set_keys(v.keys);
    out->set_error(v.error);
    out->set_up_to_date(v.up_to_date);
    proto->set_rows_read(proto->rows_read() + v.rows_read);
    proto->set_rows_written(proto->rows_written() + v.rows_written);
    proto->set_rows_skipped_older(proto->rows_skipped_older() + v.rows_skipped);
    proto->set_bytes_read(proto->bytes_read() + v.bytes_read);
  }
  proto->set_progress(job.progress);
  proto->set_created_us(job.created);
  proto->set_started_us(job.started);
  proto->set_finished_us(job.finished);
  proto->set_error(job.error);
  proto->set_replica(job.replica);
}

grpc::ServerUnaryReactor* MaterializationServiceImpl::Materialize(
    grpc::CallbackServerContext* context, const v1::MaterializeRequest* request,
    v1::Job* response) {
  const std::vector<std::string> views(request->views().begin(), request->views().end());
  if (std::optional<grpc::ServerUnaryReactor*> refused =
          RefuseViews(context, "/pantry.v1.MaterializationService/Materialize", views)) {
    return *refused;
  }
  return Reply(context, jobs_->Materialize(views, request->start_us(), request->end_us()),
               response);
}

grpc::ServerUnaryReactor* MaterializationServiceImpl::MaterializeIncremental(
    grpc::CallbackServerContext* context, const v1::MaterializeIncrementalRequest* request,
    v1::Job* response) {
  const std::vector<std::string> views(request->views().begin(), request->views().end());
  if (std::optional<grpc::ServerUnaryReactor*> refused = RefuseViews(
          context, "/pantry.v1.MaterializationService/MaterializeIncremental", views)) {
    return *refused;
  }
  return Reply(context, jobs_->MaterializeIncremental(views, request->end_us()), response);
}

grpc::ServerUnaryReactor* MaterializationServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                             const v1::GetJobRequest* request,
                                                             v1::Job* response) {
  if (auto refused = RefuseProject(context, "/pantry.v1.MaterializationService/GetJob")) {
    return *refused;
  }
  return Reply(context, jobs_->Get(request->id()), response);
}

grpc::ServerUnaryReactor* MaterializationServiceImpl::ListJobs(
    grpc::CallbackServerContext* context, const v1::ListJobsRequest*,
    v1::ListJobsResponse* response) {
  if (auto refused = RefuseProject(context, "/pantry.v1.MaterializationService/ListJobs")) {
    return *refused;
  }
  for (const materialize::JobInfo& job : jobs_->List()) ToProto(job, response->add_jobs());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaterializationServiceImpl::CancelJob(
    grpc::CallbackServerContext* context, const v1::CancelJobRequest* request,
    v1::Job* response) {
  if (auto refused = RefuseProject(context, "/pantry.v1.MaterializationService/CancelJob")) {
    return *refused;
  }
  return Reply(context, jobs_->Cancel(request->id()), response);
}

grpc::ServerUnaryReactor* MaterializationServiceImpl::ListWatermarks(
    grpc::CallbackServerContext* context, const v1::ListWatermarksRequest*,
    v1::ListWatermarksResponse* response) {
  if (auto refused = RefuseProject(context, "/pantry.v1.MaterializationService/ListWatermarks")) {
    return *refused;
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto marks = coordinator_->Watermarks(registry_->Get()->project);
  if (!marks.ok()) {
    reactor->Finish(ToGrpcStatus(marks.status()));
    return reactor;
  }
  for (const auto& [view, mark] : *marks) {
    v1::Watermark* w = response->add_watermarks();
    w->set_view(view);
    w->set_watermark_us(mark);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaterializationServiceImpl::ListLineage(
    grpc::CallbackServerContext* context, const v1::ListLineageRequest* request,
    v1::ListLineageResponse* response) {
  if (auto refused = RefuseProject(context, "/pantry.v1.MaterializationService/ListLineage")) {
    return *refused;
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<const Registry> registry = registry_->Get();
  if (!request->view().empty() && registry->FindFeatureView(request->view()) == nullptr) {
    reactor->Finish(ToGrpcStatus(
        absl::NotFoundError(absl::StrCat("unknown feature view '", request->view(), "'"))));
    return reactor;
  }
  const size_t limit = request->limit() > 0 ? static_cast<size_t>(request->limit()) : 1000;
  auto events = lineage_->Read(
      registry->lineage_path,
      request->view().empty() ? "" : absl::StrCat("materialize.", request->view()), limit);
  if (!events.ok()) {
    reactor->Finish(ToGrpcStatus(events.status()));
    return reactor;
  }
  for (std::string& e : *events) response->add_events(std::move(e));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace pantry
