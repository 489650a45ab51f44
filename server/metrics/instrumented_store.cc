#include "server/metrics/instrumented_store.h"

#include <chrono>
#include <utility>

namespace pantry {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void InstrumentedOnlineStore::Read(std::vector<ViewRead> reads, Micros deadline,
                                   ReadCallback done) {
  metrics_->Started(OnlineOp::kRead, static_cast<int64_t>(reads.size()));
  store_->Read(std::move(reads), deadline,
               [metrics = metrics_, start = std::chrono::steady_clock::now(),
                done = std::move(done)](absl::StatusOr<std::vector<ViewReadResult>> result) {
                 metrics->Finished(OnlineOp::kRead, result.status(), SecondsSince(start));
                 done(std::move(result));
               });
}

void InstrumentedOnlineStore::Write(std::vector<ViewWrite> writes, Micros deadline,
                                    WriteCallback done) {
  metrics_->Started(OnlineOp::kWrite, static_cast<int64_t>(writes.size()));
  store_->Write(std::move(writes), deadline,
                [metrics = metrics_, start = std::chrono::steady_clock::now(),
                 done = std::move(done)](absl::StatusOr<WriteResult> result) {
                  metrics->Finished(OnlineOp::kWrite, result.status(), SecondsSince(start));
                  if (result.ok()) metrics->WriteOutcome(result->written, result->skipped_older);
                  done(std::move(result));
                });
}

}  // namespace pantry
