// Keys and tokens for authentication tests: RSA and P-256 key pairs made
// with OpenSSL, their JWKS document, and JWTs signed with libjwt (the
// verifier's own library, but the signing side of it).
#pragma once

#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/auth/jwt.h"

namespace pantry::testing {

struct KeyPair {
  std::string private_pem, public_pem;
  nlohmann::json jwk;  // the public key as a JWK
};

inline std::string Pem(EVP_PKEY* key, bool is_private) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (is_private) {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio, key);
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

inline std::string BnBytes(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

inline KeyPair MakeRsaKey(const std::string& kid, int bits = 2048) {
  EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned int>(bits));
  KeyPair k{Pem(key, true), Pem(key, false), {}};
  k.jwk = {{"kty", "RSA"},
           {"kid", kid},
           {"use", "sig"},
           {"alg", "RS256"},
           {"n", auth::Base64UrlEncode(BnBytes(key, OSSL_PKEY_PARAM_RSA_N))},
           {"e", auth::Base64UrlEncode(BnBytes(key, OSSL_PKEY_PARAM_RSA_E))}};
  EVP_PKEY_free(key);
  return k;
}

inline KeyPair MakeEcKey(const std::string& kid) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  KeyPair k{Pem(key, true), Pem(key, false), {}};
  unsigned char point[65];
  size_t len = 0;
  EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len);
  const std::string p(reinterpret_cast<const char*>(point), len);
  k.jwk = {{"kty", "EC"},
           {"kid", kid},
           {"crv", "P-256"},
           {"x", auth::Base64UrlEncode(p.substr(1, 32))},
           {"y", auth::Base64UrlEncode(p.substr(33, 32))}};
  EVP_PKEY_free(key);
  return k;
}

// A JWT of `claims` signed with `alg` ("HS256", "RS256", "ES256") and `key`
// (the secret, or a private key PEM); `kid` set in the header when given.
inline std::string SignJwt(const std::string& alg, const std::string& key,
                           const nlohmann::json& claims, const std::string& kid = "") {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grants_json(jwt, claims.dump().c_str());
  const jwt_alg_t a = alg == "HS256" ? JWT_ALG_HS256 : alg == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256;
  jwt_set_alg(jwt, a, reinterpret_cast<const unsigned char*>(key.data()),
              static_cast<int>(key.size()));
  if (!kid.empty()) jwt_add_header(jwt, "kid", kid.c_str());
  char* out = jwt_encode_str(jwt);
  std::string token = out != nullptr ? out : "";
  free(out);
  jwt_free(jwt);
  return token;
}

// A token with header `header` and claims `claims`, "signed" with `signature`
// (raw bytes): for tokens no honest signer makes (alg none, ...).
inline std::string ForgeJwt(const nlohmann::json& header, const nlohmann::json& claims,
                            const std::string& signature) {
  return absl::StrCat(auth::Base64UrlEncode(header.dump()), ".",
                      auth::Base64UrlEncode(claims.dump()), ".", auth::Base64UrlEncode(signature));
}

}  // namespace pantry::testing
