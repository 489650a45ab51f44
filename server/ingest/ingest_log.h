// pantryd's write-ahead log of pushes and its background work: at start, the
// rows of the log that were meant for the online store are written there
// again (a crash may have come between the log and the store; newer-wins
// makes the rewrite harmless); then, every `compact_every`, the current
// segment is sealed and the sealed segments are compacted into the views'
// offline history (compactor.h). Rows pushed offline are therefore in the
// history, and visible to point-in-time joins and materialization, at most
// `compact_every` (plus the compaction's own time) after their push was
// acknowledged.
//
// Thread-safe.
#ifndef PANTRY_SERVER_INGEST_INGEST_LOG_H_
#define PANTRY_SERVER_INGEST_INGEST_LOG_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/ingest/compactor.h"
#include "server/ingest/stream_ledger.h"
#include "server/ingest/wal.h"
#include "server/metrics/metrics.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"

namespace pantry::ingest {

struct IngestLogOptions {
  std::string dir;                          // the log's folder
  Micros compact_every = 5 * kMicrosPerSecond;
  int64_t segment_bytes = 64LL << 20;
  int64_t max_record_bytes = 64LL << 20;  // one push, or one batch of a stream source
  bool sync = true;
  // Called after each compaction that wrote files (an ingestion run), from
  // the compacting thread; may be empty.
  std::function<void(const CompactStats&)> on_compacted;
};

class IngestLog {
 public:
  // Opens and recovers the log (each truncation is logged as a warning, an
  // older segment's as an error). Borrowed pointers must outlive the log.
  // Errors as Wal::Open.
  // `metrics` may be null.
  static absl::StatusOr<std::unique_ptr<IngestLog>> Open(IngestLogOptions options,
                                                         const RegistryHolder* registry,
                                                         OnlineStore* store,
                                                         IngestMetrics* metrics = nullptr);
  // Stops the background thread (after its current step) and compacts what
  // the log holds one last time.
  ~IngestLog();
  IngestLog(const IngestLog&) = delete;
  IngestLog& operator=(const IngestLog&) = delete;

  // Starts the background thread. Once.
  void Start();

  Wal* wal() { return wal_.get(); }
  // Decisions on the log's stream batches (stream_consumer.h).
  StreamLedger* ledger() { return &ledger_; }

  // Seals the current segment and compacts every sealed one now (waits for
  // a background compaction in progress). FAILED_PRECONDITION until the
  // start-up rewrite of online rows is done; errors as Compactor::CompactSealed.
  absl::StatusOr<CompactStats> CompactNow();

  // True once the start-up rewrite of the online rows is done.
  bool replayed() const;

 private:
  IngestLog(IngestLogOptions options, std::unique_ptr<Wal> wal, const RegistryHolder* registry,
            OnlineStore* store, IngestMetrics* metrics);
  // Compacts, and records the outcome and the log's size.
  absl::StatusOr<CompactStats> CompactAndRecord();
  void Run();
  // Writes online the rows of records up to replay_through_ marked online,
  // and enters their stream batches in the ledger, undecided.
  absl::Status ReplayOnline();

  const IngestLogOptions options_;
  std::unique_ptr<Wal> wal_;
  const RegistryHolder* registry_;
  OnlineStore* store_;
  IngestMetrics* metrics_;
  const uint64_t replay_through_;  // the last LSN at open
  std::mutex compact_mu_;          // one compaction at a time
  StreamLedger ledger_;
  Compactor compactor_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool replayed_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_INGEST_LOG_H_
