// The standard process metrics of the Prometheus client libraries
// (process_cpu_seconds_total, process_resident_memory_bytes, ...), read from
// /proc/self at each scrape. Private to the metrics library.
#ifndef PANTRY_SERVER_METRICS_PROCESS_H_
#define PANTRY_SERVER_METRICS_PROCESS_H_

#include <memory>

namespace prometheus {
class Collectable;
}  // namespace prometheus

namespace pantry {

// A collectable of this process's figures. A figure that cannot be read (no
// /proc) is left out.
std::shared_ptr<prometheus::Collectable> NewProcessCollector();

}  // namespace pantry

#endif  // PANTRY_SERVER_METRICS_PROCESS_H_
