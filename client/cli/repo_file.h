// Reading a feature repository file for the commands that work without
// pantryd (benchmarks, online store migration).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "server/registry/registry.h"

namespace pantry::cli {

// Parses the repository at `path` (relative paths in it resolve against its
// folder). NOT_FOUND when it cannot be read; INVALID_ARGUMENT with the
// parser's message otherwise.
absl::StatusOr<Registry> LoadRepositoryFile(const std::string& path);

// Points `registry`'s online store at the Redis `host_port` ("HOST:PORT");
// INVALID_ARGUMENT naming `option` when it is not of that form.
absl::Status OverrideRedis(const std::string& host_port, const std::string& option,
                           Registry* registry);

}  // namespace pantry::cli
