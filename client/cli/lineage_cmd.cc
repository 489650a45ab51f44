#include "client/cli/lineage_cmd.h"

#include <iostream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/output.h"
#include "nlohmann/json.hpp"

namespace pantry::cli {
namespace {

using json = nlohmann::json;

// A node: "source:payments", "view:user_stats", "on_demand_view:risk",
// "service:fraud_v1".
struct Graph {
  std::map<std::string, std::set<std::string>> up, down;  // node -> neighbours
  std::set<std::string> nodes;
  void Edge(const std::string& from, const std::string& to) {  // from feeds to
    nodes.insert(from);
    nodes.insert(to);
    down[from].insert(to);
    up[to].insert(from);
  }
};

std::string Kind(const std::string& node) { return node.substr(0, node.find(':')); }
std::string Name(const std::string& node) { return node.substr(node.find(':') + 1); }
std::string Label(const std::string& node) {
  static const std::map<std::string, std::string> kLabels = {{"source", "source"},
                                                             {"view", "feature view"},
                                                             {"on_demand_view", "on-demand view"},
                                                             {"service", "feature service"}};
  return absl::StrCat(kLabels.at(Kind(node)), " ", Name(node));
}
std::string ViewOf(const std::string& ref) { return ref.substr(0, ref.find(':')); }

void PrintTree(const Graph& g, const std::map<std::string, std::set<std::string>>& next,
               const std::map<std::string, std::string>& runs, const std::string& node,
               const std::string& prefix, bool last, bool root, std::set<std::string>* path) {
  std::string line = root ? "" : absl::StrCat(prefix, last ? "└── " : "├── ");
  absl::StrAppend(&line, Label(node));
  if (auto r = runs.find(node); r != runs.end()) absl::StrAppend(&line, "  [", r->second, "]");
  std::cout << line << "\n";
  auto it = next.find(node);
  if (it == next.end() || path->count(node) > 0) return;
  path->insert(node);
  const std::string child_prefix = root ? "" : absl::StrCat(prefix, last ? "    " : "│   ");
  size_t i = 0;
  for (const std::string& n : it->second) {
    PrintTree(g, next, runs, n, child_prefix, ++i == it->second.size(), false, path);
  }
  path->erase(node);
}

}  // namespace

int LineageGraph(Client& client, const LineageGraphQuery& q) {
  absl::StatusOr<v1::ListFeatureViewsResponse> views = client.ListFeatureViews();
  if (!views.ok()) return Fail(views.status(), "lineage");
  absl::StatusOr<v1::ListFeatureServicesResponse> services = client.ListFeatureServices();
  if (!services.ok()) return Fail(services.status(), "lineage");
  Graph g;
  for (const auto& v : views->feature_views()) {
    const std::string node = "view:" + v.name();
    g.nodes.insert(node);
    if (!v.source().empty()) g.Edge("source:" + v.source(), node);
  }
  for (const auto& o : views->on_demand_views()) {
    const std::string node = "on_demand_view:" + o.name();
    g.nodes.insert(node);
    for (const std::string& input : o.inputs()) g.Edge("view:" + ViewOf(input), node);
  }
  std::set<std::string> odvs;
  for (const auto& o : views->on_demand_views()) odvs.insert(o.name());
  for (const auto& s : services->feature_services()) {
    const std::string node = "service:" + s.name();
    g.nodes.insert(node);
    for (const std::string& ref : s.features()) {
      const std::string v = ViewOf(ref);
      g.Edge(odvs.count(v) > 0 ? "on_demand_view:" + v : "view:" + v, node);
    }
  }
  // The node asked for: KIND:NAME, or NAME when one kind has it.
  std::string root;
  if (q.name.find(':') != std::string::npos) {
    if (g.nodes.count(q.name) > 0) root = q.name;
  } else {
    std::vector<std::string> found;
    for (const char* kind : {"service", "on_demand_view", "view", "source"}) {
      const std::string node = absl::StrCat(kind, ":", q.name);
      if (g.nodes.count(node) > 0) found.push_back(node);
    }
    if (found.size() > 1) {
      return BadInput(absl::StrCat("lineage: '", q.name, "' names several things (",
                                   absl::StrJoin(found, ", "), "); say which, e.g. ", found[0]));
    }
    if (!found.empty()) root = found[0];
  }
  if (root.empty()) {
    return BadInput(absl::StrCat("lineage: no source, feature view, on-demand view or feature "
                                 "service named '", q.name, "'"));
  }
  // The part of the graph reachable from the root, in the direction asked.
  const auto& next = q.upstream ? g.up : g.down;
  std::set<std::string> reached = {root};
  std::vector<std::string> todo = {root};
  while (!todo.empty()) {
    const std::string n = todo.back();
    todo.pop_back();
    auto it = next.find(n);
    if (it == next.end()) continue;
    for (const std::string& m : it->second) {
      if (reached.insert(m).second) todo.push_back(m);
    }
  }
  // The latest materialization run of each view reached (when the caller may
  // read lineage).
  std::map<std::string, std::string> runs;
  std::map<std::string, json> run_json;
  absl::StatusOr<v1::ListLineageResponse> events = client.ListLineage("", 100000);
  if (events.ok()) {
    for (const std::string& e : events->events()) {
      const json j = json::parse(e, nullptr, false);
      if (j.is_discarded() || !j.contains("job")) continue;
      const std::string job = j["job"].value("name", "");
      if (job.rfind("materialize.", 0) != 0) continue;
      const std::string node = "view:" + job.substr(12);
      if (reached.count(node) == 0) continue;
      runs[node] = absl::StrCat("last run ", j.value("eventType", ""), " ", j.value("eventTime", ""));
      run_json[node] = {{"state", j.value("eventType", "")},
                        {"time", j.value("eventTime", "")},
                        {"run_id", j.contains("run") ? j["run"].value("runId", "") : ""}};
    }
  }
  if (q.format == "json") {
    json nodes = json::array(), edges = json::array();
    for (const std::string& n : reached) {
      json node = {{"id", n}, {"kind", Kind(n)}, {"name", Name(n)}};
      if (auto r = run_json.find(n); r != run_json.end()) node["last_run"] = r->second;
      nodes.push_back(node);
      for (const std::string& m : g.down[n]) {
        if (reached.count(m) > 0) edges.push_back({{"from", n}, {"to", m}});
      }
    }
    std::cout << json{{"root", root},
                      {"direction", q.upstream ? "upstream" : "downstream"},
                      {"nodes", nodes},
                      {"edges", edges}}
                     .dump()
              << "\n";
    return 0;
  }
  if (q.format == "dot") {
    auto quote = [](const std::string& s) { return json(s).dump(); };  // escapes as DOT needs
    std::cout << "digraph lineage {\n  rankdir=LR;\n";
    for (const std::string& n : reached) {
      static const std::map<std::string, std::string> kShapes = {
          {"source", "cylinder"}, {"view", "box"}, {"on_demand_view", "component"},
          {"service", "ellipse"}};
      std::string label = Label(n);
      if (auto r = runs.find(n); r != runs.end()) label += "\n" + r->second;
      std::cout << "  " << quote(n) << " [label=" << quote(label)
                << ", shape=" << kShapes.at(Kind(n)) << (n == root ? ", style=bold" : "")
                << "];\n";
    }
    for (const std::string& n : reached) {
      for (const std::string& m : g.down[n]) {
        if (reached.count(m) > 0) std::cout << "  " << quote(n) << " -> " << quote(m) << ";\n";
      }
    }
    std::cout << "}\n";
    return 0;
  }
  std::set<std::string> path;
  PrintTree(g, next, runs, root, "", true, true, &path);
  if (!events.ok()) {
    std::cerr << "pantry: lineage: runs not shown: " << events.status().message() << "\n";
  }
  return 0;
}

}  // namespace pantry::cli
