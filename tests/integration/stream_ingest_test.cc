// Stream sources against a real redis-server (server/ingest/stream_*.h):
// entries land online and in the offline history, bad ones go to the
// dead-letter stream and come back after a fix; two replicas share a group
// and count each entry once; a dead consumer's entries are claimed; a batch
// logged twice (a consumer died between its log and its acknowledgement, and
// another took the entries over) counts once, whichever copy is
// acknowledged; and Redis stopped and started mid-stream loses nothing.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/dead_letters.h"
#include "server/ingest/ingest_log.h"
#include "server/ingest/log_batch.h"
#include "server/ingest/stream_ingest.h"
#include "server/offline/columns.h"
#include "server/online/online_store.h"
#include "server/parquet/reader.h"
#include "server/serving/online_serving.h"
#include "server/value/encoding.h"
#include "tests/support/offline_values.h"
#include "tests/support/raw_redis.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_server.h"

namespace pantry::ingest {
namespace {

namespace fs = std::filesystem;
using ::pantry::testing::RawRedis;
using ::pantry::testing::RedisServer;
using ::testing::HasSubstr;

constexpr Micros kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

std::string Repo(int port, const std::string& extra_source = "") {
  return absl::StrCat(
      "project: streams\n"
      "online_store: {type: memory}\n"
      "offline_store: {path: offline}\n"
      "entities:\n"
      "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
      "sources:\n"
      "  - name: clicks\n"
      "    type: redis_stream\n"
      "    stream: clicks\n"
      "    group: pantry\n"
      "    redis: 127.0.0.1:",
      port,
      "\n"
      "    timestamp_field: ts\n"
      "    claim_idle: 1s\n"
      "    batch: 100\n"
      "    schema:\n"
      "      - {name: user_id, dtype: INT64}\n"
      "      - {name: clicks, dtype: INT64}\n"
      "      - {name: score, dtype: DOUBLE}\n",
      extra_source,
      "feature_views:\n"
      "  - name: stats\n"
      "    entities: [user]\n"
      "    source: clicks\n"
      "    schema:\n"
      "      - {name: clicks, dtype: INT64}\n"
      "      - {name: score, dtype: DOUBLE}\n");
}

// One pantryd's ingestion: its own log and consumers, over a shared online
// store and offline folder.
struct Replica {
  Replica(const std::string& wal_dir, const RegistryHolder* registry, OnlineStore* store,
          bool start_streams = true, int64_t max_record_bytes = 64LL << 20) {
    IngestLogOptions o;
    o.dir = wal_dir;
    o.max_record_bytes = max_record_bytes;
    o.compact_every = 100 * 1000;
    o.sync = false;
    log = *IngestLog::Open(o, registry, store);
    log->Start();
    StreamConsumerOptions so;
    so.block = 100 * 1000;
    so.status_every = 100 * 1000;
    so.retry_pause = 50 * 1000;
    streams = std::make_unique<StreamIngest>(registry, store, log.get(), nullptr, so,
                                             100 * 1000);
    if (start_streams) streams->Start();
  }
  ~Replica() {
    streams.reset();
    log.reset();
  }
  SourceStatus Status() {
    std::vector<SourceStatus> all = streams->Status();
    return all.empty() ? SourceStatus{} : all.front();
  }
  std::unique_ptr<IngestLog> log;
  std::unique_ptr<StreamIngest> streams;
};

class StreamIngestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new RedisServer();
    ASSERT_TRUE(redis_->Start(0, /*persist=*/true).ok());
  }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }

  void SetUp() override {
    std::string tmpl = "/tmp/pantry-stream-test-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    RawRedis r(redis_->port());
    r.Command({"FLUSHALL"});
    Apply(Repo(redis_->port()));
    OnlineStoreConfig config;
    config.type = OnlineStoreConfig::Type::kMemory;
    store_ = std::move(*CreateOnlineStore(config, "streams"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Apply(const std::string& yaml) {
    auto registry = ParseRegistry(yaml, "repo.yaml", dir_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    if (holder_ == nullptr) {
      holder_ = std::make_unique<RegistryHolder>(*registry);
    } else {
      holder_->Set(*registry);
    }
  }

  // XADDs entries user i, clicks i, for i in [first, last).
  static void Produce(int first, int last) {
    RawRedis r(redis_->port());
    for (int i = first; i < last; ++i) {
      r.Command({"XADD", "clicks", "*", "user_id", std::to_string(i % 97), "clicks",
                 std::to_string(i), "score", "0.5", "ts", std::to_string(kT0 + i)});
    }
  }

  // clicks -> how many times it is in the offline history of `stats`.
  std::map<int64_t, int> Offline() {
    return ::pantry::testing::CountInt64Values(fs::path(dir_) / "offline/views/stats", "clicks");
  }

  // Waits (bounded) until the offline history holds `n` rows.
  std::map<int64_t, int> WaitForOffline(size_t n) {
    std::map<int64_t, int> got;
    for (int i = 0; i < 400; ++i) {
      got = Offline();
      size_t total = 0;
      for (const auto& [k, v] : got) total += v;
      if (total >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return got;
  }

  static void ExpectEachOnce(const std::map<int64_t, int>& got, int first, int last) {
    EXPECT_EQ(got.size(), static_cast<size_t>(last - first));
    int twice = 0;
    for (const auto& [clicks, n] : got) {
      EXPECT_GE(clicks, first);
      EXPECT_LT(clicks, last);
      if (n != 1) ++twice;
    }
    EXPECT_EQ(twice, 0) << "values in the offline history more than once";
  }

  int64_t Pending() {
    RawRedis r(redis_->port());
    auto reply = r.Command({"XPENDING", "clicks", "pantry"});
    return reply && reply->type == REDIS_REPLY_ARRAY ? reply->element[0]->integer : -1;
  }

  // The online clicks of `user`, or -1.
  int64_t OnlineClicks(int64_t user) {
    const FeatureView* view = holder_->Get()->FindFeatureView("stats");
    const Value key = Value::Int64(user);
    auto read = store_->ReadSync(
        {MakeViewRead(OnlineKey("streams", "stats", view->join_keys, {&key}), "stats",
                      {"clicks"})},
        NowMicros() + kMicrosPerSecond);
    if (!read.ok() || !(*read)[0].found || !(*read)[0].values[0]) return -1;
    return DecodeValue(*(*read)[0].values[0])->get<int64_t>();
  }

  static RedisServer* redis_;
  std::string dir_;
  std::unique_ptr<RegistryHolder> holder_;
  std::unique_ptr<OnlineStore> store_;
};

RedisServer* StreamIngestTest::redis_ = nullptr;

TEST_F(StreamIngestTest, EntriesLandInBothStoresAndBadOnesAreDeadLettered) {
  Replica replica(dir_ + "/wal", holder_.get(), store_.get());
  Produce(0, 970);
  RawRedis r(redis_->port());
  // One JSON entry; three bad ones, the stream going on past them.
  r.Command({"XADD", "clicks", "*", "json",
             absl::StrCat(R"({"user_id": 500, "clicks": 970, "score": 1.5, "ts": )", kT0 + 970,
                          "}")});
  r.Command({"XADD", "clicks", "*", "user_id", "x", "clicks", "1", "score", "1", "ts", "1"});
  r.Command({"XADD", "clicks", "*", "user_id", "7", "click_count", "971", "score", "1", "ts",
             std::to_string(kT0 + 971)});
  r.Command({"XADD", "clicks", "*", "json", "{not json"});
  Produce(972, 1000);

  std::map<int64_t, int> got = WaitForOffline(999);
  EXPECT_EQ(got.count(971), 0u);
  got[971] = 1;  // dead-lettered, checked below
  ExpectEachOnce(got, 0, 1000);
  EXPECT_EQ(OnlineClicks(500), 970);        // the JSON entry, newest for user 500
  EXPECT_EQ(OnlineClicks(999 % 97), 999);   // newer-wins: the latest entry of the user
  for (int i = 0; i < 100 && Pending() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Pending(), 0);

  auto page = ListDeadLetters(*holder_->Get(), "clicks", 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->stream, "{clicks}:dead-letters");
  ASSERT_EQ(page->total, 3);
  ASSERT_EQ(page->entries.size(), 3u);
  EXPECT_THAT(page->entries[0].reason, HasSubstr("field 'user_id': 'x' is not a valid INT64"));
  EXPECT_THAT(page->entries[1].reason, HasSubstr("lacks field 'clicks'"));
  EXPECT_THAT(page->entries[2].reason, HasSubstr("does not hold a JSON object"));
  EXPECT_FALSE(page->entries[1].entry_id.empty());
  const SourceStatus status = replica.Status();
  EXPECT_EQ(status.dead_letters, 3);
  EXPECT_EQ(status.rows, 999);
  EXPECT_EQ(status.watermark, kT0 + 999);

  // The producer's field name is mapped, and the dead letter replayed.
  Apply(Repo(redis_->port(), "    field_map: {click_count: clicks}\n"));
  ASSERT_EQ(holder_->Get()->sources.at("clicks").stream.field_map.size(), 1u);
  auto replayed = ReplayDeadLetters(*holder_->Get(), "clicks", {page->entries[1].id}, 0);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->replayed, 1);
  got = WaitForOffline(1000);
  ExpectEachOnce(got, 0, 1000);
  page = ListDeadLetters(*holder_->Get(), "clicks", 10, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 2);
  for (const DeadLetterEntry& e : page->entries) EXPECT_THAT(e.reason, ::testing::Not(HasSubstr("clicks'")));
  // Replaying an id that is gone is reported, not an error.
  replayed = ReplayDeadLetters(*holder_->Get(), "clicks", {"1-1"}, 0);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->missing, 1);
  EXPECT_EQ(ListDeadLetters(*holder_->Get(), "stats", 1, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A batch whose log record would be over the log's limit is split until it
// fits; an entry too large alone is a dead letter, and the stream goes on.
// An aggregation view over the stream, beside a plain one: every entry is
// one event of its user's windows online, and one row of the history.
TEST_F(StreamIngestTest, AggregationViewsAggregateTheEntries) {
  Apply(Repo(redis_->port()) +
        "  - name: click_aggs\n"
        "    entities: [user]\n"
        "    source: clicks\n"
        "    aggregations:\n"
        "      - {name: entries_1d, function: count, window: 1d}\n"
        "      - {name: clicks_1d, function: sum, column: clicks, window: 1d}\n"
        "      - {name: last_score, function: last, column: score, window: 1d}\n");
  Replica replica(dir_ + "/wal", holder_.get(), store_.get());
  const Micros now = NowMicros();
  RawRedis r(redis_->port());
  std::map<int64_t, int64_t> sums;
  for (int i = 0; i < 300; ++i) {
    r.Command({"XADD", "clicks", "*", "user_id", std::to_string(i % 10), "clicks",
               std::to_string(i), "score", std::to_string(i % 7), "ts",
               std::to_string(now - (300 - i) * 1000)});
    sums[i % 10] += i;
  }
  ExpectEachOnce(WaitForOffline(300), 0, 300);
  for (int i = 0; i < 100 && Pending() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Pending(), 0);
  OnlineServing serving(holder_.get(), store_.get());
  OnlineFeaturesRequest req;
  req.feature_refs = {"click_aggs:*"};
  req.entities = {{"user_id", {}}};
  for (int64_t u = 0; u < 10; ++u) req.entities[0].second.push_back(Value::Int64(u));
  absl::StatusOr<OnlineFeaturesResponse> got = absl::UnknownError("no answer");
  serving.GetOnlineFeatures(req, NowMicros() + kMicrosPerSecond,
                            [&](absl::StatusOr<OnlineFeaturesResponse> x) { got = std::move(x); });
  ASSERT_TRUE(got.ok()) << got.status();
  for (int64_t u = 0; u < 10; ++u) {
    EXPECT_EQ(got->columns[0].values[static_cast<size_t>(u)], Value::Int64(30)) << u;
    EXPECT_EQ(got->columns[1].values[static_cast<size_t>(u)], Value::Int64(sums[u])) << u;
    EXPECT_EQ(got->columns[2].values[static_cast<size_t>(u)],
              Value::Double(static_cast<double>((290 + u) % 7)))
        << u;
  }
}

TEST_F(StreamIngestTest, BatchesOverTheRecordLimitAreSplit) {
  {
    Replica replica(dir_ + "/wal-a", holder_.get(), store_.get(), true, /*max_record_bytes=*/2048);
    Produce(0, 300);
    ExpectEachOnce(WaitForOffline(300), 0, 300);
    EXPECT_EQ(replica.Status().dead_letters, 0);
  }
  Replica tiny(dir_ + "/wal-b", holder_.get(), store_.get(), true, /*max_record_bytes=*/40);
  Produce(300, 303);
  for (int i = 0; i < 200 && tiny.Status().dead_letters < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto page = ListDeadLetters(*holder_->Get(), "clicks", 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->total, 3);
  EXPECT_THAT(page->entries[0].reason, HasSubstr("too large for one log record"));
  EXPECT_EQ(Pending(), 0);
}

TEST_F(StreamIngestTest, TwoReplicasShareTheGroupAndCountEachEntryOnce) {
  Replica a(dir_ + "/wal-a", holder_.get(), store_.get());
  Replica b(dir_ + "/wal-b", holder_.get(), store_.get());
  std::thread p1([] { Produce(0, 2500); });
  std::thread p2([] { Produce(2500, 5000); });
  p1.join();
  p2.join();
  ExpectEachOnce(WaitForOffline(5000), 0, 5000);
  EXPECT_EQ(a.Status().rows + b.Status().rows, 5000);
  EXPECT_NE(a.Status().consumer, b.Status().consumer);
}

TEST_F(StreamIngestTest, ADeadConsumersEntriesAreClaimed) {
  Produce(0, 300);
  RawRedis r(redis_->port());
  r.Command({"XGROUP", "CREATE", "clicks", "pantry", "0"});
  // A consumer that read 200 entries and died.
  auto read = r.Command({"XREADGROUP", "GROUP", "pantry", "ghost", "COUNT", "200", "STREAMS",
                         "clicks", ">"});
  ASSERT_NE(read, nullptr);
  ASSERT_EQ(Pending(), 200);
  Replica replica(dir_ + "/wal", holder_.get(), store_.get());
  ExpectEachOnce(WaitForOffline(300), 0, 300);
  EXPECT_EQ(replica.Status().claimed, 200);
  for (int i = 0; i < 100 && Pending() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Pending(), 0);
}

// The acknowledgement script by itself: '1' exactly for the batch's entries
// still pending for this consumer (others' and acknowledged ones '0', a
// repeated id once), found among more of this consumer's pending entries than
// one XPENDING page; asked again, the same answer.
TEST_F(StreamIngestTest, TheAckScriptDecidesByThisConsumersPendingEntries) {
  Produce(0, 2600);
  RawRedis r(redis_->port());
  r.Command({"XGROUP", "CREATE", "clicks", "pantry", "0"});
  auto ids = [&](const std::string& consumer, int n) {
    std::vector<std::string> out;
    auto read = r.Command({"XREADGROUP", "GROUP", "pantry", consumer, "COUNT", std::to_string(n),
                           "STREAMS", "clicks", ">"});
    const redisReply& entries = *read->element[0]->element[1];
    for (size_t i = 0; i < entries.elements; ++i) out.emplace_back(entries.element[i]->element[0]->str);
    return out;
  };
  const std::vector<std::string> first = ids("me", 1200);
  const std::vector<std::string> other = ids("other", 100);
  const std::vector<std::string> last = ids("me", 1300);
  r.Command({"XACK", "clicks", "pantry", first[5]});
  // The batch: a few of the first entries, one twice, one acknowledged, one
  // of the other consumer's, and the last entry read.
  std::vector<std::string> batch = {first[0], first[5], first[7], other[3], first[7], last.back()};
  std::vector<std::string> args = {"EVAL", StreamConsumer::kAckScript, "2", "clicks",
                                   AcksKey("clicks", "me"), "pantry", "me", "42", first[0],
                                   last.back()};
  args.insert(args.end(), batch.begin(), batch.end());
  EXPECT_EQ(r.Text(args), "101001");
  EXPECT_EQ(r.Text(args), "101001") << "the recorded answer";
  auto pending = r.Command({"XPENDING", "clicks", "pantry"});
  EXPECT_EQ(pending->element[0]->integer, 2600 - 1 - 3);
  EXPECT_EQ(r.Text({"HGET", AcksKey("clicks", "me"), "42"}), "101001");
}

// A consumer that logged a batch and died before acknowledging it: `late`
// says whether another replica took its entries over before it came back.
class LoggedTwiceTest : public StreamIngestTest, public ::testing::WithParamInterface<bool> {};

TEST_P(LoggedTwiceTest, CountsOnce) {
  const bool taken_over = GetParam();
  Produce(0, 50);
  std::string consumer;
  {
    // A's log, holding a batch of the 50 entries it read and never acknowledged.
    Replica a(dir_ + "/wal-a", holder_.get(), store_.get(), /*start_streams=*/false);
    consumer = a.streams->consumer();
    RawRedis r(redis_->port());
    r.Command({"XGROUP", "CREATE", "clicks", "pantry", "0"});
    auto read = r.Command({"XREADGROUP", "GROUP", "pantry", consumer, "COUNT", "50", "STREAMS",
                           "clicks", ">"});
    ASSERT_TRUE(read && read->type == REDIS_REPLY_ARRAY);
    const redisReply& entries = *read->element[0]->element[1];
    ASSERT_EQ(entries.elements, 50u);
    StreamBatch batch;
    batch.source = "clicks";
    batch.logged_at = NowMicros();
    batch.views.resize(1);
    LogBatch& rows = batch.views[0].batch;
    rows.view = "stats";
    rows.online = true;
    rows.columns = {"user_id", "clicks", "score"};
    for (size_t i = 0; i < entries.elements; ++i) {
      batch.entry_ids.emplace_back(entries.element[i]->element[0]->str);
      rows.rows.push_back(
          {kT0 + static_cast<Micros>(i),
           {Value::Int64(static_cast<int64_t>(i % 97)), Value::Int64(static_cast<int64_t>(i)),
            Value::Double(0.5)}});
      batch.views[0].entry_of_row.push_back(static_cast<uint32_t>(i));
    }
    std::string record;
    EncodeStreamBatch(batch, &record);
    a.log->ledger()->Appending();
    auto lsn = a.log->wal()->Append(record);
    ASSERT_TRUE(lsn.ok());
    a.log->ledger()->Logged(*lsn, "clicks", 50);
  }  // A dies: its batch is undecided, so nothing is compacted
  EXPECT_TRUE(Offline().empty());
  EXPECT_EQ(Pending(), 50);
  if (taken_over) {
    Replica b(dir_ + "/wal-b", holder_.get(), store_.get());
    ExpectEachOnce(WaitForOffline(50), 0, 50);
    EXPECT_EQ(b.Status().claimed, 50);
  }
  {
    Replica a(dir_ + "/wal-a", holder_.get(), store_.get());
    // A decides its batch at start: the entries count from A only when they
    // were still pending for A. (The log hands its batches to the ledger
    // while it rewrites them online, after Open.)
    for (int i = 0; i < 200 && !a.log->replayed(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_TRUE(a.log->replayed());
    for (int i = 0; i < 200 && a.log->ledger()->size() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_EQ(a.log->ledger()->size(), 0u) << "A's batch was not decided and compacted";
    ExpectEachOnce(WaitForOffline(50), 0, 50);
    EXPECT_EQ(Pending(), 0);
    // Decisions are forgotten once compacted.
    RawRedis r(redis_->port());
    for (int i = 0; i < 200 && r.Integer({"HLEN", AcksKey("clicks", consumer)}) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_EQ(r.Integer({"HLEN", AcksKey("clicks", consumer)}), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ExpectEachOnce(Offline(), 0, 50);
}

INSTANTIATE_TEST_SUITE_P(TakenOverOrNot, LoggedTwiceTest, ::testing::Bool());

TEST_F(StreamIngestTest, RedisStoppedAndStartedMidStreamLosesNothing) {
  Replica replica(dir_ + "/wal", holder_.get(), store_.get());
  std::atomic<int> produced{0};
  std::thread producer([&] {
    for (int i = 0; i < 3000; ++i) {
      // Retried until Redis takes it (a lost reply could add it twice; the
      // count below is of the stream's own entries).
      while (true) {
        RawRedis r(redis_->port());
        auto reply = r.ok() ? r.Command({"XADD", "clicks", "*", "user_id",
                                         std::to_string(i % 97), "clicks", std::to_string(i),
                                         "score", "0.5", "ts", std::to_string(kT0 + i)})
                            : RawRedis::Reply(nullptr, freeReplyObject);
        if (reply && reply->type == REDIS_REPLY_STRING) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      produced = i + 1;
    }
  });
  while (produced < 1000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  redis_->Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(redis_->Start(redis_->port(), /*persist=*/true).ok());
  producer.join();
  RawRedis r(redis_->port());
  const int64_t in_stream = r.Integer({"XLEN", "clicks"});
  ASSERT_GE(in_stream, 3000);
  std::map<int64_t, int> got = WaitForOffline(static_cast<size_t>(in_stream));
  EXPECT_EQ(got.size(), 3000u);
  int64_t total = 0;
  for (const auto& [k, n] : got) total += n;
  EXPECT_EQ(total, in_stream) << "every entry of the stream once";
  EXPECT_FALSE(replica.Status().last_error.empty()) << "the outage was seen";
}

// On a Redis Cluster (the online store's, no `redis:`): the stream, its
// acknowledgement decisions and its dead letters in one slot, on that slot's
// master; a dead letter replayed atomically.
TEST_F(StreamIngestTest, OnARedisClusterTheStreamIsConsumedOnItsMaster) {
  ::pantry::testing::RedisCluster cluster;
  ASSERT_TRUE(cluster.Start(3, 0).ok());
  std::string nodes;
  for (const std::string& a : cluster.seed_addresses()) nodes += (nodes.empty() ? "" : ", ") + a;
  std::string yaml = Repo(redis_->port());
  yaml.replace(yaml.find("online_store: {type: memory}"), 28,
               "online_store: {type: redis_cluster, nodes: [" + nodes + "]}");
  yaml.replace(yaml.find("    redis: 127.0.0.1:"), yaml.find("\n", yaml.find("    redis: 127.0.0.1:")) -
                                                        yaml.find("    redis: 127.0.0.1:") + 1,
               "");
  Apply(yaml);
  ASSERT_TRUE(holder_->Get()->sources.at("clicks").stream.host.empty());
  store_ = std::move(*CreateOnlineStore(holder_->Get()->online_store, "streams"));
  auto master = cluster.MasterOfSlot(::pantry::testing::RedisCluster::KeySlot("clicks"));
  ASSERT_TRUE(master.ok());
  RawRedis r(cluster.port(*master));
  Replica replica(dir_ + "/wal", holder_.get(), store_.get());
  for (int i = 0; i < 500; ++i) {
    r.Command({"XADD", "clicks", "*", "user_id", std::to_string(i % 97), "clicks",
               std::to_string(i), "score", "0.5", "ts", std::to_string(kT0 + i)});
  }
  r.Command({"XADD", "clicks", "*", "user_id", "1", "clicks", "500", "score", "x", "ts",
             std::to_string(kT0 + 500)});
  std::map<int64_t, int> got = WaitForOffline(500);
  ExpectEachOnce(got, 0, 500);
  EXPECT_EQ(OnlineClicks(499 % 97), 499);
  auto page = ListDeadLetters(*holder_->Get(), "clicks", 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->total, 1);
  EXPECT_EQ(r.Integer({"XLEN", "{clicks}:dead-letters"}), 1) << "on the stream's master";
  auto replayed = ReplayDeadLetters(*holder_->Get(), "clicks", {}, 0);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->replayed, 1);
  EXPECT_EQ(r.Integer({"XLEN", "clicks"}), 502);
  for (int i = 0; i < 200 && replica.Status().dead_letters < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto pending = r.Command({"XPENDING", "clicks", "pantry"});
  ASSERT_TRUE(pending && pending->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(pending->element[0]->integer, 0);
  EXPECT_EQ(replica.Status().dead_letters, 2) << "the replayed entry is still bad";
}

}  // namespace
}  // namespace pantry::ingest
