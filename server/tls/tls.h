// TLS for Pantry's own sockets, with OpenSSL: the connections to Redis
// (whose protocol hiredis still speaks; see server/online/redis_conn.h) and
// the metrics port (server/tls/tls_front.h). gRPC has its own TLS.
#ifndef PANTRY_SERVER_TLS_TLS_H_
#define PANTRY_SERVER_TLS_TLS_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace pantry {

// The PEM files of one side of a TLS connection. Paths as given; the
// caller resolves relative ones.
struct TlsFiles {
  // The CAs that sign the other side's certificate. Empty: for a client,
  // the system's trust store; for a server, client certificates are not
  // asked for.
  std::string ca_file;
  // This side's certificate (chain) and its private key. A server needs
  // both; a client sends them when the server asks for one (Redis'
  // tls-auth-clients).
  std::string cert_file;
  std::string key_file;
};

// An OpenSSL context (TLS 1.2 or later) made once from its files and shared
// by every connection that uses it. Immutable once made.
class TlsContext {
 public:
  // A client context: verifies the server's certificate chain against
  // `files.ca_file`. INVALID_ARGUMENT naming the file that cannot be read
  // or holds no certificate or key, or a key that does not match.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> Client(const TlsFiles& files);
  // A server context serving `files.cert_file` and `files.key_file`;
  // client certificates are required and verified when `files.ca_file` is set.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> Server(const TlsFiles& files);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* const ctx_;
};

// One TLS session over a connected, blocking socket it does not own. The
// socket's SO_RCVTIMEO / SO_SNDTIMEO bound every read and write: a timeout
// is an error with errno EAGAIN.
class TlsSession {
 public:
  // The client handshake on `fd`, checking that the server's certificate
  // is for `server_name` (a DNS name or an IP address; also sent as SNI
  // when a name). UNAVAILABLE with OpenSSL's reason (an unknown CA, a name
  // mismatch, an expired certificate, a server that does not speak TLS).
  static absl::StatusOr<std::unique_ptr<TlsSession>> Connect(const TlsContext& context, int fd,
                                                             const std::string& server_name);
  // The server handshake on `fd`.
  static absl::StatusOr<std::unique_ptr<TlsSession>> Accept(const TlsContext& context, int fd);

  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Up to `n` bytes into `buf`: their count, 0 when the peer closed the
  // connection, -1 on an error (error() says which; errno is EAGAIN when
  // the socket's timeout passed).
  ssize_t Read(void* buf, size_t n);
  // All `n` bytes of `buf`: `n`, or -1 on an error as for Read.
  ssize_t Write(const void* buf, size_t n);
  // Whether decrypted bytes wait in OpenSSL's buffer (a poll on the socket
  // would not see them).
  bool Pending() const;
  // Sends close_notify (once, best effort).
  void Close();
  // The last error, for messages.
  const std::string& error() const { return error_; }

 private:
  explicit TlsSession(SSL* ssl) : ssl_(ssl) {}
  // Sets error_ from the result `ret` of an SSL call; returns -1.
  ssize_t Fail(int ret, const char* what);

  SSL* const ssl_;
  std::string error_;
  bool closed_ = false;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_TLS_TLS_H_
