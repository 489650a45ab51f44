// OnlineStoreObserver: what an online store backend reports about the nodes
// it talks to (a Redis server, each node of a Redis Cluster), for the
// per-node figures of the metrics (docs/operations.md, "Metrics").
//
// Whole-store figures (operations, errors, latency, requests pending in the
// store) need nothing from a backend: InstrumentedOnlineStore measures them
// around any OnlineStore. Only what happens inside the backend, per node,
// comes through this interface.
//
// How a backend uses it: it is given an `OnlineStoreObserver*` (may be null:
// then it reports nothing), asks ForNode() once per node when it first
// learns of the node ("host:port"), keeps the returned handle next to its
// connection(s) to that node and calls the handle's methods as things
// happen. The handle's calls are cheap (atomic additions, no allocation, no
// lock), never block and may be made from any thread, including the
// connection's I/O thread and inside a store callback.
//
// This header depends on nothing but the standard library and Abseil's
// string_view (CMake target pantry_online_store_observer), so a backend
// library can use it without linking the metrics library; pantryd would pass
// `metrics->online_store()` (an OnlineStoreMetrics) from main.cc, or null
// without metrics.
#ifndef PANTRY_SERVER_METRICS_ONLINE_STORE_OBSERVER_H_
#define PANTRY_SERVER_METRICS_ONLINE_STORE_OBSERVER_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace pantry {

class OnlineStoreObserver {
 public:
  // The figures of one node. Owned by the observer; valid for as long as the
  // observer is.
  class Node {
   public:
    virtual ~Node() = default;
    // A connection to the node is established. `reconnect`: it replaces one
    // that was lost or could not be made (counted in
    // pantry_online_store_reconnects_total); false for a first connect.
    virtual void OnConnected(bool reconnect) = 0;
    // An established connection to the node was lost or closed.
    virtual void OnDisconnected() = 0;
    // An attempt to connect to the node failed.
    virtual void OnConnectFailed() = 0;
    // `n` requests (commands, or scripts) were sent to the node.
    virtual void OnRequestsSent(int64_t n) = 0;
    // Requests waiting for the node's reply changed by `delta` (+n when
    // queued or sent, -n when answered, failed or timed out).
    virtual void AddPending(int64_t delta) = 0;
    // Redis Cluster: the node answered a request with `reply` ("moved",
    // "ask", "tryagain", "clusterdown", "loading" or "masterdown"), so the
    // request was sent elsewhere or again.
    virtual void OnClusterReply(absl::string_view reply) = 0;
  };

  virtual ~OnlineStoreObserver() = default;

  // The handle of node `node` ("host:port"), created on the first call for
  // that name; later calls return the same handle. Thread-safe; it takes a
  // lock, so call it once per node and keep the handle rather than calling
  // it per request.
  virtual Node* ForNode(absl::string_view node) = 0;
  // Redis Cluster: the slot map was asked for again (`ok`: a node answered
  // CLUSTER SLOTS; false: none did).
  virtual void OnSlotMapRefresh(bool ok) = 0;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_METRICS_ONLINE_STORE_OBSERVER_H_
