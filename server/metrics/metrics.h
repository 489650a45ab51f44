// Metrics: pantryd's Prometheus metrics and their HTTP exposition.
//
// A Metrics owns the metric registry and, when given an address, the HTTP
// endpoint that serves it at /metrics in the Prometheus text format. Modules
// record through typed handles (GrpcMetrics, OnlineStoreMetrics,
// MaterializeMetrics, RegistryMetrics) that main.cc hands them; a module
// given a null handle records nothing. Every metric is listed, with its
// labels and meaning, in docs/operations.md ("Metrics"); names follow the
// Prometheus conventions (a `pantry_` prefix, base units, `_total` for
// counters) plus the standard `process_*` figures of the process.
//
// Some figures are read when a scrape comes rather than recorded as they
// change: the views' watermarks (from MetricsOptions::watermarks) and the
// process figures (from /proc).
//
// Everything here is thread-safe. Recording costs atomic additions, and a
// lock only where a label value is seen for the first time (or, for
// histograms, a short lock inside prometheus-cpp).
#ifndef PANTRY_SERVER_METRICS_METRICS_H_
#define PANTRY_SERVER_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/time.h"
#include "server/metrics/online_store_observer.h"
#include "server/registry/registry.h"

namespace prometheus {
class Collectable;
class Counter;
class Exposer;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace pantry {

// Number of gRPC status codes (OK = 0 ... UNAUTHENTICATED = 16); gRPC's and
// Abseil's codes are the same numbers.
inline constexpr int kStatusCodes = 17;

// gRPC requests: one count per method and status code, one latency histogram
// per method, and the requests in flight. Recorded by the server interceptor
// (grpc_interceptor.h) for every method of every service.
class GrpcMetrics {
 public:
  // The figures of one method.
  class Method;

  // Distinct method names recorded; later ones are counted as method="other"
  // (a client can send any name).
  static constexpr int kMaxMethods = 64;

  explicit GrpcMetrics(prometheus::Registry& registry);
  ~GrpcMetrics();
  GrpcMetrics(const GrpcMetrics&) = delete;
  GrpcMetrics& operator=(const GrpcMetrics&) = delete;

  // The figures of `method` (the full name, "/pantry.v1.FeatureService/
  // GetOnlineFeatures"), made on first use and valid for this object's life.
  Method* ForMethod(absl::string_view method);
  // A request arrived (counted in flight until Finished).
  void Started();
  // A request of `method` ended with gRPC status `code` after `seconds`
  // (arrival to status sent). A code outside 0..16 counts as UNKNOWN.
  void Finished(Method* method, int code, double seconds);

 private:
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Gauge* in_flight_;
  // Looked up on every request without a lock: open addressing over the
  // slots, each set once (under mu_) and never changed. There are more slots
  // than kMaxMethods, so a probe always ends at an empty one.
  static constexpr int kSlots = 256;
  std::array<std::atomic<Method*>, kSlots> slots_{};
  std::mutex mu_;
  std::vector<std::unique_ptr<Method>> methods_;  // guarded by mu_
  Method* other_ = nullptr;                       // made when first needed; guarded by mu_
};

// What an online store operation is.
enum class OnlineOp { kRead = 0, kWrite = 1 };

// Online store operations as pantryd sees them (InstrumentedOnlineStore:
// counts, outcomes, errors by code, latency, requests pending, keys, and the
// newer-wins outcome of writes), and the per-node figures a backend reports
// through OnlineStoreObserver.
class OnlineStoreMetrics : public OnlineStoreObserver {
 public:
  explicit OnlineStoreMetrics(prometheus::Registry& registry);
  ~OnlineStoreMetrics() override;
  OnlineStoreMetrics(const OnlineStoreMetrics&) = delete;
  OnlineStoreMetrics& operator=(const OnlineStoreMetrics&) = delete;

  // An operation on `keys` entity keys (a view of one key each) was handed
  // to the store; pending until Finished.
  void Started(OnlineOp op, int64_t keys);
  // The operation ended with `status` after `seconds`.
  void Finished(OnlineOp op, const absl::Status& status, double seconds);
  // A write that succeeded: how many of its keys landed and how many were
  // not newer than what the store held.
  void WriteOutcome(int64_t written, int64_t skipped_older);

  Node* ForNode(absl::string_view node) override;
  void OnSlotMapRefresh(bool ok) override;

 private:
  class NodeFigures;
  struct OpFigures {
    prometheus::Counter* ok = nullptr;
    prometheus::Counter* error = nullptr;
    prometheus::Counter* keys = nullptr;
    prometheus::Histogram* duration = nullptr;
    std::array<std::atomic<prometheus::Counter*>, kStatusCodes> errors{};
  };
  prometheus::Family<prometheus::Counter>* operations_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Family<prometheus::Counter>* keys_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Gauge* pending_;
  prometheus::Counter* written_;
  prometheus::Counter* skipped_older_;
  prometheus::Family<prometheus::Gauge>* node_connections_;
  prometheus::Family<prometheus::Counter>* node_reconnects_;
  prometheus::Family<prometheus::Counter>* node_connect_failures_;
  prometheus::Family<prometheus::Counter>* node_requests_;
  prometheus::Family<prometheus::Gauge>* node_pending_;
  prometheus::Family<prometheus::Counter>* node_cluster_replies_;
  prometheus::Counter* slot_map_refreshes_ok_;
  prometheus::Counter* slot_map_refreshes_failed_;
  std::array<OpFigures, 2> ops_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<NodeFigures>> nodes_;  // guarded by mu_
};

// The figures of one finished view run of a materialization job.
struct ViewRunFigures {
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_skipped = 0;  // not newer than what the online store held
  int64_t bytes_read = 0;
  double seconds = 0;
};

// Materialization jobs and view runs, recorded by MaterializeJobs. Job and
// run states are the names MaterializeJobs reports (JobStateName:
// "SUCCEEDED", "FAILED", "CANCELLED"). Rows are counted when a view's run
// ends.
class MaterializeMetrics {
 public:
  explicit MaterializeMetrics(prometheus::Registry& registry);
  MaterializeMetrics(const MaterializeMetrics&) = delete;
  MaterializeMetrics& operator=(const MaterializeMetrics&) = delete;

  // Jobs waiting for the worker, and jobs running, now.
  void SetQueuedJobs(int64_t jobs);
  void SetRunningJobs(int64_t jobs);
  // A job ended in `state`.
  void JobFinished(absl::string_view state);
  // A view's run ended in `state` at `finished` (a SUCCEEDED run sets the
  // view's last success time).
  void ViewRunFinished(absl::string_view view, absl::string_view state,
                       const ViewRunFigures& figures, Micros finished);

 private:
  prometheus::Gauge* queued_;
  prometheus::Gauge* running_;
  prometheus::Family<prometheus::Counter>* jobs_finished_;
  prometheus::Family<prometheus::Counter>* view_runs_;
  prometheus::Family<prometheus::Counter>* rows_read_;
  prometheus::Family<prometheus::Counter>* rows_written_;
  prometheus::Family<prometheus::Counter>* rows_skipped_;
  prometheus::Family<prometheus::Counter>* bytes_read_;
  prometheus::Family<prometheus::Histogram>* run_duration_;
  prometheus::Family<prometheus::Gauge>* last_success_;
};

// Pushes and the write-ahead log (server/ingest): rows accepted and
// rejected per view, the log's size, its appends and syncs (group commit:
// appends per sync), and compactions into the offline history.
class IngestMetrics {
 public:
  explicit IngestMetrics(prometheus::Registry& registry);
  IngestMetrics(const IngestMetrics&) = delete;
  IngestMetrics& operator=(const IngestMetrics&) = delete;

  // A push of `view` ended: rows that landed, and rows refused (with
  // partial, or the whole request when one row was bad).
  void Pushed(absl::string_view view, int64_t accepted, int64_t rejected);
  // The log now: segments and bytes not yet compacted, and its appends and
  // syncs since pantryd started (counters; pass the running totals).
  void Log(int64_t segments, int64_t bytes, int64_t appends, int64_t syncs);
  // A compaction ended (`ok`), having written `rows`, at `at`.
  void Compacted(bool ok, int64_t rows, double seconds, Micros at);

  // Stream sources (stream_consumer.h). A batch of `source` ended: entries
  // ingested (counted here), dead-lettered, redelivered (counted by another
  // copy), and rows behind the watermark.
  void Consumed(absl::string_view source, int64_t ingested, int64_t dead_letters,
                int64_t redelivered, int64_t late_rows);
  void Claimed(absl::string_view source, int64_t entries);
  void Error(absl::string_view source);
  // The group's pending entries, entries not yet delivered, and how far the
  // last delivered entry is behind the stream's newest (-1: unknown).
  void Lag(absl::string_view source, int64_t pending, int64_t lag, double seconds_behind);
  void Watermark(absl::string_view source, Micros watermark);
  // The newest event time written online to `view` (pushes and streams).
  void Fresh(absl::string_view view, Micros event_time);

 private:
  prometheus::Family<prometheus::Counter>* stream_entries_;
  prometheus::Family<prometheus::Counter>* stream_late_;
  prometheus::Family<prometheus::Counter>* stream_claimed_;
  prometheus::Family<prometheus::Counter>* stream_errors_;
  prometheus::Family<prometheus::Gauge>* stream_pending_;
  prometheus::Family<prometheus::Gauge>* stream_lag_;
  prometheus::Family<prometheus::Gauge>* stream_behind_;
  prometheus::Family<prometheus::Gauge>* stream_watermark_;
  prometheus::Family<prometheus::Gauge>* view_event_time_;
  prometheus::Family<prometheus::Counter>* rows_;
  prometheus::Gauge* segments_;
  prometheus::Gauge* bytes_;
  prometheus::Counter* appends_;
  prometheus::Counter* syncs_;
  prometheus::Counter* compactions_ok_;
  prometheus::Counter* compactions_failed_;
  prometheus::Counter* compacted_rows_;
  prometheus::Histogram* compaction_duration_;
  prometheus::Gauge* last_compaction_;
  std::mutex mu_;
  int64_t appends_seen_ = 0;  // guarded by mu_
  int64_t syncs_seen_ = 0;    // guarded by mu_
};

// The feature repository in service and the applies (`pantry apply`,
// SIGHUP) that change it.
class RegistryMetrics {
 public:
  explicit RegistryMetrics(prometheus::Registry& registry);
  RegistryMetrics(const RegistryMetrics&) = delete;
  RegistryMetrics& operator=(const RegistryMetrics&) = delete;

  // `registry` is in service since `at` (at start, and after each apply that
  // installed one).
  void Serving(const Registry& registry, Micros at);
  // An apply or reload ended: it installed a repository, or was rejected
  // (the previous one keeps serving).
  void ApplyFinished(bool installed);

 private:
  prometheus::Family<prometheus::Gauge>* info_family_;
  prometheus::Gauge* generation_;
  prometheus::Gauge* last_install_;
  prometheus::Gauge* last_apply_success_;
  prometheus::Counter* applies_ok_;
  prometheus::Counter* applies_rejected_;
  prometheus::Gauge* entities_;
  prometheus::Gauge* feature_views_;
  prometheus::Gauge* feature_services_;
  std::mutex mu_;
  prometheus::Gauge* info_ = nullptr;  // guarded by mu_
};

// A view's watermark, as the watermark source reports it at a scrape.
struct ViewWatermark {
  std::string view;
  Micros watermark = kNoTimestamp;  // kNoTimestamp: never materialized
  Micros schedule = 0;              // materialize: {every}; 0: none
};

// Reads every online view's watermark; called on the HTTP thread for each
// scrape, so it must be thread-safe and bounded in time (a Redis request).
using WatermarkSource = std::function<absl::StatusOr<std::vector<ViewWatermark>>()>;

struct MetricsOptions {
  // HOST:PORT to serve /metrics on (port 0 picks a free port); empty: no
  // HTTP endpoint (TextExposition still works).
  std::string listen;
  // Labels of pantry_build_info (version, revision, ...).
  std::vector<std::pair<std::string, std::string>> build_info;
  // May be empty: then no watermark figures.
  WatermarkSource watermarks;
  // HTTP threads serving scrapes.
  int http_threads = 2;
};

class Metrics {
 public:
  // InvalidArgument for a malformed `listen`; Unavailable when it cannot be
  // bound (in use, not an address of this host), naming it.
  static absl::StatusOr<std::unique_ptr<Metrics>> Create(MetricsOptions options);
  // Stops the HTTP endpoint first, so no scrape runs past it.
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The port /metrics is served on; 0 without `listen`.
  int port() const { return port_; }

  GrpcMetrics* grpc() { return grpc_.get(); }
  OnlineStoreMetrics* online_store() { return online_store_.get(); }
  MaterializeMetrics* materialize() { return materialize_.get(); }
  IngestMetrics* ingest() { return ingest_.get(); }
  RegistryMetrics* registry() { return registry_metrics_.get(); }

  // Everything a scrape of /metrics returns, in the text format.
  std::string TextExposition() const;

 private:
  explicit Metrics(MetricsOptions options);
  std::vector<std::shared_ptr<prometheus::Collectable>> Collectables() const;

  const MetricsOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> watermarks_;
  std::shared_ptr<prometheus::Collectable> process_;
  std::unique_ptr<GrpcMetrics> grpc_;
  std::unique_ptr<OnlineStoreMetrics> online_store_;
  std::unique_ptr<MaterializeMetrics> materialize_;
  std::unique_ptr<IngestMetrics> ingest_;
  std::unique_ptr<RegistryMetrics> registry_metrics_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // last: destroyed first
  int port_ = 0;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_METRICS_METRICS_H_
