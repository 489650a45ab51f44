// The first step of every RPC handler: authenticate the call for its
// method (server/auth). On failure the reactor is finished with the status
// and the handler returns at once.
#ifndef PANTRY_SERVER_SERVICE_AUTHORIZE_H_
#define PANTRY_SERVER_SERVICE_AUTHORIZE_H_

#include <grpcpp/grpcpp.h>

#include <optional>

#include "absl/strings/string_view.h"
#include "server/auth/guard.h"
#include "server/auth/resources.h"
#include "server/registry/registry.h"
#include "server/service/convert.h"

namespace pantry {

inline std::optional<auth::CallAuth> BeginCall(const auth::Guard& guard,
                                               grpc::CallbackServerContext* context,
                                               absl::string_view method, const Registry& registry,
                                               grpc::ServerUnaryReactor* reactor) {
  absl::StatusOr<auth::CallAuth> call = guard.Begin(*context, method, registry.project);
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return std::nullopt;
  }
  return *std::move(call);
}

// Finishes `reactor` with `status` when it is not OK; says whether it was.
inline bool Refused(const absl::Status& status, grpc::ServerUnaryReactor* reactor) {
  if (status.ok()) return false;
  reactor->Finish(ToGrpcStatus(status));
  return true;
}

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_AUTHORIZE_H_
