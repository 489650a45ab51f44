#include "server/serving/online_serving.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/online/memory_store.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;

constexpr char kRepo[] = R"(
project: test
serving: {max_entities_per_request: 3}
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
  - {name: merchant, join_keys: [merchant_id], value_type: STRING}
feature_views:
  - name: user_stats
    entities: [user]
    ttl: 1h
    schema:
      - {name: count, dtype: INT64}
      - {name: score, dtype: DOUBLE}
  - name: merchant_stats
    entities: [merchant]
    ttl: 0
    schema:
      - {name: count, dtype: INT32}
  - name: offline_only
    entities: [user]
    online: false
    schema:
      - {name: x, dtype: INT64}
feature_services:
  - {name: svc, features: ["user_stats:*", merchant_stats:count]}
)";

class OnlineServingTest : public ::testing::Test {
 protected:
  OnlineServingTest()
      : holder_(*ParseRegistry(kRepo, "repo.yaml", "/tmp")),
        store_(NewMemoryOnlineStore()),
        serving_(&holder_, store_.get()) {}

  absl::StatusOr<OnlineFeaturesResponse> Get(OnlineFeaturesRequest req) {
    absl::StatusOr<OnlineFeaturesResponse> out = absl::UnknownError("no callback");
    serving_.GetOnlineFeatures(std::move(req), NowMicros() + 10'000'000,
                               [&](absl::StatusOr<OnlineFeaturesResponse> r) { out = std::move(r); });
    return out;
  }
  absl::StatusOr<WriteResult> Write(const std::string& view, std::vector<WriteRowInput> rows) {
    absl::StatusOr<WriteResult> out = absl::UnknownError("no callback");
    serving_.WriteOnlineFeatures(view, std::move(rows), NowMicros() + 10'000'000,
                                 [&](absl::StatusOr<WriteResult> r) { out = std::move(r); });
    return out;
  }
  WriteRowInput UserRow(int64_t id, Value count, double score, Micros t) {
    return {{{"user_id", Value::Int64(id)}, {"count", std::move(count)}, {"score", Value::Double(score)}}, t};
  }

  RegistryHolder holder_;
  std::unique_ptr<OnlineStore> store_;
  OnlineServing serving_;
};

TEST_F(OnlineServingTest, StatusesCoverPresentNullMissingAndStale) {
  const Micros now = NowMicros();
  ASSERT_TRUE(Write("user_stats", {UserRow(1, Value::Int64(7), 0.5, now - 1'000'000),
                                   UserRow(2, Value::Null(ValueType::kInt64), 1.5, now - 1'000'000),
                                   UserRow(3, Value::Int64(9), 2.5, now - 7200'000'000LL)})
                  .ok());
  OnlineFeaturesRequest req;
  req.feature_refs = {"user_stats:count"};
  req.entities = {{"user_id", {Value::Int64(1), Value::Int64(2), Value::Int64(3)}}};
  auto r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->columns.size(), 1u);
  const FeatureColumn& c = r->columns[0];
  EXPECT_EQ(c.name, "count");
  EXPECT_EQ(c.statuses[0], FieldStatus::kPresent);
  EXPECT_EQ(c.values[0], Value::Int64(7));
  EXPECT_EQ(c.event_times[0], now - 1'000'000);
  EXPECT_EQ(c.statuses[1], FieldStatus::kNullValue);
  EXPECT_TRUE(c.values[1].is_null());
  EXPECT_EQ(c.statuses[2], FieldStatus::kOutsideMaxAge);
  EXPECT_TRUE(c.values[2].is_null());

  req.entities = {{"user_id", {Value::Int64(99)}}};
  r = Get(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns[0].statuses[0], FieldStatus::kNotFound);
  EXPECT_EQ(r->columns[0].event_times[0], kNoTimestamp);
}

TEST_F(OnlineServingTest, ServiceReadsTwoEntityTypesAndNamesClash) {
  const Micros now = NowMicros();
  ASSERT_TRUE(Write("user_stats", {UserRow(1, Value::Int64(7), 0.5, now)}).ok());
  ASSERT_TRUE(Write("merchant_stats", {{{{"merchant_id", Value::String("m")}, {"count", Value::Int32(3)}}, 5}}).ok());
  OnlineFeaturesRequest req;
  req.feature_service = "svc";
  req.entities = {{"user_id", {Value::Int32(1)}}, {"merchant_id", {Value::String("m")}}};
  auto clash = Get(req);
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(clash.status().message(), HasSubstr("full_feature_names"));
  req.full_feature_names = true;
  auto r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->columns.size(), 3u);
  EXPECT_EQ(r->columns[0].name, "user_stats__count");
  EXPECT_EQ(r->columns[2].name, "merchant_stats__count");
  EXPECT_EQ(r->columns[2].values[0], Value::Int32(3));
  EXPECT_EQ(r->columns[2].statuses[0], FieldStatus::kPresent);  // ttl 0: never stale
}

TEST_F(OnlineServingTest, BadRequestsNameWhatIsWrong) {
  OnlineFeaturesRequest req;
  req.feature_refs = {"user_stats:nope"};
  req.entities = {{"user_id", {Value::Int64(1)}}};
  EXPECT_THAT(Get(req).status().message(), HasSubstr("nope"));

  req.feature_refs = {"user_stats:count"};
  req.entities = {{"user_id", {Value::String("1")}}};
  auto wrong = Get(req);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("expects INT64"));

  req.entities = {{"merchant_id", {Value::String("m")}}};
  EXPECT_THAT(Get(req).status().message(), HasSubstr("missing join key 'user_id'"));

  req.entities = {{"user_id", {Value::Int64(1), Value::Int64(2), Value::Int64(3), Value::Int64(4)}}};
  EXPECT_THAT(Get(req).status().message(), HasSubstr("max_entities_per_request"));

  req.entities = {{"user_id", {}}};
  EXPECT_EQ(Get(req).status().code(), absl::StatusCode::kInvalidArgument);

  req.entities = {{"user_id", {Value::Int64(1)}}, {"extra", {Value::Int64(1)}}};
  EXPECT_THAT(Get(req).status().message(), HasSubstr("'extra'"));

  req.feature_refs = {"offline_only:x"};
  req.entities = {{"user_id", {Value::Int64(1)}}};
  EXPECT_THAT(Get(req).status().message(), HasSubstr("not online"));

  req.feature_refs = {};
  EXPECT_EQ(Get(req).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(OnlineServingTest, BadWritesChangeNothing) {
  const Micros now = NowMicros();
  auto missing = Write("user_stats", {UserRow(1, Value::Int64(1), 1, now),
                                      {{{"user_id", Value::Int64(2)}, {"count", Value::Int64(1)}}, now}});
  EXPECT_THAT(missing.status().message(), HasSubstr("row 2: missing feature 'score'"));
  auto typed = Write("user_stats", {UserRow(1, Value::String("x"), 1, now)});
  EXPECT_THAT(typed.status().message(), HasSubstr("feature 'count'"));
  EXPECT_THAT(Write("nope", {UserRow(1, Value::Int64(1), 1, now)}).status().message(),
              HasSubstr("unknown feature view 'nope'"));
  OnlineFeaturesRequest req;
  req.feature_refs = {"user_stats:count"};
  req.entities = {{"user_id", {Value::Int64(1)}}};
  auto r = Get(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns[0].statuses[0], FieldStatus::kNotFound);
}

TEST_F(OnlineServingTest, EventTimeInTheFarFutureIsRejected) {
  // Nanoseconds sent as microseconds: would win every later write.
  auto r = Write("user_stats", {UserRow(1, Value::Int64(1), 1, NowMicros() * 1000)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("in the future"));
}

TEST_F(OnlineServingTest, CachedPlanDoesNotAliasAnotherReferenceList) {
  OnlineFeaturesRequest req;
  req.feature_refs = {"user_stats:count", "user_stats:score"};
  req.entities = {{"user_id", {Value::Int64(1)}}};
  ASSERT_TRUE(Get(req).ok());
  req.feature_refs = {"user_stats:count\nuser_stats:score"};
  EXPECT_EQ(Get(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.feature_refs = {"user_stats:count", "user_stats:score"};
  auto again = Get(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->columns.size(), 2u);
}

TEST_F(OnlineServingTest, WideningDtypeChangeStillReads) {
  ASSERT_TRUE(Write("merchant_stats", {{{{"merchant_id", Value::String("m")}, {"count", Value::Int32(3)}}, 5}}).ok());
  std::string widened(kRepo);
  widened.replace(widened.find("{name: count, dtype: INT32}"), 27, "{name: count, dtype: INT64}");
  holder_.Set(*ParseRegistry(widened, "repo.yaml", "/tmp"));
  OnlineFeaturesRequest req;
  req.feature_refs = {"merchant_stats:count"};
  req.entities = {{"merchant_id", {Value::String("m")}}};
  auto r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->columns[0].values[0], Value::Int64(3));
}


// A feature added after a row was written is NOT_FOUND until the entity is
// written again; a type change that is not a widening fails the read with
// FAILED_PRECONDITION naming the feature, never a wrong value.
TEST_F(OnlineServingTest, SchemaChangesAfterAWrite) {
  ASSERT_TRUE(Write("merchant_stats", {{{{"merchant_id", Value::String("m")}, {"count", Value::Int32(3)}}, 5}}).ok());
  std::string added(kRepo);
  added.replace(added.find("{name: count, dtype: INT32}"), 27,
                "{name: count, dtype: INT32}\n      - {name: fresh, dtype: DOUBLE}");
  holder_.Set(*ParseRegistry(added, "repo.yaml", "/tmp"));
  OnlineFeaturesRequest req;
  req.feature_refs = {"merchant_stats:fresh", "merchant_stats:count"};
  req.entities = {{"merchant_id", {Value::String("m")}}};
  auto r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->columns[0].statuses[0], FieldStatus::kNotFound);
  EXPECT_EQ(r->columns[1].values[0], Value::Int32(3));

  std::string changed(kRepo);
  changed.replace(changed.find("{name: count, dtype: INT32}"), 27, "{name: count, dtype: STRING}");
  holder_.Set(*ParseRegistry(changed, "repo.yaml", "/tmp"));
  req.feature_refs = {"merchant_stats:count"};
  r = Get(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("merchant_stats:count"));
}

}  // namespace
}  // namespace pantry
