// What the interop tests share: where tests/interop is, whether Node.js and
// the npm reference implementations are installed, and shell commands run
// there (stdout piped back, stderr kept in a file).
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pantry::interop {

namespace fs = std::filesystem;

// The source tree: $PANTRY_SOURCE_DIR (set by ctest), else the folder the
// build was configured from.
inline std::string SourceDir() {
  const char* env = std::getenv("PANTRY_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(PANTRY_DEFAULT_SOURCE_DIR);
}

inline fs::path InteropDir() { return fs::path(SourceDir()) / "tests" / "interop"; }

// `s` as one single-quoted shell word.
inline std::string ShellQuote(absl::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

inline std::string ReadFileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Why the reference implementations cannot run here, or "" when they can:
// `node` on PATH and `module` (a folder under tests/interop/node_modules,
// "" for node_modules itself) installed.
inline std::string NodeProblem(absl::string_view module = "") {
  const std::string fix = absl::StrCat("install Node 20 and run `npm ci` in ",
                                       InteropDir().string(), " (see README.md there)");
  if (std::system("command -v node >/dev/null 2>&1") != 0) {
    return absl::StrCat("`node` is not on PATH: ", fix);
  }
  fs::path needed = InteropDir() / "node_modules";
  if (!module.empty()) needed /= std::string(module);
  if (!fs::is_directory(needed)) return absl::StrCat(needed.string(), " is missing: ", fix);
  return "";
}

// A shell command run in tests/interop: stdout is piped to us, stderr kept
// in a file. Started by the constructor, so several can run at once.
class Command {
 public:
  struct Result {
    int exit_code = -1;  // -1: did not start or ended by a signal
    std::string out;
    std::string err;
  };

  explicit Command(const std::string& command) {
    std::string err_templ = (fs::temp_directory_path() / "pantry_interop_err_XXXXXX").string();
    const int fd = ::mkstemp(err_templ.data());
    if (fd >= 0) {
      ::close(fd);
      err_path_ = err_templ;
    }
    const std::string full = absl::StrCat("cd ", ShellQuote(InteropDir().string()), " && ", command,
                                          " 2>", ShellQuote(err_path_));
    pipe_ = ::popen(full.c_str(), "r");
  }
  ~Command() {
    if (pipe_ != nullptr) ::pclose(pipe_);
    if (!err_path_.empty()) ::unlink(err_path_.c_str());
  }
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  // Waits for the command to end.
  Result Finish() {
    Result r;
    if (pipe_ == nullptr) {
      r.err = "popen failed";
      return r;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe_)) > 0) r.out.append(buf, n);
    const int status = ::pclose(pipe_);
    pipe_ = nullptr;
    if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    r.err = ReadFileText(err_path_);
    return r;
  }

 private:
  FILE* pipe_ = nullptr;
  std::string err_path_;
};

}  // namespace pantry::interop
