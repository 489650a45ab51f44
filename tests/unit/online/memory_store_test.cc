#include "server/online/memory_store.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "server/value/encoding.h"

namespace pantry {
namespace {

ViewWrite MakeWrite(const std::string& key, Micros t, int64_t v, Micros online_ttl = 0) {
  return MakeViewWrite(key, "v", t, {{"f", EncodeValue(Value::Int64(v))}}, online_ttl);
}

int64_t ReadF(OnlineStore& store, const std::string& key) {
  auto r = store.ReadSync({MakeViewRead(key, "v", {"f"})}, kNoTimestamp);
  EXPECT_TRUE(r.ok());
  if (!r.ok() || !(*r)[0].values[0]) return -1;
  return DecodeValue(*(*r)[0].values[0])->get<int64_t>();
}

TEST(MemoryOnlineStore, OlderWriteDoesNotReplaceNewer) {
  auto store = NewMemoryOnlineStore();
  auto w = store->WriteSync({MakeWrite("p:k=1", 200, 2)}, kNoTimestamp);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->written, 1);
  w = store->WriteSync({MakeWrite("p:k=1", 100, 1), MakeWrite("p:k=1", 200, 3)}, kNoTimestamp);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->written, 0);
  EXPECT_EQ(w->skipped_older, 2);
  EXPECT_EQ(ReadF(*store, "p:k=1"), 2);
  ASSERT_TRUE(store->WriteSync({MakeWrite("p:k=1", 300, 4)}, kNoTimestamp).ok());
  EXPECT_EQ(ReadF(*store, "p:k=1"), 4);
}

TEST(MemoryOnlineStore, MissingKeyIsNotFound) {
  auto store = NewMemoryOnlineStore();
  auto r = store->ReadSync({MakeViewRead("p:k=9", "v", {"f", "g"})}, kNoTimestamp);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)[0].found);
  ASSERT_EQ((*r)[0].values.size(), 2u);
  EXPECT_FALSE((*r)[0].values[0].has_value());
}

TEST(MemoryOnlineStore, ViewsOfOneKeyKeepTheirOwnTimes) {
  auto store = NewMemoryOnlineStore();
  ViewWrite a = MakeWrite("p:{k=1}:v", 500, 1);
  ViewWrite b = MakeWrite("p:{k=1}:other", 100, 2);
  ASSERT_TRUE(store->WriteSync({a, b}, kNoTimestamp).ok());
  auto r = store->ReadSync(
      {MakeViewRead("p:{k=1}:v", "v", {"f"}), MakeViewRead("p:{k=1}:other", "other", {"f"})},
      kNoTimestamp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].event_time, 500);
  EXPECT_EQ((*r)[1].event_time, 100);
}

TEST(MemoryOnlineStore, PastDeadlineIsDeadlineExceeded) {
  auto store = NewMemoryOnlineStore();
  auto r = store->ReadSync({MakeViewRead("p:k=1", "v", {"f"})}, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(OnlineKey, SortedKeysAndEscapedStrings) {
  std::vector<JoinKey> keys = {{"merchant_id", ValueType::kString}, {"user_id", ValueType::kInt64}};
  Value m = Value::String("a,b=c:d%e f");
  Value u = Value::Int64(-42);
  EXPECT_EQ(OnlineKey("fraud", "risk", keys, {&m, &u}),
            "fraud:{merchant_id=a%2Cb%3Dc%3Ad%25e%20f,user_id=-42}:risk");
  // Braces are escaped too: the hash tag is the whole entity.
  Value braces = Value::String("{x}");
  EXPECT_EQ(OnlineKey("fraud", "risk", keys, {&braces, &u}),
            "fraud:{merchant_id=%7Bx%7D,user_id=-42}:risk");
}

TEST(OnlineKey, DistinctValuesNeverShareAKey) {
  std::vector<JoinKey> keys = {{"a", ValueType::kString}, {"b", ValueType::kString}};
  Value x1 = Value::String("1,b=2"), y1 = Value::String("3");
  Value x2 = Value::String("1"), y2 = Value::String("2,b=3");
  EXPECT_NE(OnlineKey("p", "v", keys, {&x1, &y1}), OnlineKey("p", "v", keys, {&x2, &y2}));
}

TEST(MemoryOnlineStore, RowsExpireAfterTheirOnlineTtl) {
  auto store = NewMemoryOnlineStore();
  ASSERT_TRUE(store->WriteSync({MakeWrite("p:{k=1}:v", 100, 1, 1)}, kNoTimestamp).ok());
  ASSERT_TRUE(store->WriteSync({MakeWrite("p:{k=2}:v", 100, 2)}, kNoTimestamp).ok());
  ASSERT_TRUE(
      store->WriteSync({MakeWrite("p:{k=3}:v", 100, 3, 3600 * kMicrosPerSecond)}, kNoTimestamp)
          .ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(ReadF(*store, "p:{k=1}:v"), -1);
  EXPECT_EQ(ReadF(*store, "p:{k=2}:v"), 2);
  EXPECT_EQ(ReadF(*store, "p:{k=3}:v"), 3);
  // An expired row no longer decides newer-wins.
  auto w = store->WriteSync({MakeWrite("p:{k=1}:v", 50, 4)}, kNoTimestamp);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->written, 1);
  EXPECT_EQ(ReadF(*store, "p:{k=1}:v"), 4);
}

TEST(MemoryOnlineStore, WriteWithoutARowIsInvalidArgument) {
  auto store = NewMemoryOnlineStore();
  ViewWrite w;
  w.key = "p:{k=1}:v";
  w.view = "v";
  w.row = "x";
  auto r = store->WriteSync({w}, kNoTimestamp);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pantry
