// The feature repository as an immutable, validated snapshot.
//
// A Registry is built once by ParseRegistry (from YAML) and never changes;
// pantryd publishes it as std::shared_ptr<const Registry> (RegistryHolder)
// and swaps the pointer atomically on apply or SIGHUP, so readers never lock
// while they use one. All members are safe to read from any thread.
#ifndef PANTRY_SERVER_REGISTRY_REGISTRY_H_
#define PANTRY_SERVER_REGISTRY_REGISTRY_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/time.h"
#include "server/expr/expr.h"
#include "server/value/value.h"

namespace pantry {

// What a model or a person sees of an entity: the join keys identify one
// instance; every join key has the entity's value_type.
struct Entity {
  std::string name;
  std::vector<std::string> join_keys;
  ValueType value_type = ValueType::kInt64;  // INT32, INT64, STRING or BYTES
  std::string description;
};

// A column a source carries, with its type.
struct SourceColumn {
  std::string name;
  ValueType dtype = ValueType::kInt64;
};

// Where a `type: redis_stream` source reads from (see docs/ingestion.md).
struct StreamSource {
  std::string stream;  // the stream's key
  std::string group;   // the consumer group pantryd replicas share
  // The Redis holding the stream; empty host: the online store's.
  std::string host;
  int port = 0;
  // Entry field -> column, for fields named otherwise than the columns.
  std::map<std::string, std::string> field_map;
  // Where entries that cannot be ingested go, with their reason.
  // Default "{<stream>}:dead-letters" (or "<stream>:dead-letters" when the
  // stream's key has a hash tag): in the stream's hash slot.
  std::string dead_letter_stream;
  // A pending entry idle this long is claimed from its consumer (which is
  // taken to have died) by another.
  Micros claim_idle = 30 * kMicrosPerSecond;
  int batch = 500;  // entries read at a time (the bound of in-flight work)
};

struct DataSource {
  // kPush: events only pushed (no files of its own): its history is what
  // pantryd appends, like a stream's.
  enum class Type { kFile, kRedisStream, kPush };
  std::string name;
  Type type = Type::kFile;
  std::string path;  // file sources: absolute, resolved against the repository file's folder
  std::string timestamp_field;
  std::string created_timestamp_field;  // empty when the source has none
  std::string description;
  // The columns the source carries (stream sources: required).
  std::vector<SourceColumn> schema;
  // Stream sources: an event more than this ahead of pantryd's clock is
  // rejected (dead-lettered); 0: no limit.
  Micros max_future = 5 * 60 * kMicrosPerSecond;
  // How far behind the newest event time seen an event may arrive and still
  // count as on time: the source's watermark is the newest event time minus
  // this. Later rows still land in the offline history.
  Micros allowed_lateness = 0;
  StreamSource stream;  // type kRedisStream only

  bool is_stream() const { return type == Type::kRedisStream; }
  // File sources have files of their own; push and stream sources only what
  // pantryd appends to their views' history.
  bool has_files() const { return type == Type::kFile; }
  // The column named `name`, or nullptr.
  const SourceColumn* FindColumn(absl::string_view name) const;
};

struct Feature {
  std::string name;
  ValueType dtype = ValueType::kInt64;
  std::string description;
  std::map<std::string, std::string> tags;
};

// How an aggregation combines the events of its window (docs/concepts.md,
// "Aggregations"). The numbers are stable: they name tiles in the online
// store.
enum class AggFunction : uint8_t {
  kCount = 1,
  kSum = 2,
  kMean = 3,
  kMin = 4,
  kMax = 5,
  kStddev = 6,  // population standard deviation
  kLast = 7,
  kLastN = 8,   // the n latest values, newest first
  kApproxCountDistinct = 9,  // HyperLogLog
};
// "count", "last_n", ... as written in the feature repository.
absl::string_view AggFunctionName(AggFunction function);
std::optional<AggFunction> ParseAggFunction(absl::string_view name);
const std::vector<absl::string_view>& AggFunctionNames();

// One feature of an aggregation view: `function` over `column` of the
// entity's events with start <= event time <= t, where start is t - window
// rounded down to a multiple of hop.
struct Aggregation {
  std::string name;  // the feature it serves
  AggFunction function = AggFunction::kCount;
  std::string column;  // empty: count of events (count only)
  ValueType column_type = ValueType::kInt64;  // the source column's dtype
  int n = 0;           // last_n only: how many values
  Micros window = 0;   // > 0, a multiple of hop
  Micros hop = 0;      // > 0
  ValueType dtype = ValueType::kInt64;  // of the result
  std::string description;
};

// The result type of `function` over a column of `column_type` (count: any
// column or none), or nullopt when the function does not fit the type.
std::optional<ValueType> AggregationResultType(AggFunction function,
                                               std::optional<ValueType> column_type);
// The hop a window gets when its aggregation names none: 1d for windows of
// 12 days or more, 1h for 12 hours or more, 5m below; when that does not
// divide the window, the largest of 1h, 5m, 1m, 1s that does.
Micros DefaultHop(Micros window);

struct JoinKey {
  std::string name;
  ValueType value_type = ValueType::kInt64;
};

struct FeatureView {
  std::string name;
  std::vector<std::string> entities;  // entity names, as declared
  // The join keys of all its entities, sorted by name: the order used for
  // online keys. Names are unique across a view's entities.
  std::vector<JoinKey> join_keys;
  Micros ttl = 0;  // 0: values never age out
  // How long a row stays in the online store after it was last written;
  // 0: until overwritten. Defaults to online_store.key_ttl.
  Micros online_ttl = 0;
  std::string source;  // data source name; may be empty
  bool online = true;
  // materialize: {every: D}: pantryd materializes the view incrementally
  // every D; 0: only on request.
  Micros materialize_every = 0;
  std::string owner;
  std::string description;
  std::map<std::string, std::string> tags;
  // The features it serves: declared (schema:), or for an aggregation view
  // one per aggregation, with its result type.
  std::vector<Feature> schema;
  // Aggregation views only: the aggregations, one per schema feature and in
  // the same order, and the raw event columns a write carries and the
  // offline history holds (the source's schema without join keys and
  // timestamp fields).
  std::vector<Aggregation> aggregations;
  std::vector<Feature> event_columns;

  bool is_aggregation() const { return !aggregations.empty(); }
  // The columns a write (push, stream, WriteOnlineFeatures) carries besides
  // the join keys and the event time, and the offline history holds: the
  // features of a plain view, the raw event columns of an aggregation view.
  const std::vector<Feature>& written_columns() const {
    return is_aggregation() ? event_columns : schema;
  }
  // Index of `feature` in schema, or -1.
  int FeatureIndex(absl::string_view feature) const;
  // Index of `column` in written_columns(), or -1.
  int WrittenColumnIndex(absl::string_view column) const;
};

// A feature reference resolved against the registry.
struct FeatureRef {
  std::string view;
  std::string feature;
  std::string ToString() const { return view + ":" + feature; }
};

// A feature computed per request row by an expression (server/expr) over
// request data and features of feature views.
struct OnDemandFeature {
  std::string name;
  ValueType dtype = ValueType::kDouble;
  std::string expr;  // its text
  std::string description;
  // Compiled against OnDemandView::ExprInputs(), in that order.
  std::shared_ptr<const expr::Expr> compiled;
};

// on_demand_views: features computed at request time, the same way online
// (request data in the request) and offline (request data = columns of the
// entity file).
struct OnDemandView {
  std::string name;
  // Values the caller sends with each entity row.
  std::vector<SourceColumn> request;
  // Features of feature views it reads ("view:feature"), resolved.
  std::vector<FeatureRef> inputs;
  std::vector<ValueType> input_dtypes;  // of each of inputs
  std::vector<OnDemandFeature> features;
  std::string owner;
  std::string description;
  std::map<std::string, std::string> tags;

  int FeatureIndex(absl::string_view feature) const;
};

struct FeatureService {
  std::string name;
  std::vector<FeatureRef> features;  // "view:*" already expanded, in order
  std::string owner;
  std::string description;
  std::map<std::string, std::string> tags;
};

struct OnlineStoreConfig {
  enum class Type { kMemory, kRedis, kRedisCluster };
  Type type = Type::kMemory;
  // Redis only.
  std::string host = "127.0.0.1";
  int port = 6379;
  // Redis Cluster only: the nodes the slot map is first learnt from.
  std::vector<std::pair<std::string, int>> nodes;
  std::string username;  // ACL user; empty: the default user
  // The password sent with AUTH: given here, or taken when the store is
  // created from pantryd's environment (password_env, a variable's name) or
  // a file (password_file, absolute). At most one is set; none: no AUTH.
  std::string password;
  std::string password_env;
  std::string password_file;
  int db = 0;
  int pool_size = 4;                        // connections, each with its own I/O thread
  Micros connect_timeout = 1 * kMicrosPerSecond;
  Micros request_timeout = 1 * kMicrosPerSecond;  // per request, unless the call's deadline is sooner
  Micros key_ttl = 0;  // the default online_ttl of feature views; 0: rows never expire
  int max_pending_requests = 10000;         // beyond this, RESOURCE_EXHAUSTED
  // Writes wait (Redis WAIT) until this many replicas of each master have
  // them, or fail with UNAVAILABLE after wait_timeout; 0: no wait.
  int wait_replicas = 0;
  Micros wait_timeout = 1 * kMicrosPerSecond;
  // TLS towards Redis (`tls:`); absolute paths, empty when not given.
  struct Tls {
    bool enabled = false;
    std::string ca_file;      // empty: the system's trust store
    std::string cert_file;    // with key_file: a client certificate
    std::string key_file;
    std::string server_name;  // the name the certificate must carry; empty: the host
    bool operator==(const Tls&) const = default;
  };
  Tls tls;
};

struct OfflineStoreConfig {
  std::string path;  // absolute
  // Memory a point-in-time join may use for entity rows and their join
  // state; beyond it the entity rows are joined in chunks.
  int64_t memory_budget_bytes = int64_t{2} << 30;
};

// Request limits enforced by the serving path (the `serving:` key).
struct ServingConfig {
  int max_entities_per_request = 10000;
  int max_features_per_request = 1000;
  int max_write_rows_per_request = 10000;
};

// governance: what every feature view, on-demand view and feature service
// of the repository must carry; apply rejects one that lacks it.
struct GovernancePolicy {
  bool require_owner = false;
  bool require_description = false;
  std::vector<std::string> require_tags;  // each must be set (any value)
  // Allowed values per tag (empty: any), e.g. pii: ["true", "false"].
  std::map<std::string, std::vector<std::string>> tag_values;
};

class Registry {
 public:
  std::string project;
  std::string source_file;  // the file or name the YAML came from, for messages
  std::string base_dir;     // folder relative paths resolved against
  std::string yaml;         // the text it was parsed from
  OnlineStoreConfig online_store;
  OfflineStoreConfig offline_store;
  // JSON-lines file the OpenLineage events of materialization runs are
  // appended to (absolute; lineage.path, default
  // <offline_store.path>/lineage.jsonl).
  std::string lineage_path;
  ServingConfig serving;
  GovernancePolicy governance;
  // Sorted by name.
  std::map<std::string, Entity, std::less<>> entities;
  std::map<std::string, DataSource, std::less<>> sources;
  std::map<std::string, FeatureView, std::less<>> feature_views;
  std::map<std::string, FeatureService, std::less<>> feature_services;
  std::map<std::string, OnDemandView, std::less<>> on_demand_views;

  // nullptr when absent.
  const Entity* FindEntity(absl::string_view name) const;
  const FeatureView* FindFeatureView(absl::string_view name) const;
  const FeatureService* FindFeatureService(absl::string_view name) const;
  const OnDemandView* FindOnDemandView(absl::string_view name) const;

  // Resolves "view:feature" or "view:*" into refs appended to `out`.
  // InvalidArgument naming the reference when malformed or unknown.
  absl::Status ResolveFeatureRef(absl::string_view ref, std::vector<FeatureRef>* out) const;

  // The features a request names: those of `feature_service` when it is not
  // empty, else `refs` resolved in order. InvalidArgument when both or
  // neither are given, the service is unknown, or a reference is bad.
  absl::StatusOr<std::vector<FeatureRef>> ResolveFeatures(
      absl::string_view feature_service, const std::vector<std::string>& refs) const;
};

// Parses and validates a feature repository.
//
// `source_name` names the text in error messages (usually the file path);
// `base_dir` is the folder relative paths resolve against. On failure returns
// InvalidArgument whose message lists every problem found, one per line, as
// "FILE:LINE:COLUMN: FIELD: what is wrong".
absl::StatusOr<std::shared_ptr<const Registry>> ParseRegistry(absl::string_view yaml,
                                                              absl::string_view source_name,
                                                              absl::string_view base_dir);

// Reads and parses a repository file; relative paths resolve against its
// folder. NotFound when the file cannot be read.
absl::StatusOr<std::shared_ptr<const Registry>> LoadRegistryFile(const std::string& path);

// Holds the current registry snapshot. Get and Set are thread-safe; a
// snapshot returned by Get stays valid for as long as the caller keeps it.
class RegistryHolder {
 public:
  explicit RegistryHolder(std::shared_ptr<const Registry> initial)
      : current_(std::move(initial)) {}
  std::shared_ptr<const Registry> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Set(std::shared_ptr<const Registry> next) {
    std::lock_guard<std::mutex> lock(mu_);
    current_.swap(next);
    // `next` (the old snapshot) is released outside readers' critical path.
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Registry> current_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_REGISTRY_REGISTRY_H_
