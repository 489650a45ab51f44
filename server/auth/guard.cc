#include "server/auth/guard.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"

namespace pantry::auth {
namespace {

std::vector<std::string> Values(const grpc::AuthContext& ctx, const char* property) {
  std::vector<std::string> out;
  for (const grpc::string_ref& v : ctx.FindPropertyValues(property)) {
    out.emplace_back(v.data(), v.size());
  }
  return out;
}

// What TLS verified of the peer's certificate.
PeerIdentity PeerOf(const grpc::ServerContextBase& context) {
  PeerIdentity peer;
  std::shared_ptr<const grpc::AuthContext> ctx = context.auth_context();
  if (ctx == nullptr || !ctx->IsPeerAuthenticated()) return peer;
  std::vector<std::string> cn = Values(*ctx, "x509_common_name");
  if (!cn.empty()) peer.subject_cn = cn[0];
  peer.san_dns = Values(*ctx, "peer_dns");
  peer.san_uri = Values(*ctx, "peer_uri");
  peer.san_email = Values(*ctx, "peer_email");
  if (peer.san_dns.empty()) peer.san_dns = Values(*ctx, "x509_subject_alternative_name");
  return peer;
}

}  // namespace

bool CallAuth::Allowed(ResourceKind kind, absl::string_view name,
                       const std::map<std::string, std::string>* tags) const {
  if (state_ == nullptr) return true;
  return Policy::Allows(*principal_, rule_->action, project_, Resource{kind, name, tags});
}

absl::Status CallAuth::Require(ResourceKind kind, absl::string_view name,
                               const std::map<std::string, std::string>* tags) const {
  if (Allowed(kind, name, tags)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("principal '", principal_->name, "' may not ", ActionName(rule_->action), " ",
                   ResourceKindName(kind), " '", name, "'"));
}

absl::Status Guard::Load(const std::string& path) {
  PANTRY_ASSIGN_OR_RETURN(std::shared_ptr<const AuthConfig> config, LoadAuthConfig(path));
  auto state = std::make_shared<const Authenticator>(std::move(config));
  std::lock_guard<std::mutex> lock(mu_);
  path_ = path;
  state_ = std::move(state);
  return absl::OkStatus();
}

absl::Status Guard::Reload() {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    path = path_;
  }
  if (path.empty()) return absl::OkStatus();
  return Load(path);
}

bool Guard::on() const { return Current() != nullptr; }

std::shared_ptr<const AuthConfig> Guard::config() const {
  std::shared_ptr<const Authenticator> s = Current();
  if (s == nullptr) return nullptr;
  // The config lives as long as the authenticator holding it.
  return std::shared_ptr<const AuthConfig>(s, &s->config());
}

std::shared_ptr<const Authenticator> Guard::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

absl::StatusOr<CallAuth> Guard::Begin(absl::string_view authorization, const PeerIdentity& peer,
                                      absl::string_view method, absl::string_view project) const {
  CallAuth call;
  std::shared_ptr<const Authenticator> state = Current();
  if (state == nullptr) return call;
  call.rule_ = FindMethodRule(method);
  if (call.rule_ == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("method ", method, " has no access rule"));
  }
  if (call.rule_->open) return call;
  PANTRY_ASSIGN_OR_RETURN(call.principal_, state->Authenticate(authorization, peer, NowMicros()));
  call.state_ = std::move(state);
  call.project_ = std::string(project);
  return call;
}

absl::StatusOr<CallAuth> Guard::Begin(const grpc::ServerContextBase& context,
                                      absl::string_view method, absl::string_view project) const {
  std::shared_ptr<const Authenticator> state = Current();
  if (state == nullptr) return CallAuth();
  absl::string_view authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  const PeerIdentity peer = state->config().mtls && authorization.empty() ? PeerOf(context)
                                                                          : PeerIdentity();
  return Begin(authorization, peer, method, project);
}

}  // namespace pantry::auth
