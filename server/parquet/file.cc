#include "server/parquet/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pantry::parquet {
namespace {

absl::Status ErrnoStatus(int err, const std::string& what) {
  const std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT: return absl::NotFoundError(msg);
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(msg);
    case EISDIR: return absl::InvalidArgumentError(msg);
    default: return absl::InternalError(msg);
  }
}

class LocalFile final : public RandomAccessFile {
 public:
  LocalFile(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~LocalFile() override { ::close(fd_); }

  absl::Status ReadAt(uint64_t offset, size_t n, char* out) const override {
    if (offset > size_ || n > size_ - offset) {
      return absl::DataLossError(absl::StrCat(path_, ": read of ", n, " bytes at offset ", offset,
                                              " goes past the end of the file (", size_,
                                              " bytes)"));
    }
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat(path_, ": read at offset ", offset + done));
      }
      if (r == 0) {
        return absl::DataLossError(
            absl::StrCat(path_, ": file ended at offset ", offset + done, " while reading"));
      }
      done += static_cast<size_t>(r);
    }
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  const int fd_;
  const uint64_t size_;
  const std::string path_;
};

class MemoryFile final : public RandomAccessFile {
 public:
  MemoryFile(std::string contents, std::string path)
      : contents_(std::move(contents)), path_(std::move(path)) {}
  absl::Status ReadAt(uint64_t offset, size_t n, char* out) const override {
    if (offset > contents_.size() || n > contents_.size() - offset) {
      return absl::DataLossError(absl::StrCat(path_, ": read of ", n, " bytes at offset ", offset,
                                              " goes past the end of the file (",
                                              contents_.size(), " bytes)"));
    }
    std::memcpy(out, contents_.data() + offset, n);
    return absl::OkStatus();
  }
  uint64_t size() const override { return contents_.size(); }
  const std::string& path() const override { return path_; }

 private:
  const std::string contents_;
  const std::string path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RandomAccessFile>> OpenLocalFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, path);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a Parquet file"));
  }
  return std::make_unique<LocalFile>(fd, static_cast<uint64_t>(st.st_size), path);
}

std::unique_ptr<RandomAccessFile> MakeMemoryFile(std::string contents, std::string path) {
  return std::make_unique<MemoryFile>(std::move(contents), std::move(path));
}

}  // namespace pantry::parquet
