// InstrumentedOnlineStore: an OnlineStore that passes every call to another
// one and records it in OnlineStoreMetrics: operations by outcome, errors by
// status code, latency (call to answer), calls pending, keys, and for writes
// how many keys landed or were skipped as older.
//
// pantryd wraps its store in one when metrics are on (main.cc), so serving,
// writes and materialization are all measured, whatever the backend.
// Thread-safe as the wrapped store is; adds no lock of its own.
#ifndef PANTRY_SERVER_METRICS_INSTRUMENTED_STORE_H_
#define PANTRY_SERVER_METRICS_INSTRUMENTED_STORE_H_

#include <vector>

#include "server/metrics/metrics.h"
#include "server/online/online_store.h"

namespace pantry {

class InstrumentedOnlineStore : public OnlineStore {
 public:
  // Both are borrowed and must outlive this object.
  InstrumentedOnlineStore(OnlineStore* store, OnlineStoreMetrics* metrics)
      : store_(store), metrics_(metrics) {}

  // As the wrapped store's; the figures are recorded before `done` runs.
  void Read(std::vector<ViewRead> reads, Micros deadline, ReadCallback done) override;
  void Write(std::vector<ViewWrite> writes, Micros deadline, WriteCallback done) override;
  absl::Status CheckLayout(Micros deadline) override { return store_->CheckLayout(deadline); }

 private:
  OnlineStore* const store_;
  OnlineStoreMetrics* const metrics_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_METRICS_INSTRUMENTED_STORE_H_
