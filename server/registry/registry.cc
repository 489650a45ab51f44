#include "server/registry/registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "absl/strings/string_view.h"

namespace pantry {
namespace {

template <typename Map>
const typename Map::mapped_type* FindIn(const Map& map, absl::string_view name) {
  auto it = map.find(name);
  return it == map.end() ? nullptr : &it->second;
}

// Reads a whole file. POSIX calls rather than iostreams so the error names
// the actual cause (ENOENT, EACCES, EISDIR, ...).
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  auto fail = [&](int err) {
    return absl::NotFoundError(
        absl::StrCat("cannot read feature repository '", path, "': ", std::strerror(err)));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  std::string text;
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return fail(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

int FeatureView::FeatureIndex(absl::string_view feature) const {
  for (size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].name == feature) return static_cast<int>(i);
  }
  return -1;
}

const SourceColumn* DataSource::FindColumn(absl::string_view column) const {
  for (const SourceColumn& c : schema) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

const Entity* Registry::FindEntity(absl::string_view name) const { return FindIn(entities, name); }

const FeatureView* Registry::FindFeatureView(absl::string_view name) const {
  return FindIn(feature_views, name);
}

const FeatureService* Registry::FindFeatureService(absl::string_view name) const {
  return FindIn(feature_services, name);
}

absl::StatusOr<std::vector<FeatureRef>> Registry::ResolveFeatures(
    absl::string_view feature_service, const std::vector<std::string>& refs) const {
  std::vector<FeatureRef> out;
  if (!feature_service.empty()) {
    if (!refs.empty()) {
      return absl::InvalidArgumentError(
          "give either feature references or a feature service, not both");
    }
    const FeatureService* service = FindFeatureService(feature_service);
    if (service == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown feature service '", feature_service, "'"));
    }
    out = service->features;
  } else {
    for (const std::string& ref : refs) PANTRY_RETURN_IF_ERROR(ResolveFeatureRef(ref, &out));
  }
  if (out.empty()) return absl::InvalidArgumentError("no features requested");
  return out;
}

absl::Status Registry::ResolveFeatureRef(absl::string_view ref,
                                         std::vector<FeatureRef>* out) const {
  const size_t colon = ref.find(':');
  if (colon == absl::string_view::npos || colon == 0 || colon + 1 == ref.size() ||
      ref.find(':', colon + 1) != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed feature reference '", ref, "': expected view:feature"));
  }
  const absl::string_view view_name = ref.substr(0, colon);
  const absl::string_view feature = ref.substr(colon + 1);
  const FeatureView* view = FindFeatureView(view_name);
  if (view == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown feature view '", view_name, "' in reference '", ref, "'"));
  }
  if (feature == "*") {
    for (const Feature& f : view->schema) out->push_back({view->name, f.name});
    return absl::OkStatus();
  }
  if (view->FeatureIndex(feature) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown feature '", feature, "' in feature view '", view_name, "'"));
  }
  out->push_back({view->name, std::string(feature)});
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Registry>> LoadRegistryFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) absolute = path;
  return ParseRegistry(*text, path, absolute.lexically_normal().parent_path().string());
}

}  // namespace pantry
