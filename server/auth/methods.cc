#include "server/auth/methods.h"

#include "absl/container/flat_hash_map.h"

namespace pantry::auth {
namespace {

constexpr MethodRule kRules[] = {
    // FeatureService
    {"/pantry.v1.FeatureService/GetOnlineFeatures", Action::kReadOnline, false,
     "each view read (an on-demand view and the views it reads); the feature service"},
    {"/pantry.v1.FeatureService/WriteOnlineFeatures", Action::kWriteOnline, true, "the view"},
    {"/pantry.v1.FeatureService/GetHistoricalFeatures", Action::kReadOffline, false,
     "each view joined; the feature service"},
    {"/pantry.v1.FeatureService/StreamHistoricalFeatures", Action::kReadOffline, false,
     "each view joined; the feature service"},
    // RegistryService
    {"/pantry.v1.RegistryService/Apply", Action::kApply, true, "the project"},
    {"/pantry.v1.RegistryService/ListEntities", Action::kDescribe, false, "the project"},
    {"/pantry.v1.RegistryService/ListFeatureViews", Action::kDescribe, false,
     "each view listed (the others are left out)"},
    {"/pantry.v1.RegistryService/GetFeatureView", Action::kDescribe, false, "the view"},
    {"/pantry.v1.RegistryService/ListFeatureServices", Action::kDescribe, false,
     "each service listed (the others are left out)"},
    // MaterializationService
    {"/pantry.v1.MaterializationService/Materialize", Action::kMaterialize, true, "each view"},
    {"/pantry.v1.MaterializationService/MaterializeIncremental", Action::kMaterialize, true,
     "each view (all of the project's when none is named)"},
    {"/pantry.v1.MaterializationService/GetJob", Action::kManageJobs, false, "the project"},
    {"/pantry.v1.MaterializationService/ListJobs", Action::kManageJobs, false, "the project"},
    {"/pantry.v1.MaterializationService/CancelJob", Action::kManageJobs, true, "the project"},
    {"/pantry.v1.MaterializationService/ListWatermarks", Action::kManageJobs, false,
     "the project"},
    {"/pantry.v1.MaterializationService/ListLineage", Action::kReadLineage, false, "the project"},
    // IngestService
    {"/pantry.v1.IngestService/Push", Action::kWriteOffline, true, "the view"},
    {"/pantry.v1.IngestService/GetIngestStatus", Action::kManageJobs, false, "the project"},
    {"/pantry.v1.IngestService/ListDeadLetters", Action::kReadOffline, false, "the source"},
    {"/pantry.v1.IngestService/ReplayDeadLetters", Action::kWriteOffline, true, "the source"},
    // Standard services: health checks answer anyone (load balancers, probes).
    {"/grpc.health.v1.Health/Check", Action::kDescribe, false, "none", true},
    {"/grpc.health.v1.Health/Watch", Action::kDescribe, false, "none", true},
};

}  // namespace

absl::Span<const MethodRule> MethodRules() { return kRules; }

const MethodRule* FindMethodRule(absl::string_view method) {
  static const auto* index = [] {
    auto* m = new absl::flat_hash_map<absl::string_view, const MethodRule*>();
    for (const MethodRule& r : kRules) m->emplace(r.method, &r);
    return m;
  }();
  auto it = index->find(method);
  return it == index->end() ? nullptr : it->second;
}

}  // namespace pantry::auth
