#include "server/service/job_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace pantry {

JobPool::JobPool(std::string name, int workers, int max_queued)
    : name_(std::move(name)), max_queued_(std::max(0, max_queued)) {
  const int n = std::max(1, workers);
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Work(); });
}

JobPool::~JobPool() {
  Shutdown();
  for (std::thread& t : threads_) t.join();
}

absl::Status JobPool::Submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) {
      return absl::UnavailableError(
          absl::StrCat("pantryd is shutting down: the ", name_, " job pool takes no new jobs"));
    }
    // Running jobs count too: a job popped by a worker leaves the queue in
    // the same critical section that counts it as running, so the sum is
    // exact and an idle worker always means room.
    const size_t capacity = threads_.size() + static_cast<size_t>(max_queued_);
    if (queue_.size() + static_cast<size_t>(running_) >= capacity) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the ", name_, " job pool is full (", running_, " running, ", queue_.size(),
                       " queued, at most ", max_queued_, " may wait); retry later"));
    }
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return absl::OkStatus();
}

void JobPool::Shutdown() {
  std::deque<Job> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  // Outside the lock: a job's report may take its own locks (gRPC's).
  for (Job& job : dropped) {
    std::move(job)(absl::UnavailableError(
        absl::StrCat("pantryd is shutting down: the queued ", name_, " job was not started")));
  }
}

int JobPool::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

int JobPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

void JobPool::Work() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return shutting_down_ || !queue_.empty(); });
      if (queue_.empty()) return;  // shutting down, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    std::move(job)(absl::OkStatus());
    // Destroy the job's captures before the slot is given back, so a full
    // pool never holds more than its capacity of them.
    job = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
    }
  }
}

}  // namespace pantry
