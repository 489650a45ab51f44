// MaterializeJobs: materialization as background jobs in pantryd.
//
// A job materializes one or more views, one after the other, on a worker
// thread of its own (one job at a time; each run uses `run.threads`). For
// each view it takes the view's lease from the Coordinator (renewed while the
// run goes on), works out the window (incremental: from the watermark, or
// end - ttl on the first run, from the beginning with ttl 0), runs
// MaterializeView, and only when every write committed advances the
// watermark (fenced by the lease) and releases the lease. A view whose run
// fails or is stopped leaves its watermark where it was; the job goes on with
// its other views unless it was cancelled. Every view run appends OpenLineage
// START, then COMPLETE, FAIL or ABORT events to the repository's lineage file.
//
// A scheduler thread starts incremental runs of the views with a
// `materialize: {every: D}` schedule whose watermark is D old or more; with
// several replicas, the one that gets the lease runs it and the others skip.
//
// Job records (the latest `keep_jobs`) are kept in memory and, with
// `records_path`, appended to a JSON-lines file as they change, so that they
// survive a restart: a job that was queued or running when its pantryd
// stopped comes back FAILED, saying so. Thread-safe.
#ifndef PANTRY_SERVER_MATERIALIZE_JOBS_H_
#define PANTRY_SERVER_MATERIALIZE_JOBS_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/lineage/lineage.h"
#include "server/materialize/coordinator.h"
#include "server/materialize/materialize.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry {
class MaterializeMetrics;
}  // namespace pantry

namespace pantry::materialize {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
const char* JobStateName(JobState state);

// One view's part of a job, as a snapshot.
struct ViewRunInfo {
  std::string view;
  Micros start = 0;  // incremental: set when the view's turn comes
  Micros end = 0;
  JobState state = JobState::kQueued;
  bool up_to_date = false;  // incremental: nothing to do
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_skipped = 0;
  int64_t bytes_read = 0;
  int64_t keys = 0;
  double progress = 0;  // [0, 1]
  std::string error;
};

// A job, as a snapshot.
struct JobInfo {
  std::string id;
  bool incremental = false;
  bool scheduled = false;  // started by the schedule
  JobState state = JobState::kQueued;
  std::vector<ViewRunInfo> views;
  Micros created = 0;
  Micros started = 0;   // 0 while queued
  Micros finished = 0;  // 0 until it ends
  std::string error;
  std::string replica;
  double progress = 0;  // [0, 1], over the views
};

struct JobsOptions {
  std::string replica;         // this pantryd, in leases, job records and logs
  int max_queued = 16;         // jobs waiting; beyond, RESOURCE_EXHAUSTED
  size_t keep_jobs = 1000;     // finished jobs remembered
  std::string records_path;    // job records (JSON lines); empty: in memory only
  Micros lease_ttl = 30 * kMicrosPerSecond;  // renewed every third of it
  Micros schedule_tick = kMicrosPerSecond;   // how often schedules are looked at
  MaterializeOptions run;      // interrupt is set per run
  // Job and view-run figures (server/metrics); null: none. Borrowed.
  MaterializeMetrics* metrics = nullptr;
};

class MaterializeJobs {
 public:
  // All pointers are borrowed and must outlive this object. `output_namespace`
  // names the online store in lineage events ("redis://HOST:PORT").
  MaterializeJobs(const RegistryHolder* registry, OnlineStore* store, Coordinator* coordinator,
                  lineage::LineageLog* lineage, std::string output_namespace,
                  JobsOptions options);
  // Shutdown().
  ~MaterializeJobs();
  MaterializeJobs(const MaterializeJobs&) = delete;
  MaterializeJobs& operator=(const MaterializeJobs&) = delete;

  // Queue a job. InvalidArgument for no views, unknown views, views that are
  // not online or have no source, start >= end; ResourceExhausted when
  // max_queued jobs wait; Unavailable after Shutdown.
  absl::StatusOr<JobInfo> Materialize(const std::vector<std::string>& views, Micros start,
                                      Micros end);
  // `views` empty: every online view with a source. `end` 0: now.
  absl::StatusOr<JobInfo> MaterializeIncremental(const std::vector<std::string>& views,
                                                 Micros end);
  // NotFound for an unknown id.
  absl::StatusOr<JobInfo> Get(const std::string& id) const;
  // The latest first.
  std::vector<JobInfo> List() const;
  // Marks a queued or running job cancelled (a running view stops at its
  // next unit of work). FailedPrecondition when it already ended.
  absl::StatusOr<JobInfo> Cancel(const std::string& id);

  // Starts the scheduler thread (idempotent).
  void StartScheduler();
  // Stops taking jobs, cancels the queued ones, stops the running one (its
  // view ends UNAVAILABLE: pantryd is shutting down) and joins the threads.
  // Idempotent.
  void Shutdown();

 private:
  struct Job;
  absl::StatusOr<JobInfo> Submit(std::unique_ptr<Job> job);
  void Work();
  void Schedule();
  void Run(Job& job);
  void RunView(Job& job, size_t index, const std::shared_ptr<const Registry>& registry);
  JobInfo Snapshot(const Job& job) const;  // mu_ held
  void LoadRecords();
  void Record(const JobInfo& info);  // appends to records_path; mu_ held
  void RewriteRecords();             // mu_ held (or before the threads start)
  void ReportQueue();                // to options_.metrics; mu_ held
  absl::Status CheckViews(const Registry& registry, const std::vector<std::string>& views) const;

  const RegistryHolder* const registry_;
  OnlineStore* const store_;
  Coordinator* const coordinator_;
  lineage::LineageLog* const lineage_;
  const std::string output_namespace_;
  const JobsOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::unique_ptr<Job>> jobs_;  // by id; guarded by mu_
  std::deque<std::string> order_;                     // ids, oldest first
  std::deque<Job*> queue_;
  int64_t next_id_ = 1;
  size_t record_lines_ = 0;  // lines in records_path; guarded by mu_
  bool stopping_ = false;
  std::thread worker_;
  std::thread scheduler_;
};

}  // namespace pantry::materialize

#endif  // PANTRY_SERVER_MATERIALIZE_JOBS_H_
