#include "server/offline/source.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/common/status.h"

namespace pantry::offline {
namespace {

constexpr Micros kMicrosPerHour = 3600 * kMicrosPerSecond;
constexpr Micros kMicrosPerDay = 24 * kMicrosPerHour;

bool HasWildcard(absl::string_view s) { return s.find_first_of("*?[") != absl::string_view::npos; }
bool IsHidden(absl::string_view name) {
  return !name.empty() && (name[0] == '.' || name[0] == '_');
}
// FileWriter writes "<target>.tmp-<pid>-<random>" and renames it when done.
bool IsTemporary(absl::string_view name) { return absl::StrContains(name, ".tmp-"); }

std::string Join(const std::string& dir, absl::string_view name) {
  return dir == "/" ? absl::StrCat("/", name) : absl::StrCat(dir, "/", name);
}

absl::Status IoError(int err, absl::string_view what, absl::string_view path) {
  const std::string message = absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(err));
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

// stat() following links. Returns 0 or the errno.
int Stat(const std::string& path, struct stat* st) {
  return ::stat(path.c_str(), st) == 0 ? 0 : errno;
}

// Hive escapes characters such as ':' and '/' in partition values as %XX.
std::string Unescape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// "YYYY-MM-DD" as the microsecond its UTC day starts at.
std::optional<Micros> ParseDay(absl::string_view v) {
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  const size_t begin[3] = {0, 5, 8}, len[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (size_t i = begin[p]; i < begin[p] + len[p]; ++i) {
      if (v[i] < '0' || v[i] > '9') return std::nullopt;
      parts[p] = parts[p] * 10 + (v[i] - '0');
    }
  }
  const absl::CivilDay day(parts[0], parts[1], parts[2]);
  // CivilDay normalizes 2024-02-30 to 2024-03-01: such a value is no date.
  if (day.year() != parts[0] || day.month() != parts[1] || day.day() != parts[2]) {
    return std::nullopt;
  }
  return absl::ToUnixMicros(absl::FromCivil(day, absl::UTCTimeZone()));
}

// "H" or "HH", 0 to 23.
std::optional<int> ParseHour(absl::string_view v) {
  if (v.empty() || v.size() > 2) return std::nullopt;
  int h = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    h = h * 10 + (c - '0');
  }
  if (h > 23) return std::nullopt;
  return h;
}

// Walks the file system for one source path.
class Lister {
 public:
  explicit Lister(std::string root) : root_(std::move(root)) {}

  // Every *.parquet file below folder `dir`.
  absl::Status ListFolder(const std::string& dir) {
    struct stat st;
    if (int err = Stat(dir, &st); err != 0) {
      return err == ENOENT ? absl::OkStatus() : IoError(err, "read", dir);
    }
    if (!visited_.insert({st.st_dev, st.st_ino, kFolderListing}).second) return absl::OkStatus();
    std::vector<std::string> names;
    PANTRY_RETURN_IF_ERROR(ReadDir(dir, &names));
    for (const std::string& name : names) {
      if (IsHidden(name)) continue;
      const std::string child = Join(dir, name);
      struct stat cst;
      if (int err = Stat(child, &cst); err != 0) {
        // Removed while listing, or a dangling link: not a file of the source.
        if (err == ENOENT) continue;
        return IoError(err, "read", child);
      }
      if (S_ISDIR(cst.st_mode)) {
        PANTRY_RETURN_IF_ERROR(ListFolder(child));
      } else if (S_ISREG(cst.st_mode) && absl::EndsWith(name, ".parquet") && !IsTemporary(name)) {
        Add(child);
      }
    }
    return absl::OkStatus();
  }

  // Matches glob components `comps[i..]` below `current`, which exists.
  absl::Status Walk(const std::string& current, const std::vector<std::string>& comps, size_t i) {
    struct stat st;
    if (int err = Stat(current, &st); err != 0) {
      return err == ENOENT ? absl::OkStatus() : IoError(err, "read", current);
    }
    if (i == comps.size()) {
      if (S_ISDIR(st.st_mode)) return ListFolder(current);
      const std::string name = std::filesystem::path(current).filename().string();
      if (S_ISREG(st.st_mode) && !IsTemporary(name)) Add(current);
      return absl::OkStatus();
    }
    if (!S_ISDIR(st.st_mode)) return absl::OkStatus();
    const std::string& comp = comps[i];
    if (comp == "**") {
      if (!visited_.insert({st.st_dev, st.st_ino, i}).second) return absl::OkStatus();
      PANTRY_RETURN_IF_ERROR(Walk(current, comps, i + 1));  // no folder
      // A trailing ** lists `current` as a folder, which covers every depth.
      if (i + 1 == comps.size()) return absl::OkStatus();
      std::vector<std::string> names;
      PANTRY_RETURN_IF_ERROR(ReadDir(current, &names));
      for (const std::string& name : names) {
        if (IsHidden(name)) continue;
        const std::string child = Join(current, name);
        struct stat cst;
        if (int err = Stat(child, &cst); err != 0) {
          if (err == ENOENT) continue;
          return IoError(err, "read", child);
        }
        if (S_ISDIR(cst.st_mode)) {
          PANTRY_RETURN_IF_ERROR(Walk(child, comps, i));  // one folder more
        }
      }
      return absl::OkStatus();
    }
    if (!HasWildcard(comp)) return Walk(Join(current, comp), comps, i + 1);
    std::vector<std::string> names;
    PANTRY_RETURN_IF_ERROR(ReadDir(current, &names));
    for (const std::string& name : names) {
      if (IsHidden(name) && name[0] != comp[0]) continue;
      if (::fnmatch(comp.c_str(), name.c_str(), 0) != 0) continue;
      PANTRY_RETURN_IF_ERROR(Walk(Join(current, name), comps, i + 1));
    }
    return absl::OkStatus();
  }

  void Add(const std::string& path) {
    if (!seen_.insert(path).second) return;
    SourceFile f;
    f.path = path;
    // Partition folders lie between the root and the file.
    if (path.size() > root_.size() && absl::StartsWith(path, root_) &&
        (root_ == "/" || path[root_.size()] == '/')) {
      absl::string_view rel = absl::string_view(path).substr(root_.size());
      std::vector<absl::string_view> parts = absl::StrSplit(rel, '/', absl::SkipEmpty());
      if (!parts.empty()) parts.pop_back();  // the file name
      for (absl::string_view part : parts) {
        const size_t eq = part.find('=');
        if (eq == absl::string_view::npos || eq == 0) continue;
        f.partitions.emplace_back(Unescape(part.substr(0, eq)), Unescape(part.substr(eq + 1)));
      }
    }
    f.partition_time_range = PartitionTimeRange(f.partitions);
    files_.push_back(std::move(f));
  }

  std::vector<SourceFile> Take() {
    std::sort(files_.begin(), files_.end(),
              [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
    return std::move(files_);
  }

 private:
  static constexpr size_t kFolderListing = static_cast<size_t>(-1);

  static absl::Status ReadDir(const std::string& dir, std::vector<std::string>* names) {
    names->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      const int err = errno;
      return err == ENOENT ? absl::OkStatus() : IoError(err, "list folder", dir);
    }
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d);
      if (e == nullptr) {
        const int err = errno;
        ::closedir(d);
        if (err != 0) return IoError(err, "list folder", dir);
        break;
      }
      const absl::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      names->emplace_back(name);
    }
    std::sort(names->begin(), names->end());
    return absl::OkStatus();
  }

  const std::string root_;
  std::vector<SourceFile> files_;
  std::set<std::string> seen_;
  // Folders already walked (device, inode, glob component or
  // kFolderListing): symbolic link cycles end here.
  std::set<std::tuple<dev_t, ino_t, size_t>> visited_;
};

}  // namespace

std::optional<std::pair<Micros, Micros>> PartitionTimeRange(
    const std::vector<std::pair<std::string, std::string>>& partitions) {
  std::optional<std::pair<Micros, Micros>> range;
  std::optional<Micros> day;  // start of the innermost date folder so far
  auto narrow = [&](Micros start, Micros end) {
    if (!range) {
      range.emplace(start, end);
      return;
    }
    range->first = std::max(range->first, start);
    range->second = std::min(range->second, end);
    if (range->second < range->first) range->second = range->first;
  };
  for (const auto& [key, value] : partitions) {
    if (key == "date" || key == "dt" || key == "day" || key == "event_date") {
      if (auto d = ParseDay(value)) {
        day = *d;
        narrow(*d, *d + kMicrosPerDay);
      }
    } else if (key == "hour" && day) {
      if (auto h = ParseHour(value)) {
        const Micros start = *day + *h * kMicrosPerHour;
        narrow(start, start + kMicrosPerHour);
      }
    }
  }
  return range;
}

absl::StatusOr<std::vector<SourceFile>> ListSourceFiles(const std::string& path) {
  std::string normal = std::filesystem::absolute(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();

  struct stat st;
  const int err = Stat(normal, &st);
  if (err == 0) {
    if (S_ISREG(st.st_mode)) {
      Lister lister(normal);
      lister.Add(normal);
      return lister.Take();
    }
    if (!S_ISDIR(st.st_mode)) {
      return absl::NotFoundError(
          absl::StrCat("no Parquet files at ", path, ": neither a file nor a folder"));
    }
    Lister lister(normal);
    PANTRY_RETURN_IF_ERROR(lister.ListFolder(normal));
    std::vector<SourceFile> files = lister.Take();
    if (files.empty()) return absl::NotFoundError(absl::StrCat("no Parquet files at ", path));
    return files;
  }
  if (err != ENOENT && err != ENOTDIR) return IoError(err, "read", path);
  if (!HasWildcard(normal)) {
    return absl::NotFoundError(
        absl::StrCat("no Parquet files at ", path, ": no such file or folder"));
  }

  // A glob: the folder before the first wildcard component is the root.
  std::vector<std::string> comps;
  for (absl::string_view c : absl::StrSplit(normal, '/', absl::SkipEmpty())) {
    if (c == "**" && !comps.empty() && comps.back() == "**") continue;
    comps.emplace_back(c);
  }
  size_t first_wild = 0;
  std::string root = "/";
  while (first_wild < comps.size() && !HasWildcard(comps[first_wild])) {
    root = Join(root, comps[first_wild]);
    ++first_wild;
  }
  std::vector<std::string> rest(comps.begin() + first_wild, comps.end());
  Lister lister(root);
  PANTRY_RETURN_IF_ERROR(lister.Walk(root, rest, 0));
  std::vector<SourceFile> files = lister.Take();
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat("no Parquet files at ", path, ": nothing matches"));
  }
  return files;
}

bool MayOverlap(const SourceFile& file, Micros lo, Micros hi) {
  if (!file.partition_time_range) return true;
  const auto& [start, end] = *file.partition_time_range;
  return start < end && start <= hi && lo < end;
}

std::string AppendedRowsFolder(const Registry& registry, const FeatureView& view) {
  return (std::filesystem::path(registry.offline_store.path) / "views" / view.name).string();
}

absl::StatusOr<std::vector<SourceFile>> ListViewFiles(const Registry& registry,
                                                      const FeatureView& view) {
  if (view.source.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("feature view '", view.name, "' has no source, so it has no history"));
  }
  auto source = registry.sources.find(view.source);
  if (source == registry.sources.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("feature view '", view.name, "': unknown source '", view.source, "'"));
  }
  std::vector<SourceFile> files;
  if (source->second.has_files()) {  // otherwise the history is only what pantryd appended
    PANTRY_ASSIGN_OR_RETURN(files, ListSourceFiles(source->second.path));
  }
  const std::string appended = AppendedRowsFolder(registry, view);
  std::error_code ec;
  if (std::filesystem::is_directory(appended, ec)) {
    absl::StatusOr<std::vector<SourceFile>> more = ListSourceFiles(appended);
    if (more.ok()) {
      for (SourceFile& f : *more) files.push_back(std::move(f));
    } else if (!absl::IsNotFound(more.status())) {  // an empty folder is no history
      return more.status();
    }
  }
  return files;
}

}  // namespace pantry::offline
