// The Redis backend of OnlineStore (layout: server/online/online_store.h and
// docs/redis-layout.md).
//
// The store keeps `config.pool_size` connections, each owned by one I/O
// thread with its own queue. A thread takes every operation queued for it at
// once and sends all their commands as one pipeline, so concurrent small
// calls share a round trip. A Read of many entries is split into chunks over
// several connections. Reads are one HMGET per ViewRead; writes run a Lua
// script (one EVALSHA per 64 ViewWrites) that, for each key, compares the
// stored "#ts:<view>" and writes only when the new event time is strictly
// newer, then sets the key expiry when `config.key_ttl` > 0.
//
// Connections are made lazily, with AUTH and SELECT when configured; while
// Redis is unreachable calls fail fast with UNAVAILABLE and each connection
// retries at most every 100 ms, recovering by itself. Status codes passed to
// callbacks:
//   UNAVAILABLE        connect or I/O failure (message names host:port)
//   DEADLINE_EXCEEDED  the deadline passed before the call was sent
//   RESOURCE_EXHAUSTED more than max_pending_requests / pool_size calls
//                      pending on the chosen connection
//   INTERNAL           Redis answered with an error (e.g. WRONGTYPE)
//   DATA_LOSS          a stored "#ts:<view>" is not a decimal integer
//   CANCELLED          the store was destroyed before the call was sent
// Callbacks run on the store's I/O threads (or on the caller's thread for
// RESOURCE_EXHAUSTED and empty calls), never under a store lock.
//
// Thread-safe. The destructor fails queued calls with CANCELLED, waits for
// calls in flight and joins the threads; it must not run on an I/O thread
// (i.e. not from a callback).
#ifndef PANTRY_SERVER_ONLINE_REDIS_STORE_H_
#define PANTRY_SERVER_ONLINE_REDIS_STORE_H_

#include <memory>

#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry {

// Creates a Redis online store for `config` (host, port, password, db,
// pool_size, timeouts, key_ttl, max_pending_requests). Never fails and never
// blocks on Redis: connections are made on first use.
std::unique_ptr<OnlineStore> NewRedisOnlineStore(const OnlineStoreConfig& config);

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_REDIS_STORE_H_
