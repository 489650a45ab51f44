#include "server/materialize/materialize.h"

#include "server/materialize/heal.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/offline/columns.h"
#include "server/offline/scan.h"
#include "server/offline/source.h"
#include "server/online/row.h"
#include "server/value/encoding.h"

namespace pantry::materialize {
namespace {

using offline::Candidate;
using offline::ViewFile;
using parquet::ColumnData;

absl::Status Interrupted(const MaterializeOptions& options) {
  return options.interrupt ? options.interrupt() : absl::OkStatus();
}

int64_t ChunkBytes(const parquet::FileReader& reader, int row_group, int column) {
  const auto& chunk = reader.metadata().row_groups[row_group].columns[column];
  return chunk.meta_data ? chunk.meta_data->total_compressed_size : 0;
}

// Sends write batches to the store, at most `max_in_flight` at once, and
// gathers their results. Thread-safe.
class WritePipeline {
 public:
  WritePipeline(OnlineStore* store, int max_in_flight, Micros timeout,
                MaterializeProgress* progress)
      : store_(store),
        max_in_flight_(std::max(1, max_in_flight)),
        timeout_(timeout),
        progress_(progress) {}
  // Waits for the writes in flight: their callbacks use this object, and a
  // run that stops early (an error, an interrupt) returns with some pending.
  ~WritePipeline() { Drain().IgnoreError(); }
  WritePipeline(const WritePipeline&) = delete;
  WritePipeline& operator=(const WritePipeline&) = delete;

  // Waits for room, then sends. Returns the first error any write got so
  // far (then nothing is sent).
  absl::Status Send(std::vector<ViewWrite> batch) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return in_flight_ < max_in_flight_ || !error_.ok(); });
      if (!error_.ok()) return error_;
      ++in_flight_;
    }
    store_->Write(std::move(batch), NowMicros() + timeout_,
                  [this](absl::StatusOr<WriteResult> result) {
                    std::lock_guard<std::mutex> lock(mu_);
                    if (result.ok()) {
                      written_ += result->written;
                      skipped_ += result->skipped_older;
                      if (progress_ != nullptr) {
                        progress_->rows_written += result->written;
                        progress_->rows_skipped += result->skipped_older;
                      }
                    } else if (error_.ok()) {
                      error_ = result.status();
                    }
                    --in_flight_;
                    cv_.notify_all();
                  });
    return absl::OkStatus();
  }

  // Waits for every write sent; the first error, if any.
  absl::Status Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return in_flight_ == 0; });
    return error_;
  }

  int64_t written() const { return written_; }  // after Drain
  int64_t skipped() const { return skipped_; }

 private:
  OnlineStore* const store_;
  const int max_in_flight_;
  const Micros timeout_;
  MaterializeProgress* const progress_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  absl::Status error_;
  int64_t written_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace

absl::StatusOr<MaterializeStats> MaterializeView(const Registry& registry,
                                                 const FeatureView& view, Micros start,
                                                 Micros end, OnlineStore* store,
                                                 const MaterializeOptions& options,
                                                 MaterializeProgress* progress) {
  MaterializeProgress local_progress;
  if (progress == nullptr) progress = &local_progress;
  if (view.is_aggregation()) {
    HealOptions heal;
    heal.threads = options.threads;
    heal.write_timeout = options.write_timeout;
    heal.interrupt = options.interrupt;
    heal.flush_log = options.flush_log;
    heal.clock = options.clock;
    heal.memory_budget_bytes = options.memory_budget_bytes;
    PANTRY_ASSIGN_OR_RETURN(HealStats healed, HealAggregationView(registry, view, store, heal));
    MaterializeStats stats;
    stats.rows_read = healed.rows_scanned;
    stats.keys = healed.entities;
    stats.rows_written = healed.written;
    stats.rows_skipped = healed.unhealed;
    progress->rows_read += healed.rows_scanned;
    progress->rows_written += healed.written;
    return stats;
  }
  if (!view.online) {
    return absl::FailedPreconditionError(
        absl::StrCat("feature view '", view.name, "' is not online (online: false)"));
  }
  if (start >= end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "feature view '", view.name, "': the window's start (", FormatRfc3339(start),
        ") is not before its end (", FormatRfc3339(end), ")"));
  }
  PANTRY_ASSIGN_OR_RETURN(std::vector<offline::SourceFile> listed,
                          offline::ListViewFiles(registry, view));
  const DataSource& source = registry.sources.find(view.source)->second;
  std::vector<int> all_features;
  for (size_t i = 0; i < view.schema.size(); ++i) all_features.push_back(static_cast<int>(i));

  MaterializeStats stats;
  std::vector<ViewFile> files;
  for (const offline::SourceFile& sf : listed) {
    if (!offline::MayOverlap(sf, start, end - 1)) {
      ++stats.files_skipped;
      continue;
    }
    PANTRY_ASSIGN_OR_RETURN(ViewFile f, offline::OpenViewFile(view, source, sf.path, all_features));
    stats.inputs.push_back(sf.path);
    files.push_back(std::move(f));
  }
  struct Task {
    uint32_t file, row_group;
  };
  std::vector<Task> tasks;
  int64_t window_rows = 0;  // an upper bound on the keys
  for (size_t f = 0; f < files.size(); ++f) {
    for (int g = 0; g < files[f].reader->num_row_groups(); ++g) {
      auto range = files[f].reader->TimeRangeMicros(g, files[f].time_column);
      if (range && (range->first >= end || range->second < start)) {
        ++stats.row_groups_skipped;
        continue;
      }
      tasks.push_back({static_cast<uint32_t>(f), static_cast<uint32_t>(g)});
      window_rows += files[f].reader->row_group_rows(g);
    }
  }

  // Per key and thread: the key bytes, a Candidate and the hash table's own
  // share. Partitions keep each pass's state within the budget.
  const int threads = std::max(1, options.threads);
  bool integer_keys = true;
  std::vector<bool> integer;
  for (const JoinKey& k : view.join_keys) {
    integer.push_back(offline::IsIntegerKey(k.value_type));
    integer_keys = integer_keys && integer.back();
  }
  const int64_t per_key = (integer_keys ? 8 * static_cast<int64_t>(view.join_keys.size()) : 48) +
                          static_cast<int64_t>(sizeof(Candidate)) + 48;
  const int64_t state = window_rows * per_key;
  const int partitions = static_cast<int>(std::clamp<int64_t>(
      (state + options.memory_budget_bytes - 1) / std::max<int64_t>(1, options.memory_budget_bytes),
      1, 4096));
  stats.partitions = partitions;
  progress->work_total += static_cast<int64_t>(tasks.size()) * partitions;

  WritePipeline pipeline(store, options.writes_in_flight, options.write_timeout, progress);
  const bool single_int_key = view.join_keys.size() == 1 && integer[0];

  // Decoded columns, kept per worker thread from one row group to the next
  // so their memory is reused rather than allocated and faulted in again.
  struct Buffers {
    std::vector<ColumnData> keys, features;
    ColumnData time, created;
    std::vector<Micros> times, created_times;
    std::vector<uint32_t> feature_ids;
    std::string encoding;
  };
  std::vector<Buffers> buffers(static_cast<size_t>(threads));

  // Pass 1 of partition `p`: every row of the window updates its key's best
  // candidate in a table shared by the threads (sharded, each shard under
  // its own lock, taken once per row group), so each key is held once.
  // Fills `wanted` with the winners' rows by (file, row group); returns the
  // number of keys.
  auto ScanBest = [&]<typename Key>(int p, std::map<std::pair<uint32_t, uint32_t>,
                                                    std::vector<uint32_t>>* wanted)
      -> absl::StatusOr<int64_t> {
    constexpr size_t kShards = 64;
    struct Shard {
      std::mutex mu;
      absl::flat_hash_map<Key, Candidate> best;
    };
    std::vector<Shard> shards(kShards);
    const absl::Hash<Key> hasher;
    // A row group's candidates, grouped by shard (counting sort), in arrays
    // each worker keeps from one row group to the next.
    struct Staging {
      std::vector<std::pair<Key, Candidate>> rows, by_shard;
      std::vector<uint8_t> shard;
    };
    std::vector<Staging> staging(static_cast<size_t>(threads));
    PANTRY_RETURN_IF_ERROR(offline::ParallelFor(
        threads, tasks.size(), [&](size_t i, int worker) -> absl::Status {
          PANTRY_RETURN_IF_ERROR(Interrupted(options));
          const Task task = tasks[i];
          const ViewFile& f = files[task.file];
          const int g = static_cast<int>(task.row_group);
          const auto& cols = f.reader->schema().columns();
          Buffers& b = buffers[static_cast<size_t>(worker)];
          std::vector<ColumnData>& key_data = b.keys;
          key_data.resize(f.key_columns.size());
          ColumnData& time_data = b.time;
          ColumnData& created_data = b.created;
          int64_t bytes = 0;
          for (size_t k = 0; k < key_data.size(); ++k) {
            PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(g, f.key_columns[k], &key_data[k]));
            bytes += ChunkBytes(*f.reader, g, f.key_columns[k]);
          }
          PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(g, f.time_column, &time_data));
          bytes += ChunkBytes(*f.reader, g, f.time_column);
          std::vector<Micros>& times = b.times;
          std::vector<Micros>& created = b.created_times;
          times.clear();
          created.clear();
          offline::ReadTimes(cols[f.time_column], time_data, &times);
          if (f.created_column >= 0) {
            PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(g, f.created_column, &created_data));
            bytes += ChunkBytes(*f.reader, g, f.created_column);
            offline::ReadTimes(cols[f.created_column], created_data, &created);
          }
          std::vector<offline::RowValues> key_values;
          for (size_t k = 0; k < key_data.size(); ++k) {
            key_values.emplace_back(cols[f.key_columns[k]], key_data[k],
                                    view.join_keys[k].value_type);
          }
          Staging& st = staging[static_cast<size_t>(worker)];
          st.rows.clear();
          st.shard.clear();
          int64_t in_window = 0;
          const int64_t n = static_cast<int64_t>(times.size());
          for (int64_t r = 0; r < n; ++r) {
            const Micros t = times[r];
            if (t == kNoTimestamp || t < start || t >= end) continue;
            ++in_window;
            bool null_key = false;
            for (const auto& kv : key_values) null_key = null_key || kv.IsNull(r);
            if (null_key) continue;  // no entity to write to
            Key key{};
            if constexpr (std::is_same_v<Key, int64_t>) {
              key = key_values[0].GetInt(r);
            } else {
              for (size_t k = 0; k < key_values.size(); ++k) {
                offline::AppendKey(key_values[k], r, integer[k], &key);
              }
            }
            const size_t h = hasher(key);
            if (partitions > 1 && h % static_cast<size_t>(partitions) != static_cast<size_t>(p)) {
              continue;
            }
            const Candidate c = Candidate::At(t, created.empty() ? kNoTimestamp : created[r], task.file,
                                              task.row_group, static_cast<uint32_t>(r));
            st.rows.emplace_back(std::move(key), c);
            st.shard.push_back(static_cast<uint8_t>((h >> 20) % kShards));
          }
          std::array<size_t, kShards + 1> begin{};
          for (const uint8_t sh : st.shard) ++begin[sh + 1];
          for (size_t sh = 0; sh < kShards; ++sh) begin[sh + 1] += begin[sh];
          std::array<size_t, kShards> next;
          std::copy(begin.begin(), begin.end() - 1, next.begin());
          st.by_shard.resize(st.rows.size());
          for (size_t r = 0; r < st.rows.size(); ++r) {
            st.by_shard[next[st.shard[r]]++] = std::move(st.rows[r]);
          }
          for (size_t sh = 0; sh < kShards; ++sh) {
            if (begin[sh] == begin[sh + 1]) continue;
            std::lock_guard<std::mutex> lock(shards[sh].mu);
            auto& best = shards[sh].best;
            for (size_t r = begin[sh]; r < begin[sh + 1]; ++r) {
              auto& [key, c] = st.by_shard[r];
              auto [it, inserted] = best.try_emplace(std::move(key), c);
              if (!inserted && offline::Better(c, it->second)) it->second = c;
            }
          }
          if (p == 0) {
            progress->rows_read += in_window;
            progress->bytes_read += bytes;
          }
          ++progress->work_done;
          return absl::OkStatus();
        }));
    int64_t keys = 0;
    for (Shard& shard : shards) {
      keys += static_cast<int64_t>(shard.best.size());
      for (const auto& [key, c] : shard.best) (*wanted)[{c.file, c.row_group}].push_back(c.row);
      absl::flat_hash_map<Key, Candidate>().swap(shard.best);
    }
    return keys;
  };

  for (int p = 0; p < partitions; ++p) {
    // Pass 1: keys and times into the shared best-per-key table.
    std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> wanted;
    const Micros scan_start = NowMicros();
    absl::StatusOr<int64_t> keys =
        single_int_key ? ScanBest.template operator()<int64_t>(p, &wanted)
                       : ScanBest.template operator()<std::string>(p, &wanted);
    PANTRY_RETURN_IF_ERROR(keys.status());
    stats.scan_micros += NowMicros() - scan_start;
    stats.keys += *keys;

    // Pass 2: the feature values of the winners, row group by row group.
    std::vector<const std::pair<const std::pair<uint32_t, uint32_t>, std::vector<uint32_t>>*>
        buckets;
    for (auto& w : wanted) {
      std::sort(w.second.begin(), w.second.end());  // read each column front to back
      buckets.push_back(&w);
    }
    progress->work_total += static_cast<int64_t>(buckets.size());
    PANTRY_RETURN_IF_ERROR(offline::ParallelFor(
        threads, buckets.size(), [&](size_t i, int worker) -> absl::Status {
          PANTRY_RETURN_IF_ERROR(Interrupted(options));
          const auto& [where, rows] = *buckets[i];
          const ViewFile& f = files[where.first];
          const int g = static_cast<int>(where.second);
          const auto& cols = f.reader->schema().columns();
          Buffers& b = buffers[static_cast<size_t>(worker)];
          std::vector<ColumnData>& keys = b.keys;
          std::vector<ColumnData>& features = b.features;
          keys.resize(f.key_columns.size());
          features.resize(view.schema.size());
          ColumnData& time_data = b.time;
          for (size_t k = 0; k < keys.size(); ++k) {
            PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(g, f.key_columns[k], &keys[k]));
          }
          PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(g, f.time_column, &time_data));
          int64_t bytes = 0;
          for (size_t j = 0; j < features.size(); ++j) {
            PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(g, f.feature_columns[j], &features[j]));
            bytes += ChunkBytes(*f.reader, g, f.feature_columns[j]);
          }
          progress->bytes_read += bytes;
          std::vector<Micros>& times = b.times;
          times.clear();
          offline::ReadTimes(cols[f.time_column], time_data, &times);
          std::vector<offline::RowValues> key_values, feature_values;
          for (size_t k = 0; k < keys.size(); ++k) {
            key_values.emplace_back(cols[f.key_columns[k]], keys[k], view.join_keys[k].value_type);
          }
          for (size_t j = 0; j < features.size(); ++j) {
            feature_values.emplace_back(cols[f.feature_columns[j]], features[j],
                                        view.schema[j].dtype);
          }
          std::vector<ViewWrite> batch;
          batch.reserve(std::min<size_t>(rows.size(), options.write_batch_rows));
          std::vector<uint32_t>& ids = b.feature_ids;
          ids.clear();
          for (const Feature& feature : view.schema) ids.push_back(FeatureId(feature.name));
          std::string& encoding = b.encoding;
          std::vector<Value> key_row(keys.size());
          std::vector<const Value*> key_ptrs(keys.size());
          for (const uint32_t r : rows) {
            for (size_t k = 0; k < keys.size(); ++k) {
              key_row[k] = key_values[k].Get(r);
              key_ptrs[k] = &key_row[k];
            }
            ViewWrite w;
            w.key = OnlineKey(registry.project, view.name, view.join_keys, key_ptrs);
            w.view = view.name;
            w.online_ttl = view.online_ttl;
            AppendRowHeader(times[r], &w.row);
            for (size_t j = 0; j < features.size(); ++j) {
              encoding.clear();
              EncodeValue(feature_values[j].Get(r), &encoding);
              AppendRowEntry(ids[j], encoding, &w.row);
            }
            batch.push_back(std::move(w));
            if (batch.size() >= static_cast<size_t>(options.write_batch_rows)) {
              PANTRY_RETURN_IF_ERROR(Interrupted(options));
              PANTRY_RETURN_IF_ERROR(pipeline.Send(std::move(batch)));
              batch.clear();
            }
          }
          if (!batch.empty()) PANTRY_RETURN_IF_ERROR(pipeline.Send(std::move(batch)));
          ++progress->work_done;
          return absl::OkStatus();
        }));
  }
  PANTRY_RETURN_IF_ERROR(pipeline.Drain());
  stats.rows_read = progress->rows_read.load();
  stats.bytes_read = progress->bytes_read.load();
  stats.rows_written = pipeline.written();
  stats.rows_skipped = pipeline.skipped();
  return stats;
}

}  // namespace pantry::materialize
