// Push end to end: the real pantryd, pushed to through the SDK and the CLI.
// Rows land online and in the view's offline history; a bad row is named
// and writes nothing, or, with partial, only the good rows land; and a kill
// -9 in the middle of a push storm loses no acknowledged row and duplicates
// none once pantryd is back.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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

namespace pantry {
namespace {

namespace fs = std::filesystem;
using ::pantry::testing::BinDir;
using ::pantry::testing::Daemon;
using ::pantry::testing::Result;
using ::pantry::testing::WriteFile;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

class PushE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    WriteFile(root_ / "repo.yaml",
              "project: push\n"
              "online_store: {type: memory}\n"
              "offline_store: {path: offline}\n"
              "entities:\n"
              "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
              "feature_views:\n"
              "  - name: stats\n"
              "    entities: [user]\n"
              "    schema:\n"
              "      - {name: clicks, dtype: INT64}\n"
              "      - {name: score, dtype: DOUBLE}\n");
  }

  void Start() {
    daemon_ = std::make_unique<Daemon>(root_ / "repo.yaml", root_ / "state",
                                       std::vector<std::string>{"--compact-seconds", "0.2"});
    daemon_->Start();
    ClientOptions options;
    options.address = daemon_->address();
    options.max_attempts = 1;
    client_ = Client::Create(options);
  }

  Result Pantry(const std::string& args) {
    return ::pantry::testing::RunCommand(
        BinDir() + "/pantry --server " + daemon_->address() + " " + args, root_);
  }

  static WriteRow Row(int64_t user, int64_t clicks, Micros t = kT0) {
    WriteRow row;
    row.values = {{"user_id", Value::Int64(user)},
                  {"clicks", Value::Int64(clicks)},
                  {"score", Value::Double(0.5)}};
    row.event_time_us = t;
    return row;
  }

  // clicks -> how many times it is in the offline history of `stats`.
  std::map<int64_t, int> OfflineClicks() {
    return ::pantry::testing::CountInt64Values(root_ / "offline/views/stats", "clicks");
  }

  // Waits (bounded) until the offline history holds `n` rows.
  std::map<int64_t, int> WaitForOffline(size_t n) {
    std::map<int64_t, int> got;
    for (int i = 0; i < 500; ++i) {
      got = OfflineClicks();
      size_t total = 0;
      for (const auto& [k, v] : got) total += v;
      if (total >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return got;
  }

  ::pantry::testing::TempDir dir_{"pantry-push-e2e"};
  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(PushE2E, RowsLandOnlineAndInTheOfflineHistory) {
  Start();
  absl::StatusOr<PushSummary> pushed = client_->Push("stats", {Row(1, 10), Row(2, 20)});
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->accepted, 2);
  EXPECT_EQ(pushed->written_online, 2);
  EXPECT_GT(pushed->log_sequence, 0u);
  OnlineQuery q;
  q.features = {"stats:clicks"};
  q.entities = {{"user_id", {Value::Int64(1), Value::Int64(2)}}};
  absl::StatusOr<OnlineFeatures> online = client_->GetOnlineFeatures(q);
  ASSERT_TRUE(online.ok()) << online.status();
  EXPECT_EQ(online->columns[0][1].value, Value::Int64(20));
  EXPECT_EQ(WaitForOffline(2), (std::map<int64_t, int>{{10, 1}, {20, 1}}));

  // Offline only: not online.
  pushed = client_->Push("stats", {Row(3, 30)}, {PushTarget::kOffline, false});
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->written_online, 0);
  q.entities = {{"user_id", {Value::Int64(3)}}};
  EXPECT_EQ(client_->GetOnlineFeatures(q)->columns[0][0].status, ValueStatus::kNotFound);
  EXPECT_EQ(WaitForOffline(3).count(30), 1u);

  // The CLI, from JSON lines and from Parquet (the compacted file itself).
  WriteFile(root_ / "rows.jsonl",
            "{\"user_id\": 4, \"clicks\": 40, \"score\": 1.0, \"event_timestamp\": "
            "\"2026-01-01T00:00:00Z\"}\n");
  Result r = Pantry("push --view stats --file " + (root_ / "rows.jsonl").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pushed 1 rows to stats (both; 1 written online"));
  std::string parquet_file;
  for (const auto& e : fs::directory_iterator(root_ / "offline/views/stats")) {
    if (parquet_file.empty()) parquet_file = e.path().string();
  }
  r = Pantry("push --view stats --to online --file " + parquet_file + " -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"rows_accepted\":"));

  // Each compaction that wrote the view's history is an ingestion run in
  // the lineage, and the start's apply is there with the view's schema.
  const std::string lineage = ::pantry::testing::ReadFile(root_ / "offline" / "lineage.jsonl");
  EXPECT_THAT(lineage, HasSubstr("\"name\":\"ingest.stats\""));
  EXPECT_THAT(lineage, HasSubstr("\"rows_written\":"));
  r = Pantry("lineage --limit 1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ingest.stats"));
  r = Pantry("apply -f " + (root_ / "repo.yaml").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Pantry("lineage --limit 1000");
  EXPECT_THAT(r.out, HasSubstr("\"name\":\"apply\""));
  EXPECT_THAT(r.out, HasSubstr("\"fields\":[{\"name\":\"user_id\",\"type\":\"INT64\"}"));
}

TEST_F(PushE2E, BadRowIsNamedAndWritesNothingUnlessPartial) {
  Start();
  WriteRow bad = Row(2, 20);
  bad.values[1].second = Value::String("twenty");
  absl::StatusOr<PushSummary> pushed = client_->Push("stats", {Row(1, 10), bad, Row(3, 30)});
  ASSERT_EQ(pushed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pushed.status().message(), HasSubstr("row 2, column 'clicks'"));
  EXPECT_THAT(pushed.status().message(), HasSubstr("nothing was written"));
  OnlineQuery q;
  q.features = {"stats:clicks"};
  q.entities = {{"user_id", {Value::Int64(1)}}};
  EXPECT_EQ(client_->GetOnlineFeatures(q)->columns[0][0].status, ValueStatus::kNotFound);

  WriteRow no_key = Row(4, 40);
  no_key.values.erase(no_key.values.begin());
  pushed = client_->Push("stats", {Row(1, 10), bad, no_key, Row(3, 30)}, {PushTarget::kBoth, true});
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->accepted, 2);
  ASSERT_EQ(pushed->rejected.size(), 2u);
  EXPECT_EQ(pushed->rejected[0].row, 2);
  EXPECT_EQ(pushed->rejected[0].column, "clicks");
  EXPECT_EQ(pushed->rejected[1].row, 3);
  EXPECT_EQ(pushed->rejected[1].column, "user_id");
  EXPECT_EQ(WaitForOffline(2), (std::map<int64_t, int>{{10, 1}, {30, 1}}));
  EXPECT_EQ(client_->Push("nope", {Row(1, 1)}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// kill -9 while several clients push: after a restart every acknowledged
// row is in the offline history exactly once, and no row twice.
TEST_F(PushE2E, KillNineInAPushStormLosesAndDuplicatesNothing) {
  Start();
  std::atomic<int64_t> next{1};
  std::mutex mu;
  std::set<int64_t> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      ClientOptions options;
      options.address = daemon_->address();
      options.max_attempts = 1;
      auto client = Client::Create(options);
      while (!stop) {
        std::vector<WriteRow> rows;
        std::vector<int64_t> ids;
        for (int i = 0; i < 50; ++i) {
          ids.push_back(next++);
          rows.push_back(Row(ids.back() % 97, ids.back(), kT0 + ids.back()));
        }
        if (client->Push("stats", rows).ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(ids.begin(), ids.end());
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    });
  }
  // Long enough for several compactions (every 0.2 s) to happen mid-storm.
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard<std::mutex> lock(mu);
    if (acked.size() >= 20000) break;
  }
  daemon_->Signal(SIGKILL);
  EXPECT_NE(daemon_->WaitExit(std::chrono::seconds(10)), -1);
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_GT(acked.size(), 500u);

  Start();  // recovers the log, compacts what is left
  const std::map<int64_t, int> offline = WaitForOffline(acked.size());
  int64_t lost = 0, duplicated = 0;
  for (int64_t id : acked) lost += offline.count(id) == 0;
  for (const auto& [id, n] : offline) duplicated += n > 1;
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  std::printf("push storm: %zu rows acknowledged before kill -9, %zu in the offline history after "
              "the restart, %lld lost, %lld duplicated\n",
              acked.size(), offline.size(), static_cast<long long>(lost),
              static_cast<long long>(duplicated));
  daemon_->Stop();
}

}  // namespace
}  // namespace pantry
