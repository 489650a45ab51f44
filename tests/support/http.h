// A minimal HTTP/1.0 GET for tests (a /metrics scrape, the Prometheus HTTP
// API): one request per connection, the whole response read until the server
// closes it. Loopback only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace pantry::testing {

struct HttpResponse {
  int status = -1;  // -1: no answer (see `error`)
  std::string body;
  std::string error;
};

// A TCP connection to 127.0.0.1:`port` whose reads and writes wait at most
// 10 s; -1 when it cannot be made.
inline int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The status and body of a whole HTTP response.
inline HttpResponse ParseHttpResponse(const std::string& response) {
  HttpResponse r;
  const size_t head_end = response.find("\r\n\r\n");
  int status = 0;
  if (head_end == std::string::npos || std::sscanf(response.c_str(), "HTTP/%*s %d", &status) != 1) {
    r.error = "not an HTTP response: " + response.substr(0, 200);
    return r;
  }
  r.status = status;
  r.body = response.substr(head_end + 4);
  return r;
}

// GET `target` ("/metrics", "/api/v1/query?query=up") from 127.0.0.1:`port`,
// waiting at most 10 s for the answer.
inline HttpResponse HttpGet(int port, const std::string& target) {
  HttpResponse r;
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    r.error = "cannot connect to 127.0.0.1:" + std::to_string(port);
    return r;
  }
  const std::string request =
      "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      r.error = "send failed";
      return r;
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[16384];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, n);
  close(fd);
  return ParseHttpResponse(response);
}

// Percent-encodes `s` for a URL query value.
inline std::string UrlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace pantry::testing
