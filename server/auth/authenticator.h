// Turns a call's credentials into a principal with roles: a bearer token
// (a static token, looked up by its SHA-256 digest, or a JWT) or, without
// one, the verified client certificate of an mTLS connection. Verified
// tokens are cached until they expire, so a model server sending the same
// JWT on every call pays for its signature once.
//
// Thread-safe.
#ifndef PANTRY_SERVER_AUTH_AUTHENTICATOR_H_
#define PANTRY_SERVER_AUTH_AUTHENTICATOR_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/auth/auth_config.h"
#include "server/common/time.h"

namespace pantry::auth {

// What TLS verified of the peer's certificate (empty without one).
struct PeerIdentity {
  std::string subject_cn;
  std::vector<std::string> san_dns, san_uri, san_email;
  bool empty() const {
    return subject_cn.empty() && san_dns.empty() && san_uri.empty() && san_email.empty();
  }
};

class Authenticator {
 public:
  explicit Authenticator(std::shared_ptr<const AuthConfig> config);

  // `authorization`: the call's "authorization" metadata ("" when absent).
  // Unauthenticated, saying why without quoting the token, when there is no
  // valid credential.
  // The principal is shared by the calls that present the same token.
  absl::StatusOr<std::shared_ptr<const Principal>> Authenticate(absl::string_view authorization,
                                                                const PeerIdentity& peer,
                                                                Micros now) const;

  const AuthConfig& config() const { return *config_; }

 private:
  struct Cached {
    std::shared_ptr<const Principal> principal;
    Micros expires = 0;  // 0: never (static tokens)
  };
  absl::StatusOr<Cached> Verify(absl::string_view token, Micros now) const;
  std::shared_ptr<const Principal> Make(std::string name, std::string method,
                                        std::vector<std::string> roles) const;

  std::shared_ptr<const AuthConfig> config_;
  absl::flat_hash_map<std::string, const StaticToken*> by_digest_;
  mutable std::mutex mu_;
  mutable absl::flat_hash_map<std::string, Cached> cache_;  // token -> what it proved
};

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_AUTHENTICATOR_H_
