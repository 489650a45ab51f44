// The OpenLineage events of ingestion runs: each compaction that moved
// pushed or streamed rows from the write-ahead log into a view's offline
// history is a run of job "ingest.<view>".
#ifndef PANTRY_SERVER_INGEST_RUN_EVENTS_H_
#define PANTRY_SERVER_INGEST_RUN_EVENTS_H_

#include <string>
#include <vector>

#include "server/ingest/compactor.h"
#include "server/lineage/lineage.h"
#include "server/registry/registry.h"

namespace pantry::ingest {

// One COMPLETE event per view written: input the log (`log_dir`, and the
// view's stream source when it has one), output the Parquet file, and the
// rows as the run's figures.
std::vector<lineage::RunEvent> IngestRunEvents(const Registry& registry, const CompactStats& stats,
                                               const std::string& log_dir, Micros now);

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_RUN_EVENTS_H_
