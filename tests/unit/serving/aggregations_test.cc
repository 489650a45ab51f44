// Aggregation views online: events written to their entities' states in
// the (memory) online store, read back through OnlineServing at an
// injected clock, next to a plain view in one request.
#include "server/serving/aggregations.h"

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/online/memory_store.h"
#include "server/serving/online_serving.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;

constexpr Micros kMinute = 60 * kMicrosPerSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kT0 = 1767225600 * kMicrosPerSecond;

constexpr char kRepo[] = R"yaml(
project: test
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
sources:
  - name: txns
    path: txns
    timestamp_field: ts
    allowed_lateness: 10m
    schema:
      - {name: user_id, dtype: INT64}
      - {name: amount, dtype: DOUBLE}
feature_views:
  - name: txn
    entities: [user]
    source: txns
    aggregations:
      - {name: n_1h, function: count, window: 1h}
      - {name: amount_1d, function: sum, column: amount, window: 1d}
      - {name: last_amount, function: last, column: amount, window: 1d}
  - name: profile
    entities: [user]
    schema: [{name: age, dtype: INT64}]
on_demand_views:
  - name: risk
    inputs:
      request: [{name: amount, dtype: DOUBLE}]
      features: [txn:amount_1d, profile:age]
    features:
      - {name: ratio, dtype: DOUBLE, expr: "amount / txn.amount_1d"}
      - {name: adult, dtype: BOOL, expr: "profile.age >= 18"}
      - {name: size, dtype: STRING, expr: "if(amount > 100, 'big', 'small')"}
)yaml";

class AggregationsTest : public ::testing::Test {
 protected:
  AggregationsTest()
      : holder_(*ParseRegistry(kRepo, "repo.yaml", "/tmp")),
        store_(NewMemoryOnlineStore()),
        serving_(&holder_, store_.get(), [this] { return now_.load(); }) {}

  CheckedRow Event(int64_t user, Micros t, std::optional<double> amount) {
    return {{Value::Int64(user)},
            {amount ? Value::Double(*amount) : Value::Null(ValueType::kDouble)},
            t};
  }
  absl::StatusOr<AggregationWriteResult> Push(std::vector<CheckedRow> rows) {
    auto registry = holder_.Get();
    return WriteAggregationEvents(store_.get(), *registry, *registry->FindFeatureView("txn"), rows,
                                  now_.load(), NowMicros() + 10 * kMicrosPerSecond);
  }
  absl::StatusOr<OnlineFeaturesResponse> Get(std::vector<std::string> refs,
                                             std::vector<Value> users) {
    OnlineFeaturesRequest req;
    req.feature_refs = std::move(refs);
    req.entities = {{"user_id", std::move(users)}};
    absl::StatusOr<OnlineFeaturesResponse> out = absl::UnknownError("no callback");
    serving_.GetOnlineFeatures(std::move(req), NowMicros() + 10 * kMicrosPerSecond,
                               [&](absl::StatusOr<OnlineFeaturesResponse> r) { out = std::move(r); });
    return out;
  }

  std::atomic<Micros> now_{kT0};
  RegistryHolder holder_;
  std::unique_ptr<OnlineStore> store_;
  OnlineServing serving_;
};

TEST_F(AggregationsTest, ReadsAggregateTheWindowAtTheClock) {
  now_ = kT0 + 2 * kHour;
  auto w = Push({Event(1, kT0 + 30 * kMinute, 10), Event(1, kT0 + 90 * kMinute, 5),
                 Event(1, kT0 + 90 * kMinute, 5), Event(1, kT0 + 100 * kMinute, std::nullopt),
                 Event(2, kT0, 1)});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->applied, 4);
  EXPECT_EQ(w->duplicate, 1);
  auto r = Get({"txn:n_1h", "txn:amount_1d", "txn:last_amount", "profile:age"},
               {Value::Int64(1), Value::Int64(2), Value::Int64(3)});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->columns.size(), 4u);
  // 1h with 5m hops at 2:00 starts at 1:00: the events at 1:30 and 1:40.
  EXPECT_EQ(r->columns[0].values[0], Value::Int64(2));
  EXPECT_EQ(r->columns[0].statuses[0], FieldStatus::kPresent);
  EXPECT_EQ(r->columns[1].values[0], Value::Double(15));
  EXPECT_EQ(r->columns[2].values[0], Value::Double(5));  // the null at 1:40 is ignored
  EXPECT_EQ(r->columns[0].values[1], Value::Int64(0));
  EXPECT_EQ(r->columns[1].values[1], Value::Double(1));
  // No events at all: a count of 0, nulls.
  EXPECT_EQ(r->columns[0].values[2], Value::Int64(0));
  EXPECT_EQ(r->columns[1].statuses[2], FieldStatus::kNullValue);
  EXPECT_EQ(r->columns[3].statuses[0], FieldStatus::kNotFound);
  // An hour later the 1:30 and 1:40 events have left the hour.
  now_ = kT0 + 3 * kHour;
  r = Get({"txn:n_1h"}, {Value::Int64(1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns[0].values[0], Value::Int64(0));
}

TEST_F(AggregationsTest, LateEventsDoNotTouchTheState) {
  now_ = kT0 + 2 * kHour;
  ASSERT_TRUE(Push({Event(1, kT0 + 2 * kHour, 1)}).ok());
  auto w = Push({Event(1, kT0 + 2 * kHour - 11 * kMinute, 100),
                 Event(1, kT0 + 2 * kHour - 9 * kMinute, 10)});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->late, 1);  // more than the 10m allowed lateness behind
  EXPECT_EQ(w->applied, 1);
  auto r = Get({"txn:amount_1d"}, {Value::Int64(1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns[0].values[0], Value::Double(11));
}

TEST_F(AggregationsTest, ConcurrentWritersLoseNoEvent) {
  now_ = kT0 + kHour;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        if (!Push({Event(1, kT0 + w * 50 + i, 1)}).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto r = Get({"txn:amount_1d"}, {Value::Int64(1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns[0].values[0], Value::Double(200));
}

TEST_F(AggregationsTest, FeaturesOfAnAggregationViewAreNotWrittenDirectly) {
  absl::Status status;
  serving_.WriteOnlineFeatures("txn", {{{{"user_id", Value::Int64(1)}}, kT0}},
                               NowMicros() + kMicrosPerSecond,
                               [&](absl::StatusOr<WriteResult> r) { status = r.status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is an aggregation view"));
}

TEST_F(AggregationsTest, OnDemandFeaturesComputeFromRequestDataAndFeatures) {
  now_ = kT0 + kHour;
  ASSERT_TRUE(Push({Event(1, kT0 + 10 * kMinute, 50)}).ok());
  auto registry = holder_.Get();
  ASSERT_NE(registry->FindOnDemandView("risk"), nullptr);
  OnlineFeaturesRequest req;
  req.feature_refs = {"risk:*", "txn:n_1h"};
  req.entities = {{"user_id", {Value::Int64(1), Value::Int64(2)}}};
  req.request_data = {{"amount", {Value::Int64(150), Value::Null(ValueType::kDouble)}}};
  absl::StatusOr<OnlineFeaturesResponse> out = absl::UnknownError("no callback");
  serving_.GetOnlineFeatures(req, NowMicros() + 10 * kMicrosPerSecond,
                             [&](absl::StatusOr<OnlineFeaturesResponse> r) { out = std::move(r); });
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Only what was asked: the inputs read for the expressions are not shown.
  ASSERT_EQ(out->columns.size(), 4u);
  EXPECT_EQ(out->columns[0].name, "ratio");
  EXPECT_EQ(out->columns[0].values[0], Value::Double(3));  // 150 / 50
  EXPECT_EQ(out->columns[0].statuses[1], FieldStatus::kNullValue);  // null amount, no events
  EXPECT_EQ(out->columns[1].statuses[0], FieldStatus::kNullValue);  // no profile: age null
  EXPECT_EQ(out->columns[2].values[0], Value::String("big"));
  EXPECT_EQ(out->columns[2].values[1], Value::String("small"));  // if(null) takes the else
  EXPECT_EQ(out->columns[3].name, "n_1h");
  EXPECT_EQ(out->columns[3].values[0], Value::Int64(1));

  req.request_data.clear();
  serving_.GetOnlineFeatures(req, NowMicros() + 10 * kMicrosPerSecond,
                             [&](absl::StatusOr<OnlineFeaturesResponse> r) { out = std::move(r); });
  EXPECT_THAT(out.status().message(), HasSubstr("needs request data 'amount' (DOUBLE)"));
  req.request_data = {{"amount", {Value::Double(1), Value::Double(2)}},
                      {"amuont", {Value::Double(1), Value::Double(2)}}};
  serving_.GetOnlineFeatures(req, NowMicros() + 10 * kMicrosPerSecond,
                             [&](absl::StatusOr<OnlineFeaturesResponse> r) { out = std::move(r); });
  EXPECT_THAT(out.status().message(), HasSubstr("request data 'amuont' is not read"));
  req.request_data = {{"amount", {Value::String("x"), Value::Double(2)}}};
  serving_.GetOnlineFeatures(req, NowMicros() + 10 * kMicrosPerSecond,
                             [&](absl::StatusOr<OnlineFeaturesResponse> r) { out = std::move(r); });
  EXPECT_THAT(out.status().message(), HasSubstr("expects DOUBLE, got STRING"));
}

TEST(OnDemandRegistry, MistakesAreNamedWithFileAndLine) {
  auto parse = [](const std::string& extra) {
    return ParseRegistry(std::string(kRepo).substr(0, std::string(kRepo).find("on_demand_views:")) +
                             "on_demand_views:\n  - name: odv\n    inputs:\n      request: [{name: "
                             "amount, dtype: DOUBLE}]\n      features: [txn:amount_1d]\n    "
                             "features:\n" + extra,
                         "repo.yaml", "/tmp");
  };
  auto r = parse("      - {name: f, dtype: DOUBLE, expr: \"amount / txn.amount_1d\"}\n");
  ASSERT_TRUE(r.ok()) << r.status();
  r = parse("      - {name: f, dtype: DOUBLE, expr: \"amount / txn.amount_2d\"}\n");
  EXPECT_THAT(r.status().message(), HasSubstr("repo.yaml:30:40: on_demand_views[0].features[0].expr: column "));
  EXPECT_THAT(r.status().message(), HasSubstr("txn.amount_2d"));
  r = parse("      - {name: f, dtype: INT64, expr: \"amount * 2\"}\n");
  EXPECT_THAT(r.status().message(), HasSubstr("features[0].expr"));
  r = parse("      - {name: f, dtype: DOUBLE, expr: \"amount +\"}\n");
  EXPECT_THAT(r.status().message(), HasSubstr("column "));
}

}  // namespace
}  // namespace pantry
