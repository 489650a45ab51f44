#include "server/materialize/jobs.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/metrics/metrics.h"
#include "server/offline/source.h"

namespace pantry::materialize {
namespace {

// The start of an incremental window with no watermark and no ttl.
constexpr Micros kBeginning = std::numeric_limits<Micros>::min() + 1;

ViewRunInfo NewViewRun(const std::string& view, Micros start, Micros end) {
  ViewRunInfo v;
  v.view = view;
  v.start = start;
  v.end = end;
  return v;
}

bool Finished(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

std::optional<JobState> StateFromName(const std::string& name) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                     JobState::kFailed, JobState::kCancelled}) {
    if (name == JobStateName(s)) return s;
  }
  return std::nullopt;
}

nlohmann::json ToJson(const JobInfo& job) {
  nlohmann::json views = nlohmann::json::array();
  for (const ViewRunInfo& v : job.views) {
    views.push_back({{"view", v.view},
                     {"start", v.start},
                     {"end", v.end},
                     {"state", JobStateName(v.state)},
                     {"up_to_date", v.up_to_date},
                     {"rows_read", v.rows_read},
                     {"rows_written", v.rows_written},
                     {"rows_skipped", v.rows_skipped},
                     {"bytes_read", v.bytes_read},
                     {"keys", v.keys},
                     {"error", v.error}});
  }
  return {{"id", job.id},
          {"incremental", job.incremental},
          {"scheduled", job.scheduled},
          {"state", JobStateName(job.state)},
          {"views", views},
          {"created", job.created},
          {"started", job.started},
          {"finished", job.finished},
          {"error", job.error},
          {"replica", job.replica}};
}

// Nullopt for a record that is not a job (a line cut short by a crash).
std::optional<JobInfo> FromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) return std::nullopt;
  auto state = StateFromName(j.value("state", ""));
  if (!state) return std::nullopt;
  JobInfo job;
  job.id = j["id"];
  job.incremental = j.value("incremental", false);
  job.scheduled = j.value("scheduled", false);
  job.state = *state;
  job.created = j.value("created", Micros{0});
  job.started = j.value("started", Micros{0});
  job.finished = j.value("finished", Micros{0});
  job.error = j.value("error", "");
  job.replica = j.value("replica", "");
  if (j.contains("views") && j["views"].is_array()) {
    for (const nlohmann::json& v : j["views"]) {
      if (!v.is_object()) return std::nullopt;
      ViewRunInfo r;
      r.view = v.value("view", "");
      r.start = v.value("start", Micros{0});
      r.end = v.value("end", Micros{0});
      r.state = StateFromName(v.value("state", "")).value_or(JobState::kFailed);
      r.up_to_date = v.value("up_to_date", false);
      r.rows_read = v.value("rows_read", int64_t{0});
      r.rows_written = v.value("rows_written", int64_t{0});
      r.rows_skipped = v.value("rows_skipped", int64_t{0});
      r.bytes_read = v.value("bytes_read", int64_t{0});
      r.keys = v.value("keys", int64_t{0});
      r.error = v.value("error", "");
      r.progress = Finished(r.state) ? 1 : 0;
      job.views.push_back(std::move(r));
    }
  }
  return job;
}

}  // namespace

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "QUEUED";
    case JobState::kRunning: return "RUNNING";
    case JobState::kSucceeded: return "SUCCEEDED";
    case JobState::kFailed: return "FAILED";
    case JobState::kCancelled: return "CANCELLED";
  }
  return "UNKNOWN";
}

struct MaterializeJobs::Job {
  JobInfo info;                       // guarded by mu_
  std::atomic<bool> cancelled{false};
  size_t current = SIZE_MAX;          // the view running; guarded by mu_
  std::unique_ptr<MaterializeProgress> progress;  // its counters; set under mu_
  bool all_skipped = false;           // scheduled, and every view's lease was taken
};

MaterializeJobs::MaterializeJobs(const RegistryHolder* registry, OnlineStore* store,
                                 Coordinator* coordinator, lineage::LineageLog* lineage,
                                 std::string output_namespace, JobsOptions options)
    : registry_(registry),
      store_(store),
      coordinator_(coordinator),
      lineage_(lineage),
      output_namespace_(std::move(output_namespace)),
      options_(std::move(options)) {
  LoadRecords();
  worker_ = std::thread([this] { Work(); });
}

void MaterializeJobs::LoadRecords() {
  if (options_.records_path.empty()) return;
  std::error_code made;
  std::filesystem::create_directories(std::filesystem::path(options_.records_path).parent_path(),
                                      made);
  std::ifstream in(options_.records_path);
  if (!in) return;
  // The last record of each job wins; jobs in order of creation.
  std::map<std::string, JobInfo> latest;
  for (std::string line; std::getline(in, line);) {
    auto job = FromJson(nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false));
    if (job) latest[job->id] = *std::move(job);
  }
  std::vector<JobInfo> jobs;
  for (auto& [id, job] : latest) jobs.push_back(std::move(job));
  std::sort(jobs.begin(), jobs.end(), [](const JobInfo& a, const JobInfo& b) {
    return std::tie(a.created, a.id) < std::tie(b.created, b.id);
  });
  if (jobs.size() > options_.keep_jobs) jobs.erase(jobs.begin(), jobs.end() - options_.keep_jobs);
  const Micros now = NowMicros();
  const std::string prefix = options_.replica + "-";
  int lost = 0;
  for (JobInfo& job : jobs) {
    if (!Finished(job.state)) {
      // Its pantryd stopped during the job: nothing moved its watermarks.
      job.state = JobState::kFailed;
      job.error = "pantryd stopped before the job ended; its watermarks did not move";
      job.finished = now;
      for (ViewRunInfo& v : job.views) {
        if (!Finished(v.state)) {
          v.state = JobState::kFailed;
          v.error = job.error;
        }
      }
      ++lost;
    }
    int64_t n = 0;
    if (job.id.rfind(prefix, 0) == 0 && absl::SimpleAtoi(job.id.substr(prefix.size()), &n)) {
      next_id_ = std::max(next_id_, n + 1);
    }
    auto record = std::make_unique<Job>();
    record->info = job;
    order_.push_back(job.id);
    jobs_[job.id] = std::move(record);
  }
  RewriteRecords();
  spdlog::info("materialization: {} job records from {} ({} cut short by a stop)", jobs.size(),
               options_.records_path, lost);
}

void MaterializeJobs::RewriteRecords() {
  // Just the jobs kept, one line each (temp file, rename).
  // A write that failed (a full disk) leaves the old file in place.
  const std::string temp = options_.records_path + ".tmp";
  bool written = false;
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const std::string& id : order_) out << ToJson(Snapshot(*jobs_.at(id))).dump() << "\n";
    out.close();
    written = static_cast<bool>(out);
  }
  std::error_code ec;
  if (written) std::filesystem::rename(temp, options_.records_path, ec);
  if (!written || ec) {
    std::filesystem::remove(temp, ec);
    spdlog::warn("cannot rewrite the job records {}; appending to the old file",
                 options_.records_path);
    return;
  }
  record_lines_ = order_.size();
}

void MaterializeJobs::ReportQueue() {
  if (options_.metrics != nullptr) {
    options_.metrics->SetQueuedJobs(static_cast<int64_t>(queue_.size()));
  }
}

void MaterializeJobs::Record(const JobInfo& info) {
  if (options_.records_path.empty()) return;
  // A job appends up to three records; past twice what is kept, the file
  // is rewritten, so it stays bounded however long pantryd runs.
  if (record_lines_ >= 2 * options_.keep_jobs + 16) RewriteRecords();
  // Best effort: a job record lost in a crash costs nothing but the record.
  std::ofstream out(options_.records_path, std::ios::app);
  out << ToJson(info).dump() << "\n";
  if (!out) spdlog::warn("cannot append to the job records {}", options_.records_path);
  ++record_lines_;
}

MaterializeJobs::~MaterializeJobs() { Shutdown(); }

absl::Status MaterializeJobs::CheckViews(const Registry& registry,
                                         const std::vector<std::string>& views) const {
  if (views.empty()) return absl::InvalidArgumentError("name at least one feature view");
  for (const std::string& name : views) {
    const FeatureView* view = registry.FindFeatureView(name);
    if (view == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown feature view '", name, "'"));
    }
    if (!view->online) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature view '", name, "' is not online (online: false)"));
    }
    if (view->source.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature view '", name, "' has no source to materialize from"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<JobInfo> MaterializeJobs::Materialize(const std::vector<std::string>& views,
                                                     Micros start, Micros end) {
  PANTRY_RETURN_IF_ERROR(CheckViews(*registry_->Get(), views));
  if (start >= end) {
    return absl::InvalidArgumentError(absl::StrCat("the start (", FormatRfc3339(start),
                                                   ") is not before the end (",
                                                   FormatRfc3339(end), ")"));
  }
  auto job = std::make_unique<Job>();
  for (const std::string& v : views) job->info.views.push_back(NewViewRun(v, start, end));
  return Submit(std::move(job));
}

absl::StatusOr<JobInfo> MaterializeJobs::MaterializeIncremental(
    const std::vector<std::string>& views, Micros end) {
  std::shared_ptr<const Registry> registry = registry_->Get();
  std::vector<std::string> names = views;
  if (names.empty()) {
    for (const auto& [name, view] : registry->feature_views) {
      if (view.online && !view.source.empty()) names.push_back(name);
    }
    if (names.empty()) {
      return absl::InvalidArgumentError(
          "the repository has no online feature view with a source to materialize");
    }
  }
  PANTRY_RETURN_IF_ERROR(CheckViews(*registry, names));
  if (end == 0) end = NowMicros();
  auto job = std::make_unique<Job>();
  job->info.incremental = true;
  for (const std::string& v : names) job->info.views.push_back(NewViewRun(v, 0, end));
  return Submit(std::move(job));
}

absl::StatusOr<JobInfo> MaterializeJobs::Submit(std::unique_ptr<Job> job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return absl::UnavailableError("pantryd is shutting down: no new jobs");
  if (queue_.size() >= static_cast<size_t>(std::max(0, options_.max_queued))) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the materialization queue is full (", queue_.size(), " jobs wait); retry later"));
  }
  job->info.id = absl::StrCat(options_.replica, "-", next_id_++);
  job->info.created = NowMicros();
  job->info.replica = options_.replica;
  Job* raw = job.get();
  const std::string id = job->info.id;
  jobs_[id] = std::move(job);
  order_.push_back(id);
  queue_.push_back(raw);
  ReportQueue();
  if (!raw->info.scheduled) Record(raw->info);
  cv_.notify_all();
  return Snapshot(*raw);
}

JobInfo MaterializeJobs::Snapshot(const Job& job) const {
  JobInfo info = job.info;
  double done = 0;
  for (size_t i = 0; i < info.views.size(); ++i) {
    ViewRunInfo& v = info.views[i];
    if (i == job.current && job.progress != nullptr) {
      const MaterializeProgress& p = *job.progress;
      v.rows_read = p.rows_read;
      v.rows_written = p.rows_written;
      v.rows_skipped = p.rows_skipped;
      v.bytes_read = p.bytes_read;
      const int64_t total = p.work_total;
      v.progress = total > 0 ? std::min(1.0, static_cast<double>(p.work_done) / total) : 0;
    }
    done += Finished(v.state) ? 1.0 : v.progress;
  }
  info.progress = info.views.empty() ? 1.0 : done / static_cast<double>(info.views.size());
  return info;
}

absl::StatusOr<JobInfo> MaterializeJobs::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  return Snapshot(*it->second);
}

std::vector<JobInfo> MaterializeJobs::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobInfo> out;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    out.push_back(Snapshot(*jobs_.at(*it)));
  }
  return out;
}

absl::StatusOr<JobInfo> MaterializeJobs::Cancel(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  Job& job = *it->second;
  if (Finished(job.info.state)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job '", id, "' already ended (", JobStateName(job.info.state), ")"));
  }
  job.cancelled = true;
  if (job.info.state == JobState::kQueued) {
    queue_.erase(std::remove(queue_.begin(), queue_.end(), &job), queue_.end());
    ReportQueue();
    job.info.state = JobState::kCancelled;
    job.info.error = "cancelled before it started";
    job.info.finished = NowMicros();
    for (ViewRunInfo& v : job.info.views) v.state = JobState::kCancelled;
    Record(job.info);
    if (options_.metrics != nullptr) options_.metrics->JobFinished(JobStateName(job.info.state));
  }
  return Snapshot(job);
}

void MaterializeJobs::StartScheduler() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || scheduler_.joinable()) return;
  scheduler_ = std::thread([this] { Schedule(); });
}

void MaterializeJobs::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      for (Job* job : queue_) {
        job->cancelled = true;
        job->info.state = JobState::kCancelled;
        job->info.error = "pantryd shut down before the job started";
        job->info.finished = NowMicros();
        for (ViewRunInfo& v : job->info.views) v.state = JobState::kCancelled;
        Record(job->info);
        if (options_.metrics != nullptr) {
          options_.metrics->JobFinished(JobStateName(job->info.state));
        }
      }
      queue_.clear();
      ReportQueue();
    }
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (scheduler_.joinable()) scheduler_.join();
}

void MaterializeJobs::Work() {
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = queue_.front();
      queue_.pop_front();
      ReportQueue();
      if (options_.metrics != nullptr) options_.metrics->SetRunningJobs(1);
      job->info.state = JobState::kRunning;
      job->info.started = NowMicros();
      if (!job->info.scheduled) Record(job->info);
    }
    Run(*job);
    std::lock_guard<std::mutex> lock(mu_);
    // A scheduled job that found every view taken by another replica is
    // noise: forget it.
    if (job->all_skipped) {
      const std::string id = job->info.id;
      order_.erase(std::remove(order_.begin(), order_.end(), id), order_.end());
      jobs_.erase(id);
    } else {
      Record(Snapshot(*job));
    }
    while (order_.size() > options_.keep_jobs) {
      auto oldest = jobs_.find(order_.front());
      if (!Finished(oldest->second->info.state)) break;
      jobs_.erase(oldest);
      order_.pop_front();
    }
  }
}

void MaterializeJobs::Run(Job& job) {
  std::shared_ptr<const Registry> registry = registry_->Get();
  size_t views = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    views = job.info.views.size();
  }
  for (size_t i = 0; i < views; ++i) RunView(job, i, registry);
  std::lock_guard<std::mutex> lock(mu_);
  job.current = SIZE_MAX;
  job.progress.reset();
  job.info.finished = NowMicros();
  bool skipped_all = job.info.scheduled;
  JobState state = JobState::kSucceeded;
  for (const ViewRunInfo& v : job.info.views) {
    skipped_all = skipped_all && v.state == JobState::kCancelled;
    if (v.state == JobState::kFailed && state == JobState::kSucceeded) {
      state = JobState::kFailed;
      job.info.error = absl::StrCat("view '", v.view, "': ", v.error);
    }
  }
  if (job.cancelled) {
    state = JobState::kCancelled;
    job.info.error = stopping_ ? "pantryd shut down during the job" : "cancelled";
  }
  job.info.state = state;
  job.all_skipped = skipped_all && !job.cancelled;
  if (options_.metrics != nullptr) {
    options_.metrics->SetRunningJobs(0);
    if (!job.all_skipped) options_.metrics->JobFinished(JobStateName(state));
  }
}

void MaterializeJobs::RunView(Job& job, size_t index,
                              const std::shared_ptr<const Registry>& registry) {
  const Micros view_began = NowMicros();
  std::string name;
  Micros start = 0, end = 0;
  bool incremental = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ViewRunInfo& v = job.info.views[index];
    if (job.cancelled) {
      v.state = JobState::kCancelled;
      return;
    }
    name = v.view;
    start = v.start;
    end = v.end;
    incremental = job.info.incremental;
    v.state = JobState::kRunning;
    job.current = index;
    job.progress = std::make_unique<MaterializeProgress>();
  }
  auto finish = [&](JobState state, const std::string& error, const MaterializeStats* stats) {
    std::lock_guard<std::mutex> lock(mu_);
    ViewRunInfo& v = job.info.views[index];
    if (job.progress != nullptr) {
      v.rows_read = job.progress->rows_read;
      v.rows_written = job.progress->rows_written;
      v.rows_skipped = job.progress->rows_skipped;
      v.bytes_read = job.progress->bytes_read;
    }
    if (stats != nullptr) v.keys = stats->keys;
    v.start = start;
    v.end = end;
    v.state = state;
    v.error = error;
    v.progress = 1;
    job.current = SIZE_MAX;
    // A run skipped because another replica has the view (cancelled without
    // the job being cancelled) did not run here: not counted.
    if (options_.metrics != nullptr && !(state == JobState::kCancelled && !job.cancelled)) {
      const Micros now = NowMicros();
      options_.metrics->ViewRunFinished(v.view, JobStateName(state),
                                        {v.rows_read, v.rows_written, v.rows_skipped, v.bytes_read,
                                         static_cast<double>(now - view_began) / kMicrosPerSecond},
                                        now);
    }
  };
  const std::string& project = registry->project;
  const FeatureView* view = registry->FindFeatureView(name);
  if (view == nullptr || !view->online || view->source.empty()) {
    finish(JobState::kFailed,
           absl::StrCat("feature view '", name,
                        "' no longer exists as an online view with a source"),
           nullptr);
    return;
  }

  absl::StatusOr<std::optional<int64_t>> lease =
      coordinator_->Acquire(project, name, options_.replica, options_.lease_ttl);
  if (!lease.ok()) {
    finish(JobState::kFailed, std::string(lease.status().message()), nullptr);
    return;
  }
  if (!lease->has_value()) {
    const std::string why = absl::StrCat("another run holds the lease of view '", name,
                                         "' (another replica may be materializing it)");
    finish(job.info.scheduled ? JobState::kCancelled : JobState::kFailed,
           job.info.scheduled ? absl::StrCat("skipped: ", why) : why, nullptr);
    return;
  }
  const int64_t token = **lease;
  auto release = [&] {
    absl::Status released = coordinator_->Release(project, name, options_.replica, token);
    if (!released.ok()) spdlog::warn("materialize {}: releasing the lease: {}", name, released);
  };

  if (incremental) {
    absl::StatusOr<std::map<std::string, Micros>> marks = coordinator_->Watermarks(project);
    if (!marks.ok()) {
      release();
      finish(JobState::kFailed, std::string(marks.status().message()), nullptr);
      return;
    }
    auto it = marks->find(name);
    if (job.info.scheduled && it != marks->end() && end - it->second < view->materialize_every) {
      // Another replica ran it since the schedule looked.
      release();
      finish(JobState::kCancelled, "skipped: another replica materialized it meanwhile", nullptr);
      return;
    }
    start = it != marks->end() ? it->second : view->ttl > 0 ? end - view->ttl : kBeginning;
    // An aggregation view always heals: its run does not depend on the window.
    if (start >= end && !view->is_aggregation()) {
      release();
      {
        std::lock_guard<std::mutex> lock(mu_);
        job.info.views[index].up_to_date = true;
      }
      finish(JobState::kSucceeded, "", nullptr);
      return;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job.info.views[index].start = start;
  }

  // Renew the lease while the run goes on; losing it stops the run.
  std::atomic<bool> lease_lost{false};
  std::mutex renew_mu;
  std::condition_variable renew_cv;
  bool run_done = false;
  std::thread renewer([&] {
    std::unique_lock<std::mutex> lock(renew_mu);
    while (!renew_cv.wait_for(lock, std::chrono::microseconds(options_.lease_ttl / 3),
                              [&] { return run_done; })) {
      absl::Status renewed =
          coordinator_->Renew(project, name, options_.replica, token, options_.lease_ttl);
      if (absl::IsFailedPrecondition(renewed)) {
        lease_lost = true;
        return;
      }
      if (!renewed.ok()) spdlog::warn("materialize {}: renewing the lease: {}", name, renewed);
    }
  });

  lineage::RunEvent event;
  event.run_id = lineage::NewRunId();
  event.job_namespace = absl::StrCat("pantry://", project);
  event.job_name = absl::StrCat("materialize.", name);
  event.outputs = {{output_namespace_, absl::StrCat(project, ".", name), {}}};
  if (auto files = offline::ListViewFiles(*registry, *view); files.ok()) {
    for (const offline::SourceFile& f : *files) {
      if (offline::MayOverlap(f, start, end - 1)) event.inputs.push_back({"file", f.path, {}});
    }
  }
  event.event_type = "START";
  event.event_time = NowMicros();
  if (absl::Status s = lineage_->Append(registry->lineage_path, event); !s.ok()) {
    spdlog::warn("materialize {}: lineage: {}", name, s);
  }

  MaterializeOptions run = options_.run;
  run.memory_budget_bytes = registry->offline_store.memory_budget_bytes;
  run.interrupt = [&]() -> absl::Status {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return absl::UnavailableError("pantryd is shutting down: the run was stopped");
    }
    if (job.cancelled) return absl::CancelledError("the job was cancelled");
    if (lease_lost) {
      return absl::AbortedError(absl::StrCat("the lease of view '", name,
                                             "' was lost (it expired or another run took it)"));
    }
    return absl::OkStatus();
  };
  MaterializeProgress* progress = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    progress = job.progress.get();
  }
  spdlog::info("materialize {} [{}, {}) started (job {})", name,
               start == kBeginning ? "beginning" : FormatRfc3339(start), FormatRfc3339(end),
               job.info.id);
  const Micros began = NowMicros();
  absl::StatusOr<MaterializeStats> stats =
      MaterializeView(*registry, *view, start, end, store_, run, progress);
  {
    std::lock_guard<std::mutex> lock(renew_mu);
    run_done = true;
  }
  renew_cv.notify_all();
  renewer.join();
  absl::Status status = stats.status();
  // The watermark moves only now that every write committed, and only for
  // the lease's holder.
  if (status.ok()) status = coordinator_->Advance(project, name, options_.replica, token, end);
  release();

  event.event_time = NowMicros();
  if (stats.ok()) {
    event.figures = {{"rows_read", stats->rows_read},   {"rows_written", stats->rows_written},
                     {"rows_skipped_older", stats->rows_skipped}, {"keys", stats->keys},
                     {"bytes_read", stats->bytes_read}};
  }
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
  }
  if (absl::IsUnavailable(status) && stopping) job.cancelled = true;
  const bool stopped = absl::IsCancelled(status) || job.cancelled;
  event.event_type = status.ok() ? "COMPLETE" : stopped ? "ABORT" : "FAIL";
  if (!status.ok()) event.error = std::string(status.message());
  if (absl::Status s = lineage_->Append(registry->lineage_path, event); !s.ok()) {
    spdlog::warn("materialize {}: lineage: {}", name, s);
  }
  const double seconds = static_cast<double>(NowMicros() - began) / kMicrosPerSecond;
  if (status.ok()) {
    spdlog::info(
        "materialize {}: {} rows read, {} keys, {} written, {} skipped as older, {:.2f} s",
        name, stats->rows_read, stats->keys, stats->rows_written, stats->rows_skipped, seconds);
    finish(JobState::kSucceeded, "", &*stats);
    return;
  }
  spdlog::warn("materialize {} failed after {:.2f} s (watermark unchanged): {}", name, seconds,
               status);
  finish(stopped ? JobState::kCancelled : JobState::kFailed,
         std::string(status.message()), nullptr);
}

void MaterializeJobs::Schedule() {
  absl::Status last_error;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::microseconds(options_.schedule_tick),
                       [this] { return stopping_; })) {
        return;
      }
    }
    std::shared_ptr<const Registry> registry = registry_->Get();
    std::vector<const FeatureView*> scheduled;
    for (const auto& [name, view] : registry->feature_views) {
      if (view.materialize_every > 0 && view.online && !view.source.empty()) {
        scheduled.push_back(&view);
      }
    }
    if (scheduled.empty()) continue;
    absl::StatusOr<std::map<std::string, Micros>> marks =
        coordinator_->Watermarks(registry->project);
    if (!marks.ok()) {
      if (marks.status() != last_error) {
        spdlog::warn("materialization schedule: cannot read the watermarks: {}", marks.status());
      }
      last_error = marks.status();
      continue;
    }
    last_error = absl::OkStatus();
    const Micros now = NowMicros();
    for (const FeatureView* view : scheduled) {
      auto mark = marks->find(view->name);
      if (mark != marks->end() && now - mark->second < view->materialize_every) continue;
      bool active = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [id, job] : jobs_) {
          if (Finished(job->info.state)) continue;
          for (const ViewRunInfo& v : job->info.views) active = active || v.view == view->name;
        }
      }
      if (active) continue;
      auto job = std::make_unique<Job>();
      job->info.incremental = true;
      job->info.scheduled = true;
      job->info.views.push_back(NewViewRun(view->name, 0, now));
      absl::StatusOr<JobInfo> queued = Submit(std::move(job));
      if (!queued.ok() && !absl::IsUnavailable(queued.status())) {
        spdlog::warn("materialization schedule: {}: {}", view->name, queued.status());
      }
    }
  }
}

}  // namespace pantry::materialize
