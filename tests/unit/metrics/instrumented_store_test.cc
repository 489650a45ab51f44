// InstrumentedOnlineStore: every call reaches the wrapped store unchanged
// and is counted, timed and shown pending until it is answered.
#include "server/metrics/instrumented_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/metrics/metrics.h"
#include "server/online/memory_store.h"
#include "server/value/encoding.h"
#include "tests/support/metrics_text.h"

namespace pantry {
namespace {

using ::pantry::testing::SeriesValue;

// Holds every callback until the test answers it.
class HeldStore : public OnlineStore {
 public:
  void Read(std::vector<ViewRead>, Micros, ReadCallback done) override {
    reads.push_back(std::move(done));
  }
  void Write(std::vector<ViewWrite>, Micros, WriteCallback done) override {
    writes.push_back(std::move(done));
  }
  absl::Status CheckLayout(Micros) override { return absl::OkStatus(); }
  std::vector<ReadCallback> reads;
  std::vector<WriteCallback> writes;
};

class InstrumentedStore : public ::testing::Test {
 protected:
  void SetUp() override {
    auto metrics = Metrics::Create({});
    ASSERT_TRUE(metrics.ok());
    metrics_ = *std::move(metrics);
  }
  double Value(const std::string& series) {
    return SeriesValue(metrics_->TextExposition(), series).value_or(-1);
  }
  std::unique_ptr<Metrics> metrics_;
};

TEST_F(InstrumentedStore, ReadsAndWritesPassThroughAndAreCounted) {
  std::unique_ptr<OnlineStore> memory = NewMemoryOnlineStore();
  InstrumentedOnlineStore store(memory.get(), metrics_->online_store());
  const Micros deadline = NowMicros() + 10 * kMicrosPerSecond;
  const std::string x = EncodeValue(pantry::Value::String("x"));
  const std::string y = EncodeValue(pantry::Value::String("y"));
  auto wrote = store.WriteSync({MakeViewWrite("p:{k=1}:v", "v", 100, {{"f", x}}),
                                MakeViewWrite("p:{k=2}:v", "v", 100, {{"f", y}})},
                               deadline);
  ASSERT_TRUE(wrote.ok());
  EXPECT_EQ(wrote->written, 2);
  wrote = store.WriteSync({MakeViewWrite("p:{k=1}:v", "v", 50, {{"f", y}})}, deadline);
  ASSERT_TRUE(wrote.ok());
  EXPECT_EQ(wrote->skipped_older, 1);
  auto read = store.ReadSync(
      {MakeViewRead("p:{k=1}:v", "v", {"f"}), MakeViewRead("p:{k=3}:v", "v", {"f"})}, deadline);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].values[0], x);
  EXPECT_FALSE((*read)[1].found);

  EXPECT_EQ(Value("pantry_online_store_operations_total{op=\"write\",outcome=\"ok\"}"), 2);
  EXPECT_EQ(Value("pantry_online_store_operations_total{op=\"read\",outcome=\"ok\"}"), 1);
  EXPECT_EQ(Value("pantry_online_store_keys_total{op=\"write\"}"), 3);
  EXPECT_EQ(Value("pantry_online_store_keys_total{op=\"read\"}"), 2);
  EXPECT_EQ(Value("pantry_online_store_writes_total{result=\"written\"}"), 2);
  EXPECT_EQ(Value("pantry_online_store_writes_total{result=\"skipped_older\"}"), 1);
  EXPECT_EQ(Value("pantry_online_store_operation_duration_seconds_count{op=\"read\"}"), 1);
  EXPECT_EQ(Value("pantry_online_store_pending_requests"), 0);
}

TEST_F(InstrumentedStore, CallsArePendingUntilAnsweredAndErrorsAreCountedByCode) {
  HeldStore held;
  InstrumentedOnlineStore store(&held, metrics_->online_store());
  absl::Status read_status;
  store.Read({MakeViewRead("k", "v", {"f"})}, 0, [&](auto result) { read_status = result.status(); });
  bool write_answered = false;
  store.Write({}, 0, [&](auto result) { write_answered = result.ok(); });
  EXPECT_EQ(Value("pantry_online_store_pending_requests"), 2);

  ASSERT_EQ(held.reads.size(), 1u);
  held.reads[0](absl::DeadlineExceededError("too slow"));
  EXPECT_TRUE(absl::IsDeadlineExceeded(read_status));
  EXPECT_EQ(Value("pantry_online_store_pending_requests"), 1);
  EXPECT_EQ(Value("pantry_online_store_errors_total{code=\"DEADLINE_EXCEEDED\",op=\"read\"}"), 1);
  EXPECT_EQ(Value("pantry_online_store_operations_total{op=\"read\",outcome=\"error\"}"), 1);

  ASSERT_EQ(held.writes.size(), 1u);
  held.writes[0](WriteResult{});
  EXPECT_TRUE(write_answered);
  EXPECT_EQ(Value("pantry_online_store_pending_requests"), 0);
}

}  // namespace
}  // namespace pantry
