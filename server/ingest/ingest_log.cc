#include "server/ingest/ingest_log.h"

#include <chrono>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/ingest/log_batch.h"
#include "server/serving/aggregations.h"
#include "server/serving/online_serving.h"
#include "spdlog/spdlog.h"

namespace pantry::ingest {

absl::StatusOr<std::unique_ptr<IngestLog>> IngestLog::Open(IngestLogOptions options,
                                                           const RegistryHolder* registry,
                                                           OnlineStore* store,
                                                           IngestMetrics* metrics) {
  WalOptions wal_options;
  wal_options.dir = options.dir;
  wal_options.segment_bytes = options.segment_bytes;
  wal_options.max_record_bytes = options.max_record_bytes;
  wal_options.sync = options.sync;
  WalRecovery recovery;
  PANTRY_ASSIGN_OR_RETURN(std::unique_ptr<Wal> wal, Wal::Open(wal_options, &recovery));
  for (size_t i = 0; i < recovery.truncations.size(); ++i) {
    if (recovery.truncation_in_older[i]) {
      spdlog::error("write-ahead log: {} (inside an older segment: acknowledged rows may be lost)",
                    recovery.truncations[i]);
    } else {
      spdlog::warn("write-ahead log: {} (the newest segment's tail: a write cut short, never "
                   "acknowledged, or damaged on disk)",
                   recovery.truncations[i]);
    }
  }
  spdlog::info("write-ahead log {}: {} records in {} segments to compact", options.dir,
               recovery.records, recovery.segments);
  return std::unique_ptr<IngestLog>(
      new IngestLog(std::move(options), std::move(wal), registry, store, metrics));
}

IngestLog::IngestLog(IngestLogOptions options, std::unique_ptr<Wal> wal,
                     const RegistryHolder* registry, OnlineStore* store, IngestMetrics* metrics)
    : options_(std::move(options)),
      wal_(std::move(wal)),
      registry_(registry),
      store_(store),
      metrics_(metrics),
      replay_through_(wal_->durable_lsn()),
      compactor_(wal_.get(), [registry] { return registry->Get(); }, &ledger_) {}

IngestLog::~IngestLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Compact only once the online rewrite is done: its records must stay.
  if (replayed()) {
    absl::StatusOr<CompactStats> last = CompactAndRecord();
    if (!last.ok()) spdlog::warn("write-ahead log: last compaction failed: {}", last.status());
  }
}

void IngestLog::Start() { thread_ = std::thread([this] { Run(); }); }

bool IngestLog::replayed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return replayed_;
}

absl::Status IngestLog::ReplayOnline() {
  const std::shared_ptr<const Registry> registry = registry_->Get();
  int64_t rows = 0, stream_batches = 0;
  for (const WalSegment& segment : wal_->Segments()) {
    if (segment.first_lsn > replay_through_) break;
    PANTRY_RETURN_IF_ERROR(wal_->ReadSegment(
        segment.path, 0, [&](uint64_t lsn, absl::string_view record) -> absl::Status {
          if (lsn > replay_through_) return absl::OkStatus();
          std::vector<LogBatch> batches;
          if (IsStreamBatch(record)) {
            absl::StatusOr<StreamBatch> stream = DecodeStreamBatch(record);
            if (!stream.ok()) return absl::OkStatus();  // compaction reports it
            // Undecided until its source's consumer asks again (it starts
            // once this rewrite is done).
            ledger_.Recovered(lsn, stream->source, std::move(stream->entry_ids));
            ++stream_batches;
            for (StreamViewRows& v : stream->views) batches.push_back(std::move(v.batch));
          } else {
            absl::StatusOr<LogBatch> batch = DecodeLogBatch(record);
            if (!batch.ok()) return absl::OkStatus();
            batches.push_back(*std::move(batch));
          }
          std::vector<ViewWrite> writes;
          const Micros deadline = NowMicros() + 10 * kMicrosPerSecond;
          for (const LogBatch& batch : batches) {
            if (!batch.online) continue;
            const FeatureView* view = registry->FindFeatureView(batch.view);
            if (view == nullptr || !view->online) continue;
            int64_t not_castable = 0;
            std::vector<CheckedRow> checked = RowsForView(batch, *view, &not_castable);
            rows += static_cast<int64_t>(checked.size());
            if (view->is_aggregation()) {
              // Events already applied are recognised and counted once.
              PANTRY_RETURN_IF_ERROR(
                  WriteCheckedRowsSync(store_, *registry, *view, checked, NowMicros(), deadline)
                      .status());
              continue;
            }
            std::vector<ViewWrite> w = OnlineWrites(*registry, *view, checked);
            std::move(w.begin(), w.end(), std::back_inserter(writes));
          }
          if (writes.empty()) return absl::OkStatus();
          return store_->WriteSync(std::move(writes), deadline).status();
        }));
  }
  if (rows > 0) spdlog::info("write-ahead log: {} rows written online again after a restart", rows);
  if (stream_batches > 0) {
    spdlog::info("write-ahead log: {} stream batches to acknowledge and compact", stream_batches);
  }
  return absl::OkStatus();
}

absl::StatusOr<CompactStats> IngestLog::CompactNow() {
  if (!replayed()) {
    return absl::FailedPreconditionError(
        "write-ahead log: its rows are still being written online again after the restart");
  }
  std::lock_guard<std::mutex> lock(compact_mu_);
  absl::StatusOr<CompactStats> stats = compactor_.CompactSealed(/*roll=*/true);
  if (stats.ok() && !stats->written.empty() && options_.on_compacted) {
    options_.on_compacted(*stats);
  }
  return stats;
}

absl::StatusOr<CompactStats> IngestLog::CompactAndRecord() {
  const auto began = std::chrono::steady_clock::now();
  absl::StatusOr<CompactStats> stats = CompactNow();
  if (metrics_ != nullptr) {
    metrics_->Compacted(
        stats.ok(), stats.ok() ? stats->rows : 0,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
        NowMicros());
    int64_t bytes = 0;
    const std::vector<WalSegment> segments = wal_->Segments();
    for (const WalSegment& s : segments) bytes += s.bytes;
    metrics_->Log(static_cast<int64_t>(segments.size()), bytes, wal_->appends(), wal_->syncs());
  }
  return stats;
}

void IngestLog::Run() {
  const auto every = std::chrono::microseconds(options_.compact_every);
  std::chrono::steady_clock::time_point waiting_since, last_warned;
  // The online rewrite first, retried until the store answers.
  while (true) {
    const absl::Status replay = ReplayOnline();
    if (replay.ok()) break;
    spdlog::warn("write-ahead log: writing logged rows online again failed, retrying: {}", replay);
    std::unique_lock<std::mutex> lock(mu_);
    if (wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; })) return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    replayed_ = true;
  }
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (wake_.wait_for(lock, every, [&] { return stopping_; })) return;
    }
    absl::StatusOr<CompactStats> stats = CompactAndRecord();
    if (stats.ok() && stats->segments_waiting > 0) {
      // A stream batch stays undecided while its source's Redis is down, or
      // when its source was removed mid-batch: say so, once a minute.
      const auto now = std::chrono::steady_clock::now();
      if (waiting_since == std::chrono::steady_clock::time_point()) waiting_since = now;
      if (now - waiting_since > std::chrono::seconds(60) && now - last_warned > std::chrono::seconds(60)) {
        last_warned = now;
        spdlog::warn("write-ahead log: compaction has waited {} s for stream batches of {} to be "
                     "acknowledged (is their Redis reachable, is the source still defined?)",
                     std::chrono::duration_cast<std::chrono::seconds>(now - waiting_since).count(),
                     absl::StrJoin(ledger_.UndecidedSources(), ", "));
      }
    } else {
      waiting_since = {};
    }
    if (!stats.ok()) {
      spdlog::error("write-ahead log: compaction failed (retried in {} ms): {}",
                    options_.compact_every / 1000, stats.status());
    } else if (stats->files > 0) {
      spdlog::debug("write-ahead log: compacted {} rows into {} files", stats->rows, stats->files);
    }
  }
}

}  // namespace pantry::ingest
