#include "server/ingest/compactor.h"

#include <filesystem>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/status.h"
#include "server/ingest/log_batch.h"
#include "server/offline/columns.h"
#include "server/offline/source.h"
#include "spdlog/spdlog.h"

namespace pantry::ingest {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kFlushRows = 65536;

// The file of one view of the segment being compacted, filled row by row.
struct ViewFile {
  const FeatureView* view = nullptr;  // null: the view is gone; rows dropped
  bool present = false;               // already written by an earlier run
  std::string path;
  std::vector<parquet::ColumnSpec> specs;
  bool created = false;  // a created-time column follows the event time
  std::unique_ptr<parquet::FileWriter> writer;
  std::vector<parquet::ColumnData> batch;
  int64_t batched = 0;
  int64_t rows = 0;
};

const DataSource* SourceOf(const Registry& registry, const FeatureView& view) {
  if (view.source.empty()) return nullptr;
  const auto it = registry.sources.find(view.source);
  return it == registry.sources.end() ? nullptr : &it->second;
}

// Removes temp files an interrupted run left in `folder`.
void RemoveStaleTemps(const std::string& folder) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    if (absl::StartsWith(name, "wal-") && absl::StrContains(name, ".parquet.tmp-")) {
      fs::remove(e.path(), ec);
    }
  }
}

absl::Status Flush(ViewFile& f) {
  if (f.batched == 0) return absl::OkStatus();
  PANTRY_RETURN_IF_ERROR(f.writer->Write(std::move(f.batch), f.batched));
  f.batch.assign(f.specs.size(), parquet::ColumnData{});
  f.batched = 0;
  return absl::OkStatus();
}

}  // namespace

Compactor::Compactor(Wal* wal, RegistryFn registry, StreamLedger* ledger,
                     parquet::WriterOptions options)
    : wal_(wal), ledger_(ledger), registry_(std::move(registry)), options_(std::move(options)) {}

std::string Compactor::FileName(absl::string_view log_id, uint64_t first_lsn,
                                uint64_t last_lsn) {
  return absl::StrFormat("wal-%s-%020u-%020u.parquet", log_id, first_lsn, last_lsn);
}

absl::StatusOr<CompactStats> Compactor::CompactSealed(bool roll) {
  const absl::Status rolled = roll ? wal_->Roll() : absl::OkStatus();
  const std::shared_ptr<const Registry> registry = registry_();
  CompactStats stats;
  std::vector<WalSegment> segments = wal_->Segments();
  segments.pop_back();  // the current one
  for (const WalSegment& segment : segments) {
    if (segment.last_lsn != 0 && ledger_ != nullptr &&
        !ledger_->DecidedThrough(segment.first_lsn, segment.last_lsn)) {
      ++stats.segments_waiting;  // its stream entries are still being acknowledged
      break;
    }
    if (segment.last_lsn != 0) PANTRY_RETURN_IF_ERROR(CompactSegment(segment, *registry, &stats));
    if (ledger_ != nullptr && segment.last_lsn != 0) {
      ledger_->Compacted(segment.first_lsn, segment.last_lsn);
    }
    PANTRY_RETURN_IF_ERROR(wal_->DeleteThrough(segment.last_lsn != 0 ? segment.last_lsn
                                                                      : segment.first_lsn));
    ++stats.segments;
  }
  if (!rolled.ok()) return rolled;
  return stats;
}

absl::Status Compactor::CompactSegment(const WalSegment& segment, const Registry& registry,
                                       CompactStats* stats) {
  std::map<std::string, ViewFile, std::less<>> files;
  // Opens (or finds already written) the file of `view_name`.
  auto file_for = [&](const std::string& view_name) -> absl::StatusOr<ViewFile*> {
    auto it = files.find(view_name);
    if (it != files.end()) return &it->second;
    ViewFile& f = files[view_name];
    const auto v = registry.feature_views.find(view_name);
    if (v == registry.feature_views.end()) return &f;
    f.view = &v->second;
    const std::string folder = offline::AppendedRowsFolder(registry, *f.view);
    f.path =
        (fs::path(folder) / FileName(wal_->id(), segment.first_lsn, segment.last_lsn)).string();
    std::error_code ec;
    if (fs::exists(f.path, ec)) {
      f.present = true;
      return &f;
    }
    fs::create_directories(folder, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("compaction: cannot create ", folder, ": ", ec.message()));
    }
    RemoveStaleTemps(folder);
    for (const JoinKey& k : f.view->join_keys) {
      f.specs.push_back(offline::OutputSpec(k.name, k.value_type));
    }
    const DataSource* source = SourceOf(registry, *f.view);
    f.specs.push_back(offline::OutputSpec(
        source != nullptr && !source->timestamp_field.empty() ? source->timestamp_field
                                                              : "event_timestamp",
        ValueType::kUnixTimestamp));
    if (source != nullptr && !source->created_timestamp_field.empty()) {
      f.specs.push_back(
          offline::OutputSpec(source->created_timestamp_field, ValueType::kUnixTimestamp));
      f.created = true;
    }
    for (const Feature& feature : f.view->written_columns()) {
      f.specs.push_back(offline::OutputSpec(feature.name, feature.dtype));
    }
    parquet::WriterOptions options = options_;
    options.key_value_metadata.push_back(
        {"pantry.wal_lsns", absl::StrCat(wal_->id(), ":", segment.first_lsn, "-", segment.last_lsn)});
    PANTRY_ASSIGN_OR_RETURN(f.writer, parquet::FileWriter::Create(f.path, f.specs, options));
    f.batch.assign(f.specs.size(), parquet::ColumnData{});
    return &f;
  };

  // Adds the rows of `batch` to its view's file.
  auto add = [&](const LogBatch& batch) -> absl::Status {
    PANTRY_ASSIGN_OR_RETURN(ViewFile * f, file_for(batch.view));
    if (f->view == nullptr) {
      stats->rows_dropped_unknown_view += static_cast<int64_t>(batch.rows.size());
      return absl::OkStatus();
    }
    if (f->present) return absl::OkStatus();
    const size_t num_keys = f->view->join_keys.size();
    for (const CheckedRow& row : RowsForView(batch, *f->view, &stats->values_not_castable)) {
      for (size_t k = 0; k < num_keys; ++k) {
        offline::AppendOutputValue(row.keys[k], &f->batch[k]);
      }
      offline::AppendOutputValue(Value::UnixTimestamp(row.event_time), &f->batch[num_keys]);
      if (f->created) {
        offline::AppendOutputValue(Value::UnixTimestamp(batch.logged_at),
                                   &f->batch[num_keys + 1]);
      }
      const size_t first_feature = num_keys + (f->created ? 2 : 1);
      for (size_t i = 0; i < row.features.size(); ++i) {
        offline::AppendOutputValue(row.features[i], &f->batch[first_feature + i]);
      }
      ++f->batched;
      ++f->rows;
      if (f->batched >= kFlushRows) PANTRY_RETURN_IF_ERROR(Flush(*f));
    }
    return absl::OkStatus();
  };

  PANTRY_RETURN_IF_ERROR(wal_->ReadSegment(
      segment.path, 0, [&](uint64_t lsn, absl::string_view record) -> absl::Status {
        auto bad = [&](const absl::Status& st) {
          return absl::DataLossError(
              absl::StrCat("compaction of ", segment.path, ": LSN ", lsn, ": ", st.message()));
        };
        if (!IsStreamBatch(record)) {
          absl::StatusOr<LogBatch> batch = DecodeLogBatch(record);
          if (!batch.ok()) return bad(batch.status());
          return add(*batch);
        }
        absl::StatusOr<StreamBatch> batch = DecodeStreamBatch(record);
        if (!batch.ok()) return bad(batch.status());
        const std::string decision =
            ledger_ != nullptr ? ledger_->Decision(lsn) : std::string();
        if (decision.size() != batch->entry_ids.size()) {
          return absl::InternalError(absl::StrCat("compaction of ", segment.path, ": LSN ", lsn,
                                                  ": the stream batch is not decided"));
        }
        for (StreamViewRows& v : batch->views) {
          LogBatch kept;
          kept.view = std::move(v.batch.view);
          kept.logged_at = v.batch.logged_at;
          kept.columns = std::move(v.batch.columns);
          for (size_t r = 0; r < v.batch.rows.size(); ++r) {
            if (decision[v.entry_of_row[r]] == '1') {
              kept.rows.push_back(std::move(v.batch.rows[r]));
            } else {
              ++stats->rows_duplicate;
            }
          }
          if (!kept.rows.empty()) PANTRY_RETURN_IF_ERROR(add(kept));
        }
        return absl::OkStatus();
      }));
  for (auto& [name, f] : files) {
    if (f.present) {
      ++stats->files_present;
      continue;
    }
    if (f.writer == nullptr) continue;
    PANTRY_RETURN_IF_ERROR(Flush(f));
    PANTRY_RETURN_IF_ERROR(f.writer->Close());
    ++stats->files;
    stats->rows += f.rows;
    stats->written.push_back({name, f.path, f.rows});
  }
  if (stats->rows_dropped_unknown_view > 0) {
    spdlog::warn("compaction of {}: {} rows of feature views no longer in the registry dropped",
                 segment.path, stats->rows_dropped_unknown_view);
  }
  return absl::OkStatus();
}

}  // namespace pantry::ingest
