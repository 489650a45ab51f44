#include "server/auth/paths.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace pantry::auth {
namespace {

// Lexical checks: absolute, no "..".
absl::Status CheckShape(absl::string_view path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("path '", path, "' is not absolute"));
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("path '", path, "' has a '..' part"));
    }
  }
  return absl::OkStatus();
}

// realpath(3); errno on failure.
bool Resolve(const std::string& path, std::string* out) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return false;
  *out = buf;
  return true;
}

bool Under(const std::string& resolved, const std::vector<std::string>& roots) {
  for (const std::string& root : roots) {
    std::string r;
    if (!Resolve(root, &r)) continue;
    if (resolved == r || absl::StartsWith(resolved, r == "/" ? r : r + "/")) return true;
  }
  return false;
}

absl::Status Outside(absl::string_view path, const std::vector<std::string>& roots,
                     absl::string_view what) {
  return absl::PermissionDeniedError(
      roots.empty()
          ? absl::StrCat("path '", path, "': pantryd may not ", what,
                         " files for callers (the auth configuration allows no folder)")
          : absl::StrCat("path '", path, "' is outside the folders pantryd may ", what,
                         " for callers (", absl::StrJoin(roots, ", "), ")"));
}

}  // namespace

absl::StatusOr<std::string> ConfineRead(absl::string_view path,
                                        const std::vector<std::string>& roots) {
  if (absl::Status s = CheckShape(path); !s.ok()) return s;
  std::string resolved;
  if (!Resolve(std::string(path), &resolved)) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat("no such file: ", path));
    return absl::PermissionDeniedError(absl::StrCat("path '", path, "': ", std::strerror(err)));
  }
  if (!Under(resolved, roots)) return Outside(path, roots, "read");
  struct stat st {};
  if (::stat(resolved.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::PermissionDeniedError(absl::StrCat("path '", path, "' is not a regular file"));
  }
  return resolved;
}

absl::StatusOr<std::string> ConfineWrite(absl::string_view path,
                                         const std::vector<std::string>& roots) {
  if (absl::Status s = CheckShape(path); !s.ok()) return s;
  const std::filesystem::path p{std::string(path)};
  const std::string name = p.filename().string();
  if (name.empty() || name == ".") {
    return absl::InvalidArgumentError(absl::StrCat("path '", path, "' names no file"));
  }
  std::string folder;
  if (!Resolve(p.parent_path().string(), &folder)) {
    return absl::NotFoundError(absl::StrCat("no such folder: ", p.parent_path().string()));
  }
  const std::string resolved = folder == "/" ? "/" + name : folder + "/" + name;
  if (!Under(resolved, roots)) return Outside(path, roots, "write");
  struct stat st {};
  if (::lstat(resolved.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return absl::PermissionDeniedError(
        absl::StrCat("path '", path, "' exists and is not a regular file (a symlink, a device, "
                                     "a folder): it is not overwritten"));
  }
  return resolved;
}

absl::Status CheckAppliedPaths(const Registry& running, const Registry& applied,
                               const std::vector<std::string>& roots) {
  if (applied.offline_store.path != running.offline_store.path) {
    return absl::PermissionDeniedError(absl::StrCat(
        "an applied repository may not move the offline store (from ", running.offline_store.path,
        " to ", applied.offline_store.path, ") while auth is on; change it in the file pantryd "
        "starts with"));
  }
  if (applied.lineage_path != running.lineage_path) {
    return absl::PermissionDeniedError(absl::StrCat(
        "an applied repository may not move the lineage file (from ", running.lineage_path, " to ",
        applied.lineage_path, ") while auth is on; change it in the file pantryd starts with"));
  }
  std::vector<std::string> readable = roots;
  if (!running.offline_store.path.empty()) readable.push_back(running.offline_store.path);
  for (const auto& [name, source] : applied.sources) {
    if (!source.has_files() || source.path.empty()) continue;
    std::string resolved;
    if (!Resolve(source.path, &resolved)) continue;  // validation names a missing path
    if (!Under(resolved, readable)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "source '", name, "': path '", source.path, "' is outside the folders pantryd may read "
          "for callers (", absl::StrJoin(readable, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace pantry::auth
