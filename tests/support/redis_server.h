// A private redis-server for tests: started on a free 127.0.0.1 port with no
// persistence (unless asked), stopped (SIGTERM, then SIGKILL) when the object is destroyed.
// Never touches a server that happens to be running.
#ifndef PANTRY_TESTS_SUPPORT_REDIS_SERVER_H_
#define PANTRY_TESTS_SUPPORT_REDIS_SERVER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace pantry::testing {

class RedisServer {
 public:
  RedisServer() = default;
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server on a free port and waits until it answers PING.
  // `port` 0 picks a free one; a non-zero port restarts on that port.
  // `persist`: an append-only file fsynced on every write (in the server's
  // own folder, kept across restarts of this object), so that a stop and
  // start keeps the data.
  absl::Status Start(int port = 0, bool persist = false);
  // The PEM files of a TLS port.
  struct Tls {
    std::string cert_file, key_file;
    std::string ca_file;        // the CA of client certificates (and of replication)
    bool auth_clients = false;  // tls-auth-clients: a client certificate is required
  };
  // Starts redis-server serving plain TCP on port() (for tests to look
  // behind the store's back) and TLS on tls_port(), both free ports.
  absl::Status StartTls(const Tls& tls);
  // Stops the server (a running pantryd then sees it as down).
  void Stop();
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int tls_port_ = 0;
  std::string dir_;

  absl::Status Launch(const std::vector<std::string>& extra_args, bool persist);
};

// Returns a TCP port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

}  // namespace pantry::testing

#endif  // PANTRY_TESTS_SUPPORT_REDIS_SERVER_H_
