#include "server/online/memory_store.h"

#include <array>
#include <charconv>
#include <functional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace pantry {
namespace {

// Transparent hashing so lookups by string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  size_t operator()(absl::string_view s) const { return absl::Hash<absl::string_view>{}(s); }
};
using Hash = std::unordered_map<std::string, std::string, StringHash, std::equal_to<>>;

class MemoryOnlineStore final : public OnlineStore {
 public:
  void Read(std::vector<ViewRead> reads, Micros deadline, ReadCallback done) override {
    if (deadline != kNoTimestamp && NowMicros() > deadline) {
      done(absl::DeadlineExceededError("deadline passed before the read started"));
      return;
    }
    std::vector<ViewReadResult> results(reads.size());
    std::string field;
    for (size_t i = 0; i < reads.size(); ++i) {
      const ViewRead& r = reads[i];
      ViewReadResult& out = results[i];
      out.values.resize(r.features.size());
      Shard& shard = ShardFor(r.key);
      std::shared_lock lock(shard.mu);
      auto it = shard.map.find(r.key);
      if (it == shard.map.end()) continue;
      const Hash& hash = it->second;
      auto ts = hash.find(TimestampField(r.view));
      if (ts != hash.end()) {
        out.found = true;
        std::from_chars(ts->second.data(), ts->second.data() + ts->second.size(), out.event_time);
      }
      for (size_t f = 0; f < r.features.size(); ++f) {
        field.assign(r.view).append(":").append(r.features[f]);
        auto v = hash.find(field);
        if (v != hash.end()) out.values[f] = v->second;
      }
    }
    done(std::move(results));
  }

  void Write(std::vector<ViewWrite> writes, Micros deadline, WriteCallback done) override {
    if (deadline != kNoTimestamp && NowMicros() > deadline) {
      done(absl::DeadlineExceededError("deadline passed before the write started"));
      return;
    }
    WriteResult result;
    for (ViewWrite& w : writes) {
      Shard& shard = ShardFor(w.key);
      std::unique_lock lock(shard.mu);
      Hash& hash = shard.map[w.key];
      std::string& ts = hash[TimestampField(w.view)];
      Micros stored = kNoTimestamp;
      if (!ts.empty()) std::from_chars(ts.data(), ts.data() + ts.size(), stored);
      if (!ts.empty() && stored >= w.event_time) {
        ++result.skipped_older;
        continue;
      }
      ts = absl::StrCat(w.event_time);
      for (auto& [feature, value] : w.values) {
        hash[FeatureField(w.view, feature)] = std::move(value);
      }
      ++result.written;
    }
    done(result);
  }

 private:
  struct Shard {
    std::shared_mutex mu;
    std::unordered_map<std::string, Hash, StringHash, std::equal_to<>> map;
  };
  Shard& ShardFor(absl::string_view key) {
    return shards_[absl::Hash<absl::string_view>{}(key) % shards_.size()];
  }
  std::array<Shard, 64> shards_;
};

}  // namespace

std::unique_ptr<OnlineStore> NewMemoryOnlineStore() {
  return std::make_unique<MemoryOnlineStore>();
}

}  // namespace pantry
