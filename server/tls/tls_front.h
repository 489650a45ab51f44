// TlsFront: TLS in front of a plain HTTP server of the same process (the
// metrics exposer, which listens on 127.0.0.1 only). It accepts TLS
// connections on its own address, and carries each one's decrypted bytes
// to the backend and back. The certificate files are re-read when they
// change (checked at most every 5 s), so a renewed certificate is served
// without a restart.
#ifndef PANTRY_SERVER_TLS_TLS_FRONT_H_
#define PANTRY_SERVER_TLS_TLS_FRONT_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/tls/tls.h"

namespace pantry {

struct TlsFrontOptions {
  std::string listen;  // HOST:PORT; port 0 picks a free one
  TlsFiles files;      // cert_file and key_file (ca_file: client certificates required)
  int backend_port = 0;  // the plain server on 127.0.0.1
  int max_connections = 16;  // beyond this, new connections are closed at once
  Micros handshake_timeout = 5 * kMicrosPerSecond;
  Micros idle_timeout = 60 * kMicrosPerSecond;  // a connection silent this long is closed
};

class TlsFront {
 public:
  // Loads the files and listens. INVALID_ARGUMENT for unusable files or a
  // malformed address; UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<TlsFront>> Start(TlsFrontOptions options);
  // Stops accepting, closes every connection and joins the threads.
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  int port() const { return port_; }

 private:
  TlsFront(TlsFrontOptions options, std::shared_ptr<const TlsContext> context, int fd, int port);
  void AcceptLoop();
  void Serve(int fd);
  // The context to accept with: re-made when a file changed since the last
  // look (a failed reload keeps the old one and logs why).
  std::shared_ptr<const TlsContext> Context();

  const TlsFrontOptions options_;
  const int listen_fd_;
  const int port_;
  int wake_[2] = {-1, -1};  // a byte on wake_[1] stops the accept loop
  std::atomic<bool> stop_{false};

  std::mutex mu_;
  std::condition_variable idle_;               // active_ fell
  int active_ = 0;                             // guarded by mu_: connections being served
  std::shared_ptr<const TlsContext> context_;  // guarded by mu_
  std::string files_stamp_;                    // guarded by mu_: mtimes and sizes
  Micros next_check_ = 0;                      // guarded by mu_

  std::thread acceptor_;  // last: starts once the rest is set up
};

}  // namespace pantry

#endif  // PANTRY_SERVER_TLS_TLS_FRONT_H_
