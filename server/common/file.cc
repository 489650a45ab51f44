#include "server/common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pantry {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, absl::string_view what) {
  auto fail = [&](int err) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " '", path, "': ", std::strerror(err)));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  std::string text;
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return fail(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

void StripTrailingLineBreaks(std::string* text) {
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view what) {
  // Looked at before it is opened: a fifo would block the open, a device
  // such as /dev/zero would never end.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " '", path, "' is not a regular file"));
    }
    if (st.st_size > kMaxSecretFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " '", path, "' has ", st.st_size, " bytes; a secret file holds the secret alone (",
          kMaxSecretFileBytes, " bytes at most)"));
    }
  }
  absl::StatusOr<std::string> text = ReadWholeFile(path, what);
  if (!text.ok()) return text;
  StripTrailingLineBreaks(&*text);
  if (text->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", path, "' is empty"));
  }
  return text;
}

}  // namespace pantry
