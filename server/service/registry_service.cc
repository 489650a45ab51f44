#include "server/service/registry_service.h"

#include "absl/strings/str_cat.h"
#include "server/service/convert.h"
#include "server/common/log.h"

namespace pantry {

grpc::ServerUnaryReactor* RegistryServiceImpl::Apply(grpc::CallbackServerContext* context,
                                                     const v1::ApplyRequest* request,
                                                     v1::ApplyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Parsing a repository is quick (milliseconds) and applies are rare, so it
  // runs inline rather than on a pool.
  const std::string source = request->source_name().empty() ? "<apply>" : request->source_name();
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
  response->set_project(registry->project);
  for (const auto& [name, entity] : registry->entities) ToProto(entity, response->add_entities());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListFeatureViews(
    grpc::CallbackServerContext* context, const v1::ListFeatureViewsRequest*,
    v1::ListFeatureViewsResponse* response) {
  auto registry = holder_->Get();
  response->set_project(registry->project);
  for (const auto& [name, view] : registry->feature_views) {
    ToProto(view, response->add_feature_views());
  }
  for (const auto& [name, view] : registry->on_demand_views) {
    ToProto(view, response->add_on_demand_views());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetFeatureView(
    grpc::CallbackServerContext* context, const v1::GetFeatureViewRequest* request,
    v1::FeatureViewSpec* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto registry = holder_->Get();
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
  response->set_project(registry->project);
  for (const auto& [name, service] : registry->feature_services) {
    ToProto(service, response->add_feature_services());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace pantry
