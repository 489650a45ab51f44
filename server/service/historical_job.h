// What the two point-in-time join calls share: GetHistoricalFeatures (both
// files on pantryd's disk) and StreamHistoricalFeatures (both files travel in
// the stream and live in a temp folder while the call runs). Checking the
// request, running the join on a job pool worker so that it stops when the
// call is cancelled, its deadline passes or pantryd shuts down, and
// reporting it.
#ifndef PANTRY_SERVER_SERVICE_HISTORICAL_JOB_H_
#define PANTRY_SERVER_SERVICE_HISTORICAL_JOB_H_

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "pantry/v1/serving.pb.h"
#include "server/common/time.h"
#include "server/offline/historical.h"
#include "server/registry/registry.h"
#include "server/service/job_pool.h"

namespace pantry {

// kRequired: entities_path and output_path must be absolute paths.
// kForbidden: neither may be set (the caller fills them in).
enum class HistoricalPaths { kRequired, kForbidden };

// The request as the engine takes it, checked without touching the disk.
absl::StatusOr<offline::HistoricalRequest> HistoricalFromProto(
    const v1::GetHistoricalFeaturesRequest& proto, HistoricalPaths paths);

// The features must exist in the snapshot the join will use. Checked before
// queueing so a typo fails at once rather than after waiting for a worker.
absl::Status CheckFeatures(const Registry& registry, const offline::HistoricalRequest& request);

struct HistoricalOutcome {
  offline::HistoricalStats stats;
  Micros queued_us = 0;  // from `arrived` to the start of the job
  Micros run_us = 0;     // the join itself
};

// The body of a join job, on a pool worker; `start` is the status the pool
// called the job with. Drops the join (without touching the disk) when
// `start` is not OK, or when the call was cancelled or its deadline passed
// while it waited. Otherwise checks the output folder and runs the join with
// the repository's memory budget; the join stops, leaving no output, as soon
// as the call is cancelled (CANCELLED), its deadline passes
// (DEADLINE_EXCEEDED) or `pool` shuts down (UNAVAILABLE). `what` names the
// join in the log lines.
absl::StatusOr<HistoricalOutcome> RunHistoricalJob(absl::Status start,
                                                   grpc::CallbackServerContext* context,
                                                   const JobPool& pool, const Registry& registry,
                                                   const offline::HistoricalRequest& request,
                                                   offline::HistoricalOptions options,
                                                   Micros arrived, const std::string& what);

// Fills stats, queued_us and run_us (not output_path).
void ToProto(const HistoricalOutcome& outcome, v1::GetHistoricalFeaturesResponse* response);

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_HISTORICAL_JOB_H_
