// Every RPC pantryd serves and the action it needs, in one table. A call
// to a method missing here is refused, and a test walks every method of
// every service pantryd registers and fails when one has no entry, so a
// new RPC cannot go unchecked.
#ifndef PANTRY_SERVER_AUTH_METHODS_H_
#define PANTRY_SERVER_AUTH_METHODS_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/auth/policy.h"

namespace pantry::auth {

struct MethodRule {
  absl::string_view method;     // full name: "/pantry.v1.FeatureService/GetOnlineFeatures"
  Action action;
  bool mutating;                // changes data or state: always audited
  absl::string_view resources;  // what the handler checks the action on (docs)
  bool open = false;            // answered without credentials (health checks)
};

absl::Span<const MethodRule> MethodRules();
// The rule of `method`, or nullptr.
const MethodRule* FindMethodRule(absl::string_view method);

// gRPC server reflection, answered without credentials only when the auth
// configuration says `reflection: true`.
inline constexpr absl::string_view kReflectionService =
    "grpc.reflection.v1alpha.ServerReflection";

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_METHODS_H_
