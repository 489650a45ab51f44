// gRPC adapter for pantry.v1.MaterializationService over MaterializeJobs and
// the lineage log. Every call is quick (queueing, snapshots, reading the
// lineage file), so it runs on the gRPC thread.
#ifndef PANTRY_SERVER_SERVICE_MATERIALIZE_SERVICE_H_
#define PANTRY_SERVER_SERVICE_MATERIALIZE_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "pantry/v1/materialize.grpc.pb.h"
#include "server/auth/guard.h"
#include "server/lineage/lineage.h"
#include "server/materialize/coordinator.h"
#include "server/materialize/jobs.h"
#include "server/registry/registry.h"

namespace pantry {

class MaterializationServiceImpl final : public v1::MaterializationService::CallbackService {
 public:
  // All pointers are borrowed and must outlive the gRPC server.
  MaterializationServiceImpl(materialize::MaterializeJobs* jobs,
                             materialize::Coordinator* coordinator,
                             const lineage::LineageLog* lineage, const RegistryHolder* registry,
                             const auth::Guard* guard)
      : jobs_(jobs),
        coordinator_(coordinator),
        lineage_(lineage),
        registry_(registry),
        guard_(guard) {}

  grpc::ServerUnaryReactor* Materialize(grpc::CallbackServerContext* context,
                                        const v1::MaterializeRequest* request,
                                        v1::Job* response) override;
  grpc::ServerUnaryReactor* MaterializeIncremental(
      grpc::CallbackServerContext* context, const v1::MaterializeIncrementalRequest* request,
      v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context,
                                      const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* ListWatermarks(grpc::CallbackServerContext* context,
                                           const v1::ListWatermarksRequest* request,
                                           v1::ListWatermarksResponse* response) override;
  grpc::ServerUnaryReactor* ListLineage(grpc::CallbackServerContext* context,
                                        const v1::ListLineageRequest* request,
                                        v1::ListLineageResponse* response) override;

 private:
  // With auth on: the reactor, finished, when the call may not go on (its
  // credentials, or the project / one of `views`); nullopt when it may.
  std::optional<grpc::ServerUnaryReactor*> RefuseProject(grpc::CallbackServerContext* context,
                                                         absl::string_view method) const;
  std::optional<grpc::ServerUnaryReactor*> RefuseViews(grpc::CallbackServerContext* context,
                                                       absl::string_view method,
                                                       const std::vector<std::string>& views) const;

  materialize::MaterializeJobs* jobs_;
  materialize::Coordinator* coordinator_;
  const lineage::LineageLog* lineage_;
  const RegistryHolder* registry_;
  const auth::Guard* guard_;
};

// Exposed for tests.
void ToProto(const materialize::JobInfo& job, v1::Job* proto);

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_MATERIALIZE_SERVICE_H_
