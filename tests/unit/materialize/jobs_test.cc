// MaterializeJobs with the embedded online store, the local coordinator and
// a lineage file: jobs, incremental windows and watermarks, failures that
// leave the watermark alone, cancellation, leases held elsewhere, the
// schedule.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/materialize/jobs.h"
#include "server/metrics/metrics.h"
#include "server/offline/columns.h"
#include "server/online/memory_store.h"
#include "server/parquet/writer.h"
#include "server/value/encoding.h"
#include "tests/support/metrics_text.h"

namespace pantry::materialize {
namespace {

namespace fs = std::filesystem;
using offline::AppendOutputValue;
using offline::OutputSpec;

constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kHour = 3600 * kSecond;
const Micros kT0 = 1767225600LL * kSecond;  // 2026-01-01

// (user, event time, txn_count) rows in one file.
void WriteUsers(const fs::path& path, const std::vector<std::tuple<int64_t, Micros, int64_t>>& rows) {
  fs::create_directories(path.parent_path());
  const std::vector<parquet::ColumnSpec> specs = {OutputSpec("user_id", ValueType::kInt64),
                                                  OutputSpec("ts", ValueType::kUnixTimestamp),
                                                  OutputSpec("txn_count", ValueType::kInt64)};
  auto writer = parquet::FileWriter::Create(path.string(), specs, {});
  ASSERT_TRUE(writer.ok());
  std::vector<parquet::ColumnData> batch(3);
  for (const auto& [user, t, n] : rows) {
    AppendOutputValue(Value::Int64(user), &batch[0]);
    AppendOutputValue(Value::UnixTimestamp(t), &batch[1]);
    AppendOutputValue(Value::Int64(n), &batch[2]);
  }
  ASSERT_TRUE((*writer)->Write(batch, static_cast<int64_t>(rows.size())).ok());
  ASSERT_TRUE((*writer)->Close().ok());
}

class Jobs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("pantry_jobs_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = NewMemoryOnlineStore();
    coordinator_ = NewLocalCoordinator((dir_ / "state" / "watermarks.json").string());
  }
  void TearDown() override {
    jobs_.reset();
    fs::remove_all(dir_);
  }

  void Start(const std::string& view_extra = "", Micros tick = kSecond,
             const std::string& records = "", size_t keep_jobs = 1000) {
    auto registry = ParseRegistry(
        "project: p\n"
        "entities:\n"
        "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
        "sources:\n"
        "  - {name: users_src, path: users, timestamp_field: ts}\n"
        "feature_views:\n"
        "  - name: user_stats\n"
        "    entities: [user]\n"
        "    source: users_src\n"
        "    ttl: 2h\n" +
            view_extra +
            "    schema:\n"
            "      - {name: txn_count, dtype: INT64}\n"
            "  - name: offline_only\n"
            "    entities: [user]\n"
            "    source: users_src\n"
            "    online: false\n"
            "    schema:\n"
            "      - {name: txn_count, dtype: INT64}\n",
        "repo.yaml", dir_.string());
    ASSERT_TRUE(registry.ok()) << registry.status();
    holder_ = std::make_unique<RegistryHolder>(*registry);
    JobsOptions options;
    options.replica = "test";
    options.schedule_tick = tick;
    options.lease_ttl = 3 * kSecond;
    options.records_path = records;
    options.keep_jobs = keep_jobs;
    options.metrics = metrics_ != nullptr ? metrics_->materialize() : nullptr;
    jobs_ = std::make_unique<MaterializeJobs>(holder_.get(), store_.get(), coordinator_.get(),
                                              &lineage_, "memory://test", options);
  }

  JobInfo Wait(const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      auto job = jobs_->Get(id);
      EXPECT_TRUE(job.ok()) << job.status();
      if (!job.ok()) return {};
      if (job->state != JobState::kQueued && job->state != JobState::kRunning) return *job;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return {};
  }

  // The stored txn_count of `user` and its event time; nullopt: none.
  std::optional<std::pair<int64_t, Micros>> Online(int64_t user) {
    const Value key = Value::Int64(user);
    const FeatureView& view = *holder_->Get()->FindFeatureView("user_stats");
    auto read = store_->ReadSync(
        {MakeViewRead(OnlineKey("p", view.name, view.join_keys, {&key}), "user_stats",
                      {"txn_count"})},
        NowMicros() + 10 * kSecond);
    EXPECT_TRUE(read.ok());
    if (!read.ok() || !(*read)[0].found) return std::nullopt;
    auto v = DecodeValue(*(*read)[0].values[0]);
    return std::make_pair(v->get<int64_t>(), (*read)[0].event_time);
  }

  std::optional<Micros> Watermark() {
    auto marks = coordinator_->Watermarks("p");
    EXPECT_TRUE(marks.ok());
    auto it = marks->find("user_stats");
    return it == marks->end() ? std::nullopt : std::optional<Micros>(it->second);
  }

  std::vector<nlohmann::json> Lineage() {
    auto lines = lineage_.Read((dir_ / "offline" / "lineage.jsonl").string(), "", 1000);
    EXPECT_TRUE(lines.ok());
    std::vector<nlohmann::json> out;
    for (const std::string& l : *lines) out.push_back(nlohmann::json::parse(l));
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Metrics> metrics_;  // set before Start to record job figures
  std::unique_ptr<OnlineStore> store_;
  std::unique_ptr<Coordinator> coordinator_;
  lineage::LineageLog lineage_;
  std::unique_ptr<RegistryHolder> holder_;
  std::unique_ptr<MaterializeJobs> jobs_;
};

TEST_F(Jobs, WindowJobWritesAdvancesTheWatermarkAndRecordsLineage) {
  WriteUsers(dir_ / "users" / "a.parquet",
             {{1, kT0, 10}, {1, kT0 + kHour, 11}, {2, kT0 + 30 * 60 * kSecond, 20},
              {1, kT0 + 3 * kHour, 12}});
  Start();
  auto job = jobs_->Materialize({"user_stats"}, kT0, kT0 + 2 * kHour);
  ASSERT_TRUE(job.ok()) << job.status();
  const JobInfo done = Wait(job->id);
  ASSERT_EQ(done.state, JobState::kSucceeded) << done.error;
  ASSERT_EQ(done.views.size(), 1u);
  EXPECT_EQ(done.views[0].rows_read, 3);
  EXPECT_EQ(done.views[0].rows_written, 2);
  EXPECT_EQ(done.views[0].keys, 2);
  EXPECT_EQ(done.progress, 1.0);
  EXPECT_GT(done.finished, 0);
  EXPECT_EQ(Online(1), std::make_pair(int64_t{11}, kT0 + kHour));
  EXPECT_EQ(Online(2), std::make_pair(int64_t{20}, kT0 + 30 * 60 * kSecond));
  EXPECT_EQ(Watermark(), kT0 + 2 * kHour);

  const auto events = Lineage();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["eventType"], "START");
  EXPECT_EQ(events[1]["eventType"], "COMPLETE");
  EXPECT_EQ(events[0]["run"]["runId"], events[1]["run"]["runId"]);
  EXPECT_EQ(events[1]["job"]["name"], "materialize.user_stats");
  EXPECT_EQ(events[1]["inputs"][0]["name"], (dir_ / "users" / "a.parquet").string());
  EXPECT_EQ(events[1]["outputs"][0]["namespace"], "memory://test");
  EXPECT_EQ(events[1]["outputs"][0]["name"], "p.user_stats");
  EXPECT_EQ(events[1]["run"]["facets"]["pantry"]["rows_written"], 2);
}

TEST_F(Jobs, IncrementalRunsStartFromTheWatermark) {
  WriteUsers(dir_ / "users" / "a.parquet",
             {{1, kT0 - 3 * kHour, 1}, {1, kT0 - kHour, 2}, {2, kT0 + kHour, 3}});
  Start();
  // First run: from end - ttl (2h), so the row 3h back is out.
  auto first = jobs_->MaterializeIncremental({}, kT0);
  ASSERT_TRUE(first.ok()) << first.status();
  JobInfo done = Wait(first->id);
  ASSERT_EQ(done.state, JobState::kSucceeded) << done.error;
  EXPECT_TRUE(done.incremental);
  ASSERT_EQ(done.views.size(), 1u);  // offline_only is not online
  EXPECT_EQ(done.views[0].start, kT0 - 2 * kHour);
  EXPECT_EQ(done.views[0].rows_read, 1);
  EXPECT_EQ(Online(1), std::make_pair(int64_t{2}, kT0 - kHour));
  EXPECT_EQ(Watermark(), kT0);
  // Up to date at the same end.
  done = Wait(jobs_->MaterializeIncremental({"user_stats"}, kT0)->id);
  ASSERT_EQ(done.state, JobState::kSucceeded);
  EXPECT_TRUE(done.views[0].up_to_date);
  // Later: from the watermark.
  done = Wait(jobs_->MaterializeIncremental({"user_stats"}, kT0 + 2 * kHour)->id);
  ASSERT_EQ(done.state, JobState::kSucceeded) << done.error;
  EXPECT_EQ(done.views[0].start, kT0);
  EXPECT_EQ(done.views[0].rows_written, 1);
  EXPECT_EQ(Online(2), std::make_pair(int64_t{3}, kT0 + kHour));
  EXPECT_EQ(Watermark(), kT0 + 2 * kHour);
}

TEST_F(Jobs, AFailedRunLeavesTheWatermarkAndTheNextRunRecovers) {
  WriteUsers(dir_ / "users" / "a.parquet", {{1, kT0, 10}});
  Start();
  ASSERT_EQ(Wait(jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour)->id).state,
            JobState::kSucceeded);
  ASSERT_EQ(Watermark(), kT0 + kHour);
  WriteUsers(dir_ / "users" / "b.parquet", {{1, kT0 + 2 * kHour, 11}});
  std::ofstream(dir_ / "users" / "c.parquet") << "not parquet at all";
  JobInfo failed = Wait(jobs_->MaterializeIncremental({"user_stats"}, kT0 + 3 * kHour)->id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_NE(failed.error.find("c.parquet"), std::string::npos) << failed.error;
  EXPECT_NE(failed.error.find("user_stats"), std::string::npos) << failed.error;
  EXPECT_EQ(Watermark(), kT0 + kHour);
  EXPECT_EQ(Lineage().back()["eventType"], "FAIL");
  EXPECT_NE(Lineage().back()["run"]["facets"]["errorMessage"]["message"].get<std::string>().find(
                "c.parquet"),
            std::string::npos);

  fs::remove(dir_ / "users" / "c.parquet");
  JobInfo ok = Wait(jobs_->MaterializeIncremental({"user_stats"}, kT0 + 3 * kHour)->id);
  ASSERT_EQ(ok.state, JobState::kSucceeded) << ok.error;
  EXPECT_EQ(ok.views[0].start, kT0 + kHour);
  EXPECT_EQ(Online(1), std::make_pair(int64_t{11}, kT0 + 2 * kHour));
  EXPECT_EQ(Watermark(), kT0 + 3 * kHour);
}

TEST_F(Jobs, MetricsCountJobsViewRunsAndRowsAsTheyEnd) {
  using ::pantry::testing::SeriesValue;
  metrics_ = *Metrics::Create({});
  WriteUsers(dir_ / "users" / "a.parquet", {{1, kT0, 10}, {1, kT0 + 1, 11}, {2, kT0, 20}});
  Start();
  ASSERT_EQ(Wait(jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour)->id).state,
            JobState::kSucceeded);
  std::string text = metrics_->TextExposition();
  const std::string v = "{view=\"user_stats\"}";
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_finished_total{state=\"SUCCEEDED\"}"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_view_runs_total{state=\"SUCCEEDED\","
                              "view=\"user_stats\"}"),
            1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_read_total" + v), 3);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_written_total" + v), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_skipped_total" + v), 0);
  EXPECT_GT(SeriesValue(text, "pantry_materialize_read_bytes_total" + v).value_or(0), 0);
  EXPECT_GT(SeriesValue(text, "pantry_materialize_last_success_timestamp_seconds" + v)
                .value_or(0),
            1.6e9);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_running"), 0);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_queued"), 0);

  // The same window again: every row is already there.
  ASSERT_EQ(Wait(jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour)->id).state,
            JobState::kSucceeded);
  std::ofstream(dir_ / "users" / "c.parquet") << "not parquet at all";
  ASSERT_EQ(Wait(jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour)->id).state,
            JobState::kFailed);
  text = metrics_->TextExposition();
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_skipped_total" + v), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_finished_total{state=\"SUCCEEDED\"}"), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_finished_total{state=\"FAILED\"}"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_view_runs_total{state=\"FAILED\","
                              "view=\"user_stats\"}"),
            1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_run_duration_seconds_count" + v), 3);
}

TEST_F(Jobs, BadRequestsAreRejectedAtOnce) {
  Start();
  EXPECT_EQ(jobs_->Materialize({}, 0, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(jobs_->Materialize({"nope"}, 0, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto offline = jobs_->Materialize({"offline_only"}, 0, 1);
  EXPECT_EQ(offline.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(offline.status().message().find("not online"), std::string::npos);
  EXPECT_EQ(jobs_->Materialize({"user_stats"}, 5, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(jobs_->Get("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(jobs_->Cancel("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(jobs_->List().empty());
}

TEST_F(Jobs, ALeaseHeldElsewhereFailsTheViewAndCancelEndsAJob) {
  WriteUsers(dir_ / "users" / "a.parquet", {{1, kT0, 10}});
  Start();
  auto other = coordinator_->Acquire("p", "user_stats", "another-replica", 60 * kSecond);
  ASSERT_TRUE(other.ok() && other->has_value());
  JobInfo blocked = Wait(jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour)->id);
  EXPECT_EQ(blocked.state, JobState::kFailed);
  EXPECT_NE(blocked.error.find("lease"), std::string::npos) << blocked.error;
  EXPECT_FALSE(Online(1).has_value());
  EXPECT_FALSE(Watermark().has_value());
  ASSERT_TRUE(coordinator_->Release("p", "user_stats", "another-replica", **other).ok());

  // Cancelled jobs end CANCELLED; an ended job cannot be cancelled again.
  auto job = jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour);
  ASSERT_TRUE(job.ok());
  auto cancelled = jobs_->Cancel(job->id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  const JobInfo ended = Wait(job->id);
  EXPECT_EQ(ended.state, JobState::kCancelled);
  EXPECT_EQ(jobs_->Cancel(job->id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(jobs_->List().size(), 2u);
  EXPECT_EQ(jobs_->List()[0].id, job->id);  // the latest first
}

TEST_F(Jobs, ScheduledViewsMaterializeByThemselves) {
  WriteUsers(dir_ / "users" / "a.parquet", {{1, NowMicros() - 60 * kSecond, 10}});
  Start("    materialize: {every: 1h}\n", 20 * 1000);
  jobs_->StartScheduler();
  for (int i = 0; i < 500 && !Watermark().has_value(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(Watermark().has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::vector<JobInfo> jobs = jobs_->List();
  ASSERT_EQ(jobs.size(), 1u);  // not again within the hour
  EXPECT_TRUE(jobs[0].scheduled);
  EXPECT_EQ(Wait(jobs[0].id).state, JobState::kSucceeded);
  EXPECT_EQ(Online(1)->first, 10);
}

// Job records survive a restart; a job its pantryd did not finish comes
// back FAILED, and new ids follow the old ones.
TEST_F(Jobs, RecordsSurviveARestart) {
  WriteUsers(dir_ / "users" / "a.parquet", {{1, kT0, 10}});
  const std::string records = (dir_ / "state" / "jobs.jsonl").string();
  Start("", kSecond, records);
  const JobInfo done = Wait(jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour)->id);
  ASSERT_EQ(done.state, JobState::kSucceeded);
  jobs_.reset();
  // A record as a pantryd killed mid-run leaves it.
  {
    std::ofstream out(records, std::ios::app);
    out << R"({"id":"test-7","state":"RUNNING","created":1,"started":2,"views":)"
        << R"([{"view":"user_stats","state":"RUNNING","rows_read":5}]})" << "\n"
        << R"({"id": "cut sh)" << "\n";
  }
  Start("", kSecond, records);
  std::vector<JobInfo> jobs = jobs_->List();
  ASSERT_EQ(jobs.size(), 2u);
  // The latest (by creation) first.
  EXPECT_EQ(jobs[0].id, done.id);
  EXPECT_EQ(jobs[0].state, JobState::kSucceeded);
  EXPECT_EQ(jobs[0].views[0].rows_written, 1);
  EXPECT_EQ(jobs[1].id, "test-7");
  EXPECT_EQ(jobs[1].state, JobState::kFailed);
  EXPECT_NE(jobs[1].error.find("stopped before the job ended"), std::string::npos);
  EXPECT_EQ(jobs[1].views[0].state, JobState::kFailed);
  EXPECT_EQ(jobs[1].views[0].rows_read, 5);
  auto next = jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->id, "test-8");
  Wait(next->id);
}

// The records file stays bounded: past twice the jobs kept, it is rewritten
// with just those.
TEST_F(Jobs, RecordsFileStaysBounded) {
  WriteUsers(dir_ / "users" / "a.parquet", {{1, kT0, 10}});
  const std::string records = (dir_ / "state" / "jobs.jsonl").string();
  Start("", kSecond, records, /*keep_jobs=*/1);
  for (int i = 0; i < 12; ++i) {  // 3 records each: 36 lines unbounded
    ASSERT_EQ(Wait(jobs_->Materialize({"user_stats"}, kT0 - kHour, kT0 + kHour)->id).state,
              JobState::kSucceeded);
  }
  std::ifstream in(records);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_LE(lines, 2 * 1 + 16 + 1);
  EXPECT_EQ(jobs_->List().size(), 1u);
}

}  // namespace
}  // namespace pantry::materialize
