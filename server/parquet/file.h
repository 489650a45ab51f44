// File: the read side of a file as the Parquet reader sees it (positional
// reads of an immutable file). A seam so tests can inject faults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pantry::parquet {

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads exactly `n` bytes at `offset` into `out`. DataLoss when the file
  // is shorter, Internal/Unavailable on I/O errors; messages name the path.
  // Thread-safe.
  virtual absl::Status ReadAt(uint64_t offset, size_t n, char* out) const = 0;
  virtual uint64_t size() const = 0;
  virtual const std::string& path() const = 0;
};

// Opens a local file. NotFound / PermissionDenied / InvalidArgument (a
// directory) naming the path.
absl::StatusOr<std::unique_ptr<RandomAccessFile>> OpenLocalFile(const std::string& path);

// A file held in memory (tests, fuzzing). `path` only names it in messages.
std::unique_ptr<RandomAccessFile> MakeMemoryFile(std::string contents, std::string path);

}  // namespace pantry::parquet
