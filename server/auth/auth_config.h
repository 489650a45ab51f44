// pantryd's auth configuration (--auth-config FILE): who may connect and
// what each may do. It is a file of its own, not part of the feature
// repository, so applying a repository cannot change who may apply. See
// docs/security.md for the file's keys.
#ifndef PANTRY_SERVER_AUTH_AUTH_CONFIG_H_
#define PANTRY_SERVER_AUTH_AUTH_CONFIG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/auth/jwt.h"
#include "server/auth/policy.h"

namespace pantry::auth {

struct StaticToken {
  std::string principal;
  std::string sha256;  // the token's SHA-256 digest, 32 raw bytes
  std::vector<std::string> roles;
};

struct MtlsSettings {
  std::string ca_file;
  // Where the principal's name comes from in a verified client certificate.
  enum class From { kSubjectCn, kSanDns, kSanUri, kSanEmail };
  From principal_from = From::kSubjectCn;
  std::map<std::string, std::vector<std::string>> roles;  // principal -> roles
};

struct TlsSettings {
  std::string cert_file;  // PEM chain of pantryd's certificate
  std::string key_file;   // its private key
  bool metrics = true;    // the metrics port serves TLS too (with these files)
};

struct AuditSettings {
  std::string path;           // JSON lines; empty: no audit log
  double sample_reads = 0;    // share of allowed reads logged (mutations and denials: all)
  int64_t max_bytes = 100 << 20;  // rotated beyond this
  int keep = 5;               // rotated files kept (path.1 ... path.keep)
};

// Folders pantryd may read and write files in for callers (the entity file
// and output of a server-path point-in-time join).
struct FileRoots {
  std::vector<std::string> read_roots;   // the offline store is readable too
  std::vector<std::string> write_roots;
};

struct AuthConfig {
  std::string source_file;
  std::vector<StaticToken> tokens;
  std::optional<JwtVerifier> jwt;
  std::optional<MtlsSettings> mtls;
  std::optional<TlsSettings> tls;
  Policy policy;
  AuditSettings audit;
  FileRoots files;
  bool reflection = false;  // gRPC server reflection answers without credentials
};

// Reads and checks the file: InvalidArgument listing every problem with its
// line (an unknown key, action or role, a digest that is not 64 hex
// digits, a duplicate role or token, mtls without tls, an unreadable or too
// short secret, a malformed JWKS file); NotFound when the file is missing.
// Relative paths in it resolve against its folder.
absl::StatusOr<std::shared_ptr<const AuthConfig>> LoadAuthConfig(const std::string& path);
absl::StatusOr<std::shared_ptr<const AuthConfig>> ParseAuthConfig(absl::string_view yaml,
                                                                  absl::string_view source_name,
                                                                  absl::string_view base_dir);

// The SHA-256 digest of `bytes` (32 raw bytes).
std::string Sha256(absl::string_view bytes);

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_AUTH_CONFIG_H_
