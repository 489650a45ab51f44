#include "server/tls/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/common/sigpipe.h"

namespace pantry {
namespace {

// OpenSSL's queued errors as one message (and the queue emptied).
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    const char* reason = ERR_reason_error_string(e);
    absl::StrAppend(&out, out.empty() ? "" : "; ", reason != nullptr ? reason : buf);
  }
  return out;
}

absl::Status FileError(const std::string& key, const std::string& path, const std::string& what) {
  const std::string why = OpenSslErrors();
  return absl::InvalidArgumentError(
      absl::StrCat(key, " '", path, "': ", what, why.empty() ? "" : ": ", why));
}

absl::StatusOr<SSL_CTX*> NewContext(const SSL_METHOD* method, const TlsFiles& files,
                                    bool server) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return absl::InternalError("cannot make a TLS context: " + OpenSslErrors());
  auto fail = [ctx](absl::Status s) {
    SSL_CTX_free(ctx);
    return s;
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
  if (files.cert_file.empty() != files.key_file.empty()) {
    return fail(absl::InvalidArgumentError("cert_file and key_file go together: give both or none"));
  }
  if (server && files.cert_file.empty()) {
    return fail(absl::InvalidArgumentError("a TLS server needs cert_file and key_file"));
  }
  if (!files.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
      return fail(FileError("cert_file", files.cert_file, "cannot load a PEM certificate"));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
      return fail(FileError("key_file", files.key_file,
                            mismatch ? "is not the private key of cert_file's certificate"
                                     : "cannot load a PEM private key (it may be encrypted)"));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return fail(FileError("key_file", files.key_file,
                            "is not the private key of cert_file's certificate"));
    }
  }
  if (!files.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.ca_file.c_str(), nullptr) != 1) {
      return fail(FileError("ca_file", files.ca_file, "cannot load PEM CA certificates"));
    }
  } else if (!server && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return fail(absl::InternalError("cannot load the system's CA certificates: " + OpenSslErrors()));
  }
  if (!server) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else if (!files.ca_file.empty()) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

bool IsIpAddress(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// Why the handshake `ret` failed on `ssl`.
std::string HandshakeError(SSL* ssl, int ret) {
  const int err = SSL_get_error(ssl, ret);
  const long verify = SSL_get_verify_result(ssl);
  std::string queued = OpenSslErrors();
  if (verify != X509_V_OK) {
    return absl::StrCat("certificate verification failed: ", X509_verify_cert_error_string(verify));
  }
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return "handshake timed out";
  if (err == SSL_ERROR_SYSCALL) {
    return errno != 0 ? absl::StrCat("handshake: ", std::strerror(errno))
                      : "the peer closed the connection during the handshake";
  }
  return queued.empty() ? "handshake failed" : absl::StrCat("handshake failed: ", queued);
}

}  // namespace

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::Client(const TlsFiles& files) {
  absl::StatusOr<SSL_CTX*> ctx = NewContext(TLS_client_method(), files, /*server=*/false);
  if (!ctx.ok()) return ctx.status();
  return std::shared_ptr<const TlsContext>(new TlsContext(*ctx));
}

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::Server(const TlsFiles& files) {
  absl::StatusOr<SSL_CTX*> ctx = NewContext(TLS_server_method(), files, /*server=*/true);
  if (!ctx.ok()) return ctx.status();
  return std::shared_ptr<const TlsContext>(new TlsContext(*ctx));
}

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Connect(const TlsContext& context, int fd,
                                                                 const std::string& server_name) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) return absl::InternalError("cannot make a TLS session: " + OpenSslErrors());
  std::unique_ptr<TlsSession> session(new TlsSession(ssl));
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const bool ok = IsIpAddress(server_name)
                      ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str()) == 1
                      : SSL_set_tlsext_host_name(ssl, server_name.c_str()) == 1 &&
                            SSL_set1_host(ssl, server_name.c_str()) == 1;
  if (!ok || SSL_set_fd(ssl, fd) != 1) {
    return absl::InternalError("cannot set up a TLS session: " + OpenSslErrors());
  }
  errno = 0;
  const int ret = SSL_connect(ssl);
  if (ret != 1) return absl::UnavailableError(HandshakeError(ssl, ret));
  return session;
}

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Accept(const TlsContext& context, int fd) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) return absl::InternalError("cannot make a TLS session: " + OpenSslErrors());
  std::unique_ptr<TlsSession> session(new TlsSession(ssl));
  if (SSL_set_fd(ssl, fd) != 1) {
    return absl::InternalError("cannot set up a TLS session: " + OpenSslErrors());
  }
  errno = 0;
  const int ret = SSL_accept(ssl);
  if (ret != 1) return absl::UnavailableError(HandshakeError(ssl, ret));
  return session;
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

ssize_t TlsSession::Fail(int ret, const char* what) {
  const int saved = errno;
  const int err = SSL_get_error(ssl_, ret);
  std::string queued = OpenSslErrors();
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      error_ = absl::StrCat(what, " timed out");
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_SYSCALL:
      error_ = saved != 0 ? absl::StrCat(what, ": ", std::strerror(saved))
                          : absl::StrCat(what, ": connection closed");
      errno = saved != 0 ? saved : ECONNRESET;
      closed_ = true;  // no close_notify after a fatal error
      return -1;
    default:
      error_ = absl::StrCat(what, " failed: TLS error", queued.empty() ? "" : ": ", queued);
      errno = EPROTO;
      closed_ = true;
      return -1;
  }
}

ssize_t TlsSession::Read(void* buf, size_t n) {
  ERR_clear_error();
  errno = 0;
  size_t got = 0;
  const int ret = SSL_read_ex(ssl_, buf, n, &got);
  if (ret == 1) return static_cast<ssize_t>(got);
  if (SSL_get_error(ssl_, ret) == SSL_ERROR_ZERO_RETURN) {
    closed_ = true;
    return 0;
  }
  return Fail(ret, "TLS read");
}

ssize_t TlsSession::Write(const void* buf, size_t n) {
  ERR_clear_error();
  errno = 0;
  size_t sent = 0;
  // SSL_MODE_AUTO_RETRY and a blocking socket: SSL_write_ex writes all or fails.
  const int ret = SSL_write_ex(ssl_, buf, n, &sent);
  if (ret == 1) return static_cast<ssize_t>(sent);
  return Fail(ret, "TLS write");
}

bool TlsSession::Pending() const { return SSL_pending(ssl_) > 0; }

void TlsSession::Close() {
  if (closed_) return;
  closed_ = true;
  const SigpipeGuard no_sigpipe;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace pantry
