// pantry: the admin CLI, built on the client SDK.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/cli/audit_cmd.h"
#include "client/cli/bench.h"
#include "client/cli/historical_bench.h"
#include "client/cli/lineage_cmd.h"
#include "client/cli/materialize_bench.h"
#include "client/cli/parquet_bench.h"
#include "client/cli/parquet_cmd.h"
#include "server/value/json_values.h"
#include "client/cli/ingest_cmd.h"
#include "client/cli/materialize_cmd.h"
#include "client/cli/online_cmd.h"
#include "client/cli/output.h"
#include "nlohmann/json.hpp"
#include "pantry/client.h"
#include "server/common/file.h"
#include "server/common/time.h"
#include "server/offline/columns.h"
#include "server/parquet/reader.h"
#include "server/service/convert.h"

namespace pantry::cli {
namespace {

using nlohmann::json;

struct Globals {
  std::string server;
  std::string output = "table";
  int timeout_ms = 10000;
  std::string token;  // --token, else $PANTRY_TOKEN
  std::string tls_ca, tls_cert, tls_key, tls_server_name;  // files and name
  ClientOptions client;  // all of the above, the files read (Resolve)
};

// Reads the token and TLS files into g->client; an error naming the file.
absl::Status Resolve(Globals* g) {
  ClientOptions& c = g->client;
  c.address = g->server;
  c.timeout = std::chrono::milliseconds(g->timeout_ms);
  c.token = g->token;
  if (c.token.empty()) {
    const char* env = std::getenv("PANTRY_TOKEN");
    if (env != nullptr) c.token = env;
  }
  c.tls = !g->tls_ca.empty() || !g->tls_cert.empty() || !g->tls_key.empty();
  if (g->tls_cert.empty() != g->tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together (a client certificate "
                                      "and its private key)");
  }
  const std::pair<const std::string*, std::string*> files[] = {
      {&g->tls_ca, &c.tls_ca_pem}, {&g->tls_cert, &c.tls_cert_pem}, {&g->tls_key, &c.tls_key_pem}};
  for (const auto& [path, pem] : files) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> text = ReadWholeFile(*path, "TLS file");
    if (!text.ok()) return text.status();
    *pem = *std::move(text);
  }
  c.tls_server_name = g->tls_server_name;
  return absl::OkStatus();
}

std::unique_ptr<Client> Connect(const Globals& g) { return Client::Create(g.client); }

std::string TypeName(v1::ValueType t) {
  auto type = FromProto(t);
  return type ? std::string(ValueTypeName(*type)) : "UNSPECIFIED";
}

std::string Tags(const google::protobuf::Map<std::string, std::string>& tags) {
  std::map<std::string, std::string> sorted(tags.begin(), tags.end());
  return absl::StrJoin(sorted, ",", absl::PairFormatter("="));
}

// ---- apply ----------------------------------------------------------------

int Apply(const Globals& g, const std::string& file) {
  std::ifstream in(file);
  if (!in) return BadInput(absl::StrCat("cannot read '", file, "'"));
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string base_dir =
      std::filesystem::absolute(file).parent_path().lexically_normal().string();
  auto client = Connect(g);
  auto applied = client->Apply(buf.str(), base_dir, file);
  if (!applied.ok()) {
    const std::string message(applied.status().message());
    if (message.find('\n') != std::string::npos) {
      std::cerr << "pantry: apply rejected, nothing changed ("
                << absl::StatusCodeToString(applied.status().code()) << "):\n";
      for (absl::string_view line : absl::StrSplit(message, '\n')) std::cerr << "  " << line << "\n";
      return kBadInput;
    }
    return Fail(applied.status(), "apply rejected, nothing changed");
  }
  if (g.output == "json") {
    std::cout << json{{"project", applied->project()},
                      {"entities", applied->entities()},
                      {"sources", applied->sources()},
                      {"feature_views", applied->feature_views()},
                      {"feature_services", applied->feature_services()}}
                     .dump()
              << "\n";
  } else {
    std::cout << "applied " << file << ": project " << applied->project() << ", "
              << applied->entities() << " entities, " << applied->sources() << " sources, "
              << applied->feature_views() << " feature views, " << applied->feature_services()
              << " feature services\n";
  }
  return 0;
}

// ---- list / describe --------------------------------------------------------

json ViewJson(const v1::FeatureViewSpec& v) {
  json features = json::array();
  for (const auto& f : v.features()) {
    features.push_back({{"name", f.name()},
                        {"dtype", TypeName(f.dtype())},
                        {"description", f.description()},
                        {"tags", json(std::map<std::string, std::string>(f.tags().begin(), f.tags().end()))}});
  }
  json keys = json::array();
  for (const auto& k : v.join_keys()) keys.push_back({{"name", k.name()}, {"value_type", TypeName(k.value_type())}});
  json out_aggregations = json::array();
  for (const auto& a : v.aggregations()) {
    out_aggregations.push_back({{"name", a.name()},
                                {"function", a.function()},
                                {"column", a.column()},
                                {"window", FormatDuration(a.window_seconds() * kMicrosPerSecond)},
                                {"hop", FormatDuration(a.hop_seconds() * kMicrosPerSecond)}});
    if (a.function() == "last_n") out_aggregations.back()["n"] = a.n();
  }
  json event_columns = json::array();
  for (const auto& c : v.event_columns()) {
    event_columns.push_back({{"name", c.name()}, {"dtype", TypeName(c.dtype())}});
  }
  if (v.aggregations_size() > 0) {
    return {{"name", v.name()},
            {"entities", std::vector<std::string>(v.entities().begin(), v.entities().end())},
            {"join_keys", keys},
            {"source", v.source()},
            {"online", v.online()},
            {"owner", v.owner()},
            {"description", v.description()},
            {"tags", json(std::map<std::string, std::string>(v.tags().begin(), v.tags().end()))},
            {"aggregations", out_aggregations},
            {"event_columns", event_columns},
            {"features", features}};
  }
  return {{"name", v.name()},
          {"entities", std::vector<std::string>(v.entities().begin(), v.entities().end())},
          {"join_keys", keys},
          {"ttl", FormatDuration(v.ttl_seconds() * kMicrosPerSecond)},
          {"source", v.source()},
          {"online", v.online()},
          {"owner", v.owner()},
          {"description", v.description()},
          {"tags", json(std::map<std::string, std::string>(v.tags().begin(), v.tags().end()))},
          {"features", features}};
}

json OnDemandJson(const v1::OnDemandViewSpec& v) {
  json features = json::array();
  for (const auto& f : v.features()) {
    features.push_back({{"name", f.name()},
                        {"dtype", TypeName(f.dtype())},
                        {"expr", f.expr()},
                        {"description", f.description()}});
  }
  json request = json::array();
  for (const auto& c : v.request()) request.push_back({{"name", c.name()}, {"dtype", TypeName(c.dtype())}});
  return {{"name", v.name()},
          {"request", request},
          {"inputs", std::vector<std::string>(v.inputs().begin(), v.inputs().end())},
          {"features", features},
          {"owner", v.owner()},
          {"tags", json(std::map<std::string, std::string>(v.tags().begin(), v.tags().end()))},
          {"description", v.description()}};
}

// ---- search -------------------------------------------------------------

// Views, on-demand views, features and services whose name, description,
// owner or tags contain `text` (ignoring case).
int Search(const Globals& g, const std::string& text) {
  if (text.empty()) return BadInput("search: give the text to look for");
  auto client = Connect(g);
  auto views = client->ListFeatureViews();
  if (!views.ok()) return Fail(views.status(), "search");
  auto services = client->ListFeatureServices();
  if (!services.ok()) return Fail(services.status(), "search");
  const std::string needle = absl::AsciiStrToLower(text);
  auto has = [&](const std::string& s) {
    return absl::StrContains(absl::AsciiStrToLower(s), needle);
  };
  struct Hit {
    std::string kind, name, owner;
    std::vector<std::string> where;
  };
  std::vector<Hit> hits;
  auto look = [&](const std::string& kind, const std::string& name, const std::string& owner,
                  const std::string& description,
                  const google::protobuf::Map<std::string, std::string>& tags) {
    Hit h{kind, name, owner, {}};
    if (has(name)) h.where.push_back("name");
    if (has(description)) h.where.push_back("description");
    if (has(owner)) h.where.push_back("owner");
    std::map<std::string, std::string> sorted(tags.begin(), tags.end());
    for (const auto& [k, v] : sorted) {
      if (has(k) || has(v)) h.where.push_back(absl::StrCat("tag ", k, "=", v));
    }
    return h;
  };
  for (const auto& v : views->feature_views()) {
    Hit h = look("feature view", v.name(), v.owner(), v.description(), v.tags());
    if (!h.where.empty()) hits.push_back(h);
    for (const auto& f : v.features()) {
      Hit fh = look("feature", absl::StrCat(v.name(), ":", f.name()), v.owner(), f.description(),
                    f.tags());
      if (!fh.where.empty()) hits.push_back(fh);
    }
  }
  for (const auto& v : views->on_demand_views()) {
    Hit h = look("on-demand view", v.name(), v.owner(), v.description(), v.tags());
    if (!h.where.empty()) hits.push_back(h);
    for (const auto& f : v.features()) {
      Hit fh = look("feature", absl::StrCat(v.name(), ":", f.name()), v.owner(), f.description(),
                    google::protobuf::Map<std::string, std::string>());
      if (has(f.expr())) fh.where.push_back("expression");
      if (!fh.where.empty()) hits.push_back(fh);
    }
  }
  for (const auto& s : services->feature_services()) {
    Hit h = look("feature service", s.name(), s.owner(), s.description(), s.tags());
    if (!h.where.empty()) hits.push_back(h);
  }
  if (g.output == "json") {
    json out = json::array();
    for (const Hit& h : hits) {
      out.push_back({{"kind", h.kind}, {"name", h.name}, {"owner", h.owner}, {"matched", h.where}});
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Hit& h : hits) rows.push_back({h.kind, h.name, h.owner, absl::StrJoin(h.where, ", ")});
  PrintTable({"KIND", "NAME", "OWNER", "MATCHED"}, rows);
  return 0;
}

int List(const Globals& g, const std::string& what) {
  auto client = Connect(g);
  const bool all = what.empty() || what == "all";
  if (!all && what != "entities" && what != "views" && what != "feature-views" &&
      what != "services" && what != "feature-services") {
    return BadInput(absl::StrCat("unknown list '", what, "': use entities, views or services"));
  }
  json out = json::object();
  if (all || what == "entities") {
    auto r = client->ListEntities();
    if (!r.ok()) return Fail(r.status(), "list entities");
    if (g.output == "json") {
      json list = json::array();
      for (const auto& e : r->entities()) {
        list.push_back({{"name", e.name()},
                        {"join_keys", std::vector<std::string>(e.join_keys().begin(), e.join_keys().end())},
                        {"value_type", TypeName(e.value_type())},
                        {"description", e.description()}});
      }
      out["entities"] = list;
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : r->entities()) {
        rows.push_back({e.name(), absl::StrJoin(e.join_keys(), ","), TypeName(e.value_type()),
                        e.description()});
      }
      std::cout << "ENTITIES (project " << r->project() << ")\n";
      PrintTable({"NAME", "JOIN KEYS", "TYPE", "DESCRIPTION"}, rows);
      if (all) std::cout << "\n";
    }
  }
  if (all || what == "views" || what == "feature-views") {
    auto r = client->ListFeatureViews();
    if (!r.ok()) return Fail(r.status(), "list feature views");
    if (g.output == "json") {
      json list = json::array();
      for (const auto& v : r->feature_views()) list.push_back(ViewJson(v));
      out["feature_views"] = list;
      json on_demand = json::array();
      for (const auto& v : r->on_demand_views()) on_demand.push_back(OnDemandJson(v));
      out["on_demand_views"] = on_demand;
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& v : r->feature_views()) {
        rows.push_back({v.name(), absl::StrJoin(v.entities(), ","),
                        std::to_string(v.features_size()),
                        v.aggregations_size() > 0
                            ? std::string("(windows)")
                            : FormatDuration(v.ttl_seconds() * kMicrosPerSecond),
                        v.online() ? "yes" : "no", v.owner(), Tags(v.tags())});
      }
      std::cout << "FEATURE VIEWS\n";
      PrintTable({"NAME", "ENTITIES", "FEATURES", "TTL", "ONLINE", "OWNER", "TAGS"}, rows);
      if (r->on_demand_views_size() > 0) {
        rows.clear();
        for (const auto& v : r->on_demand_views()) {
          std::vector<std::string> request;
          for (const auto& c : v.request()) request.push_back(c.name());
          rows.push_back({v.name(), std::to_string(v.features_size()), absl::StrJoin(request, ","),
                          absl::StrJoin(v.inputs(), ","), v.owner()});
        }
        std::cout << "\nON-DEMAND VIEWS\n";
        PrintTable({"NAME", "FEATURES", "REQUEST DATA", "INPUTS", "OWNER"}, rows);
      }
      if (all) std::cout << "\n";
    }
  }
  if (all || what == "services" || what == "feature-services") {
    auto r = client->ListFeatureServices();
    if (!r.ok()) return Fail(r.status(), "list feature services");
    if (g.output == "json") {
      json list = json::array();
      for (const auto& s : r->feature_services()) {
        list.push_back({{"name", s.name()},
                        {"features", std::vector<std::string>(s.features().begin(), s.features().end())},
                        {"owner", s.owner()},
                        {"description", s.description()}});
      }
      out["feature_services"] = list;
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& s : r->feature_services()) {
        rows.push_back({s.name(), std::to_string(s.features_size()), s.owner(), s.description()});
      }
      std::cout << "FEATURE SERVICES\n";
      PrintTable({"NAME", "FEATURES", "OWNER", "DESCRIPTION"}, rows);
    }
  }
  if (g.output == "json") std::cout << out.dump() << "\n";
  return 0;
}

int Describe(const Globals& g, const std::string& name) {
  auto client = Connect(g);
  auto view = client->GetFeatureView(name);
  if (view.ok()) {
    if (g.output == "json") {
      std::cout << ViewJson(*view).dump() << "\n";
      return 0;
    }
    std::cout << "feature view " << view->name() << "\n"
              << "  entities:    " << absl::StrJoin(view->entities(), ", ") << "\n"
              << (view->aggregations_size() > 0
                      ? std::string()
                      : absl::StrCat("  ttl:         ",
                                     FormatDuration(view->ttl_seconds() * kMicrosPerSecond), "\n"))
              << "  source:      " << view->source() << "\n"
              << "  online:      " << (view->online() ? "yes" : "no") << "\n"
              << "  owner:       " << view->owner() << "\n"
              << "  tags:        " << Tags(view->tags()) << "\n"
              << "  description: " << view->description() << "\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : view->join_keys()) rows.push_back({k.name(), TypeName(k.value_type()), "join key"});
    if (view->aggregations_size() > 0) {
      for (const auto& c : view->event_columns()) {
        rows.push_back({c.name(), TypeName(c.dtype()), "event column"});
      }
      PrintTable({"COLUMN", "TYPE", "DESCRIPTION"}, rows);
      rows.clear();
      for (int i = 0; i < view->aggregations_size(); ++i) {
        const auto& a = view->aggregations(i);
        std::string function = a.function();
        if (function == "last_n") absl::StrAppend(&function, "(", a.n(), ")");
        rows.push_back({a.name(), TypeName(view->features(i).dtype()), function,
                        a.column().empty() ? "(events)" : a.column(),
                        FormatDuration(a.window_seconds() * kMicrosPerSecond),
                        FormatDuration(a.hop_seconds() * kMicrosPerSecond)});
      }
      std::cout << "\n";
      PrintTable({"AGGREGATION", "TYPE", "FUNCTION", "OF", "WINDOW", "HOP"}, rows);
      return 0;
    }
    for (const auto& f : view->features()) rows.push_back({f.name(), TypeName(f.dtype()), f.description()});
    PrintTable({"COLUMN", "TYPE", "DESCRIPTION"}, rows);
    return 0;
  }
  if (view.status().code() != absl::StatusCode::kNotFound) return Fail(view.status(), "describe");
  auto services = client->ListFeatureServices();
  if (!services.ok()) return Fail(services.status(), "describe");
  for (const auto& s : services->feature_services()) {
    if (s.name() != name) continue;
    if (g.output == "json") {
      std::cout << json{{"name", s.name()},
                        {"features", std::vector<std::string>(s.features().begin(), s.features().end())},
                        {"owner", s.owner()},
                        {"description", s.description()}}
                       .dump()
                << "\n";
    } else {
      std::cout << "feature service " << s.name() << "\n  owner: " << s.owner()
                << "\n  description: " << s.description() << "\n  features:\n";
      for (const auto& f : s.features()) std::cout << "    " << f << "\n";
    }
    return 0;
  }
  auto views = client->ListFeatureViews();
  if (!views.ok()) return Fail(views.status(), "describe");
  for (const auto& v : views->on_demand_views()) {
    if (v.name() != name) continue;
    if (g.output == "json") {
      std::cout << OnDemandJson(v).dump() << "\n";
      return 0;
    }
    std::cout << "on-demand view " << v.name() << "\n"
              << "  inputs:      " << absl::StrJoin(v.inputs(), ", ") << "\n"
              << "  owner:       " << v.owner() << "\n"
              << "  tags:        " << Tags(v.tags()) << "\n"
              << "  description: " << v.description() << "\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : v.request()) rows.push_back({c.name(), TypeName(c.dtype())});
    if (!rows.empty()) {
      PrintTable({"REQUEST DATA", "TYPE"}, rows);
      std::cout << "\n";
    }
    rows.clear();
    for (const auto& f : v.features()) rows.push_back({f.name(), TypeName(f.dtype()), f.expr()});
    PrintTable({"FEATURE", "TYPE", "EXPRESSION"}, rows);
    return 0;
  }
  std::cerr << "pantry: describe: no feature view, on-demand view or feature service named '"
            << name << "'\n";
  return kBadInput;
}

// ---- get-online ---------------------------------------------------------------

struct GetOnlineArgs {
  std::string features;
  std::string service;
  std::vector<std::string> entities;
  std::string entities_file;
  bool full_feature_names = false;
};

int GetOnline(const Globals& g, const GetOnlineArgs& a) {
  if (a.features.empty() == a.service.empty()) {
    return BadInput("get-online: give exactly one of --features or --service");
  }
  if (a.entities.empty() == a.entities_file.empty()) {
    return BadInput("get-online: give --entity (one or more) or --entities-file");
  }
  auto client = Connect(g);
  // The join key types come from the registry, so values typed on the
  // command line get the type the server expects.
  auto views = client->ListFeatureViews();
  if (!views.ok()) return Fail(views.status(), "get-online");
  // Only the requested views count: two entities may use the same join key
  // name with different types.
  std::set<std::string> wanted;
  if (!a.service.empty()) {
    auto services = client->ListFeatureServices();
    if (!services.ok()) return Fail(services.status(), "get-online");
    bool known = false;
    for (const auto& s : services->feature_services()) {
      if (s.name() != a.service) continue;
      known = true;
      for (const auto& ref : s.features()) wanted.insert(ref.substr(0, ref.find(':')));
    }
    if (!known) return BadInput(absl::StrCat("get-online: unknown feature service '", a.service, "'"));
  } else {
    for (absl::string_view ref : absl::StrSplit(a.features, ',', absl::SkipEmpty())) {
      wanted.insert(std::string(ref.substr(0, ref.find(':'))));
    }
  }
  // On-demand views read the views of their inputs and request data.
  std::map<std::string, ValueType> request_types;
  for (const auto& odv : views->on_demand_views()) {
    if (wanted.count(odv.name()) == 0) continue;
    wanted.erase(odv.name());
    for (const std::string& input : odv.inputs()) wanted.insert(input.substr(0, input.find(':')));
    for (const auto& c : odv.request()) {
      if (auto t = FromProto(c.dtype())) request_types[c.name()] = *t;
    }
  }
  for (const std::string& name : wanted) {
    bool exists = false;
    for (const auto& v : views->feature_views()) exists = exists || v.name() == name;
    if (exists) continue;
    // Not listed: unknown, or (with auth on) not one the caller may describe.
    absl::StatusOr<v1::FeatureViewSpec> view = client->GetFeatureView(name);
    if (!view.ok()) return Fail(view.status(), "get-online");
    *views->add_feature_views() = *std::move(view);
  }
  std::map<std::string, ValueType> key_types;
  for (const auto& v : views->feature_views()) {
    if (wanted.count(v.name()) == 0) continue;
    for (const auto& k : v.join_keys()) {
      if (auto t = FromProto(k.value_type())) key_types[k.name()] = *t;
    }
  }
  // Request data of on-demand features rides in the entity rows too.
  for (const auto& [name, type] : request_types) key_types.try_emplace(name, type);
  auto key_type = [&](const std::string& key) -> absl::StatusOr<ValueType> {
    auto it = key_types.find(key);
    if (it == key_types.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", key, "' is neither a join key of the requested feature views nor request data of "
          "their on-demand features"));
    }
    return it->second;
  };

  std::vector<std::string> key_order;
  std::map<std::string, std::vector<Value>> columns;
  size_t rows = 0;
  auto add_row = [&](const std::vector<std::pair<std::string, Value>>& row,
                     const std::string& where) -> absl::Status {
    std::vector<std::string> names;
    for (const auto& [k, v] : row) names.push_back(k);
    if (rows == 0) {
      key_order = names;
    } else {
      std::vector<std::string> a1 = names, b1 = key_order;
      std::sort(a1.begin(), a1.end());
      std::sort(b1.begin(), b1.end());
      if (a1 != b1) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": has join keys ", absl::StrJoin(names, ","), " but the first row has ",
            absl::StrJoin(key_order, ",")));
      }
    }
    for (const auto& [k, v] : row) columns[k].push_back(v);
    ++rows;
    return absl::OkStatus();
  };

  if (!a.entities_file.empty()) {
    std::ifstream in(a.entities_file);
    if (!in) return BadInput(absl::StrCat("cannot read '", a.entities_file, "'"));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = absl::StrCat(a.entities_file, ":", n);
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        return BadInput(absl::StrCat(where, ": not a JSON object"));
      }
      std::vector<std::pair<std::string, Value>> row;
      for (auto& [k, v] : j.items()) {
        auto type = key_type(k);
        if (!type.ok()) return BadInput(absl::StrCat(where, ": ", type.status().message()));
        auto value = JsonToValue(v, *type);
        if (!value.ok()) {
          return BadInput(absl::StrCat(where, ": join key '", k, "': ", value.status().message()));
        }
        row.emplace_back(k, *std::move(value));
      }
      if (auto s = add_row(row, where); !s.ok()) return BadInput(s.message());
    }
  } else {
    for (const std::string& spec : a.entities) {
      std::vector<std::pair<std::string, Value>> row;
      for (absl::string_view part : absl::StrSplit(spec, ',')) {
        const size_t eq = part.find('=');
        if (eq == absl::string_view::npos || eq == 0) {
          return BadInput(absl::StrCat("--entity '", spec, "': expected key=value[,key2=value2]"));
        }
        const std::string k(part.substr(0, eq));
        auto type = key_type(k);
        if (!type.ok()) return BadInput(absl::StrCat("--entity '", spec, "': ", type.status().message()));
        auto value = TextToValue(part.substr(eq + 1), *type);
        if (!value.ok()) return BadInput(absl::StrCat("--entity '", spec, "': join key '", k, "': ", value.status().message()));
        row.emplace_back(k, *std::move(value));
      }
      if (auto s = add_row(row, absl::StrCat("--entity '", spec, "'")); !s.ok()) return BadInput(s.message());
    }
  }
  if (rows == 0) return BadInput("get-online: no entity rows given");

  OnlineQuery query;
  if (!a.service.empty()) {
    query.feature_service = a.service;
  } else {
    for (absl::string_view f : absl::StrSplit(a.features, ',', absl::SkipEmpty())) {
      query.features.emplace_back(f);
    }
  }
  query.full_feature_names = a.full_feature_names;
  for (const std::string& k : key_order) {
    if (request_types.count(k) != 0) {
      query.request_data.emplace_back(k, columns[k]);
    } else {
      query.entities.emplace_back(k, columns[k]);
    }
  }
  auto result = client->GetOnlineFeatures(query);
  if (!result.ok()) return Fail(result.status(), "get-online");

  if (g.output == "json") {
    for (size_t r = 0; r < rows; ++r) {
      // Ordered: keys come out in request order, as documented.
      using ojson = nlohmann::ordered_json;
      ojson entity = ojson::object(), values = ojson::object(), statuses = ojson::object(),
            times = ojson::object();
      for (const std::string& k : key_order) entity[k] = ValueToJson(columns[k][r]);
      for (size_t f = 0; f < result->columns.size(); ++f) {
        const auto& cell = result->columns[f][r];
        const std::string& ref = result->feature_refs[f];
        values[ref] = ValueToJson(cell.value);
        statuses[ref] = std::string(ValueStatusName(cell.status));
        times[ref] = cell.event_time_us == 0 ? ojson() : ojson(FormatRfc3339(cell.event_time_us));
      }
      std::cout << ojson{{"entity", entity}, {"values", values}, {"statuses", statuses},
                         {"event_timestamps", times}}
                       .dump()
                << "\n";
    }
    return 0;
  }
  std::vector<std::string> header = key_order;
  for (const auto& name : result->feature_names) header.push_back(name);
  std::vector<std::vector<std::string>> table;
  for (size_t r = 0; r < rows; ++r) {
    std::vector<std::string> line;
    for (const std::string& k : key_order) line.push_back(columns[k][r].DebugString());
    for (size_t f = 0; f < result->columns.size(); ++f) {
      const auto& cell = result->columns[f][r];
      line.push_back(cell.status == ValueStatus::kPresent
                         ? cell.value.DebugString()
                         : absl::StrCat("(", ValueStatusName(cell.status), ")"));
    }
    table.push_back(std::move(line));
  }
  PrintTable(header, table);
  return 0;
}

// ---- write ----------------------------------------------------------------------

// The column types of `view`: join keys and features by name, and which
// names are join keys.
struct ViewColumns {
  std::map<std::string, ValueType> types;
  std::set<std::string> join_keys;
};

// Reads the view's definition from pantryd. Exit code 0, or the error's.
int LoadViewColumns(Client& client, const std::string& view_name, const char* command,
                    ViewColumns* out) {
  auto view = client.GetFeatureView(view_name);
  if (!view.ok()) return Fail(view.status(), command);
  std::map<std::string, ValueType>& types = out->types;
  std::set<std::string>& join_keys = out->join_keys;
  for (const auto& k : view->join_keys()) {
    auto type = FromProto(k.value_type());
    if (!type) return BadInput(absl::StrCat("join key '", k.name(), "' has a type this CLI does not know"));
    types[k.name()] = *type;
    join_keys.insert(k.name());
  }
  // An aggregation view is written its raw events' columns.
  const auto& columns = view->aggregations_size() > 0 ? view->event_columns() : view->features();
  for (const auto& f : columns) {
    auto type = FromProto(f.dtype());
    if (!type) return BadInput(absl::StrCat("column '", f.name(), "' has a type this CLI does not know"));
    types[f.name()] = *type;
  }
  return 0;
}

// Reads rows of a view from a JSON lines file: every line is checked before
// anything is sent, so bad input writes nothing. Exit code 0 or 2 (naming
// file:line).
int ReadJsonlRows(const ViewColumns& view, const std::string& view_name, const std::string& file,
                  std::vector<WriteRow>* rows_out) {
  const std::map<std::string, ValueType>& types = view.types;
  const std::set<std::string>& join_keys = view.join_keys;
  std::ifstream in(file);
  if (!in) return BadInput(absl::StrCat("cannot read '", file, "'"));
  std::vector<WriteRow>& rows = *rows_out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = absl::StrCat(file, ":", n);
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return BadInput(absl::StrCat(where, ": not a JSON object"));
    WriteRow row;
    bool has_time = false;
    for (auto& [k, v] : j.items()) {
      if (k == "event_timestamp") {
        if (!v.is_string()) return BadInput(absl::StrCat(where, ": event_timestamp must be an RFC 3339 string"));
        auto t = ParseRfc3339(v.get<std::string>());
        if (!t.ok()) return BadInput(absl::StrCat(where, ": event_timestamp: ", t.status().message()));
        // The server's rules, checked here too so that no batch is sent
        // before a later line is found bad.
        if (*t <= 0) return BadInput(absl::StrCat(where, ": event_timestamp must be after 1970"));
        if (*t > NowMicros() + kMaxEventTimeAhead) {
          return BadInput(absl::StrCat(where, ": event_timestamp is more than a day in the future"));
        }
        row.event_time_us = *t;
        has_time = true;
        continue;
      }
      auto it = types.find(k);
      if (it == types.end()) {
        return BadInput(absl::StrCat(where, ": '", k, "' is neither a join key nor a feature of ", view_name));
      }
      if (v.is_null() && join_keys.count(k) > 0) {
        return BadInput(absl::StrCat(where, ": join key '", k, "' is null"));
      }
      auto value = JsonToValue(v, it->second);
      if (!value.ok()) return BadInput(absl::StrCat(where, ": '", k, "': ", value.status().message()));
      row.values.emplace_back(k, *std::move(value));
    }
    if (!has_time) return BadInput(absl::StrCat(where, ": missing event_timestamp"));
    for (const auto& [name, type] : types) {
      bool present = false;
      for (const auto& [k, v] : row.values) present = present || k == name;
      if (!present) return BadInput(absl::StrCat(where, ": missing '", name, "'"));
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return BadInput(absl::StrCat(file, ": no rows"));
  return 0;
}

// Reads rows of a view from a Parquet file: a column per join key and
// feature, named as them, and `event_timestamp` (a TIMESTAMP, DATE or INT64
// of microseconds). Exit code 0 or 2 naming the file, row and column.
int ReadParquetRows(const ViewColumns& view, const std::string& file,
                    std::vector<WriteRow>* rows) {
  auto reader = parquet::FileReader::Open(file);
  if (!reader.ok()) return BadInput(absl::StrCat(file, ": ", reader.status().message()));
  const parquet::Schema& schema = (*reader)->schema();
  const int time_column = schema.Find("event_timestamp");
  if (time_column < 0) return BadInput(absl::StrCat(file, ": no event_timestamp column"));
  if (absl::Status s = offline::CheckTimeColumn(schema.columns()[time_column]); !s.ok()) {
    return BadInput(absl::StrCat(file, ": event_timestamp: ", s.message()));
  }
  std::vector<std::pair<std::string, int>> columns;  // name -> leaf
  for (const auto& [name, type] : view.types) {
    const int c = schema.Find(name);
    if (c < 0) return BadInput(absl::StrCat(file, ": no column '", name, "'"));
    const absl::Status s = view.join_keys.count(name) > 0
                               ? offline::CheckKeyColumn(schema.columns()[c], type)
                               : offline::CheckFeatureColumn(schema.columns()[c], type);
    if (!s.ok()) return BadInput(absl::StrCat(file, ": column '", name, "': ", s.message()));
    columns.emplace_back(name, c);
  }
  int64_t first = 0;
  for (int rg = 0; rg < (*reader)->num_row_groups(); ++rg) {
    parquet::ColumnData time_data;
    if (absl::Status s = (*reader)->ReadColumn(rg, time_column, &time_data); !s.ok()) {
      return BadInput(absl::StrCat(file, ": ", s.message()));
    }
    std::vector<Micros> times;
    offline::ReadTimes(schema.columns()[time_column], time_data, &times);
    std::vector<parquet::ColumnData> data(columns.size());
    std::vector<std::unique_ptr<offline::RowValues>> values;
    for (size_t c = 0; c < columns.size(); ++c) {
      if (absl::Status s = (*reader)->ReadColumn(rg, columns[c].second, &data[c]); !s.ok()) {
        return BadInput(absl::StrCat(file, ": ", s.message()));
      }
      values.push_back(std::make_unique<offline::RowValues>(
          schema.columns()[columns[c].second], data[c], view.types.at(columns[c].first)));
    }
    for (size_t r = 0; r < times.size(); ++r) {
      const std::string where = absl::StrCat(file, ": row ", first + static_cast<int64_t>(r) + 1);
      if (times[r] == kNoTimestamp) return BadInput(absl::StrCat(where, ": event_timestamp is null"));
      WriteRow row;
      row.event_time_us = times[r];
      for (size_t c = 0; c < columns.size(); ++c) {
        if (values[c]->IsNull(static_cast<int64_t>(r)) && view.join_keys.count(columns[c].first)) {
          return BadInput(absl::StrCat(where, ": join key '", columns[c].first, "' is null"));
        }
        row.values.emplace_back(columns[c].first, values[c]->Get(static_cast<int64_t>(r)));
      }
      rows->push_back(std::move(row));
    }
    first += static_cast<int64_t>(times.size());
  }
  if (rows->empty()) return BadInput(absl::StrCat(file, ": no rows"));
  return 0;
}

int Write(const Globals& g, const std::string& view_name, const std::string& file, int batch) {
  auto client = Connect(g);
  ViewColumns view;
  if (int code = LoadViewColumns(*client, view_name, "write", &view); code != 0) return code;
  std::vector<WriteRow> rows;
  if (int code = ReadJsonlRows(view, view_name, file, &rows); code != 0) return code;
  WriteSummary total;
  for (size_t at = 0; at < rows.size(); at += batch) {
    std::vector<WriteRow> chunk(rows.begin() + at,
                                rows.begin() + std::min(rows.size(), at + static_cast<size_t>(batch)));
    auto r = client->WriteOnlineFeatures(view_name, chunk);
    if (!r.ok()) {
      std::cerr << "pantry: write: " << total.written + total.skipped_older << " of " << rows.size()
                << " rows were applied before the error\n";
      return Fail(r.status(), "write");
    }
    total.written += r->written;
    total.skipped_older += r->skipped_older;
  }
  if (g.output == "json") {
    std::cout << json{{"rows_written", total.written}, {"rows_skipped_older", total.skipped_older}}.dump()
              << "\n";
  } else {
    std::cout << "wrote " << total.written << " rows to " << view_name << " ("
              << total.skipped_older << " skipped: not newer than stored)\n";
  }
  return 0;
}

// ---- push ----------------------------------------------------------------------

struct PushArgs {
  std::string view, file, to = "both";
  int batch = 1000;
  bool partial = false;
};

int Push(const Globals& g, const PushArgs& a) {
  auto client = Connect(g);
  ViewColumns view;
  if (int code = LoadViewColumns(*client, a.view, "push", &view); code != 0) return code;
  std::vector<WriteRow> rows;
  const bool parquet = absl::EndsWith(a.file, ".parquet");
  if (int code = parquet ? ReadParquetRows(view, a.file, &rows)
                         : ReadJsonlRows(view, a.view, a.file, &rows);
      code != 0) {
    return code;
  }
  PushOptions options;
  options.partial = a.partial;
  options.to = a.to == "online"    ? PushTarget::kOnline
               : a.to == "offline" ? PushTarget::kOffline
                                   : PushTarget::kBoth;
  PushSummary total;
  json rejected = json::array();
  for (size_t at = 0; at < rows.size(); at += a.batch) {
    std::vector<WriteRow> chunk(
        rows.begin() + at, rows.begin() + std::min(rows.size(), at + static_cast<size_t>(a.batch)));
    auto r = client->Push(a.view, chunk, options);
    if (!r.ok()) {
      std::cerr << "pantry: push: " << total.accepted << " of " << rows.size()
                << " rows landed before the error (in earlier requests)\n";
      return Fail(r.status(), "push");
    }
    total.accepted += r->accepted;
    total.written_online += r->written_online;
    total.skipped_older += r->skipped_older;
    for (const PushSummary::Rejected& x : r->rejected) {
      const int64_t row = static_cast<int64_t>(at) + x.row;
      rejected.push_back({{"row", row}, {"column", x.column}, {"reason", x.reason}});
      if (g.output != "json") {
        std::cerr << a.file << ": row " << row << (x.column.empty() ? "" : ", column '" + x.column + "'")
                  << ": " << x.reason << " (not pushed)\n";
      }
    }
  }
  if (g.output == "json") {
    std::cout << json{{"rows_accepted", total.accepted},
                      {"rows_written_online", total.written_online},
                      {"rows_skipped_older", total.skipped_older},
                      {"rejected", rejected}}
                     .dump()
              << "\n";
  } else {
    std::cout << "pushed " << total.accepted << " rows to " << a.view << " (" << a.to << "; "
              << total.written_online << " written online, " << total.skipped_older
              << " not newer online";
    if (!rejected.empty()) std::cout << "; " << rejected.size() << " rejected";
    std::cout << ")\n";
  }
  return 0;
}

// ---- historical ------------------------------------------------------------------

struct HistoricalArgs {
  std::string entities;
  std::string features;
  std::string service;
  std::string out;
  std::string timestamp_column = "event_timestamp";
  bool full_feature_names = false;
  bool server_paths = false;
};

// The deadline when --timeout-ms is not given: joins over large sources take
// long, and pantryd drops a join whose deadline passes while it is queued.
constexpr std::chrono::milliseconds kHistoricalTimeout = std::chrono::hours(1);

std::string FormatSeconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f s", seconds);
  return buf;
}

int Historical(const Globals& g, const HistoricalArgs& a, bool timeout_given) {
  if (a.features.empty() == a.service.empty()) {
    return BadInput("historical: give exactly one of --features or --service");
  }
  // With --server-paths pantryd resolves paths itself, from its own working
  // directory: send them absolute, as this shell means them.
  auto absolute = [](const std::string& path) -> absl::StatusOr<std::string> {
    std::error_code ec;
    std::filesystem::path p = std::filesystem::absolute(path, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("'", path, "': ", ec.message()));
    return p.lexically_normal().string();
  };
  HistoricalQuery query;
  auto entities = absolute(a.entities);
  if (!entities.ok()) {
    return BadInput(absl::StrCat("historical: --entities ", entities.status().message()));
  }
  auto out = absolute(a.out);
  if (!out.ok()) return BadInput(absl::StrCat("historical: --out ", out.status().message()));
  query.entities_path = *entities;
  query.output_path = *out;
  if (!a.service.empty()) {
    query.feature_service = a.service;
  } else {
    for (absl::string_view f : absl::StrSplit(a.features, ',', absl::SkipEmpty())) {
      query.features.emplace_back(f);
    }
    if (query.features.empty()) return BadInput("historical: --features names no feature");
  }
  query.full_feature_names = a.full_feature_names;
  query.timestamp_column = a.timestamp_column;
  query.timeout = timeout_given ? std::chrono::milliseconds(g.timeout_ms) : kHistoricalTimeout;

  auto client = Connect(g);
  const auto start = std::chrono::steady_clock::now();
  auto result = a.server_paths ? client->GetHistoricalFeatures(query)
                               : client->StreamHistoricalFeatures(query);
  if (!result.ok()) return Fail(result.status(), "historical");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double queued = std::chrono::duration<double>(result->queued).count();
  if (g.output == "json") {
    std::cout << json{{"output_path", result->output_path},
                      {"entity_rows", result->entity_rows},
                      {"values_found", result->values_found},
                      {"feature_rows_scanned", result->feature_rows_scanned},
                      {"row_groups_skipped", result->row_groups_skipped},
                      {"files_skipped", result->files_skipped},
                      {"seconds", seconds},
                      {"queued_seconds", queued},
                      {"join_seconds", std::chrono::duration<double>(result->run).count()}}
                     .dump()
              << "\n";
    return 0;
  }
  std::cout << "wrote " << result->entity_rows << " rows to " << result->output_path << " in "
            << FormatSeconds(seconds)
            << (queued >= 0.01 ? absl::StrCat(" (", FormatSeconds(queued), " queued)") : "") << "\n"
            << "  values found:         " << result->values_found
            << " (entity rows x feature views with a value as of the row's time)\n"
            << "  feature rows scanned: " << result->feature_rows_scanned << "\n"
            << "  skipped unread:       " << result->files_skipped << " files, "
            << result->row_groups_skipped << " row groups\n";
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  Globals g;
  // gRPC locks absl::Mutex on every call; Debian's Abseil checks each lock
  // for deadlock cycles, which costs several percent of CPU for nothing in
  // production.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const char* env = std::getenv("PANTRY_SERVER");
  g.server = env != nullptr && *env != '\0' ? env : "127.0.0.1:6566";

  CLI::App app{"pantry: the Pantry feature store admin CLI"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--server", g.server, "pantryd address HOST:PORT (default $PANTRY_SERVER or 127.0.0.1:6566)");
  app.add_option("--output,-o", g.output, "Output format")->check(CLI::IsMember({"table", "json"}));
  auto* timeout_option = app.add_option("--timeout-ms", g.timeout_ms,
                                        "Deadline of each call (historical: default 1 hour)")
                             ->check(CLI::PositiveNumber);
  app.add_option("--token", g.token,
                 "Bearer token for pantryd with auth on (default $PANTRY_TOKEN); prefer the "
                 "variable: arguments show in process lists");
  app.add_option("--tls-ca", g.tls_ca, "Connect with TLS, checking pantryd's certificate against "
                                       "these CA certificates (PEM)");
  app.add_option("--tls-cert", g.tls_cert, "Client certificate (PEM) for mTLS; implies TLS");
  app.add_option("--tls-key", g.tls_key, "The client certificate's private key (PEM)");
  app.add_option("--tls-server-name", g.tls_server_name,
                 "The name expected in pantryd's certificate, when not the --server host");

  std::string apply_file;
  auto* apply = app.add_subcommand("apply", "Validate and install a feature repository");
  apply->add_option("-f,--file", apply_file, "Feature repository YAML")->required();

  std::string list_what;
  auto* list = app.add_subcommand("list", "List entities, feature views and feature services");
  list->add_option("what", list_what, "entities, views or services (default: all)");

  std::string search_text;
  auto* search = app.add_subcommand(
      "search", "Find views, features and services by name, description, owner or tag");
  search->add_option("text", search_text, "Text to look for (case does not matter)")->required();
  std::string describe_name;
  auto* describe = app.add_subcommand("describe", "Show a feature view, on-demand view or feature service");
  describe->add_option("name", describe_name, "Feature view or service name")->required();

  GetOnlineArgs get;
  auto* get_online = app.add_subcommand("get-online", "Read the latest feature values of entities");
  get_online->add_option("--features", get.features, "Comma-separated view:feature references");
  get_online->add_option("--service", get.service, "Feature service name");
  get_online->add_option("--entity", get.entities,
                         "Entity row as key=value[,key2=value2] (join keys, and request data of "
                         "on-demand features); repeatable");
  get_online->add_option("--entities-file", get.entities_file, "JSON lines file, one entity row per line");
  get_online->add_flag("--full-feature-names", get.full_feature_names, "Name outputs view__feature");

  std::string write_view, write_file;
  int write_batch = 1000;
  auto* write = app.add_subcommand("write", "Write feature rows from a JSON lines file");
  write->add_option("--view", write_view, "Feature view")->required();
  write->add_option("--file", write_file, "JSON lines: join keys, features, event_timestamp")->required();
  write->add_option("--batch", write_batch, "Rows per request")->check(CLI::Range(1, 100000));

  PushArgs push_args;
  auto* push = app.add_subcommand(
      "push", "Push rows of a feature view to the offline history and the online store");
  push->add_option("--view", push_args.view, "Feature view")->required();
  push->add_option("--file", push_args.file,
                   "JSON lines (join keys, features, event_timestamp) or .parquet")
      ->required();
  push->add_option("--to", push_args.to, "online, offline or both")
      ->check(CLI::IsMember({"online", "offline", "both"}));
  push->add_option("--batch", push_args.batch, "Rows per request")->check(CLI::Range(1, 100000));
  push->add_flag("--partial", push_args.partial,
                 "Land the good rows and report the bad ones instead of refusing the request");

  HistoricalArgs hist;
  auto* historical = app.add_subcommand(
      "historical", "Build point-in-time correct training data from a Parquet file of entity rows");
  historical
      ->add_option("--entities", hist.entities,
                   "Parquet file: join keys, the timestamp column, any other columns")
      ->required();
  historical->add_option("--features", hist.features, "Comma-separated view:feature references");
  historical->add_option("--service", hist.service, "Feature service name");
  historical->add_option("--out", hist.out, "Parquet file to write (replaced if present)")
      ->required();
  historical->add_flag("--full-feature-names", hist.full_feature_names,
                       "Name outputs view__feature");
  historical->add_option("--timestamp-column", hist.timestamp_column,
                         "Column of --entities holding each row's time (default event_timestamp)");
  historical->add_flag("--server-paths", hist.server_paths,
                       "pantryd reads --entities and writes --out itself, on its own machine "
                       "(no upload); by default both files are this machine's and travel in "
                       "the call");

  MaterializeArgs mat;
  auto* materialize = app.add_subcommand(
      "materialize", "Carry the latest value per entity of a time window into the online store");
  materialize->add_option("--views", mat.views, "Comma-separated feature views")->required();
  materialize->add_option("--start", mat.start, "Window start, RFC 3339 (inclusive)")->required();
  materialize->add_option("--end", mat.end, "Window end, RFC 3339 or now (exclusive)")->required();
  materialize->add_flag("--wait", mat.wait, "Follow the job with a progress bar until it ends");
  MaterializeArgs inc;
  auto* materialize_incremental = app.add_subcommand(
      "materialize-incremental", "Materialize each view from its watermark up to --end");
  materialize_incremental->add_option("--views", inc.views,
                                      "Comma-separated feature views (default: every online view)");
  materialize_incremental->add_option("--end", inc.end, "Window end, RFC 3339 or now (default now)");
  materialize_incremental->add_flag("--wait", inc.wait,
                                    "Follow the job with a progress bar until it ends");
  std::string job_id;
  auto* jobs = app.add_subcommand("jobs", "List materialization jobs, or show one");
  jobs->add_option("id", job_id, "Job id");
  std::string cancel_id;
  auto* cancel_job = app.add_subcommand("cancel-job", "Cancel a queued or running job");
  cancel_job->add_option("id", cancel_id, "Job id")->required();
  MaterializeArgs heal_args;
  auto* aggregate_cmd = app.add_subcommand("aggregate", "Aggregation views");
  aggregate_cmd->require_subcommand(1);
  auto* heal = aggregate_cmd->add_subcommand(
      "heal", "Rebuild the online states of aggregation views from their offline history");
  heal->add_option("--views", heal_args.views, "Comma-separated aggregation views")->required();
  heal->add_flag("--wait", heal_args.wait, "Follow the job with a progress bar until it ends");
  auto* watermarks = app.add_subcommand("watermarks", "Show how far each view is materialized");
  std::string lineage_view;
  int lineage_limit = 100;
  auto* lineage = app.add_subcommand("lineage", "Print materialization runs' OpenLineage events");
  lineage->add_option("--view", lineage_view, "Only this view's runs");
  lineage->add_option("--limit", lineage_limit, "The latest N events")->check(CLI::Range(1, 1000000));
  lineage->require_subcommand(0, 1);
  cli::LineageGraphQuery graph;
  auto* upstream = lineage->add_subcommand(
      "upstream", "What NAME depends on: its views, on-demand views and sources");
  auto* downstream = lineage->add_subcommand(
      "downstream", "What depends on NAME: the views, on-demand views and services it feeds");
  for (CLI::App* sub : {upstream, downstream}) {
    sub->add_option("name", graph.name,
                    "A source, feature view, on-demand view or feature service (or KIND:NAME)")
        ->required();
    sub->add_option("--format", graph.format, "tree, json or dot (Graphviz)")
        ->check(CLI::IsMember({"tree", "json", "dot"}));
  }

  auto* ingest_cmd = app.add_subcommand("ingest", "Stream sources: status and dead letters");
  ingest_cmd->require_subcommand(1);
  auto* ingest_status = ingest_cmd->add_subcommand(
      "status", "Per stream source: lag, rows/s, watermark, last error; per view: freshness");
  std::string dl_source;
  int dl_limit = 100;
  auto* dead_letters = ingest_cmd->add_subcommand(
      "dead-letters", "List the entries of a stream source that could not be ingested");
  dead_letters->add_option("--source", dl_source, "Stream source")->required();
  dead_letters->add_option("--limit", dl_limit, "At most N, oldest first")
      ->check(CLI::Range(1, 100000));
  std::string replay_source;
  std::vector<std::string> replay_ids;
  int replay_limit = 0;
  auto* replay = ingest_cmd->add_subcommand(
      "replay", "Feed dead letters back into their source's stream (after a fix)");
  replay->add_option("--source", replay_source, "Stream source")->required();
  replay->add_option("--id", replay_ids, "A dead letter's id (repeatable; default: all)");
  replay->add_option("--limit", replay_limit, "At most N (default: no limit)")
      ->check(CLI::Range(0, 100000000));

  auto* health = app.add_subcommand("health", "Check that pantryd is serving");

  cli::AuditQuery audit_query;
  auto* audit = app.add_subcommand(
      "audit", "Show records of pantryd's audit log (read from its file, no server needed)");
  audit->add_option("--file", audit_query.file, "The audit log (audit.path of the auth configuration)")
      ->required();
  audit->add_option("--since", audit_query.since, "From this time (RFC 3339) or this long ago (1h, 7d)");
  audit->add_option("--principal", audit_query.principal, "Only this principal's calls");
  audit->add_option("--action", audit_query.action, "Only this action (read_online, apply, ...)");
  audit->add_option("--outcome", audit_query.outcome, "Only this outcome")
      ->check(CLI::IsMember({"allowed", "denied", "unauthenticated", "dropped"}));
  audit->add_option("--limit", audit_query.limit, "The last N matching records")
      ->check(CLI::Range(0, 100000000));

  OnlineBenchOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "Benchmarks");
  bench_cmd->require_subcommand(1);
  auto* bench_online = bench_cmd->add_subcommand("online", "Load GetOnlineFeatures and report throughput and latency");
  bench_online->add_option("--concurrency", bench.concurrency, "Requests in flight")->check(CLI::Range(1, 4096));
  bench_online->add_option("--duration", bench.duration_s, "Seconds per measurement")->check(CLI::Range(0.1, 3600.0));
  bench_online->add_option("--entities-per-request", bench.entities_per_request, "Entity rows per request")->check(CLI::Range(1, 100000));
  bench_online->add_option("--features", bench.features, "Features per request (from one view)")->check(CLI::Range(1, 1000));
  bench_online->add_option("--view", bench.view, "Feature view to read (default: first online view with enough features)");
  bench_online->add_option("--on-demand", bench.on_demand,
                           "Also ask for every feature of this on-demand view, with random request data");
  bench_online->add_option("--key-space", bench.key_space, "Entity ids drawn from 1..N")->check(CLI::Range(1, 100000000));
  bench_online->add_option("--rate", bench.rate, "Target requests/s (open loop); 0 = as fast as possible");
  bench_online->add_flag("!--no-populate", bench.populate, "Do not write the key space first");
  PushBenchOptions push_bench;
  auto* bench_push = bench_cmd->add_subcommand("push", "Load Push and report rows/s and push-to-readable latency");
  bench_push->add_option("--concurrency", push_bench.concurrency, "Pushes in flight")->check(CLI::Range(1, 4096));
  bench_push->add_option("--duration", push_bench.duration_s, "Seconds")->check(CLI::Range(0.1, 3600.0));
  bench_push->add_option("--rows-per-request", push_bench.rows_per_request, "Rows per push")->check(CLI::Range(1, 100000));
  bench_push->add_option("--features", push_bench.features, "Pick the first view with at least N features")->check(CLI::Range(1, 1000));
  bench_push->add_option("--view", push_bench.view, "Feature view to push to");
  bench_push->add_option("--key-space", push_bench.key_space, "Entity ids drawn from 1..N")->check(CLI::Range(1, 100000000));
  bench_push->add_option("--rate", push_bench.rate, "Target pushes/s (open loop); 0 = as fast as possible");
  bench_push->add_option("--to", push_bench.to, "online, offline or both")->check(CLI::IsMember({"online", "offline", "both"}));
  auto* no_baseline = bench_online->add_flag("!--no-health-baseline", bench.health_baseline, "Skip the gRPC health-check ceiling");
  bench_online->add_flag("--health-only", bench.health_only, "Measure the gRPC health check alone (no feature reads)")
      ->excludes(no_baseline);
  ParquetBenchOptions pq_bench;
  auto* bench_parquet = bench_cmd->add_subcommand("parquet", "Time Pantry's Parquet scan or write of a file (no server)");
  bench_parquet->add_option("--file", pq_bench.file, "Parquet file to scan, or whose data to rewrite")->required();
  bench_parquet->add_option("--mode", pq_bench.mode, "scan or write")->check(CLI::IsMember({"scan", "write"}));
  bench_parquet->add_option("--threads", pq_bench.threads, "Threads")->check(CLI::Range(1, 256));
  bench_parquet->add_option("--codec", pq_bench.codec, "write: snappy, zstd, gzip, lz4, brotli or none");
  bench_parquet->add_option("--out", pq_bench.out, "write: output path (default FILE.pantry-write.parquet)");
  bench_parquet->add_flag("--keep", pq_bench.keep, "write: keep the output file");
  HistoricalBenchOptions hist_bench;
  auto* bench_historical = bench_cmd->add_subcommand("historical", "Time a point-in-time join in process (no server)");
  bench_historical->add_option("--repo", hist_bench.repo, "Feature repository YAML")->required();
  bench_historical->add_option("--entities", hist_bench.entities, "Entity rows (Parquet)")->required();
  bench_historical->add_option("--service", hist_bench.service, "Feature service");
  bench_historical->add_option("--features", hist_bench.features, "view:feature references")->delimiter(',');
  bench_historical->add_option("--out", hist_bench.out, "Output Parquet file")->required();
  bench_historical->add_option("--threads", hist_bench.threads, "Threads")->check(CLI::Range(1, 256));
  MaterializeBenchOptions mat_bench;
  auto* bench_materialize = bench_cmd->add_subcommand(
      "materialize", "Time one view's materialization in process (no server)");
  bench_materialize->add_option("--repo", mat_bench.repo, "Feature repository YAML")->required();
  bench_materialize->add_option("--view", mat_bench.view, "Feature view")->required();
  bench_materialize->add_option("--start", mat_bench.start, "Window start, RFC 3339 (default: the beginning)");
  bench_materialize->add_option("--end", mat_bench.end, "Window end, RFC 3339 (default: now)");
  bench_materialize->add_option("--redis", mat_bench.redis, "HOST:PORT of the Redis to write to");
  bench_materialize->add_option("--threads", mat_bench.threads, "Threads")->check(CLI::Range(1, 256));

  OnlineMigrateOptions migrate;
  auto* online_cmd = app.add_subcommand("online", "Work on the online store directly (no server)");
  online_cmd->require_subcommand(1);
  auto* online_migrate = online_cmd->add_subcommand(
      "migrate", "Rewrite the project's online data in the current Redis layout, in place");
  online_migrate->add_option("--config,--repo", migrate.config, "Feature repository YAML")->required();
  online_migrate->add_option("--redis", migrate.redis, "HOST:PORT overriding online_store's");
  online_migrate->add_option("--batch", migrate.batch, "Keys per SCAN page and pipeline")
      ->check(CLI::Range(1, 100000));

  ParquetArgs pq;
  auto* parquet_cmd =
      app.add_subcommand("parquet", "Inspect and write Parquet files (no server needed)");
  parquet_cmd->require_subcommand(1);
  auto* pq_schema = parquet_cmd->add_subcommand("schema", "Columns, types and metadata of a file");
  pq_schema->add_option("file", pq.file, "Parquet file")->required();
  auto* pq_head = parquet_cmd->add_subcommand("head", "The first rows of a file");
  pq_head->add_option("file", pq.file, "Parquet file")->required();
  pq_head->add_option("--limit,-n", pq.limit, "Rows to show (default 10)");
  pq_head->add_option("--columns", pq.columns, "Comma-separated column names (default: all)");
  auto* pq_stats = parquet_cmd->add_subcommand("stats", "Row groups, codecs, encodings, sizes, min/max");
  pq_stats->add_option("file", pq.file, "Parquet file")->required();
  FromJsonlArgs from_jsonl;
  auto* pq_from_jsonl = parquet_cmd->add_subcommand(
      "from-jsonl", "Write a Parquet file from JSON lines (sample data, entity files)");
  pq_from_jsonl->add_option("in", from_jsonl.in, "JSON lines file, one object per row")->required();
  pq_from_jsonl->add_option("out", from_jsonl.out, "Parquet file to write")->required();
  pq_from_jsonl->add_option("--schema", from_jsonl.schema,
                            "Columns in order: name:TYPE,name:TYPE,... (TYPE: INT64, DOUBLE, "
                            "STRING, UNIX_TIMESTAMP, FLOAT_LIST, ...)")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kBadInput;
  }
  if (absl::Status resolved = Resolve(&g); !resolved.ok()) return BadInput(resolved.message());

  pq.json = g.output == "json";
  if (*pq_schema) return ParquetSchema(pq);
  if (*pq_head) return ParquetHead(pq);
  if (*pq_stats) return ParquetStats(pq);
  if (*pq_from_jsonl) {
    from_jsonl.json = g.output == "json";
    return ParquetFromJsonl(from_jsonl);
  }
  if (*apply) return Apply(g, apply_file);
  if (*list) return List(g, list_what);
  if (*describe) return Describe(g, describe_name);
  if (*search) return Search(g, search_text);
  if (*get_online) return GetOnline(g, get);
  if (*write) return Write(g, write_view, write_file, write_batch);
  if (*push) return Push(g, push_args);
  if (*historical) return Historical(g, hist, timeout_option->count() > 0);
  if (*materialize || *materialize_incremental || *jobs || *cancel_job || *watermarks ||
      *lineage || *heal) {
    auto client = Connect(g);
    const bool json_out = g.output == "json";
    if (*heal) return Heal(*client, heal_args, json_out);
    if (*materialize) return Materialize(*client, mat, /*incremental=*/false, json_out);
    if (*materialize_incremental) return Materialize(*client, inc, /*incremental=*/true, json_out);
    if (*jobs) return Jobs(*client, job_id, json_out);
    if (*cancel_job) return CancelJob(*client, cancel_id, json_out);
    if (*watermarks) return Watermarks(*client, json_out);
    if (*upstream || *downstream) {
      graph.upstream = upstream->parsed();
      if (json_out && graph.format == "tree") graph.format = "json";
      return cli::LineageGraph(*client, graph);
    }
    return Lineage(*client, lineage_view, lineage_limit);
  }
  if (*ingest_cmd) {
    auto client = Connect(g);
    const bool json_out = g.output == "json";
    if (*ingest_status) return IngestStatus(*client, json_out);
    if (*dead_letters) return DeadLetters(*client, dl_source, dl_limit, json_out);
    if (*replay) return ReplayDeadLetters(*client, replay_source, replay_ids, replay_limit, json_out);
  }
  if (*audit) {
    audit_query.json = g.output == "json";
    return cli::Audit(audit_query);
  }
  if (*health) {
    auto client = Connect(g);
    absl::Status s = client->CheckHealth();
    if (!s.ok()) return Fail(s, "health");
    std::cout << "SERVING\n";
    return 0;
  }
  if (*online_migrate) {
    migrate.json = g.output == "json";
    return RunOnlineMigrate(migrate);
  }
  if (*bench_materialize) {
    mat_bench.json = g.output == "json";
    return RunMaterializeBench(mat_bench);
  }
  if (*bench_historical) {
    hist_bench.json = g.output == "json";
    return RunHistoricalBench(hist_bench);
  }
  if (*bench_parquet) {
    pq_bench.json = g.output == "json";
    return RunParquetBench(pq_bench);
  }
  if (*bench_push) {
    push_bench.client = g.client;
    push_bench.json = g.output == "json";
    return RunPushBench(push_bench);
  }
  if (*bench_online) {
    bench.client = g.client;
    bench.json = g.output == "json";
    return RunOnlineBench(bench);
  }
  return kBadInput;
}

}  // namespace pantry::cli

int main(int argc, char** argv) { return pantry::cli::Main(argc, argv); }
