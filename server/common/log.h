// Logging: spdlog, plus a formatter so absl::string_view (which Debian's
// Abseil keeps distinct from std::string_view) and absl::Status can be
// logged directly. Include this instead of spdlog/spdlog.h.
#ifndef PANTRY_SERVER_COMMON_LOG_H_
#define PANTRY_SERVER_COMMON_LOG_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};

template <>
struct fmt::formatter<absl::Status> : fmt::formatter<std::string> {
  template <typename FormatContext>
  auto format(const absl::Status& s, FormatContext& ctx) const {
    return fmt::formatter<std::string>::format(s.ToString(), ctx);
  }
};

#endif  // PANTRY_SERVER_COMMON_LOG_H_
