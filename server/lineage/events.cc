#include "server/lineage/events.h"

#include "absl/strings/str_cat.h"
#include "server/value/value.h"

namespace pantry::lineage {

RunEvent ApplyEvent(const Registry& registry, Micros now) {
  RunEvent e;
  e.event_type = "COMPLETE";
  e.event_time = now;
  e.run_id = NewRunId();
  e.job_namespace = absl::StrCat("pantry://", registry.project);
  e.job_name = "apply";
  if (!registry.source_file.empty()) e.inputs.push_back({"file", registry.source_file, {}});
  for (const auto& [name, view] : registry.feature_views) {
    Dataset d{e.job_namespace, absl::StrCat(registry.project, ".", name), {}};
    for (const JoinKey& k : view.join_keys) {
      d.schema.emplace_back(k.name, std::string(ValueTypeName(k.value_type)));
    }
    for (const Feature& f : view.schema) {
      d.schema.emplace_back(f.name, std::string(ValueTypeName(f.dtype)));
    }
    e.outputs.push_back(std::move(d));
  }
  for (const auto& [name, view] : registry.on_demand_views) {
    Dataset d{e.job_namespace, absl::StrCat(registry.project, ".", name), {}};
    for (const OnDemandFeature& f : view.features) {
      d.schema.emplace_back(f.name, std::string(ValueTypeName(f.dtype)));
    }
    e.outputs.push_back(std::move(d));
  }
  e.figures = {{"feature_views", static_cast<int64_t>(registry.feature_views.size())},
               {"on_demand_views", static_cast<int64_t>(registry.on_demand_views.size())},
               {"feature_services", static_cast<int64_t>(registry.feature_services.size())}};
  return e;
}

}  // namespace pantry::lineage
