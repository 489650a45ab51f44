// `pantry lineage upstream|downstream NAME`: the graph of sources, feature
// views, on-demand views and feature services (from the registry), with the
// latest materialization run of each view (from the OpenLineage events),
// as a tree, JSON or Graphviz DOT.
#pragma once

#include <string>

#include "pantry/client.h"

namespace pantry::cli {

struct LineageGraphQuery {
  bool upstream = true;  // what NAME depends on; false: what depends on NAME
  std::string name;      // NAME, or KIND:NAME (source, view, on_demand_view, service)
  std::string format = "tree";  // tree, json, dot
};

// Exit code: 0; 2 for an unknown or ambiguous name; 1 when a call failed.
int LineageGraph(Client& client, const LineageGraphQuery& query);

}  // namespace pantry::cli
