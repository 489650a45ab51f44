// `pantry bench online`: a closed- or open-loop gRPC load generator that
// measures GetOnlineFeatures against pantryd and, in the same run, the gRPC
// health check on the same server as the ceiling of what gRPC itself does on
// this machine.
#ifndef PANTRY_CLIENT_CLI_BENCH_H_
#define PANTRY_CLIENT_CLI_BENCH_H_

#include <string>

namespace pantry::cli {

struct OnlineBenchOptions {
  std::string server;
  std::string view;          // empty: the first online view with enough features
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

}  // namespace pantry::cli

#endif  // PANTRY_CLIENT_CLI_BENCH_H_
