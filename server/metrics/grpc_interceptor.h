// The gRPC server interceptor that records pantry_grpc_requests_total and
// pantry_grpc_request_duration_seconds for every request of every service
// the server has (Pantry's, the health service, reflection), so no handler
// can skip them.
//
// Install it on the ServerBuilder before BuildAndStart:
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(NewGrpcMetricsInterceptorFactory(metrics->grpc()));
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// A request is timed from its arrival (when gRPC makes its interceptors) to
// its status being sent; its code is that status's. A request that ends
// without sending a status (the client went away) counts as CANCELLED.
#ifndef PANTRY_SERVER_METRICS_GRPC_INTERCEPTOR_H_
#define PANTRY_SERVER_METRICS_GRPC_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "server/metrics/metrics.h"

namespace pantry {

// `metrics` is borrowed and must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewGrpcMetricsInterceptorFactory(GrpcMetrics* metrics);

}  // namespace pantry

#endif  // PANTRY_SERVER_METRICS_GRPC_INTERCEPTOR_H_
