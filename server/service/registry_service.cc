#include "server/service/registry_service.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/auth/paths.h"
#include "server/service/authorize.h"
#include "server/service/convert.h"

namespace pantry {

grpc::ServerUnaryReactor* RegistryServiceImpl::Apply(grpc::CallbackServerContext* context,
                                                     const v1::ApplyRequest* request,
                                                     v1::ApplyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string source = request->source_name().empty() ? "<apply>" : request->source_name();
  {
    const std::shared_ptr<const Registry> running = holder_->Get();
    std::optional<auth::CallAuth> call =
        BeginCall(*guard_, context, "/pantry.v1.RegistryService/Apply", *running, reactor);
    if (!call || Refused(call->RequireProject(), reactor)) return reactor;
    if (call->on()) {
      // What the repository would make pantryd read and write. (One that
      // does not parse is left to the apply, which names its errors.)
      auto parsed = ParseRegistry(request->yaml(), source, request->base_dir());
      if (parsed.ok() && Refused(auth::CheckAppliedPaths(*running, **parsed,
                                                         guard_->config()->files.read_roots),
                                 reactor)) {
        return reactor;
      }
    }
  }
  // Parsing a repository is quick (milliseconds) and applies are rare, so it
  // runs inline rather than on a pool.
  auto applied = manager_->Apply(request->yaml(), source, request->base_dir());
  if (!applied.ok()) {
    spdlog::warn("apply of {} rejected: {}", source, applied.status().message());
    reactor->Finish(ToGrpcStatus(applied.status()));
    return reactor;
  }
  const Registry& r = **applied;
  spdlog::info("applied feature repository {} (project {}: {} views, {} services)", source,
               r.project, r.feature_views.size(), r.feature_services.size());
  response->set_project(r.project);
  response->set_entities(static_cast<int32_t>(r.entities.size()));
  response->set_sources(static_cast<int32_t>(r.sources.size()));
  response->set_feature_views(static_cast<int32_t>(r.feature_views.size()));
  response->set_feature_services(static_cast<int32_t>(r.feature_services.size()));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListEntities(grpc::CallbackServerContext* context,
                                                            const v1::ListEntitiesRequest*,
                                                            v1::ListEntitiesResponse* response) {
  auto registry = holder_->Get();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<auth::CallAuth> call =
      BeginCall(*guard_, context, "/pantry.v1.RegistryService/ListEntities", *registry, reactor);
  if (!call || Refused(call->RequireProject(), reactor)) return reactor;
  response->set_project(registry->project);
  for (const auto& [name, entity] : registry->entities) ToProto(entity, response->add_entities());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListFeatureViews(
    grpc::CallbackServerContext* context, const v1::ListFeatureViewsRequest*,
    v1::ListFeatureViewsResponse* response) {
  auto registry = holder_->Get();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<auth::CallAuth> call =
      BeginCall(*guard_, context, "/pantry.v1.RegistryService/ListFeatureViews", *registry, reactor);
  if (!call) return reactor;
  // Only the views the caller may describe.
  response->set_project(registry->project);
  for (const auto& [name, view] : registry->feature_views) {
    if (call->Allowed(auth::ResourceKind::kView, name, &view.tags)) {
      ToProto(view, response->add_feature_views());
    }
  }
  for (const auto& [name, view] : registry->on_demand_views) {
    if (auth::MayUseView(*call, *registry, name)) ToProto(view, response->add_on_demand_views());
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetFeatureView(
    grpc::CallbackServerContext* context, const v1::GetFeatureViewRequest* request,
    v1::FeatureViewSpec* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto registry = holder_->Get();
  std::optional<auth::CallAuth> call =
      BeginCall(*guard_, context, "/pantry.v1.RegistryService/GetFeatureView", *registry, reactor);
  if (!call || Refused(auth::RequireView(*call, *registry, request->name()), reactor)) {
    return reactor;
  }
  const FeatureView* view = registry->FindFeatureView(request->name());
  if (view == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 absl::StrCat("unknown feature view '", request->name(), "'")));
    return reactor;
  }
  ToProto(*view, response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListFeatureServices(
    grpc::CallbackServerContext* context, const v1::ListFeatureServicesRequest*,
    v1::ListFeatureServicesResponse* response) {
  auto registry = holder_->Get();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<auth::CallAuth> call = BeginCall(
      *guard_, context, "/pantry.v1.RegistryService/ListFeatureServices", *registry, reactor);
  if (!call) return reactor;
  // Only the services the caller may describe, with every view they read.
  response->set_project(registry->project);
  for (const auto& [name, service] : registry->feature_services) {
    if (auth::MayUseService(*call, *registry, name)) {
      ToProto(service, response->add_feature_services());
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace pantry
