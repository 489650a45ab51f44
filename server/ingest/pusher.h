// Push: rows of one feature view entering pantryd, checked against the view,
// made durable in the write-ahead log when they go offline, and written to
// the online store (newer-wins) when they go online, before the caller hears
// back. The gRPC adapter runs Push on a worker pool, since it waits for the
// log's sync and for Redis.
//
// Thread-safe.
#ifndef PANTRY_SERVER_INGEST_PUSHER_H_
#define PANTRY_SERVER_INGEST_PUSHER_H_

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/ingest/freshness.h"
#include "server/ingest/log_batch.h"
#include "server/ingest/wal.h"
#include "server/metrics/metrics.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"
#include "server/serving/online_serving.h"

namespace pantry::ingest {

enum class PushTarget { kBoth, kOnline, kOffline };

struct PushInput {
  std::string view;
  std::vector<WriteRowInput> rows;
  PushTarget to = PushTarget::kBoth;
  // Land the good rows and report the bad ones, instead of refusing the
  // whole request for one bad row.
  bool partial = false;
  std::string push_id;  // see PushRequest.push_id; empty: none
};

struct RejectedRow {
  int64_t row = 0;  // 1-based, in request order
  std::string column;
  std::string reason;
};

struct PushResult {
  int64_t accepted = 0;        // rows that passed the checks and landed
  int64_t written_online = 0;  // of them, newer than what the online store held
  int64_t skipped_older = 0;   // not newer online (still in the offline history)
  uint64_t lsn = 0;            // the log record holding them; 0 when not offline
  std::vector<RejectedRow> rejected;  // with `partial`
};

class Pusher {
 public:
  // All borrowed; `wal` may be null (then pushes that include the offline
  // store fail with FAILED_PRECONDITION).
  // `metrics` may be null (nothing recorded).
  // `freshness` may be null.
  Pusher(const RegistryHolder* registry, OnlineStore* store, Wal* wal,
         IngestMetrics* metrics = nullptr, ViewFreshness* freshness = nullptr)
      : registry_(registry), store_(store), wal_(wal), metrics_(metrics), freshness_(freshness) {}

  // Blocks until the rows are durable and written. INVALID_ARGUMENT: an
  // unknown view, no rows, too many rows (serving.max_write_rows_per_request),
  // `to: online` for an offline-only view, or a bad row without `partial`
  // (the message names the row, the column and the reason, and how many
  // other rows are bad); nothing is written then. UNAVAILABLE or
  // DEADLINE_EXCEEDED from the log or the online store: when the online
  // write fails after the log took the rows, the message says so (they will
  // be in the offline history; a retry with the same push_id writes them
  // online without logging them twice).
  absl::StatusOr<PushResult> Push(PushInput input, Micros deadline);

 private:
  // The log record of a push already logged under `push_id`; or 0, having
  // reserved the id for this attempt; UNAVAILABLE while another attempt
  // holds the reservation.
  absl::StatusOr<uint64_t> ReserveOrFind(const std::string& push_id);
  // Drops this attempt's reservation (its append failed).
  void Release(const std::string& push_id);
  // Records the reserved id's LSN (and forgets the oldest ids past the limit).
  void RememberLogged(const std::string& push_id, uint64_t lsn);

  const RegistryHolder* registry_;
  OnlineStore* store_;
  Wal* wal_;
  IngestMetrics* metrics_;
  ViewFreshness* freshness_;
  std::mutex logged_mu_;
  // push id -> LSN, 0 while an attempt logs it; guarded by logged_mu_
  absl::flat_hash_map<std::string, uint64_t> logged_;
  std::deque<std::string> logged_order_;               // oldest first; guarded by logged_mu_
};

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_PUSHER_H_
