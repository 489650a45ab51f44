// Push checks and logging (server/ingest/pusher.h) over the memory store
// and a real write-ahead log: all-or-nothing without partial, per-row
// reports with it, targets, limits, and a retried push id logged once.
#include "server/ingest/pusher.h"

#include <unistd.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry::ingest {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr Micros kT0 = 1'767'225'600'000'000;

class PusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/pantry-pusher-test-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    auto registry = ParseRegistry(
        "project: shop\n"
        "serving: {max_write_rows_per_request: 3}\n"
        "entities:\n"
        "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
        "feature_views:\n"
        "  - name: stats\n"
        "    entities: [user]\n"
        "    schema: [{name: clicks, dtype: INT64}]\n"
        "  - name: archive\n"
        "    entities: [user]\n"
        "    online: false\n"
        "    schema: [{name: clicks, dtype: INT64}]\n",
        "repo.yaml", dir_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    holder_ = std::make_unique<RegistryHolder>(*registry);
    OnlineStoreConfig config;
    config.type = OnlineStoreConfig::Type::kMemory;
    auto store = CreateOnlineStore(config, "shop");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    WalOptions o;
    o.dir = dir_ + "/wal";
    o.sync = false;
    wal_ = std::move(*Wal::Open(o, nullptr));
    pusher_ = std::make_unique<Pusher>(holder_.get(), store_.get(), wal_.get());
  }
  void TearDown() override { fs::remove_all(dir_); }

  static WriteRowInput Row(int64_t user, Value clicks, Micros t = kT0) {
    return WriteRowInput{{{"user_id", Value::Int64(user)}, {"clicks", std::move(clicks)}}, t};
  }
  PushInput Input(std::vector<WriteRowInput> rows, const std::string& view = "stats") {
    PushInput in;
    in.view = view;
    in.rows = std::move(rows);
    return in;
  }
  static Micros Deadline() { return NowMicros() + 5 * kMicrosPerSecond; }

  std::string dir_;
  std::unique_ptr<RegistryHolder> holder_;
  std::unique_ptr<OnlineStore> store_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<Pusher> pusher_;
};

TEST_F(PusherTest, OneBadRowRefusesTheWholePushAndLogsNothing) {
  absl::StatusOr<PushResult> r = pusher_->Push(
      Input({Row(1, Value::Int64(1)), Row(2, Value::String("x")), Row(3, Value::Int64(3), 0)}),
      Deadline());
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("feature view 'stats', row 2, column 'clicks'"));
  EXPECT_THAT(r.status().message(), HasSubstr("(and 1 more bad rows)"));
  EXPECT_EQ(wal_->next_lsn(), 1u);
}

TEST_F(PusherTest, PartialLandsTheGoodRowsAndReportsTheBadOnes) {
  PushInput in = Input({Row(1, Value::Int64(1)), Row(2, Value::String("x")),
                        Row(3, Value::Int64(3), kT0 + 400LL * 86400 * kMicrosPerSecond * 365)});
  in.partial = true;
  absl::StatusOr<PushResult> r = pusher_->Push(std::move(in), Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted, 1);
  EXPECT_EQ(r->written_online, 1);
  ASSERT_EQ(r->rejected.size(), 2u);
  EXPECT_EQ(r->rejected[0].row, 2);
  EXPECT_EQ(r->rejected[0].column, "clicks");
  EXPECT_EQ(r->rejected[1].row, 3);
  EXPECT_EQ(r->rejected[1].column, "");
  EXPECT_THAT(r->rejected[1].reason, HasSubstr("future"));
  EXPECT_EQ(r->lsn, 1u);
}

TEST_F(PusherTest, TargetsAndLimits) {
  PushInput in = Input({Row(1, Value::Int64(1))}, "archive");
  in.to = PushTarget::kOnline;
  EXPECT_EQ(pusher_->Push(in, Deadline()).status().code(), absl::StatusCode::kInvalidArgument);
  in.to = PushTarget::kBoth;  // an offline-only view: offline only
  absl::StatusOr<PushResult> r = pusher_->Push(in, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->written_online, 0);
  EXPECT_GT(r->lsn, 0u);
  in = Input({Row(1, Value::Int64(1))});
  in.to = PushTarget::kOnline;
  r = pusher_->Push(in, Deadline());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lsn, 0u);  // not logged
  EXPECT_THAT(pusher_->Push(Input({Row(1, Value::Int64(1)), Row(2, Value::Int64(1)),
                                   Row(3, Value::Int64(1)), Row(4, Value::Int64(1))}),
                            Deadline())
                  .status()
                  .message(),
              HasSubstr("max_write_rows_per_request"));
  EXPECT_EQ(pusher_->Push(Input({}), Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pusher_->Push(Input({Row(1, Value::Int64(1))}, "nope"), Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
  Pusher no_log(holder_.get(), store_.get(), nullptr);
  EXPECT_EQ(no_log.Push(Input({Row(1, Value::Int64(1))}), Deadline()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(PusherTest, ARetriedPushIdIsLoggedOnce) {
  PushInput in = Input({Row(1, Value::Int64(1))});
  in.push_id = "abc";
  absl::StatusOr<PushResult> first = pusher_->Push(in, Deadline());
  absl::StatusOr<PushResult> retry = pusher_->Push(in, Deadline());
  ASSERT_TRUE(first.ok() && retry.ok());
  EXPECT_EQ(first->lsn, retry->lsn);
  EXPECT_EQ(wal_->next_lsn(), 2u);
  in.push_id = "def";
  EXPECT_EQ(pusher_->Push(in, Deadline())->lsn, 2u);
}

}  // namespace
}  // namespace pantry::ingest
