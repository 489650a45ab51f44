#include "server/registry/manager.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "server/common/status.h"

namespace pantry {
namespace {

constexpr absl::string_view kStateFile = "applied_repository.yaml";
constexpr absl::string_view kBaseDirHeader = "# pantry-base-dir: ";
constexpr absl::string_view kSourceHeader = "# pantry-source: ";

// Writes `contents` to `path` so that it appears complete or not at all.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create '", tmp, "': ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("cannot write '", tmp, "': ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot sync '", tmp, "': ", std::strerror(err)));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot rename to '", path, "': ", std::strerror(err)));
  }
  return absl::OkStatus();
}

// The first online_store setting that differs, or "" when none does.
std::string OnlineStoreDifference(const OnlineStoreConfig& a, const OnlineStoreConfig& b) {
  if (a.type != b.type) return "type";
  if (a.host != b.host) return "host";
  if (a.port != b.port) return "port";
  if (a.username != b.username) return "username";
  if (a.password != b.password) return "password";
  if (a.password_env != b.password_env) return "password_env";
  if (a.password_file != b.password_file) return "password_file";
  if (a.db != b.db) return "db";
  if (a.pool_size != b.pool_size) return "pool_size";
  if (a.connect_timeout != b.connect_timeout) return "connect_timeout";
  if (a.request_timeout != b.request_timeout) return "request_timeout";
  if (a.max_pending_requests != b.max_pending_requests) return "max_pending_requests";
  if (a.tls != b.tls) return "tls";
  return "";
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Registry>> RegistryManager::LoadInitial(
    const std::string& config_path, const std::string& state_dir,
    const RepositoryValidator& validator) {
  const std::string state = absl::StrCat(state_dir, "/", kStateFile);
  std::ifstream in(state);
  if (!in) {
    PANTRY_ASSIGN_OR_RETURN(std::shared_ptr<const Registry> registry,
                            LoadRegistryFile(config_path));
    if (validator) PANTRY_RETURN_IF_ERROR(validator(*registry));
    return registry;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string yaml = buf.str();
  // The header lines are stripped before parsing, so error positions match
  // the file as it was applied.
  std::string base_dir = ".", source = state;
  absl::string_view body = yaml;
  for (;;) {
    const size_t eol = body.find('\n');
    const absl::string_view line = body.substr(0, eol);
    if (absl::StartsWith(line, kBaseDirHeader)) {
      base_dir = std::string(line.substr(kBaseDirHeader.size()));
    } else if (absl::StartsWith(line, kSourceHeader)) {
      source = std::string(line.substr(kSourceHeader.size()));
    } else {
      break;
    }
    body = eol == absl::string_view::npos ? absl::string_view() : body.substr(eol + 1);
  }
  auto registry = ParseRegistry(body, source, base_dir);
  if (!registry.ok()) {
    return Annotate(registry.status(),
                    absl::StrCat("last applied repository in '", state, "' is invalid"));
  }
  if (validator) {
    if (absl::Status s = validator(**registry); !s.ok()) {
      return Annotate(s, absl::StrCat("last applied repository in '", state, "' is invalid"));
    }
  }
  return registry;
}

absl::StatusOr<std::shared_ptr<const Registry>> RegistryManager::Apply(
    absl::string_view yaml, absl::string_view source_name, absl::string_view base_dir) {
  std::lock_guard<std::mutex> lock(mu_);
  return Observed(Install(yaml, source_name, base_dir));
}

absl::StatusOr<std::shared_ptr<const Registry>> RegistryManager::Observed(
    absl::StatusOr<std::shared_ptr<const Registry>> outcome) {
  if (observer_) observer_(outcome);
  return outcome;
}

absl::StatusOr<std::shared_ptr<const Registry>> RegistryManager::Install(
    absl::string_view yaml, absl::string_view source_name, absl::string_view base_dir) {
  if (absl::StrContains(source_name, '\n') || absl::StrContains(source_name, '\r') ||
      absl::StrContains(base_dir, '\n') || absl::StrContains(base_dir, '\r')) {
    return absl::InvalidArgumentError("source name and base directory must not contain line breaks");
  }
  std::string dir = base_dir.empty() ? std::filesystem::current_path().string()
                                     : std::string(base_dir);
  PANTRY_ASSIGN_OR_RETURN(std::shared_ptr<const Registry> next,
                          ParseRegistry(yaml, source_name, dir));
  std::shared_ptr<const Registry> current = holder_->Get();
  if (current) {
    if (current->project != next->project) {
      return absl::FailedPreconditionError(absl::StrCat(
          "project '", next->project, "' differs from the one pantryd runs with ('",
          current->project, "'); the online store's keys are named by the project, so a new "
          "project takes effect at restart"));
    }
    const std::string differs = OnlineStoreDifference(current->online_store, next->online_store);
    if (!differs.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "online_store.", differs, " differs from the one pantryd runs with; online store "
          "settings take effect at restart (see docs/operations.md)"));
    }
  }
  // After the cheap checks: this one reads the footers of the sources' files.
  if (validator_) PANTRY_RETURN_IF_ERROR(validator_(*next));
  std::error_code ec;
  std::filesystem::create_directories(state_dir_, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create state directory '", state_dir_, "': ", ec.message()));
  }
  std::string contents = absl::StrCat(kBaseDirHeader, dir, "\n", kSourceHeader, source_name,
                                      "\n", yaml);
  PANTRY_RETURN_IF_ERROR(WriteFileAtomically(absl::StrCat(state_dir_, "/", kStateFile), contents));
  holder_->Set(next);
  return next;
}

absl::StatusOr<std::shared_ptr<const Registry>> RegistryManager::ApplyFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    absl::Status unreadable = absl::NotFoundError(
        absl::StrCat("cannot read feature repository '", path, "': ", std::strerror(errno)));
    std::lock_guard<std::mutex> lock(mu_);
    return Observed(unreadable);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string dir =
      std::filesystem::absolute(path).parent_path().lexically_normal().string();
  return Apply(buf.str(), path, dir);
}

}  // namespace pantry
