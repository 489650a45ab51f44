// Which stream batches of the write-ahead log go into the offline history.
//
// A stream batch (log_batch.h, StreamBatch) is logged before its entries are
// acknowledged in Redis; the acknowledgement then decides, entry by entry,
// whether this pantryd's copy counts (stream_consumer.h explains the rule:
// the copy whose acknowledgement took the entry from this consumer's pending
// list). The ledger holds those decisions between the log and the
// compactor: the compactor waits for a segment until every stream batch in
// it is decided, writes only the rows of entries decided for, and reports
// the segment compacted, after which the consumer forgets the decisions it
// kept in Redis.
//
// Thread-safe.
#ifndef PANTRY_SERVER_INGEST_STREAM_LEDGER_H_
#define PANTRY_SERVER_INGEST_STREAM_LEDGER_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <string>
#include <vector>

namespace pantry::ingest {

class StreamLedger {
 public:
  // A batch is about to be appended to the log: until Logged, no segment
  // counts as decided (the batch's LSN is not known yet).
  void Appending();
  // The append of a batch failed.
  void NotAppended();
  // A batch of `source` with `entries` entries logged at `lsn`, undecided
  // (ends an Appending).
  void Logged(uint64_t lsn, const std::string& source, size_t entries);
  // The same for a batch found in the log at start, with its entries' ids
  // (kept until it is decided).
  void Recovered(uint64_t lsn, const std::string& source, std::vector<std::string> ids);
  // The decision for the batch at `lsn`: one '1' (the entry's rows go into
  // the offline history) or '0' per entry.
  void Decide(uint64_t lsn, std::string decision);

  // Whether every batch logged with an LSN in [first, last] is decided.
  bool DecidedThrough(uint64_t first, uint64_t last) const;
  // The decision for `lsn`; empty when the batch is unknown or undecided.
  std::string Decision(uint64_t lsn) const;
  // The batches of [first, last] are in the offline history: forgets them,
  // and queues each for ForgetQueued of its source.
  void Compacted(uint64_t first, uint64_t last);

  // The undecided batches of `source` found at start, oldest first, with
  // their entries' ids.
  std::vector<std::pair<uint64_t, std::vector<std::string>>> Recovering(
      const std::string& source) const;
  // Takes the LSNs of `source`'s compacted batches.
  std::vector<uint64_t> TakeForgotten(const std::string& source);
  // Stream batches known and not yet compacted.
  size_t size() const;
  // The sources of the undecided batches.
  std::vector<std::string> UndecidedSources() const;

 private:
  struct Batch {
    std::string source;
    size_t entries = 0;
    std::string decision;  // empty: undecided
    std::vector<std::string> ids;  // Recovered batches, until decided
  };
  mutable std::mutex mu_;
  std::map<uint64_t, Batch> batches_;                         // guarded by mu_
  int appending_ = 0;                                         // guarded by mu_
  std::map<std::string, std::vector<uint64_t>> forgotten_;  // guarded by mu_
};

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_STREAM_LEDGER_H_
