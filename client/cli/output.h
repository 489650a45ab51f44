// What every `pantry` command shares: exit codes, error lines, tables.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pantry::cli {

// Exit codes: 0 success, 1 the operation failed, 2 bad usage or input.
constexpr int kFailed = 1;
constexpr int kBadInput = 2;

// Prints "pantry: WHAT: CODE: message" to stderr; returns kBadInput for
// INVALID_ARGUMENT and NOT_FOUND, else kFailed.
int Fail(const absl::Status& status, absl::string_view what);

// Prints "pantry: message" to stderr; returns kBadInput.
int BadInput(absl::string_view message);

// Prints rows as an aligned text table.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// A progress bar on stderr, redrawn in place on a terminal, else a line
// every few seconds.
class ProgressLine {
 public:
  ProgressLine();
  // `fraction` in [0, 1]; `detail` follows the bar and percentage.
  void Update(double fraction, absl::string_view detail);
  // Ends the line (on a terminal).
  void Finish();
  double elapsed_seconds() const;

 private:
  const bool tty_;
  const std::chrono::steady_clock::time_point begin_;
  std::chrono::steady_clock::time_point last_line_;
  bool drawn_ = false;
};

// 1234567 as "1,234,567".
std::string Count(int64_t n);

// "1:05"-style duration of `seconds`.
std::string Duration(double seconds);

}  // namespace pantry::cli
