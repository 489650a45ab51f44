#include "client/cli/audit_cmd.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/output.h"
#include "nlohmann/json.hpp"
#include "server/common/time.h"

namespace pantry::cli {

int Audit(const AuditQuery& q) {
  namespace fs = std::filesystem;
  Micros since = kNoTimestamp;
  if (!q.since.empty()) {
    if (absl::StatusOr<Micros> t = ParseRfc3339(q.since); t.ok()) {
      since = *t;
    } else if (absl::StatusOr<Micros> d = ParseDuration(q.since); d.ok()) {
      since = NowMicros() - *d;
    } else {
      return BadInput(absl::StrCat("audit: --since '", q.since,
                                   "' is neither an RFC 3339 time nor a duration such as 1h"));
    }
  }
  std::error_code ec;
  if (!fs::exists(q.file, ec)) {
    return BadInput(absl::StrCat("audit: no audit log at ", q.file));
  }
  // The rotated files, oldest first, then the log itself.
  std::vector<std::string> files;
  for (int k = 1;; ++k) {
    const std::string f = absl::StrCat(q.file, ".", k);
    if (!fs::exists(f, ec)) break;
    files.insert(files.begin(), f);
  }
  files.push_back(q.file);
  std::deque<nlohmann::json> matched;
  for (const std::string& f : files) {
    std::ifstream in(f);
    if (!in) return BadInput(absl::StrCat("audit: cannot read ", f));
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json r = nlohmann::json::parse(line, nullptr, false);
      if (r.is_discarded() || !r.is_object()) continue;  // a line cut short by a crash
      if (since != kNoTimestamp) {
        absl::StatusOr<Micros> t = ParseRfc3339(r.value("time", ""));
        if (!t.ok() || *t < since) continue;
      }
      if (!q.principal.empty() && r.value("principal", "") != q.principal) continue;
      if (!q.action.empty() && r.value("action", "") != q.action) continue;
      if (!q.outcome.empty() && r.value("outcome", "") != q.outcome) continue;
      matched.push_back(std::move(r));
      if (q.limit > 0 && matched.size() > static_cast<size_t>(q.limit)) matched.pop_front();
    }
  }
  if (q.json) {
    for (const nlohmann::json& r : matched) std::cout << r.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& r : matched) {
    std::vector<std::string> resources;
    if (r.contains("resources") && r["resources"].is_array()) {
      for (const auto& x : r["resources"]) {
        if (x.is_string()) resources.push_back(x.get<std::string>());
      }
    }
    rows.push_back({r.value("time", ""), r.value("principal", ""), r.value("action", ""),
                    r.value("outcome", ""), absl::StrJoin(resources, ", "),
                    r.value("reason", ""), r.value("peer", "")});
  }
  PrintTable({"TIME", "PRINCIPAL", "ACTION", "OUTCOME", "RESOURCES", "REASON", "PEER"}, rows);
  return 0;
}

}  // namespace pantry::cli
