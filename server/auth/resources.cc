#include "server/auth/resources.h"

#include "server/common/status.h"

namespace pantry::auth {
absl::Status RequireViewOnce(CallAuth& call, const Registry& registry,
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

absl::Status RequireService(CallAuth& call, const Registry& registry,
                            absl::string_view service, ViewsSeen* seen) {
  const FeatureService* s = registry.FindFeatureService(service);
  if (s == nullptr) return absl::OkStatus();
  PANTRY_RETURN_IF_ERROR(call.Require(ResourceKind::kService, s->name, &s->tags));
  for (const FeatureRef& ref : s->features) {
    PANTRY_RETURN_IF_ERROR(RequireViewOnce(call, registry, ref.view, seen));
  }
  return absl::OkStatus();
}

absl::Status RequireView(CallAuth& call, const Registry& registry, absl::string_view name) {
  if (!call.on()) return absl::OkStatus();
  ViewsSeen seen;
  return RequireViewOnce(call, registry, name, &seen);
}

bool MayUseView(const CallAuth& call, const Registry& registry, absl::string_view name) {
  if (const FeatureView* v = registry.FindFeatureView(name)) {
    return call.Allowed(ResourceKind::kView, v->name, &v->tags);
  }
  if (const OnDemandView* o = registry.FindOnDemandView(name)) {
    if (!call.Allowed(ResourceKind::kView, o->name, &o->tags)) return false;
    for (const FeatureRef& input : o->inputs) {
      if (!MayUseView(call, registry, input.view)) return false;
    }
  }
  return true;
}

bool MayUseService(const CallAuth& call, const Registry& registry, absl::string_view name) {
  const FeatureService* s = registry.FindFeatureService(name);
  if (s == nullptr) return true;
  if (!call.Allowed(ResourceKind::kService, s->name, &s->tags)) return false;
  for (const FeatureRef& ref : s->features) {
    if (!MayUseView(call, registry, ref.view)) return false;
  }
  return true;
}

}  // namespace pantry::auth
