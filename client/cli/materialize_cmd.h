// `pantry materialize`, `materialize-incremental`, `jobs`, `cancel-job`,
// `watermarks` and `lineage`: materialization through pantryd.
#pragma once

#include <string>

#include "pantry/client.h"

namespace pantry::cli {

struct MaterializeArgs {
  std::string views;  // comma-separated; incremental: empty means every view
  std::string start;  // RFC 3339 (not for incremental)
  std::string end;    // RFC 3339 or "now"; incremental: empty means now
  bool wait = false;  // follow the job to its end with a progress bar
};

// Each returns the exit code: 0; 1 when the call or (with --wait) the job
// failed; 2 for bad arguments.
int Materialize(Client& client, const MaterializeArgs& args, bool incremental, bool json);
// pantry aggregate heal --views V: a materialization job of aggregation
// views, which rebuilds their online states; refuses other views.
int Heal(Client& client, const MaterializeArgs& args, bool json);
int Jobs(Client& client, const std::string& id, bool json);  // id empty: all
int CancelJob(Client& client, const std::string& id, bool json);
int Watermarks(Client& client, bool json);
int Lineage(Client& client, const std::string& view, int limit);

}  // namespace pantry::cli
