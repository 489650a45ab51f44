// The newest event time written online per view by this pantryd (pushes and
// stream sources): what `pantry ingest status` reports as freshness.
// Thread-safe.
#ifndef PANTRY_SERVER_INGEST_FRESHNESS_H_
#define PANTRY_SERVER_INGEST_FRESHNESS_H_

#include <map>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "server/common/time.h"

namespace pantry::ingest {

class ViewFreshness {
 public:
  void Saw(absl::string_view view, Micros event_time) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = newest_.try_emplace(std::string(view), event_time);
    if (!inserted && event_time > it->second) it->second = event_time;
  }
  std::map<std::string, Micros> Newest() const {
    std::lock_guard<std::mutex> lock(mu_);
    return newest_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Micros> newest_;  // guarded by mu_
};

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_FRESHNESS_H_
