// RESP (the Redis protocol) formatting: commands are encoded straight into
// one buffer per pipeline, with no allocation per command or argument.
// Internal to server/online.
#ifndef PANTRY_SERVER_ONLINE_RESP_H_
#define PANTRY_SERVER_ONLINE_RESP_H_

#include <charconv>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace pantry::internal {

inline void AppendDecimal(std::string* out, int64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

// "*<n>\r\n": a command of `n` arguments follows.
inline void AppendArrayHeader(std::string* out, size_t n) {
  out->push_back('*');
  AppendDecimal(out, static_cast<int64_t>(n));
  out->append("\r\n");
}

// Appends `s` as one bulk string.
inline void AppendBulk(std::string* out, absl::string_view s) {
  out->push_back('$');
  AppendDecimal(out, static_cast<int64_t>(s.size()));
  out->append("\r\n");
  out->append(s.data(), s.size());
  out->append("\r\n");
}

// One bulk string holding `v` in decimal.
inline void AppendNumber(std::string* out, int64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  AppendBulk(out, absl::string_view(buf, res.ptr - buf));
}

}  // namespace pantry::internal

#endif  // PANTRY_SERVER_ONLINE_RESP_H_
