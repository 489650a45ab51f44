#include "server/auth/auth_config.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/file.h"
#include "server/common/status.h"
#include "server/yaml/yaml_reader.h"

namespace pantry::auth {
namespace {

using yaml::Child;
using yaml::Element;
using yaml::Fields;

constexpr absl::string_view kTopKeys[] = {"tokens", "jwt",   "mtls",  "tls",
                                          "roles",  "audit", "files", "reflection"};
constexpr absl::string_view kFilesKeys[] = {"read_roots", "write_roots"};
constexpr absl::string_view kTokenKeys[] = {"principal", "sha256", "roles"};
constexpr absl::string_view kJwtKeys[] = {"issuer",     "audience",    "hs256_secret_file",
                                          "jwks_file",  "roles_claim", "principal_claim",
                                          "leeway"};
constexpr absl::string_view kMtlsKeys[] = {"ca_file", "principal_from", "roles"};
constexpr absl::string_view kTlsKeys[] = {"cert_file", "key_file", "metrics"};
constexpr absl::string_view kRoleKeys[] = {"name", "grants"};
constexpr absl::string_view kGrantKeys[] = {"actions", "projects", "views",
                                            "services", "sources", "tags"};
constexpr absl::string_view kAuditKeys[] = {"path", "sample_reads", "max_size", "keep"};
constexpr absl::string_view kPrincipalFrom[] = {"subject_cn", "san_dns", "san_uri", "san_email"};

// The PEM certificates in `pem`.
int CountCertificates(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  int n = 0;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_free(x);
    ++n;
  }
  BIO_free(bio);
  ERR_clear_error();
  return n;
}

// That `cert_pem` starts with a certificate and `key_pem` is its private key.
absl::Status CheckKeyPair(const std::string& cert_pem, const std::string& key_pem) {
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  absl::Status status;
  if (cert == nullptr) {
    status = absl::InvalidArgumentError("cert_file holds no PEM certificate");
  } else if (key == nullptr) {
    status = absl::InvalidArgumentError("key_file holds no PEM private key (or it is encrypted)");
  } else if (X509_check_private_key(cert, key) != 1) {
    status = absl::InvalidArgumentError("key_file is not the private key of cert_file's certificate");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  ERR_clear_error();
  return status;
}

class AuthParser : public yaml::Reader {
 public:
  using Reader::Reader;

  absl::StatusOr<std::shared_ptr<const AuthConfig>> Parse(const std::string& text) {
    auto config = std::make_shared<AuthConfig>();
    config->source_file = source_name();
    std::optional<YAML::Node> doc = Load(text, "an auth configuration");
    if (doc.has_value()) {
      if (doc->IsNull()) {
        ErrorAt(YAML::Mark(), "(top level)",
                "the auth configuration is empty; it needs roles and a way to authenticate "
                "(tokens, jwt or mtls)");
      } else if (ExpectMap(*doc, "(top level)", "a map with tokens, jwt, mtls, tls, roles")) {
        const Fields f = ReadFields(*doc, "", kTopKeys);
        // Roles first: the others name them.
        if (const YAML::Node* n = f.Get("roles")) ParseRoles(*n, config.get());
        if (const YAML::Node* n = f.Get("tokens")) ParseTokens(*n, config.get());
        if (const YAML::Node* n = f.Get("jwt")) ParseJwt(*n, config.get());
        if (const YAML::Node* n = f.Get("tls")) ParseTls(*n, config.get());
        if (const YAML::Node* n = f.Get("mtls")) ParseMtls(*n, f, config.get());
        if (const YAML::Node* n = f.Get("audit")) ParseAudit(*n, config.get());
        if (const YAML::Node* n = f.Get("files")) ParseFiles(*n, config.get());
        if (const YAML::Node* n = f.Get("reflection")) {
          ReadBool(*n, "reflection", &config->reflection);
        }
        if (ok() && config->tokens.empty() && !config->jwt && !config->mtls) {
          Error(*doc, "(top level)",
                "no way to authenticate: give tokens, jwt or mtls (with auth on, a call "
                "without valid credentials is refused)");
        }
      }
    }
    PANTRY_RETURN_IF_ERROR(Finish());
    return std::shared_ptr<const AuthConfig>(std::move(config));
  }

 private:
  // Role names of `node` (a list), each one defined.
  void ReadRoles(const YAML::Node& node, const std::string& path, const AuthConfig& config,
                 std::vector<std::string>* out) {
    std::vector<std::pair<std::string, YAML::Node>> items;
    if (!ReadScalarList(node, path, &items)) return;
    for (size_t i = 0; i < items.size(); ++i) {
      if (config.policy.roles.count(items[i].first) == 0) {
        std::vector<std::string> known;
        for (const auto& [name, role] : config.policy.roles) known.push_back(name);
        Error(items[i].second, Element(path, i),
              absl::StrCat("unknown role '", items[i].first, "'",
                           yaml::DidYouMean(items[i].first, known),
                           known.empty() ? "; no role is defined (roles:)" : ""));
        continue;
      }
      out->push_back(items[i].first);
    }
  }

  void ReadPatterns(const Fields& f, absl::string_view key, const std::string& path,
                    std::vector<std::string>* out) {
    const YAML::Node* n = f.Get(key);
    if (n == nullptr) return;
    std::vector<std::pair<std::string, YAML::Node>> items;
    if (!ReadScalarList(*n, Child(path, key), &items)) return;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].first.empty()) {
        Error(items[i].second, Element(Child(path, key), i), "an empty pattern matches nothing");
        continue;
      }
      out->push_back(items[i].first);
    }
  }

  void ParseRoles(const YAML::Node& node, AuthConfig* config) {
    if (!ExpectList(node, "roles", "roles: {name, grants}")) return;
    std::map<std::string, int, std::less<>> seen;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = Element("roles", i);
      if (!ExpectMap(node[i], path, "a role: a map with name and grants")) continue;
      const Fields f = ReadFields(node[i], path, kRoleKeys);
      Role role;
      bool named = false;
      if (const YAML::Node* n = Required(f, "name", path)) {
        named = ReadString(*n, Child(path, "name"), &role.name) && !role.name.empty() &&
                Unique(&seen, role.name, *n, Child(path, "name"), "role");
      }
      if (const YAML::Node* n = Required(f, "grants", path)) {
        const std::string gpath = Child(path, "grants");
        if (ExpectList(*n, gpath, "grants: {actions, views, services, sources, projects, tags}")) {
          for (size_t g = 0; g < n->size(); ++g) ParseGrant((*n)[g], Element(gpath, g), &role);
        }
      }
      if (named) config->policy.roles.emplace(role.name, std::move(role));
    }
  }

  void ParseGrant(const YAML::Node& node, const std::string& path, Role* role) {
    if (!ExpectMap(node, path, "a grant: a map with actions and the resources they apply to")) return;
    const Fields f = ReadFields(node, path, kGrantKeys);
    Grant grant;
    if (const YAML::Node* n = Required(f, "actions", path)) {
      std::vector<std::pair<std::string, YAML::Node>> items;
      if (ReadScalarList(*n, Child(path, "actions"), &items)) {
        for (size_t i = 0; i < items.size(); ++i) {
          std::optional<Action> a = ParseAction(items[i].first);
          if (!a) {
            Error(items[i].second, Element(Child(path, "actions"), i),
                  absl::StrCat("unknown action '", items[i].first, "'",
                               yaml::DidYouMean(items[i].first, ActionNames()),
                               "; actions: ", absl::StrJoin(ActionNames(), ", ")));
            continue;
          }
          grant.actions |= 1u << static_cast<int>(*a);
        }
      }
    }
    ReadPatterns(f, "projects", path, &grant.projects);
    ReadPatterns(f, "views", path, &grant.views);
    ReadPatterns(f, "services", path, &grant.services);
    ReadPatterns(f, "sources", path, &grant.sources);
    OptionalTags(f, path, &grant.tags);
    role->grants.push_back(std::move(grant));
  }

  void ParseTokens(const YAML::Node& node, AuthConfig* config) {
    if (!ExpectList(node, "tokens", "tokens: {principal, sha256, roles}")) return;
    std::map<std::string, int, std::less<>> seen;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = Element("tokens", i);
      if (!ExpectMap(node[i], path, "a token: a map with principal, sha256 and roles")) continue;
      const Fields f = ReadFields(node[i], path, kTokenKeys);
      StaticToken t;
      bool ok = true;
      if (const YAML::Node* n = Required(f, "principal", path)) {
        ok = ReadString(*n, Child(path, "principal"), &t.principal) && ok;
        if (ok && t.principal.empty()) {
          Error(*n, Child(path, "principal"), "a principal needs a name");
          ok = false;
        }
      } else {
        ok = false;
      }
      if (const YAML::Node* n = Required(f, "sha256", path)) {
        std::string hex;
        const std::string hpath = Child(path, "sha256");
        if (ReadString(*n, hpath, &hex)) {
          hex = absl::AsciiStrToLower(hex);
          const bool is_hex = hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") ==
                                                      std::string::npos;
          if (!is_hex) {
            Error(*n, hpath,
                  "expected the token's SHA-256 digest as 64 hex digits (printf %s TOKEN | "
                  "sha256sum); the token itself never goes in this file");
            ok = false;
          } else {
            t.sha256 = absl::HexStringToBytes(hex);
            ok = Unique(&seen, hex, *n, hpath, "token digest") && ok;
          }
        } else {
          ok = false;
        }
      } else {
        ok = false;
      }
      if (const YAML::Node* n = Required(f, "roles", path)) {
        ReadRoles(*n, Child(path, "roles"), *config, &t.roles);
      }
      if (ok) config->tokens.push_back(std::move(t));
    }
  }

  // The file at `key` of `f` (resolved against the config's folder) into
  // `out`; `what` names it in messages.
  bool ReadKeyFile(const Fields& f, absl::string_view key, const std::string& path,
                   absl::string_view what, std::string* file, std::string* contents) {
    const YAML::Node* n = f.Get(key);
    if (n == nullptr || !ReadString(*n, Child(path, key), file)) return false;
    *file = ResolvePath(*file);
    if (contents == nullptr) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(*file, ec)) {
        Error(*n, Child(path, key), absl::StrCat("no such file: ", *file));
        return false;
      }
      return true;
    }
    absl::StatusOr<std::string> text = ReadWholeFile(*file, what);
    if (!text.ok()) {
      Error(*n, Child(path, key), text.status().message());
      return false;
    }
    *contents = *std::move(text);
    return true;
  }

  void ParseJwt(const YAML::Node& node, AuthConfig* config) {
    const std::string path = "jwt";
    if (!ExpectMap(node, path, "a map with issuer, audience, hs256_secret_file, jwks_file")) return;
    const Fields f = ReadFields(node, path, kJwtKeys);
    JwtSettings s;
    OptionalString(f, "issuer", path, &s.issuer);
    OptionalString(f, "audience", path, &s.audience);
    OptionalString(f, "roles_claim", path, &s.roles_claim);
    OptionalString(f, "principal_claim", path, &s.principal_claim);
    if (const YAML::Node* n = f.Get("leeway")) ReadDuration(*n, Child(path, "leeway"), false, &s.leeway);
    std::string file;
    ReadKeyFile(f, "hs256_secret_file", path, "HS256 secret", &file, &s.hs256_secret);
    StripTrailingLineBreaks(&s.hs256_secret);  // echo > s.key adds one
    if (ReadKeyFile(f, "jwks_file", path, "JWKS file", &file, &s.jwks)) s.jwks_name = file;
    if (!f.Has("hs256_secret_file") && !f.Has("jwks_file")) {
      Error(node, path, "jwt needs hs256_secret_file, jwks_file or both");
      return;
    }
    if (s.issuer.empty() || s.audience.empty()) {
      Error(node, path,
            "jwt needs issuer and audience: without them a token minted for another service "
            "by the same identity provider would be accepted");
      return;
    }
    if (!ok()) return;
    absl::StatusOr<JwtVerifier> v = JwtVerifier::Create(std::move(s));
    if (!v.ok()) {
      Error(node, path, v.status().message());
      return;
    }
    config->jwt = *std::move(v);
  }

  void ParseTls(const YAML::Node& node, AuthConfig* config) {
    const std::string path = "tls";
    if (!ExpectMap(node, path, "a map with cert_file and key_file")) return;
    const Fields f = ReadFields(node, path, kTlsKeys);
    TlsSettings t;
    bool ok = Required(f, "cert_file", path) != nullptr;
    ok = Required(f, "key_file", path) != nullptr && ok;
    if (!ok) return;
    std::string cert_pem, key_pem;
    ok = ReadKeyFile(f, "cert_file", path, "certificate", &t.cert_file, &cert_pem);
    ok = ReadKeyFile(f, "key_file", path, "private key", &t.key_file, &key_pem) && ok;
    if (!ok) return;
    // Checked now: TLS would otherwise fail only at the first handshake.
    if (absl::Status s = CheckKeyPair(cert_pem, key_pem); !s.ok()) {
      Error(*f.Get("cert_file"), Child(path, "cert_file"), s.message());
      return;
    }
    if (const YAML::Node* n = f.Get("metrics")) ReadBool(*n, Child(path, "metrics"), &t.metrics);
    config->tls = std::move(t);
  }

  void ParseMtls(const YAML::Node& node, const Fields& top, AuthConfig* config) {
    const std::string path = "mtls";
    if (!ExpectMap(node, path, "a map with ca_file, principal_from and roles")) return;
    const Fields f = ReadFields(node, path, kMtlsKeys);
    MtlsSettings m;
    if (!top.Has("tls")) {
      Error(node, path, "mtls needs tls (pantryd's own certificate and key) to be set too");
    }
    if (Required(f, "ca_file", path) != nullptr) {
      std::string ca_pem;
      if (ReadKeyFile(f, "ca_file", path, "CA certificates", &m.ca_file, &ca_pem) &&
          CountCertificates(ca_pem) == 0) {
        Error(*f.Get("ca_file"), Child(path, "ca_file"),
              absl::StrCat(m.ca_file, " holds no PEM certificate"));
      }
    }
    if (const YAML::Node* n = f.Get("principal_from")) {
      std::string from;
      if (ReadString(*n, Child(path, "principal_from"), &from)) {
        const auto* it = std::find(std::begin(kPrincipalFrom), std::end(kPrincipalFrom), from);
        if (it == std::end(kPrincipalFrom)) {
          Error(*n, Child(path, "principal_from"),
                absl::StrCat("expected one of ", absl::StrJoin(kPrincipalFrom, ", "), ", got '",
                             from, "'"));
        } else {
          m.principal_from = static_cast<MtlsSettings::From>(it - std::begin(kPrincipalFrom));
        }
      }
    }
    if (const YAML::Node* n = f.Get("roles")) {
      const std::string rpath = Child(path, "roles");
      if (ExpectMap(*n, rpath, "a map of principals to their roles")) {
        for (const auto& pair : *n) {
          const std::string name = pair.first.IsScalar() ? pair.first.Scalar() : std::string();
          if (name.empty()) {
            Error(pair.first, rpath, "expected a principal's name");
            continue;
          }
          std::vector<std::string> roles;
          ReadRoles(pair.second, Child(rpath, name), *config, &roles);
          m.roles[name] = std::move(roles);
        }
      }
    }
    config->mtls = std::move(m);
  }

  void ParseFiles(const YAML::Node& node, AuthConfig* config) {
    const std::string path = "files";
    if (!ExpectMap(node, path, "a map with read_roots and write_roots")) return;
    const Fields f = ReadFields(node, path, kFilesKeys);
    for (const auto& [key, out] : {std::pair{"read_roots", &config->files.read_roots},
                                   std::pair{"write_roots", &config->files.write_roots}}) {
      const YAML::Node* n = f.Get(key);
      if (n == nullptr) continue;
      std::vector<std::pair<std::string, YAML::Node>> items;
      if (!ReadScalarList(*n, Child(path, key), &items)) continue;
      for (size_t i = 0; i < items.size(); ++i) {
        const std::string folder = ResolvePath(items[i].first);
        std::error_code ec;
        if (!std::filesystem::is_directory(folder, ec)) {
          Error(items[i].second, Element(Child(path, key), i),
                absl::StrCat("no such folder: ", folder));
          continue;
        }
        out->push_back(folder);
      }
    }
  }

  void ParseAudit(const YAML::Node& node, AuthConfig* config) {
    const std::string path = "audit";
    if (!ExpectMap(node, path, "a map with path, sample_reads, max_size, keep")) return;
    const Fields f = ReadFields(node, path, kAuditKeys);
    if (const YAML::Node* n = Required(f, "path", path)) {
      if (ReadString(*n, Child(path, "path"), &config->audit.path)) {
        config->audit.path = ResolvePath(config->audit.path);
      }
    }
    if (const YAML::Node* n = f.Get("sample_reads")) {
      double v = -1;
      if (!n->IsScalar() || !YAML::convert<double>::decode(*n, v) || !(v >= 0 && v <= 1)) {
        Error(*n, Child(path, "sample_reads"),
              absl::StrCat("expected a share from 0 to 1 (0.01: one read in a hundred), got ",
                           yaml::Describe(*n)));
      } else {
        config->audit.sample_reads = v;
      }
    }
    if (const YAML::Node* n = f.Get("max_size")) {
      std::string text;
      if (ReadString(*n, Child(path, "max_size"), &text)) {
        absl::StatusOr<int64_t> size = yaml::ParseByteSize(text);
        if (!size.ok() || *size < (int64_t{1} << 20)) {
          Error(*n, Child(path, "max_size"),
                size.ok() ? "at least 1MiB" : std::string(size.status().message()));
        } else {
          config->audit.max_bytes = *size;
        }
      }
    }
    OptionalInt(f, "keep", path, 1, 1000, &config->audit.keep);
  }
};

}  // namespace

std::string Sha256(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), n);
}

absl::StatusOr<std::shared_ptr<const AuthConfig>> ParseAuthConfig(absl::string_view yaml,
                                                                  absl::string_view source_name,
                                                                  absl::string_view base_dir) {
  AuthParser parser{std::string(source_name), std::string(base_dir)};
  try {
    return parser.Parse(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": invalid YAML: ", e.msg));
  }
}

absl::StatusOr<std::shared_ptr<const AuthConfig>> LoadAuthConfig(const std::string& path) {
  PANTRY_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path, "auth configuration"));
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) absolute = path;
  return ParseAuthConfig(text, path, absolute.lexically_normal().parent_path().string());
}

}  // namespace pantry::auth
