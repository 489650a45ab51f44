#include "server/ingest/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/status.h"

namespace pantry::ingest {
namespace {

constexpr char kMagic[] = "PWAL0001";
constexpr size_t kHeaderBytes = 8;
constexpr size_t kRecordHeaderBytes = 16;  // length, CRC, LSN

absl::Status SystemError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat("write-ahead log: cannot ", what, " ", path, ": ", std::strerror(errno)));
}

void PutU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(uint64_t v, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t RecordCrc(const char* lsn_bytes, absl::string_view payload) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(lsn_bytes), 8);
  // zlib takes uInt lengths: feed large payloads in pieces.
  for (size_t done = 0; done < payload.size();) {
    const size_t n = std::min<size_t>(payload.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(payload.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

std::string SegmentName(uint64_t first_lsn) {
  return absl::StrFormat("wal-%020u.log", first_lsn);
}

// The first LSN of a segment file name, or 0 when it is not one.
uint64_t ParseSegmentName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, "wal-") || !absl::ConsumeSuffix(&name, ".log") ||
      name.size() != 20) {
    return 0;
  }
  uint64_t lsn = 0;
  return absl::SimpleAtoi(name, &lsn) ? lsn : 0;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SystemError("open", path);
  std::string data;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const absl::Status s = SystemError("read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

absl::Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SystemError("write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SystemError("open", dir);
  const bool ok = ::fsync(fd) == 0;
  const absl::Status s = ok ? absl::OkStatus() : SystemError("sync", dir);
  ::close(fd);
  return s;
}

// One record parsed from `data` at `offset`.
struct Parsed {
  enum Kind { kRecord, kEnd, kTorn, kCorrupt } kind = kEnd;
  uint64_t lsn = 0;
  absl::string_view payload;
  size_t next = 0;
  std::string why;
};

Parsed ParseRecord(absl::string_view data, size_t offset, int64_t max_record_bytes) {
  Parsed p;
  if (offset == data.size()) return p;
  if (data.size() - offset < kRecordHeaderBytes) {
    p.kind = Parsed::kTorn;
    p.why = "a record header cut short";
    return p;
  }
  const char* h = data.data() + offset;
  const uint32_t length = GetU32(h);
  const uint32_t crc = GetU32(h + 4);
  p.lsn = GetU64(h + 8);
  if (static_cast<int64_t>(length) > max_record_bytes) {
    p.kind = Parsed::kCorrupt;
    p.why = absl::StrCat("a record length of ", length, " bytes, over the limit");
    return p;
  }
  if (data.size() - offset - kRecordHeaderBytes < length) {
    p.kind = Parsed::kTorn;
    p.why = absl::StrCat("a record of ", length, " bytes cut short");
    return p;
  }
  p.payload = data.substr(offset + kRecordHeaderBytes, length);
  if (RecordCrc(h + 8, p.payload) != crc) {
    p.kind = Parsed::kCorrupt;
    p.why = "a record whose checksum does not match";
    return p;
  }
  p.kind = Parsed::kRecord;
  p.next = offset + kRecordHeaderBytes + length;
  return p;
}

}  // namespace

Wal::Wal(WalOptions options) : options_(std::move(options)) {}

Wal::~Wal() {
  std::unique_lock<std::mutex> lock(mu_);
  synced_.wait(lock, [&] { return !syncing_; });
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

absl::StatusOr<std::unique_ptr<Wal>> Wal::Open(WalOptions options, WalRecovery* recovery) {
  if (options.dir.empty()) return absl::InvalidArgumentError("write-ahead log: no folder given");
  if (options.segment_bytes < 1024) {
    return absl::InvalidArgumentError("write-ahead log: segment_bytes must be at least 1024");
  }
  if (options.max_record_bytes < 1 || options.max_record_bytes > (1LL << 31)) {
    return absl::InvalidArgumentError("write-ahead log: max_record_bytes must be 1 to 2^31");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("write-ahead log: cannot create ", options.dir,
                                               ": ", ec.message()));
  }
  std::unique_ptr<Wal> wal(new Wal(std::move(options)));
  const std::string lock_path = wal->options_.dir + "/LOCK";
  wal->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (wal->lock_fd_ < 0) return SystemError("create", lock_path);
  if (::flock(wal->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "write-ahead log ", wal->options_.dir,
          " is in use by another process; give each pantryd its own --state-dir or --wal-dir"));
    }
    return SystemError("lock", lock_path);
  }
  PANTRY_RETURN_IF_ERROR(wal->LoadOrCreateId());
  WalRecovery ignored;
  PANTRY_RETURN_IF_ERROR(wal->Recover(recovery != nullptr ? recovery : &ignored));
  return wal;
}

absl::Status Wal::LoadOrCreateId() {
  const std::string path = options_.dir + "/LOG_ID";
  if (std::filesystem::exists(path)) {
    PANTRY_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.size() == 16 && text.find_first_not_of("0123456789abcdef") == std::string::npos) {
      id_ = text;
      return absl::OkStatus();
    }
    // A damaged id file: a new id can only make names more distinct.
  }
  std::random_device rd;
  id_ = absl::StrFormat("%08x%08x", rd(), rd());
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return SystemError("create", temp);
  const std::string line = id_ + "\n";
  absl::Status s = WriteAll(fd, line.data(), line.size(), temp);
  if (s.ok() && ::fsync(fd) != 0) s = SystemError("sync", temp);
  ::close(fd);
  if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0) s = SystemError("rename", temp);
  if (s.ok()) s = SyncDir(options_.dir);
  return s;
}

absl::Status Wal::Recover(WalRecovery* recovery) {
  std::vector<std::pair<uint64_t, std::string>> names;
  DIR* dir = ::opendir(options_.dir.c_str());
  if (dir == nullptr) return SystemError("list", options_.dir);
  while (dirent* e = ::readdir(dir)) {
    const uint64_t first = ParseSegmentName(e->d_name);
    if (first > 0) names.emplace_back(first, options_.dir + "/" + e->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());

  std::lock_guard<std::mutex> lock(mu_);
  uint64_t last_lsn = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& [first, path] = names[i];
    const bool newest = i + 1 == names.size();
    PANTRY_ASSIGN_OR_RETURN(const std::string data, ReadWholeFile(path));
    WalSegment segment{path, first, 0, 0};
    size_t good = 0;
    std::string why;
    if (data.size() < kHeaderBytes || data.compare(0, kHeaderBytes, kMagic, kHeaderBytes) != 0) {
      why = data.size() < kHeaderBytes ? "a segment header cut short" : "a bad segment header";
    } else {
      good = kHeaderBytes;
      while (true) {
        Parsed p = ParseRecord(data, good, options_.max_record_bytes);
        if (p.kind == Parsed::kEnd) break;
        if (p.kind == Parsed::kRecord && (p.lsn < first || p.lsn <= last_lsn)) {
          p.kind = Parsed::kCorrupt;
          p.why = absl::StrCat("a record with LSN ", p.lsn, " out of order");
        }
        if (p.kind != Parsed::kRecord) {
          why = p.why;
          break;
        }
        last_lsn = p.lsn;
        segment.last_lsn = p.lsn;
        ++recovery->records;
        good = p.next;
      }
    }
    if (good < data.size() || good < kHeaderBytes) {
      recovery->bytes_dropped += static_cast<int64_t>(data.size() - std::min(good, data.size()));
      recovery->truncations.push_back(absl::StrCat(path, ": dropped ", data.size() - good,
                                                   " bytes from offset ", good, " (", why, ")"));
      recovery->truncation_in_older.push_back(!newest);
      if (!newest) recovery->older_segment_corrupt = true;
      const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return SystemError("open", path);
      bool ok = true;
      if (good < kHeaderBytes) {
        ok = ::ftruncate(fd, 0) == 0 && ::write(fd, kMagic, kHeaderBytes) == kHeaderBytes;
        good = kHeaderBytes;
      } else {
        ok = ::ftruncate(fd, static_cast<off_t>(good)) == 0;
      }
      ok = ok && ::fdatasync(fd) == 0;
      ::close(fd);
      if (!ok) return SystemError("truncate", path);
    }
    segment.bytes = static_cast<int64_t>(good);
    segments_.push_back(segment);
    next_lsn_ = std::max({next_lsn_, first, last_lsn + 1});
  }
  recovery->segments = static_cast<int>(segments_.size());
  written_lsn_ = durable_lsn_ = next_lsn_ - 1;
  if (segments_.empty()) return StartSegmentLocked();
  WalSegment& current = segments_.back();
  fd_ = ::open(current.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return SystemError("open", current.path);
  // What a killed process wrote may still be only in the page cache: make
  // it durable before anything treats it as such.
  if (options_.sync && ::fdatasync(fd_) != 0) return SystemError("sync", current.path);
  return absl::OkStatus();
}

absl::Status Wal::StartSegmentLocked() {
  const std::string path = options_.dir + "/" + SegmentName(next_lsn_);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return SystemError("create", path);
  absl::Status s = WriteAll(fd, kMagic, kHeaderBytes, path);
  if (s.ok() && options_.sync && ::fdatasync(fd) != 0) s = SystemError("sync", path);
  if (s.ok() && options_.sync) s = SyncDir(options_.dir);
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segments_.push_back(WalSegment{path, next_lsn_, 0, static_cast<int64_t>(kHeaderBytes)});
  return absl::OkStatus();
}

absl::Status Wal::Roll() {
  std::unique_lock<std::mutex> lock(mu_);
  synced_.wait(lock, [&] { return !syncing_; });
  // Checked after the wait: another thread may have rolled meanwhile.
  if (!broken_.ok()) return broken_;
  if (segments_.back().last_lsn == 0) return absl::OkStatus();
  // Everything written to the old segment becomes durable before it closes.
  if (options_.sync && ::fdatasync(fd_) != 0) {
    broken_ = SystemError("sync", segments_.back().path);
    synced_.notify_all();
    return broken_;
  }
  durable_lsn_ = written_lsn_;
  synced_.notify_all();
  if (absl::Status s = StartSegmentLocked(); !s.ok()) {
    broken_ = s;
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Wal::Append(absl::string_view payload) {
  if (static_cast<int64_t>(payload.size()) > options_.max_record_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("write-ahead log: a record of ", payload.size(),
                                                   " bytes is over the limit of ",
                                                   options_.max_record_bytes));
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!broken_.ok()) return broken_;
  const int64_t record_bytes = static_cast<int64_t>(kRecordHeaderBytes + payload.size());
  if (segments_.back().last_lsn != 0 &&
      segments_.back().bytes + record_bytes > options_.segment_bytes) {
    lock.unlock();
    PANTRY_RETURN_IF_ERROR(Roll());
    lock.lock();
    if (!broken_.ok()) return broken_;
  }
  const uint64_t lsn = next_lsn_++;
  char header[kRecordHeaderBytes];
  PutU32(static_cast<uint32_t>(payload.size()), header);
  PutU64(lsn, header + 8);
  PutU32(RecordCrc(header + 8, payload), header + 4);
  WalSegment& segment = segments_.back();
  // One write per record keeps a record whole or torn at its end, never
  // interleaved with another (appends hold mu_).
  std::string record;
  record.reserve(static_cast<size_t>(record_bytes));
  record.append(header, kRecordHeaderBytes);
  record.append(payload.data(), payload.size());
  if (absl::Status s = WriteAll(fd_, record.data(), record.size(), segment.path); !s.ok()) {
    broken_ = s;
    synced_.notify_all();
    return s;
  }
  segment.bytes += record_bytes;
  segment.last_lsn = lsn;
  written_lsn_ = lsn;
  appends_.fetch_add(1, std::memory_order_relaxed);
  if (!options_.sync) {
    durable_lsn_ = lsn;
    return lsn;
  }
  // Group commit: the first waiter syncs for everyone written so far; the
  // others wait for it, and one of them syncs what came in meanwhile.
  while (durable_lsn_ < lsn) {
    if (!broken_.ok()) return broken_;
    if (syncing_) {
      synced_.wait(lock);
      continue;
    }
    syncing_ = true;
    const uint64_t target = written_lsn_;
    const int fd = fd_;
    const std::string path = segments_.back().path;
    lock.unlock();
    syncs_.fetch_add(1, std::memory_order_relaxed);
    const bool ok = ::fdatasync(fd) == 0;
    const absl::Status error = ok ? absl::OkStatus() : SystemError("sync", path);
    lock.lock();
    syncing_ = false;
    if (ok) {
      durable_lsn_ = std::max(durable_lsn_, target);
    } else {
      broken_ = error;
    }
    synced_.notify_all();
  }
  return lsn;
}

std::vector<WalSegment> Wal::Segments() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_;
}

absl::Status Wal::ReadSegment(
    const std::string& path, uint64_t after,
    const std::function<absl::Status(uint64_t lsn, absl::string_view)>& fn) const {
  uint64_t durable;
  bool current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    durable = durable_lsn_;
    current = segments_.back().path == path;
  }
  PANTRY_ASSIGN_OR_RETURN(const std::string data, ReadWholeFile(path));
  if (data.size() < kHeaderBytes || data.compare(0, kHeaderBytes, kMagic, kHeaderBytes) != 0) {
    return absl::DataLossError(absl::StrCat("write-ahead log: ", path, " has a bad header"));
  }
  for (size_t offset = kHeaderBytes;;) {
    const Parsed p = ParseRecord(data, offset, options_.max_record_bytes);
    if (p.kind == Parsed::kEnd) return absl::OkStatus();
    if (p.kind != Parsed::kRecord) {
      // The current segment may end in a record being written right now.
      if (p.kind == Parsed::kTorn && current) return absl::OkStatus();
      return absl::DataLossError(
          absl::StrCat("write-ahead log: ", path, " at offset ", offset, ": ", p.why));
    }
    if (p.lsn > durable) return absl::OkStatus();
    if (p.lsn > after) PANTRY_RETURN_IF_ERROR(fn(p.lsn, p.payload));
    offset = p.next;
  }
}

absl::Status Wal::DeleteThrough(uint64_t lsn) {
  std::lock_guard<std::mutex> lock(mu_);
  while (segments_.size() > 1 && segments_.front().last_lsn <= lsn &&
         segments_.front().path != segments_.back().path) {
    if (::unlink(segments_.front().path.c_str()) != 0 && errno != ENOENT) {
      return SystemError("delete", segments_.front().path);
    }
    segments_.erase(segments_.begin());
  }
  return absl::OkStatus();
}

uint64_t Wal::durable_lsn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_lsn_;
}

uint64_t Wal::next_lsn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_lsn_;
}

}  // namespace pantry::ingest
