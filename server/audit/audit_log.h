// The audit log: one JSON object per line, appended by a writer thread so
// that no request waits on the disk. Records are queued in memory (bounded:
// when the disk cannot keep up, records are dropped and counted, and the
// count is written as a record of its own); the file is rotated by size
// (path.1 is the newest rotated file, path.N the oldest kept).
//
// Thread-safe. Lines are whole: one writer writes them.
#ifndef PANTRY_SERVER_AUDIT_AUDIT_LOG_H_
#define PANTRY_SERVER_AUDIT_AUDIT_LOG_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"

namespace pantry::audit {

struct Record {
  Micros time = 0;
  std::string principal;  // empty: not authenticated
  std::string auth;       // "token", "jwt", "mtls", "" (none)
  std::string method;     // the RPC's full name
  std::string action;     // "read_online", ...
  std::vector<std::string> resources;  // "feature view 'x'", ...
  std::string outcome;    // "allowed", "denied", "unauthenticated"
  std::string reason;     // why it was denied
  std::string request_id;
  std::string peer;       // "ipv4:10.0.0.7:51234"
};

// The record as its JSON line (with the newline).
std::string ToJsonLine(const Record& r);

struct AuditOptions {
  std::string path;
  int64_t max_bytes = 100 << 20;  // rotated beyond this
  int keep = 5;                   // rotated files kept
  size_t max_queued = 100000;     // records waiting for the disk; beyond, dropped
};

class AuditLog {
 public:
  // Opens (creates) the file for appending; Unavailable naming it when it
  // cannot be.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(AuditOptions options);
  // Writes what is queued, then closes.
  ~AuditLog();

  // Queues the record; never waits for the disk.
  void Append(const Record& record);
  // Waits until everything queued so far is written (tests, shutdown).
  void Flush();

  int64_t dropped() const;
  const std::string& path() const { return options_.path; }

 private:
  explicit AuditLog(AuditOptions options, int fd);
  void Run();
  // Writes `lines` to the file, rotating first when it would grow past the
  // limit. On error, logs it (once per burst) and drops them.
  void Write(const std::string& lines);
  bool WriteAll(const char* data, size_t n);
  void Rotate();

  const AuditOptions options_;
  int fd_;
  int64_t size_ = 0;
  bool write_failing_ = false;

  mutable std::mutex mu_;
  std::condition_variable wake_, written_;
  std::deque<std::string> queue_;  // guarded by mu_
  int64_t dropped_ = 0;            // guarded by mu_
  int64_t dropped_reported_ = 0;   // guarded by mu_
  uint64_t queued_total_ = 0;      // guarded by mu_
  uint64_t written_total_ = 0;     // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  std::thread thread_;
};

}  // namespace pantry::audit

#endif  // PANTRY_SERVER_AUDIT_AUDIT_LOG_H_
