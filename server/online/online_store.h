// OnlineStore: the latest feature values per entity key and feature view.
//
// Layout (the same for every backend, documented in docs/redis-layout.md):
// one entry per project, entity and view, named by OnlineKey(), holding the
// view's packed row (server/online/row.h): its event time and one value per
// feature.
//
// Writes are newer-wins: a row lands only where its event time is strictly
// newer than the stored row's, decided atomically inside the store, so
// concurrent writers (pushes, materialization) never go back in time.
//
// Both calls are asynchronous: they invoke `done` exactly once, on a
// store-owned thread, on the caller's (possibly before the call returns: a
// call may do its I/O itself, bounded by the store's request timeout) or on
// another caller's, with the result or an error:
// UNAVAILABLE (backend unreachable; the store reconnects by itself),
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (too many requests pending),
// FAILED_PRECONDITION (the store holds data in a layout or row format this
// build does not serve; the message says what to do). `done` must not
// block, and a caller must not hold a lock that any `done` takes (its own or
// another caller's may run inside its call). Implementations are
// thread-safe.
#ifndef PANTRY_SERVER_ONLINE_ONLINE_STORE_H_
#define PANTRY_SERVER_ONLINE_ONLINE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/metrics/online_store_observer.h"
#include "server/registry/registry.h"
#include "server/value/value.h"

namespace pantry {

// Reads one view's features for one entity key.
struct ViewRead {
  std::string key;                    // OnlineKey()
  std::string view;                   // for messages
  std::vector<uint32_t> feature_ids;  // FeatureId() of each feature wanted
};

struct ViewReadResult {
  bool found = false;            // a row is stored for the key
  Micros event_time = kNoTimestamp;
  // One per requested feature: the stored encoding, or nullopt when the
  // row has no value for it (a feature added after the row was written).
  std::vector<std::optional<std::string>> values;
};

// Writes one view's row for one entity key.
struct ViewWrite {
  std::string key;   // OnlineKey()
  std::string view;  // for messages
  std::string row;   // PackRow(): the event time and every feature's value
  // How long the row stays after this write (the view's online_ttl); 0:
  // until overwritten or deleted.
  Micros online_ttl = 0;
};

struct WriteResult {
  int64_t written = 0;         // writes that landed
  int64_t skipped_older = 0;   // writes not newer than the stored event time
  // The indexes (in the call's writes) of the writes skipped, ascending: an
  // aggregation state written with version V + 1 over a read of version V
  // is skipped when another writer got there first (server/transform).
  std::vector<size_t> skipped;
};

using ReadCallback = std::function<void(absl::StatusOr<std::vector<ViewReadResult>>)>;
using WriteCallback = std::function<void(absl::StatusOr<WriteResult>)>;

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;

  // Reads every entry of `reads`; the result has one entry per read, in order.
  // `deadline` is absolute (microseconds since the epoch).
  virtual void Read(std::vector<ViewRead> reads, Micros deadline, ReadCallback done) = 0;

  // Applies every write (each newer-wins on its own).
  virtual void Write(std::vector<ViewWrite> writes, Micros deadline, WriteCallback done) = 0;

  // Blocking forms, for tools and tests; never call them on a gRPC thread.
  absl::StatusOr<std::vector<ViewReadResult>> ReadSync(std::vector<ViewRead> reads,
                                                       Micros deadline);
  absl::StatusOr<WriteResult> WriteSync(std::vector<ViewWrite> writes, Micros deadline);

  // Checks, once connected, that the store holds the project's data in the
  // layout this build serves (an empty store is marked as such). OK, or
  // FAILED_PRECONDITION saying what to do, or UNAVAILABLE. Blocking; the
  // Redis store checks again on every connect, so serving stays refused
  // until the data is migrated.
  virtual absl::Status CheckLayout(Micros deadline) = 0;
};

// The key of one view's row for one entity:
// "<project>:{<k1>=<v1>,<k2>=<v2>}:<view>", with the join keys in the given
// order (a view's join_keys are sorted by name). The braces are a Redis
// Cluster hash tag: all views of an entity share a slot. Integers are
// written in decimal; strings and bytes are percent-escaped for '%', ',',
// '=', ':', '{', '}' and bytes outside printable ASCII. `values` must have
// one value per key, already of the key's type, not null.
std::string OnlineKey(absl::string_view project, absl::string_view view,
                      const std::vector<JoinKey>& keys, const std::vector<const Value*>& values);

// Conveniences for tools and tests: a read of features by name, and a write
// of (feature name, encoding) pairs packed into a row.
ViewRead MakeViewRead(std::string key, std::string view, const std::vector<std::string>& features);
ViewWrite MakeViewWrite(std::string key, std::string view, Micros event_time,
                        const std::vector<std::pair<std::string, std::string>>& values,
                        Micros online_ttl = 0);

// INVALID_ARGUMENT naming the first write whose row is not a PackRow() row.
absl::Status CheckRows(const std::vector<ViewWrite>& writes);

// The key recording which layout a project's online data is in.
std::string LayoutKey(absl::string_view project);
// The hash tag every coordination key carries, so that a script touching a
// lease and the watermarks (or the token counter) runs on one cluster node.
inline constexpr absl::string_view kCoordinationTag = "{#}";

// The coordination keys of materialization (docs/redis-layout.md): the hash of watermarks
// (view -> microseconds), a view's lease ("<token>/<holder>", with an
// expiry) and the counter of fencing tokens.
std::string WatermarksKey(absl::string_view project);  // <project>:{#}:watermarks
std::string LeaseKey(absl::string_view project, absl::string_view view);  // <project>:{#}:lease:<view>
std::string LeaseSeqKey(absl::string_view project);  // <project>:{#}:lease-seq

// The layout OnlineKey() and PackRow() make, as stored under LayoutKey().
inline constexpr absl::string_view kLayoutVersion = "2";

// Creates the backend the configuration names. Redis stores connect lazily:
// creation succeeds while Redis is down, and requests get UNAVAILABLE until
// it is back.
// `project` names the repository's project, whose layout key the store
// checks before serving. `observer` (may be null; must outlive the store)
// hears of each node's connections and requests.
absl::StatusOr<std::unique_ptr<OnlineStore>> CreateOnlineStore(
    const OnlineStoreConfig& config, absl::string_view project,
    OnlineStoreObserver* observer = nullptr);

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_ONLINE_STORE_H_
