// `pantry historical` end to end: pantryd runs as a child process over a
// repository whose sources are real Parquet files written here; the CLI asks
// for a point-in-time join and the output file is read back and compared,
// row by row, with values worked out by hand (docs/point-in-time.md).
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/support/e2e.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pantry/client.h"
#include "pantry/v1/serving.grpc.pb.h"
#include "server/common/time.h"
#include "server/offline/columns.h"
#include "server/parquet/json_rows.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"

namespace pantry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
namespace fs = std::filesystem;

using ::pantry::testing::BinDir;
using ::pantry::testing::Daemon;
using ::pantry::testing::ReadFile;
using ::pantry::testing::Result;
using ::pantry::testing::WriteFile;

// Its folder: see PANTRY_KEEP_TEST_DIR in tests/support/e2e.h.
class TempDir : public ::pantry::testing::TempDir {
 public:
  TempDir() : ::pantry::testing::TempDir("pantry-hist-e2e") {}
};

// Seconds after 2026-01-01T00:00:00Z, in microseconds.
constexpr Micros kT0 = 1767225600LL * kMicrosPerSecond;
Micros T(int64_t seconds) { return kT0 + seconds * kMicrosPerSecond; }

struct Col {
  std::string name;
  ValueType type;
  std::vector<Value> values;
};

// Writes `columns` (same length) to a Parquet file, `row_group_rows` rows
// per row group.
void WriteParquet(const fs::path& path, const std::vector<Col>& columns,
                  int64_t row_group_rows = 2) {
  std::vector<parquet::ColumnSpec> specs;
  for (const Col& c : columns) specs.push_back(offline::OutputSpec(c.name, c.type));
  parquet::WriterOptions options;
  options.row_group_rows = row_group_rows;
  auto writer = parquet::FileWriter::Create(path.string(), specs, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<parquet::ColumnData> batch(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    ASSERT_EQ(columns[c].values.size(), columns[0].values.size()) << columns[c].name;
    for (const Value& v : columns[c].values) offline::AppendOutputValue(v, &batch[c]);
  }
  ASSERT_TRUE((*writer)->Write(batch, static_cast<int64_t>(columns[0].values.size())).ok());
  ASSERT_TRUE((*writer)->Close().ok());
}

// The column names and the rows (JSON lines, `pantry parquet head` form)
// of a Parquet file.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::string> rows;
};

Table ReadTable(const fs::path& path) {
  Table t;
  auto reader = parquet::FileReader::Open(path.string());
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return t;
  const auto& columns = (*reader)->schema().columns();
  std::vector<const parquet::Column*> column_ptrs;
  for (const auto& c : columns) {
    t.columns.push_back(c.name);
    column_ptrs.push_back(&c);
  }
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    std::vector<parquet::ColumnData> data(columns.size());
    std::vector<const parquet::ColumnData*> chunks;
    for (size_t c = 0; c < columns.size(); ++c) {
      EXPECT_TRUE((*reader)->ReadColumn(g, static_cast<int>(c), &data[c]).ok());
      chunks.push_back(&data[c]);
    }
    std::string text;
    EXPECT_TRUE(
        parquet::AppendJsonRows(column_ptrs, chunks, (*reader)->row_group_rows(g), &text).ok());
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) t.rows.push_back(line);
  }
  return t;
}

// Every file in `dir` (temp files included), for "nothing was written".
std::vector<std::string> FilesIn(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The expected join of entities.parquet (see WriteData), by hand. User rows
// (ttl 1h = 3600 s; event, created): A u1 (0, 0) txn 1 avg 10.5; B u1
// (1000, 1000) txn 2 avg 20.5; C u1 (1000, 1500) txn 3 avg 30.5; D u1
// (5000, 5000) txn 4 avg null; E u2 (0, 0) txn 7 avg 70.25. Merchant rows
// (ttl 0): m1 -30 days 0.125 "low"; m1 2000 0.5 "mid"; m2 6000 0.875
// "high"; m2 -10 0.25 "ok".
struct Expected {
  std::string entity;  // the entity columns as JSON members
  std::string txn_count, avg_amount, risk, merchant_label;
};
std::vector<Expected> ExpectedRows() {
  return {
      // u1 at 1200: B and C tie at 1000, C was created later; D (5000) is
      // later and must not leak. m1: only the row 30 days back (no ttl).
      {R"("user_id":1,"merchant_id":"m1","event_timestamp":"2026-01-01T00:20:00.000000000Z","label":100)",
       "3", "30.5", "0.125", R"("low")"},
      // u1 at 4600: B and C at 1000 are exactly one ttl old: excluded.
      {R"("user_id":1,"merchant_id":"m1","event_timestamp":"2026-01-01T01:16:40.000000000Z","label":101)",
       "null", "null", "0.5", R"("mid")"},
      // u1 at 5000: D at exactly 5000 counts, its avg_amount is a null
      // value. m2: 6000 is later, so the row 10 s before T0.
      {R"("user_id":1,"merchant_id":"m2","event_timestamp":"2026-01-01T01:23:20.000000000Z","label":102)",
       "4", "null", "0.25", R"("ok")"},
      // u2 at 3599: E at 0 is 3599 s old, inside the ttl.
      {R"("user_id":2,"merchant_id":"m1","event_timestamp":"2026-01-01T00:59:59.000000000Z","label":103)",
       "7", "70.25", "0.5", R"("mid")"},
      // u3 and m3 have no history.
      {R"("user_id":3,"merchant_id":"m3","event_timestamp":"2026-01-01T00:01:40.000000000Z","label":104)",
       "null", "null", "null", "null"},
      // A duplicate of the first row gives the same values.
      {R"("user_id":1,"merchant_id":"m1","event_timestamp":"2026-01-01T00:20:00.000000000Z","label":100)",
       "3", "30.5", "0.125", R"("low")"},
      // u1 at 999: B and C (1000) are 1 s in the future; A at 0.
      {R"("user_id":1,"merchant_id":"m1","event_timestamp":"2026-01-01T00:16:39.000000000Z","label":106)",
       "1", "10.5", "0.125", R"("low")"},
  };
}
// Entity rows x views with a qualifying row: 2+1+2+2+0+2+2.
constexpr int kValuesFound = 11;

// A FIFO as the entity file: the join's open() blocks until the test opens
// the other end, which holds the only worker busy for as long as the test
// wants. Unblocked (the join then fails: an empty file) when destroyed, so
// pantryd can always stop.
class Blocker {
 public:
  explicit Blocker(fs::path path) : path_(std::move(path)) {
    EXPECT_EQ(mkfifo(path_.c_str(), 0600), 0);
  }
  ~Blocker() { Release(); }
  void Release() {
    // Non-blocking: succeeds only when a reader waits, and then lets it go.
    const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sends a join with a 300 ms deadline until one times out in the queue,
// which shows the only worker is busy. Successful tries are undone.
::testing::AssertionResult WaitUntilWorkerBusy(
    const std::function<Result(const std::string&)>& pantry, const std::string& entities,
    const fs::path& out) {
  Result b;
  for (int i = 0; i < 100; ++i) {
    b = pantry("--timeout-ms 300 historical --entities " + entities +
               " --features user_stats:txn_count --out " + out.string());
    if (b.exit_code != 0) break;
    fs::remove(out);
  }
  if (b.exit_code == 1 && b.err.find("DEADLINE_EXCEEDED") != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "exit " << b.exit_code << ": " << b.err;
}

class Historical : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    data_ = root_ / "data";
    out_ = root_ / "out";
    spool_ = root_ / "spool";
    fs::create_directories(data_ / "merchants");
    fs::create_directories(out_);
    WriteData();
    WriteFile(root_ / "repo.yaml",
              "project: hist\n"
              "online_store: {type: memory}\n"
              "entities:\n"
              "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
              "  - {name: merchant, join_keys: [merchant_id], value_type: STRING}\n"
              "sources:\n"
              "  - {name: user_src, path: data/users.parquet, timestamp_field: event_timestamp,\n"
              "     created_timestamp_field: created}\n"
              "  - {name: merchant_src, path: data/merchants, timestamp_field: ts}\n"
              "feature_views:\n"
              "  - name: user_stats\n"
              "    entities: [user]\n"
              "    ttl: 1h\n"
              "    source: user_src\n"
              "    schema:\n"
              "      - {name: txn_count, dtype: INT64}\n"
              "      - {name: avg_amount, dtype: DOUBLE}\n"
              "  - name: merchant_risk\n"
              "    entities: [merchant]\n"
              "    ttl: 0\n"
              "    source: merchant_src\n"
              "    schema:\n"
              "      - {name: risk, dtype: DOUBLE}\n"
              "      - {name: label, dtype: STRING}\n"
              "feature_services:\n"
              "  - {name: fraud_v1, features: [\"user_stats:*\", merchant_risk:risk]}\n");
  }

  // Sources and entity files. Rows are out of time order on purpose, and C
  // (the tie winner by created time) comes before B in the file.
  void WriteData() {
    const auto i64 = [](int64_t v) { return Value::Int64(v); };
    const auto ts = [](int64_t s) { return Value::UnixTimestamp(T(s)); };
    WriteParquet(
        data_ / "users.parquet",
        {{"user_id", ValueType::kInt64, {i64(1), i64(1), i64(1), i64(1), i64(2)}},
         {"event_timestamp",
          ValueType::kUnixTimestamp,
          {ts(1000), ts(0), ts(5000), ts(1000), ts(0)}},
         {"created", ValueType::kUnixTimestamp, {ts(1500), ts(0), ts(5000), ts(1000), ts(0)}},
         {"txn_count", ValueType::kInt64, {i64(3), i64(1), i64(4), i64(2), i64(7)}},
         {"avg_amount",
          ValueType::kDouble,
          {Value::Double(30.5), Value::Double(10.5), Value::Null(ValueType::kDouble),
           Value::Double(20.5), Value::Double(70.25)}}});
    WriteParquet(data_ / "merchants" / "part-0.parquet",
                 {{"merchant_id", ValueType::kString, {Value::String("m1"), Value::String("m2")}},
                  {"ts", ValueType::kUnixTimestamp, {ts(-30 * 86400), ts(6000)}},
                  {"risk", ValueType::kDouble, {Value::Double(0.125), Value::Double(0.875)}},
                  {"label", ValueType::kString, {Value::String("low"), Value::String("high")}}});
    WriteParquet(data_ / "merchants" / "part-1.parquet",
                 {{"merchant_id", ValueType::kString, {Value::String("m1"), Value::String("m2")}},
                  {"ts", ValueType::kUnixTimestamp, {ts(2000), ts(-10)}},
                  {"risk", ValueType::kDouble, {Value::Double(0.5), Value::Double(0.25)}},
                  {"label", ValueType::kString, {Value::String("mid"), Value::String("ok")}}});
    WriteEntities(data_ / "entities.parquet", "event_timestamp");
  }

  void WriteEntities(const fs::path& path, const std::string& time_column) {
    const std::vector<int64_t> users = {1, 1, 1, 2, 3, 1, 1};
    const std::vector<std::string> merchants = {"m1", "m1", "m2", "m1", "m3", "m1", "m1"};
    const std::vector<int64_t> times = {1200, 4600, 5000, 3599, 100, 1200, 999};
    const std::vector<int64_t> labels = {100, 101, 102, 103, 104, 100, 106};
    Col u{"user_id", ValueType::kInt64, {}}, m{"merchant_id", ValueType::kString, {}},
        t{time_column, ValueType::kUnixTimestamp, {}}, l{"label", ValueType::kInt64, {}};
    for (size_t i = 0; i < users.size(); ++i) {
      u.values.push_back(Value::Int64(users[i]));
      m.values.push_back(Value::String(merchants[i]));
      t.values.push_back(Value::UnixTimestamp(T(times[i])));
      l.values.push_back(Value::Int64(labels[i]));
    }
    WriteParquet(path, {u, m, t, l}, 3);
  }

  // pantryd's temp folder is spool_, for the tests to see it emptied.
  void StartDaemon(std::vector<std::string> extra_args = {}) {
    fs::create_directories(spool_);
    extra_args.insert(extra_args.end(), {"--temp-dir", spool_.string()});
    daemon_ = std::make_unique<Daemon>(root_ / "repo.yaml", root_ / "state", std::move(extra_args));
    daemon_->Start();
  }

  // Runs the CLI from `cwd` (default: the test's folder); `historical`
  // commands get --server-paths when server_paths_ says so.
  Result Pantry(const std::string& args, const fs::path& cwd = {}) {
    const bool historical = args.find("historical ") != std::string::npos;
    return ::pantry::testing::RunCommand(BinDir() + "/pantry --server " + daemon_->address() +
                                             " " + args +
                                             (historical && server_paths_ ? " --server-paths" : ""),
                                         root_, cwd);
  }

  std::string Entities() const { return (data_ / "entities.parquet").string(); }

  // Starts join A on `blocker` (server paths), which holds the only worker
  // until released, and returns once the worker is busy (probing with a
  // join B whose deadline passes in the queue).
  std::future<Result> OccupyTheWorker(const Blocker& blocker) {
    auto a = std::async(std::launch::async, [this, &blocker] {
      return Pantry("historical --entities " + blocker.path().string() +
                    " --features user_stats:txn_count --out " + (out_ / "a.parquet").string());
    });
    auto pantry = [this](const std::string& args) { return Pantry(args); };
    EXPECT_TRUE(WaitUntilWorkerBusy(pantry, Entities(), out_ / "b.parquet"));
    return a;
  }

  // A streamed call's folder goes when the call has ended, which is just
  // after the client has its answer: wait for that.
  ::testing::AssertionResult SpoolEmptiesSoon() {
    std::vector<std::string> left;
    for (int i = 0; i < 200; ++i) {
      left = FilesIn(spool_);
      if (left.empty()) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return ::testing::AssertionFailure() << "left in the temp folder: " << left[0];
  }

  TempDir dir_;
  fs::path root_, data_, out_, spool_;
  std::unique_ptr<Daemon> daemon_;
  std::atomic<int> runs_{0};
  // pantryd reads and writes the files itself (else they travel in the call).
  bool server_paths_ = true;
};

// The same CLI commands with the files streamed (the CLI's default) and with
// --server-paths: the results and the errors are the same.
class HistoricalBothWays : public Historical, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    Historical::SetUp();
    server_paths_ = GetParam();
  }
  void TearDown() override { EXPECT_TRUE(SpoolEmptiesSoon()); }
};

INSTANTIATE_TEST_SUITE_P(Transfer, HistoricalBothWays, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ServerPaths" : "Streamed";
                         });

TEST_P(HistoricalBothWays, JoinsPointInTimeCorrectly) {
  StartDaemon();
  const fs::path out = out_ / "train.parquet";
  Result r = Pantry("historical --entities " + Entities() +
                    " --features user_stats:txn_count,user_stats:avg_amount,merchant_risk:risk"
                    " --out " +
                    out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->Log();
  EXPECT_THAT(r.out, HasSubstr("wrote 7 rows to " + out.string()));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("values found:         ", kValuesFound)));

  const Table t = ReadTable(out);
  EXPECT_THAT(t.columns, ElementsAre("user_id", "merchant_id", "event_timestamp", "label",
                                     "txn_count", "avg_amount", "risk"));
  std::vector<std::string> expected;
  for (const Expected& e : ExpectedRows()) {
    expected.push_back(absl::StrCat("{", e.entity, ",\"txn_count\":", e.txn_count,
                                    ",\"avg_amount\":", e.avg_amount, ",\"risk\":", e.risk, "}"));
  }
  EXPECT_EQ(t.rows, expected);
  EXPECT_THAT(FilesIn(out_), ElementsAre("train.parquet"));
}

TEST_P(HistoricalBothWays, FeatureServiceWithFullFeatureNamesAndJsonSummary) {
  StartDaemon();
  const fs::path out = out_ / "svc.parquet";
  Result r = Pantry("--output json historical --entities " + Entities() +
                    " --service fraud_v1 --full-feature-names --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->Log();
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["output_path"], out.string());
  EXPECT_EQ(j["entity_rows"], 7);
  EXPECT_EQ(j["values_found"], kValuesFound);
  EXPECT_EQ(j["feature_rows_scanned"], 9);  // 5 user rows + 4 merchant rows
  EXPECT_TRUE(j["seconds"].is_number());

  const Table t = ReadTable(out);
  EXPECT_THAT(t.columns, ElementsAre("user_id", "merchant_id", "event_timestamp", "label",
                                     "user_stats__txn_count", "user_stats__avg_amount",
                                     "merchant_risk__risk"));
  std::vector<std::string> expected;
  for (const Expected& e : ExpectedRows()) {
    expected.push_back(absl::StrCat("{", e.entity, ",\"user_stats__txn_count\":", e.txn_count,
                                    ",\"user_stats__avg_amount\":", e.avg_amount,
                                    ",\"merchant_risk__risk\":", e.risk, "}"));
  }
  EXPECT_EQ(t.rows, expected);
}

TEST_P(HistoricalBothWays, OutputNameClashNeedsFullFeatureNames) {
  StartDaemon();
  const fs::path out = out_ / "m.parquet";
  // merchant_risk:label clashes with the entity file's label column.
  Result clash = Pantry("historical --entities " + Entities() +
                        " --features 'merchant_risk:*' --out " + out.string());
  EXPECT_EQ(clash.exit_code, 2) << clash.err;
  EXPECT_THAT(clash.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(clash.err, HasSubstr("'label'"));
  EXPECT_THAT(clash.err, HasSubstr("full feature names"));
  EXPECT_THAT(FilesIn(out_), IsEmpty());

  Result full = Pantry("historical --entities " + Entities() +
                       " --features 'merchant_risk:*' --full-feature-names --out " + out.string());
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const Table t = ReadTable(out);
  EXPECT_THAT(t.columns, ElementsAre("user_id", "merchant_id", "event_timestamp", "label",
                                     "merchant_risk__risk", "merchant_risk__label"));
  std::vector<std::string> expected;
  for (const Expected& e : ExpectedRows()) {
    expected.push_back(absl::StrCat("{", e.entity, ",\"merchant_risk__risk\":", e.risk,
                                    ",\"merchant_risk__label\":", e.merchant_label, "}"));
  }
  EXPECT_EQ(t.rows, expected);
}

TEST_P(HistoricalBothWays, UnknownFeaturesAreBadInput) {
  StartDaemon();
  const std::string out = (out_ / "x.parquet").string();
  Result feature = Pantry("historical --entities " + Entities() +
                          " --features user_stats:txn_count,user_stats:nope --out " + out);
  EXPECT_EQ(feature.exit_code, 2) << feature.err;
  EXPECT_THAT(feature.err, HasSubstr("'nope'"));
  EXPECT_THAT(feature.err, HasSubstr("user_stats"));

  Result view = Pantry("historical --entities " + Entities() + " --features nope:x --out " + out);
  EXPECT_EQ(view.exit_code, 2) << view.err;
  EXPECT_THAT(view.err, HasSubstr("'nope'"));

  Result service =
      Pantry("historical --entities " + Entities() + " --service fraud_v9 --out " + out);
  EXPECT_EQ(service.exit_code, 2) << service.err;
  EXPECT_THAT(service.err, HasSubstr("unknown feature service 'fraud_v9'"));

  Result both = Pantry("historical --entities " + Entities() +
                       " --service fraud_v1 --features user_stats:txn_count --out " + out);
  EXPECT_EQ(both.exit_code, 2) << both.err;
  EXPECT_THAT(FilesIn(out_), IsEmpty());
}

TEST_P(HistoricalBothWays, EntityFileProblemsNameTheFileAndColumn) {
  // The time column is called `ts` in this file.
  const fs::path other = data_ / "entities_ts.parquet";
  WriteEntities(other, "ts");
  StartDaemon();
  const std::string out = (out_ / "x.parquet").string();
  Result missing_column = Pantry("historical --entities " + other.string() +
                                 " --features user_stats:txn_count --out " + out);
  EXPECT_EQ(missing_column.exit_code, 2) << missing_column.err;
  EXPECT_THAT(missing_column.err, HasSubstr(other.string()));
  EXPECT_THAT(missing_column.err, HasSubstr("'event_timestamp'"));
  EXPECT_THAT(FilesIn(out_), IsEmpty());

  Result missing_file = Pantry("historical --entities " + (data_ / "nope.parquet").string() +
                               " --features user_stats:txn_count --out " + out);
  EXPECT_EQ(missing_file.exit_code, 2) << missing_file.err;
  EXPECT_THAT(missing_file.err, HasSubstr((data_ / "nope.parquet").string()));
  EXPECT_THAT(FilesIn(out_), IsEmpty());

  // A join key the view needs is absent: the merchant key, in a file of
  // users only.
  const fs::path users_only = data_ / "users_only.parquet";
  WriteParquet(users_only,
               {{"user_id", ValueType::kInt64, {Value::Int64(1)}},
                {"event_timestamp", ValueType::kUnixTimestamp, {Value::UnixTimestamp(T(1200))}}});
  Result missing_key = Pantry("historical --entities " + users_only.string() +
                              " --features merchant_risk:risk --out " + out);
  EXPECT_EQ(missing_key.exit_code, 2) << missing_key.err;
  EXPECT_THAT(missing_key.err, HasSubstr(users_only.string()));
  EXPECT_THAT(missing_key.err, HasSubstr("'merchant_id'"));

  // The output's folder must exist; nothing is created on the way.
  Result no_folder =
      Pantry("historical --entities " + Entities() + " --features user_stats:txn_count --out " +
             (out_ / "sub" / "x.parquet").string());
  EXPECT_EQ(no_folder.exit_code, 2) << no_folder.err;
  EXPECT_THAT(no_folder.err, HasSubstr((out_ / "sub").string()));

  // The output must not replace the entity file.
  Result same = Pantry("historical --entities " + Entities() +
                       " --features user_stats:txn_count --out " + Entities());
  EXPECT_EQ(same.exit_code, 2) << same.err;
  EXPECT_THAT(same.err, HasSubstr("entity file"));
  EXPECT_THAT(FilesIn(out_), IsEmpty());

  // With the right --timestamp-column the same file works.
  Result ok = Pantry("historical --entities " + other.string() +
                     " --timestamp-column ts --features user_stats:txn_count --out " + out);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const Table t = ReadTable(out);
  EXPECT_THAT(t.columns, ElementsAre("user_id", "merchant_id", "ts", "label", "txn_count"));
  ASSERT_EQ(t.rows.size(), 7u);
  EXPECT_EQ(
      t.rows[0],
      R"({"user_id":1,"merchant_id":"m1","ts":"2026-01-01T00:20:00.000000000Z","label":100,"txn_count":3})");
  EXPECT_THAT(FilesIn(data_), ElementsAre("entities.parquet", "entities_ts.parquet", "merchants",
                                          "users.parquet", "users_only.parquet"));
}

TEST_P(HistoricalBothWays, RelativePathsAreTheCallersAndTheServerRejectsThem) {
  StartDaemon();  // runs in "/"
  // The CLI resolves against its own folder before sending.
  Result r = Pantry(
      "historical --entities data/entities.parquet --features user_stats:txn_count "
      "--out out/rel.parquet",
      root_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote 7 rows to " + (out_ / "rel.parquet").string()));
  EXPECT_EQ(ReadTable(out_ / "rel.parquet").rows.size(), 7u);

  // pantryd itself refuses relative paths: its working directory is not
  // the caller's.
  ClientOptions options;
  options.address = daemon_->address();
  auto client = Client::Create(options);
  HistoricalQuery query;
  query.features = {"user_stats:txn_count"};
  query.entities_path = "data/entities.parquet";
  query.output_path = (out_ / "raw.parquet").string();
  auto result = client->GetHistoricalFeatures(query);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("entities_path"));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("absolute"));
  query.entities_path = Entities();
  query.output_path = "out/raw.parquet";
  result = client->GetHistoricalFeatures(query);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("output_path"));
  EXPECT_FALSE(fs::exists("/out/raw.parquet"));
  EXPECT_THAT(FilesIn(out_), ElementsAre("rel.parquet"));

  // The SDK with absolute paths: the stats come back.
  query.output_path = (out_ / "sdk.parquet").string();
  result = client->GetHistoricalFeatures(query);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->output_path, query.output_path);
  EXPECT_EQ(result->entity_rows, 7);
  EXPECT_EQ(result->values_found, 5);  // user_stats only: every row but 1 and 4 (u3)
}

TEST_F(Historical, BusyPoolRejectsAndDropsQueuedJoinsWhoseDeadlinePassed) {
  StartDaemon({"--offline-jobs", "1", "--offline-queue", "1", "--offline-threads", "1"});
  Blocker blocker(data_ / "blocker.parquet");
  const std::string features = " --features user_stats:txn_count";

  // A: occupies the only worker.
  auto a = std::async(std::launch::async, [&] {
    return Pantry("historical --entities " + blocker.path().string() + features + " --out " +
                  (out_ / "a.parquet").string());
  });
  // B: a valid join with a short deadline. Until A has started, B runs at
  // once and succeeds; once A holds the worker, B waits in the queue and
  // its deadline passes there.
  auto pantry = [this](const std::string& args) { return Pantry(args); };
  ASSERT_TRUE(WaitUntilWorkerBusy(pantry, Entities(), out_ / "b.parquet"));

  // C: A runs and B still holds the one queue slot: rejected at once.
  Result c = Pantry("historical --entities " + Entities() + features + " --out " +
                    (out_ / "c.parquet").string());
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_THAT(c.err, HasSubstr("RESOURCE_EXHAUSTED"));

  blocker.Release();
  Result a_result = a.get();
  EXPECT_EQ(a_result.exit_code, 2) << a_result.err;
  EXPECT_THAT(a_result.err, HasSubstr("not a Parquet file"));

  // D: runs once the worker is free (the queue may still hold B for a
  // moment). B was handled before D, in order, and dropped: no b.parquet.
  Result d;
  for (int i = 0; i < 100; ++i) {
    d = Pantry("historical --entities " + Entities() + features + " --out " +
               (out_ / "d.parquet").string());
    if (d.exit_code == 0 || d.err.find("RESOURCE_EXHAUSTED") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_THAT(FilesIn(out_), ElementsAre("d.parquet"));
  EXPECT_THAT(daemon_->Log(), HasSubstr("deadline passed while the join waited in the queue"));
}

TEST_F(Historical, ShutdownAnswersQueuedJoinsAndWaitsForTheRunningOne) {
  StartDaemon({"--offline-jobs", "1", "--offline-queue", "4"});
  Blocker blocker(data_ / "blocker.parquet");
  auto a = OccupyTheWorker(blocker);
  ASSERT_FALSE(HasFailure());
  // C waits in the queue behind A.
  const fs::path c_out = out_ / "c.parquet";
  auto c = std::async(std::launch::async, [&] {
    return Pantry("historical --entities " + Entities() +
                  " --features user_stats:txn_count --out " + c_out.string());
  });
  for (int i = 0;
       i < 500 && daemon_->Log().find(c_out.string() + " requested") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_THAT(daemon_->Log(), HasSubstr(c_out.string() + " requested"));

  daemon_->Signal(SIGTERM);
  // C never starts: it is answered UNAVAILABLE at once. (The CLI retries;
  // a retry reaching the stopping server is held and cancelled after the
  // grace period, so the CLI may end with CANCELLED instead.)
  Result c_result = c.get();
  EXPECT_EQ(c_result.exit_code, 1) << c_result.err;
  EXPECT_THAT(daemon_->Log(),
              HasSubstr(absl::StrCat(" into ", c_out.string(), " dropped after")));
  // A is blocked opening its FIFO, where no interruption reaches it:
  // pantryd waits for it, past the 5 s grace period after which gRPC
  // cancels the calls in flight (A's too).
  std::this_thread::sleep_for(std::chrono::seconds(6));
  EXPECT_TRUE(daemon_->Alive()) << daemon_->Log();
  blocker.Release();
  Result a_result = a.get();
  EXPECT_EQ(a_result.exit_code, 1) << a_result.err;
  const int status = daemon_->WaitExit(std::chrono::seconds(10));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << daemon_->Log();
  const std::string log = daemon_->Log();
  EXPECT_THAT(log, HasSubstr("waiting for 1 running offline job(s) to finish"));
  EXPECT_THAT(log, HasSubstr("blocker.parquet into " + (out_ / "a.parquet").string() + " failed"));
  ASSERT_THAT(log, HasSubstr("pantryd stopped"));
  EXPECT_LT(log.find("blocker.parquet into"), log.find("pantryd stopped"));
  EXPECT_THAT(FilesIn(out_), IsEmpty());
}

// A result of several MiB comes back in 1 MiB pieces and is the same file,
// byte for byte, as the one pantryd writes for --server-paths.
TEST_F(Historical, StreamedResultIsTheSameFileAsWithServerPaths) {
  const fs::path big = data_ / "big.parquet";
  {
    Col u{"user_id", ValueType::kInt64, {}}, m{"merchant_id", ValueType::kString, {}},
        t{"event_timestamp", ValueType::kUnixTimestamp, {}}, l{"label", ValueType::kInt64, {}};
    uint64_t x = 88172645463325252ull;  // xorshift: incompressible labels
    for (int i = 0; i < 200000; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      u.values.push_back(Value::Int64(1 + i % 3));
      m.values.push_back(Value::String(i % 2 == 0 ? "m1" : "m2"));
      t.values.push_back(Value::UnixTimestamp(T(static_cast<int64_t>(x % 7000))));
      l.values.push_back(Value::Int64(static_cast<int64_t>(x >> 1)));
    }
    WriteParquet(big, {u, m, t, l}, 50000);
  }
  StartDaemon();
  const std::string features = " --service fraud_v1 --full-feature-names";
  server_paths_ = false;
  Result streamed = Pantry("historical --entities " + big.string() + features + " --out " +
                           (out_ / "streamed.parquet").string());
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err << daemon_->Log();
  EXPECT_THAT(streamed.out, HasSubstr("wrote 200000 rows to " + (out_ / "streamed.parquet").string()));
  server_paths_ = true;
  Result direct = Pantry("historical --entities " + big.string() + features + " --out " +
                         (out_ / "direct.parquet").string());
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  const std::string a = ReadFile(out_ / "streamed.parquet");
  EXPECT_GT(a.size(), size_t{2} << 20);  // several pieces
  EXPECT_TRUE(a == ReadFile(out_ / "direct.parquet"));
  EXPECT_THAT(FilesIn(out_), ElementsAre("direct.parquet", "streamed.parquet"));
  EXPECT_TRUE(SpoolEmptiesSoon());
}

// The stream's own rules, through the raw gRPC stub: each breach is
// INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming it, and pantryd's temp
// folder is left empty.
TEST_F(Historical, MalformedStreamsAreRejected) {
  StartDaemon({"--max-upload-mb", "1"});
  auto channel = grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::FeatureService::NewStub(channel);
  v1::GetHistoricalFeaturesRequest good;
  good.mutable_features()->add_refs("user_stats:txn_count");
  auto run = [&](const std::vector<v1::HistoricalUpload>& messages) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto stream = stub->StreamHistoricalFeatures(&context);
    for (const auto& m : messages) {
      if (!stream->Write(m)) break;
    }
    stream->WritesDone();
    v1::HistoricalDownload ignored;
    while (stream->Read(&ignored)) {
    }
    return stream->Finish();
  };
  auto request = [](const v1::GetHistoricalFeaturesRequest& r) {
    v1::HistoricalUpload m;
    *m.mutable_request() = r;
    return m;
  };
  auto chunk = [](std::string bytes) {
    v1::HistoricalUpload m;
    m.set_entities_chunk(std::move(bytes));
    return m;
  };

  grpc::Status s = run({});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("before its first message"));

  s = run({chunk("PAR1"), request(good)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("first message of the stream must be the request"));

  s = run({request(good), request(good)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("only the first message"));

  v1::GetHistoricalFeaturesRequest with_path = good;
  with_path.set_output_path((out_ / "x.parquet").string());
  s = run({request(with_path)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("leave entities_path and output_path empty"));

  v1::GetHistoricalFeaturesRequest unknown;
  unknown.mutable_features()->add_refs("user_stats:nope");
  s = run({request(unknown)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("'nope'"));

  // Not Parquet: the error names the file as the caller sent it.
  s = run({request(good), chunk("this is not parquet")});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("<uploaded entity file>"));
  EXPECT_THAT(s.error_message(), HasSubstr("not a Parquet file"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr(spool_.string())));

  // Over --max-upload-mb 1, in pieces.
  s = run({request(good), chunk(std::string(700 << 10, 'x')), chunk(std::string(700 << 10, 'x'))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("--max-upload-mb"));
  EXPECT_TRUE(SpoolEmptiesSoon());

  // The SDK checks the local files before it calls.
  ClientOptions options;
  options.address = daemon_->address();
  auto client = Client::Create(options);
  HistoricalQuery query;
  query.features = {"user_stats:txn_count"};
  query.entities_path = (data_ / "nope.parquet").string();
  query.output_path = (out_ / "x.parquet").string();
  EXPECT_EQ(client->StreamHistoricalFeatures(query).status().code(), absl::StatusCode::kNotFound);
  query.entities_path = Entities();
  query.output_path = (out_ / "sub" / "x.parquet").string();
  EXPECT_EQ(client->StreamHistoricalFeatures(query).status().code(),
            absl::StatusCode::kInvalidArgument);
  query.output_path = Entities();
  EXPECT_EQ(client->StreamHistoricalFeatures(query).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FilesIn(out_), IsEmpty());
}

// A streamed join whose deadline passes while it waits for the busy worker
// is dropped; its upload is removed and nothing is written locally.
TEST_F(Historical, StreamedJoinDroppedInTheQueueLeavesNothing) {
  // Room in the queue for the probe WaitUntilWorkerBusy leaves there, and
  // for the streamed join.
  StartDaemon({"--offline-jobs", "1", "--offline-queue", "2", "--offline-threads", "1"});
  Blocker blocker(data_ / "blocker.parquet");
  auto a = OccupyTheWorker(blocker);
  ASSERT_FALSE(HasFailure());
  server_paths_ = false;
  Result streamed = Pantry("--timeout-ms 500 historical --entities " + Entities() +
                           " --features user_stats:txn_count --out " +
                           (out_ / "s.parquet").string());
  EXPECT_EQ(streamed.exit_code, 1) << streamed.err;
  EXPECT_THAT(streamed.err, HasSubstr("DEADLINE_EXCEEDED"));
  server_paths_ = true;
  EXPECT_THAT(FilesIn(spool_), Not(IsEmpty()));  // the upload waits with its job
  blocker.Release();
  EXPECT_EQ(a.get().exit_code, 2);
  EXPECT_TRUE(SpoolEmptiesSoon());
  EXPECT_THAT(FilesIn(out_), IsEmpty());
  EXPECT_THAT(daemon_->Log(), HasSubstr("streamed entity file"));
  EXPECT_THAT(daemon_->Log(), HasSubstr("deadline passed while the join waited in the queue"));
}

}  // namespace
}  // namespace pantry
