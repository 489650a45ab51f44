// Stream ingestion end to end: the real pantryd consuming a Redis stream
// while it is killed with SIGKILL twice, then restarted: every entry of the
// stream is in the offline history exactly once, the group has nothing
// pending, and the online store holds each entity's newest entry. Then one
// history: with pushes on top, a point-in-time join at a time after every
// event returns, for every entity, the value the online store returns.
#include <signal.h>

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
#include "pantry/client.h"
#include "server/offline/columns.h"
#include "server/parquet/reader.h"
#include "tests/support/e2e.h"
#include "tests/support/offline_values.h"
#include "tests/support/raw_redis.h"
#include "tests/support/redis_server.h"

namespace pantry {
namespace {

namespace fs = std::filesystem;
using ::pantry::testing::BinDir;
using ::pantry::testing::Daemon;
using ::pantry::testing::RawRedis;
using ::pantry::testing::RedisServer;
using ::pantry::testing::Result;
using ::pantry::testing::WriteFile;

constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
constexpr int kEntries = 20000;
constexpr int kUsers = 500;

using ::pantry::testing::CountInt64Values;

TEST(StreamE2E, KilledTwiceMidStreamEveryEntryLandsOnceAndOnlineAgreesWithHistory) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  ::pantry::testing::TempDir dir("pantry-stream-e2e");
  const fs::path root = dir.path();
  WriteFile(root / "repo.yaml",
            absl::StrCat("project: streams\n"
                         "online_store: {type: redis, address: \"127.0.0.1:",
                         redis.port(),
                         "\"}\n"
                         "offline_store: {path: offline}\n"
                         "entities:\n"
                         "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
                         "sources:\n"
                         "  - name: clicks\n"
                         "    type: redis_stream\n"
                         "    stream: clicks\n"
                         "    group: pantry\n"
                         "    timestamp_field: ts\n"
                         "    claim_idle: 2s\n"
                         "    batch: 200\n"
                         "    schema:\n"
                         "      - {name: user_id, dtype: INT64}\n"
                         "      - {name: clicks, dtype: INT64}\n"
                         "feature_views:\n"
                         "  - name: stats\n"
                         "    entities: [user]\n"
                         "    source: clicks\n"
                         "    schema:\n"
                         "      - {name: clicks, dtype: INT64}\n"));
  auto daemon = std::make_unique<Daemon>(root / "repo.yaml", root / "state",
                                         std::vector<std::string>{"--compact-seconds", "0.2"});
  daemon->Start();

  std::atomic<int> produced{0};
  std::thread producer([&] {
    RawRedis r(redis.port());
    for (int i = 0; i < kEntries; ++i) {
      auto reply = r.Command({"XADD", "clicks", "*", "user_id", std::to_string(i % kUsers),
                              "clicks", std::to_string(i), "ts", std::to_string(kT0 + i)});
      ASSERT_TRUE(reply && reply->type == REDIS_REPLY_STRING);
      produced = i + 1;
      if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (int kill = 1; kill <= 2; ++kill) {
    while (produced < kill * kEntries / 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    daemon->Signal(SIGKILL);
    daemon->WaitExit(std::chrono::seconds(5));
    daemon = std::make_unique<Daemon>(root / "repo.yaml", root / "state",
                                      std::vector<std::string>{"--compact-seconds", "0.2"});
    daemon->Start();
  }
  producer.join();

  ClientOptions options;
  options.address = daemon->address();
  auto client = Client::Create(options);
  // Caught up: nothing left undelivered or unacknowledged, all compacted.
  std::map<int64_t, int> offline;
  for (int i = 0; i < 600; ++i) {
    offline = CountInt64Values(root / "offline/views/stats", "clicks");
    auto status = client->GetIngestStatus();
    if (offline.size() >= kEntries && status.ok() && status->sources_size() == 1 &&
        status->sources(0).pending() == 0 && status->sources(0).lag() == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(offline.size(), static_cast<size_t>(kEntries)) << daemon->Log();
  int more_than_once = 0;
  for (const auto& [clicks, n] : offline) more_than_once += n != 1;
  EXPECT_EQ(more_than_once, 0) << "entries in the offline history twice";
  RawRedis r(redis.port());
  auto pending = r.Command({"XPENDING", "clicks", "pantry"});
  ASSERT_TRUE(pending && pending->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(pending->element[0]->integer, 0);

  // Pushes on top: newer rows for some users, older ones for others.
  std::vector<WriteRow> rows;
  for (int u = 0; u < kUsers; u += 10) {
    WriteRow row;
    row.values = {{"user_id", Value::Int64(u)}, {"clicks", Value::Int64(1'000'000 + u)}};
    row.event_time_us = u % 20 == 0 ? kT0 + kEntries + u : kT0 - 1;
    rows.push_back(std::move(row));
  }
  ASSERT_TRUE(client->Push("stats", rows).ok());

  OnlineQuery q;
  q.features = {"stats:clicks"};
  q.entities = {{"user_id", {}}};
  for (int u = 0; u < kUsers; ++u) q.entities[0].second.push_back(Value::Int64(u));
  absl::StatusOr<OnlineFeatures> online = client->GetOnlineFeatures(q);
  ASSERT_TRUE(online.ok()) << online.status();
  std::map<int64_t, int64_t> online_clicks;
  for (int u = 0; u < kUsers; ++u) {
    const int64_t newest = kEntries - kUsers + u;  // the last entry of user u
    const int64_t want = u % 20 == 0 ? 1'000'000 + u : newest;
    ASSERT_EQ(online->columns[0][u].value, Value::Int64(want)) << "user " << u;
    online_clicks[u] = want;
  }

  // One history: the join at a time after every event sees what serving sees.
  std::string jsonl;
  for (int u = 0; u < kUsers; ++u) {
    absl::StrAppend(&jsonl, "{\"user_id\": ", u, ", \"event_timestamp\": \"2026-06-01T00:00:00Z\"}\n");
  }
  WriteFile(root / "entities.jsonl", jsonl);
  for (int i = 0; i < 200 && CountInt64Values(root / "offline/views/stats", "clicks").size() <
                                 static_cast<size_t>(kEntries + rows.size());
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string pantry = BinDir() + "/pantry --server " + daemon->address() + " ";
  Result made = ::pantry::testing::RunCommand(
      pantry + "parquet from-jsonl --schema user_id:INT64,event_timestamp:UNIX_TIMESTAMP " +
          (root / "entities.jsonl").string() + " " + (root / "entities.parquet").string(),
      root);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  fs::create_directories(root / "out");
  Result joined = ::pantry::testing::RunCommand(
      pantry + "historical --entities " + (root / "entities.parquet").string() +
          " --features stats:clicks --out " + (root / "out/train.parquet").string(),
      root);
  ASSERT_EQ(joined.exit_code, 0) << joined.err;
  auto reader = parquet::FileReader::Open((root / "out/train.parquet").string());
  ASSERT_TRUE(reader.ok()) << reader.status();
  const int user_col = (*reader)->schema().Find("user_id");
  const int clicks_col = (*reader)->schema().Find("clicks");
  int compared = 0;
  for (int rg = 0; rg < (*reader)->num_row_groups(); ++rg) {
    parquet::ColumnData users, clicks;
    ASSERT_TRUE((*reader)->ReadColumn(rg, user_col, &users).ok());
    ASSERT_TRUE((*reader)->ReadColumn(rg, clicks_col, &clicks).ok());
    offline::RowValues u((*reader)->schema().columns()[user_col], users, ValueType::kInt64);
    offline::RowValues c((*reader)->schema().columns()[clicks_col], clicks, ValueType::kInt64);
    for (int64_t row = 0; row < u.rows(); ++row) {
      const int64_t user = u.Get(row).get<int64_t>();
      EXPECT_EQ(c.Get(row), Value::Int64(online_clicks[user])) << "user " << user;
      ++compared;
    }
  }
  EXPECT_EQ(compared, kUsers);
}

}  // namespace
}  // namespace pantry
