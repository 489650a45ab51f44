// Verifying JSON Web Tokens (RFC 7519) as RFC 8725 advises: the algorithm
// comes from the configuration, never from the token alone. HS256 tokens
// are checked only against the shared secret, RS256 and ES256 tokens only
// against public keys of their type from a JWKS file; "none" and every
// other algorithm are refused, so a token cannot pick a weaker check or use
// a public key as an HMAC secret (algorithm confusion). Issuer, audience,
// expiry and not-before are checked with a leeway for clock skew.
#ifndef PANTRY_SERVER_AUTH_JWT_H_
#define PANTRY_SERVER_AUTH_JWT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/time.h"

namespace pantry::auth {

struct JwtSettings {
  std::string issuer;    // empty: not checked
  std::string audience;  // empty: not checked
  std::string hs256_secret;  // the secret's bytes; empty: HS256 refused
  std::string jwks;          // the JWKS document; empty: RS256 and ES256 refused
  std::string jwks_name;     // the file it came from, for messages
  std::string roles_claim = "roles";
  std::string principal_claim = "sub";
  Micros leeway = 60 * kMicrosPerSecond;
};

struct JwtClaims {
  std::string principal;
  std::vector<std::string> roles;
  Micros expires = 0;  // exp, in microseconds
};

class JwtVerifier {
 public:
  // InvalidArgument naming the problem when the secret is shorter than 32
  // bytes (RFC 7518 3.2) or the JWKS document is malformed or holds no
  // usable key.
  static absl::StatusOr<JwtVerifier> Create(JwtSettings settings);

  // The token's claims, or Unauthenticated saying why (never quoting the
  // token).
  absl::StatusOr<JwtClaims> Verify(absl::string_view token, Micros now) const;

  // A public key of the JWKS document, as PEM.
  struct Key {
    std::string kid;
    std::string alg;  // "RS256" or "ES256"
    std::string pem;
  };
  const std::vector<Key>& keys() const { return keys_; }
  Micros leeway() const { return settings_.leeway; }

 private:
  JwtSettings settings_;
  std::vector<Key> keys_;
};

// Base64url without padding (RFC 7515 2), both ways; Decode fails on any
// other character.
std::string Base64UrlEncode(absl::string_view bytes);
bool Base64UrlDecode(absl::string_view text, std::string* out);

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_JWT_H_
