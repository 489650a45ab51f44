// GetHistoricalFeatures against a naive oracle written here: every entity
// row scans every feature row. Randomized over keys, times with many ties,
// ttl edges, created-time tie-breaks, nulls, duplicate entity rows, keys
// without history, several files and row groups, and 1 or 2 threads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/offline/columns.h"
#include "server/offline/historical.h"
#include "server/offline/source.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "server/registry/registry.h"

namespace pantry::offline {
namespace {

namespace fs = std::filesystem;
constexpr Micros kSecond = 1'000'000;

struct FeatureRow {
  Value key;
  Micros event;
  Micros created;  // kNoTimestamp when the source has no created column
  std::vector<Value> values;
};

struct EntityRow {
  int64_t user_id;
  std::string merchant_id;
  Micros time;
  int64_t label;
};

// Writes rows (key column, event_timestamp, optional created, features) to
// `files` Parquet files under `dir`, rows shuffled, small row groups.
void WriteSource(const fs::path& dir, const std::string& key_name, ValueType key_type,
                 bool with_created, const std::vector<std::pair<std::string, ValueType>>& features,
                 std::vector<FeatureRow> rows, std::mt19937& rng) {
  fs::create_directories(dir);
  std::shuffle(rows.begin(), rows.end(), rng);
  const size_t files = 2;
  for (size_t f = 0; f < files; ++f) {
    std::vector<parquet::ColumnSpec> specs;
    specs.push_back(OutputSpec(key_name, key_type));
    specs.push_back(OutputSpec("event_timestamp", ValueType::kUnixTimestamp));
    if (with_created) specs.push_back(OutputSpec("created", ValueType::kUnixTimestamp));
    for (const auto& [name, type] : features) specs.push_back(OutputSpec(name, type));
    parquet::WriterOptions options;
    options.row_group_rows = 1 + rng() % 9;
    auto writer = parquet::FileWriter::Create((dir / absl::StrCat("part-", f, ".parquet")).string(),
                                              specs, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    std::vector<parquet::ColumnData> batch(specs.size());
    int64_t n = 0;
    for (size_t i = f; i < rows.size(); i += files) {
      const FeatureRow& r = rows[i];
      size_t c = 0;
      AppendOutputValue(r.key, &batch[c++]);
      AppendOutputValue(Value::UnixTimestamp(r.event), &batch[c++]);
      if (with_created) AppendOutputValue(Value::UnixTimestamp(r.created), &batch[c++]);
      for (const Value& v : r.values) AppendOutputValue(v, &batch[c++]);
      ++n;
    }
    ASSERT_TRUE((*writer)->Write(batch, n).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }
}

// The oracle: the best row for `key` at `time`, or nullptr.
const FeatureRow* Oracle(const std::vector<FeatureRow>& rows, const Value& key, Micros time,
                         Micros ttl) {
  const FeatureRow* best = nullptr;
  for (const FeatureRow& r : rows) {
    if (!(r.key == key) || r.event > time) continue;
    if (ttl > 0 && r.event <= time - ttl) continue;
    if (best == nullptr || r.event > best->event ||
        (r.event == best->event && r.created > best->created)) {
      best = &r;
    }
  }
  return best;
}

class HistoricalProperty : public ::testing::TestWithParam<int> {};

TEST_P(HistoricalProperty, MatchesTheNaiveOracle) {
  std::mt19937 rng(static_cast<uint32_t>(GetParam()) * 7919u + 17u);
  const fs::path dir = fs::temp_directory_path() /
                       absl::StrCat("pantry_hist_", ::getpid(), "_", GetParam());
  fs::remove_all(dir);
  fs::create_directories(dir);

  const Micros ttls[] = {0, 10 * kSecond, 50 * kSecond};
  const Micros user_ttl = ttls[rng() % 3];
  const Micros merchant_ttl = ttls[rng() % 3];
  const int users = 12, merchants = 6;
  // User ids: dense (looked up in an array), sparse (a hash table), or
  // spanning the whole int64 range.
  auto uid = [variant = GetParam() % 3](int64_t u) -> int64_t {
    if (variant == 1) return u * 1'000'000'007'000;
    if (variant == 2) {
      if (u == 1) return std::numeric_limits<int64_t>::min();
      if (u == 2) return std::numeric_limits<int64_t>::max();
      return u - 7;
    }
    return u;
  };

  // User rows: times on a coarse grid so event times tie; distinct created
  // times per (user, event) so every tie has one answer.
  std::vector<FeatureRow> user_rows;
  for (int u = 1; u <= users; ++u) {
    if (u % 5 == 0) continue;  // users without history
    const int n = static_cast<int>(rng() % 9);
    std::set<std::pair<Micros, Micros>> seen;
    for (int i = 0; i < n; ++i) {
      FeatureRow r;
      r.key = Value::Int64(uid(u));
      r.event = static_cast<Micros>(rng() % 21) * 10 * kSecond;
      r.created = static_cast<Micros>(rng() % 1000) * kSecond;
      if (!seen.insert({r.event, r.created}).second) continue;
      r.values = {rng() % 4 == 0 ? Value::Null(ValueType::kInt64)
                                 : Value::Int64(static_cast<int64_t>(rng() % 1000) - 500),
                  rng() % 5 == 0 ? Value::Null(ValueType::kDouble)
                                 : Value::Double(static_cast<double>(rng() % 10000) / 7.0),
                  rng() % 6 == 0 ? Value::Null(ValueType::kString)
                                 : Value::String(absl::StrCat("s", rng() % 100)),
                  rng() % 3 == 0 ? Value::Null(ValueType::kFloatList)
                                 : Value::FloatList({static_cast<float>(rng() % 10), 0.5f})};
      user_rows.push_back(std::move(r));
    }
  }
  // Merchant rows: no created column, so event times are unique per key.
  std::vector<FeatureRow> merchant_rows;
  for (int m = 1; m <= merchants; ++m) {
    std::set<Micros> seen;
    const int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      FeatureRow r;
      r.key = Value::String(absl::StrCat("m", m));
      r.event = static_cast<Micros>(rng() % 21) * 10 * kSecond;
      r.created = kNoTimestamp;
      if (!seen.insert(r.event).second) continue;
      r.values = {rng() % 4 == 0 ? Value::Null(ValueType::kDouble)
                                 : Value::Double(static_cast<double>(rng() % 100) / 100)};
      merchant_rows.push_back(std::move(r));
    }
  }
  WriteSource(dir / "users", "user_id", ValueType::kInt64, true,
              {{"txn_count", ValueType::kInt64},
               {"avg_amount", ValueType::kDouble},
               {"segment", ValueType::kString},
               {"embedding", ValueType::kFloatList}},
              user_rows, rng);
  WriteSource(dir / "merchants", "merchant_id", ValueType::kString, false,
              {{"risk", ValueType::kDouble}}, merchant_rows, rng);

  // Entity rows: on the same grid (so times equal event times and ttl edges
  // occur), a few off it, and duplicates.
  std::vector<EntityRow> entities;
  const int n = 40 + static_cast<int>(rng() % 40);
  for (int i = 0; i < n; ++i) {
    EntityRow e;
    e.user_id = uid(1 + static_cast<int64_t>(rng() % (users + 2)));
    e.merchant_id = absl::StrCat("m", 1 + rng() % (merchants + 1));
    e.time = static_cast<Micros>(rng() % 23) * 10 * kSecond - (rng() % 4 == 0 ? 1 : 0);
    e.label = i;
    entities.push_back(e);
    if (rng() % 8 == 0) entities.push_back(e);
  }
  {
    std::vector<parquet::ColumnSpec> specs = {OutputSpec("label", ValueType::kInt64),
                                              OutputSpec("user_id", ValueType::kInt64),
                                              OutputSpec("event_timestamp", ValueType::kUnixTimestamp),
                                              OutputSpec("merchant_id", ValueType::kString)};
    parquet::WriterOptions options;
    options.row_group_rows = 1 + rng() % 30;
    auto writer = parquet::FileWriter::Create((dir / "entities.parquet").string(), specs, options);
    ASSERT_TRUE(writer.ok());
    std::vector<parquet::ColumnData> batch(4);
    for (const EntityRow& e : entities) {
      AppendOutputValue(Value::Int64(e.label), &batch[0]);
      AppendOutputValue(Value::Int64(e.user_id), &batch[1]);
      AppendOutputValue(Value::UnixTimestamp(e.time), &batch[2]);
      AppendOutputValue(Value::String(e.merchant_id), &batch[3]);
    }
    ASSERT_TRUE((*writer)->Write(batch, static_cast<int64_t>(entities.size())).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }

  const std::string yaml = absl::StrCat(
      "project: p\n"
      "entities:\n"
      "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
      "  - {name: merchant, join_keys: [merchant_id], value_type: STRING}\n"
      "sources:\n"
      "  - {name: users_src, path: users, timestamp_field: event_timestamp, "
      "created_timestamp_field: created}\n"
      "  - {name: merchants_src, path: merchants, timestamp_field: event_timestamp}\n"
      "feature_views:\n"
      "  - name: user_stats\n"
      "    entities: [user]\n"
      "    ttl: ", user_ttl / kSecond, "s\n"
      "    source: users_src\n"
      "    schema:\n"
      "      - {name: txn_count, dtype: INT64}\n"
      "      - {name: avg_amount, dtype: DOUBLE}\n"
      "      - {name: segment, dtype: STRING}\n"
      "      - {name: embedding, dtype: FLOAT_LIST}\n"
      "  - name: merchant_risk\n"
      "    entities: [merchant]\n"
      "    ttl: ", merchant_ttl / kSecond, "s\n"
      "    source: merchants_src\n"
      "    schema:\n"
      "      - {name: risk, dtype: DOUBLE}\n");
  auto registry = ParseRegistry(yaml, "test.yaml", dir.string());
  ASSERT_TRUE(registry.ok()) << registry.status();

  HistoricalRequest request;
  request.feature_refs = {"user_stats:*", "merchant_risk:risk"};
  request.entities_path = (dir / "entities.parquet").string();
  request.output_path = (dir / "out.parquet").string();
  HistoricalOptions options;
  options.threads = 1 + static_cast<int>(rng() % 2);
  options.output_row_group_rows = 1 + rng() % 50;
  // Half the seeds with a budget so small that every entity row group is
  // joined as a chunk of its own.
  if (GetParam() % 2 == 1) options.memory_budget_bytes = 1;
  auto stats = GetHistoricalFeatures(**registry, request, options);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->entity_rows, static_cast<int64_t>(entities.size()));
  if (GetParam() % 2 == 1) {
    auto entity_file = parquet::FileReader::Open(request.entities_path);
    ASSERT_TRUE(entity_file.ok());
    EXPECT_EQ(stats->chunks, (*entity_file)->num_row_groups());
  }

  // Read the output back and compare row by row.
  auto reader = parquet::FileReader::Open(request.output_path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const auto& columns = (*reader)->schema().columns();
  const std::vector<std::string> names = {"label", "user_id", "event_timestamp", "merchant_id",
                                          "txn_count", "avg_amount", "segment", "embedding",
                                          "risk"};
  ASSERT_EQ(columns.size(), names.size());
  for (size_t c = 0; c < names.size(); ++c) EXPECT_EQ(columns[c].name, names[c]);
  const std::vector<ValueType> types = {ValueType::kInt64,  ValueType::kInt64,
                                        ValueType::kUnixTimestamp, ValueType::kString,
                                        ValueType::kInt64,  ValueType::kDouble,
                                        ValueType::kString, ValueType::kFloatList,
                                        ValueType::kDouble};
  size_t row = 0;
  int mismatches = 0;
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    std::vector<parquet::ColumnData> data(columns.size());
    std::vector<std::unique_ptr<RowValues>> values;
    for (size_t c = 0; c < columns.size(); ++c) {
      ASSERT_TRUE((*reader)->ReadColumn(g, static_cast<int>(c), &data[c]).ok());
      values.push_back(std::make_unique<RowValues>(columns[c], data[c], types[c]));
    }
    for (int64_t r = 0; r < (*reader)->row_group_rows(g); ++r, ++row) {
      ASSERT_LT(row, entities.size());
      const EntityRow& e = entities[row];
      EXPECT_EQ(values[0]->Get(r), Value::Int64(e.label));
      EXPECT_EQ(values[2]->Get(r), Value::UnixTimestamp(e.time));
      const FeatureRow* u = Oracle(user_rows, Value::Int64(e.user_id), e.time, user_ttl);
      const FeatureRow* m = Oracle(merchant_rows, Value::String(e.merchant_id), e.time, merchant_ttl);
      std::vector<Value> expected;
      for (int f = 0; f < 4; ++f) expected.push_back(u ? u->values[f] : Value::Null(types[4 + f]));
      expected.push_back(m ? m->values[0] : Value::Null(ValueType::kDouble));
      for (int f = 0; f < 5; ++f) {
        const Value got = values[4 + f]->Get(r);
        if (!(got == expected[f]) && ++mismatches <= 10) {
          ADD_FAILURE() << "row " << row << " (user " << e.user_id << ", merchant "
                        << e.merchant_id << ", t=" << e.time << "), column " << names[4 + f]
                        << ": got " << got.DebugString() << ", oracle "
                        << expected[f].DebugString() << " (user ttl " << user_ttl
                        << ", merchant ttl " << merchant_ttl << ")";
        }
      }
    }
  }
  EXPECT_EQ(row, entities.size());
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Seeds, HistoricalProperty, ::testing::Range(0, 40));

// A small fixed repository for the bad-input cases.
class HistoricalBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("pantry_hist_bad_", ::getpid());
    fs::remove_all(dir_);
    std::mt19937 rng(1);
    std::vector<FeatureRow> rows;
    for (int u = 1; u <= 3; ++u) {
      rows.push_back({Value::Int64(u), u * kSecond, u * kSecond, {Value::Int64(u * 10)}});
    }
    WriteSource(dir_ / "users", "user_id", ValueType::kInt64, true,
                {{"txn_count", ValueType::kInt64}}, rows, rng);
    WriteEntities({OutputSpec("user_id", ValueType::kInt64),
                   OutputSpec("event_timestamp", ValueType::kUnixTimestamp)},
                  "entities.parquet");
    auto registry = ParseRegistry(
        "project: p\n"
        "entities:\n"
        "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
        "sources:\n"
        "  - {name: users_src, path: users, timestamp_field: event_timestamp, "
        "created_timestamp_field: created}\n"
        "feature_views:\n"
        "  - name: user_stats\n"
        "    entities: [user]\n"
        "    source: users_src\n"
        "    schema:\n"
        "      - {name: txn_count, dtype: INT64}\n"
        "  - name: other\n"
        "    entities: [user]\n"
        "    source: users_src\n"
        "    schema:\n"
        "      - {name: txn_count, dtype: INT64}\n"
        "  - name: sourceless\n"
        "    entities: [user]\n"
        "    schema:\n"
        "      - {name: x, dtype: INT64}\n",
        "test.yaml", dir_.string());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    request_.feature_refs = {"user_stats:txn_count"};
    request_.entities_path = (dir_ / "entities.parquet").string();
    request_.output_path = (dir_ / "out.parquet").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // An entity file with the given columns and 3 rows of plausible values.
  void WriteEntities(const std::vector<parquet::ColumnSpec>& specs, const std::string& name) {
    auto writer = parquet::FileWriter::Create((dir_ / name).string(), specs, {});
    ASSERT_TRUE(writer.ok());
    std::vector<parquet::ColumnData> batch(specs.size());
    for (int r = 0; r < 3; ++r) {
      for (size_t c = 0; c < specs.size(); ++c) {
        const bool time = specs[c].logical == parquet::Logical::kTimestamp;
        if (specs[c].physical == parquet::Type::kInt64) {
          AppendOutputValue(time ? Value::UnixTimestamp(5 * kSecond) : Value::Int64(r + 1),
                            &batch[c]);
        } else {
          AppendOutputValue(Value::String(absl::StrCat(r)), &batch[c]);
        }
      }
    }
    ASSERT_TRUE((*writer)->Write(batch, 3).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }

  absl::Status Run() {
    auto stats = GetHistoricalFeatures(*registry_, request_, {});
    return stats.status();
  }

  // Nothing but the inputs is in the folder: no output, no temporary file.
  void ExpectNoOutput() {
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(name == "users" || name.rfind("entities", 0) == 0) << "left behind: " << name;
    }
  }

  fs::path dir_;
  std::shared_ptr<const Registry> registry_;
  HistoricalRequest request_;
};

TEST_F(HistoricalBadInput, GoodRequestWorks) {
  ASSERT_TRUE(Run().ok());
  EXPECT_TRUE(fs::exists(request_.output_path));
}

TEST_F(HistoricalBadInput, UnknownFeatureIsInvalidArgument) {
  request_.feature_refs = {"user_stats:nope"};
  absl::Status s = Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("nope"), std::string::npos) << s;
  ExpectNoOutput();
}

TEST_F(HistoricalBadInput, NameClashNeedsFullFeatureNames) {
  request_.feature_refs = {"user_stats:txn_count", "other:txn_count"};
  absl::Status s = Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("full feature names"), std::string::npos) << s;
  ExpectNoOutput();
  request_.full_feature_names = true;
  EXPECT_TRUE(Run().ok());
}

TEST_F(HistoricalBadInput, MissingTimestampColumnNamesFileAndColumn) {
  WriteEntities({OutputSpec("user_id", ValueType::kInt64)}, "entities_no_ts.parquet");
  request_.entities_path = (dir_ / "entities_no_ts.parquet").string();
  absl::Status s = Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("entities_no_ts.parquet"), std::string::npos) << s;
  EXPECT_NE(s.message().find("'event_timestamp'"), std::string::npos) << s;
  ExpectNoOutput();
}

TEST_F(HistoricalBadInput, MissingJoinKeyNamesTheKeyAndView) {
  WriteEntities({OutputSpec("customer", ValueType::kInt64),
                 OutputSpec("event_timestamp", ValueType::kUnixTimestamp)},
                "entities_no_key.parquet");
  request_.entities_path = (dir_ / "entities_no_key.parquet").string();
  absl::Status s = Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'user_id'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("user_stats"), std::string::npos) << s;
  ExpectNoOutput();
}

TEST_F(HistoricalBadInput, JoinKeyOfTheWrongTypeIsInvalidArgument) {
  WriteEntities({OutputSpec("user_id", ValueType::kString),
                 OutputSpec("event_timestamp", ValueType::kUnixTimestamp)},
                "entities_str_key.parquet");
  request_.entities_path = (dir_ / "entities_str_key.parquet").string();
  absl::Status s = Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("user_id"), std::string::npos) << s;
  EXPECT_NE(s.message().find("INT64"), std::string::npos) << s;
  ExpectNoOutput();
}

TEST_F(HistoricalBadInput, ViewWithoutSourceIsFailedPrecondition) {
  request_.feature_refs = {"sourceless:x"};
  absl::Status s = Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("sourceless"), std::string::npos) << s;
  ExpectNoOutput();
}

TEST_F(HistoricalBadInput, CorruptSourceFileFailsNamingIt) {
  const fs::path part = dir_ / "users" / "part-0.parquet";
  std::string bytes;
  {
    std::ifstream in(part, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t i = 4; i < 40 && i < bytes.size(); ++i) bytes[i] = '\x7f';
  std::ofstream(part, std::ios::binary | std::ios::trunc) << bytes;
  absl::Status s = Run();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("part-0.parquet"), std::string::npos) << s;
  ExpectNoOutput();
}

TEST_F(HistoricalBadInput, MissingEntityFileIsNotFound) {
  request_.entities_path = (dir_ / "nope.parquet").string();
  EXPECT_EQ(Run().code(), absl::StatusCode::kNotFound);
  ExpectNoOutput();
}

// options.interrupt is asked between units of work; whichever call first
// answers non-OK, the join returns that status and leaves nothing behind.
TEST_F(HistoricalBadInput, InterruptStopsTheJoinWhereverItIsAsked) {
  request_.feature_refs = {"user_stats:txn_count", "other:txn_count"};
  request_.full_feature_names = true;
  int asked = 0;
  HistoricalOptions counting;
  counting.interrupt = [&asked] {
    ++asked;
    return absl::OkStatus();
  };
  ASSERT_TRUE(GetHistoricalFeatures(*registry_, request_, counting).ok());
  fs::remove(request_.output_path);
  // Two views (each asked once, then per row group scanned and fetched) and
  // the output's row group.
  ASSERT_GE(asked, 5);
  for (int stop_at = 1; stop_at <= asked; ++stop_at) {
    std::atomic<int> calls{0};
    HistoricalOptions options;
    options.threads = 2;
    options.interrupt = [&calls, stop_at] {
      return ++calls >= stop_at ? absl::CancelledError("stopped by the test")
                                : absl::OkStatus();
    };
    auto stats = GetHistoricalFeatures(*registry_, request_, options);
    EXPECT_EQ(stats.status().code(), absl::StatusCode::kCancelled) << "stop at " << stop_at;
    EXPECT_EQ(stats.status().message(), "stopped by the test");
    ExpectNoOutput();
  }
}

// Rows Pantry appends for a view under <offline_store.path>/views/<view>/
// are part of its history, read alongside the source's.
TEST_F(HistoricalBadInput, AppendedRowsUnderTheOfflineStoreJoinToo) {
  ASSERT_EQ(registry_->offline_store.path, (dir_ / "offline").string());
  EXPECT_EQ(AppendedRowsFolder(*registry_, *registry_->FindFeatureView("user_stats")),
            (dir_ / "offline" / "views" / "user_stats").string());
  // An empty folder is no history.
  fs::create_directories(dir_ / "offline" / "views" / "user_stats" / "date=2026-01-01");
  ASSERT_TRUE(Run().ok());
  fs::remove(request_.output_path);
  // Entity rows: users 1, 2, 3 at 5 s. The source holds user u at u s with
  // txn_count 10u (created u s).
  std::mt19937 rng(2);
  WriteSource(dir_ / "offline" / "views" / "user_stats", "user_id", ValueType::kInt64, true,
              {{"txn_count", ValueType::kInt64}},
              {{Value::Int64(1), 4 * kSecond, 4 * kSecond, {Value::Int64(99)}},  // newer
               {Value::Int64(2), 6 * kSecond, 6 * kSecond, {Value::Int64(77)}},  // future
               {Value::Int64(3), 3 * kSecond, 9 * kSecond, {Value::Int64(33)}}},  // created later
              rng);
  ASSERT_TRUE(Run().ok());
  auto reader = parquet::FileReader::Open(request_.output_path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<Value> got;
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    parquet::ColumnData data;
    ASSERT_TRUE((*reader)->ReadColumn(g, 2, &data).ok());
    RowValues values((*reader)->schema().columns()[2], data, ValueType::kInt64);
    for (int64_t r = 0; r < (*reader)->row_group_rows(g); ++r) got.push_back(values.Get(r));
  }
  EXPECT_EQ(got, (std::vector<Value>{Value::Int64(99), Value::Int64(20), Value::Int64(33)}));
}

}  // namespace
}  // namespace pantry::offline
