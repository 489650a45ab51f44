#include "server/offline/scan.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"

namespace pantry::offline {
namespace {

std::string InFile(const DataSource& source, const std::string& path) {
  return absl::StrCat("source '", source.name, "' (", path, ")");
}

}  // namespace

absl::Status ParallelFor(int threads, size_t n,
                         const std::function<absl::Status(size_t, int)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first;
  std::atomic<bool> failed{false};
  auto work = [&](int worker) {
    for (size_t i = next.fetch_add(1); i < n && !failed.load(); i = next.fetch_add(1)) {
      absl::Status s = fn(i, worker);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = std::move(s);
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && static_cast<size_t>(t) < n; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  return first;
}

void AppendKey(const RowValues& v, int64_t row, bool integer, std::string* key) {
  if (integer) {
    const int64_t x = v.GetInt(row);
    key->append(reinterpret_cast<const char*>(&x), 8);
    return;
  }
  const absl::string_view b = v.GetBytes(row);
  const uint32_t n = static_cast<uint32_t>(b.size());
  key->append(reinterpret_cast<const char*>(&n), 4);
  key->append(b.data(), b.size());
}

bool IsIntegerKey(ValueType t) { return t == ValueType::kInt32 || t == ValueType::kInt64; }

absl::StatusOr<ViewFile> OpenViewFile(const FeatureView& view, const DataSource& source,
                                      const std::string& path,
                                      const std::vector<int>& features) {
  ViewFile f;
  PANTRY_ASSIGN_OR_RETURN(f.reader, parquet::FileReader::Open(path));
  const auto& schema = f.reader->schema();
  auto find = [&](const std::string& name) -> absl::StatusOr<int> {
    const int c = schema.Find(name);
    if (c < 0) {
      return absl::InvalidArgumentError(absl::StrCat("feature view '", view.name, "': ",
                                                     InFile(source, path), ": no column '", name,
                                                     "'"));
    }
    return c;
  };
  auto wrap = [&](absl::Status s) {
    return s.ok() ? s
                  : absl::InvalidArgumentError(absl::StrCat("feature view '", view.name, "': ",
                                                            InFile(source, path), ": ",
                                                            s.message()));
  };
  for (const JoinKey& k : view.join_keys) {
    PANTRY_ASSIGN_OR_RETURN(int c, find(k.name));
    PANTRY_RETURN_IF_ERROR(wrap(CheckKeyColumn(schema.columns()[c], k.value_type)));
    f.key_columns.push_back(c);
  }
  PANTRY_ASSIGN_OR_RETURN(f.time_column, find(source.timestamp_field));
  PANTRY_RETURN_IF_ERROR(wrap(CheckTimeColumn(schema.columns()[f.time_column])));
  if (!source.created_timestamp_field.empty()) {
    PANTRY_ASSIGN_OR_RETURN(f.created_column, find(source.created_timestamp_field));
    PANTRY_RETURN_IF_ERROR(wrap(CheckTimeColumn(schema.columns()[f.created_column])));
  }
  for (const int index : features) {
    const Feature& feature = view.written_columns()[index];
    PANTRY_ASSIGN_OR_RETURN(int c, find(feature.name));
    PANTRY_RETURN_IF_ERROR(wrap(CheckFeatureColumn(schema.columns()[c], feature.dtype)));
    f.feature_columns.push_back(c);
  }
  return f;
}

absl::StatusOr<ScanPlan> PlanScan(const FeatureView& view, const DataSource& source,
                                  const std::vector<SourceFile>& listed, Micros lo, Micros hi,
                                  const std::vector<int>& features) {
  ScanPlan plan;
  for (const SourceFile& sf : listed) {
    if (!MayOverlap(sf, lo, hi)) {
      ++plan.files_skipped;
      continue;
    }
    PANTRY_ASSIGN_OR_RETURN(ViewFile f, OpenViewFile(view, source, sf.path, features));
    plan.files.push_back(std::move(f));
  }
  for (size_t f = 0; f < plan.files.size(); ++f) {
    for (int g = 0; g < plan.files[f].reader->num_row_groups(); ++g) {
      auto range = plan.files[f].reader->TimeRangeMicros(g, plan.files[f].time_column);
      if (range && (range->first > hi || range->second < lo)) {
        ++plan.row_groups_skipped;
        continue;
      }
      plan.tasks.push_back({static_cast<uint32_t>(f), static_cast<uint32_t>(g)});
    }
  }
  return plan;
}

}  // namespace pantry::offline
