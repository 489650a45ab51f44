#include "server/online/memory_store.h"

#include <array>
#include <functional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "server/online/row.h"

namespace pantry {
namespace {

// Transparent hashing so lookups by string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  size_t operator()(absl::string_view s) const { return absl::Hash<absl::string_view>{}(s); }
};

// A stored row and when it expires (kNoTimestamp: never).
struct Entry {
  std::string row;
  Micros expires = kNoTimestamp;
};

bool Expired(const Entry& e, Micros now) { return e.expires != kNoTimestamp && e.expires <= now; }

class MemoryOnlineStore final : public OnlineStore {
 public:
  void Read(std::vector<ViewRead> reads, Micros deadline, ReadCallback done) override {
    const Micros now = NowMicros();
    if (deadline != kNoTimestamp && now > deadline) {
      done(absl::DeadlineExceededError("deadline passed before the read started"));
      return;
    }
    std::vector<ViewReadResult> results(reads.size());
    for (size_t i = 0; i < reads.size(); ++i) {
      const ViewRead& r = reads[i];
      ViewReadResult& out = results[i];
      out.values.resize(r.feature_ids.size());
      Shard& shard = ShardFor(r.key);
      std::shared_lock lock(shard.mu);
      auto it = shard.map.find(r.key);
      if (it == shard.map.end() || Expired(it->second, now)) continue;
      absl::Status status =
          UnpackRow(it->second.row, r.feature_ids, r.view, r.key, &out.event_time, &out.values);
      if (!status.ok()) {
        lock.unlock();
        done(std::move(status));
        return;
      }
      out.found = true;
    }
    done(std::move(results));
  }

  void Write(std::vector<ViewWrite> writes, Micros deadline, WriteCallback done) override {
    const Micros now = NowMicros();
    if (deadline != kNoTimestamp && now > deadline) {
      done(absl::DeadlineExceededError("deadline passed before the write started"));
      return;
    }
    if (absl::Status status = CheckRows(writes); !status.ok()) {
      done(std::move(status));
      return;
    }
    WriteResult result;
    for (size_t i = 0; i < writes.size(); ++i) {
      ViewWrite& w = writes[i];
      Shard& shard = ShardFor(w.key);
      std::unique_lock lock(shard.mu);
      Entry& entry = shard.map[w.key];
      if (!entry.row.empty() && !Expired(entry, now) &&
          RowEventTime(entry.row) >= RowEventTime(w.row)) {
        ++result.skipped_older;
        result.skipped.push_back(i);
        continue;
      }
      entry.row = std::move(w.row);
      entry.expires = w.online_ttl > 0 ? now + w.online_ttl : kNoTimestamp;
      ++result.written;
    }
    done(result);
  }

  // An embedded store starts empty with each pantryd: always this layout.
  absl::Status CheckLayout(Micros) override { return absl::OkStatus(); }

 private:
  struct Shard {
    std::shared_mutex mu;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> map;
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
