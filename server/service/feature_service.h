// gRPC adapter for pantry.v1.FeatureService: converts messages, applies the
// call's deadline, and hands the work off without blocking the gRPC thread:
// online reads and writes to OnlineServing (the reactor finishes from the
// store's completion), point-in-time joins to the offline JobPool (the
// reactor finishes from the worker that ran the join; a streamed join's
// reactor is HistoricalStream).
#ifndef PANTRY_SERVER_SERVICE_FEATURE_SERVICE_H_
#define PANTRY_SERVER_SERVICE_FEATURE_SERVICE_H_

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

#include "pantry/v1/serving.grpc.pb.h"
#include "server/auth/guard.h"
#include "server/offline/historical.h"
#include "server/registry/registry.h"
#include "server/service/historical_stream.h"
#include "server/service/job_pool.h"
#include "server/serving/online_serving.h"

namespace pantry {

// Allocates a call's request and response on one protobuf arena, freed in a
// single step when the call ends: a 1000-entity response holds 10,000
// Value messages, which would otherwise be 10,000 heap allocations.
template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options()) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options() {
      google::protobuf::ArenaOptions options;
      options.start_block_size = 4096;
      options.max_block_size = 1 << 20;
      return options;
    }
    google::protobuf::Arena arena_;
  };
};

class FeatureServiceImpl final : public v1::FeatureService::CallbackService {
 public:
  // All pointers are borrowed and must outlive the gRPC server.
  // `default_timeout` bounds online calls that carry no deadline
  // (microseconds). `registry` is read once per historical call (the snapshot
  // the join uses); `offline_jobs` runs the joins, each with
  // `historical_options`.
  FeatureServiceImpl(OnlineServing* serving, Micros default_timeout, RegistryHolder* registry,
                     JobPool* offline_jobs, offline::HistoricalOptions historical_options,
                     HistoricalStreamOptions stream_options, const auth::Guard* guard)
      : guard_(guard),
        serving_(serving),
        default_timeout_(default_timeout),
        registry_(registry),
        offline_jobs_(offline_jobs),
        historical_options_(historical_options),
        stream_options_(std::move(stream_options)) {
    SetMessageAllocatorFor_GetOnlineFeatures(&read_allocator_);
    SetMessageAllocatorFor_WriteOnlineFeatures(&write_allocator_);
  }

  grpc::ServerUnaryReactor* GetOnlineFeatures(grpc::CallbackServerContext* context,
                                              const v1::GetOnlineFeaturesRequest* request,
                                              v1::GetOnlineFeaturesResponse* response) override;
  grpc::ServerUnaryReactor* WriteOnlineFeatures(grpc::CallbackServerContext* context,
                                                const v1::WriteOnlineFeaturesRequest* request,
                                                v1::WriteOnlineFeaturesResponse* response) override;
  // Checks what needs no disk (one of features or service, absolute paths,
  // features known to the registry snapshot taken now) and queues the join;
  // the worker runs it with RunHistoricalJob (which stops it when the call
  // is cancelled, its deadline passes or pantryd shuts down).
  // RESOURCE_EXHAUSTED when the pool is full.
  grpc::ServerUnaryReactor* GetHistoricalFeatures(
      grpc::CallbackServerContext* context, const v1::GetHistoricalFeaturesRequest* request,
      v1::GetHistoricalFeaturesResponse* response) override;
  // The same join with both files in the stream (HistoricalStream).
  grpc::ServerBidiReactor<v1::HistoricalUpload, v1::HistoricalDownload>* StreamHistoricalFeatures(
      grpc::CallbackServerContext* context) override;

 private:
  const auth::Guard* guard_;
  Micros Deadline(grpc::CallbackServerContext* context) const;
  OnlineServing* serving_;
  Micros default_timeout_;
  RegistryHolder* registry_;
  JobPool* offline_jobs_;
  const offline::HistoricalOptions historical_options_;
  const HistoricalStreamOptions stream_options_;
  ArenaMessageAllocator<v1::GetOnlineFeaturesRequest, v1::GetOnlineFeaturesResponse>
      read_allocator_;
  ArenaMessageAllocator<v1::WriteOnlineFeaturesRequest, v1::WriteOnlineFeaturesResponse>
      write_allocator_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_FEATURE_SERVICE_H_
