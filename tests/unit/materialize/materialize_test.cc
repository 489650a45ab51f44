// MaterializeView against an oracle written here: for every key, every row
// of the window is looked at, and what the online store must hold afterwards
// (the winner, unless the store already held something as new) is worked out
// and read back. Randomized over keys, times with ties, created-time
// tie-breaks, nulls, windows, values already online, several files and row
// groups, 1 or 2 threads and, for half the seeds, a budget small enough to
// split the keys into partitions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/materialize/materialize.h"
#include "server/offline/columns.h"
#include "server/online/memory_store.h"
#include "server/parquet/writer.h"
#include "server/registry/registry.h"
#include "server/value/encoding.h"

namespace pantry::materialize {
namespace {

namespace fs = std::filesystem;
using offline::AppendOutputValue;
using offline::OutputSpec;

constexpr Micros kSecond = kMicrosPerSecond;

struct Row {
  int64_t user;
  Micros event;
  Micros created;
  Value count;   // INT64, maybe null
  Value amount;  // DOUBLE, maybe null
};

// Writes `rows` in order over `files` files under `dir`, small row groups.
void WriteRows(const fs::path& dir, const std::vector<Row>& rows, int files, std::mt19937& rng) {
  fs::create_directories(dir);
  const std::vector<parquet::ColumnSpec> specs = {
      OutputSpec("user_id", ValueType::kInt64), OutputSpec("ts", ValueType::kUnixTimestamp),
      OutputSpec("created", ValueType::kUnixTimestamp), OutputSpec("txn_count", ValueType::kInt64),
      OutputSpec("amount", ValueType::kDouble)};
  for (int f = 0; f < files; ++f) {
    parquet::WriterOptions options;
    options.row_group_rows = 1 + rng() % 7;
    auto writer = parquet::FileWriter::Create((dir / absl::StrCat("part-", f, ".parquet")).string(),
                                              specs, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    std::vector<parquet::ColumnData> batch(specs.size());
    int64_t n = 0;
    for (size_t i = static_cast<size_t>(f); i < rows.size(); i += static_cast<size_t>(files)) {
      const Row& r = rows[i];
      AppendOutputValue(Value::Int64(r.user), &batch[0]);
      AppendOutputValue(Value::UnixTimestamp(r.event), &batch[1]);
      AppendOutputValue(Value::UnixTimestamp(r.created), &batch[2]);
      AppendOutputValue(r.count, &batch[3]);
      AppendOutputValue(r.amount, &batch[4]);
      ++n;
    }
    ASSERT_TRUE((*writer)->Write(batch, n).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }
}

class Materialize : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("pantry_materialize_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "users");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void LoadRegistry(const std::string& extra_view_keys = "") {
    auto registry = ParseRegistry(
        "project: p\n"
        "entities:\n"
        "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
        "sources:\n"
        "  - {name: users_src, path: users, timestamp_field: ts, created_timestamp_field: "
        "created}\n"
        "feature_views:\n"
        "  - name: user_stats\n"
        "    entities: [user]\n"
        "    source: users_src\n" +
            extra_view_keys +
            "    schema:\n"
            "      - {name: txn_count, dtype: INT64}\n"
            "      - {name: amount, dtype: DOUBLE}\n",
        "test.yaml", dir_.string());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
  }

  const FeatureView& View() const { return *registry_->FindFeatureView("user_stats"); }

  std::string Key(int64_t user) const {
    const Value v = Value::Int64(user);
    return OnlineKey("p", "user_stats", View().join_keys, {&v});
  }

  // What the store holds for `user`: found, event time, the two values.
  ViewReadResult Online(OnlineStore& store, int64_t user) const {
    auto read = store.ReadSync({MakeViewRead(Key(user), "user_stats", {"txn_count", "amount"})},
                               NowMicros() + 10 * kSecond);
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? (*read)[0] : ViewReadResult();
  }

  fs::path dir_;
  std::shared_ptr<const Registry> registry_;
};

class MaterializeProperty : public Materialize, public ::testing::WithParamInterface<int> {};

TEST_P(MaterializeProperty, MatchesTheOracle) {
  std::mt19937 rng(static_cast<uint32_t>(GetParam()) * 7919u + 17u);
  LoadRegistry();
  const int users = 1 + static_cast<int>(rng() % 40);
  const int rows_n = static_cast<int>(rng() % 300);
  std::vector<Row> rows;
  std::set<std::tuple<int64_t, Micros, Micros>> seen;  // no exact duplicates
  for (int i = 0; i < rows_n; ++i) {
    Row r;
    r.user = 1 + static_cast<int64_t>(rng() % users);
    r.event = static_cast<Micros>(rng() % 50) * kSecond;  // many ties
    r.created = static_cast<Micros>(rng() % 4) * kSecond;
    if (!seen.insert({r.user, r.event, r.created}).second) continue;
    r.count = rng() % 5 == 0 ? Value::Null(ValueType::kInt64) : Value::Int64(rng() % 1000);
    r.amount = rng() % 5 == 0 ? Value::Null(ValueType::kDouble)
                              : Value::Double(static_cast<double>(rng() % 10000) / 8);
    rows.push_back(r);
  }
  WriteRows(dir_ / "users", rows, 1 + static_cast<int>(rng() % 3), rng);
  const Micros start = static_cast<Micros>(rng() % 30) * kSecond;
  const Micros end = start + (1 + static_cast<Micros>(rng() % 30)) * kSecond;

  auto store = NewMemoryOnlineStore();
  // Some users already hold a value online, older or newer than the window.
  std::map<int64_t, Micros> before;
  for (int u = 1; u <= users; ++u) {
    if (rng() % 3 != 0) continue;
    const Micros t = static_cast<Micros>(rng() % 60) * kSecond;
    before[u] = t;
    ViewWrite w =
        MakeViewWrite(Key(u), "user_stats", t, {{"txn_count", EncodeValue(Value::Int64(-u))}});
    ASSERT_TRUE(store->WriteSync({w}, NowMicros() + 10 * kSecond).ok());
  }

  MaterializeOptions options;
  options.threads = 1 + static_cast<int>(rng() % 2);
  options.write_batch_rows = 1 + static_cast<int>(rng() % 8);
  options.writes_in_flight = 1 + static_cast<int>(rng() % 3);
  if (GetParam() % 2 == 1) options.memory_budget_bytes = 1 + static_cast<int64_t>(rng() % 256);
  MaterializeProgress progress;
  auto stats = MaterializeView(*registry_, View(), start, end, store.get(), options, &progress);
  ASSERT_TRUE(stats.ok()) << stats.status();

  int64_t keys = 0, written = 0, in_window = 0;
  for (int u = 1; u <= users; ++u) {
    const Row* best = nullptr;
    for (const Row& r : rows) {
      if (r.user != u || r.event < start || r.event >= end) continue;
      if (best == nullptr || r.event > best->event ||
          (r.event == best->event && r.created > best->created)) {
        best = &r;
      }
    }
    const ViewReadResult got = Online(*store, u);
    auto prior = before.find(u);
    const bool lands = best != nullptr && (prior == before.end() || best->event > prior->second);
    keys += best != nullptr;
    written += lands;
    if (lands) {
      ASSERT_TRUE(got.found) << "user " << u;
      EXPECT_EQ(got.event_time, best->event) << "user " << u;
      ASSERT_EQ(got.values.size(), 2u);
      EXPECT_EQ(got.values[0], EncodeValue(best->count)) << "user " << u;
      EXPECT_EQ(got.values[1], EncodeValue(best->amount)) << "user " << u;
    } else if (prior != before.end()) {
      EXPECT_EQ(got.event_time, prior->second) << "user " << u << " went back in time";
      EXPECT_EQ(got.values[0], EncodeValue(Value::Int64(-u))) << "user " << u;
    } else {
      EXPECT_FALSE(got.found) << "user " << u;
    }
  }
  for (const Row& r : rows) in_window += r.event >= start && r.event < end;
  EXPECT_EQ(stats->keys, keys);
  EXPECT_EQ(stats->rows_written, written);
  EXPECT_EQ(stats->rows_skipped, keys - written);
  EXPECT_EQ(stats->rows_read, in_window);
  EXPECT_EQ(progress.rows_written.load(), written);
  EXPECT_EQ(progress.work_done.load(), progress.work_total.load());
  if (GetParam() % 2 == 1 && in_window > 0) {
    EXPECT_GT(stats->partitions, 1);
  }

  // The same run again changes nothing.
  auto again = MaterializeView(*registry_, View(), start, end, store.get(), options, nullptr);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->rows_written, 0);
  EXPECT_EQ(again->rows_skipped, keys);
}

INSTANTIATE_TEST_SUITE_P(Seeds, MaterializeProperty, ::testing::Range(0, 30));

TEST_F(Materialize, BadRequestsChangeNothing) {
  LoadRegistry("    online: false\n");
  auto store = NewMemoryOnlineStore();
  std::mt19937 rng(1);
  WriteRows(dir_ / "users", {{1, 5 * kSecond, 0, Value::Int64(1), Value::Double(1)}}, 1, rng);
  auto offline_only = MaterializeView(*registry_, View(), 0, 10 * kSecond, store.get(), {}, nullptr);
  EXPECT_EQ(offline_only.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(offline_only.status().message().find("not online"), std::string::npos);

  LoadRegistry();
  auto empty = MaterializeView(*registry_, View(), 10 * kSecond, 10 * kSecond, store.get(), {},
                               nullptr);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("not before its end"), std::string::npos);
  EXPECT_FALSE(Online(*store, 1).found);
}

TEST_F(Materialize, WrongColumnTypeNamesViewFileAndColumn) {
  LoadRegistry();
  const std::vector<parquet::ColumnSpec> specs = {
      OutputSpec("user_id", ValueType::kInt64), OutputSpec("ts", ValueType::kUnixTimestamp),
      OutputSpec("created", ValueType::kUnixTimestamp), OutputSpec("txn_count", ValueType::kString),
      OutputSpec("amount", ValueType::kDouble)};
  auto writer = parquet::FileWriter::Create((dir_ / "users" / "bad.parquet").string(), specs, {});
  ASSERT_TRUE(writer.ok());
  std::vector<parquet::ColumnData> batch(specs.size());
  AppendOutputValue(Value::Int64(1), &batch[0]);
  AppendOutputValue(Value::UnixTimestamp(kSecond), &batch[1]);
  AppendOutputValue(Value::UnixTimestamp(kSecond), &batch[2]);
  AppendOutputValue(Value::String("x"), &batch[3]);
  AppendOutputValue(Value::Double(1), &batch[4]);
  ASSERT_TRUE((*writer)->Write(batch, 1).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  auto store = NewMemoryOnlineStore();
  auto s = MaterializeView(*registry_, View(), 0, 10 * kSecond, store.get(), {}, nullptr);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(s.status().message());
  EXPECT_NE(message.find("user_stats"), std::string::npos) << message;
  EXPECT_NE(message.find("bad.parquet"), std::string::npos) << message;
  EXPECT_NE(message.find("txn_count"), std::string::npos) << message;
  EXPECT_FALSE(Online(*store, 1).found);
}

TEST_F(Materialize, CorruptFileFailsNamingIt) {
  LoadRegistry();
  std::ofstream(dir_ / "users" / "broken.parquet") << "PAR1 this is not parquet PAR1";
  auto store = NewMemoryOnlineStore();
  auto s = MaterializeView(*registry_, View(), 0, 10 * kSecond, store.get(), {}, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("broken.parquet"), std::string::npos) << s.status();
}

TEST_F(Materialize, InterruptStopsTheRun) {
  LoadRegistry();
  std::mt19937 rng(3);
  std::vector<Row> rows;
  for (int i = 0; i < 100; ++i) {
    rows.push_back({i % 10, i * kSecond, 0, Value::Int64(i), Value::Double(i)});
  }
  WriteRows(dir_ / "users", rows, 2, rng);
  auto store = NewMemoryOnlineStore();
  std::atomic<int> calls{0};
  MaterializeOptions options;
  options.interrupt = [&calls] {
    return ++calls > 3 ? absl::CancelledError("stopped by the test") : absl::OkStatus();
  };
  auto s = MaterializeView(*registry_, View(), 0, 1000 * kSecond, store.get(), options, nullptr);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(s.status().message(), "stopped by the test");
}

// A store whose writes fail, each answered late from a thread of its own,
// as Redis going away mid-run looks from the run.
class LateFailingStore final : public OnlineStore {
 public:
  ~LateFailingStore() override {
    for (std::thread& t : threads_) t.join();
  }
  void Read(std::vector<ViewRead>, Micros, ReadCallback done) override {
    done(absl::UnavailableError("down"));
  }
  absl::Status CheckLayout(Micros) override { return absl::OkStatus(); }
  void Write(std::vector<ViewWrite>, Micros, WriteCallback done) override {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done(absl::UnavailableError("redis at test: connection lost"));
    });
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

// The run fails with the store's error, and returns only once the writes in
// flight have answered (their callbacks use the run's state: under the
// sanitizers, returning earlier is a use after free).
TEST_F(Materialize, StoreFailureEndsTheRunAfterTheWritesInFlight) {
  LoadRegistry();
  std::mt19937 rng(5);
  std::vector<Row> rows;
  for (int i = 0; i < 200; ++i) rows.push_back({i, i * kSecond, 0, Value::Int64(i), Value::Double(i)});
  WriteRows(dir_ / "users", rows, 2, rng);
  LateFailingStore store;
  MaterializeOptions options;
  options.write_batch_rows = 10;
  options.writes_in_flight = 4;
  auto s = MaterializeView(*registry_, View(), 0, 1000 * kSecond, &store, options, nullptr);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("connection lost"), std::string::npos);
}

}  // namespace
}  // namespace pantry::materialize
