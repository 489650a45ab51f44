// Ingestion of one `type: redis_stream` source: pantryd reads the stream in
// the source's consumer group and lands each entry's row in every feature
// view the source feeds, in both stores.
//
// Per batch of entries (XREADGROUP, at most `batch` of them: the bound of
// in-flight work):
//  1. each entry is decoded by the source's schema and checked against each
//     view; an entry that cannot be (undecodable, a field missing, a wrong
//     type, an event time past max_future) goes to the dead-letter stream
//     with its reason and is acknowledged;
//  2. the rows of the others are logged in the write-ahead log as one stream
//     batch (fsynced, group commit with pushes), then written online
//     (newer-wins), retried until the store takes them;
//  3. the entries are acknowledged by one script that, atomically, XACKs
//     each entry still pending for this consumer and records which it acked
//     under the batch's LSN (AcksKey). That decides the offline history:
//     an entry's rows go there from the batch whose acknowledgement took it
//     off this consumer's pending list, and from no other. A redelivered
//     entry (this consumer died after logging it, another claimed it) is
//     logged twice but counted once, whichever copy is acknowledged first:
//     the stream entry id deduplicates offline. After a crash between the
//     log and the script, the restart asks again (the recorded answer, or
//     the script now), before reading anything new.
//
// A consumer's pending entries idle for claim_idle are claimed by another
// (XAUTOCLAIM), so that several pantryd replicas share one group and a dead
// one's entries are taken over. Delivery is at least once; its effect is
// exactly once in both stores. pantryd never trims a stream.
//
// Thread-safe: Status() may be called from any thread.
#ifndef PANTRY_SERVER_INGEST_STREAM_CONSUMER_H_
#define PANTRY_SERVER_INGEST_STREAM_CONSUMER_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/common/time.h"
#include "server/ingest/freshness.h"
#include "server/ingest/stream_ledger.h"
#include "server/ingest/stream_redis.h"
#include "server/ingest/wal.h"
#include "server/metrics/metrics.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry::ingest {

struct StreamConsumerOptions {
  Micros block = 500 * 1000;   // the longest one XREADGROUP waits for entries
  Micros status_every = 1 * kMicrosPerSecond;  // how often lag and pending are asked
  Micros retry_pause = 200 * 1000;             // after a failure, doubling to 5 s
};

// What `pantry ingest status` shows of a source.
struct SourceStatus {
  std::string source;
  std::string stream;
  std::string group;
  std::string consumer;
  std::string redis;            // where
  int64_t entries = 0;          // entries read (and redeliveries)
  int64_t rows = 0;             // rows landed (one per entry and view)
  int64_t dead_letters = 0;
  int64_t late_rows = 0;        // event time behind the watermark
  int64_t redelivered = 0;      // entries logged again but counted elsewhere
  int64_t claimed = 0;          // entries claimed from idle consumers
  double rows_per_second = 0;   // over the last minute
  Micros watermark = kNoTimestamp;        // newest event time - allowed_lateness
  Micros newest_event_time = kNoTimestamp;
  int64_t pending = -1;         // the group's pending entries (-1: unknown yet)
  int64_t lag = -1;             // entries not yet delivered to the group
  double seconds_behind = -1;   // the stream's newest entry minus the group's last delivered
  std::string last_error;       // empty: none since the last success
  Micros last_error_at = kNoTimestamp;
  bool running = false;
};

// One entry as read from a stream.
struct StreamEntry {
  std::string id;
  bool deleted = false;  // trimmed from the stream while pending: no fields
  std::vector<std::pair<std::string, std::string>> fields;
};

class StreamConsumer {
 public:
  // Borrowed pointers must outlive the consumer; `metrics` and `freshness`
  // may be null.
  // `consumer` names this pantryd in the group (stable across restarts: the
  // log's id).
  StreamConsumer(std::string source, std::string consumer, const RegistryHolder* registry,
                 OnlineStore* store, Wal* wal, StreamLedger* ledger,
                 std::unique_ptr<StreamRedis> redis, IngestMetrics* metrics,
                 ViewFreshness* freshness, StreamConsumerOptions options = {});
  // Stops (after the current step; a batch logged and not yet acknowledged
  // is decided at the next start).
  ~StreamConsumer();
  StreamConsumer(const StreamConsumer&) = delete;
  StreamConsumer& operator=(const StreamConsumer&) = delete;

  void Start();
  void Stop();
  SourceStatus Status() const;

  // The Lua script deciding a batch (see above); exposed for tests.
  static const char* const kAckScript;

 private:
  using Entry = StreamEntry;
  struct Batch;

  void Run();
  absl::Status Step();
  // Creates the group, checks the keys' slots, decides the batches logged
  // before a restart and drops stale decisions.
  absl::Status Prepare(const DataSource& source);
  // The script over `ids` for the batch at `lsn`; the decision string.
  absl::StatusOr<std::string> Decide(const DataSource& source, uint64_t lsn,
                                     const std::vector<std::string>& ids);
  absl::Status Forget(const DataSource& source);
  // Processes `entries` as one batch, or, when their log record would be
  // over the log's limit, as two halves (an entry too large alone is a
  // dead letter).
  absl::Status Process(const DataSource& source, const std::vector<Entry>& entries);
  absl::Status ProcessBatch(const DataSource& source, const std::vector<Entry>& entries);
  absl::Status DeadLetter(const DataSource& source, const std::vector<Entry>& entries,
                          const std::vector<std::string>& reasons);
  absl::Status Ack(const DataSource& source, const std::vector<std::string>& ids);
  absl::Status RefreshLag(const DataSource& source);
  void Failed(const absl::Status& st);
  // Waits `pause` or until stopped; false when stopped.
  bool Pause(Micros pause);
  bool stopping() const { return stopping_.load(); }

  const std::string source_;
  const std::string consumer_;
  const RegistryHolder* registry_;
  OnlineStore* store_;
  Wal* wal_;
  StreamLedger* ledger_;
  std::unique_ptr<StreamRedis> redis_;
  IngestMetrics* metrics_;
  ViewFreshness* freshness_;
  const StreamConsumerOptions options_;

  std::atomic<bool> stopping_{false};
  std::mutex wait_mu_;
  std::condition_variable wake_;
  std::thread thread_;

  // Consumer-thread state.
  bool prepared_ = false;
  bool own_pending_ = true;        // reading this consumer's pending entries first
  std::string pending_cursor_ = "0";
  std::string claim_cursor_ = "0-0";
  Micros next_claim_ = 0;
  Micros next_status_ = 0;
  std::vector<uint64_t> to_forget_;

  mutable std::mutex status_mu_;
  SourceStatus status_;                         // guarded by status_mu_
  std::deque<std::pair<Micros, int64_t>> rate_;  // (time, rows) per batch; guarded by status_mu_
};

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_STREAM_CONSUMER_H_
