// `pantry bench materialize`: one view's materialization run in process (no
// pantryd) into the repository's online store, timed, with the peak RSS.
#pragma once

#include <string>

namespace pantry::cli {

struct MaterializeBenchOptions {
  std::string repo;
  std::string view;
  std::string start;  // RFC 3339; empty: the beginning
  std::string end;    // RFC 3339; empty: now
  std::string redis;  // HOST:PORT overriding the repository's online store
  int threads = 2;
  bool json = false;
};

// Exit code: 0, 1 (the run failed), 2 (bad arguments or repository).
int RunMaterializeBench(const MaterializeBenchOptions& options);

}  // namespace pantry::cli
