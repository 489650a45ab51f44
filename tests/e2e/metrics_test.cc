// Metrics end to end: pantryd with --metrics-listen, driven by the `pantry`
// CLI; its /metrics checked by `promtool check metrics` and scraped by a
// real Prometheus server (Debian's prometheus package, started here on a
// free port with its own data folder and stopped at the end).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/tls/tls.h"
#include "tests/support/certs.h"
#include "tests/support/e2e.h"
#include "tests/support/http.h"
#include "tests/support/metrics_text.h"
#include "tests/support/redis_server.h"

namespace pantry {
namespace {

namespace fs = std::filesystem;
using ::pantry::testing::BinDir;
using ::pantry::testing::Daemon;
using ::pantry::testing::HttpGet;
using ::pantry::testing::HttpResponse;
using ::pantry::testing::ReadFile;
using ::pantry::testing::Result;
using ::pantry::testing::SeriesValue;
using ::pantry::testing::TempDir;
using ::pantry::testing::UrlEncode;
using ::pantry::testing::WriteFile;
using ::testing::HasSubstr;

// The source tree: $PANTRY_SOURCE_DIR (set by ctest) or the working folder.
fs::path SourceDir() {
  const char* dir = std::getenv("PANTRY_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// The path of `name` on $PATH, or empty.
std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t begin = 0;
  while (begin <= dirs.size()) {
    size_t end = dirs.find(':', begin);
    if (end == std::string::npos) end = dirs.size();
    const fs::path candidate = fs::path(dirs.substr(begin, end - begin)) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    begin = end + 1;
  }
  return "";
}

// A Prometheus server scraping `target` every second as job "pantry", its
// data in `dir`; stopped (SIGTERM, then SIGKILL) when destroyed.
class PrometheusServer {
 public:
  // `job_extra`: more keys of the scrape job (indented 4 spaces), such as
  // its scheme and tls_config.
  PrometheusServer(fs::path dir, const std::string& target, const std::string& job_extra = "")
      : dir_(std::move(dir)) {
    WriteFile(dir_ / "prometheus.yml",
              "global:\n"
              "  scrape_interval: 1s\n"
              "  scrape_timeout: 1s\n"
              "scrape_configs:\n"
              "  - job_name: pantry\n" +
                  job_extra +
                  "    static_configs:\n"
                  "      - targets: ['" +
                  target + "']\n");
  }
  ~PrometheusServer() { Stop(); }

  // Starts it and waits until it is ready; a failure names what went wrong.
  void Start(const std::string& binary) {
    port_ = ::pantry::testing::PickFreePort();
    std::vector<std::string> args = {binary, "--config.file=" + (dir_ / "prometheus.yml").string(),
                                     "--storage.tsdb.path=" + (dir_ / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--log.level=warn"};
    const fs::path log = dir_ / "prometheus.log";
    pid_ = fork();
    if (pid_ == 0) {
      if (freopen(log.c_str(), "a", stderr) == nullptr) _exit(125);
      if (freopen(log.c_str(), "a", stdout) == nullptr) _exit(125);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    for (int i = 0; i < 300; ++i) {
      if (HttpGet(port_, "/-/ready").status == 200) return;
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "prometheus exited at start:\n" << ReadFile(log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "prometheus did not get ready:\n" << ReadFile(log);
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // The value of the instant query's first series; nullopt when the result
  // is empty or the query failed.
  std::optional<double> Query(const std::string& promql) {
    const HttpResponse r = HttpGet(port_, "/api/v1/query?query=" + UrlEncode(promql));
    if (r.status != 200) return std::nullopt;
    const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || j.value("status", "") != "success") return std::nullopt;
    const nlohmann::json& result = j["data"]["result"];
    if (!result.is_array() || result.empty()) return std::nullopt;
    return std::stod(result[0]["value"][1].get<std::string>());
  }

  // Polls `promql` until `accept` takes its value, for up to `timeout`.
  std::optional<double> AwaitQuery(const std::string& promql,
                                   const std::function<bool(double)>& accept,
                                   std::chrono::seconds timeout = std::chrono::seconds(15)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    std::optional<double> v;
    while (std::chrono::steady_clock::now() < end) {
      v = Query(promql);
      if (v && accept(*v)) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return v;
  }

  std::string Log() const { return ReadFile(dir_ / "prometheus.log"); }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// GET /metrics over TLS from 127.0.0.1:`port`, trusting only `ca_file`.
HttpResponse HttpsGet(int port, const std::string& ca_file) {
  HttpResponse r;
  TlsFiles files;
  files.ca_file = ca_file;
  absl::StatusOr<std::shared_ptr<const TlsContext>> ctx = TlsContext::Client(files);
  if (!ctx.ok()) {
    r.error = std::string(ctx.status().message());
    return r;
  }
  const int fd = ::pantry::testing::ConnectLoopback(port);
  if (fd < 0) {
    r.error = "cannot connect";
    return r;
  }
  absl::StatusOr<std::unique_ptr<TlsSession>> tls = TlsSession::Connect(**ctx, fd, "127.0.0.1");
  if (!tls.ok()) {
    close(fd);
    r.error = std::string(tls.status().message());
    return r;
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  std::string response;
  if ((*tls)->Write(request.data(), request.size()) >= 0) {
    char buf[16384];
    for (ssize_t n; (n = (*tls)->Read(buf, sizeof(buf))) > 0;) response.append(buf, n);
  }
  tls->reset();
  close(fd);
  return ::pantry::testing::ParseHttpResponse(response);
}

constexpr char kHealth[] =
    "pantry_grpc_requests_total{code=\"OK\",method=\"/grpc.health.v1.Health/Check\"}";

class MetricsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    WriteFile(root_ / "users.jsonl",
              "{\"user_id\": 1, \"txn_count\": 5, \"ts\": \"2026-01-01T00:00:00Z\"}\n"
              "{\"user_id\": 2, \"txn_count\": 7, \"ts\": \"2026-01-01T00:00:01Z\"}\n");
    fs::create_directories(root_ / "data");
    Result parquet =
        Run(BinDir() + "/pantry parquet from-jsonl " + (root_ / "users.jsonl").string() + " " +
            (root_ / "data" / "users.parquet").string() +
            " --schema user_id:INT64,txn_count:INT64,ts:UNIX_TIMESTAMP");
    ASSERT_EQ(parquet.exit_code, 0) << parquet.err;
    WriteFile(root_ / "repo.yaml",
              "project: metered\n"
              "online_store: {type: memory}\n"
              "entities:\n"
              "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
              "sources:\n"
              "  - {name: users_src, path: data, timestamp_field: ts}\n"
              "feature_views:\n"
              "  - name: user_stats\n"
              "    entities: [user]\n"
              "    source: users_src\n"
              "    ttl: 0\n"
              "    materialize: {every: 1h}\n"
              "    schema:\n"
              "      - {name: txn_count, dtype: INT64}\n");
  }

  void StartDaemon(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--metrics-listen", "127.0.0.1:0", "--metrics-port-file",
                                  (root_ / "metrics-port").string(), "--compact-seconds", "0.2"};
    args.insert(args.end(), extra.begin(), extra.end());
    daemon_ = std::make_unique<Daemon>(root_ / "repo.yaml", root_ / "state", args);
    daemon_->Start();
    metrics_port_ = std::stoi(ReadFile(root_ / "metrics-port"));
  }

  Result Run(const std::string& command) { return ::pantry::testing::RunCommand(command, root_); }
  Result Pantry(const std::string& args) {
    return Run(BinDir() + "/pantry --server " + daemon_->address() + " " + args);
  }

  std::string Scrape() {
    const HttpResponse r = HttpGet(metrics_port_, "/metrics");
    EXPECT_EQ(r.status, 200) << r.error;
    return r.body;
  }

  TempDir dir_{"pantry-metrics-e2e"};
  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
  int metrics_port_ = 0;
};

TEST_F(MetricsE2E, MetricsCountRequestsStoreCallsAndMaterializationPassPromtoolAndAreDocumented) {
  const std::string promtool = FindProgram("promtool");
  ASSERT_FALSE(promtool.empty()) << "promtool is missing: scripts/install-deps installs prometheus";
  StartDaemon();
  ASSERT_EQ(Pantry("health").exit_code, 0);
  ASSERT_EQ(Pantry("health").exit_code, 0);
  // The view's schedule materializes it within a second of the start.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = Scrape();
    if (SeriesValue(text, "pantry_materialize_jobs_finished_total{state=\"SUCCEEDED\"}") == 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(SeriesValue(text, "pantry_materialize_jobs_finished_total{state=\"SUCCEEDED\"}"), 1)
      << text << daemon_->Log();
  Result get = Pantry("get-online --features user_stats:txn_count --entity user_id=1");
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(Pantry("describe nope").exit_code, 2);
  // A push of one row, then its compaction.
  WriteFile(root_ / "push.jsonl",
            "{\"user_id\": 3, \"txn_count\": 9, \"event_timestamp\": \"2026-01-02T00:00:00Z\"}\n");
  Result push = Pantry("push --view user_stats --file " + (root_ / "push.jsonl").string());
  ASSERT_EQ(push.exit_code, 0) << push.err;
  for (int i = 0; i < 100; ++i) {
    text = Scrape();
    if (SeriesValue(text, "pantry_wal_compacted_rows_total") == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  text = Scrape();
  EXPECT_EQ(SeriesValue(text, kHealth), 2) << text;
  EXPECT_EQ(SeriesValue(text,
                        "pantry_grpc_requests_total{code=\"NOT_FOUND\","
                        "method=\"/pantry.v1.RegistryService/GetFeatureView\"}"),
            1);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_operations_total{op=\"read\",outcome=\"ok\"}"),
            1);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_writes_total{result=\"written\"}"), 3);
  EXPECT_EQ(SeriesValue(text, "pantry_push_rows_total{result=\"accepted\",view=\"user_stats\"}"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_wal_compacted_rows_total"), 1);
  EXPECT_GE(SeriesValue(text, "pantry_wal_compactions_total{result=\"ok\"}").value_or(0), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_wal_appends_total"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_wal_syncs_total"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_wal_segments"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_read_total{view=\"user_stats\"}"), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_written_total{view=\"user_stats\"}"), 2);
  EXPECT_LT(SeriesValue(text, "pantry_materialize_watermark_lag_seconds{view=\"user_stats\"}")
                .value_or(-1),
            60);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_schedule_seconds{view=\"user_stats\"}"), 3600);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_feature_views"), 1);
  EXPECT_THAT(text, HasSubstr("pantry_build_info{revision=\""));
  EXPECT_THAT(text, HasSubstr("pantry_registry_info{digest=\""));

  WriteFile(root_ / "scrape.txt", text);
  Result check = Run(promtool + " check metrics < " + (root_ / "scrape.txt").string());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // docs/operations.md lists every family exposed, and its alert rules load.
  const std::string docs = ReadFile(SourceDir() / "docs" / "operations.md");
  ASSERT_FALSE(docs.empty());
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    const std::string name = line.substr(7, line.find(' ', 7) - 7);
    EXPECT_THAT(docs, HasSubstr("`" + name + "`")) << "not in docs/operations.md";
  }
  const size_t rules_at = docs.find("\ngroups:\n");
  ASSERT_NE(rules_at, std::string::npos);
  WriteFile(root_ / "rules.yml",
            docs.substr(rules_at + 1, docs.find("```", rules_at) - rules_at - 1));
  Result rules = Run(promtool + " check rules " + (root_ / "rules.yml").string());
  EXPECT_EQ(rules.exit_code, 0) << rules.out << rules.err;
}

TEST_F(MetricsE2E, PrometheusScrapesPantrydAndSeesARequestCounterGrow) {
  const std::string prometheus = FindProgram("prometheus");
  ASSERT_FALSE(prometheus.empty()) << "prometheus is missing: scripts/install-deps installs it";
  StartDaemon();
  ASSERT_EQ(Pantry("health").exit_code, 0);
  fs::create_directories(root_ / "prometheus");
  PrometheusServer server(root_ / "prometheus", "127.0.0.1:" + std::to_string(metrics_port_));
  server.Start(prometheus);
  if (HasFatalFailure()) return;

  const auto up = server.AwaitQuery("up{job=\"pantry\"}", [](double v) { return v == 1; });
  ASSERT_EQ(up, 1) << server.Log();
  const std::string health =
      "pantry_grpc_requests_total{job=\"pantry\",code=\"OK\","
      "method=\"/grpc.health.v1.Health/Check\"}";
  const auto before = server.AwaitQuery(health, [](double v) { return v >= 1; });
  ASSERT_TRUE(before.has_value()) << server.Log();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Pantry("health").exit_code, 0);
  const auto after = server.AwaitQuery(health, [&](double v) { return v >= *before + 3; });
  EXPECT_GE(after.value_or(0), *before + 3) << server.Log();
  server.Stop();
}

// With auth's tls, the metrics port serves TLS with pantryd's certificate:
// Prometheus scrapes it with a tls_config, plain HTTP gets nothing, and a
// renewed certificate (from another CA) is served without a restart.
TEST_F(MetricsE2E, TheMetricsPortServesTlsWhenTheGrpcPortDoes) {
  const std::string prometheus = FindProgram("prometheus");
  ASSERT_FALSE(prometheus.empty()) << "prometheus is missing: scripts/install-deps installs it";
  const testing::Cert ca = testing::MakeCert("Metrics CA", {}, nullptr);
  const testing::Cert cert = testing::MakeCert("pantryd", {"DNS:localhost", "IP:127.0.0.1"}, &ca);
  WriteFile(root_ / "ca.pem", ca.cert_pem);
  WriteFile(root_ / "server.pem", cert.cert_pem);
  WriteFile(root_ / "server.key", cert.key_pem);
  // The digest of the token "x": auth needs some way to authenticate.
  WriteFile(root_ / "auth.yaml",
            "tls: {cert_file: server.pem, key_file: server.key}\n"
            "tokens: [{principal: ops, sha256: "
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881, roles: [ops]}]\n"
            "roles: [{name: ops, grants: [{actions: [describe]}]}]\n");
  StartDaemon({"--auth-config", (root_ / "auth.yaml").string()});
  if (HasFatalFailure()) return;

  const HttpResponse secure = HttpsGet(metrics_port_, (root_ / "ca.pem").string());
  ASSERT_EQ(secure.status, 200) << secure.error;
  EXPECT_THAT(secure.body, HasSubstr("pantry_build_info"));
  EXPECT_NE(HttpGet(metrics_port_, "/metrics").status, 200);  // plain HTTP: no metrics

  fs::create_directories(root_ / "prometheus");
  PrometheusServer server(root_ / "prometheus", "localhost:" + std::to_string(metrics_port_),
                          "    scheme: https\n"
                          "    tls_config: {ca_file: " + (root_ / "ca.pem").string() + "}\n");
  server.Start(prometheus);
  if (HasFatalFailure()) return;
  EXPECT_EQ(server.AwaitQuery("up{job=\"pantry\"}", [](double v) { return v == 1; }), 1)
      << server.Log();
  server.Stop();

  // A renewed certificate from a new CA: served within a few seconds.
  const testing::Cert new_ca = testing::MakeCert("New Metrics CA", {}, nullptr);
  const testing::Cert renewed =
      testing::MakeCert("pantryd", {"DNS:localhost", "IP:127.0.0.1"}, &new_ca);
  WriteFile(root_ / "new-ca.pem", new_ca.cert_pem);
  WriteFile(root_ / "server.key.new", renewed.key_pem);
  WriteFile(root_ / "server.pem.new", renewed.cert_pem);
  fs::rename(root_ / "server.key.new", root_ / "server.key");
  fs::rename(root_ / "server.pem.new", root_ / "server.pem");
  HttpResponse after;
  for (int i = 0; i < 100; ++i) {
    after = HttpsGet(metrics_port_, (root_ / "new-ca.pem").string());
    if (after.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(after.status, 200) << after.error;
  EXPECT_NE(HttpsGet(metrics_port_, (root_ / "ca.pem").string()).status, 200);
}

TEST_F(MetricsE2E, ABadOrTakenMetricsAddressStopsPantrydWithExitCode2) {
  const std::string pantryd = BinDir() + "/pantryd --config " + (root_ / "repo.yaml").string() +
                              " --state-dir " + (root_ / "state").string() +
                              " --listen 127.0.0.1:0 --metrics-listen ";
  Result bad = Run(pantryd + "nonsense");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.out + bad.err, HasSubstr("metrics address 'nonsense' is not HOST:PORT"));

  StartDaemon();
  Result taken = Run(pantryd + "127.0.0.1:" + std::to_string(metrics_port_));
  EXPECT_EQ(taken.exit_code, 2);
  EXPECT_THAT(taken.out + taken.err, HasSubstr("cannot serve metrics on 127.0.0.1:"));
  EXPECT_TRUE(daemon_->Alive());
}

}  // namespace
}  // namespace pantry
