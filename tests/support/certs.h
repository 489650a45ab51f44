// X.509 certificates for TLS tests, made with OpenSSL: a CA, and
// certificates it signs with a given common name, subject alternative
// names and validity (in the past, for expired ones).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

namespace pantry::testing {

struct Cert {
  std::string cert_pem, key_pem;
  EVP_PKEY* key = nullptr;  // owned
  X509* x509 = nullptr;     // owned
  Cert() = default;
  Cert(const Cert&) = delete;
  Cert& operator=(const Cert&) = delete;
  Cert(Cert&& o) noexcept { *this = std::move(o); }
  Cert& operator=(Cert&& o) noexcept {
    std::swap(cert_pem, o.cert_pem);
    std::swap(key_pem, o.key_pem);
    std::swap(key, o.key);
    std::swap(x509, o.x509);
    return *this;
  }
  ~Cert() {
    EVP_PKEY_free(key);
    X509_free(x509);
  }
};

inline void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `cn` with `sans` ("DNS:x", "IP:127.0.0.1", "URI:...",
// "email:..."), valid from now + `from_s` to now + `to_s` seconds, signed by
// `ca` (self-signed, and a CA, when null).
inline Cert MakeCert(const std::string& cn, const std::vector<std::string>& sans,
                     const Cert* ca, long from_s = -60, long to_s = 86400) {
  static long serial = 1;
  Cert c;
  c.key = EVP_EC_gen("P-256");
  c.x509 = X509_new();
  X509_set_version(c.x509, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.x509), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(c.x509), from_s);
  X509_gmtime_adj(X509_getm_notAfter(c.x509), to_s);
  X509_set_pubkey(c.x509, c.key);
  X509_NAME* name = X509_get_subject_name(c.x509);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer = ca != nullptr ? ca->x509 : c.x509;
  X509_set_issuer_name(c.x509, X509_get_subject_name(issuer));
  if (ca == nullptr) {
    AddExtension(c.x509, issuer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(c.x509, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(c.x509, issuer, NID_basic_constraints, "critical,CA:FALSE");
  }
  std::string alt;
  for (const std::string& s : sans) alt += (alt.empty() ? "" : ",") + s;
  if (!alt.empty()) AddExtension(c.x509, issuer, NID_subject_alt_name, alt);
  X509_sign(c.x509, ca != nullptr ? ca->key : c.key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, c.x509);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  c.cert_pem.assign(data, static_cast<size_t>(n));
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, c.key, nullptr, nullptr, 0, nullptr, nullptr);
  n = BIO_get_mem_data(bio, &data);
  c.key_pem.assign(data, static_cast<size_t>(n));
  BIO_free(bio);
  return c;
}

}  // namespace pantry::testing
