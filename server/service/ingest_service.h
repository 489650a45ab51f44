// pantry.v1.IngestService: a thin adapter from the RPCs to ingest::Pusher,
// the stream consumers' status and the dead-letter operations. Pushes and
// dead-letter calls run on a worker pool (they wait for the log's fsync and
// for Redis, never on a gRPC thread).
#ifndef PANTRY_SERVER_SERVICE_INGEST_SERVICE_H_
#define PANTRY_SERVER_SERVICE_INGEST_SERVICE_H_

#include "pantry/v1/ingest.grpc.pb.h"
#include "server/auth/guard.h"
#include "server/ingest/pusher.h"
#include "server/ingest/stream_ingest.h"
#include "server/service/job_pool.h"

namespace pantry {

class IngestServiceImpl final : public v1::IngestService::CallbackService {
 public:
  // Borrowed; must outlive the gRPC server. `max_wait`: the longest a push
  // may take when its caller set no sooner deadline.
  IngestServiceImpl(ingest::Pusher* pusher, ingest::StreamIngest* streams,
                    const RegistryHolder* registry, JobPool* workers, Micros max_wait,
                    const auth::Guard* guard)
      : pusher_(pusher), streams_(streams), registry_(registry), workers_(workers),
        max_wait_(max_wait), guard_(guard) {}

  grpc::ServerUnaryReactor* Push(grpc::CallbackServerContext* context,
                                 const v1::PushRequest* request,
                                 v1::PushResponse* response) override;
  grpc::ServerUnaryReactor* GetIngestStatus(grpc::CallbackServerContext* context,
                                            const v1::GetIngestStatusRequest* request,
                                            v1::GetIngestStatusResponse* response) override;
  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
                                            const v1::ListDeadLettersRequest* request,
                                            v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* ReplayDeadLetters(grpc::CallbackServerContext* context,
                                              const v1::ReplayDeadLettersRequest* request,
                                              v1::ReplayDeadLettersResponse* response) override;

 private:
  ingest::Pusher* pusher_;
  ingest::StreamIngest* streams_;
  const RegistryHolder* registry_;
  JobPool* workers_;
  const Micros max_wait_;
  const auth::Guard* guard_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_INGEST_SERVICE_H_
