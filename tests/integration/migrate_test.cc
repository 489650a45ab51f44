// Migration of layout-1 online data to rows against a private redis-server.
#include "server/online/migrate.h"

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/online/online_store.h"
#include "server/online/redis_store.h"
#include "server/online/row.h"
#include "server/value/encoding.h"
#include "tests/support/raw_redis.h"
#include "tests/support/redis_server.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;
using testing::RawRedis;

constexpr Micros kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

Micros Deadline() { return NowMicros() + 10 * kMicrosPerSecond; }

OnlineStoreConfig Config(int port) {
  OnlineStoreConfig config;
  config.type = OnlineStoreConfig::Type::kRedis;
  config.host = "127.0.0.1";
  config.port = port;
  config.pool_size = 1;
  return config;
}

std::string Enc(int64_t v) { return EncodeValue(Value::Int64(v)); }

// Writes `view` of a layout-1 hash as the layout-1 script did: the event
// time and the values in one step.
void WriteHash(RawRedis& raw, const std::string& key, const std::string& view, Micros ts,
               const std::map<std::string, std::string>& values) {
  std::vector<std::string> args{"HSET", key, "#ts:" + view, std::to_string(ts)};
  for (const auto& [f, v] : values) {
    args.push_back(view + ":" + f);
    args.push_back(v);
  }
  ASSERT_NE(raw.Command(args), nullptr);
}

// Reads `features` of `view` for the row key `key` through the store.
ViewReadResult ReadRow(OnlineStore& store, const std::string& key, const std::string& view,
                       const std::vector<std::string>& features) {
  auto read = store.ReadSync({MakeViewRead(key, view, features)}, Deadline());
  EXPECT_TRUE(read.ok()) << read.status();
  return read.ok() ? (*read)[0] : ViewReadResult{};
}

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    raw_ = std::make_unique<RawRedis>(server_.port());
    ASSERT_TRUE(raw_->ok());
  }
  testing::RedisServer server_;
  std::unique_ptr<RawRedis> raw_;
};

TEST_F(MigrateTest, RewritesEveryViewOfEveryHashIntoRowsAndServes) {
  for (int u = 0; u < 2500; ++u) {
    const std::string key = absl::StrCat("shop:user_id=", u);
    WriteHash(*raw_, key, "stats", kT0 + u, {{"clicks", Enc(u)}, {"score", Enc(-u)}});
    if (u % 2 == 0) WriteHash(*raw_, key, "risk", kT0 - u, {{"level", Enc(u * 10)}});
  }
  // Entity text with braces and escapes; an expiry; features without an
  // event time (never visible); another project's hash.
  WriteHash(*raw_, "shop:name=a{b}%2C", "stats", kT0, {{"clicks", Enc(7)}});
  ASSERT_NE(raw_->Command({"PEXPIRE", "shop:user_id=1", "600000"}), nullptr);
  ASSERT_NE(raw_->Command({"HSET", "shop:user_id=2", "orphan:x", Enc(1)}), nullptr);
  WriteHash(*raw_, "other:user_id=1", "stats", kT0, {{"clicks", Enc(1)}});

  std::unique_ptr<OnlineStore> store = NewRedisOnlineStore(Config(server_.port()), "shop");
  EXPECT_EQ(store->CheckLayout(Deadline()).code(), absl::StatusCode::kFailedPrecondition);

  MigrationOptions options;
  options.scan_count = 100;
  options.online_ttls["risk"] = 3600 * kMicrosPerSecond;
  int64_t calls = 0;
  options.progress = [&](const MigrationProgress&) { ++calls; };
  absl::StatusOr<MigrationProgress> done = MigrateToRows(Config(server_.port()), "shop", options);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->hashes_migrated, 2501);
  EXPECT_EQ(done->rows_written, 2500 + 1250 + 1);
  EXPECT_EQ(done->rows_skipped, 0);
  EXPECT_GE(done->pass, 2);  // the last pass found nothing left
  EXPECT_GT(calls, 10);
  EXPECT_EQ(raw_->Text({"GET", "shop:#layout"}), "2");
  EXPECT_EQ(raw_->Integer({"EXISTS", "shop:user_id=7"}), 0);
  EXPECT_EQ(raw_->Integer({"EXISTS", "other:user_id=1"}), 1);  // not this project's

  ASSERT_TRUE(store->CheckLayout(Deadline()).ok());
  for (int u : {0, 1, 2, 7, 2499}) {
    const ViewReadResult stats = ReadRow(*store, absl::StrCat("shop:{user_id=", u, "}:stats"),
                                         "stats", {"score", "clicks"});
    ASSERT_TRUE(stats.found) << u;
    EXPECT_EQ(stats.event_time, kT0 + u);
    EXPECT_EQ(stats.values[0], Enc(-u));
    EXPECT_EQ(stats.values[1], Enc(u));
    const ViewReadResult risk =
        ReadRow(*store, absl::StrCat("shop:{user_id=", u, "}:risk"), "risk", {"level"});
    EXPECT_EQ(risk.found, u % 2 == 0) << u;
    if (risk.found) {
      EXPECT_EQ(risk.values[0], Enc(u * 10));
    }
  }
  EXPECT_EQ(raw_->Integer({"EXISTS", "shop:{user_id=2}:orphan"}), 0);
  const ViewReadResult braces = ReadRow(*store, "shop:{name=a%7Bb%7D%2C}:stats", "stats", {"clicks"});
  EXPECT_TRUE(braces.found);
  // The hash's remaining expiry passes to its rows; otherwise the view's
  // online_ttl; otherwise none.
  const long long carried = raw_->Integer({"PTTL", "shop:{user_id=1}:stats"});
  EXPECT_GT(carried, 500'000);
  EXPECT_LE(carried, 600'000);
  EXPECT_GT(raw_->Integer({"PTTL", "shop:{user_id=0}:risk"}), 3'000'000);
  EXPECT_EQ(raw_->Integer({"PTTL", "shop:{user_id=0}:stats"}), -1);

  // Running it again is a no-op.
  done = MigrateToRows(Config(server_.port()), "shop", options);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->hashes_migrated, 0);
  EXPECT_EQ(done->rows_written, 0);
}

// Writers race the migration: an older pantryd keeps updating layout-1
// hashes, a pantryd on layout 2 keeps writing rows. No write newer than
// what ends up stored is lost.
TEST_F(MigrateTest, NoNewerWriteIsLostToARacingWriter) {
  constexpr int kUsers = 3000;
  for (int u = 0; u < kUsers; ++u) {
    WriteHash(*raw_, absl::StrCat("shop:user_id=", u), "stats", kT0, {{"clicks", Enc(0)}});
  }
  // Layout 2 is already marked serving: a pantryd writes rows meanwhile.
  ASSERT_NE(raw_->Command({"SET", "shop:#layout", "2"}), nullptr);
  std::unique_ptr<OnlineStore> store = NewRedisOnlineStore(Config(server_.port()), "shop");

  std::atomic<bool> stop{false};
  std::vector<Micros> newest_v1(kUsers, kT0), newest_v2(kUsers, 0);
  std::thread old_writer([&] {
    RawRedis raw(server_.port());
    for (int round = 1; !stop.load(); ++round) {
      for (int u = 0; u < kUsers && !stop.load(); u += 7) {
        const Micros ts = kT0 + round * 10;
        WriteHash(raw, absl::StrCat("shop:user_id=", u), "stats", ts, {{"clicks", Enc(round)}});
        newest_v1[u] = ts;
      }
    }
  });
  std::thread new_writer([&] {
    for (int round = 1; !stop.load(); ++round) {
      for (int u = 3; u < kUsers && !stop.load(); u += 11) {
        const Micros ts = kT0 + round * 10 + 5;
        auto w = store->WriteSync(
            {MakeViewWrite(absl::StrCat("shop:{user_id=", u, "}:stats"), "stats", ts,
                           {{"clicks", Enc(-round)}})},
            Deadline());
        ASSERT_TRUE(w.ok()) << w.status();
        newest_v2[u] = std::max(newest_v2[u], ts);
      }
    }
  });
  MigrationOptions options;
  options.scan_count = 50;
  absl::StatusOr<MigrationProgress> done = MigrateToRows(Config(server_.port()), "shop", options);
  // An older pantryd that never stops keeps re-creating hashes: the
  // migration says so instead of looping forever.
  if (!done.ok()) {
    EXPECT_EQ(done.status().code(), absl::StatusCode::kFailedPrecondition) << done.status();
    EXPECT_THAT(done.status().message(), HasSubstr("still writing"));
  }
  stop = true;
  old_writer.join();
  new_writer.join();
  // Once it stopped, running the migration again finishes it.
  done = MigrateToRows(Config(server_.port()), "shop", options);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(raw_->Text({"GET", "shop:#layout"}), "2");

  for (int u = 0; u < kUsers; ++u) {
    EXPECT_EQ(raw_->Integer({"EXISTS", absl::StrCat("shop:user_id=", u)}), 0) << u;
    const ViewReadResult r =
        ReadRow(*store, absl::StrCat("shop:{user_id=", u, "}:stats"), "stats", {"clicks"});
    ASSERT_TRUE(r.found) << u;
    EXPECT_EQ(r.event_time, std::max(newest_v1[u], newest_v2[u])) << u;
  }
}

// A hash written to between its read and its delete is not deleted but
// migrated again, so the newer write reaches its row.
TEST_F(MigrateTest, HashChangedBeforeItsDeleteIsMigratedAgain) {
  WriteHash(*raw_, "shop:user_id=1", "stats", kT0, {{"clicks", Enc(1)}});
  WriteHash(*raw_, "shop:user_id=2", "stats", kT0, {{"clicks", Enc(2)}});
  MigrationOptions options;
  int calls = 0;
  options.before_delete = [&](const std::vector<std::string>& keys) {
    if (++calls > 1) return;
    EXPECT_EQ(keys.size(), 2u);
    WriteHash(*raw_, "shop:user_id=1", "stats", kT0 + 5, {{"clicks", Enc(10)}});
  };
  absl::StatusOr<MigrationProgress> done = MigrateToRows(Config(server_.port()), "shop", options);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->hashes_retried, 1);
  EXPECT_EQ(done->hashes_migrated, 2);
  EXPECT_EQ(raw_->Integer({"EXISTS", "shop:user_id=1"}), 0);
  std::unique_ptr<OnlineStore> store = NewRedisOnlineStore(Config(server_.port()), "shop");
  const ViewReadResult r = ReadRow(*store, "shop:{user_id=1}:stats", "stats", {"clicks"});
  EXPECT_EQ(r.event_time, kT0 + 5);
  EXPECT_EQ(r.values[0], Enc(10));
}

TEST_F(MigrateTest, StoppedMigrationRefusesServingAndResumes) {
  for (int u = 0; u < 2000; ++u) {
    WriteHash(*raw_, absl::StrCat("shop:user_id=", u), "stats", kT0 + u, {{"clicks", Enc(u)}});
  }
  MigrationOptions options;
  options.scan_count = 100;
  int batches = 0;
  options.stop = [&] { return ++batches == 3; };
  absl::StatusOr<MigrationProgress> done = MigrateToRows(Config(server_.port()), "shop", options);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kCancelled) << done.status();
  EXPECT_EQ(raw_->Text({"GET", "shop:#layout"}), "migrating");
  std::unique_ptr<OnlineStore> store = NewRedisOnlineStore(Config(server_.port()), "shop");
  absl::Status check = store->CheckLayout(Deadline());
  EXPECT_EQ(check.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(check.message(), HasSubstr("being migrated"));

  options.stop = nullptr;
  done = MigrateToRows(Config(server_.port()), "shop", options);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_TRUE(store->CheckLayout(Deadline()).ok());
  for (int u = 0; u < 2000; u += 97) {
    const ViewReadResult r =
        ReadRow(*store, absl::StrCat("shop:{user_id=", u, "}:stats"), "stats", {"clicks"});
    ASSERT_TRUE(r.found) << u;
    EXPECT_EQ(r.event_time, kT0 + u);
    EXPECT_EQ(r.values[0], Enc(u));
  }
}

TEST_F(MigrateTest, UnreadableHashesAreNamedAndLeftInPlace) {
  WriteHash(*raw_, "shop:user_id=1", "stats", kT0, {{"clicks", Enc(1)}});
  ASSERT_NE(raw_->Command({"HSET", "shop:user_id=2", "#ts:stats", "yesterday"}), nullptr);
  ASSERT_NE(raw_->Command({"HSET", "shop:user_id=3", "#ts:stats", "1", "stats:x", "\x63"}),
            nullptr);
  absl::StatusOr<MigrationProgress> done = MigrateToRows(Config(server_.port()), "shop", {});
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(done.status().message(), HasSubstr("shop:user_id=2"));
  EXPECT_THAT(done.status().message(), HasSubstr("yesterday"));
  EXPECT_THAT(done.status().message(), HasSubstr("shop:user_id=3"));
  EXPECT_EQ(raw_->Integer({"EXISTS", "shop:user_id=1"}), 0);  // the good one went through
  EXPECT_EQ(raw_->Integer({"EXISTS", "shop:user_id=2"}), 1);
  EXPECT_EQ(raw_->Text({"GET", "shop:#layout"}), "migrating");

  ASSERT_NE(raw_->Command({"DEL", "shop:user_id=2", "shop:user_id=3"}), nullptr);
  done = MigrateToRows(Config(server_.port()), "shop", {});
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(raw_->Text({"GET", "shop:#layout"}), "2");
}

// Materialization's watermarks and token counter move to their names with
// the cluster hash tag: by the migration, and, for a store already in
// layout 2 but written before the tag, when pantryd connects. A new name
// already in use is left alone (the old key stays for a look).
TEST_F(MigrateTest, CoordinationKeysMoveToTheirTaggedNames) {
  WriteHash(*raw_, "shop:user_id=1", "stats", kT0, {{"clicks", Enc(1)}});
  ASSERT_NE(raw_->Command({"HSET", "shop:#watermarks", "stats", "1767225600000000"}), nullptr);
  ASSERT_NE(raw_->Command({"SET", "shop:#lease-seq", "41"}), nullptr);
  ASSERT_TRUE(MigrateToRows(Config(server_.port()), "shop", {}).ok());
  EXPECT_EQ(raw_->Text({"HGET", "shop:{#}:watermarks", "stats"}), "1767225600000000");
  EXPECT_EQ(raw_->Text({"GET", "shop:{#}:lease-seq"}), "41");
  EXPECT_EQ(raw_->Integer({"EXISTS", "shop:#watermarks", "shop:#lease-seq"}), 0);

  // Layout 2 already, old names: renamed on the store's first connection.
  ASSERT_NE(raw_->Command({"SET", "other:#layout", "2"}), nullptr);
  ASSERT_NE(raw_->Command({"HSET", "other:#watermarks", "v", "5"}), nullptr);
  ASSERT_NE(raw_->Command({"SET", "other:#lease-seq", "7"}), nullptr);
  ASSERT_NE(raw_->Command({"SET", "other:{#}:lease-seq", "9"}), nullptr);  // taken
  std::unique_ptr<OnlineStore> store = NewRedisOnlineStore(Config(server_.port()), "other");
  ASSERT_TRUE(store->CheckLayout(Deadline()).ok());
  EXPECT_EQ(raw_->Text({"HGET", "other:{#}:watermarks", "v"}), "5");
  EXPECT_EQ(raw_->Integer({"EXISTS", "other:#watermarks"}), 0);
  EXPECT_EQ(raw_->Text({"GET", "other:{#}:lease-seq"}), "9");
  EXPECT_EQ(raw_->Text({"GET", "other:#lease-seq"}), "7");
}

TEST_F(MigrateTest, UnknownLayoutIsLeftAlone) {
  ASSERT_NE(raw_->Command({"SET", "shop:#layout", "9"}), nullptr);
  WriteHash(*raw_, "shop:user_id=1", "stats", kT0, {{"clicks", Enc(1)}});
  absl::StatusOr<MigrationProgress> done = MigrateToRows(Config(server_.port()), "shop", {});
  EXPECT_EQ(done.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(done.status().message(), HasSubstr("'9'"));
  EXPECT_EQ(raw_->Integer({"EXISTS", "shop:user_id=1"}), 1);
}

TEST(Migrate, RedisDownIsUnavailable) {
  absl::StatusOr<MigrationProgress> done =
      MigrateToRows(Config(testing::PickFreePort()), "shop", {});
  EXPECT_EQ(done.status().code(), absl::StatusCode::kUnavailable) << done.status();
}

}  // namespace
}  // namespace pantry
