#include "server/offline/events.h"

#include <algorithm>
#include <atomic>

#include "server/common/status.h"
#include "server/offline/scan.h"
#include "server/offline/source.h"

namespace pantry::offline {

using parquet::ColumnData;

absl::StatusOr<EventScanSize> MeasureViewEvents(const Registry& registry, const FeatureView& view,
                                                const transform::AggregationPlan& plan, Micros lo,
                                                Micros hi) {
  PANTRY_ASSIGN_OR_RETURN(std::vector<SourceFile> listed, ListViewFiles(registry, view));
  const DataSource& source = registry.sources.find(view.source)->second;
  PANTRY_ASSIGN_OR_RETURN(ScanPlan scan, PlanScan(view, source, listed, lo, hi, plan.used_columns));
  EventScanSize size;
  for (const ScanTask& task : scan.tasks) {
    const ViewFile& f = scan.files[task.file];
    const parquet::RowGroup& group = f.reader->metadata().row_groups[task.row_group];
    size.rows += group.num_rows;
    for (size_t k = 0; k < plan.used_column_types.size(); ++k) {
      const ValueType t = plan.used_column_types[k];
      if (t != ValueType::kString && t != ValueType::kBytes && !IsListType(t)) continue;
      const size_t c = static_cast<size_t>(f.feature_columns[k]);
      if (c < group.columns.size() && group.columns[c].meta_data) {
        size.value_bytes += group.columns[c].meta_data->total_uncompressed_size;
      }
    }
  }
  return size;
}

int64_t HeldEventBytes(const transform::AggregationPlan& plan) {
  using RawEvent = transform::EntityState::RawEvent;
  const int64_t used = static_cast<int64_t>(plan.used_columns.size());
  // Values beyond the first live out of line, with the allocator's header.
  return static_cast<int64_t>(sizeof(RawEvent)) +
         (used > 1 ? used * static_cast<int64_t>(sizeof(Value)) + 16 : 0);
}

int EventPasses(int64_t bytes, int64_t budget) {
  budget = std::max<int64_t>(1, budget);
  return static_cast<int>(std::clamp<int64_t>((bytes + budget - 1) / budget, 1, 4096));
}

absl::StatusOr<EventScanStats> ScanViewEvents(const Registry& registry, const FeatureView& view,
                                              const transform::AggregationPlan& plan, Micros lo,
                                              Micros hi, int threads,
                                              const std::function<absl::Status()>& interrupt,
                                              EventSink* sink) {
  PANTRY_ASSIGN_OR_RETURN(std::vector<SourceFile> listed, ListViewFiles(registry, view));
  const DataSource& source = registry.sources.find(view.source)->second;
  const std::vector<Feature>& columns = view.written_columns();
  std::vector<int> all_columns(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) all_columns[c] = static_cast<int>(c);
  PANTRY_ASSIGN_OR_RETURN(ScanPlan scan, PlanScan(view, source, listed, lo, hi, all_columns));
  EventScanStats stats;
  stats.files_skipped = scan.files_skipped;
  stats.row_groups_skipped = scan.row_groups_skipped;
  const std::vector<ViewFile>& files = scan.files;
  const std::vector<ScanTask>& tasks = scan.tasks;
  std::atomic<int64_t> scanned{0};
  PANTRY_RETURN_IF_ERROR(ParallelFor(
      std::max(1, threads), tasks.size(), [&](size_t i, int worker) -> absl::Status {
        if (interrupt) PANTRY_RETURN_IF_ERROR(interrupt());
        const ScanTask task = tasks[i];
        const ViewFile& f = files[task.file];
        const auto& cols = f.reader->schema().columns();
        std::vector<ColumnData> keys(f.key_columns.size()), values(f.feature_columns.size());
        ColumnData time_data;
        for (size_t k = 0; k < keys.size(); ++k) {
          PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(task.row_group, f.key_columns[k], &keys[k]));
        }
        PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(task.row_group, f.time_column, &time_data));
        std::vector<Micros> times;
        ReadTimes(cols[f.time_column], time_data, &times);
        std::vector<RowValues> key_values;
        for (size_t k = 0; k < keys.size(); ++k) {
          key_values.emplace_back(cols[f.key_columns[k]], keys[k], view.join_keys[k].value_type);
        }
        // The other columns only once some row is wanted.
        std::vector<RowValues> column_values;
        bool columns_read = false;
        const int64_t n = static_cast<int64_t>(times.size());
        scanned += n;
        for (int64_t r = 0; r < n; ++r) {
          const Micros t = times[r];
          if (t == kNoTimestamp || t > hi || t < lo) continue;
          const int64_t entity = sink->Entity(key_values, r, t, worker);
          if (entity < 0) continue;
          if (!columns_read) {
            for (size_t c = 0; c < values.size(); ++c) {
              PANTRY_RETURN_IF_ERROR(
                  f.reader->ReadColumn(task.row_group, f.feature_columns[c], &values[c]));
            }
            for (size_t c = 0; c < values.size(); ++c) {
              column_values.emplace_back(cols[f.feature_columns[c]], values[c], columns[c].dtype);
            }
            columns_read = true;
          }
          transform::EventIdBuilder id;
          for (const RowValues& k : key_values) id.AddValue(k.Get(r));
          id.AddTime(t);
          transform::EntityState::RawEvent e;
          e.values.reserve(plan.used_columns.size());
          size_t next_used = 0;
          for (size_t c = 0; c < column_values.size(); ++c) {
            Value v = column_values[c].Get(r);
            id.AddValue(v);
            if (next_used < plan.used_columns.size() &&
                plan.used_columns[next_used] == static_cast<int>(c)) {
              e.values.push_back(std::move(v));
              ++next_used;
            }
          }
          e.key = {t, id.Finish()};
          sink->Event(entity, std::move(e), worker);
        }
        return absl::OkStatus();
      }));
  stats.rows_scanned = scanned.load();
  return stats;
}

}  // namespace pantry::offline
