// The Redis online store against a private redis-server per test.
#include "server/online/redis_store.h"

#include <hiredis/hiredis.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/file.h"
#include "server/common/time.h"
#include "server/online/online_store.h"
#include "server/online/row.h"
#include "server/value/encoding.h"
#include "server/value/value.h"
#include "tests/support/e2e.h"
#include "tests/support/raw_redis.h"
#include "tests/support/redis_server.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;

constexpr Micros kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

Micros Deadline() { return NowMicros() + 10 * kMicrosPerSecond; }

// An entity of project "shop" with join key user_id.
struct Entity {
  int64_t user_id;
};
Entity Key(int64_t user_id) { return Entity{user_id}; }

// The row key of `view` for `entity`.
std::string RowKey(Entity entity, absl::string_view view) {
  const Value v = Value::Int64(entity.user_id);
  return OnlineKey("shop", view, {JoinKey{"user_id", ValueType::kInt64}}, {&v});
}

ViewWrite MakeWrite(Entity entity, std::string view, Micros event_time,
                    std::vector<std::pair<std::string, Value>> values, Micros online_ttl = 0) {
  ViewWrite write;
  write.key = RowKey(entity, view);
  write.view = std::move(view);
  write.online_ttl = online_ttl;
  AppendRowHeader(event_time, &write.row);
  for (auto& [name, value] : values) {
    AppendRowEntry(FeatureId(name), EncodeValue(value), &write.row);
  }
  return write;
}

ViewRead MakeRead(Entity entity, std::string view, const std::vector<std::string>& features) {
  ViewRead read;
  read.key = RowKey(entity, view);
  read.view = std::move(view);
  for (const std::string& f : features) read.feature_ids.push_back(FeatureId(f));
  return read;
}

std::unique_ptr<OnlineStore> NewStore(const OnlineStoreConfig& config) {
  return NewRedisOnlineStore(config, "shop");
}

// Decodes values[i] of a read result; nullopt when absent.
std::optional<Value> ValueAt(const ViewReadResult& result, size_t i) {
  if (i >= result.values.size() || !result.values[i].has_value()) return std::nullopt;
  absl::StatusOr<Value> value = DecodeValue(*result.values[i]);
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) return std::nullopt;
  return *value;
}

using testing::RawRedis;

OnlineStoreConfig RedisConfig(int port) {
  OnlineStoreConfig config;
  config.type = OnlineStoreConfig::Type::kRedis;
  config.host = "127.0.0.1";
  config.port = port;
  config.pool_size = 4;
  return config;
}

// Retries a one-entry write until it succeeds (bounded: about 10 s).
absl::Status WriteUntilOk(OnlineStore& store, const ViewWrite& write) {
  absl::Status last;
  for (int attempt = 0; attempt < 500; ++attempt) {
    absl::StatusOr<WriteResult> result = store.WriteSync({write}, Deadline());
    if (result.ok()) return absl::OkStatus();
    last = result.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return last;
}

class RedisOnlineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    store_ = NewStore(RedisConfig(server_.port()));
  }

  testing::RedisServer server_;
  std::unique_ptr<OnlineStore> store_;
};

TEST_F(RedisOnlineStoreTest, WriteThenReadBackValues) {
  absl::StatusOr<WriteResult> written =
      store_->WriteSync({MakeWrite(Key(1), "user_stats", kT0,
                                   {{"clicks", Value::Int64(42)},
                                    {"score", Value::Double(0.5)},
                                    {"name", Value::String("ada, :=% lovelace")},
                                    {"tags", Value::StringList({"a", "b"})},
                                    {"missing_value", Value::Null(ValueType::kFloat)}})},
                        Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 1);
  EXPECT_EQ(written->skipped_older, 0);

  absl::StatusOr<std::vector<ViewReadResult>> read = store_->ReadSync(
      {MakeRead(Key(1), "user_stats",
                {"clicks", "score", "name", "tags", "missing_value", "never_written"})},
      Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  const ViewReadResult& r = (*read)[0];
  EXPECT_TRUE(r.found);
  EXPECT_EQ(r.event_time, kT0);
  ASSERT_EQ(r.values.size(), 6u);
  EXPECT_EQ(ValueAt(r, 0), Value::Int64(42));
  EXPECT_EQ(ValueAt(r, 1), Value::Double(0.5));
  EXPECT_EQ(ValueAt(r, 2), Value::String("ada, :=% lovelace"));
  EXPECT_EQ(ValueAt(r, 3), Value::StringList({"a", "b"}));
  EXPECT_EQ(ValueAt(r, 4), Value::Null(ValueType::kFloat));
  EXPECT_FALSE(r.values[5].has_value());
}

// The bytes docs/redis-layout.md promises: one string per entity and view,
// holding the format byte, the event time (sign bit flipped, big-endian) and
// per feature its FNV-1a id (little-endian) and value; the layout key is set.
TEST_F(RedisOnlineStoreTest, LayoutIsOneRowStringPerEntityAndView) {
  ASSERT_TRUE(
      store_
          ->WriteSync({MakeWrite(Key(7), "user_stats", kT0 + 5, {{"clicks", Value::Int64(3)}})},
                      Deadline())
          .ok());
  RawRedis raw(server_.port());
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(RowKey(Key(7), "user_stats"), "shop:{user_id=7}:user_stats");
  RawRedis::Reply row = raw.Command({"GET", "shop:{user_id=7}:user_stats"});
  ASSERT_NE(row, nullptr);
  ASSERT_EQ(row->type, REDIS_REPLY_STRING);
  // kT0 + 5 = 0x00064748_46204005; with the sign bit flipped 0x80064748_46204005.
  const std::string expected =
      std::string("\x01\x80\x06\x47\x48\x46\x20\x40\x05", 9) +
      std::string("\x14\xa4\x62\xb7", 4) +  // FNV-1a("clicks") = 0xb762a414
      std::string("\x02\x03\x00\x00\x00\x00\x00\x00\x00", 9);
  EXPECT_EQ(std::string(row->str, row->len), expected);
  EXPECT_EQ(FeatureId("clicks"), 0xb762a414u);
  RawRedis::Reply layout = raw.Command({"GET", "shop:#layout"});
  ASSERT_NE(layout, nullptr);
  ASSERT_EQ(layout->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(layout->str, layout->len), "2");
  EXPECT_EQ(raw.Integer({"PTTL", "shop:{user_id=7}:user_stats"}), -1);
}

// Rows written before a schema change stay readable: features come back by
// id whatever their order, a removed one is skipped, an added one is absent.
TEST_F(RedisOnlineStoreTest, RowsOfAnEarlierSchemaReadByFeatureId) {
  ASSERT_TRUE(store_
                  ->WriteSync({MakeWrite(Key(1), "v", kT0,
                                         {{"a", Value::Int32(1)},
                                          {"gone", Value::String("x")},
                                          {"b", Value::Double(2.5)}})},
                              Deadline())
                  .ok());
  absl::StatusOr<std::vector<ViewReadResult>> read =
      store_->ReadSync({MakeRead(Key(1), "v", {"b", "added", "a"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  const ViewReadResult& r = (*read)[0];
  EXPECT_TRUE(r.found);
  EXPECT_EQ(ValueAt(r, 0), Value::Double(2.5));
  EXPECT_FALSE(r.values[1].has_value());
  EXPECT_EQ(ValueAt(r, 2), Value::Int32(1));
}

TEST_F(RedisOnlineStoreTest, OlderWriteDoesNotReplaceNewer) {
  ASSERT_TRUE(
      store_->WriteSync({MakeWrite(Key(1), "v", kT0 + 100, {{"f", Value::Int64(1)}})}, Deadline())
          .ok());
  absl::StatusOr<WriteResult> older = store_->WriteSync(
      {MakeWrite(Key(1), "v", kT0 + 99, {{"f", Value::Int64(2)}, {"g", Value::Int64(2)}})},
      Deadline());
  ASSERT_TRUE(older.ok()) << older.status();
  EXPECT_EQ(older->written, 0);
  EXPECT_EQ(older->skipped_older, 1);

  absl::StatusOr<std::vector<ViewReadResult>> read =
      store_->ReadSync({MakeRead(Key(1), "v", {"f", "g"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0].event_time, kT0 + 100);
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(1));
  EXPECT_FALSE((*read)[0].values[1].has_value());

  // A newer write lands.
  absl::StatusOr<WriteResult> newer =
      store_->WriteSync({MakeWrite(Key(1), "v", kT0 + 101, {{"f", Value::Int64(3)}})}, Deadline());
  ASSERT_TRUE(newer.ok()) << newer.status();
  EXPECT_EQ(newer->written, 1);
  read = store_->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0].event_time, kT0 + 101);
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(3));
}

TEST_F(RedisOnlineStoreTest, EqualEventTimeDoesNotReplace) {
  ASSERT_TRUE(
      store_->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline()).ok());
  absl::StatusOr<WriteResult> same =
      store_->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(2)}})}, Deadline());
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->written, 0);
  EXPECT_EQ(same->skipped_older, 1);
  absl::StatusOr<std::vector<ViewReadResult>> read =
      store_->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(1));
}

TEST_F(RedisOnlineStoreTest, NewerWinsComparesExactIntegers) {
  // Beyond 2^53 doubles cannot tell these apart; the script must.
  const Micros big = (int64_t{1} << 60) + 1;
  ASSERT_TRUE(
      store_->WriteSync({MakeWrite(Key(2), "v", big, {{"f", Value::Int64(1)}})}, Deadline()).ok());
  absl::StatusOr<WriteResult> older =
      store_->WriteSync({MakeWrite(Key(2), "v", big - 1, {{"f", Value::Int64(2)}})}, Deadline());
  ASSERT_TRUE(older.ok()) << older.status();
  EXPECT_EQ(older->skipped_older, 1);
  absl::StatusOr<WriteResult> newer =
      store_->WriteSync({MakeWrite(Key(2), "v", big + 1, {{"f", Value::Int64(3)}})}, Deadline());
  ASSERT_TRUE(newer.ok()) << newer.status();
  EXPECT_EQ(newer->written, 1);

  // Negative times (before 1970) order correctly too.
  ASSERT_TRUE(
      store_->WriteSync({MakeWrite(Key(3), "v", -500, {{"f", Value::Int64(1)}})}, Deadline()).ok());
  older = store_->WriteSync({MakeWrite(Key(3), "v", -1000, {{"f", Value::Int64(2)}})}, Deadline());
  ASSERT_TRUE(older.ok()) << older.status();
  EXPECT_EQ(older->skipped_older, 1);
  newer = store_->WriteSync({MakeWrite(Key(3), "v", -20, {{"f", Value::Int64(3)}})}, Deadline());
  ASSERT_TRUE(newer.ok()) << newer.status();
  EXPECT_EQ(newer->written, 1);
  newer = store_->WriteSync({MakeWrite(Key(3), "v", 0, {{"f", Value::Int64(4)}})}, Deadline());
  ASSERT_TRUE(newer.ok()) << newer.status();
  EXPECT_EQ(newer->written, 1);

  absl::StatusOr<std::vector<ViewReadResult>> read =
      store_->ReadSync({MakeRead(Key(2), "v", {"f"}), MakeRead(Key(3), "v", {"f"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0].event_time, big + 1);
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(3));
  EXPECT_EQ((*read)[1].event_time, 0);
  EXPECT_EQ(ValueAt((*read)[1], 0), Value::Int64(4));
}

TEST_F(RedisOnlineStoreTest, MissingKeyGivesNotFoundAndNoValues) {
  absl::StatusOr<std::vector<ViewReadResult>> read =
      store_->ReadSync({MakeRead(Key(404), "v", {"a", "b"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_FALSE((*read)[0].found);
  EXPECT_EQ((*read)[0].event_time, kNoTimestamp);
  ASSERT_EQ((*read)[0].values.size(), 2u);
  EXPECT_FALSE((*read)[0].values[0].has_value());
  EXPECT_FALSE((*read)[0].values[1].has_value());
}

TEST_F(RedisOnlineStoreTest, EmptyCallsSucceed) {
  absl::StatusOr<std::vector<ViewReadResult>> read = store_->ReadSync({}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
  absl::StatusOr<WriteResult> write = store_->WriteSync({}, Deadline());
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->written, 0);
}

TEST_F(RedisOnlineStoreTest, SeveralViewsForOneKeyKeepSeparateTimestamps) {
  absl::StatusOr<WriteResult> written =
      store_->WriteSync({MakeWrite(Key(1), "a", kT0 + 100, {{"x", Value::Int64(1)}}),
                         MakeWrite(Key(1), "b", kT0 + 200, {{"x", Value::Int64(2)}})},
                        Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 2);

  // An older write to a does not look at b's time, and vice versa.
  written = store_->WriteSync({MakeWrite(Key(1), "a", kT0 + 150, {{"x", Value::Int64(3)}}),
                               MakeWrite(Key(1), "b", kT0 + 150, {{"x", Value::Int64(4)}})},
                              Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 1);
  EXPECT_EQ(written->skipped_older, 1);

  absl::StatusOr<std::vector<ViewReadResult>> read = store_->ReadSync(
      {MakeRead(Key(1), "a", {"x"}), MakeRead(Key(1), "b", {"x"}), MakeRead(Key(1), "c", {"x"})},
      Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_TRUE((*read)[0].found);
  EXPECT_EQ((*read)[0].event_time, kT0 + 150);
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(3));
  EXPECT_TRUE((*read)[1].found);
  EXPECT_EQ((*read)[1].event_time, kT0 + 200);
  EXPECT_EQ(ValueAt((*read)[1], 0), Value::Int64(2));
  EXPECT_FALSE((*read)[2].found);
}

TEST_F(RedisOnlineStoreTest, LargeCallsKeepOrder) {
  constexpr int kEntities = 1000;
  std::vector<ViewWrite> writes;
  for (int i = 0; i < kEntities; ++i) {
    writes.push_back(MakeWrite(Key(i), "v", kT0 + i, {{"f", Value::Int64(i * 10)}}));
  }
  absl::StatusOr<WriteResult> written = store_->WriteSync(writes, Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, kEntities);
  // Again: every one is now equal, so skipped.
  written = store_->WriteSync(writes, Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->skipped_older, kEntities);

  std::vector<ViewRead> reads;
  for (int i = 0; i < kEntities + 5; ++i) reads.push_back(MakeRead(Key(i), "v", {"f"}));
  absl::StatusOr<std::vector<ViewReadResult>> read = store_->ReadSync(reads, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), reads.size());
  for (int i = 0; i < kEntities; ++i) {
    ASSERT_TRUE((*read)[i].found) << i;
    EXPECT_EQ((*read)[i].event_time, kT0 + i);
    EXPECT_EQ(ValueAt((*read)[i], 0), Value::Int64(i * 10));
  }
  for (int i = kEntities; i < kEntities + 5; ++i) EXPECT_FALSE((*read)[i].found);
}

// A key written twice in one call is compared the second time against what
// the first write stored, in both orders; another view of the same key keeps
// its own time.
TEST_F(RedisOnlineStoreTest, SameKeyTwiceInOneCallOnAnEmptyStore) {
  absl::StatusOr<WriteResult> written = store_->WriteSync(
      {MakeWrite(Key(1), "v", kT0 + 10, {{"f", Value::Int64(10)}}),
       MakeWrite(Key(1), "v", kT0 + 5, {{"f", Value::Int64(5)}}),    // older: skipped
       MakeWrite(Key(2), "v", kT0 + 5, {{"f", Value::Int64(5)}}),
       MakeWrite(Key(2), "v", kT0 + 10, {{"f", Value::Int64(10)}}),  // newer: lands
       MakeWrite(Key(3), "v", kT0 + 7, {{"f", Value::Int64(7)}}),
       MakeWrite(Key(3), "v", kT0 + 7, {{"f", Value::Int64(8)}}),    // equal: skipped
       MakeWrite(Key(4), "u", kT0 + 1, {{"f", Value::Int64(1)}}),
       MakeWrite(Key(4), "v", kT0 + 1, {{"f", Value::Int64(2)}})},   // another view: lands
      Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 6);
  EXPECT_EQ(written->skipped_older, 2);
  absl::StatusOr<std::vector<ViewReadResult>> read = store_->ReadSync(
      {MakeRead(Key(1), "v", {"f"}), MakeRead(Key(2), "v", {"f"}), MakeRead(Key(3), "v", {"f"}),
       MakeRead(Key(4), "u", {"f"}), MakeRead(Key(4), "v", {"f"})},
      Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0].event_time, kT0 + 10);
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(10));
  EXPECT_EQ((*read)[1].event_time, kT0 + 10);
  EXPECT_EQ(ValueAt((*read)[1], 0), Value::Int64(10));
  EXPECT_EQ(ValueAt((*read)[2], 0), Value::Int64(7));
  EXPECT_EQ(ValueAt((*read)[3], 0), Value::Int64(1));
  EXPECT_EQ(ValueAt((*read)[4], 0), Value::Int64(2));
}

// One call mixing views, feature subsets of one view, a view wider than the
// script writes in one HSET, and writes that lose to what is stored: the
// script groups consecutive writes with the same fields and must keep every
// write's own fields, values and outcome.
TEST_F(RedisOnlineStoreTest, MixedViewsAndFeatureSetsInOneCall) {
  constexpr int kWide = 1201;
  std::vector<std::pair<std::string, Value>> wide_values;
  std::vector<std::string> wide_names;
  for (int j = 0; j < kWide; ++j) {
    wide_names.push_back("w" + std::to_string(j));
    wide_values.emplace_back(wide_names.back(), Value::Int64(j));
  }
  // Stored first: user 7 of view a at kT0 + 1000, newer than the call below.
  ASSERT_TRUE(store_->WriteSync({MakeWrite(Key(7), "a", kT0 + 1000, {{"x", Value::Int64(-7)}})},
                                Deadline())
                  .ok());

  std::vector<ViewWrite> writes;
  for (int i = 0; i < 150; ++i) {
    switch (i % 5) {
      case 0:
      case 1:  // a {x, y}
        writes.push_back(MakeWrite(Key(i), "a", kT0 + i,
                                   {{"x", Value::Int64(i)}, {"y", Value::String("y" + std::to_string(i))}}));
        break;
      case 2:  // a {y, z}: as many features as {x, y}, not the same ones
        writes.push_back(MakeWrite(Key(i), "a", kT0 + i,
                                   {{"y", Value::String("only")}, {"z", Value::Int64(-i)}}));
        break;
      case 3:  // b {x}
        writes.push_back(MakeWrite(Key(i), "b", kT0 + i, {{"x", Value::Double(i * 0.5)}}));
        break;
      default:  // the wide view, on some rows only
        if (i % 25 == 4) {
          writes.push_back(MakeWrite(Key(i), "wide", kT0 + i, wide_values));
        } else {
          writes.push_back(MakeWrite(Key(i), "b", kT0 + i, {{"x", Value::Double(-1)}}));
        }
    }
  }
  absl::StatusOr<WriteResult> written = store_->WriteSync(writes, Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 149);
  EXPECT_EQ(written->skipped_older, 1);  // user 7 of view a

  std::vector<ViewRead> reads;
  for (int i = 0; i < 150; ++i) {
    reads.push_back(MakeRead(Key(i), "a", {"x", "y", "z"}));
    reads.push_back(MakeRead(Key(i), "b", {"x"}));
    reads.push_back(MakeRead(Key(i), "wide", wide_names));
  }
  absl::StatusOr<std::vector<ViewReadResult>> read = store_->ReadSync(reads, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  for (int i = 0; i < 150; ++i) {
    const ViewReadResult& a = (*read)[3 * i];
    const ViewReadResult& b = (*read)[3 * i + 1];
    const ViewReadResult& wide = (*read)[3 * i + 2];
    if (i == 7) {
      EXPECT_EQ(a.event_time, kT0 + 1000);
      EXPECT_EQ(ValueAt(a, 0), Value::Int64(-7));
      EXPECT_EQ(ValueAt(a, 1), std::nullopt);
      continue;
    }
    switch (i % 5) {
      case 0:
      case 1:
        EXPECT_EQ(a.event_time, kT0 + i) << i;
        EXPECT_EQ(ValueAt(a, 0), Value::Int64(i)) << i;
        EXPECT_EQ(ValueAt(a, 1), Value::String("y" + std::to_string(i))) << i;
        break;
      case 2:
        EXPECT_EQ(a.event_time, kT0 + i) << i;
        EXPECT_EQ(ValueAt(a, 0), std::nullopt) << i;
        EXPECT_EQ(ValueAt(a, 1), Value::String("only")) << i;
        EXPECT_EQ(ValueAt(a, 2), Value::Int64(-i)) << i;
        break;
      case 3:
        EXPECT_FALSE(a.found) << i;
        EXPECT_EQ(ValueAt(b, 0), Value::Double(i * 0.5)) << i;
        break;
      default:
        EXPECT_FALSE(a.found) << i;
        if (i % 25 == 4) {
          ASSERT_TRUE(wide.found) << i;
          EXPECT_FALSE(b.found) << i;
          for (int j = 0; j < kWide; ++j) ASSERT_EQ(ValueAt(wide, j), Value::Int64(j)) << i << " " << j;
        } else {
          EXPECT_FALSE(wide.found) << i;
          EXPECT_EQ(ValueAt(b, 0), Value::Double(-1)) << i;
        }
    }
  }
}

TEST_F(RedisOnlineStoreTest, ManyConcurrentCallersGetTheirOwnResults) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const int id = t * 1000 + round;
        absl::StatusOr<WriteResult> written = store_->WriteSync(
            {MakeWrite(Key(id), "v", kT0 + round, {{"f", Value::Int64(id)}})}, Deadline());
        if (!written.ok() || written->written != 1) ++failures;
        absl::StatusOr<std::vector<ViewReadResult>> read = store_->ReadSync(
            {MakeRead(Key(id), "v", {"f"}), MakeRead(Key(t * 1000), "v", {"f"})}, Deadline());
        if (!read.ok() || read->size() != 2 || !(*read)[0].found ||
            (*read)[0].event_time != kT0 + round || ValueAt((*read)[0], 0) != Value::Int64(id) ||
            ValueAt((*read)[1], 0) != Value::Int64(t * 1000)) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  // Many asynchronous calls in flight at once share pipelines.
  constexpr int kAsync = 2000;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  for (int i = 0; i < kAsync; ++i) {
    const int t = i % kThreads;
    const int round = (i / kThreads) % kRounds;
    const int id = t * 1000 + round;
    store_->Read({MakeRead(Key(id), "v", {"f"})}, Deadline(),
                 [&, id](absl::StatusOr<std::vector<ViewReadResult>> read) {
                   if (!read.ok() || ValueAt((*read)[0], 0) != Value::Int64(id)) ++failures;
                   std::lock_guard<std::mutex> lock(mu);
                   ++done;
                   cv.notify_one();
                 });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done == kAsync; }));
  EXPECT_EQ(failures.load(), 0);
}

// What a Read's callback saw; shared, since the callback may run after the
// Read call returned.
struct ReadOutcome {
  std::promise<void> done;
  std::thread::id ran_on;
  absl::StatusOr<std::vector<ViewReadResult>> result = absl::UnknownError("not called");
};

// Issues one Read and waits for its callback; `inline_call` tells whether
// the callback had run before Read returned.
std::shared_ptr<ReadOutcome> ReadAndWait(OnlineStore& store, const ViewRead& read,
                                         bool* inline_call) {
  auto outcome = std::make_shared<ReadOutcome>();
  std::future<void> done = outcome->done.get_future();
  store.Read({read}, Deadline(), [outcome](absl::StatusOr<std::vector<ViewReadResult>> result) {
    outcome->ran_on = std::this_thread::get_id();
    outcome->result = std::move(result);
    outcome->done.set_value();
  });
  *inline_call = done.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  EXPECT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  return outcome;
}

// Reads until one runs on the calling thread (about 1 s at most): the
// connection's thread may still be finishing an earlier call when that
// call's callback has run; once it let go, the connection is idle.
bool WaitUntilReadsRunInline(OnlineStore& store, const ViewRead& read) {
  bool inline_call = false;
  for (int attempt = 0; attempt < 200 && !inline_call; ++attempt) {
    ReadAndWait(store, read, &inline_call);
    if (!inline_call) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return inline_call;
}

TEST_F(RedisOnlineStoreTest, SmallReadOnAnIdleConnectionRunsOnTheCallingThread) {
  ASSERT_TRUE(
      store_->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(7)}})}, Deadline()).ok());
  const ViewRead read = MakeRead(Key(1), "v", {"f"});
  ASSERT_TRUE(WaitUntilReadsRunInline(*store_, read)) << "no read ran on the calling thread";
  bool inline_call = false;
  // Connected and idle: the caller sends the read and takes the reply itself,
  // so the callback has run, on this thread, when Read returns.
  for (int i = 0; i < 20; ++i) {
    std::shared_ptr<ReadOutcome> outcome = ReadAndWait(*store_, read, &inline_call);
    EXPECT_TRUE(inline_call);
    EXPECT_EQ(outcome->ran_on, std::this_thread::get_id());
    ASSERT_TRUE(outcome->result.ok()) << outcome->result.status();
    EXPECT_EQ(ValueAt((*outcome->result)[0], 0), Value::Int64(7));
  }
  // Writes are left to the connection's thread, so a writer can prepare its
  // next batch meanwhile.
  auto write_thread = std::make_shared<std::promise<std::thread::id>>();
  std::future<std::thread::id> write_done = write_thread->get_future();
  store_->Write({MakeWrite(Key(1), "v", kT0 + 1, {{"f", Value::Int64(8)}})}, Deadline(),
                [write_thread](absl::StatusOr<WriteResult> written) {
                  EXPECT_TRUE(written.ok()) << written.status();
                  write_thread->set_value(std::this_thread::get_id());
                });
  ASSERT_EQ(write_done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_NE(write_done.get(), std::this_thread::get_id());
}

TEST_F(RedisOnlineStoreTest, ACallerDrivesABoundedShareAndLeavesWritesToTheConnectionThread) {
  ASSERT_TRUE(
      store_->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline()).ok());
  const ViewRead read = MakeRead(Key(1), "v", {"f"});
  ASSERT_TRUE(WaitUntilReadsRunInline(*store_, read)) << "no read ran on the calling thread";
  // A chain of reads, each queued by the previous one's callback on the
  // same connection (behind the driver, so each is a batch of its own): the
  // caller runs the first few, then the connection's thread takes over.
  const std::thread::id caller = std::this_thread::get_id();
  constexpr int kChained = 50;
  struct Chain {
    std::atomic<int> done{0};
    std::atomic<int> on_caller{0};
    std::atomic<int> failed{0};
  };
  auto state = std::make_shared<Chain>();
  OnlineStore* store = store_.get();
  std::function<void(int)> chain = [&](int left) {
    store->Read({read}, Deadline(),
                [&, left, state, caller](absl::StatusOr<std::vector<ViewReadResult>> result) {
                  if (!result.ok()) state->failed.fetch_add(1);
                  if (std::this_thread::get_id() == caller) state->on_caller.fetch_add(1);
                  if (left > 1) chain(left - 1);
                  state->done.fetch_add(1);
                });
  };
  chain(kChained);
  for (int i = 0; i < 3000 && state->done.load() < kChained; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(state->done.load(), kChained);
  EXPECT_EQ(state->failed.load(), 0);
  EXPECT_GE(state->on_caller.load(), 1);
  EXPECT_LT(state->on_caller.load(), kChained);

  // A write queued while a caller drives is left to the connection's thread.
  auto write_thread = std::make_shared<std::promise<std::thread::id>>();
  std::future<std::thread::id> write_done = write_thread->get_future();
  auto read_done = std::make_shared<std::promise<void>>();
  std::future<void> read_finished = read_done->get_future();
  store->Read({read}, Deadline(),
              [store, write_thread, read_done](absl::StatusOr<std::vector<ViewReadResult>>) {
                store->Write({MakeWrite(Key(2), "v", kT0, {{"f", Value::Int64(2)}})}, Deadline(),
                             [write_thread](absl::StatusOr<WriteResult> written) {
                               EXPECT_TRUE(written.ok()) << written.status();
                               write_thread->set_value(std::this_thread::get_id());
                             });
                read_done->set_value();
              });
  ASSERT_EQ(read_finished.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  ASSERT_EQ(write_done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_NE(write_done.get(), caller);
  absl::StatusOr<std::vector<ViewReadResult>> written =
      store->ReadSync({MakeRead(Key(2), "v", {"f"})}, Deadline());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(ValueAt((*written)[0], 0), Value::Int64(2));
}

TEST(RedisOnlineStore, ReadsWhileDisconnectedAreLeftToTheConnectionThread) {
  // Connecting may take up to connect_timeout: never on the caller's thread.
  const int port = testing::PickFreePort();
  std::unique_ptr<OnlineStore> store = NewStore(RedisConfig(port));
  for (int i = 0; i < 5; ++i) {
    std::promise<std::pair<std::thread::id, absl::Status>> outcome;
    store->Read({MakeRead(Key(1), "v", {"f"})}, Deadline(),
                [&](absl::StatusOr<std::vector<ViewReadResult>> read) {
                  outcome.set_value({std::this_thread::get_id(), read.status()});
                });
    std::future<std::pair<std::thread::id, absl::Status>> done = outcome.get_future();
    ASSERT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    const auto [thread, status] = done.get();
    EXPECT_NE(thread, std::this_thread::get_id());
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
}

TEST(RedisOnlineStore, NoReplyWithinRequestTimeoutFailsTheReadThenRecovers) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  OnlineStoreConfig config = RedisConfig(server.port());
  config.pool_size = 1;
  config.request_timeout = 200'000;
  std::unique_ptr<OnlineStore> store = NewStore(config);
  ASSERT_TRUE(
      store->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(3)}})}, Deadline()).ok());
  ASSERT_TRUE(store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline()).ok());

  // Redis holds every client's commands for 1.5 s: the read (sent by this
  // thread on the idle connection) gets no reply in time.
  RawRedis raw(server.port());
  ASSERT_TRUE(raw.ok());
  RawRedis::Reply paused = raw.Command({"CLIENT", "PAUSE", "1500", "ALL"});
  ASSERT_NE(paused, nullptr);
  ASSERT_EQ(paused->type, REDIS_REPLY_STATUS);
  const Micros sent = NowMicros();
  absl::StatusOr<std::vector<ViewReadResult>> read =
      store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr("no reply within request_timeout"));
  EXPECT_LT(NowMicros() - sent, 1'400'000);  // it did not wait for the pause to end

  // The connection is made again once Redis answers.
  for (int attempt = 0; attempt < 500; ++attempt) {
    read = store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
    if (read.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(3));
}

// Each row expires by its own view's online_ttl; a skipped write leaves the
// expiry alone; a write without online_ttl clears it.
TEST_F(RedisOnlineStoreTest, RowExpiryIsTheViewsOnlineTtl) {
  const Micros minute = 60 * kMicrosPerSecond;
  ASSERT_TRUE(store_
                  ->WriteSync({MakeWrite(Key(1), "a", kT0, {{"f", Value::Int64(1)}}, minute),
                               MakeWrite(Key(1), "b", kT0, {{"f", Value::Int64(1)}})},
                              Deadline())
                  .ok());
  RawRedis raw(server_.port());
  ASSERT_TRUE(raw.ok());
  const long long pttl = raw.Integer({"PTTL", RowKey(Key(1), "a")});
  EXPECT_GT(pttl, 50'000);
  EXPECT_LE(pttl, 60'000);
  EXPECT_EQ(raw.Integer({"PTTL", RowKey(Key(1), "b")}), -1);

  absl::StatusOr<WriteResult> older = store_->WriteSync(
      {MakeWrite(Key(1), "a", kT0 - 1, {{"f", Value::Int64(0)}}, 3600 * kMicrosPerSecond)},
      Deadline());
  ASSERT_TRUE(older.ok()) << older.status();
  EXPECT_EQ(older->skipped_older, 1);
  EXPECT_LE(raw.Integer({"PTTL", RowKey(Key(1), "a")}), 60'000);

  ASSERT_TRUE(
      store_->WriteSync({MakeWrite(Key(1), "a", kT0 + 1, {{"f", Value::Int64(2)}})}, Deadline())
          .ok());
  EXPECT_EQ(raw.Integer({"PTTL", RowKey(Key(1), "a")}), -1);

  // A sub-millisecond online_ttl still expires (rounded up to 1 ms).
  ASSERT_TRUE(store_->WriteSync({MakeWrite(Key(2), "a", kT0, {{"f", Value::Int64(1)}}, 1)},
                                Deadline())
                  .ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(raw.Integer({"EXISTS", RowKey(Key(2), "a")}), 0);
}

TEST(RedisOnlineStore, RedisDownAtCreationGivesUnavailableThenRecovers) {
  const int port = testing::PickFreePort();
  std::unique_ptr<OnlineStore> store = NewStore(RedisConfig(port));

  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<std::vector<ViewReadResult>> read =
        store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
    EXPECT_THAT(read.status().message(), HasSubstr(absl::StrCat("redis at 127.0.0.1:", port)));
  }

  testing::RedisServer server;
  ASSERT_TRUE(server.Start(port).ok());
  ASSERT_TRUE(WriteUntilOk(*store, MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(5)}})).ok());
  // Every connection comes back, not just one.
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::vector<ViewReadResult>> read;
    for (int attempt = 0; attempt < 500; ++attempt) {
      read = store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
      if (read.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(5));
  }
}

// Counts what the store reports of its node.
class CountingObserver : public OnlineStoreObserver {
 public:
  class CountingNode : public Node {
   public:
    void OnConnected(bool reconnect) override { (reconnect ? reconnects : connects)++; }
    void OnDisconnected() override { ++disconnects; }
    void OnConnectFailed() override { ++failures; }
    void OnRequestsSent(int64_t n) override { sent += n; }
    void AddPending(int64_t delta) override { pending += delta; }
    void OnClusterReply(absl::string_view) override { ++cluster_replies; }
    std::atomic<int64_t> cluster_replies{0};
    std::atomic<int64_t> connects{0}, reconnects{0}, disconnects{0}, failures{0}, sent{0},
        pending{0};
  };
  Node* ForNode(absl::string_view node) override {
    names.emplace_back(node);
    return &node_;
  }
  void OnSlotMapRefresh(bool) override {}
  // Pending drops once a callback has returned, a moment after a sync
  // call's result is out: waits (bounded) for it to reach 0.
  int64_t SettledPending() {
    for (int i = 0; i < 500 && node_.pending != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return node_.pending;
  }
  CountingNode node_;
  std::vector<std::string> names;
};

TEST(RedisOnlineStore, ReportsItsNodeToTheObserver) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  CountingObserver observer;
  OnlineStoreConfig config = RedisConfig(server.port());
  config.pool_size = 1;
  std::unique_ptr<OnlineStore> store = NewRedisOnlineStore(config, "shop", &observer);
  ASSERT_EQ(observer.names, std::vector<std::string>{server.address()});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store->WriteSync({MakeWrite(Key(i), "v", kT0, {{"f", Value::Int64(i)}})}, Deadline()).ok());
  }
  ASSERT_TRUE(store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline()).ok());
  EXPECT_EQ(observer.node_.connects, 1);
  EXPECT_EQ(observer.node_.sent, 6);
  EXPECT_EQ(observer.SettledPending(), 0);

  server.Stop();
  EXPECT_FALSE(store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline()).ok());
  EXPECT_EQ(observer.node_.disconnects, 1);
  ASSERT_TRUE(server.Start(server.port()).ok());
  ASSERT_TRUE(WriteUntilOk(*store, MakeWrite(Key(9), "v", kT0, {{"f", Value::Int64(9)}})).ok());
  EXPECT_EQ(observer.node_.reconnects, 1);
  EXPECT_EQ(observer.SettledPending(), 0);
}

TEST(RedisOnlineStore, RecoversAfterRedisRestartWithoutRecreatingTheStore) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  const int port = server.port();
  std::unique_ptr<OnlineStore> store = NewStore(RedisConfig(port));
  ASSERT_TRUE(
      store->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline()).ok());

  server.Stop();
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<WriteResult> write = store->WriteSync(
        {MakeWrite(Key(1), "v", kT0 + 1 + i, {{"f", Value::Int64(2)}})}, Deadline());
    ASSERT_FALSE(write.ok());
    EXPECT_EQ(write.status().code(), absl::StatusCode::kUnavailable) << write.status();
    EXPECT_THAT(write.status().message(), HasSubstr(server.address()));
    absl::StatusOr<std::vector<ViewReadResult>> read =
        store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
  }

  ASSERT_TRUE(server.Start(port).ok());
  ASSERT_TRUE(
      WriteUntilOk(*store, MakeWrite(Key(1), "v", kT0 + 50, {{"f", Value::Int64(3)}})).ok());
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::vector<ViewReadResult>> read;
    for (int attempt = 0; attempt < 500; ++attempt) {
      read = store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
      if (read.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ((*read)[0].event_time, kT0 + 50);
    EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(3));
  }
}

TEST_F(RedisOnlineStoreTest, PastDeadlineGivesDeadlineExceededAndSendsNothing) {
  absl::StatusOr<WriteResult> write =
      store_->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, NowMicros() - 1);
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.status().code(), absl::StatusCode::kDeadlineExceeded) << write.status();
  absl::StatusOr<std::vector<ViewReadResult>> read =
      store_->ReadSync({MakeRead(Key(1), "v", {"f"})}, NowMicros() - 1);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDeadlineExceeded) << read.status();

  read = store_->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE((*read)[0].found);
}

// A row key overwritten by someone else: a string that is not a row (or a
// row of a newer format) is refused, never read as values nor overwritten;
// another Redis type is refused on write and reads as absent (MGET has no
// value for it).
TEST_F(RedisOnlineStoreTest, ForeignValuesAreRefusedAndTheStoreKeepsWorking) {
  RawRedis raw(server_.port());
  ASSERT_TRUE(raw.ok());
  ASSERT_NE(raw.Command({"SET", RowKey(Key(1), "v"), "not a row"}), nullptr);
  ASSERT_NE(raw.Command({"SET", RowKey(Key(4), "v"), std::string("\x07later format", 13)}),
            nullptr);
  ASSERT_NE(raw.Command({"HSET", RowKey(Key(5), "v"), "f", "1"}), nullptr);

  absl::StatusOr<std::vector<ViewReadResult>> read =
      store_->ReadSync({MakeRead(Key(2), "v", {"f"}), MakeRead(Key(1), "v", {"f"})}, Deadline());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr("feature view 'v'"));
  read = store_->ReadSync({MakeRead(Key(4), "v", {"f"})}, Deadline());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr("format 7"));
  read = store_->ReadSync({MakeRead(Key(5), "v", {"f"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE((*read)[0].found);

  for (int id : {1, 4, 5}) {
    absl::StatusOr<WriteResult> write =
        store_->WriteSync({MakeWrite(Key(id), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline());
    ASSERT_FALSE(write.ok()) << id;
    EXPECT_EQ(write.status().code(), absl::StatusCode::kFailedPrecondition) << write.status();
    EXPECT_THAT(write.status().message(), HasSubstr(RowKey(Key(id), "v")));
  }
  RawRedis::Reply kept = raw.Command({"GET", RowKey(Key(1), "v")});
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(std::string(kept->str, kept->len), "not a row");

  absl::StatusOr<WriteResult> write;

  // The pipeline stayed in step: other keys still work.
  write = store_->WriteSync({MakeWrite(Key(3), "v", kT0, {{"f", Value::Int64(3)}})}, Deadline());
  ASSERT_TRUE(write.ok()) << write.status();
  read = store_->ReadSync({MakeRead(Key(3), "v", {"f"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(3));
}

TEST_F(RedisOnlineStoreTest, TruncatedRowIsDataLoss) {
  RawRedis raw(server_.port());
  ASSERT_TRUE(raw.ok());
  std::string row = MakeWrite(Key(1), "v", kT0, {{"f", Value::String("hello")}}).row;
  row.pop_back();
  ASSERT_NE(raw.Command({"SET", RowKey(Key(1), "v"), row}), nullptr);
  ASSERT_NE(raw.Command({"SET", RowKey(Key(2), "v"), std::string("\x01\x80", 2)}), nullptr);
  for (int id : {1, 2}) {
    absl::StatusOr<std::vector<ViewReadResult>> read =
        store_->ReadSync({MakeRead(Key(id), "v", {"f"})}, Deadline());
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << read.status();
    EXPECT_THAT(read.status().message(), HasSubstr(RowKey(Key(id), "v")));
  }
}

// A project whose data is in the layout before rows is refused, at the
// layout check and on every call, with the command that migrates it; so is
// an unknown layout. Serving resumes by itself once the layout key says 2.
TEST(RedisOnlineStore, RefusesAnotherLayoutUntilMigrated) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  RawRedis raw(server.port());
  ASSERT_TRUE(raw.ok());
  ASSERT_NE(raw.Command({"HSET", "shop:user_id=1", "#ts:v", "1", "v:f", "x"}), nullptr);
  ASSERT_NE(raw.Command({"SET", "other:{user_id=1}:v", "y"}), nullptr);  // another project

  std::unique_ptr<OnlineStore> store = NewStore(RedisConfig(server.port()));
  absl::Status check = store->CheckLayout(Deadline());
  EXPECT_EQ(check.code(), absl::StatusCode::kFailedPrecondition) << check;
  EXPECT_THAT(check.message(), HasSubstr("shop:user_id=1"));
  EXPECT_THAT(check.message(), HasSubstr("pantry online migrate"));
  absl::StatusOr<std::vector<ViewReadResult>> read =
      store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition) << read.status();
  absl::StatusOr<WriteResult> write =
      store->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline());
  EXPECT_EQ(write.status().code(), absl::StatusCode::kFailedPrecondition) << write.status();
  EXPECT_EQ(raw.Integer({"EXISTS", "shop:#layout"}), 0);

  // Another pantryd marks an unknown layout: still refused.
  ASSERT_NE(raw.Command({"DEL", "shop:user_id=1"}), nullptr);
  ASSERT_NE(raw.Command({"SET", "shop:#layout", "9"}), nullptr);
  check = store->CheckLayout(Deadline());
  EXPECT_EQ(check.code(), absl::StatusCode::kFailedPrecondition) << check;
  EXPECT_THAT(check.message(), HasSubstr("layout '9'"));

  ASSERT_NE(raw.Command({"SET", "shop:#layout", "2"}), nullptr);
  EXPECT_TRUE(store->CheckLayout(Deadline()).ok());
  absl::Status last;
  for (int attempt = 0; attempt < 100; ++attempt) {  // the recheck runs every 2 s
    read = store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
    last = read.status();
    if (read.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(last.ok()) << last;
}

TEST_F(RedisOnlineStoreTest, ScriptFlushedOnServerIsReloaded) {
  ASSERT_TRUE(
      store_->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline()).ok());
  RawRedis raw(server_.port());
  ASSERT_TRUE(raw.ok());
  ASSERT_NE(raw.Command({"SCRIPT", "FLUSH"}), nullptr);

  std::vector<ViewWrite> writes;
  for (int i = 0; i < 10; ++i) {
    writes.push_back(MakeWrite(Key(i), "v", kT0 + 1, {{"f", Value::Int64(i)}}));
  }
  absl::StatusOr<WriteResult> write = store_->WriteSync(writes, Deadline());
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->written, 10);
  absl::StatusOr<std::vector<ViewReadResult>> read =
      store_->ReadSync({MakeRead(Key(9), "v", {"f"})}, Deadline());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(ValueAt((*read)[0], 0), Value::Int64(9));
}

TEST(RedisOnlineStore, AuthAndSelectDbWhenConfigured) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  RawRedis raw(server.port());
  ASSERT_TRUE(raw.ok());
  ASSERT_NE(raw.Command({"CONFIG", "SET", "requirepass", "s3cret"}), nullptr);
  ASSERT_NE(raw.Command({"AUTH", "s3cret"}), nullptr);

  OnlineStoreConfig config = RedisConfig(server.port());
  config.password = "wrong-password";
  std::unique_ptr<OnlineStore> wrong = NewStore(config);
  absl::StatusOr<WriteResult> write =
      wrong->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline());
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.status().code(), absl::StatusCode::kUnavailable) << write.status();
  EXPECT_THAT(write.status().message(), HasSubstr("AUTH"));
  EXPECT_THAT(write.status().message(), ::testing::Not(HasSubstr("wrong-password")));

  config.password = "s3cret";
  config.db = 3;
  std::unique_ptr<OnlineStore> store = NewStore(config);
  write = store->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline());
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(raw.Integer({"EXISTS", RowKey(Key(1), "v")}), 0);  // not in db 0
  ASSERT_NE(raw.Command({"SELECT", "3"}), nullptr);
  EXPECT_EQ(raw.Integer({"EXISTS", RowKey(Key(1), "v")}), 1);
}

// The password kept out of the repository file: from pantryd's environment
// or a file of its own (its trailing newline not part of it).
TEST(RedisOnlineStore, APasswordFromTheEnvironmentOrAFile) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  RawRedis raw(server.port());
  ASSERT_TRUE(raw.ok());
  ASSERT_NE(raw.Command({"CONFIG", "SET", "requirepass", "s3cret"}), nullptr);
  testing::TempDir dir("pantry-redis-password");
  auto write_once = [](const OnlineStoreConfig& config) -> absl::Status {
    absl::StatusOr<std::unique_ptr<OnlineStore>> store = CreateOnlineStore(config, "shop");
    if (!store.ok()) return store.status();
    return (*store)
        ->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline())
        .status();
  };

  OnlineStoreConfig config = RedisConfig(server.port());
  config.password_env = "PANTRY_TEST_REDIS_PASSWORD";
  ::unsetenv("PANTRY_TEST_REDIS_PASSWORD");
  absl::Status status = write_once(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("PANTRY_TEST_REDIS_PASSWORD is not set"));
  ::setenv("PANTRY_TEST_REDIS_PASSWORD", "", 1);
  status = write_once(config);
  EXPECT_THAT(status.message(), HasSubstr("PANTRY_TEST_REDIS_PASSWORD is empty")) << status;
  ::setenv("PANTRY_TEST_REDIS_PASSWORD", "wrong", 1);
  status = write_once(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("AUTH"));
  ::setenv("PANTRY_TEST_REDIS_PASSWORD", "s3cret", 1);
  EXPECT_TRUE(write_once(config).ok()) << write_once(config);
  ::unsetenv("PANTRY_TEST_REDIS_PASSWORD");

  config.password_env.clear();
  config.password_file = (dir.path() / "redis.pass").string();
  status = write_once(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(),
              HasSubstr("online_store.password_file: cannot read password file '" +
                        config.password_file + "': No such file or directory"));
  testing::WriteFile(config.password_file, "\n");
  status = write_once(config);
  EXPECT_THAT(status.message(), HasSubstr("' is empty")) << status;
  // Neither waits for a writer nor reads without end.
  for (const std::string& odd : {(dir.path() / "fifo").string(), std::string("/dev/zero"),
                                 dir.path().string()}) {
    if (odd.ends_with("fifo")) {
      ASSERT_EQ(::mkfifo(odd.c_str(), 0600), 0);
    }
    OnlineStoreConfig c = config;
    c.password_file = odd;
    status = write_once(c);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("'" + odd + "' is not a regular file"));
  }
  testing::WriteFile(config.password_file, std::string(kMaxSecretFileBytes + 1, 'x'));
  status = write_once(config);
  EXPECT_THAT(status.message(), HasSubstr("bytes; a secret file holds the secret alone"))
      << status;
  testing::WriteFile(config.password_file, "s3cret\n");
  EXPECT_TRUE(write_once(config).ok()) << write_once(config);
  testing::WriteFile(config.password_file, "s3cret2\n");
  status = write_once(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("s3cret")));
}

TEST(RedisOnlineStore, TooManyPendingGivesResourceExhausted) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  OnlineStoreConfig config = RedisConfig(server.port());
  config.pool_size = 1;
  config.max_pending_requests = 1;
  std::unique_ptr<OnlineStore> store = NewStore(config);

  // The first call stays pending while its callback has not returned.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<absl::Status> first_status;
  store->Read({MakeRead(Key(1), "v", {"f"})}, Deadline(),
              [&, released](absl::StatusOr<std::vector<ViewReadResult>> read) {
                first_status.set_value(read.status());
                released.wait();
              });
  std::future<absl::Status> first = first_status.get_future();
  ASSERT_EQ(first.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());

  absl::StatusOr<std::vector<ViewReadResult>> second =
      store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted) << second.status();

  release.set_value();
  absl::StatusOr<std::vector<ViewReadResult>> third;
  for (int attempt = 0; attempt < 500; ++attempt) {
    third = store->ReadSync({MakeRead(Key(1), "v", {"f"})}, Deadline());
    if (third.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(RedisOnlineStore, CreateOnlineStoreBuildsRedisBackend) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<std::unique_ptr<OnlineStore>> store =
      CreateOnlineStore(RedisConfig(server.port()), "shop");
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)
                  ->WriteSync({MakeWrite(Key(1), "v", kT0, {{"f", Value::Int64(1)}})}, Deadline())
                  .ok());
  RawRedis raw(server.port());
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.Integer({"EXISTS", RowKey(Key(1), "v")}), 1);
}

}  // namespace
}  // namespace pantry
