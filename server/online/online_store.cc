#include "server/online/online_store.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "server/online/memory_store.h"
#include "server/online/redis_store.h"

namespace pantry {
namespace {

void AppendEscaped(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (c == '%' || c == ',' || c == '=' || c == ':' || c < 0x21 || c > 0x7e) {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

}  // namespace

std::string OnlineKey(absl::string_view project, const std::vector<JoinKey>& keys,
                      const std::vector<const Value*>& values) {
  std::string out;
  out.reserve(project.size() + 24 * keys.size());
  out.append(project.data(), project.size());
  out.push_back(':');
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
  return out;
}

std::string FeatureField(absl::string_view view, absl::string_view feature) {
  return absl::StrCat(view, ":", feature);
}

std::string TimestampField(absl::string_view view) { return absl::StrCat("#ts:", view); }

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

absl::StatusOr<std::unique_ptr<OnlineStore>> CreateOnlineStore(const OnlineStoreConfig& config) {
  switch (config.type) {
    case OnlineStoreConfig::Type::kMemory: return NewMemoryOnlineStore();
    case OnlineStoreConfig::Type::kRedis: return NewRedisOnlineStore(config);
  }
  return absl::InvalidArgumentError("unknown online store type");
}

}  // namespace pantry
