// The check every RPC handler starts with: Begin authenticates the call
// (its bearer token or client certificate) for its method's action, and the
// CallAuth it returns checks the resources the request touches. With auth
// off (no --auth-config) every call is allowed, as before.
//
// With an audit log configured, every call that fails authentication or is
// denied is recorded, every allowed mutating call too, and allowed reads at
// the configured sample rate; the record of an allowed call is written when
// its CallAuth goes away (the handler has checked everything by then).
//
// The configuration is loaded once and replaced whole on Reload (SIGHUP):
// no file or network is read per request.
//
// Thread-safe.
#ifndef PANTRY_SERVER_AUTH_GUARD_H_
#define PANTRY_SERVER_AUTH_GUARD_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/audit/audit_log.h"
#include "server/auth/authenticator.h"
#include "server/auth/methods.h"

namespace grpc {
class ServerContextBase;
}

namespace pantry::auth {

// What a configuration loaded: the authenticator and the audit log.
struct GuardState {
  std::shared_ptr<const Authenticator> authenticator;
  std::shared_ptr<audit::AuditLog> audit;  // null: no audit log
  double sample_reads = 0;
};

// Where a call comes from, for the audit log.
struct CallOrigin {
  std::string request_id;
  std::string peer;
};

// One call's principal and action. Move-only.
class CallAuth {
 public:
  // Auth off: everything allowed.
  CallAuth() = default;
  CallAuth(CallAuth&& other) noexcept { *this = std::move(other); }
  CallAuth& operator=(CallAuth&& other) noexcept;
  CallAuth(const CallAuth&) = delete;
  CallAuth& operator=(const CallAuth&) = delete;
  // Records an allowed call (mutating ones, and reads when sampled).
  ~CallAuth();

  bool on() const { return state_ != nullptr; }
  // Auth on only.
  const Principal& principal() const { return *principal_; }
  const MethodRule* rule() const { return rule_; }

  // Whether the call's action is allowed on the resource (for lists:
  // nothing is recorded).
  bool Allowed(ResourceKind kind, absl::string_view name,
               const std::map<std::string, std::string>* tags = nullptr) const;
  // PermissionDenied naming the principal, the action and the resource
  // when it is not (and recorded in the audit log).
  absl::Status Require(ResourceKind kind, absl::string_view name,
                       const std::map<std::string, std::string>* tags = nullptr);
  // The same for the project itself.
  absl::Status RequireProject() { return Require(ResourceKind::kProject, project_); }

 private:
  friend class Guard;
  void Record(absl::string_view outcome, absl::string_view reason);

  std::shared_ptr<const GuardState> state_;  // keeps the roles alive; null: auth off
  std::shared_ptr<const Principal> principal_;
  const MethodRule* rule_ = nullptr;
  std::string project_;
  CallOrigin origin_;
  bool audited_ = false;  // an allowed call is to be recorded at the end
  bool denied_ = false;
  std::vector<std::string> resources_;  // checked so far (with an audit log)
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
  // The audit log, or null.
  std::shared_ptr<audit::AuditLog> audit_log() const;

  // Authenticates a call of `method` (its full name) to `project`.
  // UNAUTHENTICATED without valid credentials; PERMISSION_DENIED for a
  // method without a rule (none should lack one).
  absl::StatusOr<CallAuth> Begin(const grpc::ServerContextBase& context, absl::string_view method,
                                 absl::string_view project) const;

  // The same from already extracted credentials (tests, benchmarks).
  absl::StatusOr<CallAuth> Begin(absl::string_view authorization, const PeerIdentity& peer,
                                 absl::string_view method, absl::string_view project,
                                 CallOrigin origin = {}) const;

 private:
  std::shared_ptr<const GuardState> Current() const;
  std::string NextRequestId() const;

  mutable std::mutex mu_;
  std::string path_;                         // guarded by mu_
  std::shared_ptr<const GuardState> state_;  // guarded by mu_; null: auth off
  mutable std::atomic<uint64_t> calls_{0};
  const uint64_t boot_ = static_cast<uint64_t>(NowMicros());
};

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_GUARD_H_
