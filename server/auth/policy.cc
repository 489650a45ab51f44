#include "server/auth/policy.h"

namespace pantry::auth {
namespace {

const std::vector<absl::string_view>& Names() {
  static const std::vector<absl::string_view> names = {
      "describe",     "apply",        "read_online", "write_online", "read_offline",
      "write_offline", "materialize", "manage_jobs", "read_lineage", "admin"};
  return names;
}

bool AnyMatch(const std::vector<std::string>& patterns, absl::string_view name) {
  for (const std::string& p : patterns) {
    if (GlobMatch(p, name)) return true;
  }
  return false;
}

}  // namespace

absl::string_view ActionName(Action action) { return Names()[static_cast<size_t>(action)]; }

std::optional<Action> ParseAction(absl::string_view name) {
  const auto& names = Names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

const std::vector<absl::string_view>& ActionNames() { return Names(); }

absl::string_view ResourceKindName(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kProject: return "project";
    case ResourceKind::kView: return "feature view";
    case ResourceKind::kService: return "feature service";
    case ResourceKind::kSource: return "source";
  }
  return "resource";
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative matching with one backtrack point (the last '*').
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool Grant::Matches(Action action, absl::string_view project, const Resource& resource) const {
  if (!Allows(action)) return false;
  if (!projects.empty() && !AnyMatch(projects, project)) return false;
  switch (resource.kind) {
    case ResourceKind::kProject: return true;
    case ResourceKind::kView:
      if (!AnyMatch(views, resource.name)) return false;
      break;
    case ResourceKind::kService:
      if (!AnyMatch(services, resource.name)) return false;
      break;
    case ResourceKind::kSource: return AnyMatch(sources, resource.name);
  }
  for (const auto& [key, value] : tags) {
    if (resource.tags == nullptr) return false;
    auto it = resource.tags->find(key);
    if (it == resource.tags->end() || it->second != value) return false;
  }
  return true;
}

std::vector<const Role*> Policy::Resolve(const std::vector<std::string>& names) const {
  std::vector<const Role*> out;
  for (const std::string& n : names) {
    auto it = roles.find(n);
    if (it != roles.end()) out.push_back(&it->second);
  }
  return out;
}

bool Policy::Allows(const Principal& principal, Action action, absl::string_view project,
                    const Resource& resource) {
  for (const Role* role : principal.roles) {
    for (const Grant& g : role->grants) {
      if (g.Matches(action, project, resource)) return true;
    }
  }
  return false;
}

}  // namespace pantry::auth
