#include "server/offline/historical.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <bit>
#include <cstring>
#include <deque>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status.h"
#include "server/offline/columns.h"
#include "server/offline/events.h"
#include "server/offline/scan.h"
#include "server/offline/source.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "server/transform/aggregate.h"

namespace pantry::offline {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

using parquet::Column;
using parquet::ColumnData;
using parquet::FileReader;

absl::Status Interrupted(const HistoricalOptions& options) {
  return options.interrupt ? options.interrupt() : absl::OkStatus();
}

// One requested output feature: of a feature view (`view`), or computed
// by an on-demand view (`on_demand`). Hidden ones are joined only as inputs
// of on-demand features, not written.
struct OutputFeature {
  OutputFeature(const FeatureView* view, int index, std::string name, ValueType dtype)
      : view(view), index(index), name(std::move(name)), dtype(dtype) {}
  const FeatureView* view;
  int index;  // in view->schema, or in on_demand->features
  std::string name;
  ValueType dtype;
  const OnDemandView* on_demand = nullptr;
  bool hidden = false;
  std::vector<size_t> inputs;  // on-demand: the outputs holding its feature inputs
};

// The values of one output feature, indexed by entity row; unset rows are
// null. Scalars are kept unboxed.
class ResultColumn {
 public:
  ResultColumn(ValueType dtype, size_t rows) : dtype_(dtype), set_(rows, 0) {
    switch (dtype) {
      case ValueType::kInt32:
      case ValueType::kInt64:
      case ValueType::kBool:
      case ValueType::kUnixTimestamp: ints_.resize(rows); break;
      case ValueType::kFloat:
      case ValueType::kDouble: doubles_.resize(rows); break;
      case ValueType::kString:
      case ValueType::kBytes: strings_.resize(rows); break;
      default: others_.resize(rows); break;
    }
  }

  // The value of `row` (null when unset).
  Value Get(size_t row) const {
    if (!set_[row]) return Value::Null(dtype_);
    switch (dtype_) {
      case ValueType::kInt32: return Value::Int32(static_cast<int32_t>(ints_[row]));
      case ValueType::kInt64: return Value::Int64(ints_[row]);
      case ValueType::kUnixTimestamp: return Value::UnixTimestamp(ints_[row]);
      case ValueType::kBool: return Value::Bool(ints_[row] != 0);
      case ValueType::kFloat: return Value::Float(static_cast<float>(doubles_[row]));
      case ValueType::kDouble: return Value::Double(doubles_[row]);
      case ValueType::kString: return Value::String(strings_[row]);
      case ValueType::kBytes: return Value::Bytes(strings_[row]);
      default: return others_[row];
    }
  }

  // Rows set by different threads must differ.
  void Set(size_t row, Value v) {
    if (v.is_null()) return;
    set_[row] = 1;
    switch (dtype_) {
      case ValueType::kInt32: ints_[row] = v.get<int32_t>(); break;
      case ValueType::kInt64:
      case ValueType::kUnixTimestamp: ints_[row] = v.get<int64_t>(); break;
      case ValueType::kBool: ints_[row] = v.get<bool>() ? 1 : 0; break;
      case ValueType::kFloat: doubles_[row] = v.get<float>(); break;
      case ValueType::kDouble: doubles_[row] = v.get<double>(); break;
      case ValueType::kString:
      case ValueType::kBytes: strings_[row] = v.get<std::string>(); break;
      default: others_[row] = std::move(v); break;
    }
  }

  // Appends rows [begin, end) to `out`, a column of OutputSpec(_, dtype).
  void AppendTo(size_t begin, size_t end, ColumnData* out) const {
    for (size_t r = begin; r < end; ++r) {
      ++out->num_slots;
      if (!IsListType(dtype_)) {
        if (!set_[r]) {
          out->def_levels.push_back(0);
          continue;
        }
        out->def_levels.push_back(1);
        switch (dtype_) {
          case ValueType::kInt32: out->i32.push_back(static_cast<int32_t>(ints_[r])); break;
          case ValueType::kInt64:
          case ValueType::kUnixTimestamp: out->i64.push_back(ints_[r]); break;
          case ValueType::kBool: out->bools.push_back(static_cast<uint8_t>(ints_[r])); break;
          case ValueType::kFloat: out->f32.push_back(static_cast<float>(doubles_[r])); break;
          case ValueType::kDouble: out->f64.push_back(doubles_[r]); break;
          default: out->bytes.Append(strings_[r]); break;
        }
        continue;
      }
      --out->num_slots;  // AppendOutputValue counts its own slots
      AppendOutputValue(set_[r] ? others_[r] : Value::Null(dtype_), out);
    }
  }

 private:
  ValueType dtype_;
  std::vector<uint8_t> set_;
  std::vector<int64_t> ints_;
  std::vector<double> doubles_;
  std::vector<std::string> strings_;
  std::vector<Value> others_;
};

// A chunk of consecutive entity rows: their columns and times.
struct EntityTable {
  const FileReader* reader = nullptr;
  std::vector<std::vector<ColumnData>> groups;  // [row group of the chunk][column]
  std::vector<int64_t> group_start;             // first row (in the chunk) of each row group
  std::vector<Micros> times;
  int64_t rows = 0;
  int64_t bytes = 0;      // estimated: decoded columns and the join state of the rows
  int64_t first_row = 0;  // in the file, for messages
  int next_group = 0;     // the first row group after the chunk
};

// Opens the entity file and checks its columns; sets `*time_column`.
absl::StatusOr<std::unique_ptr<FileReader>> OpenEntities(const HistoricalRequest& request,
                                                         int* time_column) {
  PANTRY_ASSIGN_OR_RETURN(auto reader, FileReader::Open(request.entities_path));
  const auto& columns = reader->schema().columns();
  for (const Column& c : columns) {
    if (!c.supported) {
      return absl::InvalidArgumentError(
          absl::StrCat(request.entities_path, ": ", c.unsupported_reason));
    }
    if (c.physical == parquet::Type::kInt96) {
      return absl::InvalidArgumentError(absl::StrCat(
          request.entities_path, ": column '", c.name,
          "' is INT96, which training-set outputs cannot carry; write it as a TIMESTAMP"));
    }
  }
  const int ts = reader->schema().Find(request.timestamp_column);
  if (ts < 0) {
    return absl::InvalidArgumentError(absl::StrCat(request.entities_path, ": no timestamp column '",
                                                   request.timestamp_column, "'"));
  }
  if (absl::Status s = CheckTimeColumn(columns[ts]); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(request.entities_path, ": ", s.message()));
  }
  *time_column = ts;
  return reader;
}

// Reads entity row groups from `first_group` on while their estimated
// memory (decoded columns plus `per_row` bytes of join state a row) stays
// within `budget`; at least one row group.
absl::StatusOr<EntityTable> LoadEntityChunk(const FileReader& reader, int ts,
                                            const HistoricalRequest& request, int first_group,
                                            int64_t first_row, int64_t budget, int64_t per_row) {
  EntityTable t;
  t.reader = &reader;
  t.first_row = first_row;
  const auto& columns = reader.schema().columns();
  std::vector<Micros> times;
  int64_t bytes = 0;
  int g = first_group;
  for (; g < reader.num_row_groups(); ++g) {
    std::vector<ColumnData> group(columns.size());
    int64_t group_bytes = reader.row_group_rows(g) * per_row;
    for (size_t c = 0; c < columns.size(); ++c) {
      PANTRY_RETURN_IF_ERROR(reader.ReadColumn(g, static_cast<int>(c), &group[c]));
      group_bytes += static_cast<int64_t>(group[c].MemoryBytes());
    }
    if (!t.groups.empty() && bytes + group_bytes > budget) break;  // the next chunk's
    bytes += group_bytes;
    ReadTimes(columns[ts], group[ts], &times);
    for (size_t r = 0; r < times.size(); ++r) {
      if (times[r] == kNoTimestamp) {
        return absl::InvalidArgumentError(absl::StrCat(
            request.entities_path, ": row ", first_row + t.rows + static_cast<int64_t>(r),
            " has a null '", request.timestamp_column, "'"));
      }
    }
    t.group_start.push_back(t.rows);
    t.groups.push_back(std::move(group));
    t.times.insert(t.times.end(), times.begin(), times.end());
    t.rows += reader.row_group_rows(g);
  }
  t.group_start.push_back(t.rows);
  t.next_group = g;
  t.bytes = bytes;
  return t;
}

// The entity rows of one view grouped by key, each group sorted by time.
struct KeyIndex {
  // key -> group: one integer join key (the common case) is looked up as an
  // integer, any other key as its encoding (AppendKey).
  bool single_integer = false;
  absl::flat_hash_map<int64_t, uint32_t> int_groups;
  absl::flat_hash_map<std::string, uint32_t> groups;

  // Integer keys in a range not much wider than their number: also as an
  // array, dense[key - dense_min] (4 bytes a slot; looked up once per row
  // of the sources, it stays in cache where the hash table would not).
  std::vector<uint32_t> dense;
  int64_t dense_min = 0;

  size_t size() const { return single_integer ? int_groups.size() : groups.size(); }
  // The group of a key, or UINT32_MAX.
  uint32_t Find(const std::vector<RowValues>& values, const std::vector<bool>& integer,
                int64_t row, std::string* scratch) const {
    if (single_integer) {
      if (values[0].IsNull(row)) return UINT32_MAX;
      const int64_t v = values[0].GetInt(row);
      if (!dense.empty()) {
        const uint64_t at = static_cast<uint64_t>(v) - static_cast<uint64_t>(dense_min);
        return at < dense.size() ? dense[at] : UINT32_MAX;
      }
      auto it = int_groups.find(v);
      return it == int_groups.end() ? UINT32_MAX : it->second;
    }
    
    scratch->clear();
    for (size_t k = 0; k < values.size(); ++k) {
      if (values[k].IsNull(row)) return UINT32_MAX;
      AppendKey(values[k], row, integer[k], scratch);
    }
    auto it = groups.find(*scratch);
    return it == groups.end() ? UINT32_MAX : it->second;
  }
  // Adds the key of `row`; false when it has a null part.
  bool Add(const std::vector<RowValues>& values, const std::vector<bool>& integer, int64_t row,
           std::string* scratch, uint32_t* group) {
    if (single_integer) {
      if (values[0].IsNull(row)) return false;
      *group = int_groups.try_emplace(values[0].GetInt(row), static_cast<uint32_t>(size()))
                   .first->second;
      return true;
    }
    scratch->clear();
    for (size_t k = 0; k < values.size(); ++k) {
      if (values[k].IsNull(row)) return false;
      AppendKey(values[k], row, integer[k], scratch);
    }
    *group = groups.try_emplace(*scratch, static_cast<uint32_t>(size())).first->second;
    return true;
  }
  std::vector<uint32_t> begin;                        // group g: rows[begin[g], begin[g+1])
  std::vector<uint32_t> rows;                         // entity rows
  std::vector<Micros> times;                          // their times
  Micros min_time = 0;
  Micros max_time = 0;
};

absl::StatusOr<KeyIndex> IndexEntities(const FeatureView& view, const HistoricalRequest& request,
                                       const EntityTable& t) {
  const auto& schema = t.reader->schema();
  std::vector<int> key_columns;
  std::vector<bool> integer;
  for (const JoinKey& k : view.join_keys) {
    const int c = schema.Find(k.name);
    if (c < 0) {
      return absl::InvalidArgumentError(absl::StrCat(request.entities_path, ": no join key column '",
                                                     k.name, "' (needed by feature view '",
                                                     view.name, "')"));
    }
    if (absl::Status s = CheckKeyColumn(schema.columns()[c], k.value_type); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(request.entities_path, ": ", s.message()));
    }
    key_columns.push_back(c);
    integer.push_back(IsIntegerKey(k.value_type));
  }
  KeyIndex index;
  index.single_integer = key_columns.size() == 1 && integer[0];
  std::vector<uint32_t> group_of(static_cast<size_t>(t.rows), UINT32_MAX);
  std::string key;
  for (size_t g = 0; g < t.groups.size(); ++g) {
    std::vector<RowValues> values;
    for (size_t k = 0; k < key_columns.size(); ++k) {
      values.emplace_back(schema.columns()[key_columns[k]], t.groups[g][key_columns[k]],
                          view.join_keys[k].value_type);
    }
    const int64_t n = t.group_start[g + 1] - t.group_start[g];
    for (int64_t r = 0; r < n; ++r) {
      uint32_t group;
      // A null key matches no feature row.
      if (index.Add(values, integer, r, &key, &group)) group_of[t.group_start[g] + r] = group;
    }
  }
  if (index.single_integer && !index.int_groups.empty()) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (const auto& [k, g] : index.int_groups) {
      lo = std::min(lo, k);
      hi = std::max(hi, k);
    }
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span != 0 && span <= 4 * index.int_groups.size() + 4096) {  // 0: the whole int64 range
      index.dense.assign(span, UINT32_MAX);
      index.dense_min = lo;
      for (const auto& [k, g] : index.int_groups) {
        index.dense[static_cast<uint64_t>(k) - static_cast<uint64_t>(lo)] = g;
      }
    }
  }
  // Counting sort by group, then each group by time.
  const size_t groups = index.size();
  index.begin.assign(groups + 1, 0);
  for (uint32_t g : group_of) {
    if (g != UINT32_MAX) ++index.begin[g + 1];
  }
  for (size_t g = 0; g < groups; ++g) index.begin[g + 1] += index.begin[g];
  index.rows.resize(index.begin[groups]);
  std::vector<uint32_t> fill(index.begin.begin(), index.begin.end() - 1);
  for (size_t r = 0; r < group_of.size(); ++r) {
    if (group_of[r] != UINT32_MAX) index.rows[fill[group_of[r]]++] = static_cast<uint32_t>(r);
  }
  for (size_t g = 0; g < groups; ++g) {
    std::stable_sort(index.rows.begin() + index.begin[g], index.rows.begin() + index.begin[g + 1],
                     [&](uint32_t a, uint32_t b) { return t.times[a] < t.times[b]; });
  }
  index.times.resize(index.rows.size());
  for (size_t i = 0; i < index.rows.size(); ++i) index.times[i] = t.times[index.rows[i]];
  if (!t.times.empty()) {
    const auto [lo, hi] = std::minmax_element(t.times.begin(), t.times.end());
    index.min_time = *lo;
    index.max_time = *hi;
  }
  return index;
}

std::vector<int> FeatureIndexes(const std::vector<const OutputFeature*>& features) {
  std::vector<int> indexes;
  for (const OutputFeature* o : features) indexes.push_back(o->index);
  return indexes;
}

// Joins one view into `results` (one per feature of `features`, in order).
absl::Status JoinView(const Registry& registry, const FeatureView& view,
                      const std::vector<const OutputFeature*>& features,
                      const HistoricalRequest& request, const HistoricalOptions& options,
                      const EntityTable& entities, std::vector<ResultColumn*> results,
                      HistoricalStats* stats) {
  // Listed first: a view without a source fails before any work.
  PANTRY_ASSIGN_OR_RETURN(std::vector<SourceFile> listed, ListViewFiles(registry, view));
  const DataSource& source = registry.sources.find(view.source)->second;
  auto phase = std::chrono::steady_clock::now();
  PANTRY_ASSIGN_OR_RETURN(KeyIndex index, IndexEntities(view, request, entities));
  stats->index_seconds += SecondsSince(phase);
  phase = std::chrono::steady_clock::now();
  if (index.rows.empty()) return absl::OkStatus();
  const Micros hi = index.max_time;
  const Micros lo = view.ttl > 0 ? index.min_time - view.ttl : kNoTimestamp;

  // Rows at lo itself are outside the ttl.
  PANTRY_ASSIGN_OR_RETURN(
      ScanPlan scan,
      PlanScan(view, source, listed, lo == kNoTimestamp ? kNoTimestamp : lo + 1, hi,
               FeatureIndexes(features)));
  stats->files_skipped += scan.files_skipped;
  stats->row_groups_skipped += scan.row_groups_skipped;
  const std::vector<ViewFile>& files = scan.files;
  const std::vector<ScanTask>& tasks = scan.tasks;

  // Pass 1: keys and times only; each thread keeps its own best candidates.
  const int threads = std::max(1, options.threads);
  std::vector<std::vector<Candidate>> best(
      static_cast<size_t>(threads), std::vector<Candidate>(static_cast<size_t>(entities.rows)));
  std::atomic<int64_t> scanned{0};
  std::vector<bool> integer;
  for (const JoinKey& k : view.join_keys) integer.push_back(IsIntegerKey(k.value_type));
  PANTRY_RETURN_IF_ERROR(ParallelFor(threads, tasks.size(), [&](size_t i, int worker) -> absl::Status {
    PANTRY_RETURN_IF_ERROR(Interrupted(options));
    const ScanTask task = tasks[i];
    const ViewFile& f = files[task.file];
    const auto& cols = f.reader->schema().columns();
    std::vector<Candidate>& mine = best[worker];
    std::vector<ColumnData> keys(f.key_columns.size());
    ColumnData time_data, created_data;
    for (size_t k = 0; k < keys.size(); ++k) {
      PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(task.row_group, f.key_columns[k], &keys[k]));
    }
    PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(task.row_group, f.time_column, &time_data));
    std::vector<Micros> times, created;
    ReadTimes(cols[f.time_column], time_data, &times);
    if (f.created_column >= 0) {
      PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(task.row_group, f.created_column, &created_data));
      ReadTimes(cols[f.created_column], created_data, &created);
    }
    std::vector<RowValues> key_values;
    for (size_t k = 0; k < keys.size(); ++k) {
      key_values.emplace_back(cols[f.key_columns[k]], keys[k], view.join_keys[k].value_type);
    }
    std::string key;
    const int64_t n = static_cast<int64_t>(times.size());
    scanned += n;
    for (int64_t r = 0; r < n; ++r) {
      const Micros t = times[r];
      if (t == kNoTimestamp || t > hi) continue;
      const uint32_t g = index.Find(key_values, integer, r, &key);
      if (g == UINT32_MAX) continue;
      const Micros* gt = index.times.data();
      size_t e = std::lower_bound(gt + index.begin[g], gt + index.begin[g + 1], t) - gt;
      const Candidate c = Candidate::At(t, created.empty() ? kNoTimestamp : created[r], task.file,
                                        task.row_group, static_cast<uint32_t>(r));
      // The row qualifies for entity times in [t, t + ttl). Along that run
      // the best candidates only improve, so the first entity row whose best
      // beats this row ends the run.
      for (; e < index.begin[g + 1]; ++e) {
        if (view.ttl > 0 && static_cast<uint64_t>(gt[e]) - static_cast<uint64_t>(t) >=
                                static_cast<uint64_t>(view.ttl)) {
          break;
        }
        Candidate& b = mine[index.rows[e]];
        if (!Better(c, b)) break;
        b = c;
      }
    }
    return absl::OkStatus();
  }));
  stats->feature_rows_scanned += scanned.load();
  stats->scan_seconds += SecondsSince(phase);
  phase = std::chrono::steady_clock::now();
  // Merge the threads' candidates into best[0].
  for (int t = 1; t < threads; ++t) {
    for (int64_t e = 0; e < entities.rows; ++e) {
      if (Better(best[t][e], best[0][e])) best[0][e] = best[t][e];
    }
  }
  best.resize(1);

  // Pass 2: read the feature columns of the row groups holding winners.
  std::map<std::pair<uint32_t, uint32_t>, std::vector<std::pair<uint32_t, uint32_t>>> wanted;
  for (int64_t e = 0; e < entities.rows; ++e) {
    const Candidate& c = best[0][e];
    if (!c.set) continue;
    ++stats->values_found;
    wanted[{c.file, c.row_group}].push_back({c.row, static_cast<uint32_t>(e)});
  }
  std::vector<const std::pair<const std::pair<uint32_t, uint32_t>,
                              std::vector<std::pair<uint32_t, uint32_t>>>*>
      buckets;
  for (const auto& w : wanted) buckets.push_back(&w);
  absl::Status fetched = ParallelFor(threads, buckets.size(), [&](size_t i, int) -> absl::Status {
    PANTRY_RETURN_IF_ERROR(Interrupted(options));
    const auto& [where, rows] = *buckets[i];
    const ViewFile& f = files[where.first];
    const auto& cols = f.reader->schema().columns();
    ColumnData data;
    for (size_t k = 0; k < features.size(); ++k) {
      PANTRY_RETURN_IF_ERROR(f.reader->ReadColumn(static_cast<int>(where.second),
                                                  f.feature_columns[k], &data));
      RowValues values(cols[f.feature_columns[k]], data, features[k]->dtype);
      for (const auto& [row, e] : rows) results[k]->Set(e, values.Get(row));
    }
    return absl::OkStatus();
  });
  stats->fetch_seconds += SecondsSince(phase);
  return fetched;
}

// The events an aggregation join collects. Entities (groups) are split into
// buckets of consecutive group numbers, small enough that a bucket's events
// fit the cores' caches; each worker appends the events it scans to its
// chunks of their bucket (no doubling slack; each event is taken out once,
// when its entity is evaluated). A bucket is then evaluated on its own:
// gathering an entity's events reads memory that is already close, not
// events spread over the whole scan. When every column the plan reads is a
// number, time or bool, values are kept unboxed, 8 bytes each, and turned
// back into values one entity at a time; otherwise events are kept as they
// came.
class EventStore {
 public:
  using RawEvent = transform::EntityState::RawEvent;
  static constexpr size_t kChunk = 4096;

  EventStore(const transform::AggregationPlan& plan, int threads, size_t groups, size_t buckets)
      : types_(plan.used_column_types),
        groups_(std::max<size_t>(groups, 1)),
        buckets_(std::clamp<size_t>(buckets, 1, groups_)),
        unboxed_(Unboxable(types_)),
        workers_(static_cast<size_t>(threads)) {
    for (Worker& w : workers_) w.buckets.resize(buckets_);
  }

  // What one event takes here, beside its strings', bytes' and lists' own
  // bytes (HeldEventBytes for boxed events).
  static int64_t BytesPerEvent(const transform::AggregationPlan& plan) {
    if (Unboxable(plan.used_column_types)) {
      return static_cast<int64_t>(sizeof(Unboxed) + 8 * plan.used_column_types.size());
    }
    return static_cast<int64_t>(sizeof(uint32_t)) + HeldEventBytes(plan);
  }

  size_t buckets() const { return buckets_; }
  // The groups of bucket b: [first, end).
  std::pair<size_t, size_t> GroupsOf(size_t b) const {
    return {(b * groups_ + buckets_ - 1) / buckets_, ((b + 1) * groups_ + buckets_ - 1) / buckets_};
  }

  // From worker `worker` only.
  void Add(int worker, uint32_t group, RawEvent e) {
    std::deque<Chunk>& chunks =
        workers_[static_cast<size_t>(worker)].buckets[static_cast<size_t>(group) * buckets_ / groups_];
    if (chunks.empty() ||
        (unboxed_ ? chunks.back().unboxed.size() : chunks.back().boxed.size()) == kChunk) {
      chunks.emplace_back();
      if (unboxed_) {
        chunks.back().unboxed.reserve(kChunk);
        chunks.back().numbers.reserve(kChunk * types_.size());
      } else {
        chunks.back().boxed.reserve(kChunk);
      }
    }
    Chunk& c = chunks.back();
    if (!unboxed_) {
      c.boxed.emplace_back(group, std::move(e));
      return;
    }
    Unboxed u{e.key.time, e.key.id, group, 0};
    for (size_t k = 0; k < types_.size(); ++k) {
      const Value& v = e.values[k];
      int64_t bits = 0;
      if (v.is_null()) {
        u.nulls = static_cast<uint8_t>(u.nulls | (1u << k));
      } else {
        switch (types_[k]) {
          case ValueType::kInt32: bits = v.get<int32_t>(); break;
          case ValueType::kBool: bits = v.get<bool>() ? 1 : 0; break;
          case ValueType::kFloat: bits = std::bit_cast<int64_t>(static_cast<double>(v.get<float>())); break;
          case ValueType::kDouble: bits = std::bit_cast<int64_t>(v.get<double>()); break;
          default: bits = v.get<int64_t>(); break;
        }
      }
      c.numbers.push_back(bits);
    }
    c.unboxed.push_back(u);
  }

  // Every bucket's chunks, in a fixed order (after the scan).
  void Seal() {
    sealed_.assign(buckets_, {});
    for (Worker& w : workers_) {
      for (size_t b = 0; b < buckets_; ++b) {
        for (Chunk& c : w.buckets[b]) sealed_[b].push_back(&c);
      }
    }
  }
  size_t chunks(size_t b) const { return sealed_[b].size(); }
  size_t size(size_t b, size_t chunk) const {
    const Chunk& c = *sealed_[b][chunk];
    return unboxed_ ? c.unboxed.size() : c.boxed.size();
  }
  uint32_t group(size_t b, size_t chunk, size_t k) const {
    const Chunk& c = *sealed_[b][chunk];
    return unboxed_ ? c.unboxed[k].group : c.boxed[k].first;
  }
  // Hints that event k of `chunk` is taken soon.
  void Prefetch(size_t b, size_t chunk, size_t k) const {
    const Chunk& c = *sealed_[b][chunk];
    if (unboxed_) {
      __builtin_prefetch(c.unboxed.data() + k);
      __builtin_prefetch(c.numbers.data() + k * types_.size());
    } else {
      __builtin_prefetch(c.boxed.data() + k);
    }
  }
  bool unboxed() const { return unboxed_; }
  // The identity of event k of `chunk` of bucket b (unboxed events only).
  transform::EventKey KeyOf(size_t b, size_t chunk, size_t k) const {
    const Unboxed& u = sealed_[b][chunk]->unboxed[k];
    return {u.time, u.id};
  }
  // Takes event k of `chunk` of bucket b out (once).
  RawEvent Take(size_t b, size_t chunk, size_t k) {
    Chunk& c = *sealed_[b][chunk];
    if (!unboxed_) return std::move(c.boxed[k].second);
    const Unboxed& u = c.unboxed[k];
    RawEvent e;
    e.key = {u.time, u.id};
    const int64_t* numbers = c.numbers.data() + k * types_.size();
    for (size_t j = 0; j < types_.size(); ++j) {
      if (u.nulls & (1u << j)) {
        e.values.push_back(Value::Null(types_[j]));
        continue;
      }
      const int64_t bits = numbers[j];
      switch (types_[j]) {
        case ValueType::kInt32: e.values.push_back(Value::Int32(static_cast<int32_t>(bits))); break;
        case ValueType::kBool: e.values.push_back(Value::Bool(bits != 0)); break;
        case ValueType::kFloat:
          e.values.push_back(Value::Float(static_cast<float>(std::bit_cast<double>(bits))));
          break;
        case ValueType::kDouble: e.values.push_back(Value::Double(std::bit_cast<double>(bits))); break;
        case ValueType::kUnixTimestamp: e.values.push_back(Value::UnixTimestamp(bits)); break;
        default: e.values.push_back(Value::Int64(bits)); break;
      }
    }
    return e;
  }
  // Frees bucket b (evaluated).
  void Release(size_t b) {
    for (Chunk* c : sealed_[b]) *c = Chunk();
    std::vector<Chunk*>().swap(sealed_[b]);
  }

 private:
  struct Unboxed {
    Micros time;
    uint64_t id;
    uint32_t group;
    uint8_t nulls;  // bit k: used column k is null
  };
  struct Chunk {
    std::vector<Unboxed> unboxed;
    std::vector<int64_t> numbers;  // types_.size() per unboxed event
    std::vector<std::pair<uint32_t, RawEvent>> boxed;
  };
  struct Worker {
    std::vector<std::deque<Chunk>> buckets;
  };
  static bool Unboxable(const std::vector<ValueType>& types) {
    bool ok = types.size() <= 8;
    for (ValueType t : types) {
      ok = ok && (t == ValueType::kInt32 || t == ValueType::kInt64 || t == ValueType::kFloat ||
                  t == ValueType::kDouble || t == ValueType::kBool ||
                  t == ValueType::kUnixTimestamp);
    }
    return ok;
  }
  const std::vector<ValueType> types_;
  const size_t groups_, buckets_;
  const bool unboxed_;
  std::vector<Worker> workers_;
  std::vector<std::vector<Chunk*>> sealed_;  // per bucket
};

// One pass of JoinAggregationView: the entity groups g with
// g % passes == pass, their events held in `buckets` buckets.
absl::Status JoinAggregationPass(const FeatureView& view, const transform::AggregationPlan& plan,
                                 const HistoricalOptions& options, const KeyIndex& index,
                                 const std::vector<std::pair<Micros, Micros>>& reach, int pass,
                                 int passes, size_t buckets, const std::vector<int>& result_of,
                                 const std::vector<ResultColumn*>& results,
                                 const Registry& registry, Micros lo, Micros hi,
                                 HistoricalStats* stats) {
  auto phase = std::chrono::steady_clock::now();
  using RawEvent = transform::EntityState::RawEvent;
  const int threads = std::max(1, options.threads);
  const size_t groups = index.size();
  EventStore store(plan, threads, groups, buckets);
  class Sink : public EventSink {
   public:
    Sink(const KeyIndex& index, const std::vector<std::pair<Micros, Micros>>& reach,
         const FeatureView& view, int threads, int pass, int passes, EventStore* store)
        : index_(index), reach_(reach), keys_(static_cast<size_t>(threads)), pass_(pass),
          passes_(passes), store_(store) {
      for (const JoinKey& k : view.join_keys) integer_.push_back(IsIntegerKey(k.value_type));
    }
    int64_t Entity(const std::vector<RowValues>& keys, int64_t row, Micros t,
                   int worker) override {
      const uint32_t g = index_.Find(keys, integer_, row, &keys_[static_cast<size_t>(worker)]);
      if (g == UINT32_MAX || t < reach_[g].first || t > reach_[g].second) return -1;
      if (passes_ > 1 && static_cast<int>(g % static_cast<uint32_t>(passes_)) != pass_) return -1;
      return g;
    }
    void Event(int64_t entity, RawEvent event, int worker) override {
      store_->Add(worker, static_cast<uint32_t>(entity), std::move(event));
    }

   private:
    const KeyIndex& index_;
    const std::vector<std::pair<Micros, Micros>>& reach_;
    std::vector<bool> integer_;
    std::vector<std::string> keys_;  // per worker: scratch
    const int pass_, passes_;
    EventStore* store_;
  } sink(index, reach, view, threads, pass, passes, &store);
  PANTRY_ASSIGN_OR_RETURN(
      EventScanStats scan,
      ScanViewEvents(registry, view, plan, lo, hi, threads, options.interrupt, &sink));
  stats->feature_rows_scanned += scan.rows_scanned;
  stats->row_groups_skipped += scan.row_groups_skipped;
  stats->files_skipped += scan.files_skipped;
  stats->scan_seconds += SecondsSince(phase);
  phase = std::chrono::steady_clock::now();
  store.Seal();

  std::atomic<int64_t> evaluated_rows{0};
  // Per worker: scratch.
  struct Scratch {
    std::vector<uint32_t> begin;
    struct Where {
      uint32_t chunk, offset;
    };
    std::vector<Where> where;
    std::vector<std::pair<transform::EventKey, Where>> keyed;
    std::vector<RawEvent> all;
  };
  std::vector<Scratch> scratch(static_cast<size_t>(threads));
  absl::Status evaluated =
      ParallelFor(threads, store.buckets(), [&](size_t b, int worker) -> absl::Status {
        PANTRY_RETURN_IF_ERROR(Interrupted(options));
        Scratch& s = scratch[static_cast<size_t>(worker)];
        const auto [first, end] = store.GroupsOf(b);
        // Where each group's events are: a counting sort of their positions
        // in the bucket's chunks.
        s.begin.assign(end - first + 1, 0);
        for (size_t c = 0; c < store.chunks(b); ++c) {
          for (size_t k = 0; k < store.size(b, c); ++k) ++s.begin[store.group(b, c, k) - first + 1];
        }
        for (size_t g = 0; g + first < end; ++g) s.begin[g + 1] += s.begin[g];
        s.where.resize(s.begin.back());
        {
          std::vector<uint32_t> fill(s.begin.begin(), s.begin.end() - 1);
          for (size_t c = 0; c < store.chunks(b); ++c) {
            for (size_t k = 0; k < store.size(b, c); ++k) {
              s.where[fill[store.group(b, c, k) - first]++] = {static_cast<uint32_t>(c),
                                                                static_cast<uint32_t>(k)};
            }
          }
        }
        for (size_t g = first; g < end; ++g) {
          if (passes > 1 && static_cast<int>(g % static_cast<size_t>(passes)) != pass) continue;
          // Each event belongs to one group, so moving it out here is safe.
          s.all.clear();
          const uint32_t from = s.begin[g - first], to = s.begin[g - first + 1];
          size_t n = 0;
          if (store.unboxed()) {
            // Sorted and deduplicated by their compact keys, then unboxed
            // in order.
            s.keyed.clear();
            for (uint32_t k = from; k < to; ++k) {
              s.keyed.emplace_back(store.KeyOf(b, s.where[k].chunk, s.where[k].offset), s.where[k]);
            }
            std::sort(s.keyed.begin(), s.keyed.end(),
                      [](const auto& x, const auto& y) { return x.first < y.first; });
            for (size_t k = 0; k < s.keyed.size(); ++k) {
              if (k > 0 && s.keyed[k].first == s.keyed[k - 1].first) continue;
              s.all.push_back(store.Take(b, s.keyed[k].second.chunk, s.keyed[k].second.offset));
            }
            n = s.all.size();
          } else {
            for (uint32_t k = from; k < to; ++k) {
              s.all.push_back(store.Take(b, s.where[k].chunk, s.where[k].offset));
            }
            n = transform::SortAndDedupe(absl::MakeSpan(s.all));
          }
          const absl::Span<const RawEvent> mine(s.all.data(), n);
          const absl::Span<const Micros> times(index.times.data() + index.begin[g],
                                               index.begin[g + 1] - index.begin[g]);
          const uint32_t* rows = index.rows.data() + index.begin[g];
          transform::EvaluateAt(plan, mine, times, [&](size_t i, size_t o, Value v) {
            if (result_of[o] >= 0) {
              results[static_cast<size_t>(result_of[o])]->Set(rows[i], std::move(v));
            }
          });
          evaluated_rows += static_cast<int64_t>(times.size());
        }
        store.Release(b);
        return absl::OkStatus();
      });
  stats->values_found += evaluated_rows.load();
  stats->fetch_seconds += SecondsSince(phase);
  return evaluated;
}

// Joins one aggregation view: every event of the view's history that can
// fall into a window of an entity row (its join keys, time within the
// longest window and hop before the row) is collected per entity; each
// entity's events are sorted, deduplicated by identity and evaluated at
// the entity's row times by the aggregation kernel (the same code as the
// online tiles). Events outside every window are skipped unread where the
// files' partitions and statistics allow.
absl::Status JoinAggregationView(const Registry& registry, const FeatureView& view,
                                 const std::vector<const OutputFeature*>& features,
                                 const HistoricalRequest& request,
                                 const HistoricalOptions& options, const EntityTable& entities,
                                 std::vector<ResultColumn*> results, HistoricalStats* stats) {
  // Listed first: a view without a source fails before any work.
  PANTRY_RETURN_IF_ERROR(ListViewFiles(registry, view).status());
  const DataSource& source = registry.sources.find(view.source)->second;
  auto phase = std::chrono::steady_clock::now();
  PANTRY_ASSIGN_OR_RETURN(KeyIndex index, IndexEntities(view, request, entities));
  stats->index_seconds += SecondsSince(phase);
  phase = std::chrono::steady_clock::now();
  if (index.rows.empty()) return absl::OkStatus();
  const transform::AggregationPlan plan = transform::MakePlan(view, source.allowed_lateness);
  // Each group's window reach: [its first row's time - horizon, its last row's time].
  const size_t groups = index.size();
  std::vector<std::pair<Micros, Micros>> reach(groups);
  for (size_t g = 0; g < groups; ++g) {
    reach[g] = {index.times[index.begin[g]] - plan.Horizon(), index.times[index.begin[g + 1] - 1]};
  }
  const Micros lo = index.min_time - plan.Horizon(), hi = index.max_time;
  // The events are held until evaluated: when all of them would not fit
  // what the entity rows leave of the budget, the entities are taken in
  // passes, each scanning the history for its share of them.
  int passes = 1;
  int64_t held = 0;  // bytes, at most
  {
    PANTRY_ASSIGN_OR_RETURN(EventScanSize size, MeasureViewEvents(registry, view, plan, lo, hi));
    const int64_t per_event = EventStore::BytesPerEvent(plan) + 8;  // + its Where
    const int64_t budget = std::max(options.memory_budget_bytes - entities.bytes,
                                    options.memory_budget_bytes / 4);
    held = size.rows * per_event + size.value_bytes;
    passes = std::min<int>(EventPasses(held, budget),
                           static_cast<int>(std::min<size_t>(groups, 4096)));
  }
  // Buckets of about kBucketBytes of events each.
  constexpr int64_t kBucketBytes = 1 << 20;
  const size_t buckets = static_cast<size_t>(
      std::clamp<int64_t>(held / passes / kBucketBytes, 1, 1 << 16));
  stats->event_passes += passes;
  // Output o of the plan -> result column, or -1 when not requested.
  std::vector<int> result_of(plan.outputs.size(), -1);
  for (size_t k = 0; k < features.size(); ++k) {
    result_of[static_cast<size_t>(features[k]->index)] = static_cast<int>(k);
  }
  for (int pass = 0; pass < passes; ++pass) {
    PANTRY_RETURN_IF_ERROR(JoinAggregationPass(view, plan, options, index, reach, pass, passes,
                                               buckets, result_of, results, registry, lo, hi,
                                               stats));
  }
  return absl::OkStatus();
}

// A request data column of on-demand features: where it is in the entity
// file, as which type.
struct RequestColumn {
  std::string name;
  ValueType dtype;
  int column;  // in the entity file
};

// The entity file's columns the on-demand outputs read as request data.
// InvalidArgument naming the file, view and column when one is missing or
// of another type.
absl::StatusOr<std::vector<RequestColumn>> FindRequestColumns(
    const FileReader& reader, const std::vector<OutputFeature>& outputs,
    const HistoricalRequest& request) {
  std::vector<RequestColumn> found;
  for (const OutputFeature& o : outputs) {
    if (o.on_demand == nullptr) continue;
    for (const SourceColumn& c : o.on_demand->request) {
      if (std::any_of(found.begin(), found.end(), [&](const RequestColumn& r) {
            return r.name == c.name && r.dtype == c.dtype;
          })) {
        continue;
      }
      const int index = reader.schema().Find(c.name);
      if (index < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            request.entities_path, ": no column '", c.name, "' (request data of on-demand view '",
            o.on_demand->name, "', ", ValueTypeName(c.dtype), ")"));
      }
      if (absl::Status s = CheckFeatureColumn(reader.schema().columns()[index], c.dtype); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(request.entities_path,
                                                       ": request data of on-demand view '",
                                                       o.on_demand->name, "': ", s.message()));
      }
      found.push_back({c.name, c.dtype, index});
    }
  }
  return found;
}

// Computes the on-demand outputs of a chunk: per entity row, its request
// data (entity file columns) and the joined features, at the row's time.
absl::Status EvaluateOnDemand(const FileReader& reader, const EntityTable& entities,
                              const std::vector<OutputFeature>& outputs,
                              const std::vector<RequestColumn>& request_columns,
                              std::vector<ResultColumn>* results) {
  if (request_columns.empty() &&
      std::none_of(outputs.begin(), outputs.end(),
                   [](const OutputFeature& o) { return o.on_demand != nullptr; })) {
    return absl::OkStatus();
  }
  const auto& columns = reader.schema().columns();
  std::vector<Value> held;
  std::vector<const Value*> inputs;
  for (size_t g = 0; g < entities.groups.size(); ++g) {
    std::vector<std::unique_ptr<RowValues>> request;
    for (const RequestColumn& c : request_columns) {
      request.push_back(std::make_unique<RowValues>(columns[static_cast<size_t>(c.column)],
                                                    entities.groups[g][static_cast<size_t>(c.column)],
                                                    c.dtype));
    }
    const int64_t begin = entities.group_start[g];
    for (int64_t r = 0; r < entities.group_start[g + 1] - begin; ++r) {
      const size_t row = static_cast<size_t>(begin + r);
      for (size_t o = 0; o < outputs.size(); ++o) {
        const OutputFeature& out = outputs[o];
        if (out.on_demand == nullptr) continue;
        held.clear();
        for (const SourceColumn& c : out.on_demand->request) {
          size_t k = 0;
          while (request_columns[k].name != c.name || request_columns[k].dtype != c.dtype) ++k;
          held.push_back(request[k]->Get(r));
        }
        for (size_t input : out.inputs) held.push_back((*results)[input].Get(row));
        inputs.clear();
        for (const Value& v : held) inputs.push_back(&v);
        const OnDemandFeature& feature = out.on_demand->features[static_cast<size_t>(out.index)];
        (*results)[o].Set(row, feature.compiled->Evaluate(inputs, entities.times[row]));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HistoricalStats> GetHistoricalFeatures(const Registry& registry,
                                                      const HistoricalRequest& request,
                                                      const HistoricalOptions& options) {
  PANTRY_ASSIGN_OR_RETURN(std::vector<FeatureRef> refs,
                          registry.ResolveFeatures(request.feature_service, request.feature_refs));
  std::vector<OutputFeature> outputs;
  for (const FeatureRef& ref : refs) {
    const std::string name =
        request.full_feature_names ? absl::StrCat(ref.view, "__", ref.feature) : ref.feature;
    if (const OnDemandView* odv = registry.FindOnDemandView(ref.view)) {
      const int index = odv->FeatureIndex(ref.feature);
      OutputFeature o{nullptr, index, name, odv->features[static_cast<size_t>(index)].dtype};
      o.on_demand = odv;
      outputs.push_back(std::move(o));
      continue;
    }
    const FeatureView* view = registry.FindFeatureView(ref.view);
    const int index = view->FeatureIndex(ref.feature);
    OutputFeature o{view, index, name, view->schema[static_cast<size_t>(index)].dtype};
    outputs.push_back(std::move(o));
  }
  // The inputs of on-demand features: joined like any feature, hidden
  // unless requested too.
  for (size_t o = 0, n = outputs.size(); o < n; ++o) {
    if (outputs[o].on_demand == nullptr) continue;
    for (const FeatureRef& input : outputs[o].on_demand->inputs) {
      size_t found = outputs.size();
      for (size_t k = 0; k < outputs.size(); ++k) {
        if (outputs[k].view != nullptr && outputs[k].view->name == input.view &&
            outputs[k].view->schema[static_cast<size_t>(outputs[k].index)].name == input.feature) {
          found = k;
        }
      }
      if (found == outputs.size()) {
        const FeatureView* view = registry.FindFeatureView(input.view);
        const int index = view->FeatureIndex(input.feature);
        OutputFeature hidden{view, index, absl::StrCat("\x01", input.ToString()),
                             view->schema[static_cast<size_t>(index)].dtype};
        hidden.hidden = true;
        outputs.push_back(std::move(hidden));
      }
      outputs[o].inputs.push_back(found);
    }
  }

  int time_column = -1;
  PANTRY_ASSIGN_OR_RETURN(std::unique_ptr<FileReader> entity_reader,
                          OpenEntities(request, &time_column));
  // Output names must be unique: entity columns first, then features.
  absl::flat_hash_map<std::string, std::string> owner;
  for (const Column& c : entity_reader->schema().columns()) owner[c.name] = "the entity file";
  for (const OutputFeature& o : outputs) {
    if (o.hidden) continue;
    const std::string mine = o.on_demand != nullptr
                                 ? absl::StrCat("on-demand view '", o.on_demand->name, "'")
                                 : absl::StrCat("feature view '", o.view->name, "'");
    auto [it, inserted] = owner.try_emplace(o.name, mine);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output column '", o.name, "' comes from both ", it->second, " and ", mine,
          request.full_feature_names ? "" : "; use full feature names (view__feature)"));
    }
  }
  // Views in order of first appearance.
  std::vector<const FeatureView*> views;
  for (const OutputFeature& o : outputs) {
    if (o.view == nullptr) continue;
    if (std::find(views.begin(), views.end(), o.view) == views.end()) views.push_back(o.view);
  }
  PANTRY_ASSIGN_OR_RETURN(std::vector<RequestColumn> request_columns,
                          FindRequestColumns(*entity_reader, outputs, request));

  // The output: the entity columns as they were, then the features.
  std::vector<parquet::ColumnSpec> specs(entity_reader->schema().columns().begin(),
                                         entity_reader->schema().columns().end());
  for (const OutputFeature& o : outputs) {
    if (!o.hidden) specs.push_back(OutputSpec(o.name, o.dtype));
  }
  parquet::WriterOptions wo;
  wo.row_group_rows = options.output_row_group_rows;
  wo.threads = options.threads;
  wo.key_value_metadata.push_back(
      {"pantry.features", absl::StrJoin(refs, ",", [](std::string* out, const FeatureRef& r) {
         out->append(r.ToString());
       })});
  PANTRY_ASSIGN_OR_RETURN(auto writer, parquet::FileWriter::Create(request.output_path, specs, wo));

  // Entity rows are independent: they are joined in chunks that fit the
  // memory budget, each written before the next is read. The sources are
  // scanned once per chunk.
  const int64_t per_row = 8 + static_cast<int64_t>(views.size()) * 64 +
                          static_cast<int64_t>(std::max(1, options.threads)) * 32 +
                          static_cast<int64_t>(outputs.size()) * 24;
  // With aggregation views, half of it is left for their events.
  const bool aggregations = std::any_of(views.begin(), views.end(), [](const FeatureView* v) {
    return v->is_aggregation();
  });
  const int64_t entity_budget =
      aggregations ? options.memory_budget_bytes / 2 : options.memory_budget_bytes;
  HistoricalStats stats;
  int next_group = 0;
  int64_t next_row = 0;
  do {
    auto phase = std::chrono::steady_clock::now();
    PANTRY_ASSIGN_OR_RETURN(
        EntityTable entities,
        LoadEntityChunk(*entity_reader, time_column, request, next_group, next_row,
                        entity_budget, per_row));
    stats.index_seconds += SecondsSince(phase);
    ++stats.chunks;
    stats.entity_rows += entities.rows;
    std::vector<ResultColumn> results;
    results.reserve(outputs.size());
    for (const OutputFeature& o : outputs) {
      results.emplace_back(o.dtype, static_cast<size_t>(entities.rows));
    }
    for (const FeatureView* view : views) {
      std::vector<const OutputFeature*> features;
      std::vector<ResultColumn*> columns;
      for (size_t i = 0; i < outputs.size(); ++i) {
        if (outputs[i].view == view) {
          features.push_back(&outputs[i]);
          columns.push_back(&results[i]);
        }
      }
      PANTRY_RETURN_IF_ERROR(Interrupted(options));
      PANTRY_RETURN_IF_ERROR(
          view->is_aggregation()
              ? JoinAggregationView(registry, *view, features, request, options, entities,
                                    columns, &stats)
              : JoinView(registry, *view, features, request, options, entities, columns, &stats));
    }
    PANTRY_RETURN_IF_ERROR(
        EvaluateOnDemand(*entity_reader, entities, outputs, request_columns, &results));
    phase = std::chrono::steady_clock::now();
    for (size_t g = 0; g < entities.groups.size(); ++g) {
      PANTRY_RETURN_IF_ERROR(Interrupted(options));
      std::vector<ColumnData> batch = std::move(entities.groups[g]);
      const size_t begin = static_cast<size_t>(entities.group_start[g]);
      const size_t end = static_cast<size_t>(entities.group_start[g + 1]);
      for (size_t o = 0; o < results.size(); ++o) {
        if (outputs[o].hidden) continue;
        batch.emplace_back();
        results[o].AppendTo(begin, end, &batch.back());
      }
      PANTRY_RETURN_IF_ERROR(writer->Write(std::move(batch), static_cast<int64_t>(end - begin)));
    }
    stats.write_seconds += SecondsSince(phase);
    next_group = entities.next_group;
    next_row += entities.rows;
  } while (next_group < entity_reader->num_row_groups());
  const auto close_start = std::chrono::steady_clock::now();
  PANTRY_RETURN_IF_ERROR(writer->Close());
  stats.write_seconds += SecondsSince(close_start);
  return stats;
}

}  // namespace pantry::offline
