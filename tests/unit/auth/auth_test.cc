#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "pantry/v1/ingest.grpc.pb.h"
#include "pantry/v1/materialize.grpc.pb.h"
#include "pantry/v1/registry.grpc.pb.h"
#include "pantry/v1/serving.grpc.pb.h"
#include "server/auth/auth_config.h"
#include "server/auth/authenticator.h"
#include "server/auth/guard.h"
#include "server/auth/jwt.h"
#include "server/auth/methods.h"
#include "server/auth/paths.h"
#include "server/auth/policy.h"
#include "tests/support/certs.h"
#include "tests/support/jwt_keys.h"

namespace pantry::auth {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr Micros kNow = 1'800'000'000LL * kMicrosPerSecond;
constexpr int64_t kNowSeconds = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

TEST(GlobMatch, StarsAndQuestionMarks) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("fraud_*", "fraud_v3"));
  EXPECT_FALSE(GlobMatch("fraud_*", "xfraud_v3"));
  EXPECT_TRUE(GlobMatch("*_stats", "user_stats"));
  EXPECT_TRUE(GlobMatch("u?er*", "user_stats"));
  EXPECT_TRUE(GlobMatch("a*b*c", "a-b-b-c"));
  EXPECT_FALSE(GlobMatch("a*b*c", "a-b-b-"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "exactly"));
  EXPECT_FALSE(GlobMatch("", "x"));
}

TEST(Policy, GrantsMatchActionsPatternsAndTags) {
  Grant g;
  g.actions = (1u << static_cast<int>(Action::kReadOnline)) | (1u << static_cast<int>(Action::kDescribe));
  g.views = {"fraud_*"};
  g.tags = {{"pii", "false"}};
  const std::map<std::string, std::string> clean = {{"pii", "false"}, {"team", "risk"}};
  const std::map<std::string, std::string> pii = {{"pii", "true"}};
  EXPECT_TRUE(g.Matches(Action::kReadOnline, "p", {ResourceKind::kView, "fraud_a", &clean}));
  EXPECT_FALSE(g.Matches(Action::kReadOnline, "p", {ResourceKind::kView, "fraud_a", &pii}));
  EXPECT_FALSE(g.Matches(Action::kReadOnline, "p", {ResourceKind::kView, "fraud_a", nullptr}))
      << "a tag condition needs the tag";
  EXPECT_FALSE(g.Matches(Action::kReadOnline, "p", {ResourceKind::kView, "users", &clean}));
  EXPECT_FALSE(g.Matches(Action::kWriteOnline, "p", {ResourceKind::kView, "fraud_a", &clean}));
  EXPECT_FALSE(g.Matches(Action::kReadOnline, "p", {ResourceKind::kService, "fraud_a", &clean}))
      << "no services: pattern, no service";
  EXPECT_TRUE(g.Matches(Action::kDescribe, "p", {ResourceKind::kProject, "p", nullptr}));
  g.projects = {"prod_*"};
  EXPECT_FALSE(g.Matches(Action::kDescribe, "p", {ResourceKind::kProject, "p", nullptr}));
  EXPECT_TRUE(g.Matches(Action::kDescribe, "prod_eu", {ResourceKind::kProject, "prod_eu", nullptr}));
  Grant admin;
  admin.actions = 1u << static_cast<int>(Action::kAdmin);
  admin.sources = {"*"};
  EXPECT_TRUE(admin.Matches(Action::kWriteOffline, "p", {ResourceKind::kSource, "clicks", nullptr}));
  EXPECT_FALSE(admin.Matches(Action::kWriteOffline, "p", {ResourceKind::kView, "v", nullptr}));
}

class AuthConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("pantry_auth_", ::getpid(), "_",
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Write("s.key", kSecret + "\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  absl::StatusOr<std::shared_ptr<const AuthConfig>> Parse(const std::string& yaml) {
    return ParseAuthConfig(yaml, "auth.yaml", dir_.string());
  }
  fs::path dir_;
};

TEST_F(AuthConfigTest, TheDocumentedShapeParses) {
  Write("keys.json", json{{"keys", {testing::MakeRsaKey("k1").jwk, testing::MakeEcKey("k2").jwk}}}.dump());
  auto config = Parse(absl::StrCat(
      "tokens:\n"
      "  - {principal: scorer, sha256: ", Hex(Sha256("tok-1")), ", roles: [model_server]}\n"
      "jwt: {issuer: https://idp.example, audience: pantry, hs256_secret_file: s.key,\n"
      "      jwks_file: keys.json, roles_claim: roles}\n"
      "roles:\n"
      "  - name: model_server\n"
      "    grants: [{actions: [read_online, describe], views: [\"fraud_*\"], services: [\"*\"]}]\n"
      "  - name: analyst\n"
      "    grants: [{actions: [read_offline, describe], views: [\"*\"], tags: {pii: \"false\"}}]\n"
      "audit: {path: audit.jsonl, sample_reads: 0.01, max_size: 10MiB, keep: 3}\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->tokens.size(), 1u);
  EXPECT_EQ((*config)->tokens[0].sha256, Sha256("tok-1"));
  ASSERT_TRUE((*config)->jwt.has_value());
  EXPECT_EQ((*config)->jwt->keys().size(), 2u);
  EXPECT_EQ((*config)->policy.roles.size(), 2u);
  EXPECT_EQ((*config)->audit.path, (dir_ / "audit.jsonl").string());
  EXPECT_EQ((*config)->audit.max_bytes, 10 << 20);
}

TEST_F(AuthConfigTest, EveryMistakeIsNamedWithItsLine) {
  auto config = Parse(
      "tokens:\n"
      "  - {principal: a, sha256: nothex, roles: [nope]}\n"
      "roles:\n"
      "  - name: r\n"
      "    grants: [{actions: [read_onlne], views: [\"*\"]}]\n"
      "  - name: r\n"
      "    grants: []\n"
      "mtls: {ca_file: ca.pem}\n"
      "colour: blue\n");
  ASSERT_FALSE(config.ok());
  const std::string m(config.status().message());
  EXPECT_THAT(m, HasSubstr("auth.yaml:2:"));
  EXPECT_THAT(m, HasSubstr("64 hex digits"));
  EXPECT_THAT(m, HasSubstr("unknown role 'nope'"));
  EXPECT_THAT(m, HasSubstr("auth.yaml:5:"));
  EXPECT_THAT(m, HasSubstr("unknown action 'read_onlne' (did you mean 'read_online'?)"));
  EXPECT_THAT(m, HasSubstr("duplicate role 'r'"));
  EXPECT_THAT(m, HasSubstr("mtls needs tls"));
  EXPECT_THAT(m, HasSubstr("cannot read CA certificates"));
  EXPECT_THAT(m, HasSubstr("unknown key 'colour'"));
}

TEST_F(AuthConfigTest, JwtNeedsIssuerAudienceAndALongSecret) {
  Write("short.key", "too short");
  auto config = Parse("jwt: {hs256_secret_file: s.key}\nroles: []\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("needs issuer and audience"));
  config = Parse("jwt: {issuer: i, audience: a, hs256_secret_file: short.key}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("at least 32"));
  config = Parse("jwt: {issuer: i, audience: a, hs256_secret_file: missing.key}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("missing.key"));
  Write("bad.json", "{\"keys\": [{\"kty\": \"oct\"}]}");
  config = Parse("jwt: {issuer: i, audience: a, jwks_file: bad.json}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("'oct' is not RSA or EC"));
  Write("weak.json", json{{"keys", {testing::MakeRsaKey("w", 1024).jwk}}}.dump());
  config = Parse("jwt: {issuer: i, audience: a, jwks_file: weak.json}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("shorter than 2048 bits"));
  EXPECT_FALSE(Parse("").ok());
  EXPECT_FALSE(Parse("roles: []\n").ok()) << "no way to authenticate";
}

// The verifier against every kind of bad token RFC 8725 warns about.
class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new testing::KeyPair(testing::MakeRsaKey("rsa-1"));
    ec_ = new testing::KeyPair(testing::MakeEcKey("ec-1"));
    other_rsa_ = new testing::KeyPair(testing::MakeRsaKey("rsa-1"));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete other_rsa_;
  }
  JwtVerifier Verifier(bool secret = true, bool jwks = true) {
    JwtSettings s;
    s.issuer = "https://idp.example";
    s.audience = "pantry";
    if (secret) s.hs256_secret = kSecret;
    if (jwks) s.jwks = json{{"keys", {rsa_->jwk, ec_->jwk}}}.dump();
    s.jwks_name = "keys.json";
    auto v = JwtVerifier::Create(s);
    EXPECT_TRUE(v.ok()) << v.status();
    return *v;
  }
  static json Claims() {
    return {{"iss", "https://idp.example"}, {"aud", "pantry"}, {"sub", "alice"},
            {"exp", kNowSeconds + 600},      {"nbf", kNowSeconds - 10}, {"roles", {"analyst"}}};
  }
  std::string Why(const JwtVerifier& v, const std::string& token) {
    auto r = v.Verify(token, kNow);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(r.status().message(), Not(HasSubstr(token)));
    return std::string(r.status().message());
  }
  static testing::KeyPair* rsa_;
  static testing::KeyPair* ec_;
  static testing::KeyPair* other_rsa_;
};
testing::KeyPair* JwtTest::rsa_ = nullptr;
testing::KeyPair* JwtTest::ec_ = nullptr;
testing::KeyPair* JwtTest::other_rsa_ = nullptr;

TEST_F(JwtTest, GoodTokensOfEachAlgorithmVerify) {
  const JwtVerifier v = Verifier();
  for (const std::string& token :
       {testing::SignJwt("HS256", kSecret, Claims()),
        testing::SignJwt("RS256", rsa_->private_pem, Claims(), "rsa-1"),
        testing::SignJwt("RS256", rsa_->private_pem, Claims()),  // no kid: every RS256 key tried
        testing::SignJwt("ES256", ec_->private_pem, Claims(), "ec-1")}) {
    auto claims = v.Verify(token, kNow);
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_EQ(claims->principal, "alice");
    EXPECT_EQ(claims->roles, std::vector<std::string>{"analyst"});
    EXPECT_EQ(claims->expires, (kNowSeconds + 600) * kMicrosPerSecond);
  }
  json many = Claims();
  many["aud"] = {"other", "pantry"};
  many["roles"] = "a b";
  auto claims = v.Verify(testing::SignJwt("HS256", kSecret, many), kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->roles, (std::vector<std::string>{"a", "b"}));
}

TEST_F(JwtTest, ClaimsAreChecked) {
  const JwtVerifier v = Verifier();
  auto with = [&](const char* key, const json& value) {
    json c = Claims();
    if (value.is_null()) {
      c.erase(key);
    } else {
      c[key] = value;
    }
    return testing::SignJwt("HS256", kSecret, c);
  };
  EXPECT_THAT(Why(v, with("exp", kNowSeconds - 61)), HasSubstr("expired"));
  EXPECT_TRUE(v.Verify(with("exp", kNowSeconds - 30), kNow).ok()) << "within the leeway";
  EXPECT_THAT(Why(v, with("exp", nullptr)), HasSubstr("no expiry"));
  EXPECT_THAT(Why(v, with("nbf", kNowSeconds + 120)), HasSubstr("not valid yet"));
  EXPECT_THAT(Why(v, with("aud", "billing")), HasSubstr("audience"));
  EXPECT_THAT(Why(v, with("aud", nullptr)), HasSubstr("audience"));
  EXPECT_THAT(Why(v, with("iss", "https://evil.example")), HasSubstr("issuer"));
  EXPECT_THAT(Why(v, with("sub", nullptr)), HasSubstr("names no principal"));
}

TEST_F(JwtTest, ForgedAndConfusedTokensAreRefused) {
  const JwtVerifier v = Verifier();
  // Wrong signatures.
  EXPECT_THAT(Why(v, testing::SignJwt("HS256", std::string(40, 'x'), Claims())),
              HasSubstr("signature"));
  EXPECT_THAT(Why(v, testing::SignJwt("RS256", other_rsa_->private_pem, Claims(), "rsa-1")),
              HasSubstr("signature"));
  std::string tampered = testing::SignJwt("HS256", kSecret, Claims());
  json evil = Claims();
  evil["sub"] = "root";
  tampered = absl::StrCat(tampered.substr(0, tampered.find('.')), ".",
                          Base64UrlEncode(evil.dump()), tampered.substr(tampered.rfind('.')));
  EXPECT_THAT(Why(v, tampered), HasSubstr("signature"));
  // alg none, with and without a signature, and in other spellings.
  EXPECT_THAT(Why(v, testing::ForgeJwt({{"alg", "none"}}, Claims(), "")), HasSubstr("'none'"));
  EXPECT_THAT(Why(v, testing::ForgeJwt({{"alg", "none"}}, Claims(), "sig")), HasSubstr("'none'"));
  EXPECT_THAT(Why(v, testing::ForgeJwt({{"alg", "None"}}, Claims(), "")), HasSubstr("not accepted"));
  EXPECT_THAT(Why(v, testing::ForgeJwt({{"alg", "HS512"}}, Claims(), "x")), HasSubstr("not accepted"));
  // Algorithm confusion: HS256 "signed" with the RSA public key as the
  // secret, with and without a shared secret configured.
  const std::string confused = testing::SignJwt("HS256", rsa_->public_pem, Claims(), "rsa-1");
  EXPECT_THAT(Why(v, confused), HasSubstr("signature"));
  EXPECT_THAT(Why(Verifier(/*secret=*/false), confused), HasSubstr("HS256 tokens are not accepted"));
  // An ES256 header over an RS256 signature, and a kid no key has.
  std::string rs = testing::SignJwt("RS256", rsa_->private_pem, Claims(), "rsa-1");
  EXPECT_THAT(Why(v, absl::StrCat(Base64UrlEncode(json{{"alg", "ES256"}, {"kid", "ec-1"}}.dump()),
                                  rs.substr(rs.find('.')))),
              HasSubstr("signature"));
  EXPECT_THAT(Why(v, testing::SignJwt("RS256", rsa_->private_pem, Claims(), "rsa-9")),
              HasSubstr("key id"));
  EXPECT_THAT(Why(Verifier(true, /*jwks=*/false), rs), HasSubstr("no RS256 key"));
  // Malformed.
  EXPECT_THAT(Why(v, "abc"), HasSubstr("three base64url parts"));
  EXPECT_THAT(Why(v, "a.b.c.d"), HasSubstr("three base64url parts"));
  EXPECT_THAT(Why(v, "!!!.e30.x"), HasSubstr("malformed header"));
}

TEST(Base64Url, RoundTripsAndRefusesOtherAlphabets) {
  for (const std::string& s : {std::string(), std::string("a"), std::string("ab"),
                               std::string("abc"), std::string("\xff\xfe\x00\x01", 4)}) {
    std::string back;
    ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode(s), &back));
    EXPECT_EQ(back, s);
  }
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("ab+/", &out));
  EXPECT_FALSE(Base64UrlDecode("YQ==", &out));
}

TEST_F(AuthConfigTest, TlsFilesAreCheckedAtLoad) {
  const testing::Cert ca = testing::MakeCert("ca", {}, nullptr);
  const testing::Cert server = testing::MakeCert("pantryd", {"DNS:localhost"}, &ca);
  const testing::Cert other = testing::MakeCert("other", {}, &ca);
  Write("ca.pem", ca.cert_pem);
  Write("cert.pem", server.cert_pem);
  Write("key.pem", server.key_pem);
  Write("other.key", other.key_pem);
  Write("junk.pem", "not a certificate\n");
  const std::string roles =
      absl::StrCat("tokens: [{principal: a, sha256: ", Hex(Sha256("t")), ", roles: []}]\n");
  auto both = Parse(roles + "tls: {cert_file: cert.pem, key_file: key.pem}\n"
                            "mtls: {ca_file: ca.pem}\n");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_TRUE((*both)->tls->metrics);  // the metrics port serves TLS too, by default
  auto grpc_only = Parse(roles + "tls: {cert_file: cert.pem, key_file: key.pem, metrics: false}\n");
  ASSERT_TRUE(grpc_only.ok()) << grpc_only.status();
  EXPECT_FALSE((*grpc_only)->tls->metrics);
  auto bad = Parse(roles + "tls: {cert_file: cert.pem, key_file: other.key}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("auth.yaml:2:"));
  EXPECT_THAT(bad.status().message(), HasSubstr("not the private key of cert_file's certificate"));
  bad = Parse(roles + "tls: {cert_file: junk.pem, key_file: key.pem}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("holds no PEM certificate"));
  bad = Parse(roles + "tls: {cert_file: cert.pem, key_file: junk.pem}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("no PEM private key"));
  bad = Parse(roles + "tls: {cert_file: cert.pem, key_file: key.pem}\nmtls: {ca_file: junk.pem}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("junk.pem holds no PEM certificate"));
}

TEST_F(AuthConfigTest, TheAuthenticatorTakesTokensJwtsAndCertificates) {
  const testing::Cert ca = testing::MakeCert("ca", {}, nullptr);
  const testing::Cert server = testing::MakeCert("pantryd", {"DNS:localhost"}, &ca);
  Write("ca.pem", ca.cert_pem);
  Write("cert.pem", server.cert_pem);
  Write("key.pem", server.key_pem);
  auto config = Parse(absl::StrCat(
      "tokens: [{principal: scorer, sha256: ", Hex(Sha256("tok-1")), ", roles: [reader]}]\n"
      "jwt: {issuer: i, audience: pantry, hs256_secret_file: s.key}\n"
      "tls: {cert_file: cert.pem, key_file: key.pem}\n"
      "mtls: {ca_file: ca.pem, principal_from: san_dns, roles: {svc.example: [reader]}}\n"
      "roles: [{name: reader, grants: [{actions: [read_online], views: [\"*\"]}]}]\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  Authenticator a(*config);
  auto p = a.Authenticate("Bearer tok-1", {}, kNow);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->name, "scorer");
  EXPECT_EQ((*p)->method, "token");
  ASSERT_EQ((*p)->roles.size(), 1u);
  EXPECT_EQ((*p)->roles[0]->name, "reader");
  p = a.Authenticate("bearer   tok-1", {}, kNow);
  EXPECT_TRUE(p.ok()) << "the scheme is case-insensitive";

  const std::string jwt = testing::SignJwt(
      "HS256", kSecret, {{"iss", "i"}, {"aud", "pantry"}, {"sub", "bob"}, {"exp", kNowSeconds + 60},
                         {"roles", {"reader", "ghost"}}});
  p = a.Authenticate("Bearer " + jwt, {}, kNow);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->name, "bob");
  EXPECT_EQ((*p)->roles.size(), 1u) << "an unknown role grants nothing";
  EXPECT_TRUE(a.Authenticate("Bearer " + jwt, {}, kNow).ok()) << "cached";
  auto late = a.Authenticate("Bearer " + jwt, {}, kNow + 200 * kMicrosPerSecond);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated)
      << "a cached token still expires";

  PeerIdentity peer;
  peer.subject_cn = "ignored";
  peer.san_dns = {"svc.example"};
  p = a.Authenticate("", peer, kNow);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->name, "svc.example");
  EXPECT_EQ((*p)->method, "mtls");

  for (const char* bad : {"Bearer nope-secret-value", "Basic abc", "Bearer ", "tok-1"}) {
    auto r = a.Authenticate(bad, {}, kNow);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_THAT(r.status().message(), Not(HasSubstr("nope-secret-value")));
  }
  EXPECT_THAT(a.Authenticate("", {}, kNow).status().message(), HasSubstr("no credentials"));
}

TEST_F(AuthConfigTest, TheGuardChecksActionsAndResourcesAndReloads) {
  Write("auth.yaml", absl::StrCat(
      "tokens: [{principal: scorer, sha256: ", Hex(Sha256("tok-1")), ", roles: [reader]}]\n"
      "roles: [{name: reader, grants: [{actions: [read_online], views: [\"fraud_*\"]}]}]\n"));
  Guard guard;
  EXPECT_FALSE(guard.on());
  auto off = guard.Begin("", {}, "/pantry.v1.RegistryService/Apply", "p");
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->RequireProject().ok()) << "auth off allows everything";

  ASSERT_TRUE(guard.Load((dir_ / "auth.yaml").string()).ok());
  EXPECT_TRUE(guard.on());
  EXPECT_EQ(guard.Begin("", {}, "/pantry.v1.FeatureService/GetOnlineFeatures", "p").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(guard.Begin("", {}, "/grpc.health.v1.Health/Check", "p").ok());
  EXPECT_EQ(guard.Begin("Bearer tok-1", {}, "/pantry.v1.Nothing/Here", "p").status().code(),
            absl::StatusCode::kPermissionDenied);
  auto call = guard.Begin("Bearer tok-1", {}, "/pantry.v1.FeatureService/GetOnlineFeatures", "p");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_TRUE(call->Require(ResourceKind::kView, "fraud_v1").ok());
  const absl::Status denied = call->Require(ResourceKind::kView, "users");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(), "principal 'scorer' may not read_online feature view 'users'");
  auto write = guard.Begin("Bearer tok-1", {}, "/pantry.v1.FeatureService/WriteOnlineFeatures", "p");
  ASSERT_TRUE(write.ok());
  EXPECT_FALSE(write->Require(ResourceKind::kView, "fraud_v1").ok()) << "another action";

  // A broken file keeps the configuration in force; a good one replaces it.
  Write("auth.yaml", "roles: [oops\n");
  EXPECT_FALSE(guard.Reload().ok());
  EXPECT_TRUE(guard.Begin("Bearer tok-1", {}, "/pantry.v1.FeatureService/GetOnlineFeatures", "p").ok());
  Write("auth.yaml", absl::StrCat(
      "tokens: [{principal: scorer, sha256: ", Hex(Sha256("tok-2")), ", roles: [reader]}]\n"
      "roles: [{name: reader, grants: [{actions: [read_online], views: [\"*\"]}]}]\n"));
  ASSERT_TRUE(guard.Reload().ok());
  EXPECT_FALSE(guard.Begin("Bearer tok-1", {}, "/pantry.v1.FeatureService/GetOnlineFeatures", "p").ok());
  EXPECT_TRUE(guard.Begin("Bearer tok-2", {}, "/pantry.v1.FeatureService/GetOnlineFeatures", "p").ok());
}

TEST_F(AuthConfigTest, PathsStayWithinTheirRoots) {
  fs::create_directories(dir_ / "in" / "sub");
  fs::create_directories(dir_ / "in2");
  fs::create_directories(dir_ / "out");
  Write("in/e.parquet", "x");
  Write("in/sub/e.parquet", "x");
  Write("in2/e.parquet", "x");
  Write("secret.txt", "x");
  fs::create_symlink(dir_ / "secret.txt", dir_ / "in" / "link.parquet");
  fs::create_symlink(dir_ / "in" / "e.parquet", dir_ / "in" / "inner_link.parquet");
  fs::create_symlink(dir_, dir_ / "out" / "up");
  ASSERT_EQ(::mkfifo((dir_ / "in" / "fifo").c_str(), 0600), 0);
  const std::vector<std::string> in = {(dir_ / "in").string()};
  const std::vector<std::string> out = {(dir_ / "out").string()};
  auto code = [](const absl::StatusOr<std::string>& r) { return r.status().code(); };

  auto ok = ConfineRead((dir_ / "in" / "sub" / "e.parquet").string(), in);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, fs::canonical(dir_ / "in" / "sub" / "e.parquet").string());
  EXPECT_TRUE(ConfineRead((dir_ / "in" / "inner_link.parquet").string(), in).ok())
      << "a symlink that stays inside";
  const auto escaped = ConfineRead((dir_ / "in" / "link.parquet").string(), in);
  EXPECT_EQ(code(escaped), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(escaped.status().message(), HasSubstr("link.parquet"));
  EXPECT_EQ(code(ConfineRead((dir_ / "in2" / "e.parquet").string(), in)),
            absl::StatusCode::kPermissionDenied)
      << "in2 is not in, whatever its name starts with";
  EXPECT_EQ(code(ConfineRead((dir_ / "in" / ".." / "secret.txt").string(), in)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(ConfineRead("in/e.parquet", in)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(ConfineRead((dir_ / "in" / "fifo").string(), in)),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(code(ConfineRead((dir_ / "in" / "sub").string(), in)),
            absl::StatusCode::kPermissionDenied) << "a folder";
  EXPECT_EQ(code(ConfineRead("/dev/null", {"/dev"})), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(code(ConfineRead((dir_ / "in" / "none.parquet").string(), in)),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(code(ConfineRead((dir_ / "in" / "e.parquet").string(), {})),
            absl::StatusCode::kPermissionDenied) << "no roots: nothing";

  auto w = ConfineWrite((dir_ / "out" / "r.parquet").string(), out);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(code(ConfineWrite((dir_ / "out" / "up" / "secret.txt").string(), out)),
            absl::StatusCode::kPermissionDenied) << "a symlinked folder leaving the root";
  EXPECT_EQ(code(ConfineWrite((dir_ / "in" / "r.parquet").string(), out)),
            absl::StatusCode::kPermissionDenied);
  fs::create_symlink(dir_ / "secret.txt", dir_ / "out" / "trap.parquet");
  EXPECT_EQ(code(ConfineWrite((dir_ / "out" / "trap.parquet").string(), out)),
            absl::StatusCode::kPermissionDenied) << "a symlink is not written through";
  EXPECT_EQ(code(ConfineWrite((dir_ / "out" / "nope" / "r.parquet").string(), out)),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(code(ConfineWrite((dir_ / "out" / ".." / "r.parquet").string(), out)),
            absl::StatusCode::kInvalidArgument);
}

// Every method of every pantry service has a rule, and every rule a method.
TEST(MethodRules, CoverEveryMethodOfEveryService) {
  // Each proto file's descriptors, linked in (a static library's unused
  // generated code would be left out).
  for (const auto* d : {v1::GetOnlineFeaturesRequest::descriptor(), v1::ApplyRequest::descriptor(),
                        v1::MaterializeRequest::descriptor(), v1::PushRequest::descriptor()}) {
    ASSERT_NE(d, nullptr);
  }
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  size_t methods = 0;
  for (const char* service : {"pantry.v1.FeatureService", "pantry.v1.RegistryService",
                              "pantry.v1.MaterializationService", "pantry.v1.IngestService"}) {
    const google::protobuf::ServiceDescriptor* s = pool->FindServiceByName(service);
    ASSERT_NE(s, nullptr) << service;
    for (int m = 0; m < s->method_count(); ++m) {
      const std::string name = absl::StrCat("/", s->full_name(), "/", s->method(m)->name());
      const MethodRule* rule = FindMethodRule(name);
      EXPECT_NE(rule, nullptr) << name << " has no access rule (server/auth/methods.cc)";
      if (rule != nullptr) {
        EXPECT_FALSE(rule->open) << name;
      }
      ++methods;
    }
  }
  size_t pantry_rules = 0;
  for (const MethodRule& r : MethodRules()) {
    if (absl::StartsWith(r.method, "/pantry.")) ++pantry_rules;
  }
  EXPECT_EQ(pantry_rules, methods) << "a rule names a method that does not exist";
}

}  // namespace
}  // namespace pantry::auth
