#include "server/audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"

namespace pantry::audit {

std::string ToJsonLine(const Record& r) {
  nlohmann::json j = {{"time", FormatRfc3339(r.time)},
                      {"principal", r.principal},
                      {"auth", r.auth},
                      {"method", r.method},
                      {"action", r.action},
                      {"resources", r.resources},
                      {"outcome", r.outcome},
                      {"request_id", r.request_id},
                      {"peer", r.peer}};
  if (!r.reason.empty()) j["reason"] = r.reason;
  // Invalid UTF-8 (from a client's metadata) is replaced, not thrown on.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  return line;
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(AuditOptions options) {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(options.path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open the audit log ", options.path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(options), fd));
}

AuditLog::AuditLog(AuditOptions options, int fd) : options_(std::move(options)), fd_(fd) {
  struct stat st {};
  if (::fstat(fd_, &st) == 0) size_ = st.st_size;
  thread_ = std::thread([this] { Run(); });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  ::close(fd_);
}

void AuditLog::Append(const Record& record) {
  std::string line = ToJsonLine(record);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= options_.max_queued) {
      ++dropped_;  // the writer reports it as soon as it gets to it
    } else {
      queue_.push_back(std::move(line));
      ++queued_total_;
    }
  }
  wake_.notify_one();
}

void AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_total_;
  written_.wait(lock, [&] { return written_total_ >= target; });
}

int64_t AuditLog::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void AuditLog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [&] {
      return stopping_ || !queue_.empty() || dropped_ > dropped_reported_;
    });
    if (queue_.empty() && dropped_ == dropped_reported_ && stopping_) return;
    // Everything queued, in one write where it fits.
    std::string lines;
    size_t n = 0;
    while (!queue_.empty() && lines.size() < (1 << 20)) {
      lines += queue_.front();
      queue_.pop_front();
      ++n;
    }
    if (dropped_ > dropped_reported_) {
      Record r;
      r.time = NowMicros();
      r.outcome = "dropped";
      r.reason = absl::StrCat(dropped_ - dropped_reported_,
                              " records dropped: the audit log's disk could not keep up");
      lines += ToJsonLine(r);
      dropped_reported_ = dropped_;
    }
    lock.unlock();
    Write(lines);
    lock.lock();
    written_total_ += n;
    written_.notify_all();
  }
}

void AuditLog::Rotate() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string& p = options_.path;
  fs::remove(absl::StrCat(p, ".", options_.keep), ec);
  for (int k = options_.keep - 1; k >= 1; --k) {
    fs::rename(absl::StrCat(p, ".", k), absl::StrCat(p, ".", k + 1), ec);
  }
  ::fsync(fd_);
  fs::rename(p, absl::StrCat(p, ".1"), ec);
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::error("audit log: cannot reopen {} after rotating it: {}", p, std::strerror(errno));
    return;  // keep writing to the rotated file rather than losing records
  }
  ::close(fd_);
  fd_ = fd;
  size_ = 0;
}

void AuditLog::Write(const std::string& lines) {
  size_t pos = 0;
  while (pos < lines.size()) {
    // The whole lines that fit in the current file (at least one in an
    // empty file, however long).
    const int64_t room = options_.max_bytes - size_;
    size_t end = pos;
    while (end < lines.size()) {
      const size_t next = lines.find('\n', end) + 1;
      if (static_cast<int64_t>(next - pos) > room && (end > pos || size_ > 0)) break;
      end = next;
    }
    if (end == pos) {
      Rotate();
      // The file is empty now, unless it could not be reopened: then
      // everything goes on to the old one.
      if (size_ == 0) continue;
      end = lines.size();
    }
    if (!WriteAll(lines.data() + pos, end - pos)) return;
    pos = end;
  }
}

bool AuditLog::WriteAll(const char* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd_, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (!write_failing_) {
        spdlog::error("audit log: cannot write {}: {}; records are lost until it can",
                      options_.path, std::strerror(errno));
      }
      write_failing_ = true;
      return false;
    }
    done += static_cast<size_t>(w);
  }
  write_failing_ = false;
  size_ += static_cast<int64_t>(n);
  return true;
}

}  // namespace pantry::audit
