// pantryd with --auth-config, driven through the SDK, raw gRPC and the CLI:
// every RPC refuses a call without valid credentials; a matrix of
// principals x actions x resources gets exactly what its roles grant; JWTs
// of every bad kind are refused; the configuration reloads on SIGHUP.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "pantry/client.h"
#include "pantry/v1/registry.grpc.pb.h"
#include "server/auth/auth_config.h"
#include "server/auth/methods.h"
#include "tests/support/e2e.h"
#include "tests/support/jwt_keys.h"

namespace pantry {
namespace {

using ::pantry::testing::Daemon;
using ::pantry::testing::Result;
using ::pantry::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kSecret = "an-hs256-secret-of-more-than-32-bytes!!";

std::string Digest(const std::string& token) {
  return absl::BytesToHexString(auth::Sha256(token));
}

std::string AuthConfig(const std::string& extra_role_grant) {
  return absl::StrCat(
      "tokens:\n"
      "  - {principal: scorer, sha256: ", Digest("scorer-token"), ", roles: [model_server]}\n"
      "  - {principal: analyst, sha256: ", Digest("analyst-token"), ", roles: [analyst]}\n"
      "  - {principal: writer, sha256: ", Digest("writer-token"), ", roles: [writer]}\n"
      "  - {principal: admin, sha256: ", Digest("admin-token"), ", roles: [admin]}\n"
      "  - {principal: nobody, sha256: ", Digest("nobody-token"), ", roles: [", extra_role_grant,
      "]}\n"
      "jwt: {issuer: https://idp.example, audience: pantry, hs256_secret_file: s.key,\n"
      "      jwks_file: keys.json}\n"
      "roles:\n"
      "  - name: model_server\n"
      "    grants: [{actions: [read_online, describe], views: [\"fraud_*\"], services: [\"*\"]}]\n"
      "  - name: analyst\n"
      "    grants: [{actions: [read_offline, describe], views: [\"*\"], tags: {pii: \"false\"}}]\n"
      "  - name: writer\n"
      "    grants: [{actions: [write_online, write_offline], views: [\"fraud_*\"]}]\n"
      "  - name: admin\n"
      "    grants: [{actions: [admin], views: [\"*\"], services: [\"*\"], sources: [\"*\"]}]\n"
      "audit: {path: audit.jsonl, sample_reads: 0}\n"
      "files: {read_roots: [in], write_roots: [out]}\n");
}

class AuthE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { rsa_ = new testing::KeyPair(testing::MakeRsaKey("k1")); }
  static void TearDownTestSuite() { delete rsa_; }

  void SetUp() override {
    root_ = dir_.path();
    WriteFile(root_ / "repo.yaml",
              "project: authp\n"
              "online_store: {type: memory}\n"
              "offline_store: {path: offline}\n"
              "entities:\n"
              "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
              "sources:\n"
              "  - {name: stats_src, type: push, timestamp_field: ts,\n"
              "     schema: [{name: user_id, dtype: INT64}, {name: score, dtype: DOUBLE}]}\n"
              "  - {name: profile_src, type: push, timestamp_field: ts,\n"
              "     schema: [{name: user_id, dtype: INT64}, {name: email, dtype: STRING}]}\n"
              "feature_views:\n"
              "  - {name: fraud_stats, entities: [user], source: stats_src, ttl: 1d,\n"
              "     tags: {pii: \"false\"}, schema: [{name: score, dtype: DOUBLE}]}\n"
              "  - {name: user_profile, entities: [user], source: profile_src, ttl: 1d,\n"
              "     tags: {pii: \"true\"}, schema: [{name: email, dtype: STRING}]}\n"
              "on_demand_views:\n"
              "  - name: fraud_email\n"
              "    inputs: {features: [user_profile:email]}\n"
              "    features: [{name: email_len, dtype: INT64, expr: \"length(user_profile.email)\"}]\n"
              "feature_services:\n"
              "  - {name: fraud_svc, features: [\"fraud_stats:score\"]}\n"
              "  - {name: profile_svc, features: [\"user_profile:email\"]}\n");
    WriteFile(root_ / "s.key", kSecret);
    fs::create_directories(root_ / "in");
    fs::create_directories(root_ / "out");
    WriteFile(root_ / "keys.json", json{{"keys", {rsa_->jwk}}}.dump());
    WriteFile(root_ / "auth.yaml", AuthConfig(""));
    daemon_ = std::make_unique<Daemon>(
        root_ / "repo.yaml", root_ / "state",
        std::vector<std::string>{"--auth-config", (root_ / "auth.yaml").string()});
    daemon_->Start();
  }

  std::unique_ptr<Client> As(const std::string& token) {
    ClientOptions o;
    o.address = daemon_->address();
    o.token = token;
    o.max_attempts = 1;
    return Client::Create(o);
  }

  Result Pantry(const std::string& args, const std::string& env = "") {
    return ::pantry::testing::RunCommand(
        absl::StrCat(env, " ", testing::BinDir(), "/pantry --server ", daemon_->address(), " ",
                     args),
        root_);
  }

  static json Claims() {
    const int64_t now = NowMicros() / kMicrosPerSecond;
    return {{"iss", "https://idp.example"}, {"aud", "pantry"}, {"sub", "jwt-user"},
            {"exp", now + 600},             {"roles", {"model_server"}}};
  }

  static testing::KeyPair* rsa_;
  ::pantry::testing::TempDir dir_{"pantry-auth-e2e"};
  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
};
testing::KeyPair* AuthE2E::rsa_ = nullptr;

// Every method of the table, called raw: without credentials, and with a
// token nobody issued, each answers UNAUTHENTICATED before touching the
// request; the health check answers anyone; reflection is off.
TEST_F(AuthE2E, NoRpcAnswersWithoutValidCredentials) {
  auto channel = grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  auto call = [&](const std::string& method, const std::string& authorization) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    grpc::ByteBuffer request, response;
    grpc::Slice empty("");
    request = grpc::ByteBuffer(&empty, 1);
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader =
        stub.PrepareUnaryCall(&context, method, request, &cq);
    reader->StartCall();
    grpc::Status status;
    reader->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    return status;
  };
  int checked = 0;
  for (const auth::MethodRule& rule : auth::MethodRules()) {
    const std::string method(rule.method);
    if (rule.open) {
      if (method == "/grpc.health.v1.Health/Check") {
        EXPECT_TRUE(call(method, "").ok()) << method;
      }
      continue;
    }
    const grpc::Status none = call(method, "");
    EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method << ": " << none.error_message();
    const grpc::Status bad = call(method, "Bearer forged-credential-123");
    EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
    EXPECT_THAT(bad.error_message(), Not(HasSubstr("forged-credential-123"))) << method;
    const grpc::Status basic = call(method, "Basic dXNlcjpwYXNz");
    EXPECT_EQ(basic.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
    ++checked;
  }
  EXPECT_EQ(checked, 20);
  const grpc::Status reflection =
      call("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "");
  EXPECT_EQ(reflection.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  cq.Shutdown();
}

// Principals x actions x resources: allowed exactly where a grant says so.
TEST_F(AuthE2E, EachPrincipalGetsWhatItsRolesGrantAndNothingElse) {
  enum Outcome { kAllowed, kDenied, kUnauthenticated };
  auto outcome = [](const absl::Status& s) {
    if (s.code() == absl::StatusCode::kPermissionDenied) return kDenied;
    if (s.code() == absl::StatusCode::kUnauthenticated) return kUnauthenticated;
    return kAllowed;  // it went past the check (and may fail for its own reasons)
  };
  using Op = std::function<absl::Status(Client&)>;
  auto online = [](std::vector<std::string> features, std::string service = "") -> Op {
    return [=](Client& c) {
      OnlineQuery q;
      q.features = features;
      q.feature_service = service;
      q.entities = {{"user_id", {Value::Int64(1)}}};
      return c.GetOnlineFeatures(q).status();
    };
  };
  auto historical = [this](std::vector<std::string> features) -> Op {
    return [=, this](Client& c) {
      HistoricalQuery q;
      q.features = features;
      q.entities_path = (root_ / "missing.parquet").string();
      q.output_path = (root_ / "out.parquet").string();
      return c.GetHistoricalFeatures(q).status();
    };
  };
  auto write = [](const std::string& view, bool push) -> Op {
    return [=](Client& c) {
      WriteRow row;
      row.values = {{"user_id", Value::Int64(1)},
                    {view == "fraud_stats" ? "score" : "email",
                     view == "fraud_stats" ? Value::Double(0.5) : Value::String("a@b.c")}};
      row.event_time_us = NowMicros() - kMicrosPerSecond;
      return push ? c.Push(view, {row}).status() : c.WriteOnlineFeatures(view, {row}).status();
    };
  };
  const std::string yaml = testing::ReadFile(root_ / "repo.yaml");
  struct Case {
    const char* what;
    Op op;
  };
  const std::vector<Case> ops = {
      {"read fraud_stats online", online({"fraud_stats:score"})},
      {"read user_profile online", online({"user_profile:email"})},
      {"read both online", online({"fraud_stats:score", "user_profile:email"})},
      {"read fraud_email (reads user_profile)", online({"fraud_email:email_len"})},
      {"read service fraud_svc", online({}, "fraud_svc")},
      {"read service profile_svc", online({}, "profile_svc")},
      {"join fraud_stats offline", historical({"fraud_stats:score"})},
      {"join user_profile offline", historical({"user_profile:*"})},
      {"write fraud_stats online", write("fraud_stats", false)},
      {"push fraud_stats", write("fraud_stats", true)},
      {"push user_profile", write("user_profile", true)},
      {"describe user_profile", [](Client& c) { return c.GetFeatureView("user_profile").status(); }},
      {"list entities", [](Client& c) { return c.ListEntities().status(); }},
      {"apply", [&](Client& c) { return c.Apply(yaml, root_.string(), "repo.yaml").status(); }},
      {"materialize", [](Client& c) { return c.MaterializeIncremental({"fraud_stats"}, NowMicros()).status(); }},
      {"list jobs", [](Client& c) { return c.ListJobs().status(); }},
      {"read lineage", [](Client& c) { return c.ListLineage("", 10).status(); }},
      {"dead letters of stats_src", [](Client& c) { return c.ListDeadLetters("stats_src", 10).status(); }},
  };
  // Expected per principal, in the order of `ops`: A allowed, D denied.
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"scorer-token", "ADDDADDDDDDDADDDDD"},
      {"analyst-token", "DDDDDDADDDDDADDDDD"},
      {"writer-token", "DDDDDDDDAADDDDDDDD"},
      {"admin-token", "AAAAAAAAAAAAAAAAAA"},
      {"nobody-token", "DDDDDDDDDDDDDDDDDD"},
  };
  for (const auto& [token, want] : expected) {
    auto client = As(token);
    ASSERT_EQ(want.size(), ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      const absl::Status s = ops[i].op(*client);
      const Outcome got = outcome(s);
      const Outcome wanted = want[i] == 'A' ? kAllowed : kDenied;
      EXPECT_EQ(got, wanted) << token << ": " << ops[i].what << " -> " << s;
    }
  }
  // A denial names the principal and the view, and nothing was read.
  auto scorer = As("scorer-token");
  OnlineQuery q;
  q.features = {"fraud_stats:score", "user_profile:email"};
  q.entities = {{"user_id", {Value::Int64(1)}}};
  absl::Status s = scorer->GetOnlineFeatures(q).status();
  EXPECT_EQ(s.message(), "principal 'scorer' may not read_online feature view 'user_profile'");
  // Lists show only what the caller may describe.
  auto views = scorer->ListFeatureViews();
  ASSERT_TRUE(views.ok()) << views.status();
  ASSERT_EQ(views->feature_views_size(), 1);
  EXPECT_EQ(views->feature_views(0).name(), "fraud_stats");
  EXPECT_EQ(views->on_demand_views_size(), 0) << "fraud_email reads user_profile";
  auto services = scorer->ListFeatureServices();
  ASSERT_TRUE(services.ok());
  ASSERT_EQ(services->feature_services_size(), 1);
  EXPECT_EQ(services->feature_services(0).name(), "fraud_svc");
  // Without a token at all.
  EXPECT_EQ(As("")->ListEntities().status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthE2E, JwtsAreCheckedAndTheCliSendsTokens) {
  const std::string hs = testing::SignJwt("HS256", kSecret, Claims());
  const std::string rs = testing::SignJwt("RS256", rsa_->private_pem, Claims(), "k1");
  for (const std::string& token : {hs, rs}) {
    Result r = Pantry("--token " + token + " get-online --features fraud_stats:score --entity user_id=1");
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  Result r = Pantry("get-online --features fraud_stats:score --entity user_id=1",
                    "PANTRY_TOKEN=" + hs);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Pantry("get-online --features user_profile:email --entity user_id=1", "PANTRY_TOKEN=" + hs);
  EXPECT_EQ(r.exit_code, 1);
  // (The CLI types the entity values with the view's join keys, so it asks
  // to describe the view first.)
  EXPECT_THAT(r.err, HasSubstr("principal 'jwt-user' may not describe feature view 'user_profile'"));

  json expired = Claims();
  expired["exp"] = NowMicros() / kMicrosPerSecond - 3600;
  json other_audience = Claims();
  other_audience["aud"] = "billing";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {testing::SignJwt("HS256", kSecret, expired), "expired"},
      {testing::SignJwt("HS256", kSecret, other_audience), "audience"},
      {testing::SignJwt("HS256", std::string(40, 'z'), Claims()), "signature"},
      {testing::ForgeJwt({{"alg", "none"}, {"typ", "JWT"}}, Claims(), ""), "'none'"},
      {testing::SignJwt("HS256", rsa_->public_pem, Claims(), "k1"), "signature"},
  };
  for (const auto& [token, why] : bad) {
    r = Pantry("list", "PANTRY_TOKEN=" + token);
    EXPECT_EQ(r.exit_code, 1) << why;
    EXPECT_THAT(r.err, HasSubstr("invalid token")) << why;
    EXPECT_THAT(r.err, HasSubstr(why));
    const std::string signature = token.substr(token.rfind('.') + 1);
    if (!signature.empty()) {
      EXPECT_THAT(r.err, Not(HasSubstr(signature))) << why;
    }
  }
  r = Pantry("list");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no credentials"));
  r = Pantry("--tls-cert /nonexistent.pem --tls-key /nonexistent.key list");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent.pem"));
}

TEST_F(AuthE2E, SighupReloadsTheAuthConfigurationAndKeepsItWhenBroken) {
  auto nobody = As("nobody-token");
  OnlineQuery q;
  q.features = {"fraud_stats:score"};
  q.entities = {{"user_id", {Value::Int64(1)}}};
  ASSERT_EQ(nobody->GetOnlineFeatures(q).status().code(), absl::StatusCode::kPermissionDenied);
  WriteFile(root_ / "auth.yaml", AuthConfig("model_server"));
  daemon_->Signal(SIGHUP);
  absl::Status s;
  for (int i = 0; i < 200; ++i) {
    s = nobody->GetOnlineFeatures(q).status();
    if (s.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(s.ok()) << s;
  // A broken file is refused, and the last good configuration stays.
  WriteFile(root_ / "auth.yaml", "roles: [\n");
  daemon_->Signal(SIGHUP);
  for (int i = 0; i < 200 && daemon_->Log().find("stays") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_THAT(daemon_->Log(), HasSubstr("the previous auth configuration stays"));
  EXPECT_TRUE(nobody->GetOnlineFeatures(q).ok());
  EXPECT_THAT(daemon_->Log(), Not(HasSubstr("scorer-token")));
}

// Denials, failed authentications and mutations are recorded, reads are
// not (sample_reads: 0); under concurrent calls every line is whole.
TEST_F(AuthE2E, TheAuditLogRecordsDenialsAndMutations) {
  const fs::path log = root_ / "audit.jsonl";
  auto records = [&] {
    std::vector<json> out;
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "a torn line: " << line;
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  };
  auto wait_for = [&](size_t n) {
    for (int i = 0; i < 400 && records().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return records();
  };
  OnlineQuery allowed, denied;
  allowed.features = {"fraud_stats:score"};
  denied.features = {"user_profile:email"};
  allowed.entities = denied.entities = {{"user_id", {Value::Int64(1)}}};
  auto scorer = As("scorer-token");
  ASSERT_TRUE(scorer->GetOnlineFeatures(allowed).ok());
  EXPECT_EQ(scorer->GetOnlineFeatures(denied).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(As("forged-credential-456")->ListEntities().status().code(),
            absl::StatusCode::kUnauthenticated);
  WriteRow row;
  row.values = {{"user_id", Value::Int64(1)}, {"score", Value::Double(0.25)}};
  row.event_time_us = NowMicros() - kMicrosPerSecond;
  ASSERT_TRUE(As("writer-token")->Push("fraud_stats", {row}).ok());
  std::vector<json> all = wait_for(3);
  ASSERT_EQ(all.size(), 3u) << "the allowed read is not recorded";
  EXPECT_EQ(all[0]["outcome"], "denied");
  EXPECT_EQ(all[0]["principal"], "scorer");
  EXPECT_EQ(all[0]["auth"], "token");
  EXPECT_EQ(all[0]["action"], "read_online");
  EXPECT_EQ(all[0]["method"], "/pantry.v1.FeatureService/GetOnlineFeatures");
  EXPECT_EQ(all[0]["resources"], json({"feature view 'user_profile'"}));
  EXPECT_EQ(all[0]["reason"], "principal 'scorer' may not read_online feature view 'user_profile'");
  EXPECT_THAT(all[0]["peer"].get<std::string>(), HasSubstr("127.0.0.1"));
  EXPECT_FALSE(all[0]["request_id"].get<std::string>().empty());
  EXPECT_EQ(all[1]["outcome"], "unauthenticated");
  EXPECT_EQ(all[1]["principal"], "");
  EXPECT_THAT(all[1]["reason"].get<std::string>(), Not(HasSubstr("forged-credential-456")));
  EXPECT_EQ(all[2]["outcome"], "allowed");
  EXPECT_EQ(all[2]["principal"], "writer");
  EXPECT_EQ(all[2]["action"], "write_offline");
  EXPECT_EQ(all[2]["resources"], json({"feature view 'fraud_stats'"}));

  // A client's request id is kept.
  {
    auto channel = grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials());
    auto stub = v1::RegistryService::NewStub(channel);
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "req-42");
    v1::ListEntitiesRequest request;
    v1::ListEntitiesResponse response;
    EXPECT_EQ(stub->ListEntities(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  all = wait_for(4);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3]["request_id"], "req-42");

  // Concurrent denials: each one recorded, every line whole.
  constexpr int kThreads = 8, kCalls = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto c = As("scorer-token");
      for (int i = 0; i < kCalls; ++i) {
        EXPECT_EQ(c->GetOnlineFeatures(denied).status().code(), absl::StatusCode::kPermissionDenied);
      }
    });
  }
  for (auto& th : threads) th.join();
  all = wait_for(4 + kThreads * kCalls);
  EXPECT_EQ(all.size(), static_cast<size_t>(4 + kThreads * kCalls));

  // pantry audit reads them back, filtered.
  Result r = Pantry(absl::StrCat("-o json audit --file ", log.string(),
                                 " --principal writer --since 1h"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  EXPECT_THAT(r.out, HasSubstr("\"write_offline\""));
  r = Pantry(absl::StrCat("audit --file ", log.string(), " --outcome unauthenticated"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("unauthenticated"));
  EXPECT_THAT(r.out, Not(HasSubstr("scorer")));
  r = Pantry(absl::StrCat("audit --file ", log.string(), " --since yesterday"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--since 'yesterday'"));
}

// pantry search finds by name, tag and expression, among what the caller
// may describe.
TEST_F(AuthE2E, SearchFindsWhatTheCallerMayDescribe) {
  Result r = Pantry("-o json search PII", "PANTRY_TOKEN=admin-token");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json hits = json::parse(r.out);
  std::set<std::string> names;
  for (const json& h : hits) names.insert(h["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"fraud_stats", "user_profile"}));
  r = Pantry("search length", "PANTRY_TOKEN=admin-token");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("fraud_email:email_len"));
  EXPECT_THAT(r.out, HasSubstr("expression"));
  r = Pantry("search profile", "PANTRY_TOKEN=scorer-token");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("user_profile"))) << "not one the scorer may describe";
  r = Pantry("search svc", "PANTRY_TOKEN=scorer-token");
  EXPECT_THAT(r.out, HasSubstr("fraud_svc"));
  EXPECT_THAT(r.out, Not(HasSubstr("profile_svc")));
}

// The lineage graph from the registry: upstream, downstream, as a tree, JSON
// and DOT.
TEST_F(AuthE2E, LineageWalksTheGraphBothWays) {
  const std::string env = "PANTRY_TOKEN=admin-token";
  Result r = Pantry("lineage upstream fraud_svc", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "feature service fraud_svc\n"
            "└── feature view fraud_stats\n"
            "    └── source stats_src\n");
  r = Pantry("lineage downstream profile_src", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "source profile_src\n"
            "└── feature view user_profile\n"
            "    ├── on-demand view fraud_email\n"
            "    └── feature service profile_svc\n");
  r = Pantry("-o json lineage downstream view:user_profile", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json graph = json::parse(r.out);
  EXPECT_EQ(graph["root"], "view:user_profile");
  EXPECT_EQ(graph["nodes"].size(), 3u);
  EXPECT_EQ(graph["edges"].size(), 2u);
  r = Pantry("lineage upstream fraud_email --format dot", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("digraph lineage {"));
  EXPECT_THAT(r.out, HasSubstr("\"source:profile_src\" -> \"view:user_profile\";"));
  EXPECT_THAT(r.out, HasSubstr("\"view:user_profile\" -> \"on_demand_view:fraud_email\";"));
  r = Pantry("lineage upstream nothing", env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no source, feature view, on-demand view or feature service named 'nothing'"));
  // A caller sees the graph of what it may describe.
  r = Pantry("lineage upstream profile_svc", "PANTRY_TOKEN=scorer-token");
  EXPECT_EQ(r.exit_code, 2);
}

// A server-path join reads and writes only within the folders allowed.
TEST_F(AuthE2E, ServerPathJoinsStayWithinTheirFolders) {
  WriteFile(root_ / "in" / "entities.parquet", "not parquet");
  WriteFile(root_ / "elsewhere.parquet", "not parquet");
  fs::create_symlink(root_ / "elsewhere.parquet", root_ / "in" / "escape.parquet");
  auto admin = As("admin-token");
  auto join = [&](const fs::path& entities, const fs::path& output) {
    HistoricalQuery q;
    q.features = {"fraud_stats:score"};
    q.entities_path = entities.string();
    q.output_path = output.string();
    return admin->GetHistoricalFeatures(q).status();
  };
  absl::Status s = join(root_ / "in" / "entities.parquet", root_ / "out" / "r.parquet");
  EXPECT_NE(s.code(), absl::StatusCode::kPermissionDenied) << s;  // past the check: a bad file
  s = join(root_ / "elsewhere.parquet", root_ / "out" / "r.parquet");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(s.message(), HasSubstr((root_ / "elsewhere.parquet").string()));
  s = join(root_ / "in" / "escape.parquet", root_ / "out" / "r.parquet");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  s = join(root_ / "in" / ".." / "elsewhere.parquet", root_ / "out" / "r.parquet");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  s = join(root_ / "in" / "entities.parquet", root_ / "in" / "r.parquet");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  s = join("/etc/passwd", root_ / "out" / "r.parquet");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_FALSE(fs::exists(root_ / "in" / "r.parquet"));
}

// An applied repository may not point pantryd at files outside its folders.
TEST_F(AuthE2E, AnAppliedRepositoryStaysWithinTheFoldersToo) {
  auto admin = As("admin-token");
  const std::string yaml = testing::ReadFile(root_ / "repo.yaml");
  fs::create_directories(root_ / "elsewhere");
  fs::create_directories(root_ / "in" / "files");
  auto with_source = [&](const std::string& path) {
    std::string y = yaml;
    y.replace(y.find("sources:\n") + 9, 0,
              "  - {name: file_src, path: " + path + ", timestamp_field: ts}\n");
    return y;
  };
  absl::Status s = admin->Apply(with_source((root_ / "elsewhere").string()), root_.string(),
                                "repo.yaml").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(s.message(), HasSubstr("source 'file_src'"));
  EXPECT_THAT(s.message(), HasSubstr((root_ / "elsewhere").string()));
  // Within the folders: past the check (validation then wants Parquet files).
  s = admin->Apply(with_source("in/files"), root_.string(), "repo.yaml").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("no Parquet files"));
  std::string moved = yaml;
  moved.replace(moved.find("{path: offline}"), 15, "{path: /tmp}");
  s = admin->Apply(moved, root_.string(), "repo.yaml").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(s.message(), HasSubstr("may not move the offline store"));
}

TEST(AuthStart, ABadAuthConfigurationStopsPantrydAtStart) {
  ::pantry::testing::TempDir dir("pantry-auth-start");
  WriteFile(dir.path() / "repo.yaml", "project: p\nonline_store: {type: memory}\n");
  WriteFile(dir.path() / "auth.yaml", "roles: [{name: r, grants: [{actions: [fly]}]}]\n");
  Result r = ::pantry::testing::RunCommand(
      absl::StrCat("timeout 30 ", testing::BinDir(), "/pantryd --config ", (dir.path() / "repo.yaml").string(),
                   " --listen 127.0.0.1:0 --auth-config ", (dir.path() / "auth.yaml").string()),
      dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err + r.out, HasSubstr("unknown action 'fly'"));
}

}  // namespace
}  // namespace pantry
