#include "server/metrics/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <sstream>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/metrics/process.h"

namespace pantry {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// From a fast cache hit (a tenth of a millisecond) to a long point-in-time
// join: one bucket per factor of about 2.5.
const Histogram::BucketBoundaries kRequestBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                     1,      2.5,     5,      10,    30,     60};
// Online store operations are bounded by the store's request timeout
// (default 1 s) but materialization writes may wait up to 30 s.
const Histogram::BucketBoundaries kStoreBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                   0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                                   0.5,     1,      2.5,     5,      10,    30};
const Histogram::BucketBoundaries kCompactionBuckets = {0.001, 0.005, 0.01, 0.05, 0.1,
                                                       0.5,   1,     5,    10,   60};
const Histogram::BucketBoundaries kRunBuckets = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};

std::string CodeName(int code) {
  if (code < 0 || code >= kStatusCodes) code = static_cast<int>(absl::StatusCode::kUnknown);
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

const char* OpName(OnlineOp op) { return op == OnlineOp::kRead ? "read" : "write"; }

// A stable digest of the repository's text (the same on every replica that
// serves the same file): FNV-1a, 64 bits.
std::string Digest(absl::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", h);
}

double Seconds(Micros t) { return static_cast<double>(t) / kMicrosPerSecond; }

prometheus::ClientMetric GaugeValue(const std::string& label, const std::string& value, double v) {
  prometheus::ClientMetric m;
  m.label.push_back({label, value});
  m.gauge.value = v;
  return m;
}

// The views' watermarks, read from the source at each scrape: when they are
// is worth exporting only as of the scrape (the lag grows between runs).
class WatermarkCollector : public prometheus::Collectable {
 public:
  explicit WatermarkCollector(WatermarkSource source) : source_(std::move(source)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily errors{"pantry_materialize_watermark_read_errors_total",
                                    "Scrapes that could not read the views' watermarks",
                                    prometheus::MetricType::Counter,
                                    {}};
    prometheus::MetricFamily mark{"pantry_materialize_watermark_timestamp_seconds",
                                  "End of the last committed materialization window of the view",
                                  prometheus::MetricType::Gauge,
                                  {}};
    prometheus::MetricFamily lag{"pantry_materialize_watermark_lag_seconds",
                                 "Time between now and the view's watermark",
                                 prometheus::MetricType::Gauge,
                                 {}};
    prometheus::MetricFamily schedule{"pantry_materialize_schedule_seconds",
                                      "The view's materialization schedule (materialize: every)",
                                      prometheus::MetricType::Gauge,
                                      {}};
    absl::StatusOr<std::vector<ViewWatermark>> marks = source_();
    const Micros now = NowMicros();
    if (!marks.ok()) {
      ++read_errors_;
      spdlog::debug("metrics: cannot read the watermarks: {}", marks.status().ToString());
    } else {
      for (const ViewWatermark& w : *marks) {
        if (w.schedule > 0)
          schedule.metric.push_back(GaugeValue("view", w.view, Seconds(w.schedule)));
        if (w.watermark == kNoTimestamp) continue;
        mark.metric.push_back(GaugeValue("view", w.view, Seconds(w.watermark)));
        lag.metric.push_back(GaugeValue("view", w.view, Seconds(now - w.watermark)));
      }
    }
    prometheus::ClientMetric count;
    count.counter.value = static_cast<double>(read_errors_.load());
    errors.metric.push_back(count);
    return {std::move(mark), std::move(lag), std::move(schedule), std::move(errors)};
  }

 private:
  const WatermarkSource source_;
  mutable std::atomic<int64_t> read_errors_{0};
};

// HOST:PORT with a port number; the HTTP server reports the rest.
absl::Status CheckListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", listen, "' is not HOST:PORT (a port number 0 to 65535)"));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- gRPC ----

class GrpcMetrics::Method {
 public:
  Method(std::string name, prometheus::Family<prometheus::Counter>* requests,
         prometheus::Histogram* duration)
      : name_(std::move(name)), requests_(requests), duration_(duration) {}

  const std::string& name() const { return name_; }

  void Record(int code, double seconds) {
    if (code < 0 || code >= kStatusCodes) code = static_cast<int>(absl::StatusCode::kUnknown);
    prometheus::Counter* counter = counters_[code].load(std::memory_order_acquire);
    if (counter == nullptr) {
      // Add returns the existing series for the same labels, so a race here
      // stores the same pointer twice.
      counter = &requests_->Add({{"method", name_}, {"code", CodeName(code)}});
      counters_[code].store(counter, std::memory_order_release);
    }
    counter->Increment();
    duration_->Observe(seconds);
  }

 private:
  const std::string name_;
  prometheus::Family<prometheus::Counter>* const requests_;
  prometheus::Histogram* const duration_;
  std::array<std::atomic<prometheus::Counter*>, kStatusCodes> counters_{};
};

GrpcMetrics::GrpcMetrics(prometheus::Registry& registry)
    : requests_(&BuildCounter()
                     .Name("pantry_grpc_requests_total")
                     .Help("gRPC requests answered, by full method name and status code")
                     .Register(registry)),
      duration_(&BuildHistogram()
                     .Name("pantry_grpc_request_duration_seconds")
                     .Help("Time from a gRPC request's arrival to its status being sent")
                     .Register(registry)),
      in_flight_(&BuildGauge()
                      .Name("pantry_grpc_requests_in_flight")
                      .Help("gRPC requests received and not yet answered")
                      .Register(registry)
                      .Add({})) {}

GrpcMetrics::~GrpcMetrics() = default;

GrpcMetrics::Method* GrpcMetrics::ForMethod(absl::string_view method) {
  constexpr size_t kMask = kSlots - 1;
  static_assert((kSlots & kMask) == 0 && kSlots > kMaxMethods);
  const size_t start = absl::Hash<absl::string_view>()(method) & kMask;
  size_t i = start;
  for (Method* m; (m = slots_[i].load(std::memory_order_acquire)) != nullptr; i = (i + 1) & kMask) {
    if (m->name() == method) return m;
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Another thread may have added it, or others, since the probe.
  for (i = start;; i = (i + 1) & kMask) {
    Method* m = slots_[i].load(std::memory_order_relaxed);
    if (m == nullptr) break;
    if (m->name() == method) return m;
  }
  auto make = [&](const std::string& name) {
    methods_.push_back(std::make_unique<Method>(
        name, requests_, &duration_->Add({{"method", name}}, kRequestBuckets)));
    return methods_.back().get();
  };
  if (methods_.size() - (other_ != nullptr ? 1 : 0) >= kMaxMethods) {
    if (other_ == nullptr) other_ = make("other");
    return other_;
  }
  Method* m = make(std::string(method));
  slots_[i].store(m, std::memory_order_release);
  return m;
}

void GrpcMetrics::Started() { in_flight_->Increment(); }

void GrpcMetrics::Finished(Method* method, int code, double seconds) {
  in_flight_->Decrement();
  method->Record(code, seconds);
}

// ---- Online store ----

class OnlineStoreMetrics::NodeFigures : public OnlineStoreObserver::Node {
 public:
  NodeFigures(OnlineStoreMetrics& m, const std::string& node)
      : connections_(&m.node_connections_->Add({{"node", node}})),
        reconnects_(&m.node_reconnects_->Add({{"node", node}})),
        connect_failures_(&m.node_connect_failures_->Add({{"node", node}})),
        requests_(&m.node_requests_->Add({{"node", node}})),
        pending_(&m.node_pending_->Add({{"node", node}})) {
    for (size_t i = 0; i < kClusterReplies.size(); ++i) {
      cluster_replies_[i] =
          &m.node_cluster_replies_->Add({{"node", node}, {"reply", kClusterReplies[i]}});
    }
  }

  void OnConnected(bool reconnect) override {
    connections_->Increment();
    if (reconnect) reconnects_->Increment();
  }
  void OnDisconnected() override { connections_->Decrement(); }
  void OnConnectFailed() override { connect_failures_->Increment(); }
  void OnRequestsSent(int64_t n) override { requests_->Increment(static_cast<double>(n)); }
  void AddPending(int64_t delta) override { pending_->Increment(static_cast<double>(delta)); }
  void OnClusterReply(absl::string_view reply) override {
    for (size_t i = 0; i < kClusterReplies.size(); ++i) {
      if (reply == kClusterReplies[i]) cluster_replies_[i]->Increment();
    }
  }

 private:
  static constexpr std::array<const char*, 6> kClusterReplies = {
      "moved", "ask", "tryagain", "clusterdown", "loading", "masterdown"};
  prometheus::Gauge* const connections_;
  prometheus::Counter* const reconnects_;
  prometheus::Counter* const connect_failures_;
  prometheus::Counter* const requests_;
  prometheus::Gauge* const pending_;
  std::array<prometheus::Counter*, kClusterReplies.size()> cluster_replies_{};
};

OnlineStoreMetrics::OnlineStoreMetrics(prometheus::Registry& registry)
    : operations_(&BuildCounter()
                       .Name("pantry_online_store_operations_total")
                       .Help("Online store reads and writes (calls, each of one or more keys), "
                             "by outcome")
                       .Register(registry)),
      errors_(&BuildCounter()
                   .Name("pantry_online_store_errors_total")
                   .Help("Online store reads and writes that failed, by status code")
                   .Register(registry)),
      keys_(&BuildCounter()
                 .Name("pantry_online_store_keys_total")
                 .Help("Entity keys (one view of one key each) handed to the online store")
                 .Register(registry)),
      duration_(&BuildHistogram()
                     .Name("pantry_online_store_operation_duration_seconds")
                     .Help("Time from a call to the online store to its answer")
                     .Register(registry)),
      pending_(&BuildGauge()
                    .Name("pantry_online_store_pending_requests")
                    .Help("Online store calls made and not yet answered")
                    .Register(registry)
                    .Add({})),
      node_connections_(&BuildGauge()
                             .Name("pantry_online_store_node_connections")
                             .Help("Open connections to the online store node")
                             .Register(registry)),
      node_reconnects_(&BuildCounter()
                            .Name("pantry_online_store_reconnects_total")
                            .Help("Connections to the online store node made again after one "
                                  "was lost or failed")
                            .Register(registry)),
      node_connect_failures_(&BuildCounter()
                                  .Name("pantry_online_store_connect_failures_total")
                                  .Help("Failed attempts to connect to the online store node")
                                  .Register(registry)),
      node_requests_(&BuildCounter()
                          .Name("pantry_online_store_node_requests_total")
                          .Help("Requests sent to the online store node")
                          .Register(registry)),
      node_pending_(&BuildGauge()
                         .Name("pantry_online_store_node_pending_requests")
                         .Help("Requests waiting for the online store node's reply")
                         .Register(registry)),
      node_cluster_replies_(&BuildCounter()
                                 .Name("pantry_online_store_node_redirects_total")
                                 .Help("Redis Cluster replies of the node that sent a request "
                                       "elsewhere (MOVED, ASK) or again later (TRYAGAIN, "
                                       "CLUSTERDOWN, LOADING, MASTERDOWN)")
                                 .Register(registry)) {
  auto& refreshes = BuildCounter()
                        .Name("pantry_online_store_slot_map_refreshes_total")
                        .Help("Redis Cluster slot map refreshes (CLUSTER SLOTS), by result")
                        .Register(registry);
  slot_map_refreshes_ok_ = &refreshes.Add({{"result", "ok"}});
  slot_map_refreshes_failed_ = &refreshes.Add({{"result", "failed"}});
  auto& writes = BuildCounter()
                     .Name("pantry_online_store_writes_total")
                     .Help(
                         "Keys of successful online writes, by newer-wins outcome: written, "
                         "or skipped as not newer than the stored event time")
                     .Register(registry);
  written_ = &writes.Add({{"result", "written"}});
  skipped_older_ = &writes.Add({{"result", "skipped_older"}});
  for (OnlineOp op : {OnlineOp::kRead, OnlineOp::kWrite}) {
    OpFigures& f = ops_[static_cast<int>(op)];
    f.ok = &operations_->Add({{"op", OpName(op)}, {"outcome", "ok"}});
    f.error = &operations_->Add({{"op", OpName(op)}, {"outcome", "error"}});
    f.keys = &keys_->Add({{"op", OpName(op)}});
    f.duration = &duration_->Add({{"op", OpName(op)}}, kStoreBuckets);
  }
}

OnlineStoreMetrics::~OnlineStoreMetrics() = default;

void OnlineStoreMetrics::Started(OnlineOp op, int64_t keys) {
  pending_->Increment();
  ops_[static_cast<int>(op)].keys->Increment(static_cast<double>(keys));
}

void OnlineStoreMetrics::Finished(OnlineOp op, const absl::Status& status, double seconds) {
  pending_->Decrement();
  OpFigures& f = ops_[static_cast<int>(op)];
  f.duration->Observe(seconds);
  if (status.ok()) {
    f.ok->Increment();
    return;
  }
  f.error->Increment();
  int code = static_cast<int>(status.code());
  if (code < 0 || code >= kStatusCodes) code = static_cast<int>(absl::StatusCode::kUnknown);
  prometheus::Counter* counter = f.errors[code].load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &errors_->Add({{"op", OpName(op)}, {"code", CodeName(code)}});
    f.errors[code].store(counter, std::memory_order_release);
  }
  counter->Increment();
}

void OnlineStoreMetrics::WriteOutcome(int64_t written, int64_t skipped_older) {
  written_->Increment(static_cast<double>(written));
  skipped_older_->Increment(static_cast<double>(skipped_older));
}

OnlineStoreObserver::Node* OnlineStoreMetrics::ForNode(absl::string_view node) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(node);
  if (it == nodes_.end()) {
    std::string name(node);
    it = nodes_.emplace(name, std::make_unique<NodeFigures>(*this, name)).first;
  }
  return it->second.get();
}

void OnlineStoreMetrics::OnSlotMapRefresh(bool ok) {
  (ok ? slot_map_refreshes_ok_ : slot_map_refreshes_failed_)->Increment();
}

// ---- Materialization ----

IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : rows_(&BuildCounter()
                 .Name("pantry_push_rows_total")
                 .Help("Rows pushed to the view, by result: accepted, or rejected by the checks")
                 .Register(registry)),
      segments_(&BuildGauge()
                     .Name("pantry_wal_segments")
                     .Help("Write-ahead log segments not yet compacted (the current one included)")
                     .Register(registry)
                     .Add({})),
      bytes_(&BuildGauge()
                  .Name("pantry_wal_bytes")
                  .Help("Bytes of the write-ahead log not yet compacted")
                  .Register(registry)
                  .Add({})),
      appends_(&BuildCounter()
                    .Name("pantry_wal_appends_total")
                    .Help("Records appended to the write-ahead log (one per push)")
                    .Register(registry)
                    .Add({})),
      syncs_(&BuildCounter()
                  .Name("pantry_wal_syncs_total")
                  .Help("fdatasync calls of the write-ahead log (group commit shares one "
                        "between concurrent pushes)")
                  .Register(registry)
                  .Add({})),
      compactions_ok_(nullptr),
      compactions_failed_(nullptr),
      compacted_rows_(&BuildCounter()
                           .Name("pantry_wal_compacted_rows_total")
                           .Help("Rows compacted from the write-ahead log into offline history")
                           .Register(registry)
                           .Add({})),
      compaction_duration_(&BuildHistogram()
                                .Name("pantry_wal_compaction_duration_seconds")
                                .Help("Duration of compactions of the write-ahead log")
                                .Register(registry)
                                .Add({}, kCompactionBuckets)),
      last_compaction_(&BuildGauge()
                            .Name("pantry_wal_last_compaction_timestamp_seconds")
                            .Help("When the last successful compaction ended")
                            .Register(registry)
                            .Add({})) {
  auto& compactions = BuildCounter()
                          .Name("pantry_wal_compactions_total")
                          .Help("Compactions of the write-ahead log, by result")
                          .Register(registry);
  compactions_ok_ = &compactions.Add({{"result", "ok"}});
  compactions_failed_ = &compactions.Add({{"result", "failed"}});
  stream_entries_ = &BuildCounter()
                         .Name("pantry_stream_entries_total")
                         .Help("Stream entries by source and result: ingested, dead_letter, or "
                               "redelivered (logged again, counted once elsewhere)")
                         .Register(registry);
  stream_late_ = &BuildCounter()
                      .Name("pantry_stream_late_rows_total")
                      .Help("Stream entries whose event time was behind the source's watermark")
                      .Register(registry);
  stream_claimed_ = &BuildCounter()
                         .Name("pantry_stream_claimed_total")
                         .Help("Pending entries claimed from idle consumers (XAUTOCLAIM)")
                         .Register(registry);
  stream_errors_ = &BuildCounter()
                        .Name("pantry_stream_errors_total")
                        .Help("Failed steps of a stream source's consumer (each retried)")
                        .Register(registry);
  stream_pending_ = &BuildGauge()
                         .Name("pantry_stream_pending_entries")
                         .Help("Entries delivered to the source's group and not acknowledged")
                         .Register(registry);
  stream_lag_ = &BuildGauge()
                     .Name("pantry_stream_lag_entries")
                     .Help("Entries of the stream not yet delivered to the source's group")
                     .Register(registry);
  stream_behind_ = &BuildGauge()
                        .Name("pantry_stream_seconds_behind")
                        .Help("The stream's newest entry minus the group's last delivered one, "
                              "by their ids' times")
                        .Register(registry);
  stream_watermark_ = &BuildGauge()
                           .Name("pantry_stream_watermark_timestamp_seconds")
                           .Help("The source's watermark: its newest event time minus its "
                                 "allowed lateness")
                           .Register(registry);
  view_event_time_ = &BuildGauge()
                          .Name("pantry_view_latest_event_timestamp_seconds")
                          .Help("The newest event time pushed or streamed online to the view "
                                "(freshness: time() minus this)")
                          .Register(registry);
}

void IngestMetrics::Consumed(absl::string_view source, int64_t ingested, int64_t dead_letters,
                             int64_t redelivered, int64_t late_rows) {
  const std::string s(source);
  auto add = [&](const char* result, int64_t n) {
    if (n > 0) stream_entries_->Add({{"source", s}, {"result", result}}).Increment(static_cast<double>(n));
  };
  add("ingested", ingested);
  add("dead_letter", dead_letters);
  add("redelivered", redelivered);
  if (late_rows > 0) stream_late_->Add({{"source", s}}).Increment(static_cast<double>(late_rows));
}

void IngestMetrics::Claimed(absl::string_view source, int64_t entries) {
  stream_claimed_->Add({{"source", std::string(source)}}).Increment(static_cast<double>(entries));
}

void IngestMetrics::Error(absl::string_view source) {
  stream_errors_->Add({{"source", std::string(source)}}).Increment();
}

void IngestMetrics::Lag(absl::string_view source, int64_t pending, int64_t lag,
                        double seconds_behind) {
  const std::string s(source);
  if (pending >= 0) stream_pending_->Add({{"source", s}}).Set(static_cast<double>(pending));
  if (lag >= 0) stream_lag_->Add({{"source", s}}).Set(static_cast<double>(lag));
  if (seconds_behind >= 0) stream_behind_->Add({{"source", s}}).Set(seconds_behind);
}

void IngestMetrics::Watermark(absl::string_view source, Micros watermark) {
  stream_watermark_->Add({{"source", std::string(source)}}).Set(static_cast<double>(watermark) / 1e6);
}

void IngestMetrics::Fresh(absl::string_view view, Micros event_time) {
  prometheus::Gauge& g = view_event_time_->Add({{"view", std::string(view)}});
  const double t = static_cast<double>(event_time) / 1e6;
  if (t > g.Value()) g.Set(t);
}

void IngestMetrics::Pushed(absl::string_view view, int64_t accepted, int64_t rejected) {
  const std::string name(view);
  if (accepted > 0) {
    rows_->Add({{"view", name}, {"result", "accepted"}}).Increment(static_cast<double>(accepted));
  }
  if (rejected > 0) {
    rows_->Add({{"view", name}, {"result", "rejected"}}).Increment(static_cast<double>(rejected));
  }
}

void IngestMetrics::Log(int64_t segments, int64_t bytes, int64_t appends, int64_t syncs) {
  segments_->Set(static_cast<double>(segments));
  bytes_->Set(static_cast<double>(bytes));
  std::lock_guard<std::mutex> lock(mu_);
  if (appends > appends_seen_) appends_->Increment(static_cast<double>(appends - appends_seen_));
  if (syncs > syncs_seen_) syncs_->Increment(static_cast<double>(syncs - syncs_seen_));
  appends_seen_ = std::max(appends_seen_, appends);
  syncs_seen_ = std::max(syncs_seen_, syncs);
}

void IngestMetrics::Compacted(bool ok, int64_t rows, double seconds, Micros at) {
  (ok ? compactions_ok_ : compactions_failed_)->Increment();
  compaction_duration_->Observe(seconds);
  if (!ok) return;
  compacted_rows_->Increment(static_cast<double>(rows));
  last_compaction_->Set(static_cast<double>(at) / 1e6);
}

MaterializeMetrics::MaterializeMetrics(prometheus::Registry& registry)
    : queued_(&BuildGauge()
                   .Name("pantry_materialize_jobs_queued")
                   .Help("Materialization jobs waiting for the worker")
                   .Register(registry)
                   .Add({})),
      running_(&BuildGauge()
                    .Name("pantry_materialize_jobs_running")
                    .Help("Materialization jobs running")
                    .Register(registry)
                    .Add({})),
      jobs_finished_(&BuildCounter()
                          .Name("pantry_materialize_jobs_finished_total")
                          .Help("Materialization jobs ended, by final state")
                          .Register(registry)),
      view_runs_(&BuildCounter()
                      .Name("pantry_materialize_view_runs_total")
                      .Help("Materialization runs of a view ended, by view and final state")
                      .Register(registry)),
      rows_read_(&BuildCounter()
                      .Name("pantry_materialize_rows_read_total")
                      .Help("Offline rows scanned by materialization runs of the view")
                      .Register(registry)),
      rows_written_(&BuildCounter()
                         .Name("pantry_materialize_rows_written_total")
                         .Help("Rows materialization wrote to the online store for the view")
                         .Register(registry)),
      rows_skipped_(&BuildCounter()
                         .Name("pantry_materialize_rows_skipped_total")
                         .Help("Rows materialization did not write because the online store "
                               "held a newer value")
                         .Register(registry)),
      bytes_read_(&BuildCounter()
                       .Name("pantry_materialize_read_bytes_total")
                       .Help("Compressed Parquet bytes materialization read for the view")
                       .Register(registry)),
      run_duration_(&BuildHistogram()
                         .Name("pantry_materialize_run_duration_seconds")
                         .Help("Duration of the view's materialization runs")
                         .Register(registry)),
      last_success_(&BuildGauge()
                         .Name("pantry_materialize_last_success_timestamp_seconds")
                         .Help("When the view's last successful materialization run ended")
                         .Register(registry)) {
  // The final states exist from the start, so that rate() and increase()
  // see the first job of each.
  for (const char* state : {"SUCCEEDED", "FAILED", "CANCELLED"}) {
    jobs_finished_->Add({{"state", state}});
  }
}

void MaterializeMetrics::SetQueuedJobs(int64_t jobs) { queued_->Set(static_cast<double>(jobs)); }

void MaterializeMetrics::SetRunningJobs(int64_t jobs) { running_->Set(static_cast<double>(jobs)); }

void MaterializeMetrics::JobFinished(absl::string_view state) {
  jobs_finished_->Add({{"state", std::string(state)}}).Increment();
}

void MaterializeMetrics::ViewRunFinished(absl::string_view view_name, absl::string_view state,
                                         const ViewRunFigures& figures, Micros finished) {
  const std::string view(view_name);
  view_runs_->Add({{"view", view}, {"state", std::string(state)}}).Increment();
  rows_read_->Add({{"view", view}}).Increment(static_cast<double>(figures.rows_read));
  rows_written_->Add({{"view", view}}).Increment(static_cast<double>(figures.rows_written));
  rows_skipped_->Add({{"view", view}}).Increment(static_cast<double>(figures.rows_skipped));
  bytes_read_->Add({{"view", view}}).Increment(static_cast<double>(figures.bytes_read));
  run_duration_->Add({{"view", view}}, kRunBuckets).Observe(figures.seconds);
  if (state == "SUCCEEDED") last_success_->Add({{"view", view}}).Set(Seconds(finished));
}

// ---- Registry ----

RegistryMetrics::RegistryMetrics(prometheus::Registry& registry)
    : info_family_(&BuildGauge()
                        .Name("pantry_registry_info")
                        .Help("The feature repository in service: its project and the digest "
                              "of its text (always 1)")
                        .Register(registry)),
      generation_(&BuildGauge()
                       .Name("pantry_registry_generation")
                       .Help("Feature repositories installed since pantryd started (1 at start, "
                             "+1 per apply or reload that installed one)")
                       .Register(registry)
                       .Add({})),
      last_install_(&BuildGauge()
                         .Name("pantry_registry_last_apply_timestamp_seconds")
                         .Help("When the feature repository in service was installed (at start "
                               "or by the last successful apply or reload)")
                         .Register(registry)
                         .Add({})),
      last_apply_success_(&BuildGauge()
                               .Name("pantry_registry_last_apply_success")
                               .Help("Whether the last apply or reload installed its repository "
                                     "(1) or was rejected (0); 1 before any")
                               .Register(registry)
                               .Add({})),
      entities_(&BuildGauge()
                     .Name("pantry_registry_entities")
                     .Help("Entities in the feature repository in service")
                     .Register(registry)
                     .Add({})),
      feature_views_(&BuildGauge()
                          .Name("pantry_registry_feature_views")
                          .Help("Feature views in the feature repository in service")
                          .Register(registry)
                          .Add({})),
      feature_services_(&BuildGauge()
                             .Name("pantry_registry_feature_services")
                             .Help("Feature services in the feature repository in service")
                             .Register(registry)
                             .Add({})) {
  auto& applies = BuildCounter()
                      .Name("pantry_registry_applies_total")
                      .Help("Applies and reloads of the feature repository, by result")
                      .Register(registry);
  applies_ok_ = &applies.Add({{"result", "installed"}});
  applies_rejected_ = &applies.Add({{"result", "rejected"}});
  last_apply_success_->Set(1);
}

void RegistryMetrics::Serving(const Registry& registry, Micros at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (info_ != nullptr) info_family_->Remove(info_);
  info_ = &info_family_->Add({{"project", registry.project}, {"digest", Digest(registry.yaml)}});
  info_->Set(1);
  generation_->Increment();
  last_install_->Set(Seconds(at));
  entities_->Set(static_cast<double>(registry.entities.size()));
  feature_views_->Set(static_cast<double>(registry.feature_views.size()));
  feature_services_->Set(static_cast<double>(registry.feature_services.size()));
}

void RegistryMetrics::ApplyFinished(bool installed) {
  (installed ? applies_ok_ : applies_rejected_)->Increment();
  last_apply_success_->Set(installed ? 1 : 0);
}

// ---- Metrics ----

Metrics::Metrics(MetricsOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      process_(NewProcessCollector()),
      grpc_(std::make_unique<GrpcMetrics>(*registry_)),
      online_store_(std::make_unique<OnlineStoreMetrics>(*registry_)),
      materialize_(std::make_unique<MaterializeMetrics>(*registry_)),
      ingest_(std::make_unique<IngestMetrics>(*registry_)),
      registry_metrics_(std::make_unique<RegistryMetrics>(*registry_)) {
  if (options_.watermarks) watermarks_ = std::make_shared<WatermarkCollector>(options_.watermarks);
  prometheus::Labels build;
  for (const auto& [name, value] : options_.build_info) build[name] = value;
  BuildGauge()
      .Name("pantry_build_info")
      .Help("The pantryd build: version and source revision (always 1)")
      .Register(*registry_)
      .Add(build)
      .Set(1);
}

Metrics::~Metrics() {
  // Scrapes read the handles and the watermark source: stop them first.
  exposer_.reset();
}

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(MetricsOptions options) {
  if (!options.listen.empty()) PANTRY_RETURN_IF_ERROR(CheckListen(options.listen));
  std::unique_ptr<Metrics> metrics(new Metrics(std::move(options)));
  const std::string& listen = metrics->options_.listen;
  if (listen.empty()) return metrics;
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(
        listen, static_cast<size_t>(std::max(1, metrics->options_.http_threads)));
  } catch (const std::exception&) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen,
                                               " (in use, or not an address of this host)"));
  }
  for (const std::shared_ptr<prometheus::Collectable>& c : metrics->Collectables()) {
    metrics->exposer_->RegisterCollectable(c);
  }
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  metrics->port_ = ports.empty() ? 0 : ports.front();
  return metrics;
}

std::vector<std::shared_ptr<prometheus::Collectable>> Metrics::Collectables() const {
  std::vector<std::shared_ptr<prometheus::Collectable>> all = {registry_, process_};
  if (watermarks_ != nullptr) all.push_back(watermarks_);
  return all;
}

std::string Metrics::TextExposition() const {
  std::vector<prometheus::MetricFamily> families;
  for (const std::shared_ptr<prometheus::Collectable>& c : Collectables()) {
    std::vector<prometheus::MetricFamily> more = c->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace pantry
