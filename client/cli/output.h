// What every `pantry` command shares: exit codes, error lines, tables.
#pragma once

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

}  // namespace pantry::cli
