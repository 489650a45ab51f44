// The Redis Cluster backend of OnlineStore: the same keys, rows and write
// script as the single-server store (docs/redis-layout.md), routed by
// ClusterRouter (server/online/redis_cluster.h) to the master of each key's
// slot.
//
// A read is one MGET per hash slot of its keys (the views of one entity
// share a slot, so an entity's views come in one MGET), pipelined per node;
// a write is one EVALSHA of kRowWriteScript per slot and 64 keys. Reads run
// on the calling thread until they need a pause (a master down, the cluster
// electing a new one): then the store's worker threads carry on with them,
// so a gRPC thread never sleeps in a retry. Writes run on the workers, so a
// writer prepares its next batch while one is on the wire.
//
// Status codes passed to callbacks: as the single-server store
// (server/online/redis_store.h), plus UNAVAILABLE when a write's WAIT
// counted fewer replicas than wait_replicas (the writes were applied on the
// master; newer-wins makes a retry of the same rows harmless).
#ifndef PANTRY_SERVER_ONLINE_CLUSTER_STORE_H_
#define PANTRY_SERVER_ONLINE_CLUSTER_STORE_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "server/metrics/online_store_observer.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry {

// Creates a cluster online store for `config` (nodes, username, password,
// pool_size, timeouts, max_pending_requests, wait_replicas, wait_timeout)
// serving `project`. Never blocks: the slot map is learnt on first use.
std::unique_ptr<OnlineStore> NewRedisClusterOnlineStore(const OnlineStoreConfig& config,
                                                        absl::string_view project,
                                                        OnlineStoreObserver* observer = nullptr);

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_CLUSTER_STORE_H_
