// ParseRegistry: YAML text -> validated Registry.
//
// The parser walks the document once, in a fixed order (project, stores,
// entities, sources, feature views, feature services) so that references can
// be checked against what was already read. It never stops at the first
// problem: every error is collected with the position yaml-cpp recorded for
// the offending node, and the list is sorted by position before it is
// returned, so the user fixes the file top to bottom in one pass.
//
// yaml-cpp reports problems by throwing; those exceptions are caught here and
// nowhere else, so none leaves this module.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/common/time.h"
#include "server/registry/registry.h"
#include "server/value/encoding.h"
#include "server/value/value.h"
#include "server/common/status.h"
#include "server/yaml/yaml_reader.h"
#include "yaml-cpp/yaml.h"

namespace pantry {
namespace {

using yaml::Child;
using yaml::Describe;
using yaml::DidYouMean;
using yaml::Element;
using yaml::Fields;
using yaml::IsValidName;
using yaml::KeyList;
using yaml::ParseByteSize;
using yaml::ParseTimeout;

constexpr absl::string_view kUnnamedSource = "<input>";


constexpr absl::string_view kTopLevelKeys[] = {
    "project", "online_store",  "offline_store",    "serving", "entities",
    "sources", "feature_views", "feature_services", "lineage", "on_demand_views", "governance"};
constexpr absl::string_view kGovernanceKeys[] = {"require_owner", "require_description",
                                                 "require_tags", "tag_values"};
constexpr absl::string_view kOnDemandViewKeys[] = {"name",  "inputs", "features", "owner",
                                                   "description", "tags"};
constexpr absl::string_view kOnDemandInputKeys[] = {"request", "features"};
constexpr absl::string_view kOnDemandFeatureKeys[] = {"name", "dtype", "expr", "description"};
constexpr absl::string_view kLineageKeys[] = {"path"};
constexpr absl::string_view kMaterializeKeys[] = {"every"};
constexpr absl::string_view kOnlineStoreKeys[] = {"type",
                                                  "host",
                                                  "port",
                                                  "address",
                                                  "username",
                                                  "password",
                                                  "password_env",
                                                  "password_file",
                                                  "db",
                                                  "pool_size",
                                                  "connect_timeout",
                                                  "request_timeout",
                                                  "key_ttl",
                                                  "max_pending_requests",
                                                  "nodes",
                                                  "wait_replicas",
                                                  "wait_timeout",
                                                  "tls"};
constexpr absl::string_view kRedisTlsKeys[] = {"ca_file", "cert_file", "key_file",
                                               "server_name"};
constexpr absl::string_view kOfflineStoreKeys[] = {"path", "memory_budget"};
constexpr absl::string_view kServingKeys[] = {
    "max_entities_per_request", "max_features_per_request", "max_write_rows_per_request"};
constexpr absl::string_view kEntityKeys[] = {"name", "join_keys", "value_type", "description"};
constexpr absl::string_view kSourceKeys[] = {
    "name",      "type",         "path",          "timestamp_field", "created_timestamp_field",
    "description", "schema",     "max_future",    "allowed_lateness", "stream",
    "group",     "redis",        "field_map",     "dead_letter_stream", "claim_idle",
    "batch"};
constexpr absl::string_view kSourceColumnKeys[] = {"name", "dtype"};
constexpr absl::string_view kSourceTypes[] = {"file", "redis_stream", "push"};
// Keys only a stream source takes.
constexpr absl::string_view kStreamOnlyKeys[] = {"stream",        "group",
                                                 "redis",         "field_map",
                                                 "dead_letter_stream", "claim_idle",
                                                 "batch",         "max_future"};
constexpr absl::string_view kFeatureViewKeys[] = {
    "name",   "entities", "ttl",  "online_ttl",  "source", "online",
    "owner",  "tags",     "description", "schema", "materialize", "aggregations"};
constexpr absl::string_view kAggregationKeys[] = {"name",   "function", "column",     "window",
                                                  "hop",    "n",        "description"};
constexpr absl::string_view kFeatureKeys[] = {"name", "dtype", "description", "tags"};
constexpr absl::string_view kFeatureServiceKeys[] = {"name", "features", "owner", "description",
                                                     "tags"};
constexpr absl::string_view kOnlineStoreTypes[] = {"memory", "redis", "redis_cluster"};

constexpr absl::string_view kEntityKeyTypes = "INT32, INT64, STRING, BYTES";




class RepoParser : public yaml::Reader {
 public:
  RepoParser(std::string source_name, std::string base_dir)
      : Reader(std::move(source_name), std::move(base_dir)) {}

  absl::StatusOr<std::shared_ptr<const Registry>> Parse(absl::string_view yaml);

 private:
  bool ReadValueType(const YAML::Node& node, absl::string_view path, ValueType* out);
  // "host:port" (or "[v6]:port") into its parts; an error naming `path` and false when malformed.
  bool ReadAddress(const YAML::Node& node, const std::string& path, std::string* host, int* port);

  // --- sections ----------------------------------------------------------
  void ParseOnlineStore(const YAML::Node& node);
  void ParseRedisPassword(const Fields& f, const std::string& path, OnlineStoreConfig* c);
  void ParseRedisTls(const YAML::Node& node, const std::string& path, OnlineStoreConfig::Tls* out);
  void ParseOfflineStore(const YAML::Node* node);
  void ParseServing(const YAML::Node& node);
  void ParseLineage(const YAML::Node* node);
  void ReadPath(const YAML::Node& node, const std::string& path, std::string* out);
  void ParseEntities(const YAML::Node& node);
  void ParseSources(const YAML::Node& node);
  void ParseSourceSchema(const YAML::Node& node, const std::string& path, DataSource* s);
  void ParseStreamSource(const Fields& f, const std::string& path, DataSource* s);
  void ParseFeatureViews(const YAML::Node& node);
  void ParseFeatureView(const Fields& f, const std::string& path,
                        std::map<std::string, int, std::less<>>* seen_views);
  // The aggregations of view `v` (its source already read), their
  // features and its event columns.
  void ParseAggregations(const YAML::Node& node, const std::string& path,
                         const YAML::Node* source_node,
                         const std::map<std::string, std::string>& key_owner, FeatureView* v);
  void ParseFeatureServices(const YAML::Node& node);
  void ParseOnDemandViews(const YAML::Node& node);

  // governance: the policy, then each governed object checked against it.
  void ParseGovernance(const YAML::Node& node);
  void CheckGovernance();

  struct Governed {
    enum class Kind { kView, kOnDemandView, kService } kind;
    std::string name;
    YAML::Node node;
  };
  std::vector<Governed> governed_;  // in document order
  std::shared_ptr<Registry> registry_;
};

bool RepoParser::ReadValueType(const YAML::Node& node, absl::string_view path, ValueType* out) {
  std::string text;
  if (!ReadString(node, path, &text)) return false;
  if (std::optional<ValueType> t = ParseValueType(text)) {
    *out = *t;
    return true;
  }
  Error(node, path,
        absl::StrCat("unknown type '", text, "'",
                     DidYouMean(absl::AsciiStrToUpper(text), ValueTypeNames()),
                     "; valid types: ", absl::StrJoin(ValueTypeNames(), ", ")));
  return false;
}

void RepoParser::ParseOnlineStore(const YAML::Node& node) {
  const std::string path = "online_store";
  if (!ExpectMap(node, path, "a map such as {type: redis, host: 127.0.0.1, port: 6379}")) return;
  const Fields f = ReadFields(node, path, kOnlineStoreKeys);
  OnlineStoreConfig& c = registry_->online_store;

  bool type_ok = true;
  if (const YAML::Node* n = f.Get("type")) {
    std::string type;
    type_ok = ReadString(*n, Child(path, "type"), &type);
    if (type_ok) {
      if (type == "memory") {
        c.type = OnlineStoreConfig::Type::kMemory;
      } else if (type == "redis") {
        c.type = OnlineStoreConfig::Type::kRedis;
      } else if (type == "redis_cluster") {
        c.type = OnlineStoreConfig::Type::kRedisCluster;
      } else {
        type_ok = false;
        Error(*n, Child(path, "type"),
              absl::StrCat("unknown online store type '", type, "'",
                           DidYouMean(type, kOnlineStoreTypes),
                           "; valid types: memory, redis, redis_cluster"));
      }
    }
  }
  // With a misspelt type the other keys are checked as Redis settings, which
  // is what they almost certainly are.
  if (type_ok && c.type == OnlineStoreConfig::Type::kMemory) {
    // Redis settings under a memory store are almost always a forgotten
    // `type: redis`; running in memory silently would lose data.
    for (const auto& [key, entry] : f.entries) {
      if (key != "type" && !entry.value.IsNull()) {
        Error(entry.key, Child(path, key),
              absl::StrCat("'", key,
                           "' applies only to the redis online store; add 'type: redis' or "
                           "remove it"));
      }
    }
    return;
  }

  const bool cluster = c.type == OnlineStoreConfig::Type::kRedisCluster;
  if (cluster) {
    for (absl::string_view key : {"host", "port", "address"}) {
      if (f.Has(key)) {
        ValueError(f, key, Child(path, key),
                   absl::StrCat("'", key,
                                "' is for type: redis; a Redis Cluster is given by 'nodes: "
                                "[host:port, ...]'"));
      }
    }
    const std::string npath = Child(path, "nodes");
    const YAML::Node* n = f.Get("nodes");
    if (n == nullptr) {
      Error(node, path,
            "type: redis_cluster needs 'nodes', a list of host:port of cluster nodes, e.g. "
            "[10.0.0.1:7000, 10.0.0.2:7000]");
    } else if (!n->IsSequence() || n->size() == 0) {
      Error(*n, npath, "must be a non-empty list of host:port, e.g. [10.0.0.1:7000]");
    } else {
      for (size_t i = 0; i < n->size(); ++i) {
        const YAML::Node item = (*n)[i];
        std::string host;
        int port = 0;
        if (ReadAddress(item, absl::StrCat(npath, "[", i, "]"), &host, &port)) {
          c.nodes.emplace_back(std::move(host), port);
        }
      }
    }
    if (const YAML::Node* d = f.Get("db"); d != nullptr && !(d->IsScalar() && d->Scalar() == "0")) {
      Error(*d, Child(path, "db"), "a Redis Cluster has only database 0; remove 'db'");
    }
  } else if (f.Has("nodes")) {
    ValueError(f, "nodes", Child(path, "nodes"),
               "'nodes' is for type: redis_cluster; a single Redis is given by 'address' or "
               "'host'/'port'");
  }
  if (cluster) {
    // Checked above.
  } else if (f.Has("address") && (f.Has("host") || f.Has("port"))) {
    ValueError(f, "address", Child(path, "address"),
               "give either 'address' or 'host'/'port', not both");
  } else if (const YAML::Node* n = f.Get("address")) {
    std::string host;
    int port = 0;
    if (ReadAddress(*n, Child(path, "address"), &host, &port)) {
      c.host = host;
      c.port = port;
    }
  } else {
    if (const YAML::Node* n = f.Get("host")) {
      if (ReadString(*n, Child(path, "host"), &c.host) && c.host.empty()) {
        Error(*n, Child(path, "host"), "must not be empty");
      }
    }
    OptionalInt(f, "port", path, 1, 65535, &c.port);
  }
  OptionalString(f, "username", path, &c.username);
  ParseRedisPassword(f, path, &c);
  if (!c.username.empty() && c.password.empty() && c.password_env.empty() &&
      c.password_file.empty()) {
    Error(node, path,
          "username is set but no password is (password, password_env or password_file); an ACL "
          "user needs both");
  }
  OptionalInt(f, "db", path, 0, std::numeric_limits<int>::max(), &c.db);
  OptionalInt(f, "pool_size", path, 1, 256, &c.pool_size);
  OptionalInt(f, "max_pending_requests", path, 1, std::numeric_limits<int>::max(),
              &c.max_pending_requests);
  for (auto [key, out] : {std::pair{"connect_timeout", &c.connect_timeout},
                          std::pair{"request_timeout", &c.request_timeout}}) {
    if (const YAML::Node* n = f.Get(key)) {
      Micros d = 0;
      if (ReadDuration(*n, Child(path, key), /*allow_ms=*/true, &d)) {
        if (d <= 0) {
          Error(*n, Child(path, key), "must be greater than 0");
        } else {
          *out = d;
        }
      }
    }
  }
  if (const YAML::Node* n = f.Get("key_ttl")) {
    ReadDuration(*n, Child(path, "key_ttl"), /*allow_ms=*/false, &c.key_ttl);
  }
  if (const YAML::Node* n = f.Get("tls")) ParseRedisTls(*n, Child(path, "tls"), &c.tls);
  OptionalInt(f, "wait_replicas", path, 0, 16, &c.wait_replicas);
  if (!cluster && (f.Has("wait_replicas") || f.Has("wait_timeout"))) {
    ValueError(f, f.Has("wait_replicas") ? "wait_replicas" : "wait_timeout",
               Child(path, f.Has("wait_replicas") ? "wait_replicas" : "wait_timeout"),
               "applies only to type: redis_cluster");
  }
  if (const YAML::Node* n = f.Get("wait_timeout")) {
    Micros d = 0;
    if (ReadDuration(*n, Child(path, "wait_timeout"), /*allow_ms=*/true, &d)) {
      if (d < 1000) {
        Error(*n, Child(path, "wait_timeout"),
              "must be at least 1ms (Redis' WAIT takes milliseconds; 0 would wait forever)");
      } else {
        c.wait_timeout = d;
      }
    }
  }
}

void RepoParser::ParseRedisPassword(const Fields& f, const std::string& path,
                                    OnlineStoreConfig* c) {
  const int given = f.Has("password") + f.Has("password_env") + f.Has("password_file");
  if (given > 1) {
    const char* second = f.Has("password") && f.Has("password_env") ? "password_env"
                                                                      : "password_file";
    ValueError(f, second, Child(path, second),
               "give one of password, password_env and password_file");
    return;
  }
  if (const YAML::Node* n = f.Get("password");
      n != nullptr && ReadString(*n, Child(path, "password"), &c->password)) {
    // Nothing expands variables in the repository file: a password written
    // as ${NAME} would be sent as these very characters.
    if (absl::StartsWith(c->password, "${") && absl::EndsWith(c->password, "}")) {
      Error(*n, Child(path, "password"),
            absl::StrCat("'", c->password, "' would be sent as written: variables are not "
                         "expanded; to take the password from pantryd's environment write "
                         "password_env: ",
                         c->password.substr(2, c->password.size() - 3)));
    }
  }
  if (const YAML::Node* n = f.Get("password_env");
      n != nullptr && ReadString(*n, Child(path, "password_env"), &c->password_env)) {
    const std::string& v = c->password_env;
    const bool valid = !v.empty() && !absl::ascii_isdigit(static_cast<unsigned char>(v[0])) &&
                       std::all_of(v.begin(), v.end(), [](char ch) {
                         return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_';
                       });
    if (!valid) {
      Error(*n, Child(path, "password_env"),
            absl::StrCat("'", v, "' is not an environment variable's name (letters, digits and "
                         "_, not starting with a digit), e.g. REDIS_PASSWORD"));
    }
  }
  if (const YAML::Node* n = f.Get("password_file")) {
    std::string p;
    if (ReadString(*n, Child(path, "password_file"), &p)) {
      if (p.empty()) {
        Error(*n, Child(path, "password_file"), "must not be empty");
      } else {
        c->password_file = ResolvePath(p);
      }
    }
  }
}

void RepoParser::ParseRedisTls(const YAML::Node& node, const std::string& path,
                               OnlineStoreConfig::Tls* out) {
  if (node.IsScalar()) {
    bool on = false;
    if (ReadBool(node, path, &on)) out->enabled = on;
    return;
  }
  if (!ExpectMap(node, path, "true, or a map such as {ca_file: ca.pem, server_name: redis.internal}")) {
    return;
  }
  const Fields f = ReadFields(node, path, kRedisTlsKeys);
  out->enabled = true;
  for (auto [key, dest] : {std::pair{"ca_file", &out->ca_file},
                           std::pair{"cert_file", &out->cert_file},
                           std::pair{"key_file", &out->key_file}}) {
    std::string p;
    if (const YAML::Node* n = f.Get(key); n != nullptr && ReadString(*n, Child(path, key), &p)) {
      if (p.empty()) {
        Error(*n, Child(path, key), "must not be empty");
      } else {
        *dest = ResolvePath(p);
      }
    }
  }
  if (f.Has("cert_file") != f.Has("key_file")) {
    Error(node, path, "cert_file and key_file go together (a client certificate and its key)");
  }
  OptionalString(f, "server_name", path, &out->server_name);
}

bool RepoParser::ReadAddress(const YAML::Node& node, const std::string& path, std::string* host_out,
                             int* port_out) {
  std::string address;
  if (!ReadString(node, path, &address)) return false;
  const size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:6379
  }
  int64_t port = 0;
  if (host.empty() || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      address.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos) {
    Error(node, path,
          absl::StrCat("invalid address '", address, "': expected host:port, e.g. 127.0.0.1:6379"));
    return false;
  }
  if (port < 1 || port > 65535) {
    Error(node, path,
          absl::StrCat("port ", port, " in address '", address,
                       "' is out of range: expected 1 to 65535"));
    return false;
  }
  *host_out = std::move(host);
  *port_out = static_cast<int>(port);
  return true;
}

void RepoParser::ParseOfflineStore(const YAML::Node* node) {
  registry_->offline_store.path = ResolvePath("offline");
  if (node == nullptr) return;
  const std::string path = "offline_store";
  if (!ExpectMap(*node, path, "a map such as {path: ./offline}")) return;
  const Fields f = ReadFields(*node, path, kOfflineStoreKeys);
  if (const YAML::Node* n = f.Get("path")) {
    ReadPath(*n, Child(path, "path"), &registry_->offline_store.path);
  }
  if (const YAML::Node* n = f.Get("memory_budget")) {
    std::string text;
    if (ReadString(*n, Child(path, "memory_budget"), &text)) {
      absl::StatusOr<int64_t> bytes = ParseByteSize(text);
      if (!bytes.ok()) {
        Error(*n, Child(path, "memory_budget"), bytes.status().message());
      } else if (*bytes < (int64_t{1} << 20)) {
        Error(*n, Child(path, "memory_budget"), "must be at least 1MiB");
      } else {
        registry_->offline_store.memory_budget_bytes = *bytes;
      }
    }
  }
}

// A non-empty path, resolved against the repository's folder into `*out`;
// `*out` is left alone on an error.
void RepoParser::ReadPath(const YAML::Node& node, const std::string& path, std::string* out) {
  std::string p;
  if (!ReadString(node, path, &p)) return;
  if (p.empty()) {
    Error(node, path, "must not be empty");
    return;
  }
  *out = ResolvePath(p);
}

void RepoParser::ParseLineage(const YAML::Node* node) {
  registry_->lineage_path =
      (std::filesystem::path(registry_->offline_store.path) / "lineage.jsonl").string();
  if (node == nullptr) return;
  const std::string path = "lineage";
  if (!ExpectMap(*node, path, "a map such as {path: ./lineage.jsonl}")) return;
  const Fields f = ReadFields(*node, path, kLineageKeys);
  if (const YAML::Node* n = f.Get("path")) {
    ReadPath(*n, Child(path, "path"), &registry_->lineage_path);
  }
}

void RepoParser::ParseServing(const YAML::Node& node) {
  const std::string path = "serving";
  if (!ExpectMap(node, path, "a map of request limits")) return;
  const Fields f = ReadFields(node, path, kServingKeys);
  ServingConfig& s = registry_->serving;
  constexpr int kMax = std::numeric_limits<int>::max();
  OptionalInt(f, "max_entities_per_request", path, 1, kMax, &s.max_entities_per_request);
  OptionalInt(f, "max_features_per_request", path, 1, kMax, &s.max_features_per_request);
  OptionalInt(f, "max_write_rows_per_request", path, 1, kMax, &s.max_write_rows_per_request);
}

void RepoParser::ParseEntities(const YAML::Node& node) {
  if (!ExpectList(node, "entities", "entities")) return;
  std::map<std::string, int, std::less<>> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string path = Element("entities", i);
    if (!ExpectMap(item, path, "an entity: a map with name, join_keys and value_type")) continue;
    const Fields f = ReadFields(item, path, kEntityKeys);
    Entity e;
    bool named = false;
    if (const YAML::Node* n = Required(f, "name", path)) {
      named = ReadName(*n, Child(path, "name"), &e.name) &&
              Unique(&seen, e.name, *n, Child(path, "name"), "entity");
    }
    if (const YAML::Node* n = Required(f, "join_keys", path)) {
      const std::string kpath = Child(path, "join_keys");
      std::vector<std::pair<std::string, YAML::Node>> keys;
      if (ReadScalarList(*n, kpath, &keys)) {
        if (keys.empty()) Error(*n, kpath, "an entity needs at least one join key");
        std::map<std::string, int, std::less<>> seen_keys;
        for (size_t k = 0; k < keys.size(); ++k) {
          const auto& [key, key_node] = keys[k];
          const std::string key_path = Element(kpath, k);
          if (!IsValidName(key)) {
            Error(key_node, key_path,
                  absl::StrCat("invalid join key name '", key,
                               "': a name starts with a letter or '_' and contains only "
                               "letters, digits and '_'"));
          } else if (Unique(&seen_keys, key, key_node, key_path, "join key", "listed")) {
            e.join_keys.push_back(key);
          }
        }
      }
    }
    if (const YAML::Node* n = Required(f, "value_type", path)) {
      const std::string tpath = Child(path, "value_type");
      ValueType t = ValueType::kInt64;
      if (ReadValueType(*n, tpath, &t)) {
        if (t == ValueType::kInt32 || t == ValueType::kInt64 || t == ValueType::kString ||
            t == ValueType::kBytes) {
          e.value_type = t;
        } else {
          Error(*n, tpath,
                absl::StrCat("type ", ValueTypeName(t),
                             " cannot be an entity key type; use one of ", kEntityKeyTypes));
        }
      }
    }
    OptionalString(f, "description", path, &e.description);
    // Kept even when other fields are wrong, so references to it do not
    // produce a second, misleading error.
    if (named) registry_->entities.emplace(e.name, std::move(e));
  }
}

void RepoParser::ParseSources(const YAML::Node& node) {
  if (!ExpectList(node, "sources", "data sources")) return;
  std::map<std::string, int, std::less<>> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string path = Element("sources", i);
    if (!ExpectMap(item, path, "a data source: a map with name, path and timestamp_field")) {
      continue;
    }
    const Fields f = ReadFields(item, path, kSourceKeys);
    DataSource s;
    bool named = false;
    if (const YAML::Node* n = Required(f, "name", path)) {
      named = ReadName(*n, Child(path, "name"), &s.name) &&
              Unique(&seen, s.name, *n, Child(path, "name"), "data source");
    }
    if (const YAML::Node* n = f.Get("type")) {
      std::string type;
      if (ReadString(*n, Child(path, "type"), &type)) {
        if (type == "redis_stream") {
          s.type = DataSource::Type::kRedisStream;
        } else if (type == "push") {
          s.type = DataSource::Type::kPush;
        } else if (type != "file") {
          Error(*n, Child(path, "type"),
                absl::StrCat("unknown source type '", type, "': expected ",
                             absl::StrJoin(kSourceTypes, " or "), DidYouMean(type, kSourceTypes)));
        }
      }
    }
    if (s.is_stream()) {
      ParseStreamSource(f, path, &s);
    } else if (s.type == DataSource::Type::kPush) {
      for (absl::string_view key : kStreamOnlyKeys) {
        if (f.Has(key)) {
          ValueError(f, key, Child(path, key),
                     absl::StrCat("'", key, "' is for sources of type: redis_stream"));
        }
      }
      if (f.Has("path")) {
        ValueError(f, "path", Child(path, "path"),
                   "a push source has no path: its offline history is what pantryd ingests "
                   "(<offline_store.path>/views/<view>/)");
      }
      if (!f.Has("schema")) Required(f, "schema", path);  // reports it missing
    } else {
      for (absl::string_view key : kStreamOnlyKeys) {
        if (f.Has(key)) {
          ValueError(f, key, Child(path, key),
                     absl::StrCat("'", key, "' is for sources of type: redis_stream"));
        }
      }
      if (const YAML::Node* n = Required(f, "path", path)) {
        std::string p;
        if (ReadString(*n, Child(path, "path"), &p)) {
          if (p.empty()) {
            Error(*n, Child(path, "path"), "must not be empty");
          } else {
            s.path = ResolvePath(p);
          }
        }
      }
    }
    if (const YAML::Node* n = f.Get("schema")) ParseSourceSchema(*n, Child(path, "schema"), &s);
    if (const YAML::Node* n = Required(f, "timestamp_field", path)) {
      if (ReadString(*n, Child(path, "timestamp_field"), &s.timestamp_field) &&
          s.timestamp_field.empty()) {
        Error(*n, Child(path, "timestamp_field"), "must not be empty");
      }
    }
    OptionalString(f, "created_timestamp_field", path, &s.created_timestamp_field);
    OptionalString(f, "description", path, &s.description);
    if (const YAML::Node* n = f.Get("allowed_lateness")) {
      ReadDuration(*n, Child(path, "allowed_lateness"), /*allow_ms=*/true, &s.allowed_lateness);
    }
    if (named) registry_->sources.emplace(s.name, std::move(s));
  }
}

void RepoParser::ParseSourceSchema(const YAML::Node& node, const std::string& path,
                                   DataSource* s) {
  if (!ExpectList(node, path, "columns: a list of {name, dtype}")) return;
  std::map<std::string, int, std::less<>> seen;
  for (size_t k = 0; k < node.size(); ++k) {
    const YAML::Node cnode = node[k];
    const std::string cpath = Element(path, k);
    if (!ExpectMap(cnode, cpath, "a column: a map with name and dtype")) continue;
    const Fields cf = ReadFields(cnode, cpath, kSourceColumnKeys);
    SourceColumn column;
    bool ok = false;
    if (const YAML::Node* n = Required(cf, "name", cpath)) {
      ok = ReadName(*n, Child(cpath, "name"), &column.name) &&
           Unique(&seen, column.name, *n, Child(cpath, "name"), "column");
    }
    if (const YAML::Node* n = Required(cf, "dtype", cpath)) {
      ok = ReadValueType(*n, Child(cpath, "dtype"), &column.dtype) && ok;
    }
    if (ok) s->schema.push_back(std::move(column));
  }
}

void RepoParser::ParseStreamSource(const Fields& f, const std::string& path, DataSource* s) {
  if (f.Has("path")) {
    ValueError(f, "path", Child(path, "path"),
               "a redis_stream source has no path: its offline history is what pantryd "
               "ingests (<offline_store.path>/views/<view>/)");
  }
  StreamSource& st = s->stream;
  for (const char* key : {"stream", "group"}) {
    if (const YAML::Node* n = Required(f, key, path)) {
      std::string* out = std::string(key) == "stream" ? &st.stream : &st.group;
      if (ReadString(*n, Child(path, key), out) && out->empty()) {
        Error(*n, Child(path, key), "must not be empty");
      }
    }
  }
  if (!f.Has("schema")) {
    Required(f, "schema", path);  // reports it missing
  }
  if (const YAML::Node* n = f.Get("redis")) {
    ReadAddress(*n, Child(path, "redis"), &st.host, &st.port);
  } else if (registry_->online_store.type == OnlineStoreConfig::Type::kMemory) {
    Error(*f.Get("type"), Child(path, "type"),
          "a redis_stream source needs a Redis: give redis: HOST:PORT (the online store is "
          "memory)");
  }
  if (const YAML::Node* n = f.Get("field_map")) {
    const std::string mpath = Child(path, "field_map");
    std::map<std::string, std::string> map;
    if (ReadTags(*n, mpath, &map)) {
      std::map<std::string, std::string> to_field;  // column -> field
      for (const auto& [field, column] : map) {
        if (column.empty()) {
          Error(*n, Child(mpath, field), "must name a column");
        } else if (auto [it, inserted] = to_field.emplace(column, field); !inserted) {
          Error(*n, Child(mpath, field),
                absl::StrCat("fields '", it->second, "' and '", field, "' both map to column '",
                             column, "'"));
        }
      }
      st.field_map = std::move(map);
    }
  }
  // In the stream's hash slot, so that a replay moves an entry atomically.
  {
    const size_t open = st.stream.find('{');
    const size_t close = open == std::string::npos ? open : st.stream.find('}', open + 1);
    const bool tagged = close != std::string::npos && close > open + 1;
    st.dead_letter_stream =
        tagged ? st.stream + ":dead-letters" : absl::StrCat("{", st.stream, "}:dead-letters");
  }
  if (const YAML::Node* n = f.Get("dead_letter_stream")) {
    const std::string dpath = Child(path, "dead_letter_stream");
    if (ReadString(*n, dpath, &st.dead_letter_stream)) {
      if (st.dead_letter_stream.empty()) {
        Error(*n, dpath, "must not be empty");
      } else if (st.dead_letter_stream == st.stream) {
        Error(*n, dpath, "must not be the source's stream itself");
      }
    }
  }
  if (const YAML::Node* n = f.Get("claim_idle")) {
    const std::string cpath = Child(path, "claim_idle");
    if (ReadDuration(*n, cpath, /*allow_ms=*/true, &st.claim_idle) && st.claim_idle < kMicrosPerSecond) {
      Error(*n, cpath, "must be at least 1s (a live consumer must not lose its entries)");
    }
  }
  OptionalInt(f, "batch", path, 1, 10000, &st.batch);
  if (const YAML::Node* n = f.Get("max_future")) {
    ReadDuration(*n, Child(path, "max_future"), /*allow_ms=*/true, &s->max_future);
  }
}

void RepoParser::ParseFeatureViews(const YAML::Node& node) {
  if (!ExpectList(node, "feature_views", "feature views")) return;
  std::map<std::string, int, std::less<>> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string path = Element("feature_views", i);
    if (!ExpectMap(item, path, "a feature view: a map with name, entities and schema")) continue;
    const Fields f = ReadFields(item, path, kFeatureViewKeys);
    ParseFeatureView(f, path, &seen);
  }
}

void RepoParser::ParseFeatureView(const Fields& f, const std::string& path,
                                  std::map<std::string, int, std::less<>>* seen_views) {
  FeatureView v;
  bool named = false;
  if (const YAML::Node* n = Required(f, "name", path)) {
    named = ReadName(*n, Child(path, "name"), &v.name) &&
            Unique(seen_views, v.name, *n, Child(path, "name"), "feature view");
  }

  // Entities and their join keys.
  std::map<std::string, std::string> key_owner;  // join key -> entity
  if (const YAML::Node* n = Required(f, "entities", path)) {
    const std::string epath = Child(path, "entities");
    std::vector<std::pair<std::string, YAML::Node>> names;
    if (ReadScalarList(*n, epath, &names)) {
      if (names.empty()) Error(*n, epath, "a feature view needs at least one entity");
      std::map<std::string, int, std::less<>> seen;
      for (size_t k = 0; k < names.size(); ++k) {
        const auto& [name, name_node] = names[k];
        const std::string name_path = Element(epath, k);
        if (!Unique(&seen, name, name_node, name_path, "entity", "listed")) continue;
        v.entities.push_back(name);
        const Entity* e = registry_->FindEntity(name);
        if (e == nullptr) {
          std::vector<absl::string_view> known;
          for (const auto& [known_name, unused] : registry_->entities) known.push_back(known_name);
          Error(name_node, name_path,
                absl::StrCat("unknown entity '", name, "'", DidYouMean(name, known)));
          continue;
        }
        for (const std::string& key : e->join_keys) {
          auto [it, inserted] = key_owner.emplace(key, e->name);
          if (!inserted) {
            Error(name_node, name_path,
                  absl::StrCat("join key '", key, "' of entity '", e->name,
                               "' is also a join key of entity '", it->second,
                               "'; the join keys of a feature view must be unique"));
            continue;
          }
          v.join_keys.push_back({key, e->value_type});
        }
      }
    }
  }
  std::sort(v.join_keys.begin(), v.join_keys.end(),
            [](const JoinKey& a, const JoinKey& b) { return a.name < b.name; });

  if (const YAML::Node* n = f.Get("ttl")) {
    ReadDuration(*n, Child(path, "ttl"), /*allow_ms=*/false, &v.ttl);
  }
  v.online_ttl = registry_->online_store.key_ttl;
  if (const YAML::Node* n = f.Get("online_ttl")) {
    ReadDuration(*n, Child(path, "online_ttl"), /*allow_ms=*/false, &v.online_ttl);
  }
  if (const YAML::Node* n = f.Get("source")) {
    const std::string spath = Child(path, "source");
    if (ReadString(*n, spath, &v.source) && registry_->sources.count(v.source) == 0) {
      std::vector<absl::string_view> known;
      for (const auto& [known_name, unused] : registry_->sources) known.push_back(known_name);
      Error(*n, spath,
            absl::StrCat("unknown data source '", v.source, "'", DidYouMean(v.source, known)));
    }
  }
  if (const YAML::Node* n = f.Get("online")) ReadBool(*n, Child(path, "online"), &v.online);
  if (const YAML::Node* n = f.Get("materialize")) {
    const std::string mpath = Child(path, "materialize");
    if (ExpectMap(*n, mpath, "a map such as {every: 15m}")) {
      const Fields mf = ReadFields(*n, mpath, kMaterializeKeys);
      if (const YAML::Node* e = Required(mf, "every", mpath)) {
        const std::string epath = Child(mpath, "every");
        if (ReadDuration(*e, epath, /*allow_ms=*/false, &v.materialize_every) &&
            v.materialize_every <= 0) {
          Error(*e, epath, "must be more than 0 (leave materialize out for no schedule)");
        }
      }
      if (!v.online) {
        Error(*n, mpath, "the view is not online (online: false): there is nothing to materialize into");
      } else if (f.Get("source") == nullptr) {
        Error(*n, mpath, "the view has no source to materialize from");
      }
    }
  }
  OptionalString(f, "owner", path, &v.owner);
  OptionalString(f, "description", path, &v.description);
  OptionalTags(f, path, &v.tags);

  const YAML::Node* aggregations = f.Get("aggregations");
  if (aggregations != nullptr) {
    if (f.Has("schema")) {
      ValueError(f, "schema", Child(path, "schema"),
                 "an aggregation view serves its aggregations: remove schema (the columns of "
                 "its events are the source's schema)");
    }
    if (f.Has("ttl")) {
      ValueError(f, "ttl", Child(path, "ttl"),
                 "ttl does not apply to an aggregation view: each aggregation's window bounds "
                 "the events it reads");
    }
    ParseAggregations(*aggregations, Child(path, "aggregations"), f.Get("source"), key_owner, &v);
  } else if (const YAML::Node* n = Required(f, "schema", path)) {
    const std::string spath = Child(path, "schema");
    if (ExpectList(*n, spath, "features")) {
      if (n->size() == 0) Error(*n, spath, "a feature view needs at least one feature");
      std::map<std::string, int, std::less<>> seen;
      std::map<uint32_t, std::string> by_id;  // FeatureId -> name
      for (size_t k = 0; k < n->size(); ++k) {
        const YAML::Node fnode = (*n)[k];
        const std::string fpath = Element(spath, k);
        if (!ExpectMap(fnode, fpath, "a feature: a map with name and dtype")) continue;
        const Fields ff = ReadFields(fnode, fpath, kFeatureKeys);
        Feature feature;
        bool feature_ok = true;
        if (const YAML::Node* nn = Required(ff, "name", fpath)) {
          const std::string npath = Child(fpath, "name");
          feature_ok = ReadName(*nn, npath, &feature.name) &&
                       Unique(&seen, feature.name, *nn, npath, "feature");
          if (feature_ok) {
            if (auto it = key_owner.find(feature.name); it != key_owner.end()) {
              Error(*nn, npath,
                    absl::StrCat("feature '", feature.name,
                                 "' has the name of a join key of entity '", it->second,
                                 "'; rename the feature"));
            }
            auto [it, inserted] = by_id.emplace(FeatureId(feature.name), feature.name);
            if (!inserted) {
              Error(*nn, npath,
                    absl::StrCat("feature '", feature.name, "' has the same online id (FNV-1a ",
                                 it->first, ") as feature '", it->second,
                                 "' of this view; rename one of them"));
            }
          }
        } else {
          feature_ok = false;
        }
        if (const YAML::Node* nn = Required(ff, "dtype", fpath)) {
          ReadValueType(*nn, Child(fpath, "dtype"), &feature.dtype);
        }
        OptionalString(ff, "description", fpath, &feature.description);
        OptionalTags(ff, fpath, &feature.tags);
        if (feature_ok) v.schema.push_back(std::move(feature));
      }
    }
  }
  // A view fed by a stream takes its columns from the source's schema.
  if (const YAML::Node* n = f.Get("source")) {
    auto src = registry_->sources.find(v.source);
    if (src != registry_->sources.end() && !src->second.has_files() && !v.is_aggregation()) {
      const DataSource& source = src->second;
      std::vector<std::string> missing;
      for (const JoinKey& k : v.join_keys) {
        if (source.FindColumn(k.name) == nullptr) missing.push_back(k.name);
      }
      for (const Feature& feature : v.schema) {
        if (source.FindColumn(feature.name) == nullptr) missing.push_back(feature.name);
      }
      if (!missing.empty()) {
        Error(*n, Child(path, "source"),
              absl::StrCat(source.is_stream() ? "stream" : "push", " source '", source.name,
                           "' has no column ", absl::StrJoin(missing, ", "),
                           " in its schema; every join key and feature of a view fed by a ",
                           source.is_stream() ? "stream" : "push source",
                           " is a column of the source"));
      }
    }
  }
  if (named) {
    governed_.push_back({Governed::Kind::kView, v.name, f.map});
    registry_->feature_views.emplace(v.name, std::move(v));
  }
}

void RepoParser::ParseAggregations(const YAML::Node& node, const std::string& path,
                                   const YAML::Node* source_node,
                                   const std::map<std::string, std::string>& key_owner,
                                   FeatureView* v) {
  if (!ExpectList(node, path, "aggregations: a list of {name, function, column, window, hop}")) {
    return;
  }
  if (node.size() == 0) Error(node, path, "an aggregation view needs at least one aggregation");
  // The source's columns: the events' shape.
  const std::string source_path = Child(path.substr(0, path.rfind('.')), "source");
  const DataSource* source = nullptr;
  if (source_node == nullptr) {
    Error(node, path, "an aggregation view needs a source of raw events (source:)");
  } else if (auto it = registry_->sources.find(v->source); it != registry_->sources.end()) {
    source = &it->second;
    if (source->schema.empty()) {
      Error(*source_node, source_path,
            absl::StrCat("source '", source->name,
                         "' declares no schema; an aggregation view needs the dtypes of its "
                         "events: list the source's columns under schema:"));
      source = nullptr;
    }
  }
  if (source != nullptr) {
    std::vector<std::string> missing;
    for (const JoinKey& k : v->join_keys) {
      const SourceColumn* c = source->FindColumn(k.name);
      if (c == nullptr) {
        missing.push_back(k.name);
      } else if (c->dtype != k.value_type &&
                 !(IsWideningOf(c->dtype, k.value_type) || IsWideningOf(k.value_type, c->dtype))) {
        Error(*source_node, source_path,
              absl::StrCat("source '", source->name, "' column '", k.name, "' is ",
                           ValueTypeName(c->dtype), " but the join key is ",
                           ValueTypeName(k.value_type)));
      }
    }
    if (!missing.empty()) {
      Error(*source_node, source_path,
            absl::StrCat("source '", source->name, "' has no column ", absl::StrJoin(missing, ", "),
                         " in its schema; the join keys of an aggregation view are columns of "
                         "its events"));
    }
    for (const SourceColumn& c : source->schema) {
      if (key_owner.count(c.name) != 0 || c.name == source->timestamp_field ||
          c.name == source->created_timestamp_field) {
        continue;
      }
      Feature column;
      column.name = c.name;
      column.dtype = c.dtype;
      v->event_columns.push_back(std::move(column));
    }
  }
  std::vector<absl::string_view> column_names;
  if (source != nullptr) {
    for (const SourceColumn& c : source->schema) column_names.push_back(c.name);
  }
  std::map<std::string, int, std::less<>> seen;
  for (size_t k = 0; k < node.size(); ++k) {
    const YAML::Node anode = node[k];
    const std::string apath = Element(path, k);
    if (!ExpectMap(anode, apath, "an aggregation: a map with name, function, column, window")) {
      continue;
    }
    const Fields af = ReadFields(anode, apath, kAggregationKeys);
    Aggregation a;
    bool ok = true;
    if (const YAML::Node* n = Required(af, "name", apath)) {
      const std::string npath = Child(apath, "name");
      ok = ReadName(*n, npath, &a.name) && Unique(&seen, a.name, *n, npath, "aggregation");
      if (ok) {
        if (auto it = key_owner.find(a.name); it != key_owner.end()) {
          Error(*n, npath,
                absl::StrCat("aggregation '", a.name, "' has the name of a join key of entity '",
                             it->second, "'; rename the aggregation"));
        }
      }
    } else {
      ok = false;
    }
    bool function_ok = false;
    if (const YAML::Node* n = Required(af, "function", apath)) {
      std::string name;
      if (ReadString(*n, Child(apath, "function"), &name)) {
        if (auto fn = ParseAggFunction(name)) {
          a.function = *fn;
          function_ok = true;
        } else {
          Error(*n, Child(apath, "function"),
                absl::StrCat("unknown function '", name, "': expected one of ",
                             absl::StrJoin(AggFunctionNames(), ", "),
                             DidYouMean(name, AggFunctionNames())));
        }
      }
    }
    ok = ok && function_ok;
    std::optional<ValueType> column_type;
    if (const YAML::Node* n = af.Get("column")) {
      const std::string cpath = Child(apath, "column");
      if (ReadString(*n, cpath, &a.column) && source != nullptr) {
        const SourceColumn* c = source->FindColumn(a.column);
        if (c == nullptr) {
          Error(*n, cpath,
                absl::StrCat("source '", source->name, "' has no column '", a.column,
                             "' in its schema", DidYouMean(a.column, column_names)));
          ok = false;
        } else if (key_owner.count(a.column) != 0 || a.column == source->timestamp_field ||
                   a.column == source->created_timestamp_field) {
          Error(*n, cpath,
                absl::StrCat("'", a.column, "' is a join key or a timestamp field, not a column "
                             "of the events to aggregate"));
          ok = false;
        } else {
          column_type = c->dtype;
          a.column_type = c->dtype;
        }
      } else {
        ok = false;
      }
    } else if (function_ok && a.function != AggFunction::kCount) {
      Error(anode, apath,
            absl::StrCat(AggFunctionName(a.function),
                         " needs a column (only count counts events without one)"));
      ok = false;
    }
    if (ok) {
      std::optional<ValueType> result = AggregationResultType(a.function, column_type);
      if (!result.has_value()) {
        Error(*af.Get("column"), Child(apath, "column"),
              absl::StrCat(AggFunctionName(a.function), " does not fit column '", a.column,
                           "' of type ", ValueTypeName(*column_type),
                           a.function == AggFunction::kSum || a.function == AggFunction::kMean ||
                                   a.function == AggFunction::kStddev
                               ? " (it needs INT32, INT64, FLOAT or DOUBLE)"
                           : a.function == AggFunction::kMin || a.function == AggFunction::kMax
                               ? " (it needs a number or a UNIX_TIMESTAMP)"
                               : " (it needs a scalar type, not a list)"));
        ok = false;
      } else {
        a.dtype = *result;
      }
    }
    if (const YAML::Node* n = af.Get("n")) {
      if (function_ok && a.function != AggFunction::kLastN) {
        Error(*n, Child(apath, "n"), "n is for last_n only");
      } else {
        ReadInt(*n, Child(apath, "n"), 1, 1000, &a.n);
      }
    } else if (function_ok && a.function == AggFunction::kLastN) {
      Error(anode, apath, "last_n needs n: how many of the latest values to keep (1 to 1000)");
    }
    if (const YAML::Node* n = Required(af, "window", apath)) {
      const std::string wpath = Child(apath, "window");
      if (ReadDuration(*n, wpath, /*allow_ms=*/false, &a.window) && a.window <= 0) {
        Error(*n, wpath, "must be more than 0");
      }
    }
    if (const YAML::Node* n = af.Get("hop")) {
      const std::string hpath = Child(apath, "hop");
      if (ReadDuration(*n, hpath, /*allow_ms=*/false, &a.hop)) {
        if (a.hop <= 0) {
          Error(*n, hpath, "must be more than 0");
        } else if (a.window > 0 && a.window % a.hop != 0) {
          Error(*n, hpath,
                absl::StrCat("window ", FormatDuration(a.window), " is not a multiple of hop ",
                             FormatDuration(a.hop)));
        }
      }
    } else if (a.window > 0) {
      a.hop = DefaultHop(a.window);
    }
    OptionalString(af, "description", apath, &a.description);
    if (ok) {
      Feature feature;
      feature.name = a.name;
      feature.dtype = a.dtype;
      feature.description = a.description;
      v->schema.push_back(std::move(feature));
      v->aggregations.push_back(std::move(a));
    }
  }
}

void RepoParser::ParseOnDemandViews(const YAML::Node& node) {
  if (!ExpectList(node, "on_demand_views", "on-demand views")) return;
  std::map<std::string, int, std::less<>> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string path = Element("on_demand_views", i);
    if (!ExpectMap(item, path, "an on-demand view: a map with name, inputs and features")) continue;
    const Fields f = ReadFields(item, path, kOnDemandViewKeys);
    OnDemandView v;
    bool named = false;
    if (const YAML::Node* n = Required(f, "name", path)) {
      const std::string npath = Child(path, "name");
      named = ReadName(*n, npath, &v.name) && Unique(&seen, v.name, *n, npath, "on-demand view");
      if (named && registry_->feature_views.count(v.name) != 0) {
        Error(*n, npath,
              absl::StrCat("'", v.name, "' is also a feature view; names of views are unique"));
        named = false;
      }
    }
    // What its expressions may use: request columns, then features.
    std::vector<expr::ExprInput> inputs;
    if (const YAML::Node* n = Required(f, "inputs", path)) {
      const std::string ipath = Child(path, "inputs");
      if (ExpectMap(*n, ipath, "a map with request and features")) {
        const Fields inf = ReadFields(*n, ipath, kOnDemandInputKeys);
        if (const YAML::Node* r = inf.Get("request")) {
          DataSource columns;
          ParseSourceSchema(*r, Child(ipath, "request"), &columns);
          v.request = std::move(columns.schema);
        }
        if (const YAML::Node* fs = inf.Get("features")) {
          const std::string fpath = Child(ipath, "features");
          std::vector<std::pair<std::string, YAML::Node>> refs;
          if (ReadScalarList(*fs, fpath, &refs)) {
            for (size_t k = 0; k < refs.size(); ++k) {
              std::vector<FeatureRef> resolved;
              const absl::string_view view_name =
                  absl::string_view(refs[k].first).substr(0, refs[k].first.find(':'));
              if (registry_->FindFeatureView(view_name) == nullptr) {
                Error(refs[k].second, Element(fpath, k),
                      absl::StrCat("'", refs[k].first,
                                   "' is not a feature of a feature view (an on-demand view "
                                   "reads feature views only)"));
                continue;
              }
              const absl::Status st = registry_->ResolveFeatureRef(refs[k].first, &resolved);
              if (!st.ok()) {
                Error(refs[k].second, Element(fpath, k), st.message());
                continue;
              }
              for (FeatureRef& r : resolved) {
                const FeatureView* fv = registry_->FindFeatureView(r.view);
                v.input_dtypes.push_back(fv->schema[static_cast<size_t>(fv->FeatureIndex(r.feature))].dtype);
                v.inputs.push_back(std::move(r));
              }
            }
          }
        }
      }
    }
    for (const SourceColumn& c : v.request) inputs.push_back({c.name, c.dtype});
    for (size_t k = 0; k < v.inputs.size(); ++k) {
      inputs.push_back({absl::StrCat(v.inputs[k].view, ".", v.inputs[k].feature), v.input_dtypes[k]});
    }
    if (const YAML::Node* n = Required(f, "features", path)) {
      const std::string fpath = Child(path, "features");
      if (ExpectList(*n, fpath, "features: a list of {name, dtype, expr}")) {
        if (n->size() == 0) Error(*n, fpath, "an on-demand view needs at least one feature");
        std::map<std::string, int, std::less<>> seen_features;
        for (size_t k = 0; k < n->size(); ++k) {
          const YAML::Node fnode = (*n)[k];
          const std::string kpath = Element(fpath, k);
          if (!ExpectMap(fnode, kpath, "a feature: a map with name, dtype and expr")) continue;
          const Fields ff = ReadFields(fnode, kpath, kOnDemandFeatureKeys);
          OnDemandFeature feature;
          bool ok = false;
          if (const YAML::Node* nn = Required(ff, "name", kpath)) {
            ok = ReadName(*nn, Child(kpath, "name"), &feature.name) &&
                 Unique(&seen_features, feature.name, *nn, Child(kpath, "name"), "feature");
          }
          bool typed = false;
          if (const YAML::Node* nn = Required(ff, "dtype", kpath)) {
            typed = ReadValueType(*nn, Child(kpath, "dtype"), &feature.dtype);
          }
          if (const YAML::Node* nn = Required(ff, "expr", kpath)) {
            const std::string epath = Child(kpath, "expr");
            if (ReadString(*nn, epath, &feature.expr) && typed) {
              absl::StatusOr<std::unique_ptr<const expr::Expr>> compiled =
                  expr::Expr::Compile(feature.expr, inputs, feature.dtype);
              if (compiled.ok()) {
                feature.compiled = std::shared_ptr<const expr::Expr>(*std::move(compiled));
              } else {
                Error(*nn, epath, compiled.status().message());
                ok = false;
              }
            } else {
              ok = false;
            }
          } else {
            ok = false;
          }
          OptionalString(ff, "description", kpath, &feature.description);
          if (ok && typed) v.features.push_back(std::move(feature));
        }
      }
    }
    OptionalString(f, "owner", path, &v.owner);
    OptionalString(f, "description", path, &v.description);
    OptionalTags(f, path, &v.tags);
    if (named) {
      governed_.push_back({Governed::Kind::kOnDemandView, v.name, item});
      registry_->on_demand_views.emplace(v.name, std::move(v));
    }
  }
}

void RepoParser::ParseFeatureServices(const YAML::Node& node) {
  if (!ExpectList(node, "feature_services", "feature services")) return;
  std::map<std::string, int, std::less<>> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string path = Element("feature_services", i);
    if (!ExpectMap(item, path, "a feature service: a map with name and features")) continue;
    const Fields f = ReadFields(item, path, kFeatureServiceKeys);
    FeatureService s;
    bool named = false;
    if (const YAML::Node* n = Required(f, "name", path)) {
      named = ReadName(*n, Child(path, "name"), &s.name) &&
              Unique(&seen, s.name, *n, Child(path, "name"), "feature service");
    }
    if (const YAML::Node* n = Required(f, "features", path)) {
      const std::string fpath = Child(path, "features");
      std::vector<std::pair<std::string, YAML::Node>> refs;
      if (ReadScalarList(*n, fpath, &refs)) {
        if (refs.empty()) Error(*n, fpath, "a feature service needs at least one feature");
        std::set<std::string, std::less<>> included;
        for (size_t k = 0; k < refs.size(); ++k) {
          std::vector<FeatureRef> resolved;
          const absl::Status st = registry_->ResolveFeatureRef(refs[k].first, &resolved);
          if (!st.ok()) {
            Error(refs[k].second, Element(fpath, k), st.message());
            continue;
          }
          // "view:*" followed by "view:f" (or the reverse) lists f twice;
          // the first position is kept.
          for (FeatureRef& r : resolved) {
            if (included.insert(r.ToString()).second) s.features.push_back(std::move(r));
          }
        }
      }
    }
    OptionalString(f, "owner", path, &s.owner);
    OptionalString(f, "description", path, &s.description);
    OptionalTags(f, path, &s.tags);
    if (named) {
      governed_.push_back({Governed::Kind::kService, s.name, item});
      registry_->feature_services.emplace(s.name, std::move(s));
    }
  }
}


void RepoParser::ParseGovernance(const YAML::Node& node) {
  const std::string path = "governance";
  if (!ExpectMap(node, path,
                 "a map with require_owner, require_description, require_tags, tag_values")) {
    return;
  }
  const Fields f = ReadFields(node, path, kGovernanceKeys);
  GovernancePolicy& g = registry_->governance;
  if (const YAML::Node* n = f.Get("require_owner")) {
    ReadBool(*n, Child(path, "require_owner"), &g.require_owner);
  }
  if (const YAML::Node* n = f.Get("require_description")) {
    ReadBool(*n, Child(path, "require_description"), &g.require_description);
  }
  if (const YAML::Node* n = f.Get("require_tags")) {
    std::vector<std::pair<std::string, YAML::Node>> items;
    if (ReadScalarList(*n, Child(path, "require_tags"), &items)) {
      for (auto& [tag, item] : items) g.require_tags.push_back(std::move(tag));
    }
  }
  if (const YAML::Node* n = f.Get("tag_values")) {
    const std::string tpath = Child(path, "tag_values");
    if (ExpectMap(*n, tpath, "a map of tag names to the values allowed")) {
      for (const auto& pair : *n) {
        const std::string tag = pair.first.IsScalar() ? pair.first.Scalar() : std::string();
        std::vector<std::pair<std::string, YAML::Node>> items;
        if (tag.empty() || !ReadScalarList(pair.second, Child(tpath, tag), &items)) continue;
        std::vector<std::string>& values = g.tag_values[tag];
        for (auto& [v, item] : items) values.push_back(std::move(v));
      }
    }
  }
}

void RepoParser::CheckGovernance() {
  const GovernancePolicy& g = registry_->governance;
  for (const Governed& o : governed_) {
    const std::string* owner = nullptr;
    const std::string* description = nullptr;
    const std::map<std::string, std::string>* tags = nullptr;
    const char* kind = "";
    switch (o.kind) {
      case Governed::Kind::kView:
        if (const FeatureView* v = registry_->FindFeatureView(o.name)) {
          owner = &v->owner, description = &v->description, tags = &v->tags;
        }
        kind = "feature view";
        break;
      case Governed::Kind::kOnDemandView:
        if (const OnDemandView* d = registry_->FindOnDemandView(o.name)) {
          owner = &d->owner, description = &d->description, tags = &d->tags;
        }
        kind = "on-demand view";
        break;
      case Governed::Kind::kService:
        if (const FeatureService* v = registry_->FindFeatureService(o.name)) {
          owner = &v->owner, description = &v->description, tags = &v->tags;
        }
        kind = "feature service";
        break;
    }
    if (owner == nullptr) continue;
    std::vector<std::string> missing;
    if (g.require_owner && owner->empty()) missing.push_back("an owner");
    if (g.require_description && description->empty()) missing.push_back("a description");
    for (const std::string& t : g.require_tags) {
      if (tags->count(t) == 0) missing.push_back(absl::StrCat("tag '", t, "'"));
    }
    const std::string where = absl::StrCat(kind, " '", o.name, "'");
    if (!missing.empty()) {
      Error(o.node, where,
            absl::StrCat("lacks what the governance policy requires: ",
                         absl::StrJoin(missing, ", ")));
    }
    for (const auto& [tag, allowed] : g.tag_values) {
      auto it = tags->find(tag);
      if (it == tags->end() || allowed.empty()) continue;
      if (std::find(allowed.begin(), allowed.end(), it->second) == allowed.end()) {
        Error(o.node, where,
              absl::StrCat("tag ", tag, ": '", it->second, "' is not one the governance policy "
                           "allows (", absl::StrJoin(allowed, ", "), ")"));
      }
    }
  }
}

absl::StatusOr<std::shared_ptr<const Registry>> RepoParser::Parse(absl::string_view yaml) {
  registry_ = std::make_shared<Registry>();
  registry_->source_file = source_name();
  registry_->base_dir = base_dir();
  registry_->yaml = std::string(yaml);

  std::optional<YAML::Node> document = Load(registry_->yaml, "a feature repository");
  if (document.has_value()) {
    if (document->IsNull()) {
      ErrorAt(YAML::Mark(), "project",
              "the feature repository is empty; it needs at least 'project: NAME'");
    } else if (ExpectMap(*document, "(top level)",
                         "a map with project, entities, sources, feature_views, ...")) {
      const YAML::Node& root = *document;
      const Fields f = ReadFields(root, "", kTopLevelKeys);
      if (const YAML::Node* n = Required(f, "project", "")) {
        ReadName(*n, "project", &registry_->project);
      }
      if (const YAML::Node* n = f.Get("online_store")) ParseOnlineStore(*n);
      ParseOfflineStore(f.Get("offline_store"));
      if (const YAML::Node* n = f.Get("serving")) ParseServing(*n);
      if (const YAML::Node* n = f.Get("entities")) ParseEntities(*n);
      if (const YAML::Node* n = f.Get("sources")) ParseSources(*n);
      if (const YAML::Node* n = f.Get("feature_views")) ParseFeatureViews(*n);
      if (const YAML::Node* n = f.Get("on_demand_views")) ParseOnDemandViews(*n);
      if (const YAML::Node* n = f.Get("feature_services")) ParseFeatureServices(*n);
      ParseLineage(f.Get("lineage"));
      if (const YAML::Node* n = f.Get("governance")) {
        ParseGovernance(*n);
        CheckGovernance();
      }
    }
  }

  PANTRY_RETURN_IF_ERROR(Finish());
  return std::shared_ptr<const Registry>(std::move(registry_));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Registry>> ParseRegistry(absl::string_view yaml,
                                                              absl::string_view source_name,
                                                              absl::string_view base_dir) {
  // A relative base_dir would make "absolute" paths depend on the working
  // directory of whoever reads them later; pin it now.
  std::error_code ec;
  std::filesystem::path base(base_dir.empty() ? std::string(".") : std::string(base_dir));
  std::filesystem::path absolute = std::filesystem::absolute(base, ec);
  if (ec) absolute = base;
  std::string base_str = absolute.lexically_normal().string();
  while (base_str.size() > 1 && base_str.back() == '/') base_str.pop_back();

  RepoParser parser(std::string(source_name.empty() ? kUnnamedSource : source_name),
                    std::move(base_str));
  try {
    return parser.Parse(yaml);
  } catch (const YAML::Exception& e) {
    // Traversal does not throw by design; this is the last line of defense.
    return absl::InvalidArgumentError(
        absl::StrCat(source_name.empty() ? kUnnamedSource : source_name, ":", e.mark.line + 1, ":",
                     e.mark.column + 1, ": invalid YAML: ", e.msg));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("parsing feature repository '", source_name, "': ", e.what()));
  }
}

}  // namespace pantry
