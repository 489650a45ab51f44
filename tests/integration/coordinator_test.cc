// Coordinator (watermarks and leases) on both backends: a private
// redis-server, and the local file with in-process leases.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/materialize/coordinator.h"
#include "tests/support/redis_server.h"

namespace pantry::materialize {
namespace {

namespace fs = std::filesystem;
constexpr Micros kMinute = 60 * kMicrosPerSecond;

class CoordinatorTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("pantry_coordinator_", ::getpid(), "_", GetParam() ? "redis" : "local");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (GetParam()) {
      ASSERT_TRUE(redis_.Start().ok());
      config_.type = OnlineStoreConfig::Type::kRedis;
      config_.port = redis_.port();
    }
    coordinator_ = Make();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Coordinator> Make() {
    return GetParam() ? NewRedisCoordinator(config_)
                      : NewLocalCoordinator((dir_ / "watermarks.json").string());
  }

  fs::path dir_;
  testing::RedisServer redis_;
  OnlineStoreConfig config_;
  std::unique_ptr<Coordinator> coordinator_;
};

TEST_P(CoordinatorTest, LeaseFencesTheWatermark) {
  Coordinator& c = *coordinator_;
  auto none = c.Watermarks("p");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());

  auto a = c.Acquire("p", "v", "replica-a", kMinute);
  ASSERT_TRUE(a.ok() && a->has_value()) << a.status();
  // Held: nobody else gets it, on this view; other views and projects are free.
  auto b = c.Acquire("p", "v", "replica-b", kMinute);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
  auto other_view = c.Acquire("p", "w", "replica-b", kMinute);
  ASSERT_TRUE(other_view.ok() && other_view->has_value());
  auto other_project = c.Acquire("q", "v", "replica-b", kMinute);
  ASSERT_TRUE(other_project.ok() && other_project->has_value());

  EXPECT_TRUE(c.Advance("p", "v", "replica-a", **a, 1000).ok());
  EXPECT_TRUE(c.Advance("p", "v", "replica-a", **a, 500).ok());  // never back
  EXPECT_EQ(c.Advance("p", "v", "replica-b", **a, 2000).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.Advance("p", "v", "replica-a", **a + 100, 2000).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(c.Renew("p", "v", "replica-a", **a, kMinute).ok());
  EXPECT_EQ(c.Renew("p", "v", "replica-b", **a, kMinute).code(),
            absl::StatusCode::kFailedPrecondition);
  auto marks = c.Watermarks("p");
  ASSERT_TRUE(marks.ok());
  EXPECT_EQ(*marks, (std::map<std::string, Micros>{{"v", 1000}}));

  // Released, then taken by B with a larger token: A can no longer move it.
  EXPECT_TRUE(c.Release("p", "v", "replica-a", **a).ok());
  auto b2 = c.Acquire("p", "v", "replica-b", kMinute);
  ASSERT_TRUE(b2.ok() && b2->has_value());
  EXPECT_GT(**b2, **a);
  EXPECT_EQ(c.Advance("p", "v", "replica-a", **a, 3000).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(c.Release("p", "v", "replica-a", **a).ok());  // not A's: a no-op
  EXPECT_TRUE(c.Advance("p", "v", "replica-b", **b2, 3000).ok());
  marks = c.Watermarks("p");
  ASSERT_TRUE(marks.ok());
  EXPECT_EQ(marks->at("v"), 3000);

  // The watermark outlives this coordinator.
  auto again = Make()->Watermarks("p");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->at("v"), 3000);
}

TEST_P(CoordinatorTest, AnExpiredLeaseGoesToTheNextHolder) {
  Coordinator& c = *coordinator_;
  auto a = c.Acquire("p", "v", "replica-a", 50 * 1000);  // 50 ms
  ASSERT_TRUE(a.ok() && a->has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto b = c.Acquire("p", "v", "replica-b", kMinute);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ(c.Renew("p", "v", "replica-a", **a, kMinute).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.Advance("p", "v", "replica-a", **a, 10).code(),
            absl::StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordinatorTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Redis" : "Local";
                         });

TEST(RedisCoordinator, UnavailableWhileRedisIsDownThenRecovers) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  OnlineStoreConfig config;
  config.port = redis.port();
  auto c = NewRedisCoordinator(config);
  ASSERT_TRUE(c->Watermarks("p").ok());
  redis.Stop();
  auto down = c->Watermarks("p");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(down.status().message().find(absl::StrCat("127.0.0.1:", config.port)),
            std::string::npos)
      << down.status();
  ASSERT_TRUE(redis.Start(config.port).ok());
  EXPECT_TRUE(c->Watermarks("p").ok());
}

TEST(LocalCoordinator, UnreadableFileIsDataLoss) {
  const fs::path path = fs::temp_directory_path() / absl::StrCat("pantry_wm_bad_", ::getpid());
  std::ofstream(path) << "[1, 2";
  auto c = NewLocalCoordinator(path.string());
  EXPECT_EQ(c->Watermarks("p").status().code(), absl::StatusCode::kDataLoss);
  fs::remove(path);
}

}  // namespace
}  // namespace pantry::materialize
