// Turns the write-ahead log into Parquet files in each view's offline
// history (offline::AppendedRowsFolder: <offline_store.path>/views/<view>/),
// then deletes the log segments it compacted.
//
// One sealed segment gives at most one file per view,
// `wal-<log id>-<segment's first LSN>-<its last LSN>.parquet` (the log's id,
// Wal::id, keeps two replicas' logs, or a wiped and recreated log, from
// naming a file alike; 20-digit LSNs),
// written to a temp name, fsynced and renamed by the Parquet writer. The name
// is what makes compaction idempotent: a crash after some of a segment's
// files were renamed leaves them in place, and compacting the segment again
// skips every view whose file exists and writes the others, so each
// acknowledged row lands in the history exactly once. A segment is deleted
// only once all its files exist.
//
// Columns of a file: the view's join keys, its source's timestamp field
// (`event_timestamp` for a view without a source) as TIMESTAMP(MICROS, UTC),
// the source's created timestamp field when it has one (the time pantryd
// logged the push, so a later push wins ties), and its features, all as the registry defines the view at compaction
// time: a feature added since the push is null, one removed is left out, a
// widened type is cast. Rows of a view the registry no longer has are
// dropped and counted. Rows keep the log's order, so ties of a point-in-time
// join break towards the later push.
//
// Not thread-safe: one compactor per log, called from one thread at a time
// (appends to the log may go on meanwhile).
#ifndef PANTRY_SERVER_INGEST_COMPACTOR_H_
#define PANTRY_SERVER_INGEST_COMPACTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/ingest/stream_ledger.h"
#include "server/ingest/wal.h"
#include "server/parquet/writer.h"
#include "server/registry/registry.h"

namespace pantry::ingest {

struct CompactStats {
  // A file of a view's history written by this compaction.
  struct Written {
    std::string view;
    std::string path;
    int64_t rows = 0;
  };
  std::vector<Written> written;
  int segments = 0;        // segments compacted and deleted
  int64_t rows = 0;        // rows written to Parquet
  int files = 0;           // files written
  int files_present = 0;   // files found already written (an earlier, interrupted run)
  int64_t rows_dropped_unknown_view = 0;
  // Values written as null (the view's type changed in a non-widening way),
  // and rows left out because a join key could not be cast.
  int64_t values_not_castable = 0;
  // Rows of stream entries another copy of which counts (a redelivery):
  // left out.
  int64_t rows_duplicate = 0;
  // 1 when compaction stopped at a segment whose stream batches are not
  // decided yet (their entries are being acknowledged); it goes next time.
  int segments_waiting = 0;
};

class Compactor {
 public:
  using RegistryFn = std::function<std::shared_ptr<const Registry>()>;
  // `wal` and `ledger` must outlive the compactor. Stream batches are
  // compacted by the decisions of `ledger` (null: a log without stream
  // batches).
  Compactor(Wal* wal, RegistryFn registry, StreamLedger* ledger = nullptr,
            parquet::WriterOptions options = {});

  // With `roll`, first starts a new log segment so that every durable record
  // is in a sealed one. Then compacts the sealed segments, oldest first
  // (also when the roll failed: compacting is what frees the disk; the roll's
  // error is returned after).
  // Stops at the first error and returns it, leaving that segment (and the
  // later ones) for the next call: UNAVAILABLE or INTERNAL for a file that
  // cannot be written, DATA_LOSS for a log record that does not decode.
  absl::StatusOr<CompactStats> CompactSealed(bool roll);

  // The name of the file of segment [first, last] of log `log_id` in a
  // view's folder.
  static std::string FileName(absl::string_view log_id, uint64_t first_lsn, uint64_t last_lsn);

 private:
  absl::Status CompactSegment(const WalSegment& segment, const Registry& registry,
                              CompactStats* stats);

  Wal* const wal_;
  StreamLedger* const ledger_;
  const RegistryFn registry_;
  const parquet::WriterOptions options_;
};

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_COMPACTOR_H_
