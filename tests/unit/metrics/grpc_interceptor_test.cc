// The metrics interceptor on a real gRPC server reached through an
// in-process channel: callback-API handlers of a Pantry service, the health
// service, reflection, unknown methods and requests the client gives up on.
#include "server/metrics/grpc_interceptor.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pantry/v1/registry.grpc.pb.h"
#include "server/metrics/metrics.h"
#include "tests/support/metrics_text.h"

namespace pantry {
namespace {

using ::pantry::testing::SeriesValue;

// GetFeatureView answers NOT_FOUND for "nope", else OK; ListEntities never
// answers until the request is cancelled.
class TestRegistryService final : public v1::RegistryService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetFeatureView(grpc::CallbackServerContext* context,
                                           const v1::GetFeatureViewRequest* request,
                                           v1::FeatureViewSpec*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(request->name() == "nope"
                        ? grpc::Status(grpc::StatusCode::NOT_FOUND, "no such view")
                        : grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* ListEntities(grpc::CallbackServerContext*,
                                         const v1::ListEntitiesRequest*,
                                         v1::ListEntitiesResponse*) override {
    class Hang : public grpc::ServerUnaryReactor {
      void OnCancel() override { Finish(grpc::Status::CANCELLED); }
      void OnDone() override { delete this; }
    };
    return new Hang;
  }
};

// Reads nothing, sends no request: reflection answers OK once the client
// half-closes.
class ReflectionCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  void Start() {
    StartWritesDone();
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool) override {}
  void OnDone(const grpc::Status& status) override { done.set_value(status); }
  std::promise<grpc::Status> done;

 private:
  grpc::ByteBuffer response_;
};

class Interceptor : public ::testing::Test {
 protected:
  void SetUp() override {
    auto metrics = Metrics::Create({});
    ASSERT_TRUE(metrics.ok());
    metrics_ = *std::move(metrics);
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(NewGrpcMetricsInterceptorFactory(metrics_->grpc()));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  grpc::Status Call(const std::string& method, const std::string& request = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    grpc::Slice slice(request);
    grpc::ByteBuffer in(&slice, 1), out;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out,
                   [&](grpc::Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  }

  // The series' value once it is `want` (the server may record just after
  // the client has its answer), or its last value after a second.
  double Await(const std::string& series, double want) {
    double value = -1;
    for (int i = 0; i < 100; ++i) {
      value = SeriesValue(metrics_->TextExposition(), series).value_or(-1);
      if (value == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return value;
  }

  std::unique_ptr<Metrics> metrics_;
  TestRegistryService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

std::string Requests(const std::string& method, const std::string& code) {
  return "pantry_grpc_requests_total{code=\"" + code + "\",method=\"" + method + "\"}";
}

TEST_F(Interceptor, CallbackHandlersAreCountedWithTheStatusTheySent) {
  v1::GetFeatureViewRequest nope;
  nope.set_name("nope");
  const std::string method = "/pantry.v1.RegistryService/GetFeatureView";
  EXPECT_EQ(Call(method).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(Call(method).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(Call(method, nope.SerializeAsString()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Await(Requests(method, "OK"), 2), 2);
  EXPECT_EQ(Await(Requests(method, "NOT_FOUND"), 1), 1);
  EXPECT_EQ(Await("pantry_grpc_request_duration_seconds_count{method=\"" + method + "\"}", 3), 3);
  EXPECT_EQ(Await("pantry_grpc_requests_in_flight", 0), 0);
}

TEST_F(Interceptor, HealthChecksReflectionAndUnknownMethodsAreCounted) {
  EXPECT_EQ(Call("/grpc.health.v1.Health/Check").error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(Await(Requests("/grpc.health.v1.Health/Check", "OK"), 1), 1);

  ReflectionCall reflection;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::GenericStub(channel_).PrepareBidiStreamingCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      grpc::StubOptions(), &reflection);
  reflection.Start();
  EXPECT_EQ(reflection.done.get_future().get().error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(
      Await(Requests("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "OK"), 1),
      1);

  EXPECT_EQ(Call("/no.Such/Method").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  const std::string text = metrics_->TextExposition();
  EXPECT_EQ(Await("pantry_grpc_requests_in_flight", 0), 0) << text;
}

TEST_F(Interceptor, ARequestTheClientGaveUpOnCountsOnce) {
  const std::string method = "/pantry.v1.RegistryService/ListEntities";
  EXPECT_EQ(Call(method, "", std::chrono::milliseconds(50)).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(Await("pantry_grpc_request_duration_seconds_count{method=\"" + method + "\"}", 1), 1);
  EXPECT_EQ(Await("pantry_grpc_requests_in_flight", 0), 0);
  const std::string text = metrics_->TextExposition();
  const double cancelled = SeriesValue(text, Requests(method, "CANCELLED")).value_or(0);
  const double deadline = SeriesValue(text, Requests(method, "DEADLINE_EXCEEDED")).value_or(0);
  EXPECT_EQ(cancelled + deadline, 1) << text;
}

}  // namespace
}  // namespace pantry
