// GetHistoricalFeatures with aggregation views, against a naive oracle
// written here: for every entity row, every event of its entity in the
// window [t - window rounded down to the hop, t], each distinct event once.
// Random events over several files and row groups, duplicates, nulls,
// events on hop edges and window starts, next to a plain view in the same
// request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/offline/columns.h"
#include "server/offline/historical.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "server/registry/registry.h"
#include "tests/support/offline_values.h"

namespace pantry::offline {
namespace {

namespace fs = std::filesystem;
using ::pantry::testing::WriteParquetRows;
constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kT0 = 1767225600 * kSecond;

struct Txn {
  int64_t user;
  Micros time;
  std::optional<double> amount;
  std::string merchant;
  friend bool operator<(const Txn& a, const Txn& b) {
    return std::tie(a.user, a.time, a.amount, a.merchant) <
           std::tie(b.user, b.time, b.amount, b.merchant);
  }
};


class AggregationJoin : public ::testing::TestWithParam<int> {};

TEST_P(AggregationJoin, MatchesTheNaiveOracle) {
  std::mt19937 rng(static_cast<uint32_t>(GetParam()) * 104729u + 3u);
  const fs::path dir =
      fs::temp_directory_path() / absl::StrCat("pantry_aggjoin_", ::getpid(), "_", GetParam());
  fs::remove_all(dir);
  fs::create_directories(dir / "txns");
  fs::create_directories(dir / "profiles");

  // Events: per user distinct times (ties are the kernel test's), on a
  // 5-minute grid, just before it, or anywhere; some delivered twice.
  std::vector<Txn> txns;
  for (int64_t u = 1; u <= 8; ++u) {
    std::set<Micros> times;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      Micros t = kT0 + static_cast<Micros>(rng() % 600) * 5 * kMinute;
      if (rng() % 3 == 0) t -= 1;
      if (rng() % 3 == 0) t += static_cast<Micros>(rng() % static_cast<uint64_t>(5 * kMinute));
      if (!times.insert(t).second) continue;
      Txn x{u, t, std::nullopt, absl::StrCat("m", rng() % 5)};
      if (rng() % 5 != 0) x.amount = static_cast<double>(rng() % 100000) / 100.0;
      txns.push_back(x);
      if (rng() % 6 == 0) txns.push_back(x);
    }
  }
  std::shuffle(txns.begin(), txns.end(), rng);
  const std::vector<parquet::ColumnSpec> specs = {
      OutputSpec("user_id", ValueType::kInt64), OutputSpec("ts", ValueType::kUnixTimestamp),
      OutputSpec("amount", ValueType::kDouble), OutputSpec("merchant", ValueType::kString)};
  for (int f = 0; f < 2; ++f) {
    std::vector<std::vector<Value>> rows;
    for (size_t i = static_cast<size_t>(f); i < txns.size(); i += 2) {
      const Txn& x = txns[i];
      rows.push_back({Value::Int64(x.user), Value::UnixTimestamp(x.time),
                      x.amount ? Value::Double(*x.amount) : Value::Null(ValueType::kDouble),
                      Value::String(x.merchant)});
    }
    WriteParquetRows(dir / "txns" / absl::StrCat("part-", f, ".parquet"), specs, rows,
                 1 + static_cast<int64_t>(rng() % 20));
  }
  WriteParquetRows(dir / "profiles" / "p.parquet",
               {OutputSpec("user_id", ValueType::kInt64), OutputSpec("ts", ValueType::kUnixTimestamp),
                OutputSpec("age", ValueType::kInt64)},
               {{Value::Int64(1), Value::UnixTimestamp(kT0), Value::Int64(40)}}, 10);
  // Entity rows: at events, just before them, an hour after (an event on
  // the window start), anywhere; a user without events.
  std::vector<std::pair<int64_t, Micros>> entities;
  for (int i = 0; i < 120; ++i) {
    const Txn& x = txns[rng() % txns.size()];
    const Micros deltas[] = {0, -1, kHour, 24 * kHour,
                             static_cast<Micros>(rng() % static_cast<uint64_t>(30 * kHour))};
    entities.push_back({x.user, x.time + deltas[rng() % 5]});
  }
  entities.push_back({99, kT0 + 5 * kHour});
  {
    std::vector<std::vector<Value>> rows;
    for (const auto& [u, t] : entities) rows.push_back({Value::Int64(u), Value::UnixTimestamp(t)});
    WriteParquetRows(dir / "entities.parquet",
                 {OutputSpec("user_id", ValueType::kInt64),
                  OutputSpec("event_timestamp", ValueType::kUnixTimestamp)},
                 rows, GetParam() % 4 == 1 ? 1000 : 1 + static_cast<int64_t>(rng() % 40));
  }
  const std::string yaml = absl::StrCat(
      "project: p\n"
      "offline_store: {path: ", (dir / "store").string(), "}\n"
      "entities:\n"
      "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
      "sources:\n"
      "  - name: txns\n"
      "    path: txns\n"
      "    timestamp_field: ts\n"
      "    schema:\n"
      "      - {name: user_id, dtype: INT64}\n"
      "      - {name: amount, dtype: DOUBLE}\n"
      "      - {name: merchant, dtype: STRING}\n"
      "  - {name: profiles, path: profiles, timestamp_field: ts}\n"
      "feature_views:\n"
      "  - name: txn_aggs\n"
      "    entities: [user]\n"
      "    source: txns\n"
      "    aggregations:\n"
      "      - {name: n_1h, function: count, window: 1h}\n"
      "      - {name: sum_1d, function: sum, column: amount, window: 1d}\n"
      "      - {name: mean_1d, function: mean, column: amount, window: 1d}\n"
      "      - {name: max_7d, function: max, column: amount, window: 7d}\n"
      "      - {name: last_merchant, function: last, column: merchant, window: 1d}\n"
      "      - {name: last2, function: last_n, column: merchant, n: 2, window: 1d}\n"
      "  - name: profile\n"
      "    entities: [user]\n"
      "    source: profiles\n"
      "    schema: [{name: age, dtype: INT64}]\n"
      // Reads numbers only: its events are kept unboxed.
      "  - name: txn_numbers\n"
      "    entities: [user]\n"
      "    source: txns\n"
      "    aggregations:\n"
      "      - {name: sum_1d_n, function: sum, column: amount, window: 1d}\n"
      "      - {name: max_7d_n, function: max, column: amount, window: 7d}\n");
  auto registry = ParseRegistry(yaml, "test.yaml", dir.string());
  ASSERT_TRUE(registry.ok()) << registry.status();
  HistoricalRequest request;
  request.feature_refs = {"txn_aggs:*", "profile:age", "txn_numbers:*"};
  request.entities_path = (dir / "entities.parquet").string();
  request.output_path = (dir / "out.parquet").string();
  HistoricalOptions options;
  options.threads = 1 + static_cast<int>(rng() % 2);
  if (GetParam() % 2 == 1) options.memory_budget_bytes = 1;  // a chunk per row group
  auto stats = GetHistoricalFeatures(**registry, request, options);
  ASSERT_TRUE(stats.ok()) << stats.status();
  // Two aggregation views: one scan of their events per chunk within the
  // budget, one per entity of the chunk over it.
  if (GetParam() % 2 == 1) {
    EXPECT_GE(stats->event_passes, 2 * stats->chunks);
  } else {
    EXPECT_EQ(stats->chunks, 1);
    EXPECT_EQ(stats->event_passes, 2);
  }
  if (GetParam() % 4 == 1) {
    // One row group of entity rows, one chunk: a pass per entity.
    EXPECT_EQ(stats->chunks, 1);
    EXPECT_GT(stats->event_passes, 2);
  }

  std::set<Txn> distinct(txns.begin(), txns.end());
  auto oracle = [&](int64_t user, Micros t, Micros window, Micros hop) {
    const Micros start = ((t - window) / hop) * hop;
    std::vector<Txn> in;
    for (const Txn& x : distinct) {
      if (x.user == user && x.time >= start && x.time <= t) in.push_back(x);
    }
    std::sort(in.begin(), in.end(), [](const Txn& a, const Txn& b) { return a.time < b.time; });
    return in;
  };
  auto reader = parquet::FileReader::Open(request.output_path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const auto& columns = (*reader)->schema().columns();
  ASSERT_EQ(columns.size(), 11u);
  const std::vector<ValueType> types = {
      ValueType::kInt64,  ValueType::kUnixTimestamp, ValueType::kInt64,
      ValueType::kDouble, ValueType::kDouble,        ValueType::kDouble,
      ValueType::kString, ValueType::kStringList,    ValueType::kInt64,
      ValueType::kDouble, ValueType::kDouble};
  size_t row = 0;
  int failures = 0;
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    std::vector<parquet::ColumnData> data(columns.size());
    std::vector<std::unique_ptr<RowValues>> values;
    for (size_t c = 0; c < columns.size(); ++c) {
      ASSERT_TRUE((*reader)->ReadColumn(g, static_cast<int>(c), &data[c]).ok());
      values.push_back(std::make_unique<RowValues>(columns[c], data[c], types[c]));
    }
    for (int64_t r = 0; r < (*reader)->row_group_rows(g); ++r, ++row) {
      const auto [user, t] = entities[row];
      const auto hour = oracle(user, t, kHour, 5 * kMinute);
      const auto day = oracle(user, t, 24 * kHour, kHour);
      const auto week = oracle(user, t, 7 * 24 * kHour, kHour);
      std::vector<double> amounts;
      for (const Txn& x : day) {
        if (x.amount) amounts.push_back(*x.amount);
      }
      std::vector<double> week_amounts;
      for (const Txn& x : week) {
        if (x.amount) week_amounts.push_back(*x.amount);
      }
      double sum = 0;
      for (double a : amounts) sum += a;
      std::vector<std::string> last2;
      for (size_t k = day.size(); k-- > 0 && last2.size() < 2;) last2.push_back(day[k].merchant);
      const std::string where = absl::StrCat("row ", row, " user ", user, " t ", t - kT0);
      EXPECT_EQ(values[2]->Get(r), Value::Int64(static_cast<int64_t>(hour.size()))) << where;
      const Value got_sum = values[3]->Get(r), got_mean = values[4]->Get(r);
      if (amounts.empty()) {
        EXPECT_TRUE(got_sum.is_null() && got_mean.is_null()) << where;
      } else {
        ASSERT_FALSE(got_sum.is_null()) << where;
        EXPECT_NEAR(got_sum.get<double>(), sum, 1e-9 * std::max(1.0, std::fabs(sum))) << where;
        const double mean = sum / static_cast<double>(amounts.size());
        EXPECT_NEAR(got_mean.get<double>(), mean, 1e-9 * std::max(1.0, std::fabs(mean))) << where;
      }
      EXPECT_EQ(values[5]->Get(r),
                week_amounts.empty()
                    ? Value::Null(ValueType::kDouble)
                    : Value::Double(*std::max_element(week_amounts.begin(), week_amounts.end())))
          << where;
      EXPECT_EQ(values[6]->Get(r), day.empty() ? Value::Null(ValueType::kString)
                                               : Value::String(day.back().merchant))
          << where;
      EXPECT_EQ(values[7]->Get(r),
                day.empty() ? Value::Null(ValueType::kStringList) : Value::StringList(last2))
          << where;
      EXPECT_EQ(values[8]->Get(r), user == 1 && t >= kT0 ? Value::Int64(40)
                                                         : Value::Null(ValueType::kInt64))
          << where;
      // The same aggregations from unboxed events.
      const Value sum_n = values[9]->Get(r);
      EXPECT_EQ(sum_n.is_null(), got_sum.is_null()) << where;
      if (!sum_n.is_null() && !got_sum.is_null()) {
        EXPECT_NEAR(sum_n.get<double>(), got_sum.get<double>(),
                    1e-9 * std::max(1.0, std::fabs(got_sum.get<double>())))
            << where;
      }
      EXPECT_EQ(values[10]->Get(r), values[5]->Get(r)) << where;
      if (HasFailure() && ++failures > 5) return;
    }
  }
  EXPECT_EQ(row, entities.size());
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Seeds, AggregationJoin, ::testing::Range(0, 12));


TEST(OnDemandJoin, ComputesFromEntityColumnsAndJoinedFeaturesAtTheRowTime) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("pantry_odjoin_", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir / "profiles");
  WriteParquetRows(dir / "profiles" / "p.parquet",
               {OutputSpec("user_id", ValueType::kInt64), OutputSpec("ts", ValueType::kUnixTimestamp),
                OutputSpec("age", ValueType::kInt64)},
               {{Value::Int64(1), Value::UnixTimestamp(kT0), Value::Int64(40)}}, 10);
  WriteParquetRows(dir / "entities.parquet",
               {OutputSpec("user_id", ValueType::kInt64),
                OutputSpec("event_timestamp", ValueType::kUnixTimestamp),
                OutputSpec("bonus", ValueType::kInt64)},
               {{Value::Int64(1), Value::UnixTimestamp(kT0 + 5 * kHour), Value::Int64(2)},
                {Value::Int64(2), Value::UnixTimestamp(kT0 + 7 * kHour), Value::Int64(3)},
                {Value::Int64(1), Value::UnixTimestamp(kT0 - kHour), Value::Null(ValueType::kInt64)}},
               10);
  const std::string yaml = absl::StrCat(
      "project: p\n"
      "offline_store: {path: ", (dir / "store").string(), "}\n"
      "entities:\n"
      "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
      "sources:\n"
      "  - {name: profiles, path: profiles, timestamp_field: ts}\n"
      "feature_views:\n"
      "  - name: profile\n"
      "    entities: [user]\n"
      "    source: profiles\n"
      "    schema: [{name: age, dtype: INT64}]\n"
      "on_demand_views:\n"
      "  - name: derived\n"
      "    inputs: {request: [{name: bonus, dtype: INT64}], features: [profile:age]}\n"
      "    features:\n"
      "      - {name: age_plus, dtype: INT64, expr: \"profile.age + bonus\"}\n"
      "      - {name: hour, dtype: INT64, expr: \"hour(now())\"}\n"
      "      - {name: known, dtype: BOOL, expr: \"not is_null(profile.age)\"}\n");
  auto registry = ParseRegistry(yaml, "test.yaml", dir.string());
  ASSERT_TRUE(registry.ok()) << registry.status();
  HistoricalRequest request;
  request.feature_refs = {"derived:*"};
  request.entities_path = (dir / "entities.parquet").string();
  request.output_path = (dir / "out.parquet").string();
  auto stats = GetHistoricalFeatures(**registry, request, {});
  ASSERT_TRUE(stats.ok()) << stats.status();
  auto reader = parquet::FileReader::Open(request.output_path);
  ASSERT_TRUE(reader.ok());
  const auto& columns = (*reader)->schema().columns();
  ASSERT_EQ(columns.size(), 6u);  // the entity columns and the three, no age
  EXPECT_EQ(columns[3].name, "age_plus");
  std::vector<parquet::ColumnData> data(6);
  for (int c = 3; c < 6; ++c) ASSERT_TRUE((*reader)->ReadColumn(0, c, &data[c]).ok());
  RowValues age_plus(columns[3], data[3], ValueType::kInt64);
  RowValues hour(columns[4], data[4], ValueType::kInt64);
  RowValues known(columns[5], data[5], ValueType::kBool);
  EXPECT_EQ(age_plus.Get(0), Value::Int64(42));
  EXPECT_TRUE(age_plus.Get(1).is_null());  // no profile
  EXPECT_TRUE(age_plus.Get(2).is_null());  // before the profile, and a null bonus
  EXPECT_EQ(hour.Get(0), Value::Int64(5));
  EXPECT_EQ(hour.Get(1), Value::Int64(7));
  EXPECT_EQ(hour.Get(2), Value::Int64(23));
  EXPECT_EQ(known.Get(0), Value::Bool(true));
  EXPECT_EQ(known.Get(2), Value::Bool(false));

  // Request data the entity file lacks is named.
  WriteParquetRows(dir / "entities2.parquet",
               {OutputSpec("user_id", ValueType::kInt64),
                OutputSpec("event_timestamp", ValueType::kUnixTimestamp)},
               {{Value::Int64(1), Value::UnixTimestamp(kT0)}}, 10);
  request.entities_path = (dir / "entities2.parquet").string();
  stats = GetHistoricalFeatures(**registry, request, {});
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(stats.status().message()),
              ::testing::HasSubstr("no column 'bonus' (request data of on-demand view 'derived'"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pantry::offline
