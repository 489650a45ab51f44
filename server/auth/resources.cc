#include "server/auth/resources.h"

#include "server/common/status.h"

namespace pantry::auth {
absl::Status RequireViewOnce(const CallAuth& call, const Registry& registry,
                             absl::string_view name, ViewsSeen* seen) {
  for (absl::string_view s : *seen) {
    if (s == name) return absl::OkStatus();
  }
  seen->push_back(name);
  if (const FeatureView* v = registry.FindFeatureView(name)) {
    return call.Require(ResourceKind::kView, v->name, &v->tags);
  }
  if (const OnDemandView* o = registry.FindOnDemandView(name)) {
    PANTRY_RETURN_IF_ERROR(call.Require(ResourceKind::kView, o->name, &o->tags));
    for (const FeatureRef& input : o->inputs) {
      PANTRY_RETURN_IF_ERROR(RequireViewOnce(call, registry, input.view, seen));
    }
  }
  return absl::OkStatus();
}

absl::Status RequireService(const CallAuth& call, const Registry& registry,
                            absl::string_view service, ViewsSeen* seen) {
  const FeatureService* s = registry.FindFeatureService(service);
  if (s == nullptr) return absl::OkStatus();
  PANTRY_RETURN_IF_ERROR(call.Require(ResourceKind::kService, s->name, &s->tags));
  for (const FeatureRef& ref : s->features) {
    PANTRY_RETURN_IF_ERROR(RequireViewOnce(call, registry, ref.view, seen));
  }
  return absl::OkStatus();
}

absl::Status RequireView(const CallAuth& call, const Registry& registry, absl::string_view name) {
  if (!call.on()) return absl::OkStatus();
  ViewsSeen seen;
  return RequireViewOnce(call, registry, name, &seen);
}

bool MayUseView(const CallAuth& call, const Registry& registry, absl::string_view name) {
  return RequireView(call, registry, name).ok();
}

}  // namespace pantry::auth
