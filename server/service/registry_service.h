// gRPC adapter for pantry.v1.RegistryService. Listing reads the current
// snapshot; Apply goes through RegistryManager (validate, persist, swap).
#ifndef PANTRY_SERVER_SERVICE_REGISTRY_SERVICE_H_
#define PANTRY_SERVER_SERVICE_REGISTRY_SERVICE_H_

#include "pantry/v1/registry.grpc.pb.h"
#include "server/auth/guard.h"
#include "server/registry/manager.h"
#include "server/registry/registry.h"

namespace pantry {

class RegistryServiceImpl final : public v1::RegistryService::CallbackService {
 public:
  // All borrowed.
  RegistryServiceImpl(const RegistryHolder* holder, RegistryManager* manager,
                      const auth::Guard* guard)
      : holder_(holder), manager_(manager), guard_(guard) {}

  grpc::ServerUnaryReactor* Apply(grpc::CallbackServerContext* context,
                                  const v1::ApplyRequest* request,
                                  v1::ApplyResponse* response) override;
  grpc::ServerUnaryReactor* ListEntities(grpc::CallbackServerContext* context,
                                         const v1::ListEntitiesRequest* request,
                                         v1::ListEntitiesResponse* response) override;
  grpc::ServerUnaryReactor* ListFeatureViews(grpc::CallbackServerContext* context,
                                             const v1::ListFeatureViewsRequest* request,
                                             v1::ListFeatureViewsResponse* response) override;
  grpc::ServerUnaryReactor* GetFeatureView(grpc::CallbackServerContext* context,
                                           const v1::GetFeatureViewRequest* request,
                                           v1::FeatureViewSpec* response) override;
  grpc::ServerUnaryReactor* ListFeatureServices(
      grpc::CallbackServerContext* context, const v1::ListFeatureServicesRequest* request,
      v1::ListFeatureServicesResponse* response) override;

 private:
  const RegistryHolder* holder_;
  RegistryManager* manager_;
  const auth::Guard* guard_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_REGISTRY_SERVICE_H_
