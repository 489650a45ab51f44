// The aggregation kernel against a naive oracle written here: the offline
// evaluation (EvaluateAt) and the online state (EntityState: Apply, Read,
// Encode/Decode, Heal) over random events with ties, nulls, duplicates,
// events on window starts and hop edges, and late events.
#include "server/transform/aggregate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/registry/registry.h"

namespace pantry::transform {
namespace {

constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kDay = 24 * kHour;
constexpr Micros kT0 = 1767225600 * kSecond;  // 2026-01-01T00:00:00Z

Aggregation Agg(std::string name, AggFunction f, std::string column, ValueType column_type,
                Micros window, Micros hop, int n = 0) {
  Aggregation a;
  a.name = std::move(name);
  a.function = f;
  a.column = std::move(column);
  a.column_type = column_type;
  a.window = window;
  a.hop = hop;
  a.n = n;
  a.dtype = *AggregationResultType(
      f, a.column.empty() ? std::nullopt : std::optional<ValueType>(column_type));
  return a;
}

// A view over events with an amount (DOUBLE, nullable), a quantity (INT64)
// and a merchant (STRING).
FeatureView TestView() {
  FeatureView v;
  v.name = "txn";
  v.join_keys = {{"user_id", ValueType::kInt64}};
  v.event_columns = {{"amount", ValueType::kDouble, "", {}},
                     {"quantity", ValueType::kInt64, "", {}},
                     {"merchant", ValueType::kString, "", {}}};
  const ValueType d = ValueType::kDouble, i = ValueType::kInt64, s = ValueType::kString;
  v.aggregations = {
      Agg("n_1h", AggFunction::kCount, "", i, kHour, 5 * kMinute),
      Agg("n_amount_1h", AggFunction::kCount, "amount", d, kHour, 5 * kMinute),
      Agg("sum_1h", AggFunction::kSum, "amount", d, kHour, 5 * kMinute),
      Agg("sum_1d", AggFunction::kSum, "amount", d, kDay, kHour),
      Agg("qsum_1d", AggFunction::kSum, "quantity", i, kDay, kHour),
      Agg("mean_1d", AggFunction::kMean, "amount", d, kDay, kHour),
      Agg("sd_1d", AggFunction::kStddev, "amount", d, kDay, kHour),
      Agg("min_1h", AggFunction::kMin, "amount", d, kHour, 5 * kMinute),
      Agg("max_7d", AggFunction::kMax, "quantity", i, 7 * kDay, kHour),
      Agg("last_1d", AggFunction::kLast, "merchant", s, kDay, kHour),
      Agg("last3_1d", AggFunction::kLastN, "merchant", s, kDay, kHour, 3),
      Agg("distinct_7d", AggFunction::kApproxCountDistinct, "merchant", s, 7 * kDay, kHour),
  };
  for (const Aggregation& a : v.aggregations) v.schema.push_back({a.name, a.dtype, "", {}});
  return v;
}

struct Event {
  Micros time;
  std::optional<double> amount;
  int64_t quantity;
  std::string merchant;
};

EntityState::RawEvent Raw(const AggregationPlan& plan, const FeatureView& view, const Event& e) {
  std::vector<Value> all = {e.amount ? Value::Double(*e.amount) : Value::Null(ValueType::kDouble),
                            Value::Int64(e.quantity), Value::String(e.merchant)};
  EventIdBuilder id;
  id.AddValue(Value::Int64(7));  // the user
  id.AddTime(e.time);
  for (const Value& v : all) id.AddValue(v);
  EntityState::RawEvent raw;
  raw.key = {e.time, id.Finish()};
  for (int c : plan.used_columns) raw.values.push_back(all[static_cast<size_t>(c)]);
  (void)view;
  return raw;
}

// The oracle: each aggregation computed from its definition, over distinct
// events (by content) in [t - window rounded down to the hop, t].
Value Oracle(const Aggregation& a, const std::vector<std::pair<EventKey, Event>>& events,
             Micros t) {
  const Micros start = ((t - a.window) / a.hop) * a.hop;
  std::vector<std::pair<EventKey, Event>> in;
  for (const auto& e : events) {
    if (e.second.time >= start && e.second.time <= t) in.push_back(e);
  }
  std::sort(in.begin(), in.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<double> amounts;
  std::vector<int64_t> quantities;
  for (const auto& [key, e] : in) {
    if (e.amount) amounts.push_back(*e.amount);
    quantities.push_back(e.quantity);
  }
  switch (a.function) {
    case AggFunction::kCount:
      return Value::Int64(a.column.empty() ? static_cast<int64_t>(in.size())
                                           : static_cast<int64_t>(amounts.size()));
    case AggFunction::kSum:
      if (a.column == "quantity") {
        if (quantities.empty()) return Value::Null(ValueType::kInt64);
        int64_t s = 0;
        for (int64_t q : quantities) s += q;
        return Value::Int64(s);
      } else {
        if (amounts.empty()) return Value::Null(ValueType::kDouble);
        double s = 0;
        for (double x : amounts) s += x;
        return Value::Double(s);
      }
    case AggFunction::kMean: {
      if (amounts.empty()) return Value::Null(ValueType::kDouble);
      double s = 0;
      for (double x : amounts) s += x;
      return Value::Double(s / static_cast<double>(amounts.size()));
    }
    case AggFunction::kStddev: {
      if (amounts.empty()) return Value::Null(ValueType::kDouble);
      double s = 0;
      for (double x : amounts) s += x;
      const double mean = s / static_cast<double>(amounts.size());
      double ss = 0;
      for (double x : amounts) ss += (x - mean) * (x - mean);
      return Value::Double(std::sqrt(ss / static_cast<double>(amounts.size())));
    }
    case AggFunction::kMin:
      if (amounts.empty()) return Value::Null(ValueType::kDouble);
      return Value::Double(*std::min_element(amounts.begin(), amounts.end()));
    case AggFunction::kMax:
      if (quantities.empty()) return Value::Null(ValueType::kInt64);
      return Value::Int64(*std::max_element(quantities.begin(), quantities.end()));
    case AggFunction::kLast:
      if (in.empty()) return Value::Null(ValueType::kString);
      return Value::String(in.back().second.merchant);
    case AggFunction::kLastN: {
      if (in.empty()) return Value::Null(ValueType::kStringList);
      std::vector<std::string> latest;
      for (size_t k = in.size(); k-- > 0 && latest.size() < static_cast<size_t>(a.n);) {
        latest.push_back(in[k].second.merchant);
      }
      return Value::StringList(latest);
    }
    case AggFunction::kApproxCountDistinct: {
      if (in.empty()) return Value::Null(ValueType::kInt64);
      std::set<std::string> distinct;
      for (const auto& [key, e] : in) distinct.insert(e.merchant);
      return Value::Int64(static_cast<int64_t>(distinct.size()));  // exact: compared loosely
    }
  }
  return Value();
}

// Exact for counts, extremes, latest values; 1e-9 relative for sums, means
// and deviations; approx_count_distinct within 3% (+1) of the exact count.
void ExpectMatches(const Aggregation& a, const Value& want, const Value& got,
                   const std::string& where) {
  ASSERT_EQ(want.is_null(), got.is_null()) << where << " " << a.name << ": want "
                                           << want.DebugString() << " got " << got.DebugString();
  if (want.is_null()) return;
  if (a.function == AggFunction::kApproxCountDistinct) {
    const double w = static_cast<double>(want.get<int64_t>());
    EXPECT_NEAR(static_cast<double>(got.get<int64_t>()), w, 0.03 * w + 1) << where << " " << a.name;
    return;
  }
  if (a.dtype == ValueType::kDouble) {
    const double w = want.get<double>(), g = got.get<double>();
    EXPECT_LE(std::fabs(w - g), 1e-9 * std::max(1.0, std::fabs(w)))
        << where << " " << a.name << ": want " << w << " got " << g;
    return;
  }
  EXPECT_EQ(want, got) << where << " " << a.name;
}

// Random events for one entity: times clustered on hop edges and window
// starts, ties, null amounts, repeated merchants, and duplicates.
std::vector<Event> RandomEvents(std::mt19937_64& rng, int n) {
  std::vector<Event> events;
  const char* merchants[] = {"a", "b", "c", "d", "e", "zoë", "f", "g"};
  for (int i = 0; i < n; ++i) {
    Event e;
    switch (rng() % 5) {
      case 0: e.time = kT0 + static_cast<Micros>(rng() % 9) * kDay; break;               // on days
      case 1: e.time = kT0 + static_cast<Micros>(rng() % 200) * 5 * kMinute; break;      // on hops
      case 2: e.time = kT0 + static_cast<Micros>(rng() % 200) * 5 * kMinute - 1; break;  // just before
      default: e.time = kT0 + static_cast<Micros>(rng() % static_cast<uint64_t>(9 * kDay)); break;
    }
    if (rng() % 6 != 0) e.amount = static_cast<double>(rng() % 100000) / 100.0 - 100;
    e.quantity = static_cast<int64_t>(rng() % 20) - 5;
    e.merchant = merchants[rng() % 8];
    events.push_back(e);
    if (rng() % 7 == 0) events.push_back(e);                 // delivered twice
    if (rng() % 11 == 0) {                                   // a tie, another event
      Event tie = e;
      tie.quantity += 1;
      events.push_back(tie);
    }
  }
  return events;
}

std::vector<Micros> ReadTimes(std::mt19937_64& rng, const std::vector<Event>& events, int n) {
  std::vector<Micros> times;
  for (int i = 0; i < n; ++i) {
    const Event& e = events[rng() % events.size()];
    switch (rng() % 4) {
      case 0: times.push_back(e.time); break;                  // exactly an event
      case 1: times.push_back(e.time - 1); break;              // just before one
      case 2: times.push_back(e.time + kHour); break;          // an event on the window start
      default: times.push_back(e.time + static_cast<Micros>(rng() % static_cast<uint64_t>(kDay)));
    }
  }
  std::sort(times.begin(), times.end());
  return times;
}

std::vector<std::pair<EventKey, Event>> Distinct(const AggregationPlan& plan,
                                                 const FeatureView& view,
                                                 const std::vector<Event>& events) {
  std::map<EventKey, Event> by_key;
  for (const Event& e : events) by_key.emplace(Raw(plan, view, e).key, e);
  return {by_key.begin(), by_key.end()};
}

TEST(Aggregate, OfflineEvaluationEqualsTheOracle) {
  const FeatureView view = TestView();
  const AggregationPlan plan = MakePlan(view, 0);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    const std::vector<Event> events = RandomEvents(rng, 150);
    std::vector<EntityState::RawEvent> raw;
    for (const Event& e : events) raw.push_back(Raw(plan, view, e));
    SortAndDedupe(&raw);
    const std::vector<Micros> times = ReadTimes(rng, events, 60);
    const auto distinct = Distinct(plan, view, events);
    EvaluateAt(plan, raw, times, [&](size_t i, size_t o, Value v) {
      ExpectMatches(view.aggregations[o], Oracle(view.aggregations[o], distinct, times[i]), v,
                    "seed " + std::to_string(seed) + " t " + std::to_string(times[i] - kT0));
    });
    if (HasFatalFailure()) return;
  }
}

// Online: events arrive in random order in batches; each batch is applied
// at an arrival clock after its events (at most 5 minutes early), the state
// goes through its stored form, and reads at the clock see exactly the
// events applied (those not late) in their windows. A heal from the full
// history then makes online equal the oracle over every event.
TEST(Aggregate, OnlineStateEqualsTheOracleAndHealBringsInLateEvents) {
  const FeatureView view = TestView();
  for (Micros lateness : {Micros{0}, 30 * kMinute}) {
    const AggregationPlan plan = MakePlan(view, lateness);
    for (uint64_t seed = 1; seed <= 15; ++seed) {
      std::mt19937_64 rng(seed * 1000 + static_cast<uint64_t>(lateness));
      std::vector<Event> events = RandomEvents(rng, 120);
      // Mostly in time order, with some shuffled: late events.
      std::sort(events.begin(), events.end(),
                [](const Event& a, const Event& b) { return a.time < b.time; });
      for (size_t i = 0; i + 1 < events.size(); ++i) {
        if (rng() % 6 == 0) std::swap(events[i], events[std::min(events.size() - 1, i + 1 + rng() % 8)]);
      }
      EntityState state(&plan);
      std::vector<Event> applied;  // the oracle's view of what online holds
      Micros newest = kNoTimestamp;
      Micros clock = kT0;
      size_t i = 0;
      const std::string where = "lateness " + std::to_string(lateness) + " seed " + std::to_string(seed);
      while (i < events.size()) {
        const size_t batch = 1 + rng() % 4;
        std::vector<EntityState::RawEvent> raw;
        Micros latest = 0;
        const Micros late_before = newest == kNoTimestamp ? kNoTimestamp : newest - lateness;
        std::set<EventKey> known;
        for (const Event& e : applied) known.insert(Raw(plan, view, e).key);
        for (size_t k = 0; k < batch && i < events.size(); ++k, ++i) {
          const Event& e = events[i];
          raw.push_back(Raw(plan, view, e));
          latest = std::max(latest, e.time);
          if (late_before != kNoTimestamp && e.time < late_before) continue;
          if (!known.insert(raw.back().key).second) continue;
          applied.push_back(e);
        }
        for (const Event& e : applied) newest = std::max(newest == kNoTimestamp ? e.time : newest, e.time);
        clock = std::max(clock, latest - static_cast<Micros>(rng() % static_cast<uint64_t>(5 * kMinute)));
        state.Apply(std::move(raw), clock);
        // Through the stored form.
        const std::string bytes = state.Encode();
        EntityState copy(&plan);
        ASSERT_TRUE(copy.Decode(bytes).ok()) << where;
        ASSERT_EQ(copy.Encode(), bytes) << where;
        const auto distinct = Distinct(plan, view, applied);
        const Micros t = clock + static_cast<Micros>(rng() % static_cast<uint64_t>(kHour));
        std::vector<Value> values;
        std::vector<bool> present;
        copy.Read(t, &values, &present);
        for (size_t o = 0; o < values.size(); ++o) {
          ASSERT_TRUE(present[o]);
          ExpectMatches(view.aggregations[o], Oracle(view.aggregations[o], distinct, t), values[o],
                        where + " online t " + std::to_string(t - kT0));
        }
        if (HasFatalFailure()) return;
        state = std::move(copy);
      }
      // Heal from the whole history (duplicates and all).
      std::vector<EntityState::RawEvent> history;
      for (const Event& e : events) history.push_back(Raw(plan, view, e));
      ASSERT_TRUE(state.Heal(history, state.FoldBoundary(), clock)) << where;
      const auto everything = Distinct(plan, view, events);
      std::vector<Value> values;
      std::vector<bool> present;
      state.Read(clock, &values, &present);
      for (size_t o = 0; o < values.size(); ++o) {
        ExpectMatches(view.aggregations[o], Oracle(view.aggregations[o], everything, clock),
                      values[o], where + " healed");
      }
    }
  }
}

TEST(Aggregate, WindowSpansFromTheHopBeforeItsStart) {
  // A 1d window with 1h hops read at 10:30 starts at 10:00 the day before.
  EXPECT_EQ(WindowStart(kT0 + kDay + 10 * kHour + 30 * kMinute, kDay, kHour), kT0 + 10 * kHour);
  EXPECT_EQ(WindowStart(kT0 + kDay + 10 * kHour, kDay, kHour), kT0 + 10 * kHour);
  EXPECT_EQ(FloorTo(-1, kHour), -kHour);
}

TEST(Aggregate, EmptyWindowsGiveZeroCountsAndNulls) {
  const FeatureView view = TestView();
  const AggregationPlan plan = MakePlan(view, 0);
  EntityState state(&plan);
  std::vector<Value> values;
  std::vector<bool> present;
  state.Read(kT0, &values, &present);
  ASSERT_EQ(values.size(), view.aggregations.size());
  EXPECT_EQ(values[0], Value::Int64(0));
  EXPECT_EQ(values[1], Value::Int64(0));
  for (size_t o = 2; o < values.size(); ++o) EXPECT_TRUE(values[o].is_null()) << o;
}

TEST(Aggregate, ADuplicateIsCountedOnceAndALateEventNotAtAll) {
  const FeatureView view = TestView();
  const AggregationPlan plan = MakePlan(view, 0);
  EntityState state(&plan);
  const Event e{kT0 + kHour, 5.0, 1, "a"};
  auto stats = state.Apply({Raw(plan, view, e), Raw(plan, view, e)}, kT0 + kHour);
  EXPECT_EQ(stats.applied, 1);
  EXPECT_EQ(stats.duplicate, 1);
  stats = state.Apply({Raw(plan, view, e)}, kT0 + 2 * kHour);
  EXPECT_EQ(stats.duplicate, 1);
  stats = state.Apply({Raw(plan, view, Event{kT0 + kHour - 1, 1.0, 1, "b"})}, kT0 + 2 * kHour);
  EXPECT_EQ(stats.late, 1);
  std::vector<Value> values;
  std::vector<bool> present;
  state.Read(kT0 + 2 * kHour, &values, &present);
  EXPECT_EQ(values[0], Value::Int64(1));  // 1h window at 2:00 starts at 1:00: the event is in
  state.Read(kT0 + kHour + 30 * kMinute, &values, &present);
  EXPECT_EQ(values[0], Value::Int64(1));
  EXPECT_EQ(values[3], Value::Double(5.0));
}

TEST(Aggregate, AnEventAfterTheReadTimeIsNotCounted) {
  const FeatureView view = TestView();
  const AggregationPlan plan = MakePlan(view, 0);
  EntityState state(&plan);
  state.Apply({Raw(plan, view, Event{kT0 + 10 * kMinute, 1.0, 1, "a"}),
               Raw(plan, view, Event{kT0 + 12 * kMinute, 2.0, 1, "b"})},
              kT0 + 10 * kMinute);
  std::vector<Value> values;
  std::vector<bool> present;
  state.Read(kT0 + 11 * kMinute, &values, &present);
  EXPECT_EQ(values[0], Value::Int64(1));
  EXPECT_EQ(values[9], Value::String("a"));
}

TEST(Aggregate, TilesBeyondTheLongestWindowAreDropped) {
  const FeatureView view = TestView();
  const AggregationPlan plan = MakePlan(view, 0);
  EntityState state(&plan);
  for (int d = 0; d < 30; ++d) {
    state.Apply({Raw(plan, view, Event{kT0 + d * kDay, 1.0, 1, "a"})}, kT0 + d * kDay);
  }
  for (const auto& set : state.tile_sets()) {
    for (const auto& tile : set.tiles) {
      EXPECT_GE(tile.index * kHour, kT0 + 29 * kDay - 7 * kDay - 2 * kHour);
    }
  }
  EXPECT_LE(state.raw().size(), 1u);
  EXPECT_EQ(state.Expiry(kT0 + 29 * kDay), 7 * kDay + 2 * kHour);
}

TEST(Aggregate, ASpecAddedLaterIsNotAnsweredUntilHealed) {
  FeatureView view = TestView();
  FeatureView smaller = view;
  smaller.aggregations.resize(2);
  smaller.schema.resize(2);
  const AggregationPlan old_plan = MakePlan(smaller, 0);
  EntityState old_state(&old_plan);
  const Event e{kT0, 5.0, 1, "a"};
  old_state.Apply({Raw(old_plan, smaller, e)}, kT0 + 2 * kHour);
  const AggregationPlan plan = MakePlan(view, 0);
  EntityState state(&plan);
  ASSERT_TRUE(state.Decode(old_state.Encode()).ok());
  std::vector<Value> values;
  std::vector<bool> present;
  state.Read(kT0 + 2 * kHour, &values, &present);
  EXPECT_TRUE(present[0]);
  EXPECT_FALSE(present[3]);  // sum_1d: its tiles began after the event
  ASSERT_TRUE(state.Heal({Raw(plan, view, e)}, state.FoldBoundary(), kT0 + 2 * kHour));
  state.Read(kT0 + 2 * kHour, &values, &present);
  EXPECT_TRUE(present[3]);
  EXPECT_EQ(values[3], Value::Double(5.0));
}

TEST(Aggregate, HealRefusesWhenFoldsMovedSinceTheHistoryWasRead) {
  const FeatureView view = TestView();
  const AggregationPlan plan = MakePlan(view, 0);
  EntityState state(&plan);
  state.Apply({Raw(plan, view, Event{kT0, 1.0, 1, "a"})}, kT0);
  const Micros before = state.FoldBoundary();
  state.Apply({Raw(plan, view, Event{kT0 + 2 * kHour, 1.0, 1, "a"})}, kT0 + 2 * kHour);
  EXPECT_FALSE(state.Heal({}, before, kT0 + 2 * kHour));
  EXPECT_TRUE(state.Heal({}, state.FoldBoundary(), kT0 + 2 * kHour));
}

TEST(Aggregate, CorruptStatesAreRefused) {
  const FeatureView view = TestView();
  const AggregationPlan plan = MakePlan(view, 0);
  EntityState state(&plan);
  state.Apply({Raw(plan, view, Event{kT0, 1.0, 1, "a"})}, kT0 + 2 * kHour);
  const std::string bytes = state.Encode();
  EntityState copy(&plan);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(copy.Decode(bytes.substr(0, cut)).ok()) << cut;
  }
  std::string future = bytes;
  future[0] = 9;
  EXPECT_EQ(copy.Decode(future).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Aggregate, HashIsStable) {
  EXPECT_EQ(Hash64("", 0), Hash64("", 0));
  EXPECT_NE(Hash64("a", 0), Hash64("b", 0));
  // Pinned: stored ids and sketches depend on it.
  EXPECT_EQ(Hash64("pantry", 0), Hash64(std::string("pantry"), 0));
}

TEST(Aggregate, ApproxCountDistinctIsCloseAndTheSameHoweverMerged) {
  TileSpec spec;
  spec.function = AggFunction::kApproxCountDistinct;
  spec.column = 0;
  spec.column_type = ValueType::kInt64;
  for (int n : {1, 10, 100, 1000, 10000, 100000}) {
    State whole, left, right;
    for (int i = 0; i < n; ++i) {
      const Value v = Value::Int64(i * 7919);
      whole.Add(spec, v, {});
      (i % 3 == 0 ? left : right).Add(spec, v, {});
      if (i % 5 == 0) right.Add(spec, v, {});  // seen twice
    }
    left.Merge(spec, right);
    const int64_t a = whole.Finalize(spec, ValueType::kInt64).get<int64_t>();
    const int64_t b = left.Finalize(spec, ValueType::kInt64).get<int64_t>();
    EXPECT_EQ(a, b) << n;
    EXPECT_NEAR(static_cast<double>(a), n, 0.05 * n + 1) << n;
    std::string bytes;
    left.Encode(spec, &bytes);
    State back;
    absl::string_view in = bytes;
    ASSERT_TRUE(back.Decode(spec, &in));
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(back.Finalize(spec, ValueType::kInt64).get<int64_t>(), b);
  }
}

}  // namespace
}  // namespace pantry::transform
