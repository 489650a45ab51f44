// Aggregation views, three ways: a naive oracle written here, the offline
// point-in-time join, and the online path (events applied to states in a
// real redis-server, read through OnlineServing at an injected clock), over
// random events with ties, nulls, duplicates, events exactly on window
// starts, hop edges and read times, and late events before and after a
// heal. count, min, max, last, last_n and approx_count_distinct must be
// equal exactly; sum, mean and stddev within 1e-9 relative.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/materialize/heal.h"
#include "server/offline/columns.h"
#include "server/offline/historical.h"
#include "server/online/online_store.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "server/registry/registry.h"
#include "server/serving/aggregations.h"
#include "server/serving/online_serving.h"
#include "server/transform/aggregate.h"
#include "tests/support/redis_server.h"

namespace pantry {
namespace {

namespace fs = std::filesystem;
constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kDay = 24 * kHour;
constexpr Micros kT0 = 1767225600 * kSecond;
constexpr Micros kLateness = 20 * kMinute;

struct Txn {
  int64_t user;
  Micros time;
  std::optional<double> amount;
  std::string merchant;
  int64_t qty;

  std::vector<Value> Columns() const {  // the view's written columns, in order
    return {amount ? Value::Double(*amount) : Value::Null(ValueType::kDouble),
            Value::String(merchant), Value::Int64(qty)};
  }
  // The event's identity, as documented: keys, time, every written column.
  uint64_t Id() const {
    transform::EventIdBuilder id;
    id.AddValue(Value::Int64(user));
    id.AddTime(time);
    for (const Value& v : Columns()) id.AddValue(v);
    return id.Finish();
  }
};

// The oracle: `a` at time t over distinct events (by identity) of one user.
Value Oracle(const Aggregation& a, const std::map<uint64_t, Txn>& events, int64_t user, Micros t) {
  const Micros start = ((t - a.window) / a.hop) * a.hop;
  std::vector<std::pair<std::pair<Micros, uint64_t>, const Txn*>> in;
  for (const auto& [id, x] : events) {
    if (x.user == user && x.time >= start && x.time <= t) in.push_back({{x.time, id}, &x});
  }
  std::sort(in.begin(), in.end());
  std::vector<double> xs;     // non-null values of the column, as doubles
  std::vector<Value> values;  // non-null values, as values
  for (const auto& [key, x] : in) {
    if (a.column == "amount" && x->amount) {
      xs.push_back(*x->amount);
      values.push_back(Value::Double(*x->amount));
    } else if (a.column == "qty") {
      xs.push_back(static_cast<double>(x->qty));
      values.push_back(Value::Int64(x->qty));
    } else if (a.column == "merchant") {
      values.push_back(Value::String(x->merchant));
    }
  }
  const size_t n = a.column.empty() ? in.size() : values.size();
  if (a.function == AggFunction::kCount) return Value::Int64(static_cast<int64_t>(n));
  if (n == 0) return Value::Null(a.dtype);
  double sum = 0;
  for (double x : xs) sum += x;
  switch (a.function) {
    case AggFunction::kSum:
      return a.dtype == ValueType::kInt64 ? Value::Int64(static_cast<int64_t>(sum))
                                          : Value::Double(sum);
    case AggFunction::kMean: return Value::Double(sum / static_cast<double>(xs.size()));
    case AggFunction::kStddev: {
      const double mean = sum / static_cast<double>(xs.size());
      double ss = 0;
      for (double x : xs) ss += (x - mean) * (x - mean);
      return Value::Double(std::sqrt(ss / static_cast<double>(xs.size())));
    }
    case AggFunction::kMin:
    case AggFunction::kMax: {
      const double m = a.function == AggFunction::kMin ? *std::min_element(xs.begin(), xs.end())
                                                       : *std::max_element(xs.begin(), xs.end());
      return a.dtype == ValueType::kInt64 ? Value::Int64(static_cast<int64_t>(m))
                                          : Value::Double(m);
    }
    case AggFunction::kLast: return values.back();
    case AggFunction::kLastN: {
      std::vector<std::string> latest;
      for (size_t k = values.size(); k-- > 0 && latest.size() < static_cast<size_t>(a.n);) {
        latest.push_back(values[k].get<std::string>());
      }
      return Value::StringList(latest);
    }
    case AggFunction::kApproxCountDistinct: {
      std::set<std::string> distinct;
      for (const Value& v : values) distinct.insert(v.get<std::string>());
      return Value::Int64(static_cast<int64_t>(distinct.size()));  // exact; compared loosely
    }
    case AggFunction::kCount: break;
  }
  return Value();
}

// `online` and `offline` are compared with each other exactly where the
// issue demands it, and each with the oracle.
void ExpectClose(const Aggregation& a, const Value& want, const Value& got,
                 const std::string& where) {
  ASSERT_EQ(want.is_null(), got.is_null())
      << where << " " << a.name << ": want " << want.DebugString() << " got " << got.DebugString();
  if (want.is_null()) return;
  if (a.function == AggFunction::kApproxCountDistinct) {
    const double w = static_cast<double>(want.get<int64_t>());
    EXPECT_NEAR(static_cast<double>(got.get<int64_t>()), w, 0.03 * w + 1) << where << " " << a.name;
  } else if (a.dtype == ValueType::kDouble) {
    const double w = want.get<double>(), g = got.get<double>();
    EXPECT_LE(std::fabs(w - g), 1e-9 * std::max(1.0, std::fabs(w)))
        << where << " " << a.name << ": want " << w << " got " << g;
  } else {
    EXPECT_EQ(want, got) << where << " " << a.name;
  }
}

void ExpectSame(const Aggregation& a, const Value& x, const Value& y, const std::string& where) {
  if (a.dtype == ValueType::kDouble && !x.is_null() && !y.is_null()) {
    EXPECT_LE(std::fabs(x.get<double>() - y.get<double>()),
              1e-9 * std::max(1.0, std::fabs(x.get<double>())))
        << where << " " << a.name;
  } else {
    EXPECT_EQ(x, y) << where << " " << a.name << ": " << x.DebugString() << " vs "
                    << y.DebugString();
  }
}

class AggregationThreeWays : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new testing::RedisServer();
    ASSERT_TRUE(redis_->Start().ok());
  }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }

  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("pantry_agg3_", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "txns");
    const std::string yaml = absl::StrCat(
        "project: three", ::testing::UnitTest::GetInstance()->random_seed(), "\n",
        "online_store: {type: redis, address: \"", redis_->address(), "\"}\n"
        "offline_store: {path: ", (dir_ / "store").string(), "}\n"
        "entities:\n"
        "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
        "sources:\n"
        "  - name: txns\n"
        "    path: txns\n"
        "    timestamp_field: ts\n"
        "    allowed_lateness: 20m\n"
        "    schema:\n"
        "      - {name: user_id, dtype: INT64}\n"
        "      - {name: ts, dtype: UNIX_TIMESTAMP}\n"
        "      - {name: amount, dtype: DOUBLE}\n"
        "      - {name: merchant, dtype: STRING}\n"
        "      - {name: qty, dtype: INT64}\n"
        "feature_views:\n"
        "  - name: txn\n"
        "    entities: [user]\n"
        "    source: txns\n"
        "    aggregations:\n"
        "      - {name: n_1h, function: count, window: 1h}\n"
        "      - {name: n_amount_1h, function: count, column: amount, window: 1h}\n"
        "      - {name: n_1d_15m, function: count, window: 1d, hop: 15m}\n"
        "      - {name: sum_1d, function: sum, column: amount, window: 1d}\n"
        "      - {name: mean_1d, function: mean, column: amount, window: 1d}\n"
        "      - {name: sd_1d, function: stddev, column: amount, window: 1d}\n"
        "      - {name: min_1h, function: min, column: amount, window: 1h}\n"
        "      - {name: qty_max_7d, function: max, column: qty, window: 7d}\n"
        "      - {name: qty_sum_1d, function: sum, column: qty, window: 1d}\n"
        "      - {name: last_merchant, function: last, column: merchant, window: 1d}\n"
        "      - {name: last3, function: last_n, column: merchant, n: 3, window: 1d}\n"
        "      - {name: merchants_7d, function: approx_count_distinct, column: merchant, "
        "window: 7d}\n");
    auto registry = ParseRegistry(yaml, "repo.yaml", dir_.string());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    holder_ = std::make_unique<RegistryHolder>(registry_);
    auto store = CreateOnlineStore(registry_->online_store, registry_->project);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    serving_ = std::make_unique<OnlineServing>(holder_.get(), store_.get(),
                                               [this] { return now_.load(); });
    view_ = registry_->FindFeatureView("txn");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Online: applies events as a push of one batch at the clock.
  void Apply(const std::vector<Txn>& batch) {
    std::vector<CheckedRow> rows;
    for (const Txn& x : batch) rows.push_back({{Value::Int64(x.user)}, x.Columns(), x.time});
    auto written = WriteAggregationEvents(store_.get(), *registry_, *view_, rows, now_.load(),
                                          NowMicros() + 10 * kSecond);
    ASSERT_TRUE(written.ok()) << written.status();
    // The oracle's idea of what the online state holds: late before the
    // batch's start are kept out, duplicates count once.
    std::map<int64_t, Micros> newest_before = newest_;
    for (const Txn& x : batch) {
      auto it = newest_before.find(x.user);
      if (it != newest_before.end() && x.time < it->second - kLateness) continue;
      applied_.emplace(x.Id(), x);
      Micros& newest = newest_.try_emplace(x.user, x.time).first->second;
      newest = std::max(newest, x.time);
    }
  }

  // Reads every user online at the clock; compares with the oracle over
  // what online holds, and records the read for the offline join.
  void CheckOnline(const std::map<uint64_t, Txn>& truth, const std::string& where) {
    OnlineFeaturesRequest req;
    req.feature_refs = {"txn:*"};
    std::vector<Value> users;
    for (int64_t u = 1; u <= kUsers; ++u) users.push_back(Value::Int64(u));
    req.entities = {{"user_id", users}};
    absl::StatusOr<OnlineFeaturesResponse> got = absl::UnknownError("no answer");
    std::atomic<bool> answered{false};
    serving_->GetOnlineFeatures(req, NowMicros() + 10 * kSecond,
                                [&](absl::StatusOr<OnlineFeaturesResponse> r) {
                                  got = std::move(r);
                                  answered = true;
                                });
    while (!answered) std::this_thread::yield();
    ASSERT_TRUE(got.ok()) << got.status();
    for (size_t c = 0; c < view_->aggregations.size(); ++c) {
      const Aggregation& a = view_->aggregations[c];
      for (int64_t u = 1; u <= kUsers; ++u) {
        const Value& v = got->columns[c].values[static_cast<size_t>(u - 1)];
        ExpectClose(a, Oracle(a, truth, u, now_.load()), v,
                    absl::StrCat(where, " user ", u, " t ", now_.load() - kT0));
        online_reads_[{u, now_.load()}].push_back(v);
      }
    }
  }

  static testing::RedisServer* redis_;
  static constexpr int64_t kUsers = 12;
  fs::path dir_;
  std::shared_ptr<const Registry> registry_;
  std::unique_ptr<RegistryHolder> holder_;
  std::unique_ptr<OnlineStore> store_;
  std::unique_ptr<OnlineServing> serving_;
  const FeatureView* view_ = nullptr;
  std::atomic<Micros> now_{kT0};
  std::map<uint64_t, Txn> applied_;         // distinct events online holds
  std::map<int64_t, Micros> newest_;        // per user, of those
  std::map<std::pair<int64_t, Micros>, std::vector<Value>> online_reads_;  // (user, t) -> values
};

testing::RedisServer* AggregationThreeWays::redis_ = nullptr;

// Random events: on hop edges, just before them, on window starts, ties,
// null amounts, duplicates; arriving mostly in order, some hours late.
std::vector<Txn> RandomTxns(std::mt19937_64& rng, int n, Micros from, Micros span) {
  std::vector<Txn> txns;
  const char* merchants[] = {"acme", "bolt", "cafe", "deli", "zoë", "fuel", "gym"};
  for (int i = 0; i < n; ++i) {
    Txn x;
    x.user = 1 + static_cast<int64_t>(rng() % 12);
    switch (rng() % 5) {
      case 0: x.time = from + static_cast<Micros>(rng() % static_cast<uint64_t>(span / (15 * kMinute))) * 15 * kMinute; break;
      case 1: x.time = from + static_cast<Micros>(rng() % static_cast<uint64_t>(span / kHour)) * kHour - 1; break;
      default: x.time = from + static_cast<Micros>(rng() % static_cast<uint64_t>(span)); break;
    }
    if (rng() % 5 != 0) x.amount = static_cast<double>(rng() % 50000) / 100.0 - 50;
    x.merchant = merchants[rng() % 7];
    x.qty = static_cast<int64_t>(rng() % 9) - 2;
    txns.push_back(x);
    if (rng() % 8 == 0) txns.push_back(x);  // delivered twice
    if (rng() % 9 == 0) {                    // another event at the same time
      Txn tie = x;
      tie.qty += 1;
      txns.push_back(tie);
    }
  }
  std::sort(txns.begin(), txns.end(), [](const Txn& a, const Txn& b) { return a.time < b.time; });
  // Some arrive hours late; some swapped with a neighbour.
  for (size_t i = 0; i + 1 < txns.size(); ++i) {
    if (rng() % 15 == 0) {
      const size_t to = std::min(txns.size() - 1, i + 5 + rng() % 40);
      std::rotate(txns.begin() + static_cast<std::ptrdiff_t>(i),
                  txns.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                  txns.begin() + static_cast<std::ptrdiff_t>(to) + 1);
    } else if (rng() % 4 == 0) {
      std::swap(txns[i], txns[i + 1]);
    } else if (rng() % 6 == 0) {
      // Arrives in order but happened 25-55 minutes earlier: late by less
      // than an hop of an hour.
      txns[i].time -= 25 * kMinute + static_cast<Micros>(rng() % static_cast<uint64_t>(30 * kMinute));
    }
  }
  return txns;
}

TEST_F(AggregationThreeWays, OracleOfflineAndOnlineAgreeBeforeAndAfterAHeal) {
  std::mt19937_64 rng(static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed()) + 5);
  std::vector<Txn> all;
  auto stream = [&](const std::vector<Txn>& txns, const std::string& phase) {
    size_t i = 0;
    int batches = 0;
    while (i < txns.size()) {
      std::vector<Txn> batch;
      const size_t n = 1 + rng() % 12;
      for (size_t k = 0; k < n && i < txns.size(); ++k) batch.push_back(txns[i++]);
      Micros latest = 0;
      for (const Txn& x : batch) latest = std::max(latest, x.time);
      // The clock: behind the newest event by up to 3 minutes, never back.
      now_ = std::max(now_.load(), latest - static_cast<Micros>(rng() % static_cast<uint64_t>(3 * kMinute)));
      Apply(batch);
      all.insert(all.end(), batch.begin(), batch.end());
      if (HasFatalFailure()) return;
      if (++batches % 7 == 0) {
        // Reads at the clock, sometimes exactly on a hop edge or an event.
        if (rng() % 3 == 0) now_ = (now_.load() / (15 * kMinute) + 1) * 15 * kMinute;
        if (rng() % 3 == 0) now_ = std::max(now_.load(), latest);
        CheckOnline(applied_, phase);
        if (HasFatalFailure()) return;
      }
    }
  };
  // Late events that stay raw online (after the hour's fold line, before
  // newest - allowed lateness): exactly on an hour edge.
  auto late_in_open_hour = [&] {
    std::vector<Txn> late;
    for (const auto& [user, newest] : newest_) {
      const Micros t = transform::FloorTo(std::min(newest - kLateness, now_.load()), kHour);
      if (t < newest - kLateness) late.push_back({user, t, 7.25, "late", 3});
    }
    ASSERT_FALSE(late.empty());
    Apply(late);
    all.insert(all.end(), late.begin(), late.end());
  };
  stream(RandomTxns(rng, 500, kT0, 2 * kDay), "before heal");
  if (HasFatalFailure()) return;
  late_in_open_hour();
  if (HasFatalFailure()) return;
  ASSERT_GT(all.size(), applied_.size());  // some were late or repeated

  // The offline history: every delivery, duplicates and late ones included.
  auto write_history = [&](int part) {
    const std::vector<parquet::ColumnSpec> specs = {
        offline::OutputSpec("user_id", ValueType::kInt64),
        offline::OutputSpec("ts", ValueType::kUnixTimestamp),
        offline::OutputSpec("amount", ValueType::kDouble),
        offline::OutputSpec("merchant", ValueType::kString),
        offline::OutputSpec("qty", ValueType::kInt64)};
    parquet::WriterOptions options;
    options.row_group_rows = 64;
    auto writer = parquet::FileWriter::Create(
        (dir_ / "txns" / absl::StrCat("part-", part, ".parquet")).string(), specs, options);
    ASSERT_TRUE(writer.ok());
    std::vector<parquet::ColumnData> batch(specs.size());
    for (const Txn& x : all) {
      offline::AppendOutputValue(Value::Int64(x.user), &batch[0]);
      offline::AppendOutputValue(Value::UnixTimestamp(x.time), &batch[1]);
      const std::vector<Value> columns = x.Columns();
      for (size_t c = 0; c < 3; ++c) offline::AppendOutputValue(columns[c], &batch[2 + c]);
    }
    ASSERT_TRUE((*writer)->Write(batch, static_cast<int64_t>(all.size())).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    all.clear();  // written: the next part holds only what follows
  };
  std::map<uint64_t, Txn> everything;
  for (const Txn& x : all) everything.emplace(x.Id(), x);
  write_history(0);

  // Offline, at every online read point: the oracle over every event.
  auto check_offline = [&](const std::map<uint64_t, Txn>& truth, bool equal_to_online) {
    std::vector<std::pair<int64_t, Micros>> points;
    for (const auto& [point, values] : online_reads_) points.push_back(point);
    const std::vector<parquet::ColumnSpec> specs = {
        offline::OutputSpec("user_id", ValueType::kInt64),
        offline::OutputSpec("event_timestamp", ValueType::kUnixTimestamp)};
    {
      auto writer = parquet::FileWriter::Create((dir_ / "entities.parquet").string(), specs, {});
      ASSERT_TRUE(writer.ok());
      std::vector<parquet::ColumnData> batch(2);
      for (const auto& [u, t] : points) {
        offline::AppendOutputValue(Value::Int64(u), &batch[0]);
        offline::AppendOutputValue(Value::UnixTimestamp(t), &batch[1]);
      }
      ASSERT_TRUE((*writer)->Write(batch, static_cast<int64_t>(points.size())).ok());
      ASSERT_TRUE((*writer)->Close().ok());
    }
    offline::HistoricalRequest request;
    request.feature_refs = {"txn:*"};
    request.entities_path = (dir_ / "entities.parquet").string();
    request.output_path = (dir_ / "out.parquet").string();
    auto stats = offline::GetHistoricalFeatures(*registry_, request, {});
    ASSERT_TRUE(stats.ok()) << stats.status();
    auto reader = parquet::FileReader::Open(request.output_path);
    ASSERT_TRUE(reader.ok());
    const auto& columns = (*reader)->schema().columns();
    size_t row = 0;
    for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
      std::vector<parquet::ColumnData> data(columns.size());
      std::vector<std::unique_ptr<offline::RowValues>> values;
      for (size_t c = 0; c < columns.size(); ++c) {
        ASSERT_TRUE((*reader)->ReadColumn(g, static_cast<int>(c), &data[c]).ok());
        const ValueType type = c < 2 ? (c == 0 ? ValueType::kInt64 : ValueType::kUnixTimestamp)
                                     : view_->aggregations[c - 2].dtype;
        values.push_back(std::make_unique<offline::RowValues>(columns[c], data[c], type));
      }
      for (int64_t r = 0; r < (*reader)->row_group_rows(g); ++r, ++row) {
        const auto [u, t] = points[row];
        const std::string where = absl::StrCat("offline user ", u, " t ", t - kT0);
        for (size_t a = 0; a < view_->aggregations.size(); ++a) {
          const Aggregation& agg = view_->aggregations[a];
          const Value v = values[2 + a]->Get(r);
          ExpectClose(agg, Oracle(agg, truth, u, t), v, where);
          if (equal_to_online) ExpectSame(agg, online_reads_[{u, t}][a], v, where + " vs online");
        }
        if (HasFailure()) return;
      }
    }
    EXPECT_EQ(row, points.size());
  };
  check_offline(everything, /*equal_to_online=*/false);
  if (HasFatalFailure()) return;

  // Heal: online equals offline (and the oracle over everything) again.
  materialize::HealOptions heal;
  heal.clock = [this] { return now_.load(); };
  auto healed = materialize::HealAggregationView(*registry_, *view_, store_.get(), heal);
  ASSERT_TRUE(healed.ok()) << healed.status();
  EXPECT_EQ(healed->unhealed, 0);
  EXPECT_GT(healed->written, 0);
  applied_ = everything;
  for (const auto& [id, x] : everything) {
    Micros& newest = newest_.try_emplace(x.user, x.time).first->second;
    newest = std::max(newest, x.time);
  }
  online_reads_.clear();
  CheckOnline(applied_, "after heal");
  if (HasFatalFailure()) return;
  check_offline(everything, /*equal_to_online=*/true);
  if (HasFatalFailure()) return;

  // More events, late ones among them, then a second heal.
  online_reads_.clear();
  stream(RandomTxns(rng, 200, now_.load() - 6 * kHour, 12 * kHour), "after heal, streaming");
  if (HasFatalFailure()) return;
  late_in_open_hour();
  if (HasFatalFailure()) return;
  for (const Txn& x : all) everything.emplace(x.Id(), x);
  write_history(1);
  // Over its memory budget: the history is read in passes, an entity each.
  heal.memory_budget_bytes = 1;
  healed = materialize::HealAggregationView(*registry_, *view_, store_.get(), heal);
  ASSERT_TRUE(healed.ok()) << healed.status();
  EXPECT_GT(healed->passes, healed->rounds);
  applied_ = everything;
  online_reads_.clear();
  CheckOnline(applied_, "after the second heal");
  if (HasFatalFailure()) return;
  check_offline(everything, /*equal_to_online=*/true);
}

}  // namespace
}  // namespace pantry
