#include "server/auth/authenticator.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pantry::auth {
namespace {

constexpr size_t kMaxCached = 10000;
constexpr size_t kMaxTokenBytes = 16 << 10;

}  // namespace

Authenticator::Authenticator(std::shared_ptr<const AuthConfig> config)
    : config_(std::move(config)) {
  for (const StaticToken& t : config_->tokens) by_digest_.emplace(t.sha256, &t);
}

std::shared_ptr<const Principal> Authenticator::Make(std::string name, std::string method,
                                                    std::vector<std::string> roles) const {
  auto p = std::make_shared<Principal>();
  p->name = std::move(name);
  p->method = std::move(method);
  p->roles = config_->policy.Resolve(roles);
  p->role_names = std::move(roles);
  return p;
}

absl::StatusOr<Authenticator::Cached> Authenticator::Verify(absl::string_view token,
                                                            Micros now) const {
  if (auto it = by_digest_.find(Sha256(token)); it != by_digest_.end()) {
    return Cached{Make(it->second->principal, "token", it->second->roles), 0};
  }
  if (config_->jwt && absl::StrContains(token, '.')) {
    absl::StatusOr<JwtClaims> claims = config_->jwt->Verify(token, now);
    if (!claims.ok()) return claims.status();
    return Cached{Make(std::move(claims->principal), "jwt", std::move(claims->roles)),
                  claims->expires};
  }
  return absl::UnauthenticatedError("invalid token: it is not one of the configured tokens");
}

absl::StatusOr<std::shared_ptr<const Principal>> Authenticator::Authenticate(
    absl::string_view authorization, const PeerIdentity& peer, Micros now) const {
  if (!authorization.empty()) {
    absl::string_view value = absl::StripAsciiWhitespace(authorization);
    if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
      return absl::UnauthenticatedError(
          "the authorization metadata is not 'Bearer <token>'");
    }
    const absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(7));
    if (token.empty() || token.size() > kMaxTokenBytes) {
      return absl::UnauthenticatedError("invalid token: empty or longer than 16 KiB");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(token);
      if (it != cache_.end()) {
        // A JWT past its expiry (with the leeway) is verified again, and fails.
        const Micros leeway = config_->jwt ? config_->jwt->leeway() : 0;
        if (it->second.expires == 0 || now <= it->second.expires + leeway) {
          return it->second.principal;
        }
        cache_.erase(it);
      }
    }
    absl::StatusOr<Cached> verified = Verify(token, now);
    if (!verified.ok()) return verified.status();
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_.emplace(std::string(token), *verified);
    return verified->principal;
  }
  if (config_->mtls && !peer.empty()) {
    const MtlsSettings& m = *config_->mtls;
    std::string name;
    switch (m.principal_from) {
      case MtlsSettings::From::kSubjectCn: name = peer.subject_cn; break;
      case MtlsSettings::From::kSanDns: if (!peer.san_dns.empty()) name = peer.san_dns[0]; break;
      case MtlsSettings::From::kSanUri: if (!peer.san_uri.empty()) name = peer.san_uri[0]; break;
      case MtlsSettings::From::kSanEmail:
        if (!peer.san_email.empty()) name = peer.san_email[0];
        break;
    }
    if (name.empty()) {
      return absl::UnauthenticatedError(
          "the client certificate names no principal where mtls.principal_from looks");
    }
    std::vector<std::string> roles;
    if (auto it = m.roles.find(name); it != m.roles.end()) roles = it->second;
    return Make(std::move(name), "mtls", std::move(roles));
  }
  return absl::UnauthenticatedError(
      config_->mtls ? "no credentials: send 'authorization: Bearer <token>' or a client "
                      "certificate"
                    : "no credentials: send 'authorization: Bearer <token>'");
}

}  // namespace pantry::auth
