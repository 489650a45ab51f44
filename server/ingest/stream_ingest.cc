#include "server/ingest/stream_ingest.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace pantry::ingest {

StreamIngest::StreamIngest(const RegistryHolder* registry, OnlineStore* store, IngestLog* log,
                           IngestMetrics* metrics, StreamConsumerOptions options,
                           Micros check_every)
    : registry_(registry),
      store_(store),
      log_(log),
      metrics_(metrics),
      options_(options),
      check_every_(check_every),
      consumer_(absl::StrCat("pantryd-", log->wal()->id())) {}

StreamIngest::~StreamIngest() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::map<std::string, Running> consumers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    consumers.swap(consumers_);
  }
  consumers.clear();  // each stops
}

void StreamIngest::Start() { thread_ = std::thread([this] { Run(); }); }

void StreamIngest::Run() {
  // A restart's logged batches are decided only after their rows were
  // written online again.
  while (!log_->replayed()) {
    std::unique_lock<std::mutex> lock(mu_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping_; })) return;
  }
  while (true) {
    Sync();
    std::unique_lock<std::mutex> lock(mu_);
    if (wake_.wait_for(lock, std::chrono::microseconds(check_every_),
                       [&] { return stopping_; })) {
      return;
    }
  }
}

void StreamIngest::Sync() {
  const std::shared_ptr<const Registry> registry = registry_->Get();
  std::map<std::string, std::string> wanted;  // source -> fingerprint
  for (const auto& [name, source] : registry->sources) {
    if (!source.is_stream()) continue;
    const StreamSource& s = source.stream;
    wanted[name] = absl::StrCat(s.stream, "\n", s.group, "\n", s.host, ":", s.port);
  }
  std::vector<std::unique_ptr<StreamConsumer>> stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = consumers_.begin(); it != consumers_.end();) {
      auto w = wanted.find(it->first);
      if (w == wanted.end() || w->second != it->second.fingerprint) {
        spdlog::info("stream source '{}': consumer stopped ({})", it->first,
                     w == wanted.end() ? "source removed" : "stream, group or redis changed");
        stopped.push_back(std::move(it->second.consumer));
        it = consumers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  stopped.clear();  // joins outside the lock
  for (const auto& [name, fingerprint] : wanted) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || consumers_.count(name) > 0) continue;
    }
    const DataSource& source = registry->sources.at(name);
    auto consumer = std::make_unique<StreamConsumer>(
        name, consumer_, registry_, store_, log_->wal(), log_->ledger(),
        MakeStreamRedis(registry->online_store, source, options_.block), metrics_, &freshness_,
        options_);
    consumer->Start();
    spdlog::info("stream source '{}': consuming stream '{}' in group '{}' as '{}'", name,
                 source.stream.stream, source.stream.group, consumer_);
    std::lock_guard<std::mutex> lock(mu_);
    consumers_[name] = Running{fingerprint, std::move(consumer)};
  }
}

std::vector<SourceStatus> StreamIngest::Status() const {
  std::vector<SourceStatus> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, running] : consumers_) out.push_back(running.consumer->Status());
  return out;
}

}  // namespace pantry::ingest
