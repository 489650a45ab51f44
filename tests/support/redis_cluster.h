// A private Redis Cluster for tests: masters * (1 + replicas) redis-server
// processes on free 127.0.0.1 ports, each with its own temp dir and
// nodes.conf, joined by `redis-cli --cluster create`. Nodes can be killed,
// restarted, resharded and have single slots migrated by hand, so a test can
// watch failover, MOVED and ASK. Every node is stopped (SIGTERM, then SIGKILL)
// and the temp dirs removed when the object is destroyed. Never touches a
// server that happens to be running: a node counts as started only when the
// process answering on its port reports our child's pid.
//
// Nodes are numbered 0 .. num_nodes()-1 in start order; a node keeps its
// index, ports and dir across Kill/Restart, while its role may change
// (failover). Not thread-safe: use one RedisCluster from one thread.
//
// Status codes: InvalidArgument for a bad node index or slot;
// FailedPrecondition for a node that is not running, for a Redis error reply
// (the message is the reply text) and for a state that does not allow the
// call; Unavailable when a node cannot be reached; DeadlineExceeded when the
// cluster does not settle in time; Internal for redis-cli failures (the
// message carries the tail of its log).
#ifndef PANTRY_TESTS_SUPPORT_REDIS_CLUSTER_H_
#define PANTRY_TESTS_SUPPORT_REDIS_CLUSTER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pantry::testing {

class RedisCluster {
 public:
  static constexpr int kNumSlots = 16384;

  RedisCluster() = default;
  // Stops every node still running and removes the temp dirs.
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Starts masters * (1 + replicas_per_master) nodes, creates the cluster
  // with redis-cli and waits (at most 30 s) until every node says
  // cluster_state:ok, sees all 16384 slots served, agrees with the others on
  // the slot map, and every replica's master link is up. `masters` >= 3
  // (redis-cli refuses fewer). Callable once per object.
  absl::Status Start(int masters = 3, int replicas_per_master = 1, int node_timeout_ms = 1000);

  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  int port(int i) const { return nodes_[i].port; }
  // "127.0.0.1:<port>" of node i.
  std::string address(int i) const;
  // Whether node i's process is running (it was started and not killed).
  bool alive(int i) const { return nodes_[i].pid > 0; }
  // "127.0.0.1:<port>" of every node, in index order (dead ones included).
  std::vector<std::string> seed_addresses() const;
  // The node listening on `port`, or -1 (maps MOVED/ASK targets to indices).
  int IndexOfPort(int port) const;
  // The root temp dir; node i lives in <dir>/node-<i>.
  const std::string& dir() const { return dir_; }

  // Runs one command on node i over a fresh connection and puts the reply,
  // as text, in *out (when not null): strings and statuses verbatim,
  // integers in decimal, nil as "(nil)", arrays one element per line
  // (nested arrays flattened). A Redis error reply (e.g. "MOVED 3999
  // 127.0.0.1:40001") returns FailedPrecondition with the reply text as the
  // message, and also puts the text in *out.
  absl::Status Command(int i, const std::vector<std::string>& args, std::string* out = nullptr);
  // Same, but sends ASKING first on the same connection (to follow an ASK
  // redirection by hand).
  absl::Status CommandAsking(int i, const std::vector<std::string>& args,
                             std::string* out = nullptr);
  // Same, but sends READONLY first (to read a replica's own copy of a key).
  absl::Status CommandReadonly(int i, const std::vector<std::string>& args,
                               std::string* out = nullptr);

  // The hash slot of `key` (CRC16/XMODEM mod 16384, with the {hash tag}
  // rule: the first '{' and the first '}' after it, if the part between is
  // not empty). KeySlot("123456789") == 12739.
  static int KeySlot(absl::string_view key);
  // CLUSTER KEYSLOT `key`, asked of the first live node.
  absl::StatusOr<int> ServerKeySlot(const std::string& key);

  // The slot map as the first live node sees it (CLUSTER SLOTS): 16384
  // entries, the index of the master serving each slot, -1 when unserved.
  // Call after WaitUntilHealthy for a view every node shares.
  absl::StatusOr<std::vector<int>> SlotMap();
  // The index of the master serving `slot`, per SlotMap(). NotFound when no
  // node serves it.
  absl::StatusOr<int> MasterOfSlot(int slot);
  // Indices of live nodes whose ROLE is master, ascending. Nodes that do not
  // answer are left out.
  std::vector<int> Masters();
  // Indices of the nodes that are replicas of `master`, per the first live
  // node's CLUSTER NODES (dead replicas included), ascending.
  absl::StatusOr<std::vector<int>> ReplicasOf(int master);
  // The node id of node i (CLUSTER MYID, remembered, so also for dead nodes
  // once seen).
  absl::StatusOr<std::string> NodeId(int i);

  // SIGKILLs node i and reaps it. No-op when it is not running.
  void Kill(int i);
  // Starts node i again on the same ports and dir; it rejoins from its
  // nodes.conf with no data (no persistence). After a failover it comes back
  // as a replica of its successor. Does not wait for the cluster to settle:
  // call WaitUntilHealthy.
  absl::Status Restart(int i);

  // Waits until every live node says cluster_state:ok, every live node's
  // CLUSTER SLOTS covers all 16384 slots with live masters and all live
  // nodes agree on that map, no live node flags a live node as failing, and
  // every live replica's master link is up. DeadlineExceeded (with the last
  // problem seen) after `timeout_ms`.
  absl::Status WaitUntilHealthy(int timeout_ms = 30000);

  // Moves `num_slots` slots (and their keys) from master `from_node` to
  // master `to_node` with `redis-cli --cluster reshard`, then
  // WaitUntilHealthy. Internal with the redis-cli log tail on failure.
  absl::Status Reshard(int from_node, int to_node, int num_slots);

  // The manual slot migration, in steps a test can observe between:
  // BeginSlotMigration marks `slot` IMPORTING on `to` and MIGRATING on
  // `from` (`from` must serve it). Keys still on `from` are served there;
  // keys already moved answer ASK from `from`.
  absl::Status BeginSlotMigration(int slot, int from, int to);
  // MIGRATEs up to `count` keys of `slot` from `from` to `to`; returns how
  // many it moved (0 when none are left).
  absl::StatusOr<int> MigrateSomeKeys(int slot, int from, int to, int count);
  // MIGRATEs the remaining keys, then CLUSTER SETSLOT slot NODE <to> on `to`,
  // `from` and every other live master, then WaitUntilHealthy.
  absl::Status MigrateKeysAndFinish(int slot, int from, int to);

 private:
  struct Node {
    int port = 0;
    int bus_port = 0;
    std::string dir;
    std::string id;
    pid_t pid = -1;
  };

  absl::Status CheckIndex(int i) const;
  absl::Status CheckLive(int i) const;
  // Command, on a connection that first sent `first` (ASKING, READONLY).
  absl::Status CommandAfter(int i, const std::string& first, const std::vector<std::string>& args,
                            std::string* out);
  // Starts node i's redis-server and waits until it answers as our child.
  absl::Status Launch(int i);
  // One round of the WaitUntilHealthy checks: OK or the first problem.
  absl::Status CheckHealthy();
  absl::StatusOr<std::vector<int>> SlotMapOf(int i);
  int FirstLive() const;
  absl::Status RunRedisCli(const std::vector<std::string>& args, const std::string& log_name,
                           int timeout_ms);
  void StopAll();

  std::vector<Node> nodes_;
  std::string dir_;
  int node_timeout_ms_ = 1000;
  int reshards_ = 0;  // numbers the reshard log files
  bool started_ = false;
};

}  // namespace pantry::testing

#endif  // PANTRY_TESTS_SUPPORT_REDIS_CLUSTER_H_
