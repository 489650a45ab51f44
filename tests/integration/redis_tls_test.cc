// The Redis online store over TLS (online_store.tls) against a private
// redis-server with a TLS port: the store works as over TCP, and a server
// it must not trust, a name that does not match, a missing client
// certificate or unusable files are refused with a reason.
#include <hiredis/hiredis.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/time.h"
#include "server/online/online_store.h"
#include "server/online/redis_store.h"
#include "server/online/row.h"
#include "server/value/encoding.h"
#include "server/value/value.h"
#include "tests/support/certs.h"
#include "tests/support/raw_redis.h"
#include "tests/support/redis_server.h"

namespace pantry {
namespace {

namespace fs = std::filesystem;
using ::pantry::testing::Cert;
using ::pantry::testing::MakeCert;
using ::testing::HasSubstr;

constexpr Micros kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

Micros Deadline() { return NowMicros() + 10 * kMicrosPerSecond; }

std::string RowKey(int64_t user, absl::string_view view) {
  const Value v = Value::Int64(user);
  return OnlineKey("shop", view, {JoinKey{"user_id", ValueType::kInt64}}, {&v});
}

ViewWrite MakeWrite(int64_t user, Micros event_time, int64_t value) {
  ViewWrite write;
  write.key = RowKey(user, "v");
  write.view = "v";
  AppendRowHeader(event_time, &write.row);
  AppendRowEntry(FeatureId("f"), EncodeValue(Value::Int64(value)), &write.row);
  return write;
}

ViewRead MakeRead(int64_t user) {
  ViewRead read;
  read.key = RowKey(user, "v");
  read.view = "v";
  read.feature_ids.push_back(FeatureId("f"));
  return read;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// One CA, a Redis certificate it signs for 127.0.0.1 and "redis.test", a
// client certificate, and a CA Redis does not know; all as files.
class RedisTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/pantry-redis-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new fs::path(tmpl);
    Cert ca = MakeCert("Redis Test CA", {}, nullptr);
    Cert other = MakeCert("Another CA", {}, nullptr);
    Cert server = MakeCert("redis", {"DNS:redis.test", "IP:127.0.0.1"}, &ca);
    Cert client = MakeCert("pantryd", {}, &ca);
    WriteFile(*dir_ / "ca.pem", ca.cert_pem);
    WriteFile(*dir_ / "other-ca.pem", other.cert_pem);
    WriteFile(*dir_ / "redis.pem", server.cert_pem);
    WriteFile(*dir_ / "redis.key", server.key_pem);
    WriteFile(*dir_ / "client.pem", client.cert_pem);
    WriteFile(*dir_ / "client.key", client.key_pem);
    WriteFile(*dir_ / "garbage.pem", "not a certificate\n");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string File(const char* name) { return (*dir_ / name).string(); }

  // Starts Redis with TLS; `auth_clients`: it requires a client certificate.
  void StartRedis(bool auth_clients) {
    testing::RedisServer::Tls tls;
    tls.cert_file = File("redis.pem");
    tls.key_file = File("redis.key");
    tls.ca_file = File("ca.pem");
    tls.auth_clients = auth_clients;
    ASSERT_TRUE(server_.StartTls(tls).ok());
  }

  OnlineStoreConfig Config() const {
    OnlineStoreConfig config;
    config.type = OnlineStoreConfig::Type::kRedis;
    config.host = "127.0.0.1";
    config.port = server_.tls_port();
    config.pool_size = 2;
    config.tls.enabled = true;
    config.tls.ca_file = File("ca.pem");
    return config;
  }

  // The status of one write through a store made from `config`.
  static absl::Status WriteOnce(const OnlineStoreConfig& config) {
    absl::StatusOr<std::unique_ptr<OnlineStore>> store = CreateOnlineStore(config, "shop");
    if (!store.ok()) return store.status();
    return (*store)->WriteSync({MakeWrite(1, kT0, 7)}, Deadline()).status();
  }

  static fs::path* dir_;
  testing::RedisServer server_;
};

fs::path* RedisTlsTest::dir_ = nullptr;

TEST_F(RedisTlsTest, WritesAndReadsGoOverTls) {
  StartRedis(/*auth_clients=*/false);
  absl::StatusOr<std::unique_ptr<OnlineStore>> store = CreateOnlineStore(Config(), "shop");
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->CheckLayout(Deadline()).ok());
  // Enough rows for replies larger than one TLS record and a split read.
  std::vector<ViewWrite> writes;
  std::vector<ViewRead> reads;
  for (int64_t u = 0; u < 3000; ++u) {
    writes.push_back(MakeWrite(u, kT0, u * 10));
    reads.push_back(MakeRead(u));
  }
  absl::StatusOr<WriteResult> written = (*store)->WriteSync(writes, Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 3000);
  // Newer wins over TLS as over TCP.
  written = (*store)->WriteSync({MakeWrite(5, kT0 - 1, -1)}, Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->skipped_older, 1);

  absl::StatusOr<std::vector<ViewReadResult>> read = (*store)->ReadSync(reads, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3000u);
  for (int64_t u = 0; u < 3000; ++u) {
    ASSERT_TRUE((*read)[u].found) << u;
    ASSERT_TRUE((*read)[u].values[0].has_value());
    EXPECT_EQ(DecodeValue(*(*read)[u].values[0]).value(), Value::Int64(u * 10));
  }
  // The rows are in Redis (seen through its plain port).
  testing::RawRedis raw(server_.port());
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.Integer({"EXISTS", RowKey(2999, "v")}), 1);
  // The store's connections came in on the TLS port (CLIENT LIST's laddr);
  // the only one on the plain port is this test's own.
  testing::RawRedis::Reply clients = raw.Command({"CLIENT", "LIST"});
  ASSERT_NE(clients, nullptr);
  const std::string list(clients->str, clients->len);
  EXPECT_THAT(list, HasSubstr(absl::StrCat("laddr=127.0.0.1:", server_.tls_port())));
  size_t plain = 0;
  for (size_t at = 0; (at = list.find(absl::StrCat("laddr=127.0.0.1:", server_.port(), " "), at)) !=
                      std::string::npos;
       ++at) {
    ++plain;
  }
  EXPECT_EQ(plain, 1u) << list;
}

TEST_F(RedisTlsTest, AnAclUserAuthenticatesOverTls) {
  StartRedis(/*auth_clients=*/false);
  testing::RawRedis raw(server_.port());
  ASSERT_TRUE(raw.ok());
  ASSERT_NE(raw.Command({"ACL", "SETUSER", "pantry", "on", ">pw", "~shop:*", "+@all", "-@admin",
                                "-@dangerous"}), nullptr);
  ASSERT_NE(raw.Command({"ACL", "SETUSER", "default", "off"}), nullptr);
  OnlineStoreConfig config = Config();
  config.username = "pantry";
  config.password = "pw";
  EXPECT_TRUE(WriteOnce(config).ok()) << WriteOnce(config);
  config.password = "wrong";
  const absl::Status wrong = WriteOnce(config);
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnavailable) << wrong;
  EXPECT_THAT(wrong.message(), HasSubstr("AUTH"));
  EXPECT_THAT(wrong.message(), ::testing::Not(HasSubstr("wrong")));
}

TEST_F(RedisTlsTest, AServerSignedByAnotherCaIsRefused) {
  StartRedis(/*auth_clients=*/false);
  OnlineStoreConfig config = Config();
  config.tls.ca_file = File("other-ca.pem");
  const absl::Status status = WriteOnce(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("certificate verification failed"));
  EXPECT_THAT(status.message(), HasSubstr("(TLS)"));
}

TEST_F(RedisTlsTest, TheCertificateMustCarryTheServerName) {
  StartRedis(/*auth_clients=*/false);
  OnlineStoreConfig config = Config();
  config.tls.server_name = "redis.test";  // in the certificate: accepted
  EXPECT_TRUE(WriteOnce(config).ok()) << WriteOnce(config);
  config.tls.server_name = "cache.example";
  const absl::Status status = WriteOnce(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("hostname mismatch"));
}

TEST_F(RedisTlsTest, AClientCertificateWhenRedisAsksForOne) {
  StartRedis(/*auth_clients=*/true);
  OnlineStoreConfig config = Config();
  const absl::Status without = WriteOnce(config);
  EXPECT_EQ(without.code(), absl::StatusCode::kUnavailable) << without;
  EXPECT_THAT(without.message(), HasSubstr("TLS"));
  config.tls.cert_file = File("client.pem");
  config.tls.key_file = File("client.key");
  EXPECT_TRUE(WriteOnce(config).ok()) << WriteOnce(config);
}

TEST_F(RedisTlsTest, TlsAgainstAPlainPortAndPlainAgainstATlsPortFail) {
  StartRedis(/*auth_clients=*/false);
  OnlineStoreConfig config = Config();
  config.port = server_.port();  // plain TCP
  config.connect_timeout = 500'000;
  absl::Status status = WriteOnce(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("TLS"));

  config = Config();
  config.tls = {};
  config.request_timeout = 500'000;
  status = WriteOnce(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(RedisTlsTest, UnusableFilesStopTheStoreNamingTheFile) {
  OnlineStoreConfig config;
  config.type = OnlineStoreConfig::Type::kRedis;
  config.tls.enabled = true;
  config.tls.ca_file = File("garbage.pem");
  absl::StatusOr<std::unique_ptr<OnlineStore>> store = CreateOnlineStore(config, "shop");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr("online_store.tls: ca_file"));
  EXPECT_THAT(store.status().message(), HasSubstr("garbage.pem"));

  config.tls.ca_file = File("ca.pem");
  config.tls.cert_file = File("client.pem");
  config.tls.key_file = File("redis.key");  // not client.pem's key
  store = CreateOnlineStore(config, "shop");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("is not the private key"));

  config.tls.key_file = File("missing.key");
  store = CreateOnlineStore(config, "shop");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("missing.key"));
}

TEST_F(RedisTlsTest, NoReplyWithinRequestTimeoutOverTlsThenRecovers) {
  StartRedis(/*auth_clients=*/false);
  OnlineStoreConfig config = Config();
  config.pool_size = 1;
  config.request_timeout = 200'000;
  absl::StatusOr<std::unique_ptr<OnlineStore>> store = CreateOnlineStore(config, "shop");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->WriteSync({MakeWrite(1, kT0, 3)}, Deadline()).ok());
  testing::RawRedis raw(server_.port());
  ASSERT_TRUE(raw.ok());
  ASSERT_NE(raw.Command({"CLIENT", "PAUSE", "1500", "ALL"}), nullptr);
  absl::StatusOr<std::vector<ViewReadResult>> read = (*store)->ReadSync({MakeRead(1)}, Deadline());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr("no reply within request_timeout"));
  for (int attempt = 0; attempt < 500; ++attempt) {
    read = (*store)->ReadSync({MakeRead(1)}, Deadline());
    if (read.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(DecodeValue(*(*read)[0].values[0]).value(), Value::Int64(3));
}

// A Redis Cluster of three masters that speak only TLS (clients and the
// cluster bus), made with redis-cli --tls --cluster create.
class TlsCluster {
 public:
  explicit TlsCluster(const fs::path& certs) : certs_(certs) {}
  ~TlsCluster() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void Start() {
    char tmpl[] = "/tmp/pantry-tls-cluster-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Every port distinct, the cluster bus on a port of its own (the
    // default, port + 10000, may be taken or beyond 65535).
    std::set<int> used;
    auto pick = [&used] {
      int port = testing::PickFreePort();
      while (port <= 0 || !used.insert(port).second) port = testing::PickFreePort();
      return port;
    };
    for (int i = 0; i < 3; ++i) {
      const int port = pick();
      const int bus_port = pick();
      ports_.push_back(port);
      const fs::path node = dir_ / std::to_string(port);
      fs::create_directories(node);
      std::vector<std::string> args = {
          "redis-server", "--port", "0", "--tls-port", std::to_string(port), "--tls-cluster", "yes",
          "--cluster-enabled", "yes", "--cluster-port", std::to_string(bus_port), "--cluster-config-file", (node / "nodes.conf").string(),
          "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", node.string(),
          "--tls-cert-file", (certs_ / "redis.pem").string(), "--tls-key-file",
          (certs_ / "redis.key").string(), "--tls-ca-cert-file", (certs_ / "ca.pem").string(),
          "--tls-auth-clients", "no", "--loglevel", "warning", "--logfile",
          (node / "log").string()};
      pids_.push_back(Spawn(args));
    }
    for (int port : ports_) {
      bool up = false;
      for (int i = 0; i < 200 && !up; ++i) {
        up = Cli(port, "PING") == "PONG";
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
      ASSERT_TRUE(up) << "node " << port << " did not start";
    }
    std::string create = absl::StrCat("echo yes | redis-cli --tls --cacert ", (certs_ / "ca.pem").string(),
                                      " --cluster create");
    for (int port : ports_) absl::StrAppend(&create, " 127.0.0.1:", port);
    absl::StrAppend(&create, " >", (dir_ / "create.log").string(), " 2>&1");
    ASSERT_EQ(std::system(create.c_str()), 0);
    for (int port : ports_) {
      bool ok = false;
      for (int i = 0; i < 400 && !ok; ++i) {
        ok = Cli(port, "CLUSTER INFO").find("cluster_state:ok") != std::string::npos;
        if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
      ASSERT_TRUE(ok) << "node " << port << " never saw cluster_state:ok";
    }
  }

  // What redis-cli --tls prints for `command` on node `port`.
  std::string Cli(int port, const std::string& command) const {
    const std::string cmd = absl::StrCat("redis-cli --tls --cacert ", (certs_ / "ca.pem").string(),
                                         " -p ", port, " ", command, " 2>/dev/null");
    std::string out;
    if (FILE* f = popen(cmd.c_str(), "r")) {
      char buf[4096];
      for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0;) out.append(buf, n);
      pclose(f);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  const std::vector<int>& ports() const { return ports_; }

 private:
  static pid_t Spawn(std::vector<std::string> args) {
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  const fs::path certs_;
  fs::path dir_;
  std::vector<int> ports_;
  std::vector<pid_t> pids_;
};

TEST_F(RedisTlsTest, ARedisClusterOverTls) {
  TlsCluster cluster(*dir_);
  cluster.Start();
  if (HasFatalFailure()) return;
  OnlineStoreConfig config;
  config.type = OnlineStoreConfig::Type::kRedisCluster;
  config.nodes = {{"127.0.0.1", cluster.ports()[0]}};
  config.tls.enabled = true;
  config.tls.ca_file = File("ca.pem");
  absl::StatusOr<std::unique_ptr<OnlineStore>> store = CreateOnlineStore(config, "shop");
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<ViewWrite> writes;
  std::vector<ViewRead> reads;
  for (int64_t u = 0; u < 300; ++u) {
    writes.push_back(MakeWrite(u, kT0, u + 1));
    reads.push_back(MakeRead(u));
  }
  absl::StatusOr<WriteResult> written = (*store)->WriteSync(writes, Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 300);
  absl::StatusOr<std::vector<ViewReadResult>> read = (*store)->ReadSync(reads, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  for (int64_t u = 0; u < 300; ++u) {
    ASSERT_TRUE((*read)[u].found) << u;
    EXPECT_EQ(DecodeValue(*(*read)[u].values[0]).value(), Value::Int64(u + 1));
  }
  // The rows are spread over the three masters, each reached over TLS.
  for (int port : cluster.ports()) EXPECT_GT(std::stoi(cluster.Cli(port, "DBSIZE")), 10) << port;
}

}  // namespace
}  // namespace pantry
