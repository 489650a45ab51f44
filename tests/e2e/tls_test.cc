// pantryd serving TLS, with client certificates verified against a CA
// (mTLS): which connections get through and who they are.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pantry/client.h"
#include "server/auth/auth_config.h"
#include "tests/support/certs.h"
#include "tests/support/e2e.h"

namespace pantry {
namespace {

namespace fs = std::filesystem;
using ::pantry::testing::Cert;
using ::pantry::testing::Daemon;
using ::pantry::testing::MakeCert;
using ::pantry::testing::WriteFile;
using ::testing::HasSubstr;

class TlsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    ca_ = MakeCert("Pantry Test CA", {}, nullptr);
    other_ca_ = MakeCert("Another CA", {}, nullptr);
    server_ = MakeCert("pantryd", {"DNS:localhost", "IP:127.0.0.1"}, &ca_);
    WriteFile(root_ / "ca.pem", ca_.cert_pem);
    WriteFile(root_ / "server.pem", server_.cert_pem);
    WriteFile(root_ / "server.key", server_.key_pem);
    WriteFile(root_ / "repo.yaml",
              "project: tlsp\n"
              "online_store: {type: memory}\n"
              "entities:\n"
              "  - {name: user, join_keys: [user_id], value_type: INT64}\n");
    WriteFile(root_ / "auth.yaml",
              absl::StrCat(
                  "tls: {cert_file: server.pem, key_file: server.key}\n"
                  "mtls: {ca_file: ca.pem, principal_from: subject_cn,\n"
                  "       roles: {scoring-svc: [reader]}}\n"
                  "tokens: [{principal: ops, sha256: ",
                  absl::BytesToHexString(auth::Sha256("ops-token")), ", roles: [reader]}]\n"
                  "roles: [{name: reader, grants: [{actions: [describe], views: [\"*\"]}]}]\n"));
    daemon_ = std::make_unique<Daemon>(
        root_ / "repo.yaml", root_ / "state",
        std::vector<std::string>{"--auth-config", (root_ / "auth.yaml").string()});
    daemon_->Start();
  }

  // ListEntities (describe on the project) over a connection made with
  // `options` (address and a short deadline filled in).
  absl::Status Call(ClientOptions options) {
    options.address = daemon_->address();
    options.max_attempts = 1;
    options.timeout = std::chrono::milliseconds(5000);
    return Client::Create(options)->ListEntities().status();
  }
  ClientOptions Tls(const Cert* client = nullptr, const std::string& ca = "") {
    ClientOptions o;
    o.tls = true;
    o.tls_ca_pem = ca.empty() ? ca_.cert_pem : ca;
    if (client != nullptr) {
      o.tls_cert_pem = client->cert_pem;
      o.tls_key_pem = client->key_pem;
    }
    return o;
  }

  ::pantry::testing::TempDir dir_{"pantry-tls-e2e"};
  fs::path root_;
  Cert ca_, other_ca_, server_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(TlsE2E, ClientCertificatesFromTheCaAuthenticateAndOthersDoNot) {
  const Cert good = MakeCert("scoring-svc", {"DNS:scoring-svc.example"}, &ca_);
  const Cert unknown = MakeCert("batch-svc", {}, &ca_);
  const Cert foreign = MakeCert("scoring-svc", {}, &other_ca_);
  const Cert expired = MakeCert("scoring-svc", {}, &ca_, -7200, -3600);
  const Cert future = MakeCert("scoring-svc", {}, &ca_, 3600, 7200);

  EXPECT_TRUE(Call(Tls(&good)).ok()) << Call(Tls(&good));
  // Known to the CA but given no role: authenticated, allowed nothing.
  EXPECT_EQ(Call(Tls(&unknown)).code(), absl::StatusCode::kPermissionDenied);
  // No certificate: a token still works; nothing at all does not.
  ClientOptions with_token = Tls();
  with_token.token = "ops-token";
  EXPECT_TRUE(Call(with_token).ok());
  const absl::Status none = Call(Tls());
  EXPECT_EQ(none.code(), absl::StatusCode::kUnauthenticated) << none;
  EXPECT_THAT(none.message(), HasSubstr("client certificate"));
  // Refused in the handshake: another CA's, an expired and a not yet valid
  // certificate.
  for (const Cert* bad : {&foreign, &expired, &future}) {
    const absl::Status s = Call(Tls(bad));
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  }
  // Plaintext to the TLS port, and a client that does not trust pantryd's CA.
  EXPECT_EQ(Call(ClientOptions()).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Call(Tls(&good, other_ca_.cert_pem)).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsE2E, TheCliConnectsWithTlsOptions) {
  const Cert good = MakeCert("scoring-svc", {}, &ca_);
  WriteFile(root_ / "client.pem", good.cert_pem);
  WriteFile(root_ / "client.key", good.key_pem);
  auto r = ::pantry::testing::RunCommand(
      absl::StrCat(::pantry::testing::BinDir(), "/pantry --server ", daemon_->address(),
                   " --tls-ca ca.pem --tls-cert client.pem --tls-key client.key list entities"),
      root_, root_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = ::pantry::testing::RunCommand(
      absl::StrCat("PANTRY_TOKEN=ops-token ", ::pantry::testing::BinDir(), "/pantry --server ",
                   daemon_->address(), " --tls-ca ca.pem list entities"),
      root_, root_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = ::pantry::testing::RunCommand(
      absl::StrCat(::pantry::testing::BinDir(), "/pantry --server ", daemon_->address(),
                   " --timeout-ms 3000 list entities"),
      root_);
  EXPECT_EQ(r.exit_code, 1) << "plaintext to a TLS port";
}

// The certificate files are watched: a renewed certificate is served
// without a restart.
TEST_F(TlsE2E, ARenewedServerCertificateIsServedWithoutARestart) {
  const Cert good = MakeCert("scoring-svc", {}, &ca_);
  ASSERT_TRUE(Call(Tls(&good)).ok());
  // A new CA signs the renewed certificate; clients trusting only the new
  // CA get through once pantryd has picked it up.
  const Cert new_ca = MakeCert("Renewed CA", {}, nullptr);
  const Cert renewed = MakeCert("pantryd", {"DNS:localhost", "IP:127.0.0.1"}, &new_ca);
  WriteFile(root_ / "server.key", renewed.key_pem);
  WriteFile(root_ / "server.pem", renewed.cert_pem);
  absl::Status s;
  for (int i = 0; i < 100; ++i) {
    s = Call(Tls(&good, new_ca.cert_pem));
    if (s.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace pantry
