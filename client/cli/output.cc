#include "client/cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace pantry::cli {

int Fail(const absl::Status& status, absl::string_view what) {
  std::cerr << "pantry: " << what << ": " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ||
                 status.code() == absl::StatusCode::kNotFound
             ? kBadInput
             : kFailed;
}

int BadInput(absl::string_view message) {
  std::cerr << "pantry: " << message << "\n";
  return kBadInput;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
}

std::string Duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

std::string Count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

ProgressLine::ProgressLine()
    : tty_(::isatty(STDERR_FILENO) == 1),
      begin_(std::chrono::steady_clock::now()),
      last_line_(begin_) {}

double ProgressLine::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_).count();
}

void ProgressLine::Update(double fraction, absl::string_view detail) {
  const auto now = std::chrono::steady_clock::now();
  const double p = std::clamp(fraction, 0.0, 1.0);
  const double elapsed = elapsed_seconds();
  const int width = 24, filled = static_cast<int>(p * width);
  const std::string bar = std::string(filled, '=') + (filled < width ? ">" : "") +
                          std::string(std::max(0, width - filled - 1), ' ');
  const std::string eta = p > 0.01 && p < 1 ? Duration(elapsed * (1 - p) / p) : "--:--";
  char line[512];
  std::snprintf(line, sizeof(line), "[%s] %3d%%  %.*s  ETA %s", bar.c_str(),
                static_cast<int>(p * 100), static_cast<int>(detail.size()), detail.data(),
                eta.c_str());
  if (tty_) {
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
    drawn_ = true;
  } else if (now - last_line_ >= std::chrono::seconds(5) || p >= 1) {
    std::cerr << line << "\n";
    last_line_ = now;
  }
}

void ProgressLine::Finish() {
  if (tty_ && drawn_) std::cerr << "\n";
  drawn_ = false;
}

}  // namespace pantry::cli
