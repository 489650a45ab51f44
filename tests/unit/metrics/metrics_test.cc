// Metrics and its handles, read back through the text exposition (what a
// scrape of /metrics returns), without an HTTP endpoint.
#include "server/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "tests/support/metrics_text.h"

namespace pantry {
namespace {

using ::pantry::testing::SeriesValue;
using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<Metrics> NewMetrics(MetricsOptions options = {}) {
  auto metrics = Metrics::Create(std::move(options));
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  return metrics.ok() ? *std::move(metrics) : nullptr;
}

std::shared_ptr<const Registry> Repo(const std::string& views) {
  auto registry = ParseRegistry(
      "project: shop\n"
      "entities:\n"
      "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
      "feature_views:\n" +
          views,
      "repo.yaml", "/tmp");
  EXPECT_TRUE(registry.ok()) << registry.status();
  return *registry;
}

TEST(Metrics, ExpositionHasTheFamiliesBuildInfoAndProcessFigures) {
  MetricsOptions options;
  options.build_info = {{"version", "1.2.3"}, {"revision", "abc"}};
  auto metrics = NewMetrics(options);
  const std::string text = metrics->TextExposition();
  for (const char* family :
       {"pantry_grpc_requests_in_flight gauge", "pantry_online_store_operations_total counter",
        "pantry_online_store_pending_requests gauge", "pantry_online_store_writes_total counter",
        "pantry_online_store_operation_duration_seconds histogram",
        "pantry_materialize_jobs_queued gauge", "pantry_materialize_jobs_running gauge",
        "pantry_materialize_jobs_finished_total counter", "pantry_registry_generation gauge",
        "pantry_registry_applies_total counter", "pantry_build_info gauge",
        "process_cpu_seconds_total counter", "process_resident_memory_bytes gauge",
        "process_start_time_seconds gauge", "process_open_fds gauge"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family)) << family;
  }
  EXPECT_EQ(SeriesValue(text, "pantry_build_info{revision=\"abc\",version=\"1.2.3\"}"), 1);
  EXPECT_GT(SeriesValue(text, "process_start_time_seconds").value_or(0), 1.6e9);
  EXPECT_EQ(metrics->port(), 0);
}

TEST(Metrics, MalformedListenAddressIsInvalidArgument) {
  for (const char* listen : {"nohost", ":9090", "127.0.0.1:", "127.0.0.1:http", "1.2.3.4:70000"}) {
    MetricsOptions options;
    options.listen = listen;
    auto metrics = Metrics::Create(options);
    EXPECT_EQ(metrics.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_THAT(metrics.status().message(), HasSubstr(listen));
  }
}

TEST(GrpcMetrics, CountsRequestsByMethodAndCodeAndTimesThemByMethod) {
  auto metrics = NewMetrics();
  GrpcMetrics* grpc = metrics->grpc();
  GrpcMetrics::Method* get = grpc->ForMethod("/pantry.v1.FeatureService/GetOnlineFeatures");
  EXPECT_EQ(grpc->ForMethod("/pantry.v1.FeatureService/GetOnlineFeatures"), get);
  for (int code : {0, 0, 3}) {
    grpc->Started();
    grpc->Finished(get, code, 0.002);
  }
  grpc->Started();  // still running
  const std::string text = metrics->TextExposition();
  const std::string method = "method=\"/pantry.v1.FeatureService/GetOnlineFeatures\"";
  EXPECT_EQ(SeriesValue(text, "pantry_grpc_requests_total{code=\"OK\"," + method + "}"), 2);
  EXPECT_EQ(
      SeriesValue(text, "pantry_grpc_requests_total{code=\"INVALID_ARGUMENT\"," + method + "}"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_grpc_request_duration_seconds_count{" + method + "}"), 3);
  EXPECT_EQ(
      SeriesValue(text, "pantry_grpc_request_duration_seconds_bucket{" + method + ",le=\"0.001\"}"),
      0);
  EXPECT_EQ(SeriesValue(
                text, "pantry_grpc_request_duration_seconds_bucket{" + method + ",le=\"0.0025\"}"),
            3);
  EXPECT_EQ(SeriesValue(text, "pantry_grpc_requests_in_flight"), 1);
}

TEST(GrpcMetrics, UnknownCodesCountAsUnknownAndExtraMethodsAsOther) {
  auto metrics = NewMetrics();
  GrpcMetrics* grpc = metrics->grpc();
  for (int i = 0; i < GrpcMetrics::kMaxMethods; ++i) {
    grpc->ForMethod("/m/" + std::to_string(i));
  }
  GrpcMetrics::Method* extra = grpc->ForMethod("/m/one-too-many");
  EXPECT_EQ(grpc->ForMethod("/m/another"), extra);
  grpc->Started();
  grpc->Finished(extra, 99, 0.1);
  const std::string text = metrics->TextExposition();
  EXPECT_EQ(SeriesValue(text, "pantry_grpc_requests_total{code=\"UNKNOWN\",method=\"other\"}"), 1);
  EXPECT_THAT(text, Not(HasSubstr("one-too-many")));
}

TEST(OnlineStoreMetrics, CountsOutcomesErrorsByCodeKeysAndPending) {
  auto metrics = NewMetrics();
  OnlineStoreMetrics* store = metrics->online_store();
  store->Started(OnlineOp::kRead, 3);
  store->Started(OnlineOp::kRead, 1);
  store->Started(OnlineOp::kWrite, 5);
  store->Finished(OnlineOp::kRead, absl::OkStatus(), 0.0003);
  store->Finished(OnlineOp::kRead, absl::UnavailableError("down"), 0.5);
  std::string text = metrics->TextExposition();
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_operations_total{op=\"read\",outcome=\"ok\"}"),
            1);
  EXPECT_EQ(
      SeriesValue(text, "pantry_online_store_operations_total{op=\"read\",outcome=\"error\"}"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_errors_total{code=\"UNAVAILABLE\",op=\"read\"}"),
            1);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_keys_total{op=\"read\"}"), 4);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_pending_requests"), 1);  // the write
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_operation_duration_seconds_count{op=\"read\"}"),
            2);

  store->Finished(OnlineOp::kWrite, absl::OkStatus(), 0.001);
  store->WriteOutcome(4, 1);
  text = metrics->TextExposition();
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_pending_requests"), 0);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_writes_total{result=\"written\"}"), 4);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_writes_total{result=\"skipped_older\"}"), 1);
}

TEST(OnlineStoreMetrics, NodeFiguresComeFromTheObserver) {
  auto metrics = NewMetrics();
  OnlineStoreObserver* observer = metrics->online_store();
  OnlineStoreObserver::Node* a = observer->ForNode("10.0.0.1:6379");
  EXPECT_EQ(observer->ForNode("10.0.0.1:6379"), a);
  OnlineStoreObserver::Node* b = observer->ForNode("10.0.0.2:6379");
  a->OnConnected(false);
  a->OnConnected(false);
  a->OnDisconnected();
  a->OnConnectFailed();
  a->OnConnected(true);
  a->OnRequestsSent(7);
  a->AddPending(3);
  a->AddPending(-1);
  b->OnConnected(false);
  const std::string text = metrics->TextExposition();
  const std::string na = "{node=\"10.0.0.1:6379\"}";
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_node_connections" + na), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_reconnects_total" + na), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_connect_failures_total" + na), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_node_requests_total" + na), 7);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_node_pending_requests" + na), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_online_store_reconnects_total{node=\"10.0.0.2:6379\"}"), 0);
}

TEST(MaterializeMetrics, CountsJobsViewRunsAndRows) {
  auto metrics = NewMetrics();
  MaterializeMetrics* m = metrics->materialize();
  m->SetQueuedJobs(2);
  m->SetRunningJobs(1);
  m->ViewRunFinished("user_stats", "SUCCEEDED", {100, 40, 2, 4096, 1.5},
                     1767225600 * kMicrosPerSecond);
  m->ViewRunFinished("user_stats", "FAILED", {10, 0, 0, 512, 0.2}, 1767229200 * kMicrosPerSecond);
  m->JobFinished("FAILED");
  const std::string text = metrics->TextExposition();
  const std::string v = "{view=\"user_stats\"}";
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_queued"), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_running"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_finished_total{state=\"FAILED\"}"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_jobs_finished_total{state=\"SUCCEEDED\"}"), 0);
  EXPECT_EQ(SeriesValue(text,
                        "pantry_materialize_view_runs_total{state=\"SUCCEEDED\","
                        "view=\"user_stats\"}"),
            1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_read_total" + v), 110);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_written_total" + v), 40);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_rows_skipped_total" + v), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_read_bytes_total" + v), 4608);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_run_duration_seconds_count" + v), 2);
  // The failed run does not move the last success.
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_last_success_timestamp_seconds" + v), 1767225600);
}

TEST(MaterializeMetrics, WatermarkLagIsReadAtEachScrape) {
  int reads = 0;
  bool fail = false;
  const Micros now = NowMicros();
  MetricsOptions options;
  options.watermarks = [&]() -> absl::StatusOr<std::vector<ViewWatermark>> {
    ++reads;
    if (fail) return absl::UnavailableError("redis down");
    return std::vector<ViewWatermark>{
        {"user_stats", now - 600 * kMicrosPerSecond, 300 * kMicrosPerSecond},
        {"never_run", kNoTimestamp, 0}};
  };
  auto metrics = NewMetrics(options);
  std::string text = metrics->TextExposition();
  EXPECT_EQ(reads, 1);
  const std::string v = "{view=\"user_stats\"}";
  EXPECT_NEAR(SeriesValue(text, "pantry_materialize_watermark_lag_seconds" + v).value_or(0), 600,
              5);
  EXPECT_NEAR(SeriesValue(text, "pantry_materialize_watermark_timestamp_seconds" + v).value_or(0),
              static_cast<double>(now) / kMicrosPerSecond - 600, 1);
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_schedule_seconds" + v), 300);
  EXPECT_THAT(text, Not(HasSubstr("never_run")));
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_watermark_read_errors_total"), 0);

  fail = true;
  text = metrics->TextExposition();
  EXPECT_EQ(SeriesValue(text, "pantry_materialize_watermark_read_errors_total"), 1);
  EXPECT_THAT(text, Not(HasSubstr("pantry_materialize_watermark_lag_seconds{")));
}

TEST(RegistryMetrics, ServingReplacesTheInfoSeriesAndCountsApplies) {
  auto metrics = NewMetrics();
  RegistryMetrics* r = metrics->registry();
  const char* view =
      "  - name: v1\n"
      "    entities: [user]\n"
      "    schema:\n"
      "      - {name: f, dtype: INT64}\n";
  r->Serving(*Repo(view), 1000 * kMicrosPerSecond);
  std::string text = metrics->TextExposition();
  EXPECT_EQ(SeriesValue(text, "pantry_registry_generation"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_feature_views"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_entities"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_last_apply_timestamp_seconds"), 1000);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_last_apply_success"), 1);
  ASSERT_THAT(text, HasSubstr("pantry_registry_info{digest=\""));

  r->ApplyFinished(false);
  text = metrics->TextExposition();
  EXPECT_EQ(SeriesValue(text, "pantry_registry_applies_total{result=\"rejected\"}"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_last_apply_success"), 0);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_generation"), 1);

  const std::string two_views = std::string(view) +
                                "  - name: v2\n"
                                "    entities: [user]\n"
                                "    schema:\n"
                                "      - {name: f, dtype: INT64}\n";
  r->Serving(*Repo(two_views), 2000 * kMicrosPerSecond);
  r->ApplyFinished(true);
  text = metrics->TextExposition();
  EXPECT_EQ(SeriesValue(text, "pantry_registry_applies_total{result=\"installed\"}"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_last_apply_success"), 1);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_generation"), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_feature_views"), 2);
  EXPECT_EQ(SeriesValue(text, "pantry_registry_last_apply_timestamp_seconds"), 2000);
  // One info series: the repository in service, under a new digest.
  size_t infos = 0;
  for (size_t at = text.find("\npantry_registry_info{"); at != std::string::npos;
       at = text.find("\npantry_registry_info{", at + 1)) {
    ++infos;
  }
  EXPECT_EQ(infos, 1u);
}

TEST(RegistryMetrics, TheSameRepositoryTextHasTheSameDigest) {
  const char* view =
      "  - name: v1\n"
      "    entities: [user]\n"
      "    schema:\n"
      "      - {name: f, dtype: INT64}\n";
  auto a = NewMetrics();
  auto b = NewMetrics();
  a->registry()->Serving(*Repo(view), kMicrosPerSecond);
  b->registry()->Serving(*Repo(view), 2 * kMicrosPerSecond);
  auto info = [](const std::string& text) {
    const size_t at = text.find("\npantry_registry_info{");
    return text.substr(at, text.find('\n', at + 1) - at);
  };
  EXPECT_EQ(info(a->TextExposition()), info(b->TextExposition()));
}

}  // namespace
}  // namespace pantry
