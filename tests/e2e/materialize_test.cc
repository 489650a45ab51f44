// Materialization end to end: pantryd child processes over a private
// redis-server and real Parquet sources. The CLI path (materialize --wait,
// watermarks, lineage, get-online), kill -9 of pantryd in the middle of a run
// and a restart, Redis stopping in the middle of a run, and two replicas
// scheduling the same view.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pantry/client.h"
#include "server/offline/columns.h"
#include "server/parquet/writer.h"
#include "tests/support/e2e.h"
#include "tests/support/redis_server.h"

namespace pantry {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::pantry::testing::BinDir;
using ::pantry::testing::Daemon;
using ::pantry::testing::ReadFile;
using ::pantry::testing::Result;
using ::pantry::testing::WriteFile;

constexpr Micros kSecond = kMicrosPerSecond;
const Micros kT0 = 1767225600LL * kSecond;  // 2026-01-01T00:00:00Z

class TempDir : public ::pantry::testing::TempDir {
 public:
  TempDir() : ::pantry::testing::TempDir("pantry-mat-e2e") {}
};

// `users` keys, `rows` rows: row i is user i % users at kT0 + i seconds with
// txn_count i, so the latest row of user u is the last i with i % users == u.
void WriteUsers(const fs::path& path, int64_t rows, int64_t users) {
  fs::create_directories(path.parent_path());
  const std::vector<parquet::ColumnSpec> specs = {
      offline::OutputSpec("user_id", ValueType::kInt64),
      offline::OutputSpec("ts", ValueType::kUnixTimestamp),
      offline::OutputSpec("txn_count", ValueType::kInt64)};
  parquet::WriterOptions options;
  options.row_group_rows = 20000;
  auto writer = parquet::FileWriter::Create(path.string(), specs, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int64_t begin = 0; begin < rows; begin += 100000) {
    const int64_t n = std::min<int64_t>(100000, rows - begin);
    std::vector<parquet::ColumnData> batch(3);
    for (int64_t i = begin; i < begin + n; ++i) {
      offline::AppendOutputValue(Value::Int64(i % users), &batch[0]);
      offline::AppendOutputValue(Value::UnixTimestamp(kT0 + i * kSecond), &batch[1]);
      offline::AppendOutputValue(Value::Int64(i), &batch[2]);
    }
    ASSERT_TRUE((*writer)->Write(std::move(batch), n).ok());
  }
  ASSERT_TRUE((*writer)->Close().ok());
}

class Materialization : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    ASSERT_TRUE(redis_.Start().ok());
  }

  void WriteRepo(const std::string& view_extra = "") {
    WriteFile(root_ / "repo.yaml",
              absl::StrCat("project: mat\n"
                           "online_store: {type: redis, address: ",
                           redis_.address(),
                           ", pool_size: 2}\n"
                           "entities:\n"
                           "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
                           "sources:\n"
                           "  - {name: users_src, path: data, timestamp_field: ts}\n"
                           "feature_views:\n"
                           "  - name: user_stats\n"
                           "    entities: [user]\n"
                           "    source: users_src\n",
                           view_extra,
                           "    schema:\n"
                           "      - {name: txn_count, dtype: INT64}\n"));
  }

  std::unique_ptr<Daemon> StartDaemon(const std::string& name, std::vector<std::string> args = {}) {
    fs::create_directories(root_ / name);
    args.insert(args.end(), {"--replica", name});
    auto d = std::make_unique<Daemon>(root_ / "repo.yaml", root_ / name / "state", args);
    d->Start();
    return d;
  }

  Result Pantry(const Daemon& d, const std::string& args) {
    return ::pantry::testing::RunCommand(
        BinDir() + "/pantry --server " + d.address() + " " + args, root_);
  }

  std::unique_ptr<Client> Connect(const Daemon& d) {
    ClientOptions options;
    options.address = d.address();
    return Client::Create(options);
  }

  // The online txn_count of `user` through the CLI, or "null".
  std::string Online(const Daemon& d, int64_t user) {
    Result r = Pantry(d, absl::StrCat("get-online --features user_stats:txn_count --entity user_id=",
                                      user, " --output json"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return "?";
    return j["values"]["user_stats:txn_count"].dump();
  }

  // Waits until the running job has written something, and fails if it ends
  // first (the test then cannot break it in the middle).
  ::testing::AssertionResult WaitMidRun(Client& client, const std::string& id) {
    for (int i = 0; i < 3000; ++i) {
      auto j = client.GetJob(id);
      if (!j.ok()) return ::testing::AssertionFailure() << j.status();
      if (j->state() == v1::SUCCEEDED || j->state() == v1::FAILED) {
        return ::testing::AssertionFailure() << "the run ended before it could be broken";
      }
      if (j->rows_written() > 0) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return ::testing::AssertionFailure() << "no write landed";
  }

  v1::Job WaitJob(Client& client, const std::string& id) {
    v1::Job job;
    for (int i = 0; i < 3000; ++i) {
      auto j = client.GetJob(id);
      EXPECT_TRUE(j.ok()) << j.status();
      if (!j.ok()) return job;
      job = *j;
      if (job.state() == v1::SUCCEEDED || job.state() == v1::FAILED ||
          job.state() == v1::CANCELLED) {
        return job;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return job;
  }

  TempDir dir_;
  fs::path root_;
  ::pantry::testing::RedisServer redis_;
};

TEST_F(Materialization, CliMaterializesAndReportsWatermarksAndLineage) {
  WriteUsers(root_ / "data" / "part-0.parquet", 1000, 10);
  WriteRepo();
  auto d = StartDaemon("a");
  Result r = Pantry(*d, "materialize --views user_stats --start 2026-01-01T00:00:00Z "
                        "--end 2026-01-01T00:10:00Z --wait");
  ASSERT_EQ(r.exit_code, 0) << r.err << d->Log();
  EXPECT_THAT(r.out, HasSubstr("SUCCEEDED"));
  // 600 rows in the 10 minutes; user 3's latest is row 593.
  EXPECT_THAT(r.out, HasSubstr("600"));
  EXPECT_EQ(Online(*d, 3), "593");

  Result marks = Pantry(*d, "--output json watermarks");
  ASSERT_EQ(marks.exit_code, 0) << marks.err;
  EXPECT_THAT(marks.out, HasSubstr(R"({"view":"user_stats","watermark":"2026-01-01T00:10:00Z"})"));

  // Incremental from the watermark: the rest of the rows.
  Result inc = Pantry(*d, "--output json materialize-incremental --end 2026-01-02T00:00:00Z --wait");
  ASSERT_EQ(inc.exit_code, 0) << inc.err;
  const nlohmann::json job = nlohmann::json::parse(inc.out, nullptr, false);
  ASSERT_FALSE(job.is_discarded()) << inc.out;
  EXPECT_EQ(job["state"], "SUCCEEDED");
  EXPECT_EQ(job["views"][0]["start"], "2026-01-01T00:10:00Z");
  EXPECT_EQ(job["views"][0]["rows_read"], 400);
  EXPECT_EQ(Online(*d, 3), "993");

  Result lineage = Pantry(*d, "lineage --view user_stats");
  ASSERT_EQ(lineage.exit_code, 0) << lineage.err;
  std::vector<std::string> types;
  for (absl::string_view line : absl::StrSplit(lineage.out, '\n', absl::SkipEmpty())) {
    const nlohmann::json e = nlohmann::json::parse(line);
    types.push_back(e["eventType"]);
    EXPECT_EQ(e["outputs"][0]["namespace"], "redis://" + redis_.address());
  }
  EXPECT_EQ(types, (std::vector<std::string>{"START", "COMPLETE", "START", "COMPLETE"}));

  // Bad input: exit 2 and a reason.
  Result unknown = Pantry(*d, "materialize --views nope --start 2026-01-01T00:00:00Z --end now");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown feature view 'nope'"));
  Result bad_time = Pantry(*d, "materialize --views user_stats --start yesterday --end now");
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_THAT(bad_time.err, HasSubstr("--start 'yesterday'"));
}

// kill -9 in the middle of a run: nothing moved the watermark; a restarted
// pantryd (after the dead one's lease expired) runs it again to the same
// state as an uninterrupted run.
TEST_F(Materialization, KillNineMidRunThenRestartConverges) {
  const int64_t rows = 2000000, users = 300000;
  WriteUsers(root_ / "data" / "part-0.parquet", rows, users);
  WriteRepo();
  const std::vector<std::string> args = {"--lease-seconds", "1", "--materialize-threads", "1"};
  auto d = StartDaemon("a", args);
  auto client = Connect(*d);
  auto job = client->Materialize({"user_stats"}, kT0, kT0 + rows * kSecond);
  ASSERT_TRUE(job.ok()) << job.status();
  // Wait until some writes landed, then kill.
  ASSERT_TRUE(WaitMidRun(*client, job->id()));
  d->Signal(SIGKILL);
  d->WaitExit(std::chrono::seconds(10));

  // The same replica again (same state folder and name): its record of the
  // killed job says what happened.
  auto e = StartDaemon("a", args);
  auto client_b = Connect(*e);
  auto killed = client_b->GetJob(job->id());
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(killed->state(), v1::FAILED);
  EXPECT_THAT(killed->error(), HasSubstr("pantryd stopped before the job ended"));
  auto marks = client_b->ListWatermarks();
  ASSERT_TRUE(marks.ok()) << marks.status();
  EXPECT_EQ(marks->watermarks_size(), 0);  // the killed run advanced nothing
  // Until the dead replica's lease expires, the view is held.
  v1::Job done;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto again = client_b->Materialize({"user_stats"}, kT0, kT0 + rows * kSecond);
    ASSERT_TRUE(again.ok()) << again.status();
    done = WaitJob(*client_b, again->id());
    if (done.state() == v1::SUCCEEDED) break;
    ASSERT_THAT(done.error(), HasSubstr("lease")) << done.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_EQ(done.state(), v1::SUCCEEDED) << done.error() << e->Log();
  EXPECT_EQ(done.views(0).keys(), users);
  EXPECT_EQ(done.rows_written() + done.rows_skipped_older(), users);
  marks = client_b->ListWatermarks();
  ASSERT_TRUE(marks.ok());
  ASSERT_EQ(marks->watermarks_size(), 1);
  EXPECT_EQ(marks->watermarks(0).watermark_us(), kT0 + rows * kSecond);
  for (int64_t u : {int64_t{0}, int64_t{1}, users / 2, users - 1}) {
    const int64_t latest = (rows - 1) - ((rows - 1 - u) % users);
    EXPECT_EQ(Online(*e, u), std::to_string(latest)) << "user " << u;
  }
}

// Redis stops in the middle of a run: the job fails with the reason, and
// once Redis is back the next run completes.
TEST_F(Materialization, RedisDownMidRunFailsTheJobAndTheNextRunRecovers) {
  const int64_t rows = 2000000, users = 300000;
  WriteUsers(root_ / "data" / "part-0.parquet", rows, users);
  WriteRepo();
  auto d = StartDaemon("a", {"--materialize-threads", "1"});
  auto client = Connect(*d);
  auto job = client->Materialize({"user_stats"}, kT0, kT0 + rows * kSecond);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(WaitMidRun(*client, job->id()));
  const int port = redis_.port();
  redis_.Stop();
  const v1::Job failed = WaitJob(*client, job->id());
  EXPECT_EQ(failed.state(), v1::FAILED);
  EXPECT_THAT(failed.error(), HasSubstr(absl::StrCat("127.0.0.1:", port))) << failed.error();
  ASSERT_TRUE(redis_.Start(port).ok());
  // The server came back empty (no persistence). A rerun may fail again on a
  // connection that still points at the old server, after writing part of
  // the window; the one that succeeds accounts for every key.
  v1::Job done;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto again = client->Materialize({"user_stats"}, kT0, kT0 + rows * kSecond);
    ASSERT_TRUE(again.ok()) << again.status();
    done = WaitJob(*client, again->id());
    if (done.state() == v1::SUCCEEDED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // reconnecting
  }
  ASSERT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  EXPECT_EQ(done.rows_written() + done.rows_skipped_older(), users);
  EXPECT_EQ(Online(*d, 7), std::to_string((rows - 1) - ((rows - 1 - 7) % users)));
}

// Two replicas on one Redis with the same schedule: the view is
// materialized once.
TEST_F(Materialization, TwoReplicasRunAScheduledViewOnce) {
  WriteUsers(root_ / "data" / "part-0.parquet", 50000, 5000);
  WriteRepo("    ttl: 0\n    materialize: {every: 1h}\n");
  auto a = StartDaemon("a");
  auto b = StartDaemon("b");
  auto client_a = Connect(*a);
  auto client_b = Connect(*b);
  // Wait for the watermark, then give both schedulers a few more ticks.
  bool marked = false;
  for (int i = 0; i < 1000 && !marked; ++i) {
    auto marks = client_a->ListWatermarks();
    ASSERT_TRUE(marks.ok());
    marked = marks->watermarks_size() == 1;
    if (!marked) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(marked) << a->Log() << b->Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  auto jobs_a = client_a->ListJobs();
  auto jobs_b = client_b->ListJobs();
  ASSERT_TRUE(jobs_a.ok() && jobs_b.ok());
  EXPECT_EQ(jobs_a->jobs_size() + jobs_b->jobs_size(), 1)
      << "a: " << jobs_a->DebugString() << "\nb: " << jobs_b->DebugString();
  auto lineage = client_a->ListLineage("user_stats", 100);
  ASSERT_TRUE(lineage.ok());
  ASSERT_EQ(lineage->events_size(), 2);
  EXPECT_THAT(lineage->events(1), HasSubstr("\"COMPLETE\""));
  EXPECT_EQ(Online(*b, 42), "45042");  // the last i < 50000 with i % 5000 == 42
}

}  // namespace
}  // namespace pantry
