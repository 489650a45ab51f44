#include "server/tls/tls_front.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/sigpipe.h"
#include "spdlog/spdlog.h"

namespace pantry {
namespace {

constexpr Micros kReloadCheckInterval = 5 * kMicrosPerSecond;
constexpr int kPollMs = 200;  // how soon a connection sees the front stop

void SetTimeouts(int fd, Micros timeout) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(timeout / kMicrosPerSecond);
  tv.tv_usec = static_cast<suseconds_t>(timeout % kMicrosPerSecond);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// Modification times and sizes of the files, to see a renewal.
std::string Stamp(const TlsFiles& files) {
  std::string out;
  for (const std::string* f : {&files.cert_file, &files.key_file, &files.ca_file}) {
    struct stat st;
    if (!f->empty() && stat(f->c_str(), &st) == 0) {
      absl::StrAppend(&out, st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_size, ";");
    } else {
      absl::StrAppend(&out, "-;");
    }
  }
  return out;
}

absl::StatusOr<int> Listen(const std::string& listen, int* port_out) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", listen, "' is not HOST:PORT (a port number 0 to 65535)"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(port);
  if (const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(), &hints,
                                 &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", listen, "': ", gai_strerror(rc)));
  }
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      sockaddr_storage bound{};
      socklen_t len = sizeof(bound);
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      *port_out = ntohs(bound.ss_family == AF_INET6
                            ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      freeaddrinfo(found);
      return fd;
    }
    why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsFront>> TlsFront::Start(TlsFrontOptions options) {
  absl::StatusOr<std::shared_ptr<const TlsContext>> context = TlsContext::Server(options.files);
  if (!context.ok()) return context.status();
  int port = 0;
  absl::StatusOr<int> fd = Listen(options.listen, &port);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<TlsFront>(new TlsFront(std::move(options), *std::move(context), *fd, port));
}

TlsFront::TlsFront(TlsFrontOptions options, std::shared_ptr<const TlsContext> context, int fd,
                   int port)
    : options_(std::move(options)), listen_fd_(fd), port_(port), context_(std::move(context)) {
  files_stamp_ = Stamp(options_.files);
  next_check_ = NowMicros() + kReloadCheckInterval;
  if (pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TlsFront::~TlsFront() {
  stop_.store(true);
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  acceptor_.join();
  {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return active_ == 0; });
  }
  close(listen_fd_);
  if (wake_[0] >= 0) close(wake_[0]);
  if (wake_[1] >= 0) close(wake_[1]);
}

std::shared_ptr<const TlsContext> TlsFront::Context() {
  std::lock_guard<std::mutex> lock(mu_);
  const Micros now = NowMicros();
  if (now < next_check_) return context_;
  next_check_ = now + kReloadCheckInterval;
  std::string stamp = Stamp(options_.files);
  if (stamp == files_stamp_) return context_;
  absl::StatusOr<std::shared_ptr<const TlsContext>> reloaded = TlsContext::Server(options_.files);
  if (!reloaded.ok()) {
    // Half-written files (a renewal in progress) are tried again next time.
    spdlog::warn("TLS on port {}: keeping the old certificate: {}", port_,
                 std::string(reloaded.status().message()));
    return context_;
  }
  spdlog::info("TLS on port {}: serving the renewed certificate", port_);
  files_stamp_ = std::move(stamp);
  context_ = *std::move(reloaded);
  return context_;
}

void TlsFront::AcceptLoop() {
  while (!stop_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, wake_[0] >= 0 ? 2 : 1, kPollMs) <= 0 || (fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (active_ >= options_.max_connections) {
        close(fd);
        continue;
      }
      ++active_;
    }
    std::thread([this, fd] {
      Serve(fd);
      close(fd);
      std::lock_guard<std::mutex> lock(mu_);
      --active_;
      idle_.notify_all();
    }).detach();
  }
}

void TlsFront::Serve(int fd) {
  const SigpipeGuard no_sigpipe;
  SetTimeouts(fd, options_.handshake_timeout);
  const std::shared_ptr<const TlsContext> context = Context();
  absl::StatusOr<std::unique_ptr<TlsSession>> session = TlsSession::Accept(*context, fd);
  if (!session.ok()) {
    spdlog::debug("TLS on port {}: {}", port_, std::string(session.status().message()));
    return;
  }
  TlsSession& tls = **session;
  // Reads and writes after poll said they can go on: a short bound.
  SetTimeouts(fd, kMicrosPerSecond);
  const int backend = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (backend < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(options_.backend_port));
  if (connect(backend, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    spdlog::warn("TLS on port {}: cannot reach 127.0.0.1:{}: {}", port_, options_.backend_port,
                 std::strerror(errno));
    close(backend);
    return;
  }
  SetTimeouts(backend, kMicrosPerSecond);
  char buf[16 * 1024];
  Micros last_activity = NowMicros();
  bool open = true;
  while (open && !stop_.load()) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {backend, POLLIN, 0}};
    const int ready = tls.Pending() ? 1 : poll(fds, 2, kPollMs);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) {
      if (NowMicros() - last_activity > options_.idle_timeout) break;
      continue;
    }
    last_activity = NowMicros();
    if (tls.Pending() || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = tls.Read(buf, sizeof(buf));
      if (n <= 0) break;
      for (ssize_t done = 0; done < n && open;) {
        const ssize_t w = send(backend, buf + done, static_cast<size_t>(n - done), MSG_NOSIGNAL);
        if (w <= 0) open = false;
        done += w;
      }
    }
    if (open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = recv(backend, buf, sizeof(buf), 0);
      if (n <= 0 || tls.Write(buf, static_cast<size_t>(n)) < 0) open = false;
    }
  }
  tls.Close();
  close(backend);
}

}  // namespace pantry
