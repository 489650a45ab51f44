// JobPool: a fixed set of worker threads for long, disk- and CPU-heavy work
// (point-in-time joins; later backfills) so that it never runs on a gRPC
// callback thread, with a bounded queue in front: when every worker is busy
// and the queue is full, Submit answers RESOURCE_EXHAUSTED instead of
// piling work up.
//
// Thread-safe. Jobs run in submission order; several run at once when there
// are several workers.
#ifndef PANTRY_SERVER_SERVICE_JOB_POOL_H_
#define PANTRY_SERVER_SERVICE_JOB_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace pantry {

class JobPool {
 public:
  // A job is called exactly once: on a worker thread with an OK status, or,
  // when the pool shuts down before the job started, with UNAVAILABLE on the
  // thread calling Shutdown (the job should then only report that status).
  using Job = absl::AnyInvocable<void(absl::Status start)>;

  // Starts `workers` threads (at least 1). Beyond the jobs running, at most
  // `max_queued` (0 or more) wait for a worker. `name` appears in messages.
  JobPool(std::string name, int workers, int max_queued);
  // Shuts down, then waits for the running jobs to return.
  ~JobPool();
  JobPool(const JobPool&) = delete;
  JobPool& operator=(const JobPool&) = delete;

  // Queues `job`. RESOURCE_EXHAUSTED when every worker is busy and
  // `max_queued` jobs already wait; UNAVAILABLE after Shutdown. On an error
  // `job` is destroyed without being called.
  absl::Status Submit(Job job);

  // Stops accepting jobs and calls every queued job with UNAVAILABLE; jobs
  // already running go on unless they watch shutting_down() (the
  // point-in-time joins do, and stop). Does not wait for them. Idempotent.
  void Shutdown();
  // True once Shutdown has been called. Cheap: for long jobs to poll.
  bool shutting_down() const { return stopping_.load(std::memory_order_relaxed); }

  int workers() const { return static_cast<int>(threads_.size()); }
  int max_queued() const { return max_queued_; }
  // Snapshots, for logs.
  int running() const;
  int queued() const;

 private:
  void Work();

  const std::string name_;
  const int max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;       // guarded by mu_
  int running_ = 0;             // guarded by mu_
  bool shutting_down_ = false;  // guarded by mu_
  std::atomic<bool> stopping_{false};  // shutting_down_, readable without mu_
  std::vector<std::thread> threads_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_JOB_POOL_H_
