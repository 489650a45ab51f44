// Routing over a Redis Cluster, Pantry's own (Debian's hiredis 0.14 knows no
// cluster): the slot map, one connection pool per master, and a pipelined
// Execute() that sends each command to the master of its slot and follows
// the cluster's answers until every command has a final reply or the
// deadline passes. Used by the cluster online store and the coordinator.
// Internal to server/online; docs/redis-layout.md, "Redis Cluster".
//
// What Execute() does with each reply:
//   MOVED <slot> <host:port>  the slot lives elsewhere for good: the slot map
//                             entry is updated at once, the whole map is
//                             refreshed (CLUSTER SLOTS) before the next round,
//                             and the command is sent again to the new owner.
//   ASK <slot> <host:port>    the slot is being migrated and this key already
//                             moved: ASKING, then the command, on that node,
//                             for this command only (the map is unchanged).
//   TRYAGAIN                  a multi-key command during a migration: split
//                             into one command per key when it has a
//                             splitter, else again after a short pause.
//   CLUSTERDOWN, a connection that cannot be made or breaks, a slot no
//                             master serves: the map is refreshed and the
//                             command sent again after a pause that doubles
//                             from 5 ms up to 100 ms.
//   NOSCRIPT                  the node lost its scripts: the command's
//                             Fallback() (EVAL with the script's text) is
//                             sent instead.
//   anything else             the command's final reply.
// Retries stop at the deadline (DEADLINE_EXCEEDED, or UNAVAILABLE naming the
// last failure) and after kMaxRedirects redirections of one command.
//
// A command is sent again only when its previous attempt certainly did not
// run (a redirection or error reply), or when its connection broke before
// its reply came: then it may have run, so only idempotent commands may be
// given to Execute (Pantry's reads, its newer-wins row writes, and the
// coordinator's scripts, each of which is a no-op when repeated).
#ifndef PANTRY_SERVER_ONLINE_REDIS_CLUSTER_H_
#define PANTRY_SERVER_ONLINE_REDIS_CLUSTER_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/time.h"
#include "server/metrics/online_store_observer.h"
#include "server/online/redis_conn.h"

namespace pantry::internal {

inline constexpr int kClusterSlots = 16384;
inline constexpr int kMaxRedirects = 16;

// The hash slot of `key`: CRC16 (XMODEM) of its hash tag (the text between
// the first '{' and the next '}', when not empty) or of the whole key,
// modulo 16384. The Redis Cluster specification, "Keys distribution model".
int KeySlot(absl::string_view key);

// One range of a CLUSTER SLOTS reply: slots [first, last] served by the
// master at host:port.
struct SlotRange {
  int first = 0;
  int last = 0;
  std::string host;
  int port = 0;
};

// Parses a CLUSTER SLOTS reply. A master whose address is empty or "?"
// (a node that does not know its own address) is taken to be `asked_host`,
// the host the question went to.
absl::StatusOr<std::vector<SlotRange>> ParseClusterSlots(const redisReply& reply,
                                                         absl::string_view asked_host);

// Other forms of a command, made only when needed.
class CommandSplitter {
 public:
  virtual ~CommandSplitter() = default;
  // The single-key commands (RESP) doing the work of command `index`, for a
  // slot being migrated (TRYAGAIN: some of its keys have moved, some not);
  // the reply of key k's command stands for element k of the whole's.
  virtual std::vector<std::string> Split(size_t index) const = 0;
  // Command `index` with EVAL and the script's text instead of EVALSHA,
  // after NOSCRIPT; empty: none.
  virtual std::string Fallback(size_t index) const = 0;
};

// One command of an Execute() call.
struct ClusterCommand {
  int slot = 0;          // KeySlot() of its keys (all in one slot)
  std::string resp;      // the command, in RESP
  // When set: after TRYAGAIN the command is replaced by `children`, one per
  // key, each routed on its own (ASK sends moved keys to their new node);
  // after NOSCRIPT by its Fallback().
  const CommandSplitter* splitter = nullptr;
  size_t split_index = 0;
  // Set by Execute: the final reply, or (after a split) the children's.
  Reply reply;
  std::vector<ClusterCommand> children;
  // Execute's own state.
  int redirects = 0;
  std::string ask;  // "host:port" after ASK, for the next attempt only
  bool fell_back = false;
};

struct ClusterSettings {
  // The nodes to learn the slot map from first ("host:port"); every master
  // found later is asked too.
  std::vector<std::pair<std::string, int>> seeds;
  // Username, password, timeouts of every node connection (host, port and
  // where are set per node; db is always 0 on a cluster).
  RedisSettings node;
  // WAIT after the writes of each node's pipeline (0: no WAIT), and how
  // long WAIT may take.
  int wait_replicas = 0;
  Micros wait_timeout = 0;
};

class ClusterRouter {
 public:
  // Connects lazily: the first Execute learns the slot map. `observer` (may
  // be null; must outlive the router) hears of each node.
  ClusterRouter(ClusterSettings settings, OnlineStoreObserver* observer);
  ~ClusterRouter();
  ClusterRouter(const ClusterRouter&) = delete;
  ClusterRouter& operator=(const ClusterRouter&) = delete;

  // Whether Execute() needs another round.
  enum class Progress { kDone, kRetryNow, kRetryLater };

  // What the rounds of one Execute share.
  struct RoundState {
    std::vector<ClusterCommand*> pending;  // commands without a final reply
    bool wait = false;  // send WAIT (wait_replicas) after each node's commands
    absl::Status last_error;  // the latest failure, for the final status
    absl::Status wait_error;  // a WAIT that counted fewer replicas
    int attempt = 0;          // pauses so far
  };

  // One round of an Execute: sends every pending command to its node, one
  // pipeline per node (all pipelines are written before any reply is
  // read), and takes the replies. kRetryLater asks for a pause
  // (Backoff(state.attempt)) before the next round; the caller may hand the
  // rest to another thread meanwhile.
  Progress Round(RoundState* state);

  // Runs every command to a final reply: rounds, with pauses, until done
  // or `deadline`. OK when every command has its reply in `reply` (which
  // may be an error reply other than the redirections above); otherwise
  // UNAVAILABLE or DEADLINE_EXCEEDED naming the last failure, or
  // UNAVAILABLE for a WAIT that counted fewer replicas (the writes ran).
  // Blocking.
  absl::Status Execute(const std::vector<ClusterCommand*>& commands, Micros deadline,
                       bool wait = false);
  // The end of an Execute whose rounds ran elsewhere: the final status of
  // `state` once Round() said kDone, or at the deadline.
  static absl::Status Finish(const RoundState& state, bool deadline_passed);

  // The pause before retry `attempt` (0-based): 5 ms doubling to 100 ms.
  static Micros Backoff(int attempt);

  // Fetches the slot map from a known node (masters first, then seeds).
  // At most one refresh runs at a time, and none within 50 ms of the last
  // unless `force`. UNAVAILABLE when no node answers.
  absl::Status RefreshSlots(bool force);

  // "host:port" of the master serving `slot`, "" when unknown.
  std::string MasterOf(int slot);

  // SHA1 of kRowWriteScript, as EVALSHA takes it.
  const std::string& row_script_sha() const { return row_script_sha_; }

 private:
  struct Node;
  struct Pipeline;

  Node* NodeFor(absl::string_view host, int port);
  Node* NodeFor(absl::string_view address);  // "host:port"; null if malformed
  absl::StatusOr<Context> Take(Node* node);
  void Give(Node* node, Context context);
  absl::StatusOr<std::vector<SlotRange>> AskSlots(Node* node);

  const ClusterSettings settings_;
  OnlineStoreObserver* const observer_;
  const std::string row_script_sha_;

  std::mutex nodes_mu_;
  std::vector<std::unique_ptr<Node>> nodes_;  // guarded by nodes_mu_; never removed
  // The master of each slot; null when unknown. Entries point into nodes_.
  std::unique_ptr<std::atomic<Node*>[]> slots_;

  std::mutex refresh_mu_;      // one refresh at a time
  std::atomic<Micros> last_refresh_{0};
  std::atomic<bool> have_map_{false};
};

}  // namespace pantry::internal

#endif  // PANTRY_SERVER_ONLINE_REDIS_CLUSTER_H_
