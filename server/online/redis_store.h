// The Redis backend of OnlineStore (layout: server/online/online_store.h and
// docs/redis-layout.md).
//
// The store keeps `config.pool_size` connections, each with its own queue and
// I/O thread. Whoever drives a connection takes every operation queued on it
// at once and sends all their commands as one pipeline, so concurrent small
// calls share a round trip. A small Read that finds its connection idle (and
// connected) is driven by the calling thread itself: it sends, waits for the
// replies and runs the callbacks before Read returns, with no hand-off to
// another thread and back; it also runs the small reads that queued behind
// it meanwhile, for a few batches at most, then hands the connection to its
// thread. Writes, split calls and calls while disconnected are driven by the
// connection's thread. A Read of many entries is split into chunks over
// several connections. A read is one MGET of the row keys of a chunk;
// writes run kRowWriteScript (one EVALSHA per 64 ViewWrites) that, for each
// key, compares the stored row's event time and writes only when the new one
// is strictly newer, with the row's online_ttl as its expiry.
//
// Connections are made lazily, with AUTH and SELECT when configured, and
// check the project's layout (OnlineStore::CheckLayout) before serving; while
// Redis is unreachable calls fail fast with UNAVAILABLE and each connection
// retries at most every 100 ms, recovering by itself. Status codes passed to
// callbacks:
//   UNAVAILABLE        connect or I/O failure (message names host:port)
//   DEADLINE_EXCEEDED  the deadline passed before the call was sent
//   RESOURCE_EXHAUSTED more than max_pending_requests / pool_size calls
//                      pending on the chosen connection
//   INTERNAL           Redis answered with an error (e.g. WRONGTYPE)
//   DATA_LOSS          a stored row is truncated or corrupt
//   FAILED_PRECONDITION the project is in another layout (connect refused
//                      until it is migrated: rechecked every 2 s), or a
//                      stored value is not a row this build reads
//   CANCELLED          the store was destroyed before the call was sent
// Callbacks run on the store's I/O threads, on the calling thread, or on
// another caller's thread that is driving the connection, never under a
// store lock; so a callback must not block, and a caller must not hold a
// lock that any callback takes.
//
// Thread-safe. No call may start once the destructor has begun. The
// destructor fails queued calls with CANCELLED, waits for calls in flight
// (a caller may still be driving a connection after its own callback ran)
// and joins the threads; it must not run from a callback.
#ifndef PANTRY_SERVER_ONLINE_REDIS_STORE_H_
#define PANTRY_SERVER_ONLINE_REDIS_STORE_H_

#include <memory>

#include "absl/strings/string_view.h"

#include "server/metrics/online_store_observer.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry {

// Creates a Redis online store for `config` (host, port, username,
// password, db, pool_size, timeouts, max_pending_requests) serving
// `project`. Never fails and never blocks on Redis: connections are made on
// first use. `observer` (may be null; must outlive the store) is told of
// connects, disconnects, requests sent and pending, per node.
std::unique_ptr<OnlineStore> NewRedisOnlineStore(const OnlineStoreConfig& config,
                                                 absl::string_view project,
                                                 OnlineStoreObserver* observer = nullptr);

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_REDIS_STORE_H_
