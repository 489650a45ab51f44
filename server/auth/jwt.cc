#include "server/auth/jwt.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace pantry::auth {
namespace {

using json = nlohmann::json;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The PEM of a public key built from OpenSSL parameters.
absl::StatusOr<std::string> PublicKeyPem(const char* type, OSSL_PARAM* params) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* raw = nullptr;
  const bool ok = ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &raw, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  Pkey key(raw);
  if (!ok || key == nullptr) return absl::InvalidArgumentError("not a valid public key");
  if (std::string_view(type) == "RSA" && EVP_PKEY_get_bits(key.get()) < 2048) {
    return absl::InvalidArgumentError("an RSA key shorter than 2048 bits");
  }
  BIO* bio = BIO_new(BIO_s_mem());
  std::string pem;
  if (bio != nullptr && PEM_write_bio_PUBKEY(bio, key.get()) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    pem.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  if (pem.empty()) return absl::InternalError("cannot write the key as PEM");
  return pem;
}

absl::StatusOr<std::string> Field(const json& key, const char* name) {
  auto it = key.find(name);
  std::string out;
  if (it == key.end() || !it->is_string() || !Base64UrlDecode(it->get<std::string>(), &out) ||
      out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", name, "' is missing or not base64url"));
  }
  return out;
}

absl::StatusOr<std::string> RsaPem(const json& key) {
  absl::StatusOr<std::string> n = Field(key, "n"), e = Field(key, "e");
  if (!n.ok()) return n.status();
  if (!e.ok()) return e.status();
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  if (bld != nullptr && bn_n != nullptr && bn_e != nullptr &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    params = OSSL_PARAM_BLD_to_param(bld);
  }
  absl::StatusOr<std::string> pem =
      params != nullptr ? PublicKeyPem("RSA", params)
                        : absl::StatusOr<std::string>(absl::InternalError("out of memory"));
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return pem;
}

absl::StatusOr<std::string> EcPem(const json& key) {
  if (key.value("crv", "") != "P-256") {
    return absl::InvalidArgumentError("an EC key must be on curve P-256 (crv) for ES256");
  }
  absl::StatusOr<std::string> x = Field(key, "x"), y = Field(key, "y");
  if (!x.ok()) return x.status();
  if (!y.ok()) return y.status();
  if (x->size() != 32 || y->size() != 32) {
    return absl::InvalidArgumentError("'x' and 'y' of a P-256 key are 32 bytes each");
  }
  std::string point = absl::StrCat(std::string(1, '\x04'), *x, *y);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  return PublicKeyPem("EC", params);
}

jwt_alg_t LibAlg(absl::string_view alg) {
  if (alg == "HS256") return JWT_ALG_HS256;
  if (alg == "RS256") return JWT_ALG_RS256;
  if (alg == "ES256") return JWT_ALG_ES256;
  return JWT_ALG_INVAL;
}

// A NumericDate claim (seconds, possibly fractional) in microseconds.
bool NumericDate(const json& claims, const char* name, Micros* out) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return false;
  const double seconds = it->get<double>();
  if (!std::isfinite(seconds) || std::fabs(seconds) > 9e12) return false;
  *out = static_cast<Micros>(seconds * 1e6);
  return true;
}

}  // namespace

std::string Base64UrlEncode(absl::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

bool Base64UrlDecode(absl::string_view text, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return bits < 6;  // a lone trailing character cannot encode a byte
}

absl::StatusOr<JwtVerifier> JwtVerifier::Create(JwtSettings settings) {
  JwtVerifier v;
  if (!settings.hs256_secret.empty() && settings.hs256_secret.size() < 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the HS256 secret has ", settings.hs256_secret.size(),
        " bytes; it needs at least 32 (RFC 7518 section 3.2)"));
  }
  if (!settings.jwks.empty()) {
    json doc = json::parse(settings.jwks, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") ||
        !doc["keys"].is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(
          settings.jwks_name, ": not a JWKS document (a JSON object with a 'keys' list)"));
    }
    for (size_t i = 0; i < doc["keys"].size(); ++i) {
      const json& key = doc["keys"][i];
      const std::string where = absl::StrCat(settings.jwks_name, ": keys[", i, "]");
      if (!key.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, ": not an object"));
      const std::string kty = key.value("kty", "");
      const std::string use = key.value("use", "sig");
      if (use != "sig") continue;  // encryption keys do not sign tokens
      Key k;
      k.kid = key.value("kid", "");
      absl::StatusOr<std::string> pem;
      if (kty == "RSA") {
        k.alg = "RS256";
        pem = RsaPem(key);
      } else if (kty == "EC") {
        k.alg = "ES256";
        pem = EcPem(key);
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": key type (kty) '", kty, "' is not RSA or EC"));
      }
      if (!pem.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", pem.status().message()));
      const std::string alg = key.value("alg", k.alg);
      if (alg != k.alg) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": a ", kty, " key signs ", k.alg, ", not '", alg, "'"));
      }
      k.pem = *std::move(pem);
      v.keys_.push_back(std::move(k));
    }
    if (v.keys_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(settings.jwks_name, ": no signing key"));
    }
  }
  v.settings_ = std::move(settings);
  return v;
}

absl::StatusOr<JwtClaims> JwtVerifier::Verify(absl::string_view token, Micros now) const {
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return Unauthenticated("not a signed JWT (three base64url parts)");
  }
  std::string header_text;
  if (!Base64UrlDecode(parts[0], &header_text)) return Unauthenticated("malformed header");
  const json header = json::parse(header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object() || !header.contains("alg") ||
      !header["alg"].is_string()) {
    return Unauthenticated("malformed header");
  }
  const std::string alg = header["alg"].get<std::string>();
  const std::string kid = header.value("kid", "");
  // The candidate keys, chosen by the configuration for the algorithm.
  std::vector<std::pair<const unsigned char*, int>> keys;
  if (alg == "HS256") {
    if (settings_.hs256_secret.empty()) return Unauthenticated("HS256 tokens are not accepted");
    keys.emplace_back(reinterpret_cast<const unsigned char*>(settings_.hs256_secret.data()),
                      static_cast<int>(settings_.hs256_secret.size()));
  } else if (alg == "RS256" || alg == "ES256") {
    for (const Key& k : keys_) {
      if (k.alg == alg && (kid.empty() || k.kid == kid)) {
        keys.emplace_back(reinterpret_cast<const unsigned char*>(k.pem.data()),
                          static_cast<int>(k.pem.size()));
      }
    }
    if (keys.empty()) {
      return Unauthenticated(kid.empty() ? absl::StrCat("no ", alg, " key is configured")
                                         : absl::StrCat("no ", alg, " key with its key id"));
    }
  } else {
    return Unauthenticated(absl::StrCat("algorithm '", alg.substr(0, 16), "' is not accepted"));
  }
  const std::string text(token);
  jwt_t* jwt = nullptr;
  for (const auto& [key, len] : keys) {
    if (jwt_decode(&jwt, text.c_str(), key, len) == 0) break;
    jwt = nullptr;
  }
  if (jwt == nullptr) return Unauthenticated("the signature does not verify");
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> owned(jwt, jwt_free);
  if (jwt_get_alg(jwt) != LibAlg(alg)) return Unauthenticated("the signature does not verify");
  char* grants = jwt_get_grants_json(jwt, nullptr);
  if (grants == nullptr) return Unauthenticated("malformed claims");
  const json claims = json::parse(grants, nullptr, false);
  free(grants);
  if (claims.is_discarded() || !claims.is_object()) return Unauthenticated("malformed claims");

  JwtClaims out;
  if (!NumericDate(claims, "exp", &out.expires)) return Unauthenticated("it has no expiry (exp)");
  if (now > out.expires + settings_.leeway) return Unauthenticated("it has expired");
  if (Micros nbf = 0; claims.contains("nbf")) {
    if (!NumericDate(claims, "nbf", &nbf)) return Unauthenticated("malformed not-before (nbf)");
    if (now + settings_.leeway < nbf) return Unauthenticated("it is not valid yet (nbf)");
  }
  if (!settings_.issuer.empty()) {
    auto it = claims.find("iss");
    if (it == claims.end() || !it->is_string() || it->get<std::string>() != settings_.issuer) {
      return Unauthenticated("it is from another issuer (iss)");
    }
  }
  if (!settings_.audience.empty()) {
    bool ok = false;
    auto it = claims.find("aud");
    if (it != claims.end() && it->is_string()) ok = it->get<std::string>() == settings_.audience;
    if (it != claims.end() && it->is_array()) {
      for (const json& a : *it) ok = ok || (a.is_string() && a.get<std::string>() == settings_.audience);
    }
    if (!ok) return Unauthenticated("it is meant for another audience (aud)");
  }
  auto who = claims.find(settings_.principal_claim);
  if (who == claims.end() || !who->is_string() || who->get<std::string>().empty()) {
    return Unauthenticated(absl::StrCat("it names no principal (", settings_.principal_claim, ")"));
  }
  out.principal = who->get<std::string>();
  if (auto roles = claims.find(settings_.roles_claim); roles != claims.end()) {
    if (roles->is_array()) {
      for (const json& r : *roles) {
        if (r.is_string()) out.roles.push_back(r.get<std::string>());
      }
    } else if (roles->is_string()) {
      for (absl::string_view r : absl::StrSplit(roles->get<std::string>(), ' ', absl::SkipEmpty())) {
        out.roles.emplace_back(r);
      }
    }
  }
  return out;
}

}  // namespace pantry::auth
