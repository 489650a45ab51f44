// The Redis Cluster online store and coordinator against a real local
// cluster (three masters, a replica each; tests/support/redis_cluster.h),
// started once for the whole binary: slot routing, MOVED after a reshard,
// ASK during a slot migration, a master killed and its replica promoted,
// WAIT, and materialization's coordination keys.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/time.h"
#include "server/materialize/coordinator.h"
#include "server/online/online_store.h"
#include "server/online/redis_cluster.h"
#include "server/online/row.h"
#include "server/value/encoding.h"
#include "server/value/value.h"
#include "tests/support/redis_cluster.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;
using testing::RedisCluster;

constexpr Micros kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

Micros Deadline() { return NowMicros() + 10 * kMicrosPerSecond; }

std::string RowKey(int64_t user_id, absl::string_view view) {
  const Value v = Value::Int64(user_id);
  return OnlineKey("shop", view, {JoinKey{"user_id", ValueType::kInt64}}, {&v});
}

ViewWrite Write(int64_t user_id, const std::string& view, Micros ts, int64_t clicks) {
  return MakeViewWrite(RowKey(user_id, view), view, ts,
                       {{"clicks", EncodeValue(Value::Int64(clicks))}});
}

ViewRead Read(int64_t user_id, const std::string& view) {
  return MakeViewRead(RowKey(user_id, view), view, {"clicks"});
}

// The clicks a read result holds; nullopt when no row.
std::optional<int64_t> Clicks(const ViewReadResult& r) {
  if (!r.found || r.values.empty() || !r.values[0].has_value()) return std::nullopt;
  absl::StatusOr<Value> v = DecodeValue(*r.values[0]);
  if (!v.ok()) return std::nullopt;
  return v->get<int64_t>();
}

// User ids whose row keys hash to `slot`.
std::vector<int64_t> UsersInSlot(int slot, size_t n) {
  std::vector<int64_t> out;
  for (int64_t u = 0; out.size() < n; ++u) {
    if (internal::KeySlot(RowKey(u, "stats")) == slot) out.push_back(u);
  }
  return out;
}

class ClusterStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster();
    const absl::Status started = cluster_->Start(3, 1, 1000);
    ASSERT_TRUE(started.ok()) << started;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    ASSERT_TRUE(cluster_->WaitUntilHealthy(30000).ok());
  }

  static OnlineStoreConfig Config() {
    OnlineStoreConfig config;
    config.type = OnlineStoreConfig::Type::kRedisCluster;
    // One seed is enough: the rest of the cluster is learnt from it.
    config.nodes.emplace_back("127.0.0.1", cluster_->port(cluster_->Masters().front()));
    config.pool_size = 2;
    return config;
  }

  static std::unique_ptr<OnlineStore> NewStore(const OnlineStoreConfig& config = Config()) {
    auto store = CreateOnlineStore(config, "shop");
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(*store);
  }

  static RedisCluster* cluster_;
};

RedisCluster* ClusterStoreTest::cluster_ = nullptr;

TEST(KeySlot, FollowsTheSpecification) {
  EXPECT_EQ(internal::KeySlot("123456789"), 12739);
  EXPECT_EQ(internal::KeySlot("{user1000}.following"), internal::KeySlot("user1000"));
  EXPECT_EQ(internal::KeySlot("foo{}{bar}"), RedisCluster::KeySlot("foo{}{bar}"));
  EXPECT_EQ(internal::KeySlot("foo{{bar}}zap"), internal::KeySlot("{bar"));
  // Every view of an entity shares its slot; the coordination keys share one.
  EXPECT_EQ(internal::KeySlot(RowKey(7, "stats")), internal::KeySlot(RowKey(7, "profile")));
  EXPECT_EQ(internal::KeySlot(WatermarksKey("shop")), internal::KeySlot(LeaseKey("shop", "v")));
  EXPECT_EQ(internal::KeySlot(LeaseSeqKey("shop")), internal::KeySlot(LeaseKey("shop", "v")));
}

TEST_F(ClusterStoreTest, AgreesWithTheServerOnSlots) {
  for (int64_t u = 0; u < 50; ++u) {
    const std::string key = RowKey(u, "stats");
    absl::StatusOr<int> server = cluster_->ServerKeySlot(key);
    ASSERT_TRUE(server.ok()) << server.status();
    EXPECT_EQ(internal::KeySlot(key), *server) << key;
  }
}

TEST_F(ClusterStoreTest, WritesAndReadsEntitiesOnEveryMasterNewerWins) {
  auto store = NewStore();
  std::vector<ViewWrite> writes;
  std::vector<ViewRead> reads;
  for (int64_t u = 0; u < 3000; ++u) {
    writes.push_back(Write(u, "stats", kT0 + 10, u));
    writes.push_back(Write(u, "profile", kT0 + 10, 2 * u));
    reads.push_back(Read(u, "stats"));
    reads.push_back(Read(u, "profile"));
  }
  absl::StatusOr<WriteResult> written = store->WriteSync(writes, Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 6000);

  // Older and equal event times are skipped; newer land.
  absl::StatusOr<WriteResult> again = store->WriteSync(
      {Write(1, "stats", kT0 + 9, -1), Write(2, "stats", kT0 + 10, -1),
       Write(3, "stats", kT0 + 11, 333)},
      Deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->written, 1);
  EXPECT_EQ(again->skipped_older, 2);

  reads.push_back(Read(999'999, "stats"));  // never written
  absl::StatusOr<std::vector<ViewReadResult>> got = store->ReadSync(reads, Deadline());
  ASSERT_TRUE(got.ok()) << got.status();
  for (int64_t u = 0; u < 3000; ++u) {
    EXPECT_EQ(Clicks((*got)[2 * u]), u == 3 ? 333 : u) << u;
    EXPECT_EQ(Clicks((*got)[2 * u + 1]), 2 * u) << u;
  }
  EXPECT_FALSE(got->back().found);

  // The rows are spread over all three masters.
  std::map<int, int> per_master;
  for (int64_t u = 0; u < 3000; ++u) {
    absl::StatusOr<int> m = cluster_->MasterOfSlot(internal::KeySlot(RowKey(u, "stats")));
    ASSERT_TRUE(m.ok());
    ++per_master[*m];
  }
  EXPECT_EQ(per_master.size(), 3u);

  // The layout key was set on first use.
  std::string layout;
  const int slot = internal::KeySlot(LayoutKey("shop"));
  absl::StatusOr<int> owner = cluster_->MasterOfSlot(slot);
  ASSERT_TRUE(owner.ok());
  ASSERT_TRUE(cluster_->Command(*owner, {"GET", LayoutKey("shop")}, &layout).ok());
  EXPECT_EQ(layout, "2");
  EXPECT_TRUE(store->CheckLayout(Deadline()).ok());
}

TEST_F(ClusterStoreTest, RefusesAClusterInAnotherLayout) {
  const std::string key = LayoutKey("elsewhere");
  absl::StatusOr<int> owner = cluster_->MasterOfSlot(internal::KeySlot(key));
  ASSERT_TRUE(owner.ok());
  ASSERT_TRUE(cluster_->Command(*owner, {"SET", key, "migrating"}).ok());
  auto store = CreateOnlineStore(Config(), "elsewhere");
  ASSERT_TRUE(store.ok());
  const absl::Status layout = (*store)->CheckLayout(Deadline());
  EXPECT_EQ(layout.code(), absl::StatusCode::kFailedPrecondition) << layout;
  auto read = (*store)->ReadSync({Read(1, "stats")}, Deadline());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(read.status().message(), HasSubstr("pantry online migrate"));
}

TEST_F(ClusterStoreTest, FollowsAskDuringASlotMigration) {
  auto store = NewStore();
  const int slot = internal::KeySlot(RowKey(424242, "stats"));
  const std::vector<int64_t> users = UsersInSlot(slot, 6);
  std::vector<ViewWrite> writes;
  for (int64_t u : users) writes.push_back(Write(u, "stats", kT0, u + 1));
  ASSERT_TRUE(store->WriteSync({writes.begin(), writes.begin() + 4}, Deadline()).ok());

  absl::StatusOr<int> from = cluster_->MasterOfSlot(slot);
  ASSERT_TRUE(from.ok());
  const std::vector<int> masters = cluster_->Masters();
  const int to = *std::find_if(masters.begin(), masters.end(), [&](int m) { return m != *from; });
  ASSERT_TRUE(cluster_->BeginSlotMigration(slot, *from, to).ok());
  absl::StatusOr<int> moved = cluster_->MigrateSomeKeys(slot, *from, to, 2);
  ASSERT_TRUE(moved.ok()) << moved.status();
  ASSERT_EQ(*moved, 2);

  // Half the keys answer ASK from the old owner: all are read right, and
  // the keys not yet written land (on the node ASK names).
  std::vector<ViewRead> reads;
  for (int64_t u : users) reads.push_back(Read(u, "stats"));
  auto mid = store->ReadSync(reads, Deadline());
  ASSERT_TRUE(mid.ok()) << mid.status();
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(Clicks((*mid)[i]), users[i] + 1);
  EXPECT_FALSE((*mid)[4].found);
  // One script per slot: a batch of moved and unmoved keys gets TRYAGAIN
  // until the migration ends, so only the not-yet-written keys (which ASK
  // sends to the importing node) are written now.
  absl::StatusOr<WriteResult> late = store->WriteSync({writes[4]}, Deadline());
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->written, 1);

  ASSERT_TRUE(cluster_->MigrateKeysAndFinish(slot, *from, to).ok());
  ASSERT_TRUE(store->WriteSync({writes[5]}, Deadline()).ok());
  auto after = store->ReadSync(reads, Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  for (size_t i = 0; i < users.size(); ++i) EXPECT_EQ(Clicks((*after)[i]), users[i] + 1) << i;
}

TEST_F(ClusterStoreTest, FollowsMovedAfterAReshard) {
  auto store = NewStore();
  std::vector<ViewWrite> writes;
  std::vector<ViewRead> reads;
  for (int64_t u = 0; u < 2000; ++u) {
    writes.push_back(Write(u, "moved", kT0, u));
    reads.push_back(Read(u, "moved"));
  }
  ASSERT_TRUE(store->WriteSync(writes, Deadline()).ok());
  ASSERT_TRUE(store->ReadSync(reads, Deadline()).ok());  // the slot map is learnt

  const std::vector<int> masters = cluster_->Masters();
  ASSERT_GE(masters.size(), 2u);
  const absl::Status resharded = cluster_->Reshard(masters[0], masters[1], 500);
  ASSERT_TRUE(resharded.ok()) << resharded;

  auto got = store->ReadSync(reads, Deadline());
  ASSERT_TRUE(got.ok()) << got.status();
  for (int64_t u = 0; u < 2000; ++u) EXPECT_EQ(Clicks((*got)[u]), u) << u;
  std::vector<ViewWrite> newer;
  for (int64_t u = 0; u < 2000; ++u) newer.push_back(Write(u, "moved", kT0 + 1, u + 7));
  absl::StatusOr<WriteResult> w = store->WriteSync(newer, Deadline());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->written, 2000);
}

TEST_F(ClusterStoreTest, WaitReplicasConfirmsOrFails) {
  OnlineStoreConfig config = Config();
  config.wait_replicas = 1;
  auto store = NewStore(config);
  absl::StatusOr<WriteResult> w = store->WriteSync({Write(5, "waited", kT0, 5)}, Deadline());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->written, 1);

  config.wait_replicas = 2;  // each master has one replica
  config.wait_timeout = 50'000;
  auto greedy = NewStore(config);
  absl::StatusOr<WriteResult> short_of = greedy->WriteSync({Write(6, "waited", kT0, 6)}, Deadline());
  EXPECT_EQ(short_of.status().code(), absl::StatusCode::kUnavailable) << short_of.status();
  EXPECT_THAT(short_of.status().message(), HasSubstr("of the 2 replicas"));
  // The write itself was applied on the master.
  auto read = store->ReadSync({Read(6, "waited")}, Deadline());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(Clicks((*read)[0]), 6);
}

TEST_F(ClusterStoreTest, CoordinatorKeepsLeasesAndWatermarksOnTheCluster) {
  auto coordinator = materialize::NewRedisCoordinator(Config());
  auto token = coordinator->Acquire("shop", "stats", "replica-a", 10 * kMicrosPerSecond);
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_TRUE(token->has_value());
  auto other = coordinator->Acquire("shop", "stats", "replica-b", 10 * kMicrosPerSecond);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  ASSERT_TRUE(coordinator->Advance("shop", "stats", "replica-a", **token, kT0).ok());
  EXPECT_EQ(coordinator->Advance("shop", "stats", "replica-b", **token, kT0 + 1).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(coordinator->Release("shop", "stats", "replica-a", **token).ok());
  auto watermarks = coordinator->Watermarks("shop");
  ASSERT_TRUE(watermarks.ok()) << watermarks.status();
  EXPECT_EQ((*watermarks)["stats"], kT0);
  auto next = coordinator->Acquire("shop", "stats", "replica-b", 10 * kMicrosPerSecond);
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_GT(**next, **token);
}

// Last: it kills a master. Requests to its slots fail while no master owns
// them and succeed again, by themselves, once the replica is promoted.
TEST_F(ClusterStoreTest, SurvivesAMasterKilled) {
  OnlineStoreConfig config = Config();
  config.request_timeout = 300'000;
  auto store = NewStore(config);
  auto coordinator = materialize::NewRedisCoordinator(config);
  const int slot = internal::KeySlot(RowKey(77, "stats"));
  absl::StatusOr<int> victim = cluster_->MasterOfSlot(slot);
  ASSERT_TRUE(victim.ok());
  std::vector<ViewWrite> writes;
  std::vector<ViewRead> reads;
  for (int64_t u = 0; u < 300; ++u) {
    writes.push_back(Write(u, "failover", kT0, u));
    reads.push_back(Read(u, "failover"));
  }
  // Written with WAIT, so the replica has them when the master dies.
  OnlineStoreConfig waiting = config;
  waiting.wait_replicas = 1;
  ASSERT_TRUE(NewStore(waiting)->WriteSync(writes, Deadline()).ok());
  ASSERT_TRUE(store->ReadSync(reads, Deadline()).ok());
  // WAIT can count a replica that has not applied the writes yet in the
  // first moments after a sync (Redis 7.0): wait until the victim's replica
  // holds every row of the victim's slots before killing it.
  absl::StatusOr<std::vector<int>> replicas = cluster_->ReplicasOf(*victim);
  ASSERT_TRUE(replicas.ok() && replicas->size() == 1u);
  absl::StatusOr<std::vector<int>> slot_map = cluster_->SlotMap();
  ASSERT_TRUE(slot_map.ok());
  for (int64_t u = 0; u < 300; ++u) {
    const std::string key = RowKey(u, "failover");
    if ((*slot_map)[internal::KeySlot(key)] != *victim) continue;
    std::string exists;
    for (int i = 0; i < 250 && exists != "1"; ++i) {
      (void)cluster_->CommandReadonly((*replicas)[0], {"EXISTS", key}, &exists);
      if (exists != "1") std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(exists, "1") << "the replica never received " << key;
  }

  cluster_->Kill(*victim);
  const auto killed = std::chrono::steady_clock::now();
  int failures = 0;
  int wrong = 0;
  std::optional<std::chrono::steady_clock::time_point> recovered;
  while (std::chrono::steady_clock::now() - killed < std::chrono::seconds(30)) {
    auto got = store->ReadSync(reads, NowMicros() + 200'000);
    if (!got.ok()) {
      ++failures;
      EXPECT_TRUE(got.status().code() == absl::StatusCode::kUnavailable ||
                  got.status().code() == absl::StatusCode::kDeadlineExceeded)
          << got.status();
      continue;
    }
    for (int64_t u = 0; u < 300; ++u) wrong += Clicks((*got)[u]) != u;
    recovered = std::chrono::steady_clock::now();
    break;
  }
  ASSERT_TRUE(recovered.has_value()) << "reads did not recover within 30 s";
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(failures, 0);  // the victim served some of the keys
  const auto outage =
      std::chrono::duration_cast<std::chrono::milliseconds>(*recovered - killed).count();
  std::printf("failover: reads failed for %lld ms (node timeout 1000 ms), %d failed reads\n",
              static_cast<long long>(outage), failures);
  ASSERT_TRUE(cluster_->WaitUntilHealthy(30000).ok());
  // Writes and the coordinator work on the promoted master too.
  absl::StatusOr<WriteResult> w = store->WriteSync({Write(77, "failover", kT0 + 1, 7777)}, Deadline());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->written, 1);
  EXPECT_TRUE(coordinator->Watermarks("shop").ok());
  // The old master comes back as a replica; nothing changes for readers.
  ASSERT_TRUE(cluster_->Restart(*victim).ok());
  ASSERT_TRUE(cluster_->WaitUntilHealthy(30000).ok());
  auto after = store->ReadSync({Read(77, "failover")}, Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(Clicks((*after)[0]), 7777);
}

}  // namespace
}  // namespace pantry
