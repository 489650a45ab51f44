#include "server/registry/registry.h"

#include <filesystem>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/file.h"
#include "server/common/status.h"
#include "absl/strings/string_view.h"

namespace pantry {
namespace {

template <typename Map>
const typename Map::mapped_type* FindIn(const Map& map, absl::string_view name) {
  auto it = map.find(name);
  return it == map.end() ? nullptr : &it->second;
}


}  // namespace

int FeatureView::FeatureIndex(absl::string_view feature) const {
  for (size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].name == feature) return static_cast<int>(i);
  }
  return -1;
}

int OnDemandView::FeatureIndex(absl::string_view feature) const {
  for (size_t i = 0; i < features.size(); ++i) {
    if (features[i].name == feature) return static_cast<int>(i);
  }
  return -1;
}

int FeatureView::WrittenColumnIndex(absl::string_view column) const {
  const std::vector<Feature>& columns = written_columns();
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

namespace {
constexpr std::pair<AggFunction, absl::string_view> kAggFunctions[] = {
    {AggFunction::kCount, "count"},
    {AggFunction::kSum, "sum"},
    {AggFunction::kMean, "mean"},
    {AggFunction::kMin, "min"},
    {AggFunction::kMax, "max"},
    {AggFunction::kStddev, "stddev"},
    {AggFunction::kLast, "last"},
    {AggFunction::kLastN, "last_n"},
    {AggFunction::kApproxCountDistinct, "approx_count_distinct"},
};

bool IsNumeric(ValueType t) {
  return t == ValueType::kInt32 || t == ValueType::kInt64 || t == ValueType::kFloat ||
         t == ValueType::kDouble;
}
}  // namespace

absl::string_view AggFunctionName(AggFunction function) {
  for (const auto& [f, name] : kAggFunctions) {
    if (f == function) return name;
  }
  return "unknown";
}

std::optional<AggFunction> ParseAggFunction(absl::string_view name) {
  for (const auto& [f, known] : kAggFunctions) {
    if (known == name) return f;
  }
  return std::nullopt;
}

const std::vector<absl::string_view>& AggFunctionNames() {
  static const auto* names = [] {
    auto* v = new std::vector<absl::string_view>;
    for (const auto& [f, name] : kAggFunctions) v->push_back(name);
    return v;
  }();
  return *names;
}

std::optional<ValueType> AggregationResultType(AggFunction function,
                                               std::optional<ValueType> column_type) {
  if (function == AggFunction::kCount) return ValueType::kInt64;
  if (!column_type.has_value() || IsListType(*column_type)) return std::nullopt;
  const ValueType t = *column_type;
  const bool integer = t == ValueType::kInt32 || t == ValueType::kInt64;
  switch (function) {
    case AggFunction::kSum:
      if (!IsNumeric(t)) return std::nullopt;
      return integer ? ValueType::kInt64 : ValueType::kDouble;
    case AggFunction::kMean:
    case AggFunction::kStddev:
      if (!IsNumeric(t)) return std::nullopt;
      return ValueType::kDouble;
    case AggFunction::kMin:
    case AggFunction::kMax:
      if (t == ValueType::kUnixTimestamp) return t;
      if (!IsNumeric(t)) return std::nullopt;
      return integer ? ValueType::kInt64 : ValueType::kDouble;
    case AggFunction::kLast: return t;
    case AggFunction::kLastN: return static_cast<ValueType>(static_cast<uint8_t>(t) + 10);
    case AggFunction::kApproxCountDistinct: return ValueType::kInt64;
    case AggFunction::kCount: break;
  }
  return std::nullopt;
}

Micros DefaultHop(Micros window) {
  constexpr Micros kMinute = 60 * kMicrosPerSecond;
  constexpr Micros kHour = 60 * kMinute;
  constexpr Micros kDay = 24 * kHour;
  const Micros preferred = window >= 12 * kDay ? kDay : window >= 12 * kHour ? kHour : 5 * kMinute;
  if (window > 0 && window % preferred == 0) return preferred;
  for (Micros hop : {kHour, 5 * kMinute, kMinute, kMicrosPerSecond}) {
    if (hop < preferred && window % hop == 0 && hop <= window) return hop;
  }
  return window > 0 && window < kMicrosPerSecond ? window : kMicrosPerSecond;
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

const OnDemandView* Registry::FindOnDemandView(absl::string_view name) const {
  return FindIn(on_demand_views, name);
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
    if (const OnDemandView* odv = FindOnDemandView(view_name)) {
      if (feature == "*") {
        for (const OnDemandFeature& f : odv->features) out->push_back({odv->name, f.name});
        return absl::OkStatus();
      }
      if (odv->FeatureIndex(feature) < 0) {
        return absl::InvalidArgumentError(absl::StrCat("unknown feature '", feature,
                                                       "' in on-demand view '", view_name, "'"));
      }
      out->push_back({odv->name, std::string(feature)});
      return absl::OkStatus();
    }
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
  absl::StatusOr<std::string> text = ReadWholeFile(path, "feature repository");
  if (!text.ok()) return text.status();
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) absolute = path;
  return ParseRegistry(*text, path, absolute.lexically_normal().parent_path().string());
}

}  // namespace pantry
