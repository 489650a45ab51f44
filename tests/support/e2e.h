// Helpers of the end-to-end tests: the binaries' folder, small file helpers,
// a temporary folder, and pantryd run as a child process on a free port.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace pantry::testing {

namespace fs = std::filesystem;

// Where pantryd and pantry are: $PANTRY_BIN_DIR (set by ctest) or build/bin.
inline std::string BinDir() {
  const char* dir = std::getenv("PANTRY_BIN_DIR");
  return dir != nullptr ? dir : "build/bin";
}

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

inline void WriteFile(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// A fresh folder under /tmp, removed at the end unless PANTRY_KEEP_TEST_DIR=1
// (to look at the repository, data, outputs and pantryd.log after a failure).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "pantry-e2e") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    const char* keep = std::getenv("PANTRY_KEEP_TEST_DIR");
    if (keep != nullptr && *keep == '1') {
      std::cerr << "kept " << path_ << "\n";
      return;
    }
    fs::remove_all(path_);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The outcome of one command.
struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` with a shell, from `cwd` when given, its output captured
// through files in `dir` (cmd-N.out and cmd-N.err, kept for a look after a
// failure).
inline Result RunCommand(const std::string& command, const fs::path& dir,
                         const fs::path& cwd = {}) {
  static std::atomic<int> runs{0};
  const int n = runs++;
  const fs::path out = dir / ("cmd-" + std::to_string(n) + ".out");
  const fs::path err = dir / ("cmd-" + std::to_string(n) + ".err");
  std::string cmd = command + " >" + out.string() + " 2>" + err.string();
  if (!cwd.empty()) cmd = "cd " + cwd.string() + " && " + cmd;
  Result r;
  const int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

// pantryd as a child process on a free port, started from `/` so that its
// working directory is not the test's (relative paths would mean nothing).
// Its log is pantryd.log beside `state_dir`.
class Daemon {
 public:
  Daemon(fs::path config, fs::path state_dir, std::vector<std::string> extra_args = {})
      : config_(std::move(config)), state_(std::move(state_dir)), extra_(std::move(extra_args)) {}
  ~Daemon() { Stop(); }

  void Start() {
    const fs::path port_file = state_.parent_path() / "port";
    fs::remove(port_file);
    log_ = state_.parent_path() / "pantryd.log";
    std::vector<std::string> args = {"pantryd",       "--config",    config_.string(),
                                     "--listen",      "127.0.0.1:0", "--state-dir",
                                     state_.string(), "--port-file", port_file.string()};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = fork();
    if (pid_ == 0) {
      const std::string bin = BinDir() + "/pantryd";
      if (freopen(log_.c_str(), "a", stderr) == nullptr) _exit(125);
      if (freopen(log_.c_str(), "a", stdout) == nullptr) _exit(125);
      if (chdir("/") != 0) _exit(126);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    for (int i = 0; i < 1000; ++i) {
      const std::string port = ReadFile(port_file);
      if (!port.empty() && port.back() == '\n') {
        address_ = "127.0.0.1:" + port.substr(0, port.size() - 1);
        return;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "pantryd exited at start:\n" << ReadFile(log_);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "pantryd did not start:\n" << ReadFile(log_);
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);  // never kill(-1): every process
  }
  bool Alive() {
    if (pid_ <= 0) return false;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == 0) return true;
    pid_ = -1;
    exit_status_ = status;
    return false;
  }
  // The exit status once it has exited (waits up to `timeout`), else -1.
  int WaitExit(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (Alive() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pid_ > 0 ? -1 : exit_status_;
  }
  const std::string& address() const { return address_; }
  std::string Log() const { return ReadFile(log_); }

 private:
  fs::path config_, state_, log_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::string address_;
};

}  // namespace pantry::testing
