#include "client/cli/materialize_cmd.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/cli/output.h"
#include "nlohmann/json.hpp"
#include "server/common/time.h"

namespace pantry::cli {
namespace {

using nlohmann::json;

// Windows that start at the beginning of time show as that.
std::string When(int64_t us) {
  if (us <= std::numeric_limits<int64_t>::min() / 2) return "beginning";
  return us == 0 ? "" : FormatRfc3339(us);
}

std::string StateName(v1::JobState s) {
  const std::string name = v1::JobState_Name(s);
  return name.empty() ? "UNKNOWN" : name;
}

json JobJson(const v1::Job& job) {
  json views = json::array();
  for (const v1::ViewRun& v : job.views()) {
    views.push_back({{"view", v.view()},
                     {"start", When(v.start_us())},
                     {"end", When(v.end_us())},
                     {"state", StateName(v.state())},
                     {"up_to_date", v.up_to_date()},
                     {"rows_read", v.rows_read()},
                     {"rows_written", v.rows_written()},
                     {"rows_skipped_older", v.rows_skipped_older()},
                     {"keys", v.keys()},
                     {"bytes_read", v.bytes_read()},
                     {"error", v.error()}});
  }
  const double seconds =
      job.started_us() > 0 && job.finished_us() > 0
          ? static_cast<double>(job.finished_us() - job.started_us()) / 1e6
          : 0;
  return {{"id", job.id()},
          {"kind", job.kind()},
          {"state", StateName(job.state())},
          {"progress", job.progress()},
          {"rows_read", job.rows_read()},
          {"rows_written", job.rows_written()},
          {"rows_skipped_older", job.rows_skipped_older()},
          {"bytes_read", job.bytes_read()},
          {"created", When(job.created_us())},
          {"started", When(job.started_us())},
          {"finished", When(job.finished_us())},
          {"seconds", seconds},
          {"replica", job.replica()},
          {"error", job.error()},
          {"views", views}};
}


void PrintJob(const v1::Job& job) {
  std::cout << "job " << job.id() << " (" << job.kind() << "): " << StateName(job.state());
  if (job.started_us() > 0 && job.finished_us() > 0) {
    std::cout << " in " << Duration(static_cast<double>(job.finished_us() - job.started_us()) / 1e6);
  }
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const v1::ViewRun& v : job.views()) {
    rows.push_back({v.view(), StateName(v.state()),
                    v.up_to_date() ? "up to date"
                                   : absl::StrCat(When(v.start_us()), " .. ", When(v.end_us())),
                    Count(v.rows_read()), Count(v.keys()), Count(v.rows_written()),
                    Count(v.rows_skipped_older()), v.error()});
  }
  // Skipped: rows older than the online values; for an aggregation view,
  // entities still changing after the heal's rounds.
  PrintTable({"VIEW", "STATE", "WINDOW", "ROWS READ", "KEYS", "WRITTEN", "SKIPPED", "ERROR"},
             rows);
}

bool Ended(v1::JobState s) { return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED; }

// Polls the job until it ends, drawing a progress bar on stderr.
absl::StatusOr<v1::Job> Follow(Client& client, v1::Job job) {
  ProgressLine line;
  while (!Ended(job.state())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    absl::StatusOr<v1::Job> next = client.GetJob(job.id());
    if (!next.ok()) return next.status();
    job = *std::move(next);
    const double elapsed = line.elapsed_seconds();
    const double rate = elapsed > 0 ? static_cast<double>(job.rows_read()) / elapsed : 0;
    line.Update(job.progress(), absl::StrCat(Count(job.rows_read()), " rows read  ",
                                             Count(static_cast<int64_t>(rate)), " rows/s  ",
                                             Count(job.rows_written()), " written"));
  }
  line.Finish();
  return job;
}

absl::StatusOr<int64_t> ParseTime(const std::string& text, const std::string& option) {
  if (text == "now") return NowMicros();
  absl::StatusOr<Micros> t = ParseRfc3339(text);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " '", text, "': ", t.status().message(),
                     " (an RFC 3339 time such as 2026-01-31T00:00:00Z, or now)"));
  }
  return *t;
}

}  // namespace

int Materialize(Client& client, const MaterializeArgs& args, bool incremental, bool json_out) {
  const char* what = incremental ? "materialize-incremental" : "materialize";
  std::vector<std::string> views;
  for (absl::string_view v : absl::StrSplit(args.views, ',', absl::SkipWhitespace())) {
    views.emplace_back(v);
  }
  if (!incremental && views.empty()) return BadInput("materialize: --views names no view");
  absl::StatusOr<int64_t> end =
      args.end.empty() ? absl::StatusOr<int64_t>(NowMicros()) : ParseTime(args.end, "--end");
  if (!end.ok()) return BadInput(absl::StrCat(what, ": ", end.status().message()));
  absl::StatusOr<v1::Job> job;
  if (incremental) {
    job = client.MaterializeIncremental(views, *end);
  } else {
    absl::StatusOr<int64_t> start = ParseTime(args.start, "--start");
    if (!start.ok()) return BadInput(absl::StrCat(what, ": ", start.status().message()));
    job = client.Materialize(views, *start, *end);
  }
  if (!job.ok()) return Fail(job.status(), what);
  if (!args.wait) {
    if (json_out) {
      std::cout << JobJson(*job).dump() << "\n";
    } else {
      std::cout << "job " << job->id() << " queued; follow it with: pantry jobs " << job->id()
                << "\n";
    }
    return 0;
  }
  absl::StatusOr<v1::Job> done = Follow(client, *std::move(job));
  if (!done.ok()) return Fail(done.status(), what);
  if (json_out) {
    std::cout << JobJson(*done).dump() << "\n";
  } else {
    PrintJob(*done);
  }
  if (done->state() != v1::SUCCEEDED) {
    std::cerr << "pantry: " << what << ": job " << done->id() << " " << StateName(done->state())
              << ": " << done->error() << "\n";
    return kFailed;
  }
  return 0;
}

int Heal(Client& client, const MaterializeArgs& args, bool json_out) {
  std::vector<std::string> names = absl::StrSplit(args.views, ',', absl::SkipWhitespace());
  if (names.empty()) return BadInput("aggregate heal: --views names no view");
  absl::StatusOr<v1::ListFeatureViewsResponse> views = client.ListFeatureViews();
  if (!views.ok()) return Fail(views.status(), "aggregate heal");
  for (absl::string_view name : names) {
    const v1::FeatureViewSpec* found = nullptr;
    for (const auto& v : views->feature_views()) {
      if (v.name() == name) found = &v;
    }
    if (found == nullptr) {
      return BadInput(absl::StrCat("aggregate heal: unknown feature view '", name, "'"));
    }
    if (found->aggregations_size() == 0) {
      return BadInput(absl::StrCat("aggregate heal: feature view '", name,
                                   "' is not an aggregation view (materialize it instead)"));
    }
  }
  MaterializeArgs incremental = args;
  incremental.end.clear();
  return Materialize(client, incremental, /*incremental=*/true, json_out);
}

int Jobs(Client& client, const std::string& id, bool json_out) {
  if (!id.empty()) {
    absl::StatusOr<v1::Job> job = client.GetJob(id);
    if (!job.ok()) return Fail(job.status(), "jobs");
    if (json_out) {
      std::cout << JobJson(*job).dump() << "\n";
    } else {
      PrintJob(*job);
    }
    return 0;
  }
  absl::StatusOr<v1::ListJobsResponse> jobs = client.ListJobs();
  if (!jobs.ok()) return Fail(jobs.status(), "jobs");
  if (json_out) {
    for (const v1::Job& job : jobs->jobs()) std::cout << JobJson(job).dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::Job& job : jobs->jobs()) {
    std::vector<std::string> names;
    for (const v1::ViewRun& v : job.views()) names.push_back(v.view());
    rows.push_back({job.id(), job.kind(), StateName(job.state()),
                    absl::StrCat(static_cast<int>(job.progress() * 100), "%"),
                    absl::StrJoin(names, ","), Count(job.rows_read()), Count(job.rows_written()),
                    When(job.created_us()), job.error()});
  }
  PrintTable({"ID", "KIND", "STATE", "PROGRESS", "VIEWS", "ROWS READ", "WRITTEN", "CREATED", "ERROR"},
             rows);
  return 0;
}

int CancelJob(Client& client, const std::string& id, bool json_out) {
  absl::StatusOr<v1::Job> job = client.CancelJob(id);
  if (!job.ok()) return Fail(job.status(), "cancel-job");
  if (json_out) {
    std::cout << JobJson(*job).dump() << "\n";
  } else {
    std::cout << "job " << id << ": cancel requested (" << StateName(job->state()) << ")\n";
  }
  return 0;
}

int Watermarks(Client& client, bool json_out) {
  absl::StatusOr<v1::ListWatermarksResponse> marks = client.ListWatermarks();
  if (!marks.ok()) return Fail(marks.status(), "watermarks");
  std::vector<std::vector<std::string>> rows;
  for (const v1::Watermark& w : marks->watermarks()) {
    if (json_out) {
      std::cout << json{{"view", w.view()}, {"watermark", When(w.watermark_us())}}.dump() << "\n";
    }
    rows.push_back({w.view(), When(w.watermark_us())});
  }
  if (!json_out) PrintTable({"VIEW", "WATERMARK"}, rows);
  return 0;
}

int Lineage(Client& client, const std::string& view, int limit) {
  absl::StatusOr<v1::ListLineageResponse> events = client.ListLineage(view, limit);
  if (!events.ok()) return Fail(events.status(), "lineage");
  for (const std::string& e : events->events()) std::cout << e << "\n";
  return 0;
}

}  // namespace pantry::cli
