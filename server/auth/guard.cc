#include "server/auth/guard.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/status.h"

namespace pantry::auth {
namespace {

constexpr size_t kMaxRequestIdBytes = 64;

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

// A client's x-request-id, when it is short printable ASCII.
std::string ClientRequestId(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("x-request-id");
  if (it == metadata.end() || it->second.size() > kMaxRequestIdBytes) return "";
  std::string id(it->second.data(), it->second.size());
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return "";
  }
  return id;
}

std::string Describe(ResourceKind kind, absl::string_view name) {
  return absl::StrCat(ResourceKindName(kind), " '", name, "'");
}

}  // namespace

CallAuth& CallAuth::operator=(CallAuth&& other) noexcept {
  if (this != &other) {
    state_ = std::move(other.state_);
    principal_ = std::move(other.principal_);
    rule_ = other.rule_;
    project_ = std::move(other.project_);
    origin_ = std::move(other.origin_);
    audited_ = other.audited_;
    denied_ = other.denied_;
    resources_ = std::move(other.resources_);
    other.audited_ = false;
  }
  return *this;
}

CallAuth::~CallAuth() {
  if (audited_ && !denied_) Record("allowed", "");
}

void CallAuth::Record(absl::string_view outcome, absl::string_view reason) {
  if (state_ == nullptr || state_->audit == nullptr) return;
  audit::Record r;
  r.time = NowMicros();
  if (principal_ != nullptr) {
    r.principal = principal_->name;
    r.auth = principal_->method;
  }
  r.method = std::string(rule_->method);
  r.action = std::string(ActionName(rule_->action));
  r.resources = resources_;
  r.outcome = std::string(outcome);
  r.reason = std::string(reason);
  r.request_id = origin_.request_id;
  r.peer = origin_.peer;
  state_->audit->Append(r);
}

bool CallAuth::Allowed(ResourceKind kind, absl::string_view name,
                       const std::map<std::string, std::string>* tags) const {
  if (state_ == nullptr) return true;
  return Policy::Allows(*principal_, rule_->action, project_, Resource{kind, name, tags});
}

absl::Status CallAuth::Require(ResourceKind kind, absl::string_view name,
                               const std::map<std::string, std::string>* tags) {
  if (state_ == nullptr) return absl::OkStatus();
  const bool allowed = Allowed(kind, name, tags);
  if (state_->audit != nullptr) resources_.push_back(Describe(kind, name));
  if (allowed) return absl::OkStatus();
  absl::Status denied = absl::PermissionDeniedError(
      absl::StrCat("principal '", principal_->name, "' may not ", ActionName(rule_->action), " ",
                   Describe(kind, name)));
  if (!denied_) {
    denied_ = true;
    Record("denied", denied.message());
  }
  return denied;
}

absl::Status Guard::Load(const std::string& path) {
  PANTRY_ASSIGN_OR_RETURN(std::shared_ptr<const AuthConfig> config, LoadAuthConfig(path));
  auto state = std::make_shared<GuardState>();
  state->sample_reads = config->audit.sample_reads;
  const std::string audit_path = config->audit.path;
  if (!audit_path.empty()) {
    // The same file keeps its writer; another one gets its own.
    std::shared_ptr<audit::AuditLog> current = audit_log();
    if (current != nullptr && current->path() == audit_path) {
      state->audit = std::move(current);
    } else {
      audit::AuditOptions o;
      o.path = audit_path;
      o.max_bytes = config->audit.max_bytes;
      o.keep = config->audit.keep;
      PANTRY_ASSIGN_OR_RETURN(std::unique_ptr<audit::AuditLog> opened, audit::AuditLog::Open(o));
      state->audit = std::move(opened);
    }
  }
  state->authenticator = std::make_shared<const Authenticator>(std::move(config));
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
  std::shared_ptr<const GuardState> s = Current();
  if (s == nullptr) return nullptr;
  // The config lives as long as the state holding it.
  return std::shared_ptr<const AuthConfig>(s, &s->authenticator->config());
}

std::shared_ptr<audit::AuditLog> Guard::audit_log() const {
  std::shared_ptr<const GuardState> s = Current();
  return s == nullptr ? nullptr : s->audit;
}

std::shared_ptr<const GuardState> Guard::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

std::string Guard::NextRequestId() const {
  return absl::StrFormat("%x-%x", boot_ & 0xffffffffffULL, ++calls_);
}

absl::StatusOr<CallAuth> Guard::Begin(absl::string_view authorization, const PeerIdentity& peer,
                                      absl::string_view method, absl::string_view project,
                                      CallOrigin origin) const {
  CallAuth call;
  std::shared_ptr<const GuardState> state = Current();
  if (state == nullptr) return call;
  call.rule_ = FindMethodRule(method);
  if (call.rule_ == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("method ", method, " has no access rule"));
  }
  if (call.rule_->open) return CallAuth();
  if (origin.request_id.empty()) origin.request_id = NextRequestId();
  call.origin_ = std::move(origin);
  call.project_ = std::string(project);
  call.state_ = state;
  absl::StatusOr<std::shared_ptr<const Principal>> who =
      state->authenticator->Authenticate(authorization, peer, NowMicros());
  if (!who.ok()) {
    call.Record("unauthenticated", who.status().message());
    call.state_ = nullptr;  // nothing more to record
    return who.status();
  }
  call.principal_ = *std::move(who);
  if (state->audit != nullptr) {
    const uint64_t n = calls_.fetch_add(1, std::memory_order_relaxed);
    const double u = static_cast<double>((n * 0x9E3779B97F4A7C15ULL) >> 11) * 0x1.0p-53;
    call.audited_ = call.rule_->mutating || u < state->sample_reads;
  }
  return call;
}

absl::StatusOr<CallAuth> Guard::Begin(const grpc::ServerContextBase& context,
                                      absl::string_view method, absl::string_view project) const {
  std::shared_ptr<const GuardState> state = Current();
  if (state == nullptr) return CallAuth();
  absl::string_view authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  const PeerIdentity peer = state->authenticator->config().mtls && authorization.empty()
                                ? PeerOf(context)
                                : PeerIdentity();
  CallOrigin origin;
  if (state->audit != nullptr) {
    origin.request_id = ClientRequestId(context);
    origin.peer = context.peer();
  }
  return Begin(authorization, peer, method, project, std::move(origin));
}

}  // namespace pantry::auth
