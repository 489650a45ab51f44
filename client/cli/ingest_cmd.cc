#include "client/cli/ingest_cmd.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli/output.h"
#include "nlohmann/json.hpp"
#include "server/common/time.h"

namespace pantry::cli {
namespace {

using nlohmann::json;

std::string When(int64_t us) { return us == 0 ? "" : FormatRfc3339(us); }
std::string Known(int64_t n) { return n < 0 ? "?" : std::to_string(n); }
std::string Seconds(double s) { return s < 0 ? "?" : absl::StrFormat("%.1f", s); }

}  // namespace

int IngestStatus(Client& client, bool json_out) {
  absl::StatusOr<v1::GetIngestStatusResponse> status = client.GetIngestStatus();
  if (!status.ok()) return Fail(status.status(), "ingest status");
  if (json_out) {
    for (const v1::StreamSourceStatus& s : status->sources()) {
      std::cout << json{{"source", s.source()},
                        {"stream", s.stream()},
                        {"group", s.group()},
                        {"consumer", s.consumer()},
                        {"redis", s.redis()},
                        {"running", s.running()},
                        {"pending", s.pending()},
                        {"lag", s.lag()},
                        {"seconds_behind", s.seconds_behind()},
                        {"rows_per_second", s.rows_per_second()},
                        {"entries_read", s.entries_read()},
                        {"rows", s.rows()},
                        {"dead_letters", s.dead_letters()},
                        {"late_rows", s.late_rows()},
                        {"redelivered", s.redelivered()},
                        {"claimed", s.claimed()},
                        {"watermark", When(s.watermark_us())},
                        {"last_error", s.last_error()},
                        {"last_error_at", When(s.last_error_us())}}
                       .dump()
                << "\n";
    }
    for (const v1::ViewFreshness& v : status->views()) {
      std::cout << json{{"view", v.feature_view()},
                        {"latest_event_time", When(v.latest_event_time_us())},
                        {"freshness_seconds", v.seconds_behind()}}
                       .dump()
                << "\n";
    }
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::StreamSourceStatus& s : status->sources()) {
    rows.push_back({s.source(), s.stream(), Known(s.pending()), Known(s.lag()),
                    Seconds(s.seconds_behind()), absl::StrFormat("%.1f", s.rows_per_second()),
                    std::to_string(s.rows()), std::to_string(s.dead_letters()),
                    std::to_string(s.late_rows()), When(s.watermark_us()),
                    s.last_error().empty()
                        ? ""
                        : absl::StrCat(When(s.last_error_us()), " ", s.last_error())});
  }
  if (rows.empty()) {
    std::cout << "no stream sources\n";
  } else {
    PrintTable({"SOURCE", "STREAM", "PENDING", "LAG", "BEHIND_S", "ROWS/S", "ROWS", "DEAD",
                "LATE", "WATERMARK", "LAST ERROR"},
               rows);
  }
  rows.clear();
  for (const v1::ViewFreshness& v : status->views()) {
    rows.push_back({v.feature_view(), When(v.latest_event_time_us()),
                    absl::StrFormat("%.1f", v.seconds_behind())});
  }
  if (!rows.empty()) {
    std::cout << "\n";
    PrintTable({"VIEW", "LATEST EVENT ONLINE", "FRESHNESS_S"}, rows);
  }
  return 0;
}

int DeadLetters(Client& client, const std::string& source, int limit, bool json_out) {
  absl::StatusOr<v1::ListDeadLettersResponse> page = client.ListDeadLetters(source, limit);
  if (!page.ok()) return Fail(page.status(), "ingest dead-letters");
  std::vector<std::vector<std::string>> rows;
  for (const v1::DeadLetter& d : page->dead_letters()) {
    json fields = json::object();
    for (const auto& [k, v] : d.fields()) fields[k] = v;
    if (json_out) {
      std::cout << json{{"id", d.id()},        {"entry_id", d.entry_id()}, {"reason", d.reason()},
                        {"at", d.at()},        {"fields", fields}}
                       .dump()
                << "\n";
    }
    rows.push_back({d.id(), d.entry_id(), d.at(), d.reason(), fields.dump()});
  }
  if (!json_out) {
    std::cout << page->total() << " dead letters in " << page->dead_letter_stream() << "\n";
    if (!rows.empty()) PrintTable({"ID", "ENTRY", "AT", "REASON", "FIELDS"}, rows);
  }
  return 0;
}

int ReplayDeadLetters(Client& client, const std::string& source,
                      const std::vector<std::string>& ids, int limit, bool json_out) {
  absl::StatusOr<v1::ReplayDeadLettersResponse> r = client.ReplayDeadLetters(source, ids, limit);
  if (!r.ok()) return Fail(r.status(), "ingest replay");
  if (json_out) {
    std::cout << json{{"replayed", r->replayed()}, {"missing", r->missing()}}.dump() << "\n";
  } else {
    std::cout << "replayed " << r->replayed() << " dead letters into source '" << source
              << "'s stream";
    if (r->missing() > 0) std::cout << " (" << r->missing() << " ids not found)";
    std::cout << "\n";
  }
  return 0;
}

}  // namespace pantry::cli
