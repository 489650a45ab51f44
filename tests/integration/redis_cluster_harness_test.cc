// Self-check of the RedisCluster test harness (tests/support/redis_cluster.h)
// against a real 3-master, 3-replica cluster: hash slots, failover, restart,
// resharding and a manual slot migration with ASK in the middle. One cluster
// is shared by the suite; every test leaves it healthy and finds the nodes it
// needs from the current state, so the tests do not depend on their order.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/redis_cluster.h"

namespace pantry::testing {
namespace {

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const absl::Status assert_ok_status_ = (expr);            \
    ASSERT_TRUE(assert_ok_status_.ok()) << assert_ok_status_; \
  } while (0)

using Clock = std::chrono::steady_clock;

long long MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

int CountSlots(const std::vector<int>& owners, int node) {
  return static_cast<int>(std::count(owners.begin(), owners.end(), node));
}

TEST(RedisClusterKeySlot, MatchesTheSpec) {
  EXPECT_EQ(RedisCluster::KeySlot("123456789"), 12739);
  EXPECT_EQ(RedisCluster::KeySlot("foo"), 12182);
  EXPECT_EQ(RedisCluster::KeySlot("{user1000}.following"), RedisCluster::KeySlot("user1000"));
  EXPECT_EQ(RedisCluster::KeySlot("{user1000}.followers"), RedisCluster::KeySlot("user1000"));
  // An empty tag does not count: the whole key is hashed.
  EXPECT_NE(RedisCluster::KeySlot("foo{}{bar}"), RedisCluster::KeySlot("bar"));
  // The tag runs from the first '{' to the first '}' after it.
  EXPECT_EQ(RedisCluster::KeySlot("foo{{bar}}zap"), RedisCluster::KeySlot("{bar"));
  EXPECT_EQ(RedisCluster::KeySlot("foo{bar}{zap}"), RedisCluster::KeySlot("bar"));
  EXPECT_EQ(RedisCluster::KeySlot(""), 0);
}

class RedisClusterHarness : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const Clock::time_point start = Clock::now();
    cluster_ = new RedisCluster();
    *start_status_ = cluster_->Start(/*masters=*/3, /*replicas_per_master=*/1,
                                     /*node_timeout_ms=*/1000);
    std::cout << "[ harness  ] cluster start took " << MillisSince(start) << " ms\n";
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_OK(*start_status_);
    ASSERT_OK(cluster().WaitUntilHealthy(30000));
  }

  static RedisCluster& cluster() { return *cluster_; }

  static RedisCluster* cluster_;
  static std::unique_ptr<absl::Status> start_status_;
};

RedisCluster* RedisClusterHarness::cluster_ = nullptr;
std::unique_ptr<absl::Status> RedisClusterHarness::start_status_ = std::make_unique<absl::Status>();

TEST_F(RedisClusterHarness, StartsThreeMastersWithOneReplicaEach) {
  ASSERT_EQ(cluster().num_nodes(), 6);
  ASSERT_EQ(cluster().seed_addresses().size(), 6u);
  for (int i = 0; i < cluster().num_nodes(); ++i) {
    EXPECT_TRUE(cluster().alive(i));
    EXPECT_EQ(cluster().seed_addresses()[i], absl::StrCat("127.0.0.1:", cluster().port(i)));
    EXPECT_EQ(cluster().IndexOfPort(cluster().port(i)), i);
    absl::StatusOr<std::string> id = cluster().NodeId(i);
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(id->size(), 40u);
  }
  const std::vector<int> masters = cluster().Masters();
  ASSERT_EQ(masters.size(), 3u);
  for (int m : masters) {
    absl::StatusOr<std::vector<int>> replicas = cluster().ReplicasOf(m);
    ASSERT_TRUE(replicas.ok()) << replicas.status();
    EXPECT_EQ(replicas->size(), 1u) << "master " << m;
  }
  absl::StatusOr<std::vector<int>> owners = cluster().SlotMap();
  ASSERT_TRUE(owners.ok()) << owners.status();
  for (int s = 0; s < RedisCluster::kNumSlots; ++s) {
    ASSERT_TRUE(std::find(masters.begin(), masters.end(), (*owners)[s]) != masters.end()) << s;
  }
}

TEST_F(RedisClusterHarness, KeySlotAgreesWithServer) {
  for (const std::string key :
       {"123456789", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap",
        "foo{bar}{zap}", "{}", "}{", "a{b", "", "pantry:shop:user:42", "\xff\x01 binary"}) {
    absl::StatusOr<int> server = cluster().ServerKeySlot(key);
    ASSERT_TRUE(server.ok()) << server.status();
    EXPECT_EQ(RedisCluster::KeySlot(key), *server) << key;
  }
  absl::StatusOr<int> slot = cluster().ServerKeySlot("123456789");
  ASSERT_TRUE(slot.ok());
  EXPECT_EQ(*slot, 12739);
}

TEST_F(RedisClusterHarness, KilledMasterIsReplacedByItsReplicaAndRejoinsAsReplica) {
  const std::string key = "{failover}key";
  const int slot = RedisCluster::KeySlot(key);
  absl::StatusOr<int> master = cluster().MasterOfSlot(slot);
  ASSERT_TRUE(master.ok()) << master.status();
  absl::StatusOr<std::vector<int>> replicas = cluster().ReplicasOf(*master);
  ASSERT_TRUE(replicas.ok()) << replicas.status();
  ASSERT_EQ(replicas->size(), 1u);
  const int replica = (*replicas)[0];

  ASSERT_OK(cluster().Command(*master, {"SET", key, "before-failover"}));
  std::string acked;
  ASSERT_OK(cluster().Command(*master, {"WAIT", "1", "5000"}, &acked));
  ASSERT_EQ(acked, "1");
  // Right after the cluster was created, Redis 7.0 can answer WAIT with 1
  // before the replica has the write (its replication offset still 0), so
  // the test waits until the replica shows the key itself: it checks the
  // failover, not WAIT.
  std::string seen;
  for (int i = 0; i < 250 && seen != "before-failover"; ++i) {
    (void)cluster().CommandReadonly(replica, {"GET", key}, &seen);
    if (seen != "before-failover") std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(seen, "before-failover") << "the replica never received the write";

  Clock::time_point start = Clock::now();
  cluster().Kill(*master);
  EXPECT_FALSE(cluster().alive(*master));
  ASSERT_OK(cluster().WaitUntilHealthy(20000));
  std::cout << "[ harness  ] failover (node timeout 1000 ms) took " << MillisSince(start)
            << " ms\n";

  absl::StatusOr<int> promoted = cluster().MasterOfSlot(slot);
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ(*promoted, replica);
  std::vector<int> masters = cluster().Masters();
  EXPECT_EQ(masters.size(), 3u);
  EXPECT_TRUE(std::find(masters.begin(), masters.end(), replica) != masters.end());
  std::string value;
  ASSERT_OK(cluster().Command(replica, {"GET", key}, &value));
  EXPECT_EQ(value, "before-failover");
  // The dead node's id is still known.
  EXPECT_TRUE(cluster().NodeId(*master).ok());

  start = Clock::now();
  ASSERT_OK(cluster().Restart(*master));
  ASSERT_OK(cluster().WaitUntilHealthy(20000));
  std::cout << "[ harness  ] restart and resync took " << MillisSince(start) << " ms\n";
  masters = cluster().Masters();
  EXPECT_TRUE(std::find(masters.begin(), masters.end(), *master) == masters.end());
  absl::StatusOr<std::vector<int>> now_replicas = cluster().ReplicasOf(replica);
  ASSERT_TRUE(now_replicas.ok()) << now_replicas.status();
  EXPECT_EQ(*now_replicas, std::vector<int>{*master});
  std::string role;
  ASSERT_OK(cluster().Command(*master, {"ROLE"}, &role));
  EXPECT_TRUE(absl::StartsWith(role, "slave\n")) << role;
  // A replica answers MOVED for its master's slots.
  EXPECT_EQ(cluster().Command(*master, {"GET", key}, &value).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(value, absl::StrCat("MOVED ", slot, " ", cluster().address(replica)));
  ASSERT_OK(cluster().Command(replica, {"DEL", key}));
}

TEST_F(RedisClusterHarness, ReshardMovesSlotsAndTheirKeys) {
  const std::vector<int> masters = cluster().Masters();
  ASSERT_GE(masters.size(), 2u);
  const int from = masters[0];
  const int to = masters[1];
  absl::StatusOr<std::vector<int>> before = cluster().SlotMap();
  ASSERT_TRUE(before.ok()) << before.status();

  // Keys across many of `from`'s slots, so that some move.
  std::vector<std::string> keys;
  for (int k = 0; keys.size() < 300; ++k) {
    std::string key = absl::StrCat("reshard:", k);
    if ((*before)[RedisCluster::KeySlot(key)] == from) keys.push_back(std::move(key));
  }
  for (const std::string& key : keys) ASSERT_OK(cluster().Command(from, {"SET", key, key}));

  const Clock::time_point start = Clock::now();
  ASSERT_OK(cluster().Reshard(from, to, 100));
  std::cout << "[ harness  ] reshard of 100 slots took " << MillisSince(start) << " ms\n";

  absl::StatusOr<std::vector<int>> after = cluster().SlotMap();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(CountSlots(*after, from), CountSlots(*before, from) - 100);
  EXPECT_EQ(CountSlots(*after, to), CountSlots(*before, to) + 100);
  int moved_keys = 0;
  for (const std::string& key : keys) {
    const int owner = (*after)[RedisCluster::KeySlot(key)];
    if (owner == to) ++moved_keys;
    std::string value;
    ASSERT_OK(cluster().Command(owner, {"GET", key}, &value));
    EXPECT_EQ(value, key);
    ASSERT_OK(cluster().Command(owner, {"DEL", key}));
  }
  EXPECT_GT(moved_keys, 0);
}

TEST_F(RedisClusterHarness, ManualMigrationAnswersAskThenMoved) {
  const std::string tag = "{migrate}";
  const int slot = RedisCluster::KeySlot(tag);
  absl::StatusOr<int> from = cluster().MasterOfSlot(slot);
  ASSERT_TRUE(from.ok()) << from.status();
  int to = -1;
  for (int m : cluster().Masters()) {
    if (m != *from) to = m;
  }
  ASSERT_GE(to, 0);

  std::vector<std::string> keys;
  for (int k = 0; k < 5; ++k) keys.push_back(absl::StrCat(tag, ":", k));
  for (const std::string& key : keys) {
    ASSERT_EQ(RedisCluster::KeySlot(key), slot);
    ASSERT_OK(cluster().Command(*from, {"SET", key, "v-" + key}));
  }

  ASSERT_OK(cluster().BeginSlotMigration(slot, *from, to));
  absl::StatusOr<int> moved = cluster().MigrateSomeKeys(slot, *from, to, 2);
  ASSERT_TRUE(moved.ok()) << moved.status();
  ASSERT_EQ(*moved, 2);

  // Mid-migration: keys still on the source are served there; moved ones
  // answer ASK, and the target serves them only after ASKING.
  const std::string ask = absl::StrCat("ASK ", slot, " ", cluster().address(to));
  const std::string moved_to_source = absl::StrCat("MOVED ", slot, " ", cluster().address(*from));
  int asked = 0;
  for (const std::string& key : keys) {
    std::string value;
    const absl::Status status = cluster().Command(*from, {"GET", key}, &value);
    if (status.ok()) {
      EXPECT_EQ(value, "v-" + key);
      continue;
    }
    ++asked;
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(value, ask);
    EXPECT_EQ(cluster().Command(to, {"GET", key}, &value).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(value, moved_to_source);
    ASSERT_OK(cluster().CommandAsking(to, {"GET", key}, &value));
    EXPECT_EQ(value, "v-" + key);
  }
  EXPECT_EQ(asked, 2);
  // A new key of a migrating slot goes to the target.
  std::string reply;
  EXPECT_FALSE(cluster().Command(*from, {"SET", tag + ":new", "x"}, &reply).ok());
  EXPECT_EQ(reply, ask);

  const Clock::time_point start = Clock::now();
  ASSERT_OK(cluster().MigrateKeysAndFinish(slot, *from, to));
  std::cout << "[ harness  ] finishing the migration took " << MillisSince(start) << " ms\n";
  absl::StatusOr<int> owner = cluster().MasterOfSlot(slot);
  ASSERT_TRUE(owner.ok()) << owner.status();
  EXPECT_EQ(*owner, to);
  std::string count;
  ASSERT_OK(cluster().Command(to, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}, &count));
  EXPECT_EQ(count, "5");
  for (const std::string& key : keys) {
    std::string value;
    EXPECT_FALSE(cluster().Command(*from, {"GET", key}, &value).ok());
    EXPECT_EQ(value, absl::StrCat("MOVED ", slot, " ", cluster().address(to)));
    ASSERT_OK(cluster().Command(to, {"GET", key}, &value));
    EXPECT_EQ(value, "v-" + key);
  }
}

}  // namespace
}  // namespace pantry::testing
