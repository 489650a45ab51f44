// The check every RPC handler starts with: Begin authenticates the call
// (its bearer token or client certificate) for its method's action, and the
// CallAuth it returns checks the resources the request touches. With auth
// off (no --auth-config) every call is allowed, as before.
//
// The configuration is loaded once and replaced whole on Reload (SIGHUP):
// no file or network is read per request.
//
// Thread-safe.
#ifndef PANTRY_SERVER_AUTH_GUARD_H_
#define PANTRY_SERVER_AUTH_GUARD_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/auth/authenticator.h"
#include "server/auth/methods.h"

namespace grpc {
class ServerContextBase;
}

namespace pantry::auth {

// One call's principal and action.
class CallAuth {
 public:
  // Auth off: everything allowed.
  CallAuth() = default;

  bool on() const { return state_ != nullptr; }
  // Auth on only.
  const Principal& principal() const { return *principal_; }
  const MethodRule* rule() const { return rule_; }

  // Whether the call's action is allowed on the resource.
  bool Allowed(ResourceKind kind, absl::string_view name,
               const std::map<std::string, std::string>* tags = nullptr) const;
  // PermissionDenied naming the principal, the action and the resource
  // when it is not.
  absl::Status Require(ResourceKind kind, absl::string_view name,
                       const std::map<std::string, std::string>* tags = nullptr) const;
  // The same for the project itself.
  absl::Status RequireProject() const { return Require(ResourceKind::kProject, project_); }

 private:
  friend class Guard;
  std::shared_ptr<const Authenticator> state_;  // keeps the roles alive; null: auth off
  std::shared_ptr<const Principal> principal_;
  const MethodRule* rule_ = nullptr;
  std::string project_;
};

class Guard {
 public:
  Guard() = default;  // auth off

  // Loads `path` and turns auth on. On error the guard is unchanged.
  absl::Status Load(const std::string& path);
  // Loads the same file again (SIGHUP); on error the previous configuration
  // stays in force and the error is returned.
  absl::Status Reload();

  bool on() const;
  std::shared_ptr<const AuthConfig> config() const;

  // Authenticates a call of `method` (its full name) to `project`.
  // UNAUTHENTICATED without valid credentials; PERMISSION_DENIED for a
  // method without a rule (none should lack one).
  absl::StatusOr<CallAuth> Begin(const grpc::ServerContextBase& context, absl::string_view method,
                                 absl::string_view project) const;

  // The same from already extracted credentials (tests, benchmarks).
  absl::StatusOr<CallAuth> Begin(absl::string_view authorization, const PeerIdentity& peer,
                                 absl::string_view method, absl::string_view project) const;

 private:
  std::shared_ptr<const Authenticator> Current() const;

  mutable std::mutex mu_;
  std::string path_;                             // guarded by mu_
  std::shared_ptr<const Authenticator> state_;  // guarded by mu_; null: auth off
};

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_GUARD_H_
