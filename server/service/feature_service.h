// gRPC adapter for pantry.v1.FeatureService: converts messages, applies the
// call's deadline, and hands the work to OnlineServing without blocking the
// gRPC thread (the reactor finishes from the store's completion).
#ifndef PANTRY_SERVER_SERVICE_FEATURE_SERVICE_H_
#define PANTRY_SERVER_SERVICE_FEATURE_SERVICE_H_

#include "pantry/v1/serving.grpc.pb.h"
#include "server/serving/online_serving.h"

namespace pantry {

class FeatureServiceImpl final : public v1::FeatureService::CallbackService {
 public:
  // `serving` is borrowed. `default_timeout` bounds calls that carry no
  // deadline (microseconds).
  FeatureServiceImpl(OnlineServing* serving, Micros default_timeout)
      : serving_(serving), default_timeout_(default_timeout) {}

  grpc::ServerUnaryReactor* GetOnlineFeatures(grpc::CallbackServerContext* context,
                                              const v1::GetOnlineFeaturesRequest* request,
                                              v1::GetOnlineFeaturesResponse* response) override;
  grpc::ServerUnaryReactor* WriteOnlineFeatures(grpc::CallbackServerContext* context,
                                                const v1::WriteOnlineFeaturesRequest* request,
                                                v1::WriteOnlineFeaturesResponse* response) override;

 private:
  Micros Deadline(grpc::CallbackServerContext* context) const;
  OnlineServing* serving_;
  Micros default_timeout_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_FEATURE_SERVICE_H_
