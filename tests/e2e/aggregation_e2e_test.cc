// Aggregation views end to end: the real pantryd with a Redis-less (memory)
// online store. Raw events pushed with the CLI are aggregated online; a late
// event is kept out online but lands offline; `pantry aggregate heal` brings
// it in; a point-in-time join gives the same values as the online store.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pantry/client.h"
#include "server/common/time.h"
#include "server/offline/columns.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "tests/support/e2e.h"

namespace pantry {
namespace {

namespace fs = std::filesystem;
using ::pantry::testing::BinDir;
using ::pantry::testing::Daemon;
using ::pantry::testing::Result;
using ::pantry::testing::WriteFile;
using ::testing::HasSubstr;

constexpr Micros kMinute = 60 * kMicrosPerSecond;

class AggregationE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    WriteFile(root_ / "repo.yaml",
              "project: agg\n"
              "online_store: {type: memory}\n"
              "offline_store: {path: offline}\n"
              "entities:\n"
              "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
              "sources:\n"
              "  - name: txns\n"
              "    type: push\n"
              "    timestamp_field: ts\n"
              "    allowed_lateness: 10m\n"
              "    schema:\n"
              "      - {name: user_id, dtype: INT64}\n"
              "      - {name: amount, dtype: DOUBLE}\n"
              "      - {name: merchant, dtype: STRING}\n"
              "feature_views:\n"
              "  - name: txn\n"
              "    entities: [user]\n"
              "    source: txns\n"
              "    aggregations:\n"
              "      - {name: n_1h, function: count, window: 1h}\n"
              "      - {name: amount_1d, function: sum, column: amount, window: 1d}\n"
              "      - {name: last_merchant, function: last, column: merchant, window: 1d}\n"
              "on_demand_views:\n"
              "  - name: risk\n"
              "    inputs: {request: [{name: amount, dtype: DOUBLE}], features: [txn:amount_1d]}\n"
              "    features:\n"
              "      - {name: ratio, dtype: DOUBLE, expr: \"amount / txn.amount_1d\"}\n");
    daemon_ = std::make_unique<Daemon>(root_ / "repo.yaml", root_ / "state",
                                       std::vector<std::string>{"--compact-seconds", "0.2"});
    daemon_->Start();
    ClientOptions options;
    options.address = daemon_->address();
    client_ = Client::Create(options);
  }

  Result Pantry(const std::string& args) {
    return ::pantry::testing::RunCommand(
        BinDir() + "/pantry --server " + daemon_->address() + " " + args, root_);
  }

  std::vector<Value> Online(int64_t user) {
    OnlineQuery q;
    q.features = {"txn:n_1h", "txn:amount_1d", "txn:last_merchant"};
    q.entities = {{"user_id", {Value::Int64(user)}}};
    absl::StatusOr<OnlineFeatures> online = client_->GetOnlineFeatures(q);
    EXPECT_TRUE(online.ok()) << online.status();
    std::vector<Value> out;
    if (!online.ok()) return out;
    for (const auto& column : online->columns) out.push_back(column[0].value);
    return out;
  }

  std::string EventLine(int64_t user, Micros t, double amount, const std::string& merchant) {
    return absl::StrCat("{\"user_id\": ", user, ", \"amount\": ", amount, ", \"merchant\": \"",
                        merchant, "\", \"event_timestamp\": \"", FormatRfc3339(t), "\"}\n");
  }

  ::pantry::testing::TempDir dir_{"pantry-agg-e2e"};
  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(AggregationE2E, PushedEventsAggregateAndAHealBringsInTheLateOnes) {
  const Micros now = NowMicros();
  WriteFile(root_ / "events.jsonl", EventLine(1, now - 30 * kMinute, 10, "acme") +
                                        EventLine(1, now - 20 * kMinute, 5, "bolt") +
                                        EventLine(1, now - 20 * kMinute, 5, "bolt") +  // again
                                        EventLine(2, now - 2 * 60 * kMinute, 1, "cafe"));
  Result r = Pantry("push --view txn --file " + (root_ / "events.jsonl").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Online(1), (std::vector<Value>{Value::Int64(2), Value::Double(15),
                                            Value::String("bolt")}));
  EXPECT_EQ(Online(2), (std::vector<Value>{Value::Int64(0), Value::Double(1),
                                            Value::String("cafe")}));

  // Late: 25 minutes before user 1's newest event, with 10m allowed.
  WriteFile(root_ / "late.jsonl", EventLine(1, now - 45 * kMinute, 100, "deli"));
  r = Pantry("push --view txn --file " + (root_ / "late.jsonl").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Online(1)[1], Value::Double(15));

  // A column the source's schema lacks is named.
  WriteFile(root_ / "bad.jsonl", "{\"user_id\": 1, \"amount\": 1, \"merchant\": \"x\", "
                                 "\"tip\": 2, \"event_timestamp\": \"2026-01-01T00:00:00Z\"}\n");
  r = Pantry("push --view txn --file " + (root_ / "bad.jsonl").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("tip"));

  // The heal compacts the log and rebuilds the states from the history.
  r = Pantry("aggregate heal --views txn --wait");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("SUCCEEDED")) << r.out;
  EXPECT_EQ(Online(1), (std::vector<Value>{Value::Int64(3), Value::Double(115),
                                            Value::String("bolt")}));
  // An on-demand feature over it, with request data, from the CLI.
  r = Pantry("get-online --features risk:ratio --entity user_id=1,amount=230 -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"risk:ratio\":2.0"));
  r = Pantry("get-online --features risk:ratio --entity user_id=1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("needs request data 'amount'"));
  r = Pantry("describe risk");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("on-demand view risk"));
  EXPECT_THAT(r.out, HasSubstr("amount / txn.amount_1d"));
  EXPECT_THAT(r.out, HasSubstr("txn:amount_1d"));
  r = Pantry("describe risk -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"request\":[{\"dtype\":\"DOUBLE\",\"name\":\"amount\"}]"));
  r = Pantry("describe nothing_of_that_name");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("no feature view, on-demand view or feature service named"));
  r = Pantry("aggregate heal --views risk");
  EXPECT_NE(r.exit_code, 0);
  r = Pantry("aggregate heal --views nope");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("unknown feature view 'nope'"));

  // The point-in-time join at the same time agrees with the online store.
  {
    const std::vector<parquet::ColumnSpec> specs = {
        offline::OutputSpec("user_id", ValueType::kInt64),
        offline::OutputSpec("event_timestamp", ValueType::kUnixTimestamp)};
    auto writer = parquet::FileWriter::Create((root_ / "entities.parquet").string(), specs, {});
    ASSERT_TRUE(writer.ok());
    std::vector<parquet::ColumnData> batch(2);
    offline::AppendOutputValue(Value::Int64(1), &batch[0]);
    offline::AppendOutputValue(Value::UnixTimestamp(now), &batch[1]);
    ASSERT_TRUE((*writer)->Write(batch, 1).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }
  HistoricalQuery q;
  q.features = {"txn:*"};
  q.entities_path = (root_ / "entities.parquet").string();
  q.output_path = (root_ / "out.parquet").string();
  auto result = client_->GetHistoricalFeatures(q);
  ASSERT_TRUE(result.ok()) << result.status();
  auto reader = parquet::FileReader::Open(q.output_path);
  ASSERT_TRUE(reader.ok());
  const auto& columns = (*reader)->schema().columns();
  ASSERT_EQ(columns.size(), 5u);
  std::vector<parquet::ColumnData> data(5);
  for (int c = 2; c < 5; ++c) ASSERT_TRUE((*reader)->ReadColumn(0, c, &data[c]).ok());
  EXPECT_EQ(offline::RowValues(columns[2], data[2], ValueType::kInt64).Get(0), Value::Int64(3));
  EXPECT_EQ(offline::RowValues(columns[3], data[3], ValueType::kDouble).Get(0), Value::Double(115));
  EXPECT_EQ(offline::RowValues(columns[4], data[4], ValueType::kString).Get(0),
            Value::String("bolt"));
}

}  // namespace
}  // namespace pantry
