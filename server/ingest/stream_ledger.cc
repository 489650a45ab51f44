#include "server/ingest/stream_ledger.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace pantry::ingest {

void StreamLedger::Appending() {
  std::lock_guard<std::mutex> lock(mu_);
  ++appending_;
}

void StreamLedger::NotAppended() {
  std::lock_guard<std::mutex> lock(mu_);
  --appending_;
}

void StreamLedger::Logged(uint64_t lsn, const std::string& source, size_t entries) {
  std::lock_guard<std::mutex> lock(mu_);
  if (appending_ > 0) --appending_;
  Batch& b = batches_[lsn];
  b.source = source;
  b.entries = entries;
}

void StreamLedger::Recovered(uint64_t lsn, const std::string& source,
                             std::vector<std::string> ids) {
  std::lock_guard<std::mutex> lock(mu_);
  Batch& b = batches_[lsn];
  b.source = source;
  b.entries = ids.size();
  b.ids = std::move(ids);
}

void StreamLedger::Decide(uint64_t lsn, std::string decision) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = batches_.find(lsn);
  if (it != batches_.end()) {
    it->second.decision = std::move(decision);
    it->second.ids.clear();
    it->second.ids.shrink_to_fit();
  }
}

bool StreamLedger::DecidedThrough(uint64_t first, uint64_t last) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (appending_ > 0) return false;
  for (auto it = batches_.lower_bound(first); it != batches_.end() && it->first <= last; ++it) {
    if (it->second.decision.empty() && it->second.entries > 0) return false;
  }
  return true;
}

std::string StreamLedger::Decision(uint64_t lsn) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = batches_.find(lsn);
  return it == batches_.end() ? std::string() : it->second.decision;
}

void StreamLedger::Compacted(uint64_t first, uint64_t last) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = batches_.lower_bound(first);
  while (it != batches_.end() && it->first <= last) {
    forgotten_[it->second.source].push_back(it->first);
    it = batches_.erase(it);
  }
}

std::vector<std::pair<uint64_t, std::vector<std::string>>> StreamLedger::Recovering(
    const std::string& source) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<uint64_t, std::vector<std::string>>> out;
  for (const auto& [lsn, b] : batches_) {
    if (b.source == source && b.decision.empty() && !b.ids.empty()) out.emplace_back(lsn, b.ids);
  }
  return out;
}

std::vector<uint64_t> StreamLedger::TakeForgotten(const std::string& source) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = forgotten_.find(source);
  if (it == forgotten_.end()) return {};
  std::vector<uint64_t> out = std::move(it->second);
  forgotten_.erase(it);
  return out;
}

std::vector<std::string> StreamLedger::UndecidedSources() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [lsn, b] : batches_) {
    if (b.decision.empty() && (out.empty() || out.back() != b.source)) out.push_back(b.source);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

size_t StreamLedger::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_.size();
}

}  // namespace pantry::ingest
