// The consumers of every `type: redis_stream` source of the registry in
// service: one StreamConsumer (and its own Redis connection) per source,
// started when a source appears, restarted when its stream, group or Redis
// changes, stopped when it goes. Its thread compares the registry every
// `check_every`.
//
// Thread-safe.
#ifndef PANTRY_SERVER_INGEST_STREAM_INGEST_H_
#define PANTRY_SERVER_INGEST_STREAM_INGEST_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/ingest/ingest_log.h"
#include "server/ingest/stream_consumer.h"
#include "server/metrics/metrics.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry::ingest {

class StreamIngest {
 public:
  // Borrowed pointers must outlive this; `metrics` may be null. Consumers
  // are named "pantryd-<the log's id>" in their groups.
  StreamIngest(const RegistryHolder* registry, OnlineStore* store, IngestLog* log,
               IngestMetrics* metrics, StreamConsumerOptions options = {},
               Micros check_every = 1 * kMicrosPerSecond);
  // Stops every consumer.
  ~StreamIngest();
  StreamIngest(const StreamIngest&) = delete;
  StreamIngest& operator=(const StreamIngest&) = delete;

  // Starts the consumers of the registry now, and the thread following it.
  // Waits for the log's start-up rewrite of online rows first (on the
  // thread), so that a restart's batches are decided after it.
  void Start();

  // Every source's status, by name.
  std::vector<SourceStatus> Status() const;
  // Where pushes and streams record what they wrote online.
  ViewFreshness* freshness() { return &freshness_; }
  // The consumer name this pantryd uses.
  const std::string& consumer() const { return consumer_; }

 private:
  // Starts, restarts and stops consumers to match the registry.
  void Sync();
  void Run();

  const RegistryHolder* registry_;
  OnlineStore* store_;
  IngestLog* log_;
  IngestMetrics* metrics_;
  const StreamConsumerOptions options_;
  const Micros check_every_;
  const std::string consumer_;
  ViewFreshness freshness_;

  struct Running {
    std::string fingerprint;  // stream, group, redis: a change restarts
    std::unique_ptr<StreamConsumer> consumer;
  };
  mutable std::mutex mu_;
  std::map<std::string, Running> consumers_;  // by source; guarded by mu_
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_STREAM_INGEST_H_
