// Aggregation features of a point-in-time join against DuckDB: the same
// random events and entity rows, Pantry's join in process, and DuckDB's
// range join with window functions (agg_duckdb.mjs), compared row by row:
// counts, extremes and latest values exactly, sums, means and deviations
// within 1e-9 relative, approx_count_distinct within 3% of DuckDB's exact
// distinct count.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/offline/columns.h"
#include "server/offline/historical.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "server/registry/registry.h"
#include "tests/support/offline_values.h"
#include "tests/interop/node_support.h"

namespace pantry::interop {
namespace {

using Json = nlohmann::json;
using ::pantry::testing::WriteParquetRows;
constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kT0 = 1767225600 * kSecond;


constexpr char kViews[] =
    "      - {name: n_1h, function: count, window: 1h}\n"
    "      - {name: n_amount_1d, function: count, column: amount, window: 1d}\n"
    "      - {name: sum_1d, function: sum, column: amount, window: 1d}\n"
    "      - {name: qty_sum_7d, function: sum, column: qty, window: 7d}\n"
    "      - {name: mean_1d, function: mean, column: amount, window: 1d, hop: 15m}\n"
    "      - {name: sd_1d, function: stddev, column: amount, window: 1d}\n"
    "      - {name: min_1h, function: min, column: amount, window: 1h}\n"
    "      - {name: max_7d, function: max, column: qty, window: 7d}\n"
    "      - {name: last_merchant, function: last, column: merchant, window: 1d}\n"
    "      - {name: last3, function: last_n, column: merchant, n: 3, window: 1d}\n"
    "      - {name: merchants, function: approx_count_distinct, column: merchant, window: 7d}\n";

TEST(AggregationVsDuckDb, SameValuesAsDuckDbRangeJoins) {
  const std::string problem = NodeProblem("@duckdb/node-api");
  ASSERT_TRUE(problem.empty()) << problem;
  std::string templ = (fs::temp_directory_path() / "pantry_agg_duckdb_XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  const fs::path dir = templ;
  fs::create_directories(dir / "events");
  std::mt19937 rng(20261206);

  // Events: distinct times per user (DuckDB breaks ties in time its own way),
  // on hop edges, just before them, anywhere over 9 days; null amounts;
  // some delivered twice.
  std::vector<std::vector<Value>> events;
  const char* merchants[] = {"acme", "bolt", "cafe", "deli", "zoë", "fuel", "gym", "hat"};
  for (int64_t u = 1; u <= 30; ++u) {
    std::set<Micros> times;
    const int n = static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) {
      Micros t = kT0 + static_cast<Micros>(rng() % (9 * 24 * 4)) * 15 * kMinute;
      if (rng() % 3 == 0) t -= 1;
      if (rng() % 3 == 0) t += static_cast<Micros>(rng() % static_cast<uint64_t>(15 * kMinute));
      if (!times.insert(t).second) continue;
      std::vector<Value> e = {
          Value::Int64(u), Value::UnixTimestamp(t),
          rng() % 5 == 0 ? Value::Null(ValueType::kDouble)
                         : Value::Double(static_cast<double>(rng() % 100000) / 100.0 - 200),
          Value::String(merchants[rng() % 8]), Value::Int64(static_cast<int64_t>(rng() % 20) - 5)};
      events.push_back(e);
      if (rng() % 7 == 0) events.push_back(e);
    }
  }
  std::shuffle(events.begin(), events.end(), rng);
  const std::vector<parquet::ColumnSpec> event_specs = {
      offline::OutputSpec("user_id", ValueType::kInt64),
      offline::OutputSpec("ts", ValueType::kUnixTimestamp),
      offline::OutputSpec("amount", ValueType::kDouble),
      offline::OutputSpec("merchant", ValueType::kString),
      offline::OutputSpec("qty", ValueType::kInt64)};
  for (int f = 0; f < 3; ++f) {
    std::vector<std::vector<Value>> part;
    for (size_t i = static_cast<size_t>(f); i < events.size(); i += 3) part.push_back(events[i]);
    WriteParquetRows(dir / "events" / absl::StrCat("part-", f, ".parquet"), event_specs, part, 500);
  }
  // Entity rows: at events, just before them, a window later, anywhere.
  std::vector<std::vector<Value>> entities;
  for (int i = 0; i < 3000; ++i) {
    const auto& e = events[rng() % events.size()];
    const Micros t = e[1].get<int64_t>();
    const Micros deltas[] = {0, -1, kHour, 24 * kHour,
                             static_cast<Micros>(rng() % static_cast<uint64_t>(48 * kHour))};
    entities.push_back(
        {Value::Int64(i), e[0], Value::UnixTimestamp(t + deltas[rng() % 5])});
  }
  entities.push_back({Value::Int64(3000), Value::Int64(999), Value::UnixTimestamp(kT0)});
  WriteParquetRows(dir / "entities.parquet",
               {offline::OutputSpec("rid", ValueType::kInt64),
                offline::OutputSpec("user_id", ValueType::kInt64),
                offline::OutputSpec("event_timestamp", ValueType::kUnixTimestamp)},
               entities, 700);

  const std::string yaml = absl::StrCat(
      "project: p\n"
      "offline_store: {path: ", (dir / "store").string(), "}\n"
      "entities:\n"
      "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
      "sources:\n"
      "  - name: events\n"
      "    path: events\n"
      "    timestamp_field: ts\n"
      "    schema:\n"
      "      - {name: user_id, dtype: INT64}\n"
      "      - {name: amount, dtype: DOUBLE}\n"
      "      - {name: merchant, dtype: STRING}\n"
      "      - {name: qty, dtype: INT64}\n"
      "feature_views:\n"
      "  - name: aggs\n"
      "    entities: [user]\n"
      "    source: events\n"
      "    aggregations:\n",
      kViews);
  auto registry = ParseRegistry(yaml, "repo.yaml", dir.string());
  ASSERT_TRUE(registry.ok()) << registry.status();
  const FeatureView* view = (*registry)->FindFeatureView("aggs");
  offline::HistoricalRequest request;
  request.feature_refs = {"aggs:*"};
  request.entities_path = (dir / "entities.parquet").string();
  request.output_path = (dir / "pantry.parquet").string();
  auto stats = offline::GetHistoricalFeatures(**registry, request, {});
  ASSERT_TRUE(stats.ok()) << stats.status();

  // DuckDB.
  Json spec;
  spec["events"] = (dir / "events" / "*.parquet").string();
  spec["entities"] = request.entities_path;
  spec["aggregations"] = Json::array();
  for (const Aggregation& a : view->aggregations) {
    spec["aggregations"].push_back({{"name", a.name},
                                    {"function", std::string(AggFunctionName(a.function))},
                                    {"column", a.column},
                                    {"window_us", a.window},
                                    {"hop_us", a.hop},
                                    {"n", a.n}});
  }
  std::ofstream(dir / "spec.json") << spec.dump() << "\n";
  Command::Result node =
      Command(absl::StrCat("node agg_duckdb.mjs ", ShellQuote((dir / "spec.json").string())))
          .Finish();
  ASSERT_EQ(node.exit_code, 0) << node.err;
  std::vector<Json> duck;
  for (absl::string_view line : absl::StrSplit(node.out, '\n', absl::SkipEmpty())) {
    duck.push_back(Json::parse(line));
  }
  ASSERT_EQ(duck.size(), entities.size());

  // Pantry's output, row by row.
  auto reader = parquet::FileReader::Open(request.output_path);
  ASSERT_TRUE(reader.ok());
  const auto& columns = (*reader)->schema().columns();
  ASSERT_EQ(columns.size(), 3 + view->aggregations.size());
  size_t row = 0;
  int failures = 0;
  int64_t nonempty = 0;
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    std::vector<parquet::ColumnData> data(columns.size());
    std::vector<std::unique_ptr<offline::RowValues>> values;
    for (size_t c = 0; c < columns.size(); ++c) {
      ASSERT_TRUE((*reader)->ReadColumn(g, static_cast<int>(c), &data[c]).ok());
      const ValueType type = c < 3 ? (c == 2 ? ValueType::kUnixTimestamp : ValueType::kInt64)
                                   : view->aggregations[c - 3].dtype;
      values.push_back(std::make_unique<offline::RowValues>(columns[c], data[c], type));
    }
    for (int64_t r = 0; r < (*reader)->row_group_rows(g); ++r, ++row) {
      const Json& d = duck[row];
      ASSERT_EQ(d["rid"].get<int64_t>(), values[0]->Get(r).get<int64_t>());
      for (size_t a = 0; a < view->aggregations.size(); ++a) {
        const Aggregation& agg = view->aggregations[a];
        const Value got = values[3 + a]->Get(r);
        const Json& want = d[agg.name];
        const std::string where = absl::StrCat("row ", row, " ", agg.name, ": Pantry ",
                                               got.DebugString(), ", DuckDB ", want.dump());
        if (want.is_null()) {
          EXPECT_TRUE(got.is_null()) << where;
        } else if (got.is_null()) {
          ADD_FAILURE() << where;
        } else if (agg.function == AggFunction::kApproxCountDistinct) {
          const double w = want.get<double>();
          EXPECT_NEAR(static_cast<double>(got.get<int64_t>()), w, 0.03 * w + 1) << where;
        } else if (agg.dtype == ValueType::kDouble) {
          const double w = want.get<double>(), x = got.get<double>();
          EXPECT_LE(std::fabs(w - x), 1e-9 * std::max(1.0, std::fabs(w))) << where;
        } else if (agg.dtype == ValueType::kInt64) {
          EXPECT_EQ(got.get<int64_t>(), want.get<int64_t>()) << where;
          if (agg.function == AggFunction::kCount && got.get<int64_t>() > 0) ++nonempty;
        } else if (agg.dtype == ValueType::kString) {
          EXPECT_EQ(got.get<std::string>(), want.get<std::string>()) << where;
        } else {
          EXPECT_EQ(got, Value::StringList(want.get<std::vector<std::string>>())) << where;
        }
        if (HasFailure() && ++failures > 10) return;
      }
    }
  }
  EXPECT_EQ(row, entities.size());
  EXPECT_GT(nonempty, 1000);  // the data finds events
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

}  // namespace
}  // namespace pantry::interop
