// Who may do what: roles grant actions on resources (the project, feature
// views and on-demand views, feature services, sources), matched by name
// patterns and tags. Nothing is allowed unless a grant of one of the
// principal's roles allows it (deny by default).
#ifndef PANTRY_SERVER_AUTH_POLICY_H_
#define PANTRY_SERVER_AUTH_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace pantry::auth {

enum class Action : uint8_t {
  kDescribe,
  kApply,
  kReadOnline,
  kWriteOnline,
  kReadOffline,
  kWriteOffline,
  kMaterialize,
  kManageJobs,
  kReadLineage,
  kAdmin,  // in a grant: every action on its resources
};
inline constexpr int kActionCount = 10;

// "describe", "read_online", ... as written in the auth configuration.
absl::string_view ActionName(Action action);
std::optional<Action> ParseAction(absl::string_view name);
const std::vector<absl::string_view>& ActionNames();

enum class ResourceKind : uint8_t { kProject, kView, kService, kSource };
// "project", "feature view", "feature service", "source", for messages.
absl::string_view ResourceKindName(ResourceKind kind);

// What a request touches. On-demand views are views here: they expose
// features too, so the same patterns and tags govern them.
struct Resource {
  ResourceKind kind = ResourceKind::kProject;
  absl::string_view name;
  const std::map<std::string, std::string>* tags = nullptr;  // null: none
};

// Shell-style pattern: '*' matches any run of characters, '?' one.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

struct Grant {
  uint32_t actions = 0;               // bit (1 << Action)
  std::vector<std::string> projects;  // patterns; empty: every project
  // Patterns per kind of resource; empty: no resource of that kind.
  std::vector<std::string> views, services, sources;
  // Each must be a tag of the resource with that value (views and
  // services); empty: no condition.
  std::map<std::string, std::string> tags;

  bool Allows(Action action) const {
    return (actions & (1u << static_cast<int>(action))) != 0 ||
           (actions & (1u << static_cast<int>(Action::kAdmin))) != 0;
  }
  // Whether this grant allows `action` on `resource` of `project`.
  bool Matches(Action action, absl::string_view project, const Resource& resource) const;
};

struct Role {
  std::string name;
  std::vector<Grant> grants;
};

// Who made a request, once authenticated.
struct Principal {
  std::string name;
  std::string method;               // "token", "jwt", "mtls"
  std::vector<const Role*> roles;   // owned by the Policy it was resolved with
  std::vector<std::string> role_names;  // as given (unknown ones grant nothing)
};

class Policy {
 public:
  std::map<std::string, Role, std::less<>> roles;

  // The roles of `names` that exist, in order.
  std::vector<const Role*> Resolve(const std::vector<std::string>& names) const;
  // Whether one of the principal's roles allows `action` on `resource`.
  static bool Allows(const Principal& principal, Action action, absl::string_view project,
                     const Resource& resource);
};

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_POLICY_H_
