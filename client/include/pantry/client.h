// Pantry C++ client SDK.
//
// One Client holds one gRPC channel to pantryd. Every call carries a deadline
// (ClientOptions::timeout) and is retried on UNAVAILABLE with exponential
// backoff (ClientOptions::max_attempts). Errors come back as absl::Status with
// pantryd's gRPC code and message. A Client is thread-safe.
#ifndef PANTRY_CLIENT_H_
#define PANTRY_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "pantry/v1/ingest.grpc.pb.h"
#include "pantry/v1/materialize.grpc.pb.h"
#include "pantry/v1/registry.grpc.pb.h"
#include "pantry/v1/serving.grpc.pb.h"
#include "server/value/value.h"

namespace pantry {

struct ClientOptions {
  std::string address = "127.0.0.1:6566";  // HOST:PORT of pantryd
  std::chrono::milliseconds timeout{5000};   // deadline of each attempt
  int max_attempts = 4;                      // 1 + retries on UNAVAILABLE
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{1000};
  int max_message_mb = 64;
  // Sent as "authorization: Bearer <token>" with every call (pantryd with
  // auth on); empty: none.
  std::string token;
  // TLS to pantryd (its auth configuration's tls). `tls_ca_pem`: the CA
  // certificates pantryd's certificate is checked against (empty: the
  // system's); `tls_cert_pem` and `tls_key_pem`: a client certificate and
  // its key, for mTLS; `tls_server_name`: the name expected in pantryd's
  // certificate when it is not the address's host.
  bool tls = false;
  std::string tls_ca_pem, tls_cert_pem, tls_key_pem;
  std::string tls_server_name;
};

enum class ValueStatus { kPresent, kNullValue, kNotFound, kOutsideMaxAge };
absl::string_view ValueStatusName(ValueStatus status);

// Which features for which entities.
struct OnlineQuery {
  std::vector<std::string> features;  // "view:feature" / "view:*"; or:
  std::string feature_service;
  // join key -> one value per entity row
  std::vector<std::pair<std::string, std::vector<Value>>> entities;
  // Request data of on-demand features: column -> one value per entity row
  std::vector<std::pair<std::string, std::vector<Value>>> request_data;
  bool full_feature_names = false;
};

struct OnlineFeatures {
  struct Cell {
    Value value;  // null unless status is kPresent
    ValueStatus status = ValueStatus::kNotFound;
    int64_t event_time_us = 0;  // 0 when nothing is stored
  };
  std::vector<std::string> feature_names;  // output names, request order
  std::vector<std::string> feature_refs;   // "view:feature", same order
  size_t rows = 0;
  // columns[feature][row]
  std::vector<std::vector<Cell>> columns;
};

struct WriteRow {
  std::vector<std::pair<std::string, Value>> values;  // join keys and features
  int64_t event_time_us = 0;
};

enum class PushTarget { kBoth, kOnline, kOffline };

struct PushOptions {
  PushTarget to = PushTarget::kBoth;
  // Land the good rows and report the bad ones (PushSummary::rejected)
  // instead of refusing the whole push for one bad row.
  bool partial = false;
};

struct PushSummary {
  int64_t accepted = 0;
  int64_t written_online = 0;
  int64_t skipped_older = 0;
  uint64_t log_sequence = 0;  // 0 when not pushed offline
  struct Rejected {
    int64_t row = 0;  // 1-based
    std::string column;
    std::string reason;
  };
  std::vector<Rejected> rejected;
};

struct WriteSummary {
  int64_t written = 0;
  int64_t skipped_older = 0;
};

// A point-in-time join run by pantryd: entity rows from a Parquet file,
// result to a Parquet file. With GetHistoricalFeatures pantryd reads and
// writes both files itself, so the paths must be absolute and mean the same
// file on pantryd's machine; with StreamHistoricalFeatures they are this
// process's own files.
struct HistoricalQuery {
  std::vector<std::string> features;  // "view:feature" / "view:*"; or:
  std::string feature_service;
  bool full_feature_names = false;
  std::string entities_path;     // join keys, the timestamp column, other columns
  std::string timestamp_column;  // empty: "event_timestamp"
  std::string output_path;       // written atomically; its folder must exist
  // Deadline of the call (each attempt). Joins over large sources take long,
  // hence the generous default; pantryd drops a join whose deadline passes
  // while it is still queued.
  std::chrono::milliseconds timeout = std::chrono::hours(1);
};

struct HistoricalResult {
  std::string output_path;
  int64_t entity_rows = 0;
  int64_t feature_rows_scanned = 0;  // rows of key/time columns read, all views
  int64_t row_groups_skipped = 0;    // pruned by partitions or statistics
  int64_t files_skipped = 0;
  int64_t values_found = 0;             // entity rows x views with a qualifying row
  std::chrono::microseconds queued{0};  // waiting for a free slot in pantryd
  std::chrono::microseconds run{0};     // the join itself
};

class Client {
 public:
  // Creates the channel; does not wait for the server to be up.
  static std::unique_ptr<Client> Create(ClientOptions options);

  absl::StatusOr<OnlineFeatures> GetOnlineFeatures(const OnlineQuery& query);
  absl::StatusOr<WriteSummary> WriteOnlineFeatures(const std::string& view,
                                                   const std::vector<WriteRow>& rows);
  // Pushes rows of `view` (pantry.v1.IngestService/Push): to the offline
  // history (durable in pantryd's log before this returns) and the online
  // store. Every attempt carries the same random push id, so a retry after
  // UNAVAILABLE does not land the rows offline twice.
  absl::StatusOr<PushSummary> Push(const std::string& view, const std::vector<WriteRow>& rows,
                                   PushOptions options = {});
  // Ingestion (pantry.v1.IngestService): stream sources' lag, rate,
  // watermark and last error, and views' freshness, as this pantryd sees
  // them; a stream source's dead letters, and their replay into its stream.
  absl::StatusOr<v1::GetIngestStatusResponse> GetIngestStatus();
  absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(const std::string& source,
                                                              int limit,
                                                              const std::string& after = "");
  // `ids` empty: every dead letter (at most `limit` when above 0).
  absl::StatusOr<v1::ReplayDeadLettersResponse> ReplayDeadLetters(
      const std::string& source, const std::vector<std::string>& ids, int limit = 0);
  // Runs a point-in-time join in pantryd and waits for it (up to
  // query.timeout). Errors: INVALID_ARGUMENT (relative paths, unknown
  // features, a bad entity file, an output name clash without full feature
  // names), NOT_FOUND (no entity file), RESOURCE_EXHAUSTED (pantryd's job
  // queue is full), DEADLINE_EXCEEDED; no output file is left on any error.
  // Retried on UNAVAILABLE like every call (the output is written
  // atomically, so a rerun is harmless).
  absl::StatusOr<HistoricalResult> GetHistoricalFeatures(const HistoricalQuery& query);
  // The same join for a process that shares no file system with pantryd:
  // query.entities_path is read here and uploaded in the call, and the result
  // comes back in it and is written here to query.output_path (a temp file
  // beside it, fsync, rename: nothing is left there on any error, and a
  // previous file is replaced only by a complete one). Relative paths are
  // fine. Errors as GetHistoricalFeatures, checked locally first where they
  // can be (NOT_FOUND: no entity file; INVALID_ARGUMENT: no output folder, or
  // the output is the entity file); RESOURCE_EXHAUSTED when the file is over
  // pantryd's --max-upload-mb. Retried whole on UNAVAILABLE. The join stops
  // in pantryd when the call's deadline passes.
  absl::StatusOr<HistoricalResult> StreamHistoricalFeatures(const HistoricalQuery& query);

  // Materialization (pantry.v1.MaterializationService): queue a job and get
  // its record back at once; follow it with GetJob. Errors as the RPCs
  // (INVALID_ARGUMENT for unknown or offline-only views, a bad window).
  absl::StatusOr<v1::Job> Materialize(const std::vector<std::string>& views, int64_t start_us,
                                      int64_t end_us);
  // `views` empty: every online view with a source; `end_us` 0: now.
  absl::StatusOr<v1::Job> MaterializeIncremental(const std::vector<std::string>& views,
                                                 int64_t end_us);
  absl::StatusOr<v1::Job> GetJob(const std::string& id);
  absl::StatusOr<v1::ListJobsResponse> ListJobs();
  absl::StatusOr<v1::Job> CancelJob(const std::string& id);
  absl::StatusOr<v1::ListWatermarksResponse> ListWatermarks();
  // OpenLineage events (JSON) of `view`'s runs, or every view's when empty.
  absl::StatusOr<v1::ListLineageResponse> ListLineage(const std::string& view, int limit);

  // Applies a feature repository. `base_dir`: folder its relative paths
  // resolve against; `source_name` names it in error messages.
  absl::StatusOr<v1::ApplyResponse> Apply(const std::string& yaml, const std::string& base_dir,
                                          const std::string& source_name);
  absl::StatusOr<v1::ListEntitiesResponse> ListEntities();
  absl::StatusOr<v1::ListFeatureViewsResponse> ListFeatureViews();
  absl::StatusOr<v1::FeatureViewSpec> GetFeatureView(const std::string& name);
  absl::StatusOr<v1::ListFeatureServicesResponse> ListFeatureServices();

  // OK when pantryd's gRPC health service reports SERVING.
  absl::Status CheckHealth();

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const ClientOptions& options() const { return options_; }

 private:
  Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel);
  // Adds the call credentials (the token) to `context`.
  void Authorize(grpc::ClientContext* context) const;
  // Runs `call(context)` with a fresh deadline per attempt (`timeout`, or
  // options_.timeout), retrying on UNAVAILABLE with backoff.
  template <typename Call>
  absl::Status WithRetries(Call call);
  template <typename Call>
  absl::Status WithRetries(Call call, std::chrono::milliseconds timeout);

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FeatureService::Stub> features_;
  std::unique_ptr<v1::RegistryService::Stub> registry_;
  std::unique_ptr<v1::MaterializationService::Stub> materialize_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
};

}  // namespace pantry

#endif  // PANTRY_CLIENT_H_
