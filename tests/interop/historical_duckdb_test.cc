// GetHistoricalFeatures against DuckDB: a randomized property test.
//
// For every seed, random small Parquet data (written here with Pantry's
// FileWriter) feeds three feature views:
//   - user_stats: keyed by user_id (INT64 entity; the source column INT64 or
//     INT32), with a created-timestamp column (some nulls, which rank lowest)
//     breaking ties in event time, seven scalar features (INT64, DOUBLE,
//     STRING, INT32, FLOAT, BOOL, UNIX_TIMESTAMP) and a FLOAT_LIST, some
//     stored as a type Pantry converts (INT32 as INT64, FLOAT as DOUBLE,
//     DATE / naive / millisecond TIMESTAMP as UNIX_TIMESTAMP); for a quarter
//     of the seeds in hive `date=` partitions on a 6-hour grid;
//   - merchant_risk: keyed by a STRING merchant_id (empty, quote and non-ASCII
//     ids included), no created column, so (key, time) is unique;
//   - user_merchant: a view over both entities (join keys merchant_id and
//     user_id), with or without a created column, with a STRING_LIST.
// Each view has ttl 0, one grid step, 1.5 or 5 steps. Values: nulls, -0.0,
// NaN, -inf, huge doubles, strings needing JSON escapes, empty lists. Event
// times are stored as UTC or naive TIMESTAMP(MICROS), TIMESTAMP(MILLIS) or
// plain INT64 micros; base times in 2025, at the epoch, across it and before
// it. Sources are split over 1-4 files per folder (some empty), sorted or
// shuffled, in row groups of 1-9 rows, read as a folder or a glob, with a
// `_SUCCESS` file beside them sometimes; a few source rows have a null key
// or a null time. Entity rows (UTC or naive times): on the grid (exactly at
// feature times), 1 us around it or between, exactly at feature time + ttl
// (the ttl edge) and 1 us before it, keys without history, null keys, exact
// duplicates, extra pass-through columns in shuffled order; for half the
// seeds in a narrow time window, so that row groups and partitions are
// skipped. Requests take two or three views, `view:*` or a shuffled subset
// of features, interleaved, with or without full feature names, on 1 or 2
// threads, with small output row groups.
//
// Pantry runs in process; DuckDB (`node pit_duckdb.mjs SPEC.json`, all seeds
// in one process) computes the same join from the same Parquet files with
// ASOF LEFT JOIN after keeping the latest created row per (keys, time), then
// the ttl filter. Both outputs are read back with Pantry's FileReader and
// compared exactly, row by row, as AppendJsonRows text, after checking that
// the column names and types agree (an INT(64)/INT(32) annotation DuckDB
// adds to plain integers is ignored). Needs Node 20 and `npm ci` in
// tests/interop: without them the test fails, it never skips.
// PANTRY_INTEROP_KEEP_FILES keeps the generated files; PANTRY_PIT_SEEDS=N
// runs N seeds instead of 25.
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "server/common/status.h"
#include "server/common/time.h"
#include "server/offline/columns.h"
#include "server/offline/historical.h"
#include "server/parquet/json_rows.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "tests/interop/node_support.h"
#include "server/registry/registry.h"
#include "server/value/value.h"

namespace pantry::offline {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using parquet::Column;
using parquet::ColumnData;
using parquet::ColumnSpec;

// 25 seeds; PANTRY_PIT_SEEDS=N runs N (to search further by hand).
int SeedCount() {
  const char* env = std::getenv("PANTRY_PIT_SEEDS");
  const int n = env != nullptr ? std::atoi(env) : 0;
  return n > 0 ? n : 25;
}
constexpr Micros kSecond = 1'000'000;
constexpr Micros kHour = 3600 * kSecond;
constexpr Micros kDay = 24 * kHour;

// ---------------------------------------------------------------------------
// Environment: the source tree, node, commands (as in interop_test.cc).

using interop::Command;
using interop::InteropDir;
using interop::ReadFileText;
using interop::ShellQuote;

// Why DuckDB can't run here, or "" when it can.
std::string NodeProblem() { return interop::NodeProblem("@duckdb/node-api"); }

bool KeepFiles() { return std::getenv("PANTRY_INTEROP_KEEP_FILES") != nullptr; }

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty()) lines.emplace_back(line);
  }
  return lines;
}

// ---------------------------------------------------------------------------
// The generated data.

// How a time column is stored.
enum class TimeKind { kUtcMicros, kNaiveMicros, kUtcMillis, kPlainMicros };

const char* TimeKindName(TimeKind k) {
  switch (k) {
    case TimeKind::kUtcMicros:
      return "TIMESTAMP(MICROS,UTC)";
    case TimeKind::kNaiveMicros:
      return "TIMESTAMP(MICROS,naive)";
    case TimeKind::kUtcMillis:
      return "TIMESTAMP(MILLIS,UTC)";
    case TimeKind::kPlainMicros:
      return "INT64 micros";
  }
  return "?";
}

ColumnSpec TimeSpec(const std::string& name, TimeKind kind) {
  if (kind == TimeKind::kPlainMicros) return OutputSpec(name, ValueType::kInt64);
  ColumnSpec c = OutputSpec(name, ValueType::kUnixTimestamp);
  if (kind == TimeKind::kNaiveMicros) c.utc_adjusted = false;
  if (kind == TimeKind::kUtcMillis) c.unit = parquet::TimeUnit::kMillis;
  return c;
}

// The value to append for time `t` (kNoTimestamp: null) in a column of `kind`.
Value TimeValue(Micros t, TimeKind kind) {
  if (t == kNoTimestamp) return Value::Null(ValueType::kInt64);
  switch (kind) {
    case TimeKind::kUtcMillis:
      return Value::Int64(t / 1000);  // generated on whole millis
    case TimeKind::kPlainMicros:
      return Value::Int64(t);
    default:
      return Value::UnixTimestamp(t);
  }
}

// How a feature's source column stores it, when not as the dtype itself.
enum class Stored { kSame, kInt32, kFloat, kDate, kNaive, kMillis };

struct FeatureDef {
  std::string name;
  ValueType dtype;         // the view's dtype
  std::string dtype_name;  // in the YAML
  std::string duck_type;   // DuckDB type of Pantry's output column
  Stored stored = Stored::kSame;
};

ColumnSpec FeatureSpec(const FeatureDef& f) {
  switch (f.stored) {
    case Stored::kSame:
      return OutputSpec(f.name, f.dtype);
    case Stored::kInt32:
      return OutputSpec(f.name, ValueType::kInt32);
    case Stored::kFloat:
      return OutputSpec(f.name, ValueType::kFloat);
    case Stored::kDate: {
      ColumnSpec c = OutputSpec(f.name, ValueType::kInt32);
      c.logical = parquet::Logical::kDate;
      return c;
    }
    case Stored::kNaive:
      return TimeSpec(f.name, TimeKind::kNaiveMicros);
    case Stored::kMillis:
      return TimeSpec(f.name, TimeKind::kUtcMillis);
  }
  return OutputSpec(f.name, f.dtype);
}

struct SourceRow {
  std::vector<Value> keys;    // in the view's key order, of the source column types
  Micros event = 0;           // kNoTimestamp: null
  Micros created = 0;         // kNoTimestamp: null
  std::vector<Value> values;  // per feature, as stored
};

struct ViewData {
  std::string name;
  std::string dir;                    // source folder under the case folder
  std::vector<std::string> entities;  // registry entity names
  std::vector<std::string> keys;      // join key columns (sorted by name)
  std::vector<ValueType> key_types;   // their source column types
  TimeKind time_kind = TimeKind::kUtcMicros;
  bool with_created = false;
  TimeKind created_kind = TimeKind::kUtcMicros;
  Micros ttl = 0;
  std::vector<FeatureDef> features;
  std::vector<SourceRow> rows;
  bool partitioned = false;  // date=YYYY-MM-DD folders
  bool glob = false;         // registry path is a glob, not the folder

  std::string Describe() const {
    return absl::StrCat(name, " (keys ", absl::StrJoin(keys, "+"), ", ttl ", ttl, " us, time ",
                        TimeKindName(time_kind), ", created ",
                        with_created ? TimeKindName(created_kind) : "none",
                        partitioned ? ", date partitions" : "", glob ? ", glob" : ", folder", ", ",
                        rows.size(), " rows)");
  }
};

struct EntityRow {
  Value user_id = Value::Null(ValueType::kInt64);
  Value merchant_id = Value::Null(ValueType::kString);
  Micros time = 0;
  int64_t label = 0;
  Value note = Value::Null(ValueType::kString);
};

const std::vector<std::string>& MerchantNames() {
  static const std::vector<std::string>* const names = new std::vector<std::string>{"m1",
                                                                                    "m2",
                                                                                    "m3",
                                                                                    "m4",
                                                                                    "m'5",
                                                                                    "m\xC3\xA9"
                                                                                    "6",
                                                                                    "",
                                                                                    "m8"};
  return *names;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // Uniform in [0, n).
  int64_t Below(int64_t n) { return static_cast<int64_t>(gen_() % static_cast<uint64_t>(n)); }
  bool OneIn(int64_t n) { return Below(n) == 0; }
  std::mt19937_64& gen() { return gen_; }

 private:
  std::mt19937_64 gen_;
};

// A random value of the feature as stored, sometimes null.
Value RandomValue(const FeatureDef& f, Micros base, Micros step, Rng& rng) {
  const bool null = rng.OneIn(5);
  switch (f.stored) {
    case Stored::kInt32:
      return null ? Value::Null(ValueType::kInt32)
                  : Value::Int32(static_cast<int32_t>(rng.Below(2'000'000'001) - 1'000'000'000));
    case Stored::kFloat:
      return null ? Value::Null(ValueType::kFloat)
                  : Value::Float(static_cast<float>(rng.Below(100000) - 50000) / 64.0f);
    case Stored::kDate:
      return null ? Value::Null(ValueType::kInt32)
                  : Value::Int32(static_cast<int32_t>(rng.Below(40000) - 10000));
    case Stored::kNaive:
    case Stored::kMillis: {
      if (null) return Value::Null(ValueType::kInt64);
      // One draw per statement, so a seed gives the same data with any compiler.
      const Micros steps = rng.Below(1000) * step / 10;
      const Micros millis = rng.Below(1000) * 1000;
      return TimeValue(base + steps + millis,
                       f.stored == Stored::kNaive ? TimeKind::kNaiveMicros : TimeKind::kUtcMillis);
    }
    case Stored::kSame:
      break;
  }
  if (null) return Value::Null(f.dtype);
  switch (f.dtype) {
    case ValueType::kInt64: {
      const int64_t bits = static_cast<int64_t>(rng.gen()());
      return Value::Int64(bits >> rng.Below(64));
    }
    case ValueType::kInt32:
      return Value::Int32(static_cast<int32_t>(rng.Below(4'000'000'000) - 2'000'000'000));
    case ValueType::kDouble: {
      switch (rng.Below(12)) {
        case 0:
          return Value::Double(-0.0);
        case 1:
          return Value::Double(std::numeric_limits<double>::quiet_NaN());
        case 2:
          return Value::Double(-std::numeric_limits<double>::infinity());
        case 3:
          return Value::Double(1e300 * static_cast<double>(rng.Below(100)));
        default:
          return Value::Double(static_cast<double>(rng.Below(2'000'000) - 1'000'000) / 7.0);
      }
    }
    case ValueType::kFloat:
      return Value::Float(rng.OneIn(10) ? std::numeric_limits<float>::infinity()
                                        : static_cast<float>(rng.Below(100000)) / 3.0f);
    case ValueType::kBool:
      return Value::Bool(rng.OneIn(2));
    case ValueType::kString: {
      static const char* const kTexts[] = {
          "",           "a", "gold", "say \"hi\"", "tab\there", "line\nbreak", "\xE2\x82\xAC uro",
          "back\\slash"};
      const char* text = kTexts[rng.Below(8)];
      const char* sep = rng.OneIn(2) ? "" : "_";
      return Value::String(absl::StrCat(text, sep, rng.Below(100)));
    }
    case ValueType::kUnixTimestamp: {
      const Micros steps = rng.Below(1000) * step / 10;
      return Value::UnixTimestamp(base + steps + rng.Below(1000));
    }
    case ValueType::kFloatList: {
      std::vector<float> v(static_cast<size_t>(rng.Below(4)));
      for (float& x : v) x = static_cast<float>(rng.Below(2000) - 1000) / 10.0f;
      return Value::FloatList(std::move(v));
    }
    case ValueType::kStringList: {
      std::vector<std::string> v(static_cast<size_t>(rng.Below(4)));
      for (std::string& x : v) x = absl::StrCat("t", rng.Below(10));
      return Value::StringList(std::move(v));
    }
    default:
      return Value::Null(f.dtype);
  }
}

// Writes `rows` rows of `columns` (one ColumnData per spec) to `path`.
absl::Status WriteFile(const fs::path& path, const std::vector<ColumnSpec>& specs,
                       const std::vector<ColumnData>& columns, int64_t rows,
                       int64_t row_group_rows) {
  parquet::WriterOptions options;
  options.row_group_rows = row_group_rows;
  PANTRY_ASSIGN_OR_RETURN(std::unique_ptr<parquet::FileWriter> writer,
                          parquet::FileWriter::Create(path.string(), specs, options));
  if (rows > 0) PANTRY_RETURN_IF_ERROR(writer->Write(columns, rows));
  return writer->Close();
}

// Writes the view's rows into its source folder: 1-4 files (or per date
// partition 1-2), sorted by event time or shuffled, small row groups.
absl::Status WriteSource(const fs::path& case_dir, ViewData& view, Rng& rng) {
  const fs::path dir = case_dir / view.dir;
  fs::create_directories(dir);
  std::vector<SourceRow> rows = view.rows;
  std::shuffle(rows.begin(), rows.end(), rng.gen());
  if (rng.OneIn(2)) {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const SourceRow& a, const SourceRow& b) { return a.event < b.event; });
  }
  std::vector<ColumnSpec> specs;
  for (size_t k = 0; k < view.keys.size(); ++k) {
    specs.push_back(OutputSpec(view.keys[k], view.key_types[k]));
  }
  specs.push_back(TimeSpec("event_timestamp", view.time_kind));
  if (view.with_created) specs.push_back(TimeSpec("created", view.created_kind));
  for (const FeatureDef& f : view.features) specs.push_back(FeatureSpec(f));

  // Groups of rows, each a folder (relative to dir) and its rows.
  std::map<std::string, std::vector<const SourceRow*>> groups;
  for (const SourceRow& r : rows) {
    std::string folder;
    if (view.partitioned) {
      // Null times go to the first day; they never match anyway.
      const Micros t = r.event == kNoTimestamp ? 0 : r.event;
      const int64_t day = (t >= 0 ? t : t - kDay + 1) / kDay;
      folder = absl::StrCat("date=", parquet::FormatDate(day));
    }
    groups[folder].push_back(&r);
  }
  int file_no = 0;
  for (const auto& [folder, group] : groups) {
    fs::create_directories(dir / folder);
    const int files =
        view.partitioned ? 1 + static_cast<int>(rng.Below(2)) : 1 + static_cast<int>(rng.Below(4));
    // Contiguous slices at random cut points (so some files may be empty).
    std::vector<size_t> cuts = {0, group.size()};
    for (int f = 1; f < files; ++f)
      cuts.push_back(static_cast<size_t>(rng.Below(group.size() + 1)));
    std::sort(cuts.begin(), cuts.end());
    for (size_t f = 0; f + 1 < cuts.size(); ++f) {
      std::vector<ColumnData> columns(specs.size());
      for (size_t i = cuts[f]; i < cuts[f + 1]; ++i) {
        const SourceRow& r = *group[i];
        size_t c = 0;
        for (const Value& k : r.keys) AppendOutputValue(k, &columns[c++]);
        AppendOutputValue(TimeValue(r.event, view.time_kind), &columns[c++]);
        if (view.with_created)
          AppendOutputValue(TimeValue(r.created, view.created_kind), &columns[c++]);
        for (const Value& v : r.values) AppendOutputValue(v, &columns[c++]);
      }
      PANTRY_RETURN_IF_ERROR(WriteFile(dir / folder / absl::StrCat("part-", file_no++, ".parquet"),
                                       specs, columns, static_cast<int64_t>(cuts[f + 1] - cuts[f]),
                                       1 + rng.Below(9)));
    }
  }
  if (rng.OneIn(2)) std::ofstream(dir / "_SUCCESS").put('\n');
  return absl::OkStatus();
}

// One seed: its data, Pantry's result and what DuckDB is asked.
struct Case {
  int seed = 0;
  fs::path dir;
  std::string description;  // the parameters, for failure messages
  absl::Status status;      // generation and Pantry
  HistoricalStats stats;
  Json spec;  // this case in SPEC.json
  fs::path pantry_out, duckdb_out;
};

std::string YamlDuration(Micros ttl) { return ttl == 0 ? "0" : absl::StrCat(ttl / kSecond, "s"); }

// Generates the data of `c.seed` under `c.dir`, runs Pantry and fills
// `c.spec`.
absl::Status BuildCase(Case& c) {
  Rng rng(static_cast<uint64_t>(c.seed) * 0x9E3779B97F4A7C15ull + 12345u);
  fs::create_directories(c.dir);

  const bool partitioned = rng.OneIn(4);
  const Micros step = partitioned ? 6 * kHour : 10 * kSecond;
  const Micros kMar2025 = 1740787200 * kSecond;
  const Micros bases[] = {kMar2025, 0, -90 * kSecond, -315619200 * kSecond};
  const Micros base = partitioned ? kMar2025 : bases[rng.Below(4)];
  const Micros ttls[] = {0, step, 5 * step, step * 3 / 2};
  const TimeKind time_kinds[] = {TimeKind::kUtcMicros, TimeKind::kNaiveMicros, TimeKind::kUtcMillis,
                                 TimeKind::kPlainMicros};
  auto random_time_kind = [&] { return time_kinds[rng.Below(4)]; };
  auto random_created_kind = [&] {
    return rng.OneIn(2) ? TimeKind::kUtcMicros : TimeKind::kPlainMicros;
  };
  // Event times on the grid; a third of them repeat the previous one (ties).
  Micros last_event = base;
  auto random_event = [&] {
    if (!rng.OneIn(3)) last_event = base + rng.Below(21) * step;
    return last_event;
  };
  // Created times: whole milliseconds, unrelated to the event time.
  auto random_created = [&] { return base + rng.Below(3000) * (step / 100); };

  // --- user_stats
  ViewData users;
  users.name = "user_stats";
  users.dir = "users";
  users.entities = {"user"};
  users.keys = {"user_id"};
  users.key_types = {rng.OneIn(2) ? ValueType::kInt64 : ValueType::kInt32};
  users.time_kind = partitioned ? TimeKind::kUtcMicros : random_time_kind();
  users.with_created = true;
  users.created_kind = random_created_kind();
  users.ttl = ttls[rng.Below(4)];
  users.partitioned = partitioned;
  users.glob = rng.OneIn(2);
  users.features = {
      {"txn_count", ValueType::kInt64, "INT64", "BIGINT",
       rng.OneIn(2) ? Stored::kInt32 : Stored::kSame},
      {"avg_amount", ValueType::kDouble, "DOUBLE", "DOUBLE",
       rng.OneIn(2) ? Stored::kFloat : Stored::kSame},
      {"segment", ValueType::kString, "STRING", "VARCHAR"},
      {"clicks", ValueType::kInt32, "INT32", "INTEGER"},
      {"score", ValueType::kFloat, "FLOAT", "FLOAT"},
      {"active", ValueType::kBool, "BOOL", "BOOLEAN"},
      {"last_login", ValueType::kUnixTimestamp, "UNIX_TIMESTAMP", "TIMESTAMPTZ",
       std::vector<Stored>{Stored::kSame, Stored::kDate, Stored::kNaive,
                           Stored::kMillis}[rng.Below(4)]},
      {"embedding", ValueType::kFloatList, "FLOAT_LIST", "FLOAT[]"},
  };
  for (int64_t u = 1; u <= 12; ++u) {
    if (u % 5 == 0) continue;  // users without history
    std::set<std::pair<Micros, Micros>> seen;
    const int64_t n = rng.Below(9);
    for (int64_t i = 0; i < n; ++i) {
      SourceRow r;
      r.keys = {users.key_types[0] == ValueType::kInt64 ? Value::Int64(u)
                                                        : Value::Int32(static_cast<int32_t>(u))};
      if (rng.OneIn(30)) r.keys[0] = Value::Null(users.key_types[0]);
      r.event = rng.OneIn(40) ? kNoTimestamp : random_event();
      r.created = rng.OneIn(8) ? kNoTimestamp : random_created();
      // (key, event, created) unique: full ties resolve by file order in
      // Pantry and arbitrarily in DuckDB.
      if (!r.keys[0].is_null() && !seen.insert({r.event, r.created}).second) continue;
      for (const FeatureDef& f : users.features)
        r.values.push_back(RandomValue(f, base, step, rng));
      users.rows.push_back(std::move(r));
    }
  }

  // --- merchant_risk
  ViewData merchants;
  merchants.name = "merchant_risk";
  merchants.dir = "merchants";
  merchants.entities = {"merchant"};
  merchants.keys = {"merchant_id"};
  merchants.key_types = {ValueType::kString};
  merchants.time_kind = random_time_kind();
  merchants.ttl = ttls[rng.Below(4)];
  merchants.glob = rng.OneIn(2);
  merchants.features = {
      {"risk", ValueType::kDouble, "DOUBLE", "DOUBLE"},
      {"category", ValueType::kString, "STRING", "VARCHAR"},
      {"level", ValueType::kInt64, "INT64", "BIGINT",
       rng.OneIn(2) ? Stored::kInt32 : Stored::kSame},
      {"flagged", ValueType::kBool, "BOOL", "BOOLEAN"},
      {"opened", ValueType::kUnixTimestamp, "UNIX_TIMESTAMP", "TIMESTAMPTZ",
       rng.OneIn(2) ? Stored::kSame : Stored::kDate},
  };
  for (size_t m = 0; m + 1 < MerchantNames().size(); ++m) {  // the last has no history
    std::set<Micros> seen;
    const int64_t n = rng.Below(7);
    for (int64_t i = 0; i < n; ++i) {
      SourceRow r;
      r.keys = {rng.OneIn(30) ? Value::Null(ValueType::kString)
                              : Value::String(MerchantNames()[m])};
      r.event = rng.OneIn(40) ? kNoTimestamp : random_event();
      r.created = kNoTimestamp;
      if (!r.keys[0].is_null() && !seen.insert(r.event).second) continue;
      for (const FeatureDef& f : merchants.features) {
        r.values.push_back(RandomValue(f, base, step, rng));
      }
      merchants.rows.push_back(std::move(r));
    }
  }

  // --- user_merchant: join keys of both entities, sorted by name.
  ViewData pairs;
  pairs.name = "user_merchant";
  pairs.dir = "pairs";
  pairs.entities = {"user", "merchant"};
  pairs.keys = {"merchant_id", "user_id"};
  pairs.key_types = {ValueType::kString, rng.OneIn(2) ? ValueType::kInt64 : ValueType::kInt32};
  pairs.time_kind = random_time_kind();
  pairs.with_created = rng.OneIn(2);
  pairs.created_kind = random_created_kind();
  pairs.ttl = ttls[rng.Below(4)];
  pairs.glob = rng.OneIn(2);
  pairs.features = {
      {"pair_count", ValueType::kInt64, "INT64", "BIGINT"},
      {"last_amount", ValueType::kDouble, "DOUBLE", "DOUBLE"},
      {"first_seen", ValueType::kUnixTimestamp, "UNIX_TIMESTAMP", "TIMESTAMPTZ"},
      {"pair_tags", ValueType::kStringList, "STRING_LIST", "VARCHAR[]"},
  };
  {
    std::set<std::tuple<std::string, int64_t, Micros, Micros>> seen;
    for (int i = 0; i < 18; ++i) {
      const int64_t u = 1 + rng.Below(8);
      const std::string& m = MerchantNames()[static_cast<size_t>(rng.Below(4))];
      const int64_t n = 1 + rng.Below(4);
      for (int64_t j = 0; j < n; ++j) {
        SourceRow r;
        r.keys = {Value::String(m), pairs.key_types[1] == ValueType::kInt64
                                        ? Value::Int64(u)
                                        : Value::Int32(static_cast<int32_t>(u))};
        r.event = random_event();
        r.created = pairs.with_created && !rng.OneIn(8) ? random_created() : kNoTimestamp;
        if (!seen.insert({m, u, r.event, r.created}).second) continue;
        for (const FeatureDef& f : pairs.features)
          r.values.push_back(RandomValue(f, base, step, rng));
        pairs.rows.push_back(std::move(r));
      }
    }
  }
  std::vector<ViewData*> views = {&users, &merchants, &pairs};
  for (ViewData* v : views) PANTRY_RETURN_IF_ERROR(WriteSource(c.dir, *v, rng));

  // --- entity rows
  auto user_value = [](const Value& key) {
    if (key.is_null()) return Value::Null(ValueType::kInt64);
    return key.type() == ValueType::kInt32 ? Value::Int64(key.get<int32_t>())
                                           : Value::Int64(key.get<int64_t>());
  };
  auto random_user = [&] {
    return rng.OneIn(15) ? Value::Null(ValueType::kInt64) : Value::Int64(1 + rng.Below(14));
  };
  auto random_merchant = [&] {
    return rng.OneIn(15) ? Value::Null(ValueType::kString)
                         : Value::String(MerchantNames()[static_cast<size_t>(
                               rng.Below(static_cast<int64_t>(MerchantNames().size())))]);
  };
  std::vector<EntityRow> entities;
  int64_t label = 0;
  auto add = [&](EntityRow e) {
    e.label = label++;
    e.note =
        rng.OneIn(3) ? Value::Null(ValueType::kString) : Value::String(absl::StrCat("n", e.label));
    entities.push_back(e);
    if (rng.OneIn(8)) entities.push_back(e);  // an exact duplicate
  };
  // Entity times over the whole grid and beyond, or for half the seeds a
  // narrow window of it, so that sorted sources have row groups (and date
  // partitions) entirely outside [earliest - ttl, latest] to skip.
  int64_t k_lo = -2, k_hi = 22;
  if (rng.OneIn(2)) {
    k_lo = 6 + rng.Below(5);
    k_hi = k_lo + 3 + rng.Below(6);
  }
  const int64_t n = 30 + rng.Below(40);
  for (int64_t i = 0; i < n; ++i) {
    EntityRow e;
    e.user_id = random_user();
    e.merchant_id = random_merchant();
    e.time = base + (k_lo + rng.Below(k_hi - k_lo + 1)) * step;
    switch (rng.Below(6)) {
      case 0:
        e.time -= 1;
        break;
      case 1:
        e.time += 1;
        break;
      case 2:
        e.time += rng.Below(step);
        break;
      default:
        break;
    }
    add(e);
  }
  // The edges of some feature rows of every view: at the feature time, 1 us
  // before, exactly one ttl later (too old) and 1 us before that.
  for (const ViewData* v : views) {
    for (int i = 0; i < 10 && !v->rows.empty(); ++i) {
      const SourceRow& r =
          v->rows[static_cast<size_t>(rng.Below(static_cast<int64_t>(v->rows.size())))];
      if (r.event == kNoTimestamp || r.event < base + k_lo * step || r.event > base + k_hi * step) {
        continue;
      }
      EntityRow e;
      e.user_id = random_user();
      e.merchant_id = random_merchant();
      for (size_t k = 0; k < v->keys.size(); ++k) {
        if (v->keys[k] == "user_id") e.user_id = user_value(r.keys[k]);
        if (v->keys[k] == "merchant_id") e.merchant_id = r.keys[k];
      }
      const Micros later = v->ttl > 0 ? v->ttl : 7 * step;
      for (Micros t : {r.event, r.event - 1, r.event + later, r.event + later - 1}) {
        e.time = t;
        add(e);
      }
    }
  }
  std::shuffle(entities.begin(), entities.end(), rng.gen());

  const std::string ts_column = rng.OneIn(2) ? "event_timestamp" : "ts";
  const TimeKind entity_time_kind = rng.OneIn(3) ? TimeKind::kNaiveMicros : TimeKind::kUtcMicros;
  std::vector<std::string> entity_columns = {"label", "user_id", ts_column, "merchant_id", "note"};
  std::shuffle(entity_columns.begin(), entity_columns.end(), rng.gen());
  {
    std::vector<ColumnSpec> specs;
    for (const std::string& name : entity_columns) {
      if (name == ts_column) {
        specs.push_back(TimeSpec(name, entity_time_kind));
      } else {
        specs.push_back(OutputSpec(
            name, name == "label" || name == "user_id" ? ValueType::kInt64 : ValueType::kString));
      }
    }
    std::vector<ColumnData> columns(specs.size());
    for (const EntityRow& e : entities) {
      for (size_t i = 0; i < entity_columns.size(); ++i) {
        const std::string& name = entity_columns[i];
        const Value v = name == "label"         ? Value::Int64(e.label)
                        : name == "user_id"     ? e.user_id
                        : name == "merchant_id" ? e.merchant_id
                        : name == "note"        ? e.note
                                                : TimeValue(e.time, entity_time_kind);
        AppendOutputValue(v, &columns[i]);
      }
    }
    PANTRY_RETURN_IF_ERROR(WriteFile(c.dir / "entities.parquet", specs, columns,
                                     static_cast<int64_t>(entities.size()), 1 + rng.Below(40)));
  }

  // --- the repository
  std::string yaml =
      "project: p\n"
      "entities:\n"
      "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
      "  - {name: merchant, join_keys: [merchant_id], value_type: STRING}\n"
      "sources:\n";
  for (const ViewData* v : views) {
    std::string path = v->dir;
    if (v->glob) path += v->partitioned ? "/date=*/*.parquet" : "/*.parquet";
    absl::StrAppend(&yaml, "  - {name: ", v->name, "_src, path: \"", path,
                    "\", timestamp_field: event_timestamp",
                    v->with_created ? ", created_timestamp_field: created" : "", "}\n");
  }
  absl::StrAppend(&yaml, "feature_views:\n");
  for (const ViewData* v : views) {
    absl::StrAppend(&yaml, "  - name: ", v->name, "\n    entities: [",
                    absl::StrJoin(v->entities, ", "), "]\n    ttl: ", YamlDuration(v->ttl),
                    "\n    source: ", v->name, "_src\n    schema:\n");
    for (const FeatureDef& f : v->features) {
      absl::StrAppend(&yaml, "      - {name: ", f.name, ", dtype: ", f.dtype_name, "}\n");
    }
  }
  PANTRY_ASSIGN_OR_RETURN(std::shared_ptr<const Registry> registry,
                          ParseRegistry(yaml, "test.yaml", c.dir.string()));

  // --- the request: two or three views, `view:*` or some features each.
  std::vector<int> chosen = {0, 1, 2};
  std::shuffle(chosen.begin(), chosen.end(), rng.gen());
  if (rng.OneIn(4)) chosen.pop_back();
  struct Ref {
    std::string text;
    std::vector<std::pair<int, int>> outputs;  // (view, feature)
  };
  std::vector<Ref> refs;
  for (int v : chosen) {
    const ViewData& view = *views[static_cast<size_t>(v)];
    if (rng.OneIn(2)) {
      Ref r{absl::StrCat(view.name, ":*"), {}};
      for (size_t f = 0; f < view.features.size(); ++f)
        r.outputs.push_back({v, static_cast<int>(f)});
      refs.push_back(r);
    } else {
      std::vector<int> fs(view.features.size());
      for (size_t f = 0; f < fs.size(); ++f) fs[f] = static_cast<int>(f);
      std::shuffle(fs.begin(), fs.end(), rng.gen());
      fs.resize(static_cast<size_t>(1 + rng.Below(static_cast<int64_t>(fs.size()))));
      for (int f : fs) {
        refs.push_back(
            {absl::StrCat(view.name, ":", view.features[static_cast<size_t>(f)].name), {{v, f}}});
      }
    }
  }
  if (rng.OneIn(2)) std::shuffle(refs.begin(), refs.end(), rng.gen());
  const bool full_names = rng.OneIn(3);

  HistoricalRequest request;
  for (const Ref& r : refs) request.feature_refs.push_back(r.text);
  request.full_feature_names = full_names;
  request.entities_path = (c.dir / "entities.parquet").string();
  request.timestamp_column = ts_column;
  request.output_path = c.pantry_out.string();
  HistoricalOptions options;
  options.threads = 1 + static_cast<int>(rng.Below(2));
  options.output_row_group_rows = 1 + rng.Below(50);
  // Odd seeds with a budget too small for any row group: the entity rows
  // are joined one row group at a time, each a scan of the sources.
  if (c.seed % 2 == 1) options.memory_budget_bytes = 1;

  c.description = absl::StrCat(
      "seed ", c.seed, ": base ", base, " us, step ", step, " us, ", entities.size(),
      " entity rows (time column '", ts_column, "' ", TimeKindName(entity_time_kind), ", columns ",
      absl::StrJoin(entity_columns, ","), "); ",
      absl::StrJoin(
          views, "; ",
          [](std::string* out, const ViewData* v) { absl::StrAppend(out, v->Describe()); }),
      "; refs [", absl::StrJoin(request.feature_refs, ", "), "]",
      full_names ? " with full names" : "", ", ", options.threads,
      " threads, output row groups of ", options.output_row_group_rows,
      options.memory_budget_bytes == 1 ? ", one entity row group per chunk" : "", "; files in ",
      c.dir.string());

  // --- what DuckDB is asked
  Json spec;
  spec["name"] = absl::StrCat("seed ", c.seed);
  spec["entities"] = request.entities_path;
  spec["timestamp_column"] = ts_column;
  spec["entity_columns"] = entity_columns;
  spec["output"] = c.duckdb_out.string();
  std::map<int, int> spec_view;  // views index -> spec views index
  spec["views"] = Json::array();
  for (int v : chosen) {
    const ViewData& view = *views[static_cast<size_t>(v)];
    auto kind = [](TimeKind k) { return k == TimeKind::kPlainMicros ? "micros" : "timestamp"; };
    Json j;
    j["name"] = view.name;
    j["glob"] = (c.dir / view.dir / (view.partitioned ? "*/*.parquet" : "*.parquet")).string();
    j["keys"] = view.keys;
    j["time"] = {{"column", "event_timestamp"}, {"kind", kind(view.time_kind)}};
    j["created"] = view.with_created
                       ? Json{{"column", "created"}, {"kind", kind(view.created_kind)}}
                       : Json(nullptr);
    j["ttl_micros"] = view.ttl;
    spec_view[v] = static_cast<int>(spec["views"].size());
    spec["views"].push_back(j);
  }
  spec["outputs"] = Json::array();
  for (const Ref& r : refs) {
    for (const auto& [v, f] : r.outputs) {
      const ViewData& view = *views[static_cast<size_t>(v)];
      const FeatureDef& feature = view.features[static_cast<size_t>(f)];
      spec["outputs"].push_back(
          {{"view", spec_view[v]},
           {"column", feature.name},
           {"name", full_names ? absl::StrCat(view.name, "__", feature.name) : feature.name},
           {"type", feature.duck_type}});
    }
  }
  c.spec = spec;

  PANTRY_ASSIGN_OR_RETURN(c.stats, GetHistoricalFeatures(*registry, request, options));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Reading and comparing the outputs.

struct Rows {
  std::vector<Column> columns;
  std::vector<std::string> lines;  // AppendJsonRows, one row per line
};

absl::StatusOr<Rows> ReadRows(const fs::path& path) {
  PANTRY_ASSIGN_OR_RETURN(std::unique_ptr<parquet::FileReader> reader,
                          parquet::FileReader::Open(path.string()));
  Rows rows;
  rows.columns = reader->schema().columns();
  std::vector<const Column*> columns;
  for (const Column& c : rows.columns) {
    if (!c.supported) {
      return absl::UnimplementedError(
          absl::StrCat(path.string(), ": column '", c.name, "': ", c.unsupported_reason));
    }
    columns.push_back(&c);
  }
  std::vector<ColumnData> data(columns.size());
  std::vector<const ColumnData*> chunks;
  for (const ColumnData& d : data) chunks.push_back(&d);
  std::string text;
  for (int g = 0; g < reader->num_row_groups(); ++g) {
    for (size_t c = 0; c < columns.size(); ++c) {
      PANTRY_RETURN_IF_ERROR(reader->ReadColumn(g, static_cast<int>(c), &data[c]));
    }
    PANTRY_RETURN_IF_ERROR(AppendJsonRows(columns, chunks, reader->row_group_rows(g), &text));
  }
  rows.lines = SplitLines(text);
  return rows;
}

// What a column's values mean, for comparing Pantry's and DuckDB's output
// schemas: physical type, logical type, timestamp unit and zone, list or
// not. An INTEGER annotation that only restates a signed INT32/INT64 (DuckDB
// writes INT(64, true) on BIGINT, Pantry writes none) counts as none; so do
// repetition and the nullability of list elements, which JSON does not show.
std::string TypeKey(const Column& c) {
  parquet::Logical logical = c.logical;
  if (logical == parquet::Logical::kInteger && c.is_signed &&
      ((c.physical == parquet::Type::kInt64 && c.bit_width == 64) ||
       (c.physical == parquet::Type::kInt32 && c.bit_width == 32))) {
    logical = parquet::Logical::kNone;
  }
  std::string key = absl::StrCat(static_cast<int>(c.physical), "/", static_cast<int>(logical));
  if (logical == parquet::Logical::kTimestamp) {
    absl::StrAppend(&key, "/", static_cast<int>(c.unit), c.utc_adjusted ? "/utc" : "/naive");
  }
  if (c.is_list) key += "/list";
  return key;
}

// ---------------------------------------------------------------------------
// The suite: every case is generated and run by Pantry first, then DuckDB
// runs all of them in one node process; each test compares one case.

struct Suite {
  fs::path root;
  std::vector<Case> cases;
  std::string setup_problem;                   // "" when node, DuckDB and a temp dir are there
  Command::Result node;                        // the node run
  std::map<std::string, Json> duckdb_results;  // by case name
  double pantry_seconds = 0;
  double node_seconds = 0;
};

class HistoricalVsDuckDb : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    suite_ = new Suite();
    Suite& s = *suite_;
    std::string templ = (fs::temp_directory_path() / "pantry_pit_duckdb_XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      s.setup_problem = "mkdtemp failed";
      return;
    }
    s.root = templ;
    s.setup_problem = NodeProblem();
    if (!s.setup_problem.empty()) return;
    const auto start = std::chrono::steady_clock::now();
    Json spec;
    spec["cases"] = Json::array();
    for (int seed = 0; seed < SeedCount(); ++seed) {
      Case c;
      c.seed = seed;
      c.dir = s.root / absl::StrCat("seed", seed);
      c.pantry_out = c.dir / "OUT_pantry.parquet";
      c.duckdb_out = c.dir / "OUT_duckdb.parquet";
      c.status = BuildCase(c);
      if (!c.spec.is_null()) spec["cases"].push_back(c.spec);
      s.cases.push_back(std::move(c));
    }
    const auto generated = std::chrono::steady_clock::now();
    s.pantry_seconds = std::chrono::duration<double>(generated - start).count();

    const fs::path spec_path = s.root / "SPEC.json";
    std::ofstream(spec_path) << spec.dump(1) << "\n";
    s.node =
        Command(absl::StrCat("node pit_duckdb.mjs ", ShellQuote(spec_path.string()))).Finish();
    s.node_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - generated).count();
    for (const std::string& line : SplitLines(s.node.out)) {
      Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("name")) s.duckdb_results[j["name"].get<std::string>()] = j;
    }
    HistoricalStats total;
    for (const Case& c : s.cases) {
      total.entity_rows += c.stats.entity_rows;
      total.values_found += c.stats.values_found;
      total.row_groups_skipped += c.stats.row_groups_skipped;
      total.files_skipped += c.stats.files_skipped;
      total.chunks += c.stats.chunks;
    }
    std::cout << "[ pit ] " << SeedCount() << " cases generated and joined by Pantry in "
              << s.pantry_seconds << " s (" << total.entity_rows << " entity rows, "
              << total.values_found << " with a view's row found, " << total.row_groups_skipped
              << " row groups and " << total.files_skipped
              << " files skipped, " << total.chunks
              << " entity chunks); DuckDB (one node process) in " << s.node_seconds << " s\n";
  }

  static void TearDownTestSuite() {
    if (suite_ == nullptr) return;
    if (!suite_->root.empty()) {
      if (KeepFiles()) {
        std::cout << "  kept " << suite_->root.string() << " (PANTRY_INTEROP_KEEP_FILES)\n";
      } else {
        std::error_code ignored;
        fs::remove_all(suite_->root, ignored);
      }
    }
    delete suite_;
    suite_ = nullptr;
  }

  static Suite* suite_;
};

Suite* HistoricalVsDuckDb::suite_ = nullptr;

TEST_P(HistoricalVsDuckDb, SameRowsAsDuckDbAsofJoin) {
  const Suite& s = *suite_;
  ASSERT_TRUE(s.setup_problem.empty()) << s.setup_problem;
  const Case& c = s.cases[static_cast<size_t>(GetParam())];
  ASSERT_TRUE(c.status.ok()) << "Pantry: " << c.status << "\n" << c.description;
  auto result = s.duckdb_results.find(c.spec["name"].get<std::string>());
  ASSERT_TRUE(result != s.duckdb_results.end())
      << "node pit_duckdb.mjs printed nothing for this case (exit " << s.node.exit_code << "):\n"
      << s.node.err;
  ASSERT_TRUE(result->second.value("ok", false))
      << "DuckDB: " << result->second.value("error", std::string("?")) << "\n"
      << s.node.err << "\n"
      << c.description;

  auto pantry = ReadRows(c.pantry_out);
  ASSERT_TRUE(pantry.ok()) << pantry.status();
  auto duckdb = ReadRows(c.duckdb_out);
  ASSERT_TRUE(duckdb.ok()) << duckdb.status();

  // Same columns, same names, same types.
  std::vector<std::string> pantry_names, duckdb_names;
  for (const Column& col : pantry->columns) pantry_names.push_back(col.name);
  for (const Column& col : duckdb->columns) duckdb_names.push_back(col.name);
  ASSERT_EQ(pantry_names, duckdb_names) << c.description;
  for (size_t i = 0; i < pantry->columns.size(); ++i) {
    EXPECT_EQ(TypeKey(pantry->columns[i]), TypeKey(duckdb->columns[i]))
        << "column '" << pantry->columns[i].name << "': Pantry " << pantry->columns[i].TypeString()
        << ", DuckDB " << duckdb->columns[i].TypeString() << "\n"
        << c.description;
  }

  // Same rows, exactly.
  EXPECT_EQ(pantry->lines.size(), static_cast<size_t>(c.stats.entity_rows));
  ASSERT_EQ(pantry->lines.size(), duckdb->lines.size()) << c.description;
  int mismatches = 0;
  for (size_t r = 0; r < pantry->lines.size(); ++r) {
    if (pantry->lines[r] == duckdb->lines[r]) continue;
    if (++mismatches > 10) continue;
    const Json p = Json::parse(pantry->lines[r], nullptr, false);
    const Json d = Json::parse(duckdb->lines[r], nullptr, false);
    std::string diffs;
    if (p.is_object() && d.is_object()) {
      for (const auto& [key, value] : p.items()) {
        if (!d.contains(key) || d[key].dump() != value.dump()) {
          absl::StrAppend(&diffs, "  column '", key, "': Pantry ", value.dump(), ", DuckDB ",
                          d.contains(key) ? d[key].dump() : std::string("(missing)"), "\n");
        }
      }
    }
    ADD_FAILURE() << "seed " << c.seed << ", row " << r << " differs:\n"
                  << diffs << "  Pantry: " << pantry->lines[r] << "\n  DuckDB: " << duckdb->lines[r]
                  << "\n"
                  << c.description;
  }
  EXPECT_EQ(mismatches, 0) << "rows differing in seed " << c.seed;
  // The data is meant to find values: a case where nothing matched tests
  // little.
  EXPECT_GT(c.stats.values_found, 0) << c.description;
}

INSTANTIATE_TEST_SUITE_P(Seeds, HistoricalVsDuckDb, ::testing::Range(0, SeedCount()));

}  // namespace
}  // namespace pantry::offline
