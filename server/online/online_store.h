// OnlineStore: the latest feature values per entity key and feature view.
//
// Layout (the same for every backend, documented in docs/redis-layout.md):
// one hash per project and entity key, named by OnlineKey(); in it a field
// "<view>:<feature>" per feature holding the value's encoding
// (server/value/encoding.h), and a field "#ts:<view>" holding the view's
// event time as decimal microseconds since the epoch.
//
// Writes are newer-wins: a view's write lands only where its event time is
// strictly newer than the stored "#ts:<view>", decided atomically inside the
// store, so concurrent writers (pushes, materialization) never go back in
// time.
//
// Both calls are asynchronous: they invoke `done` exactly once, on a
// store-owned thread, on the caller's (possibly before the call returns: a
// call may do its I/O itself, bounded by the store's request timeout) or on
// another caller's, with the result or an error:
// UNAVAILABLE (backend unreachable; the store reconnects by itself),
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (too many requests pending). `done`
// must not block, and a caller must not hold a lock that any `done` takes
// (its own or another caller's may run inside its call). Implementations
// are thread-safe.
#ifndef PANTRY_SERVER_ONLINE_ONLINE_STORE_H_
#define PANTRY_SERVER_ONLINE_ONLINE_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/registry/registry.h"
#include "server/value/value.h"

namespace pantry {

// Reads one view's features for one entity key.
struct ViewRead {
  std::string key;                    // OnlineKey()
  std::string view;
  std::vector<std::string> features;  // feature names within the view
};

struct ViewReadResult {
  bool found = false;            // the view has an event time stored for the key
  Micros event_time = kNoTimestamp;
  // One per requested feature: the stored encoding, or nullopt when absent.
  std::vector<std::optional<std::string>> values;
};

// Writes one view's features for one entity key.
struct ViewWrite {
  std::string key;  // OnlineKey()
  std::string view;
  Micros event_time = 0;
  std::vector<std::pair<std::string, std::string>> values;  // feature name, encoding
};

struct WriteResult {
  int64_t written = 0;         // writes that landed
  int64_t skipped_older = 0;   // writes not newer than the stored event time
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
};

// The hash name of an entity key: "<project>:<k1>=<v1>,<k2>=<v2>" with the
// join keys in the given order (a view's join_keys are sorted by name).
// Integers are written in decimal; strings and bytes are percent-escaped for
// '%', ',', '=', ':' and bytes outside printable ASCII. `values` must have
// one value per key, already of the key's type, not null.
std::string OnlineKey(absl::string_view project, const std::vector<JoinKey>& keys,
                      const std::vector<const Value*>& values);

// Hash field names of the layout.
std::string FeatureField(absl::string_view view, absl::string_view feature);
std::string TimestampField(absl::string_view view);

// Creates the backend the configuration names. Redis stores connect lazily:
// creation succeeds while Redis is down, and requests get UNAVAILABLE until
// it is back.
absl::StatusOr<std::unique_ptr<OnlineStore>> CreateOnlineStore(const OnlineStoreConfig& config);

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_ONLINE_STORE_H_
