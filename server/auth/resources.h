// What a request touches in the registry, checked against a call's grants:
// the views named by feature references (an on-demand view, and the views
// it reads: a derived feature exposes its inputs), a feature service and
// its views. A request is allowed whole or refused whole: the first view
// the caller may not use is named in PERMISSION_DENIED and nothing is read.
#ifndef PANTRY_SERVER_AUTH_RESOURCES_H_
#define PANTRY_SERVER_AUTH_RESOURCES_H_

#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/auth/guard.h"
#include "server/registry/registry.h"

namespace pantry::auth {

// The views checked so far in one request.
using ViewsSeen = absl::InlinedVector<absl::string_view, 8>;

// View `name` (once per request: `seen`), and the views it reads.
absl::Status RequireViewOnce(CallAuth& call, const Registry& registry,
                             absl::string_view name, ViewsSeen* seen);
// Feature service `service`, and the views it reads.
absl::Status RequireService(CallAuth& call, const Registry& registry,
                            absl::string_view service, ViewsSeen* seen);

// `refs` (strings "view:feature", "view:*") or `service` (when not empty).
// Names the registry does not know are left to the request's own checks.
template <typename Refs>
absl::Status RequireFeatures(CallAuth& call, const Registry& registry, const Refs& refs,
                             absl::string_view service) {
  if (!call.on()) return absl::OkStatus();
  ViewsSeen seen;
  if (!service.empty()) return RequireService(call, registry, service, &seen);
  for (const auto& ref : refs) {
    const absl::string_view r(ref);
    if (absl::Status s = RequireViewOnce(call, registry, r.substr(0, r.find(':')), &seen);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// One view by name (a feature view or an on-demand view).
absl::Status RequireView(CallAuth& call, const Registry& registry, absl::string_view name);

// Whether the call may use the view (and what it reads) or the service (and
// its views), without recording a denial: for filtering lists.
bool MayUseView(const CallAuth& call, const Registry& registry, absl::string_view name);
bool MayUseService(const CallAuth& call, const Registry& registry, absl::string_view name);

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_RESOURCES_H_
