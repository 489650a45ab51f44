// Starts pantryd on a private port and drives it through the `pantry` CLI.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/e2e.h"
#include "tests/support/redis_server.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using ::pantry::testing::BinDir;
using ::pantry::testing::Daemon;
using ::pantry::testing::ReadFile;
using ::pantry::testing::Result;
using ::pantry::testing::TempDir;
using ::pantry::testing::WriteFile;

class E2E : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path();
    config_ = data_ / "repo.yaml";
  }

  void WriteRepo(const std::string& online_store, const std::string& extra_views = "") {
    WriteFile(config_, "project: e2e\n"
                       "online_store: " + online_store + "\n"
                       "entities:\n"
                       "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
                       "  - {name: merchant, join_keys: [merchant_id], value_type: STRING}\n"
                       "feature_views:\n"
                       "  - name: user_stats\n"
                       "    entities: [user]\n"
                       "    ttl: 1d\n"
                       "    schema:\n"
                       "      - {name: txn_count, dtype: INT64}\n"
                       "      - {name: avg_amount, dtype: DOUBLE}\n"
                       "      - {name: embedding, dtype: FLOAT_LIST}\n"
                       "  - name: merchant_risk\n"
                       "    entities: [merchant]\n"
                       "    ttl: 0\n"
                       "    schema:\n"
                       "      - {name: risk, dtype: DOUBLE}\n"
                       "      - {name: label, dtype: STRING}\n" +
                       extra_views +
                       "feature_services:\n"
                       "  - {name: fraud_v1, features: [\"user_stats:*\", merchant_risk:risk]}\n");
  }

  void StartDaemon() {
    daemon_ = std::make_unique<Daemon>(config_, data_ / "state");
    daemon_->Start();
  }

  Result Pantry(const std::string& args) {
    return ::pantry::testing::RunCommand(
        BinDir() + "/pantry --server " + daemon_->address() + " " + args, data_);
  }

  std::string Now(int offset_s = 0) {
    const auto t = std::chrono::system_clock::now() + std::chrono::seconds(offset_s);
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return buf;
  }

  void WriteSampleRows() {
    WriteFile(data_ / "users.jsonl",
              "{\"user_id\": 1001, \"txn_count\": 5, \"avg_amount\": 12.5, \"embedding\": [0.5, 1.5], "
              "\"event_timestamp\": \"" + Now(-60) + "\"}\n"
              "{\"user_id\": 1002, \"txn_count\": null, \"avg_amount\": 3.0, \"embedding\": [], "
              "\"event_timestamp\": \"" + Now(-60) + "\"}\n"
              "{\"user_id\": 1003, \"txn_count\": 9, \"avg_amount\": 1.0, \"embedding\": [1], "
              "\"event_timestamp\": \"2020-01-01T00:00:00Z\"}\n");
    Result w = Pantry("write --view user_stats --file " + (data_ / "users.jsonl").string());
    ASSERT_EQ(w.exit_code, 0) << w.err;
    EXPECT_THAT(w.out, HasSubstr("wrote 3 rows"));
  }

  TempDir dir_;
  fs::path data_, config_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(E2E, HealthListAndDescribe) {
  WriteRepo("{type: memory}");
  StartDaemon();
  EXPECT_EQ(Pantry("health").exit_code, 0);
  Result list = Pantry("list --output json");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("\"user_stats\""));
  EXPECT_THAT(list.out, HasSubstr("\"fraud_v1\""));
  Result describe = Pantry("describe user_stats");
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_THAT(describe.out, HasSubstr("FLOAT_LIST"));
  EXPECT_EQ(Pantry("describe nope").exit_code, 2);
}

TEST_F(E2E, BenchOnlineMeasuresReadsAndTheHealthCheck) {
  WriteRepo("{type: memory}");
  StartDaemon();
  const std::string common =
      "bench online --output json --concurrency 4 --duration 0.4 --key-space 50 --features 2";
  Result both = Pantry(common);
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_THAT(both.out, HasSubstr("\"get_online\":{\"errors\":0,"));
  EXPECT_THAT(both.out, HasSubstr("\"health\":{\"errors\":0,"));
  EXPECT_THAT(both.out, HasSubstr("\"ratio_to_health\":"));

  Result reads = Pantry(common + " --no-populate --no-health-baseline");
  ASSERT_EQ(reads.exit_code, 0) << reads.err;
  EXPECT_THAT(reads.out, HasSubstr("\"get_online\":{\"errors\":0,"));
  EXPECT_THAT(reads.out, ::testing::Not(HasSubstr("\"health\"")));

  Result health = Pantry(common + " --health-only");
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, HasSubstr("\"health\":{\"errors\":0,"));
  EXPECT_THAT(health.out, ::testing::Not(HasSubstr("get_online")));

  Result both_flags = Pantry(common + " --health-only --no-health-baseline");
  EXPECT_NE(both_flags.exit_code, 0);
  EXPECT_THAT(both_flags.err, HasSubstr("excludes"));
}

TEST_F(E2E, WrittenValuesComeBackWithStatusesAndTimes) {
  WriteRepo("{type: memory}");
  StartDaemon();
  WriteSampleRows();
  Result r = Pantry("get-online --features user_stats:txn_count,user_stats:embedding "
                    "--entity user_id=1001 --entity user_id=1002 --entity user_id=1003 "
                    "--entity user_id=4242 --output json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  std::stringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[0], HasSubstr("\"entity\":{\"user_id\":1001}"));
  EXPECT_THAT(lines[0], HasSubstr("\"user_stats:txn_count\":5"));
  EXPECT_THAT(lines[0], HasSubstr("\"user_stats:embedding\":[0.5,1.5]"));
  EXPECT_THAT(lines[0], HasSubstr("\"user_stats:txn_count\":\"PRESENT\""));
  EXPECT_THAT(lines[1], HasSubstr("\"user_stats:txn_count\":null"));
  EXPECT_THAT(lines[1], HasSubstr("\"user_stats:txn_count\":\"NULL_VALUE\""));
  EXPECT_THAT(lines[1], HasSubstr("\"user_stats:embedding\":[]"));
  EXPECT_THAT(lines[2], HasSubstr("\"user_stats:txn_count\":\"OUTSIDE_MAX_AGE\""));
  EXPECT_THAT(lines[2], HasSubstr("\"2020-01-01T00:00:00Z\""));
  EXPECT_THAT(lines[3], HasSubstr("\"user_stats:txn_count\":\"NOT_FOUND\""));
  EXPECT_THAT(lines[3], HasSubstr("\"event_timestamps\":{\"user_stats:txn_count\":null,\"user_stats:embedding\":null}"));
}

TEST_F(E2E, FeatureServiceAcrossTwoEntityTypes) {
  WriteRepo("{type: memory}");
  StartDaemon();
  WriteSampleRows();
  WriteFile(data_ / "m.jsonl", "{\"merchant_id\": \"m-1\", \"risk\": 0.25, \"label\": \"low\", "
                               "\"event_timestamp\": \"2021-05-01T00:00:00Z\"}\n");
  ASSERT_EQ(Pantry("write --view merchant_risk --file " + (data_ / "m.jsonl").string()).exit_code, 0);
  WriteFile(data_ / "entities.jsonl", "{\"user_id\": 1001, \"merchant_id\": \"m-1\"}\n");
  Result r = Pantry("get-online --service fraud_v1 --entities-file " +
                    (data_ / "entities.jsonl").string() + " --output json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"merchant_risk:risk\":0.25"));
  EXPECT_THAT(r.out, HasSubstr("\"user_stats:avg_amount\":12.5"));
  // ttl 0 never ages out, even for a value from 2021.
  EXPECT_THAT(r.out, HasSubstr("\"merchant_risk:risk\":\"PRESENT\""));
}

TEST_F(E2E, OlderWriteIsSkipped) {
  WriteRepo("{type: memory}");
  StartDaemon();
  WriteSampleRows();
  WriteFile(data_ / "old.jsonl", "{\"user_id\": 1001, \"txn_count\": 1, \"avg_amount\": 1, "
                                 "\"embedding\": null, \"event_timestamp\": \"2021-01-01T00:00:00Z\"}\n");
  Result w = Pantry("write --view user_stats --file " + (data_ / "old.jsonl").string() + " -o json");
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_THAT(w.out, HasSubstr("\"rows_skipped_older\":1"));
  Result r = Pantry("get-online --features user_stats:txn_count --entity user_id=1001 -o json");
  EXPECT_THAT(r.out, HasSubstr("\"user_stats:txn_count\":5"));
}

TEST_F(E2E, BadRequestsAreRejectedWithReasons) {
  WriteRepo("{type: memory}");
  StartDaemon();
  Result unknown = Pantry("get-online --features user_stats:nope --entity user_id=1");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(unknown.err, HasSubstr("nope"));
  Result service = Pantry("get-online --service missing_service --entity user_id=1");
  EXPECT_EQ(service.exit_code, 2);
  EXPECT_THAT(service.err, HasSubstr("missing_service"));
  Result wrong_type = Pantry("get-online --features user_stats:txn_count --entity user_id=abc");
  EXPECT_EQ(wrong_type.exit_code, 2);
  EXPECT_THAT(wrong_type.err, HasSubstr("INT64"));
  Result missing_key = Pantry("get-online --features user_stats:txn_count,merchant_risk:risk --entity user_id=1");
  EXPECT_EQ(missing_key.exit_code, 2);
  EXPECT_THAT(missing_key.err, HasSubstr("merchant_id"));
  WriteFile(data_ / "bad.jsonl", "{\"user_id\": 1, \"txn_count\": \"five\", \"avg_amount\": 1, "
                                 "\"embedding\": [], \"event_timestamp\": \"2021-01-01T00:00:00Z\"}\n");
  Result bad_write = Pantry("write --view user_stats --file " + (data_ / "bad.jsonl").string());
  EXPECT_EQ(bad_write.exit_code, 2);
  EXPECT_THAT(bad_write.err, HasSubstr("bad.jsonl:1"));
  EXPECT_THAT(bad_write.err, HasSubstr("txn_count"));
  WriteFile(data_ / "mixed.jsonl",
            "{\"user_id\": 7, \"txn_count\": 1, \"avg_amount\": 1, \"embedding\": [], "
            "\"event_timestamp\": \"2021-01-01T00:00:00Z\"}\n"
            "{\"user_id\": null, \"txn_count\": 1, \"avg_amount\": 1, \"embedding\": [], "
            "\"event_timestamp\": \"2021-01-01T00:00:00Z\"}\n");
  Result null_key = Pantry("write --view user_stats --file " + (data_ / "mixed.jsonl").string());
  EXPECT_EQ(null_key.exit_code, 2);
  EXPECT_THAT(null_key.err, HasSubstr("mixed.jsonl:2"));
  // Nothing of the file was written, not even its valid first line.
  EXPECT_THAT(Pantry("get-online --features user_stats:txn_count --entity user_id=7 -o json").out,
              HasSubstr("NOT_FOUND"));
  WriteFile(data_ / "future.jsonl",
            "{\"user_id\": 8, \"txn_count\": 1, \"avg_amount\": 1, \"embedding\": [], "
            "\"event_timestamp\": \"2021-01-01T00:00:00Z\"}\n"
            "{\"user_id\": 9, \"txn_count\": 1, \"avg_amount\": 1, \"embedding\": [], "
            "\"event_timestamp\": \"9999-01-01T00:00:00Z\"}\n");
  Result future = Pantry("write --view user_stats --file " + (data_ / "future.jsonl").string());
  EXPECT_EQ(future.exit_code, 2);
  EXPECT_THAT(future.err, HasSubstr("future.jsonl:2"));
  EXPECT_THAT(Pantry("get-online --features user_stats:txn_count --entity user_id=8 -o json").out,
              HasSubstr("NOT_FOUND"));
  EXPECT_EQ(Pantry("write --view no_such_view --file " + (data_ / "mixed.jsonl").string()).exit_code, 2);
  EXPECT_TRUE(daemon_->Alive());
}

TEST_F(E2E, InvalidApplyChangesNothingAndValidApplySurvivesRestart) {
  WriteRepo("{type: memory}");
  StartDaemon();
  const fs::path bad = data_ / "bad.yaml";
  WriteFile(bad, "project: e2e\nentities:\n  - {name: user, join_keys: [user_id], value_type: INT64}\n"
                 "feature_views:\n  - name: v\n    entities: [user]\n    ttl: 7x\n"
                 "    schema: [{name: f, dtype: INT64}]\n");
  Result r = Pantry("apply -f " + bad.string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.yaml:7"));
  EXPECT_THAT(Pantry("list views -o json").out, HasSubstr("user_stats"));

  const fs::path next = data_ / "next.yaml";
  WriteFile(next, "project: e2e\nentities:\n  - {name: user, join_keys: [user_id], value_type: INT64}\n"
                  "feature_views:\n  - name: fresh_view\n    entities: [user]\n    ttl: 7d\n"
                  "    schema: [{name: f, dtype: INT64}]\n");
  Result ok = Pantry("apply -f " + next.string());
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(Pantry("list views").out, HasSubstr("fresh_view"));
  daemon_->Stop();
  StartDaemon();
  Result after = Pantry("list views -o json");
  EXPECT_THAT(after.out, HasSubstr("fresh_view"));
  EXPECT_THAT(after.out, ::testing::Not(HasSubstr("user_stats")));
}

TEST_F(E2E, SighupReloadsTheConfigFile) {
  WriteRepo("{type: memory}");
  StartDaemon();
  WriteRepo("{type: memory}",
            "  - name: added_view\n    entities: [user]\n    ttl: 1h\n"
            "    schema: [{name: x, dtype: BOOL}]\n");
  daemon_->Signal(SIGHUP);
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    seen = Pantry("list views").out.find("added_view") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(seen);
  // A broken file on SIGHUP is rejected; the running repository stays.
  WriteFile(config_, "project: [broken\n");
  daemon_->Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_THAT(Pantry("list views").out, HasSubstr("added_view"));
  EXPECT_TRUE(daemon_->Alive());
}

TEST_F(E2E, RedisStoppedAndRestartedUnderRunningDaemon) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  WriteRepo("{type: redis, address: " + redis.address() + ", request_timeout: 500ms}");
  StartDaemon();
  WriteSampleRows();
  Result before = Pantry("get-online --features user_stats:txn_count --entity user_id=1001 -o json");
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_THAT(before.out, HasSubstr("\"user_stats:txn_count\":5"));

  redis.Stop();
  Result down = Pantry("--timeout-ms 2000 get-online --features user_stats:txn_count --entity user_id=1001");
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("UNAVAILABLE"));
  EXPECT_TRUE(daemon_->Alive());

  ASSERT_TRUE(redis.Start(redis.port()).ok());
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = Pantry("get-online --features user_stats:txn_count --entity user_id=1001 -o json")
                    .exit_code == 0;
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(recovered) << daemon_->Log();
  // The restarted server kept nothing (no persistence): the value is gone
  // and reported as such, and new writes land.
  EXPECT_THAT(Pantry("get-online --features user_stats:txn_count --entity user_id=1001 -o json").out,
              HasSubstr("NOT_FOUND"));
  WriteSampleRows();
  EXPECT_THAT(Pantry("get-online --features user_stats:txn_count --entity user_id=1001 -o json").out,
              HasSubstr("\"user_stats:txn_count\":5"));
}

}  // namespace
}  // namespace pantry
