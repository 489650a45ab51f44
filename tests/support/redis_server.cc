#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"

namespace pantry::testing {

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

namespace {
bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}
}  // namespace

absl::Status RedisServer::Start(int port, bool persist) {
  if (running()) return absl::FailedPreconditionError("redis-server already running");
  port_ = port != 0 ? port : PickFreePort();
  return Launch({}, persist);
}

absl::Status RedisServer::StartTls(const Tls& tls) {
  if (running()) return absl::FailedPreconditionError("redis-server already running");
  port_ = PickFreePort();
  do {
    tls_port_ = PickFreePort();
  } while (tls_port_ == port_);
  std::vector<std::string> args = {"--tls-port",      std::to_string(tls_port_),
                                   "--tls-cert-file", tls.cert_file,
                                   "--tls-key-file",  tls.key_file,
                                   "--tls-auth-clients", tls.auth_clients ? "yes" : "no"};
  if (!tls.ca_file.empty()) {
    args.insert(args.end(), {"--tls-ca-cert-file", tls.ca_file});
  }
  return Launch(args, /*persist=*/false);
}

absl::Status RedisServer::Launch(const std::vector<std::string>& extra_args, bool persist) {
  if (dir_.empty()) {
    char tmpl[] = "/tmp/pantry-redis-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
    dir_ = tmpl;
  }
  std::vector<std::string> args = {"redis-server", "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", persist ? "yes" : "no",
                                   "--appendfsync", "always", "--dir", dir_,
                                   "--daemonize", "no", "--loglevel", "warning"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    execvp("redis-server", argv.data());
    _exit(127);
  }
  for (int i = 0; i < 500; ++i) {
    if (CanConnect(port_) && (tls_port_ == 0 || CanConnect(tls_port_))) return absl::OkStatus();
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat("redis-server exited at start on port ", port_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stop();
  return absl::DeadlineExceededError("redis-server did not start within 5s");
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

RedisServer::~RedisServer() {
  Stop();
  if (!dir_.empty()) {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
}

}  // namespace pantry::testing
