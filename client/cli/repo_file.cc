#include "client/cli/repo_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"

namespace pantry::cli {

absl::StatusOr<Registry> LoadRepositoryFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  const std::string base = std::filesystem::absolute(path).parent_path().string();
  PANTRY_ASSIGN_OR_RETURN(auto parsed, ParseRegistry(text.str(), path, base));
  return *parsed;
}

absl::Status OverrideRedis(const std::string& host_port, const std::string& option,
                           Registry* registry) {
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(host_port.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " '", host_port, "': expected HOST:PORT"));
  }
  registry->online_store.type = OnlineStoreConfig::Type::kRedis;
  registry->online_store.host = host_port.substr(0, colon);
  registry->online_store.port = port;
  return absl::OkStatus();
}

}  // namespace pantry::cli
