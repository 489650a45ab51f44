// SigpipeGuard: writing to a socket whose peer went away must fail with
// EPIPE, never kill the process, whatever the process-wide SIGPIPE
// disposition is (a library cannot rely on main() ignoring it).
#ifndef PANTRY_SERVER_COMMON_SIGPIPE_H_
#define PANTRY_SERVER_COMMON_SIGPIPE_H_

#include <pthread.h>
#include <signal.h>

#include <ctime>

namespace pantry {

// Blocks SIGPIPE in the calling thread for its lifetime, so that a write(2)
// to a closed connection fails with EPIPE; a SIGPIPE raised meanwhile is
// taken back before the old mask returns.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_COMMON_SIGPIPE_H_
