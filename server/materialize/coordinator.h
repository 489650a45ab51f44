// Coordinator: what materialization runs share beyond one pantryd, so that
// several replicas over one online store run each view's materialization once
// and agree on how far it got.
//
// - A watermark per view: the end of its latest successful window. It only
//   moves forward.
// - A lease per view: taken for a while by one holder (a pantryd replica),
//   renewed while its run goes on, released at the end; a holder that dies
//   stops renewing and the lease expires, so another replica can take over.
//   Each grant carries a fencing token, larger than every earlier one, and
//   the watermark moves only for the holder of the current token: a replica
//   that lost its lease (a pause longer than the lease) cannot move it.
//
// Two backends: Redis (the online store's server; for replicas) and local
// (a file in pantryd's state folder and in-process leases; one pantryd).
// Thread-safe. Errors: UNAVAILABLE when the backend cannot be reached.
#ifndef PANTRY_SERVER_MATERIALIZE_COORDINATOR_H_
#define PANTRY_SERVER_MATERIALIZE_COORDINATOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/time.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry::materialize {

class Coordinator {
 public:
  virtual ~Coordinator() = default;

  // Every view of `project` with a watermark.
  virtual absl::StatusOr<std::map<std::string, Micros>> Watermarks(const std::string& project) = 0;

  // Grants the view's lease to `holder` for `ttl` when no one holds it, with
  // a new fencing token; nullopt when someone does.
  virtual absl::StatusOr<std::optional<int64_t>> Acquire(const std::string& project,
                                                          const std::string& view,
                                                          const std::string& holder,
                                                          Micros ttl) = 0;
  // Extends the lease by `ttl` from now. FailedPrecondition when (holder,
  // token) no longer holds it.
  virtual absl::Status Renew(const std::string& project, const std::string& view,
                             const std::string& holder, int64_t token, Micros ttl) = 0;
  // Gives the lease up if (holder, token) still holds it; OK either way.
  virtual absl::Status Release(const std::string& project, const std::string& view,
                               const std::string& holder, int64_t token) = 0;
  // Moves the view's watermark to `end` when that is later, only while
  // (holder, token) holds the lease: FailedPrecondition otherwise.
  virtual absl::Status Advance(const std::string& project, const std::string& view,
                               const std::string& holder, int64_t token, Micros end) = 0;
};

// Watermarks in `path` (JSON, replaced atomically on every change), leases
// in this process. Created even when the file is missing (no watermarks
// yet); DataLoss on Watermarks() when it is unreadable.
std::unique_ptr<Coordinator> NewLocalCoordinator(std::string path);

// Keys on the Redis server or Redis Cluster of `config` (WatermarksKey,
// LeaseKey and LeaseSeqKey of server/online/online_store.h).
// Connects lazily and
// again after errors; on a cluster, follows the keys' slot through
// redirections and failovers for up to request_timeout per call.
std::unique_ptr<Coordinator> NewRedisCoordinator(const OnlineStoreConfig& config);

}  // namespace pantry::materialize

#endif  // PANTRY_SERVER_MATERIALIZE_COORDINATOR_H_
