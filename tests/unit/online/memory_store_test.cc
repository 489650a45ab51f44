#include "server/online/memory_store.h"

#include "gtest/gtest.h"
#include "server/value/encoding.h"

namespace pantry {
namespace {

ViewWrite MakeWrite(const std::string& key, Micros t, int64_t v) {
  ViewWrite w;
  w.key = key;
  w.view = "v";
  w.event_time = t;
  w.values = {{"f", EncodeValue(Value::Int64(v))}};
  return w;
}

int64_t ReadF(OnlineStore& store, const std::string& key) {
  auto r = store.ReadSync({ViewRead{key, "v", {"f"}}}, kNoTimestamp);
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
  auto r = store->ReadSync({ViewRead{"p:k=9", "v", {"f", "g"}}}, kNoTimestamp);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)[0].found);
  ASSERT_EQ((*r)[0].values.size(), 2u);
  EXPECT_FALSE((*r)[0].values[0].has_value());
}

TEST(MemoryOnlineStore, ViewsOfOneKeyKeepTheirOwnTimes) {
  auto store = NewMemoryOnlineStore();
  ViewWrite a = MakeWrite("p:k=1", 500, 1);
  ViewWrite b = MakeWrite("p:k=1", 100, 2);
  b.view = "other";
  ASSERT_TRUE(store->WriteSync({a, b}, kNoTimestamp).ok());
  auto r = store->ReadSync({ViewRead{"p:k=1", "v", {"f"}}, ViewRead{"p:k=1", "other", {"f"}}},
                           kNoTimestamp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].event_time, 500);
  EXPECT_EQ((*r)[1].event_time, 100);
}

TEST(MemoryOnlineStore, PastDeadlineIsDeadlineExceeded) {
  auto store = NewMemoryOnlineStore();
  auto r = store->ReadSync({ViewRead{"p:k=1", "v", {"f"}}}, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(OnlineKey, SortedKeysAndEscapedStrings) {
  std::vector<JoinKey> keys = {{"merchant_id", ValueType::kString}, {"user_id", ValueType::kInt64}};
  Value m = Value::String("a,b=c:d%e f");
  Value u = Value::Int64(-42);
  EXPECT_EQ(OnlineKey("fraud", keys, {&m, &u}),
            "fraud:merchant_id=a%2Cb%3Dc%3Ad%25e%20f,user_id=-42");
}

TEST(OnlineKey, DistinctValuesNeverShareAKey) {
  std::vector<JoinKey> keys = {{"a", ValueType::kString}, {"b", ValueType::kString}};
  Value x1 = Value::String("1,b=2"), y1 = Value::String("3");
  Value x2 = Value::String("1"), y2 = Value::String("2,b=3");
  EXPECT_NE(OnlineKey("p", keys, {&x1, &y1}), OnlineKey("p", keys, {&x2, &y2}));
}

}  // namespace
}  // namespace pantry
