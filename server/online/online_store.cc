#include "server/online/online_store.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "server/online/cluster_store.h"
#include "server/online/memory_store.h"
#include "server/common/status.h"
#include "server/online/redis_conn.h"
#include "server/online/redis_store.h"
#include "server/online/row.h"

namespace pantry {
namespace {

void AppendEscaped(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (c == '%' || c == ',' || c == '=' || c == ':' || c == '{' || c == '}' || c < 0x21 ||
        c > 0x7e) {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

}  // namespace

std::string OnlineKey(absl::string_view project, absl::string_view view,
                      const std::vector<JoinKey>& keys, const std::vector<const Value*>& values) {
  std::string out;
  out.reserve(project.size() + view.size() + 4 + 24 * keys.size());
  out.append(project.data(), project.size());
  out.append(":{");
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(keys[i].name);
    out.push_back('=');
    const Value& v = *values[i];
    switch (v.type()) {
      case ValueType::kInt32: absl::StrAppend(&out, v.get<int32_t>()); break;
      case ValueType::kInt64:
      case ValueType::kUnixTimestamp: absl::StrAppend(&out, v.get<int64_t>()); break;
      case ValueType::kString:
      case ValueType::kBytes: AppendEscaped(v.get<std::string>(), &out); break;
      default: AppendEscaped(v.DebugString(), &out); break;
    }
  }
  out.append("}:");
  out.append(view.data(), view.size());
  return out;
}

ViewRead MakeViewRead(std::string key, std::string view, const std::vector<std::string>& features) {
  ViewRead read;
  read.key = std::move(key);
  read.view = std::move(view);
  for (const std::string& feature : features) read.feature_ids.push_back(FeatureId(feature));
  return read;
}

ViewWrite MakeViewWrite(std::string key, std::string view, Micros event_time,
                        const std::vector<std::pair<std::string, std::string>>& values,
                        Micros online_ttl) {
  ViewWrite write;
  write.key = std::move(key);
  write.view = std::move(view);
  write.row = PackRow(event_time, values);
  write.online_ttl = online_ttl;
  return write;
}

absl::Status CheckRows(const std::vector<ViewWrite>& writes) {
  for (const ViewWrite& w : writes) {
    if (!IsRow(w.row)) {
      return absl::InvalidArgumentError(absl::StrCat("feature view '", w.view, "': the write of key ",
                                                     w.key, " carries no valid row"));
    }
  }
  return absl::OkStatus();
}

std::string LayoutKey(absl::string_view project) { return absl::StrCat(project, ":#layout"); }

absl::StatusOr<std::vector<ViewReadResult>> OnlineStore::ReadSync(std::vector<ViewRead> reads,
                                                                  Micros deadline) {
  std::promise<absl::StatusOr<std::vector<ViewReadResult>>> promise;
  auto future = promise.get_future();
  Read(std::move(reads), deadline,
       [&promise](absl::StatusOr<std::vector<ViewReadResult>> r) { promise.set_value(std::move(r)); });
  return future.get();
}

absl::StatusOr<WriteResult> OnlineStore::WriteSync(std::vector<ViewWrite> writes,
                                                   Micros deadline) {
  std::promise<absl::StatusOr<WriteResult>> promise;
  auto future = promise.get_future();
  Write(std::move(writes), deadline,
        [&promise](absl::StatusOr<WriteResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

std::string WatermarksKey(absl::string_view project) {
  return absl::StrCat(project, ":", kCoordinationTag, ":watermarks");
}
std::string LeaseKey(absl::string_view project, absl::string_view view) {
  return absl::StrCat(project, ":", kCoordinationTag, ":lease:", view);
}
std::string LeaseSeqKey(absl::string_view project) {
  return absl::StrCat(project, ":", kCoordinationTag, ":lease-seq");
}

absl::StatusOr<std::unique_ptr<OnlineStore>> CreateOnlineStore(const OnlineStoreConfig& config,
                                                                absl::string_view project,
                                                                OnlineStoreObserver* observer) {
  if (config.type != OnlineStoreConfig::Type::kMemory) {
    // Unusable TLS files or passwords stop the store here rather than on
    // every connect.
    PANTRY_RETURN_IF_ERROR(internal::SettingsFor(config, project).config_error);
  }
  switch (config.type) {
    case OnlineStoreConfig::Type::kMemory: return NewMemoryOnlineStore();
    case OnlineStoreConfig::Type::kRedis: return NewRedisOnlineStore(config, project, observer);
    case OnlineStoreConfig::Type::kRedisCluster:
      return NewRedisClusterOnlineStore(config, project, observer);
  }
  return absl::InvalidArgumentError("unknown online store type");
}

}  // namespace pantry
