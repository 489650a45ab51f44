// `pantry bench online`: a closed- or open-loop gRPC load generator that
// measures GetOnlineFeatures against pantryd and, in the same run, the gRPC
// health check on the same server as the ceiling of what gRPC itself does on
// this machine.
#ifndef PANTRY_CLIENT_CLI_BENCH_H_
#define PANTRY_CLIENT_CLI_BENCH_H_

#include <string>

#include "pantry/client.h"

namespace pantry::cli {

struct OnlineBenchOptions {
  ClientOptions client;  // address, token, TLS
  std::string view;          // empty: the first online view with enough features
  // An on-demand view whose features every request also asks for, with
  // random request data (the on-demand feature benchmark).
  std::string on_demand;
  int concurrency = 32;      // requests in flight
  double duration_s = 10;    // per measurement
  int entities_per_request = 1;
  int features = 10;
  int key_space = 100000;    // entity ids 1..key_space
  bool populate = true;      // write every entity of the key space first
  double rate = 0;           // requests/s; 0: as fast as possible (closed loop)
  bool health_baseline = true;
  bool health_only = false;  // measure the health check alone
  bool json = false;
};

// Runs the benchmark and prints the figures; returns a process exit code.
int RunOnlineBench(const OnlineBenchOptions& options);

// `pantry bench push`: pushes of `rows_per_request` rows of a view (the
// first with at least `features` features, or `view`), every row a new,
// newer event time of a random entity, so each is logged, compacted and
// written online. Latency is push-to-readable: rows are readable online
// when their push returns.
struct PushBenchOptions {
  ClientOptions client;  // address, token, TLS
  std::string view;
  int concurrency = 16;
  double duration_s = 10;
  int rows_per_request = 100;
  int features = 10;
  int key_space = 100000;
  double rate = 0;           // pushes/s; 0: closed loop
  std::string to = "both";   // online, offline, both
  bool json = false;
};
int RunPushBench(const PushBenchOptions& options);

}  // namespace pantry::cli

#endif  // PANTRY_CLIENT_CLI_BENCH_H_
