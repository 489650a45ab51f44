// JobPool: bounded queue, every job called exactly once, shutdown answers
// queued jobs with UNAVAILABLE.
#include "server/service/job_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace pantry {
namespace {

// A gate jobs wait on until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void WaitForWaiters(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return waiting_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(JobPool, RunsEveryJobOnceWithOk) {
  std::mutex mu;
  std::condition_variable cv;
  int ok = 0, calls = 0;
  JobPool pool("test", 2, 100);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(pool.Submit([&](absl::Status s) {
      std::lock_guard<std::mutex> lock(mu);
      ++calls;
      if (s.ok()) ++ok;
      cv.notify_all();
    }).ok());
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return calls == 50; });
  EXPECT_EQ(ok, 50);
}

TEST(JobPool, FullQueueIsResourceExhaustedAndTheJobIsNotCalled) {
  Gate gate;
  JobPool pool("test", 1, 1);
  ASSERT_TRUE(pool.Submit([&](absl::Status) { gate.Wait(); }).ok());
  gate.WaitForWaiters(1);  // the worker is busy
  std::atomic<int> called{0};
  ASSERT_TRUE(pool.Submit([&](absl::Status) { ++called; }).ok());  // queued
  absl::Status full = pool.Submit([&](absl::Status) { ++called; });
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pool.running(), 1);
  EXPECT_EQ(pool.queued(), 1);
  gate.Open();
  pool.Shutdown();
}

TEST(JobPool, ShutdownAnswersQueuedJobsWithUnavailable) {
  Gate gate;
  std::atomic<int> unavailable{0}, ran{0};
  {
    JobPool pool("test", 1, 5);
    ASSERT_TRUE(pool.Submit([&](absl::Status s) {
      if (s.ok()) gate.Wait();
    }).ok());
    gate.WaitForWaiters(1);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(pool.Submit([&](absl::Status s) {
        if (s.ok()) {
          ++ran;
        } else if (s.code() == absl::StatusCode::kUnavailable) {
          ++unavailable;
        }
      }).ok());
    }
    pool.Shutdown();
    EXPECT_EQ(unavailable.load(), 3);
    EXPECT_EQ(pool.Submit([](absl::Status) {}).code(), absl::StatusCode::kUnavailable);
    gate.Open();
  }
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace pantry
