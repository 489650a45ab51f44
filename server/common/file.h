// Reading small whole files (configuration, keys) with errors that name the
// file and the cause.
#ifndef PANTRY_SERVER_COMMON_FILE_H_
#define PANTRY_SERVER_COMMON_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pantry {

// The whole file. NotFound "cannot read <what> '<path>': <cause>" (ENOENT,
// EACCES, EISDIR, ...) when it cannot be read. POSIX calls rather than
// iostreams, so the cause is the actual one.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, absl::string_view what);

// `text` without its trailing line breaks (`echo secret > f` writes one).
void StripTrailingLineBreaks(std::string* text);

constexpr int64_t kMaxSecretFileBytes = 64 * 1024;

// A secret kept in a file of its own (a password, a shared key): the whole
// file without its trailing line breaks. Errors as ReadWholeFile's, and
// InvalidArgument naming the file when it is not a regular file (a fifo, a
// device, a folder), is over kMaxSecretFileBytes, or holds nothing else.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view what);

}  // namespace pantry

#endif  // PANTRY_SERVER_COMMON_FILE_H_
