// The write-ahead log of pushed rows: records appended to segment files in
// one folder, each durable (fdatasync) before Append returns, with one sync
// shared by every append that is waiting for it (group commit).
//
// Every record gets a log sequence number (LSN), 1, 2, 3, ... in append
// order, never reused, also after its segment was deleted: the compactor
// records the LSNs it has turned into Parquet and skips them on a replay, so
// a record is compacted exactly once.
//
// Files. A segment is `wal-<first LSN, 20 digits>.log`: an 8-byte header
// "PWAL0001", then records, each
//
//   u32 payload length | u32 CRC-32 of (LSN and payload) | u64 LSN | payload
//
// little endian. The newest segment is the one appended to; Roll() starts a
// new one, so that the older ones can be read and deleted as a whole. A new
// segment's name is the next LSN, so the numbering survives even when every
// record was compacted and every older segment deleted.
//
// Recovery (Open): every segment is read front to back. Where a record is
// cut short (a crash in the middle of a write) or its CRC does not match,
// the segment is truncated at the record's start and the bytes dropped are
// reported; nothing past that point was ever acknowledged when it is the
// newest segment's tail. Corruption inside an older segment (the disk lost
// acknowledged data) is truncated the same way and reported as such. Open
// never fails on a bad record; it fails only when the folder cannot be read
// or written.
//
// One process at a time: Open takes an exclusive lock (flock) on
// `<dir>/LOCK` for the log's lifetime. Each log also has an id, made at its
// creation and kept in `<dir>/LOG_ID`, that names it apart from every other
// log (another replica's, or this folder's after it was wiped), so that the
// files compacted from it cannot be mistaken for another log's.
//
// Thread safety: Append may be called from any number of threads at once;
// Roll, Read and DeleteThrough may run concurrently with appends.
#ifndef PANTRY_SERVER_INGEST_WAL_H_
#define PANTRY_SERVER_INGEST_WAL_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pantry::ingest {

struct WalOptions {
  std::string dir;                       // created when missing
  int64_t segment_bytes = 64LL << 20;    // Append rolls to a new segment past this
  int64_t max_record_bytes = 64LL << 20; // larger payloads are refused
  bool sync = true;  // fdatasync before acknowledging (false only for tests and benchmarks)
};

// What Open found and repaired.
struct WalRecovery {
  int segments = 0;
  int64_t records = 0;
  int64_t bytes_dropped = 0;  // truncated: torn or corrupt records and what followed them
  // One line per truncation: the file, the offset and the reason.
  std::vector<std::string> truncations;
  // Per truncation: it was in a segment other than the newest (the disk
  // lost data that may have been acknowledged), not a crash's torn tail.
  std::vector<bool> truncation_in_older;
  bool older_segment_corrupt = false;  // any of truncation_in_older
};

struct WalSegment {
  std::string path;
  uint64_t first_lsn = 0;  // from the name
  uint64_t last_lsn = 0;   // 0 when it holds no record
  int64_t bytes = 0;
};

class Wal {
 public:
  // Opens (or creates) the log in options.dir and recovers it (see above).
  // Errors: INVALID_ARGUMENT for bad options; FAILED_PRECONDITION when
  // another process holds the log's lock; UNAVAILABLE when the folder
  // or a segment cannot be created, read, truncated or synced (the message
  // names the path and the system error).
  static absl::StatusOr<std::unique_ptr<Wal>> Open(WalOptions options, WalRecovery* recovery);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends one record and returns its LSN once it is durable. INVALID_ARGUMENT
  // for a payload over max_record_bytes; UNAVAILABLE when the write or the
  // sync fails (the record is then not acknowledged; the log refuses every
  // later append too, since what reached the disk is unknown, until reopened).
  absl::StatusOr<uint64_t> Append(absl::string_view payload);

  // Starts a new segment for the appends that follow (a no-op when the
  // current one is empty). Errors as Append.
  absl::Status Roll();

  // The segments, oldest first; the last one is the one appended to.
  std::vector<WalSegment> Segments() const;

  // Calls `fn` for every durable record of the segment at `path` with an
  // LSN above `after`, in order. Stops at `fn`'s first error and returns it.
  // UNAVAILABLE when the file cannot be read; DATA_LOSS for a bad record in
  // a part of the file recovery had accepted (a record cut short is that
  // too, except at the end of the current segment, where it is an append
  // in progress).
  absl::Status ReadSegment(const std::string& path, uint64_t after,
                           const std::function<absl::Status(uint64_t lsn, absl::string_view)>& fn)
      const;

  // Deletes every segment but the current one whose records all have LSNs
  // at most `lsn`. UNAVAILABLE when a delete fails.
  absl::Status DeleteThrough(uint64_t lsn);

  // The LSN of the last durable record (0 before any).
  uint64_t durable_lsn() const;
  // This log's id (16 hex digits).
  const std::string& id() const { return id_; }
  // The LSN the next append will get.
  uint64_t next_lsn() const;
  // Records appended and fdatasync calls made since Open (group commit makes
  // the second smaller).
  int64_t appends() const { return appends_.load(std::memory_order_relaxed); }
  int64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  explicit Wal(WalOptions options);
  absl::Status Recover(WalRecovery* recovery);
  // Reads <dir>/LOG_ID, or makes and fsyncs a new one.
  absl::Status LoadOrCreateId();
  // Opens a new current segment named after next_lsn_. Holds mu_.
  absl::Status StartSegmentLocked();

  const WalOptions options_;
  int lock_fd_ = -1;
  std::string id_;
  mutable std::mutex mu_;
  std::condition_variable synced_;
  std::vector<WalSegment> segments_;  // guarded by mu_
  int fd_ = -1;                       // the current segment; guarded by mu_
  uint64_t next_lsn_ = 1;             // guarded by mu_
  uint64_t written_lsn_ = 0;          // written to fd_ (not yet synced); guarded by mu_
  uint64_t durable_lsn_ = 0;          // guarded by mu_
  bool syncing_ = false;              // a thread is in fdatasync; guarded by mu_
  absl::Status broken_;               // a failed write or sync; guarded by mu_
  std::atomic<int64_t> appends_{0};
  std::atomic<int64_t> syncs_{0};
};

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_WAL_H_
