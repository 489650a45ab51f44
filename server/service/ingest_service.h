// pantry.v1.IngestService: a thin adapter from the RPCs to ingest::Pusher,
// which runs on a worker pool (it waits for the log's fsync and for Redis,
// never on a gRPC thread).
#ifndef PANTRY_SERVER_SERVICE_INGEST_SERVICE_H_
#define PANTRY_SERVER_SERVICE_INGEST_SERVICE_H_

#include "pantry/v1/ingest.grpc.pb.h"
#include "server/ingest/pusher.h"
#include "server/service/job_pool.h"

namespace pantry {

class IngestServiceImpl final : public v1::IngestService::CallbackService {
 public:
  // Borrowed; must outlive the gRPC server. `max_wait`: the longest a push
  // may take when its caller set no sooner deadline.
  IngestServiceImpl(ingest::Pusher* pusher, JobPool* workers, Micros max_wait)
      : pusher_(pusher), workers_(workers), max_wait_(max_wait) {}

  grpc::ServerUnaryReactor* Push(grpc::CallbackServerContext* context,
                                 const v1::PushRequest* request,
                                 v1::PushResponse* response) override;

 private:
  ingest::Pusher* pusher_;
  JobPool* workers_;
  const Micros max_wait_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_INGEST_SERVICE_H_
