#include "server/common/time.h"

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace pantry {

Micros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<Micros> ParseRfc3339(absl::string_view text) {
  std::string s(absl::StripAsciiWhitespace(text));
  // Accept a space between date and time, as many tools print it.
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  bool has_offset = false;
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) {
    has_offset = true;
  } else if (s.size() > 19) {
    const absl::string_view tail = absl::string_view(s).substr(19);
    has_offset = tail.find('+') != absl::string_view::npos ||
                 tail.find('-') != absl::string_view::npos;
  }
  if (!has_offset) s += "Z";
  absl::Time t;
  std::string err;
  if (s.size() < 20 || !absl::ParseTime(absl::RFC3339_full, s, &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid RFC 3339 timestamp '", text, "'"));
  }
  return absl::ToUnixMicros(t);
}

std::string FormatRfc3339(Micros t) {
  const absl::Time at = absl::FromUnixMicros(t);
  if (t % kMicrosPerSecond == 0) {
    return absl::FormatTime("%4Y-%m-%dT%H:%M:%SZ", at, absl::UTCTimeZone());
  }
  return absl::FormatTime("%4Y-%m-%dT%H:%M:%E6SZ", at, absl::UTCTimeZone());
}

absl::StatusOr<Micros> ParseDuration(absl::string_view text) {
  const absl::string_view s = absl::StripAsciiWhitespace(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid duration '", text, "': expected a whole number with unit s, m, h or d, e.g. 7d"));
  };
  if (s == "0") return 0;
  if (s.size() < 2) return bad();
  Micros unit = 0;
  switch (s.back()) {
    case 's': unit = kMicrosPerSecond; break;
    case 'm': unit = 60 * kMicrosPerSecond; break;
    case 'h': unit = 3600 * kMicrosPerSecond; break;
    case 'd': unit = 86400 * kMicrosPerSecond; break;
    default: return bad();
  }
  const absl::string_view digits = s.substr(0, s.size() - 1);
  for (char c : digits) {
    if (c < '0' || c > '9') return bad();
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n) || n > std::numeric_limits<int64_t>::max() / unit) {
    return bad();
  }
  return n * unit;
}

std::string FormatDuration(Micros d) {
  if (d == 0) return "0s";
  constexpr Micros kDay = 86400 * kMicrosPerSecond, kHour = 3600 * kMicrosPerSecond,
                   kMinute = 60 * kMicrosPerSecond;
  if (d % kDay == 0) return absl::StrCat(d / kDay, "d");
  if (d % kHour == 0) return absl::StrCat(d / kHour, "h");
  if (d % kMinute == 0) return absl::StrCat(d / kMinute, "m");
  if (d % kMicrosPerSecond == 0) return absl::StrCat(d / kMicrosPerSecond, "s");
  return absl::StrCat(d / kMicrosPerSecond, "s");
}

}  // namespace pantry
