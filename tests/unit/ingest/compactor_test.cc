// Log batches and their compaction into a view's offline history: values
// read back from the Parquet files, exactly once after an interrupted run,
// schema changes between push and compaction, views that are gone.
#include "server/ingest/compactor.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/log_batch.h"
#include "server/ingest/stream_ledger.h"
#include "server/offline/columns.h"
#include "server/parquet/reader.h"

namespace pantry::ingest {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr Micros kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

TEST(LogBatch, RoundTripsEveryValueAndTime) {
  LogBatch batch;
  batch.view = "stats";
  batch.online = true;
  batch.logged_at = kT0 + 5;
  batch.columns = {"user_id", "clicks", "name", "tags"};
  batch.rows.push_back({kT0, {Value::Int64(7), Value::Int64(-3), Value::String("a\0b"),
                              Value::Int64List({1, 2})}});
  batch.rows.push_back({kT0 + 1, {Value::Int64(8), Value::Null(ValueType::kInt64),
                                  Value::String(""), Value::Null(ValueType::kInt64List)}});
  std::string record;
  EncodeLogBatch(batch, &record);
  absl::StatusOr<LogBatch> back = DecodeLogBatch(record);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->view, "stats");
  EXPECT_TRUE(back->online);
  EXPECT_EQ(back->logged_at, kT0 + 5);
  EXPECT_EQ(back->columns, batch.columns);
  ASSERT_EQ(back->rows.size(), 2u);
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_EQ(back->rows[r].event_time, batch.rows[r].event_time);
    EXPECT_EQ(back->rows[r].values, batch.rows[r].values);
  }
}

TEST(LogBatch, CheckedRowsEncodeAsTheSameBatch) {
  FeatureView view;
  view.name = "stats";
  view.join_keys = {{"user_id", ValueType::kInt64}};
  view.schema = {{"clicks", ValueType::kInt64, "", {}}, {"score", ValueType::kDouble, "", {}}};
  std::vector<CheckedRow> rows = {{{Value::Int64(1)}, {Value::Int64(2), Value::Double(0.5)}, kT0},
                                  {{Value::Int64(3)}, {Value::Null(ValueType::kInt64),
                                                       Value::Double(1)}, kT0 + 1}};
  std::string record;
  EncodeCheckedRows(view, true, kT0 + 7, rows, &record);
  absl::StatusOr<LogBatch> back = DecodeLogBatch(record);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->columns, (std::vector<std::string>{"user_id", "clicks", "score"}));
  EXPECT_EQ(back->logged_at, kT0 + 7);
  ASSERT_EQ(back->rows.size(), 2u);
  EXPECT_EQ(back->rows[1].event_time, kT0 + 1);
  EXPECT_EQ(back->rows[1].values, (std::vector<Value>{Value::Int64(3), Value::Null(ValueType::kInt64),
                                                      Value::Double(1)}));
  int64_t not_castable = 0;
  std::vector<CheckedRow> again = RowsForView(*back, view, &not_castable);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].keys, rows[0].keys);
  EXPECT_EQ(again[0].features, rows[0].features);
  EXPECT_EQ(not_castable, 0);
}

TEST(LogBatch, RefusesDamagedRecordsWithDataLoss) {
  LogBatch batch{"stats", true, kT0, {"user_id", "clicks"}, {{kT0, {Value::Int64(1), Value::Int64(2)}}}};
  std::string record;
  EncodeLogBatch(batch, &record);
  for (size_t cut = 0; cut < record.size(); ++cut) {
    EXPECT_EQ(DecodeLogBatch(record.substr(0, cut)).status().code(), absl::StatusCode::kDataLoss)
        << cut;
  }
  EXPECT_THAT(DecodeLogBatch(record + "x").status().message(), HasSubstr("trailing bytes"));
  EXPECT_THAT(DecodeLogBatch("XX" + record.substr(2)).status().message(), HasSubstr("magic"));
}

class CompactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/pantry-compactor-test-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    SetRegistry(
        "  - name: stats\n"
        "    entities: [user]\n"
        "    schema:\n"
        "      - {name: clicks, dtype: INT64}\n"
        "      - {name: score, dtype: DOUBLE}\n"
        "  - name: risk\n"
        "    entities: [user]\n"
        "    schema:\n"
        "      - {name: level, dtype: STRING}\n");
    OpenLog();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void SetRegistry(const std::string& views) {
    const std::string yaml = absl::StrCat(
        "project: shop\n"
        "offline_store: {path: ",
        dir_, "/offline}\n"
        "entities:\n"
        "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
        "feature_views:\n",
        views);
    auto parsed = ParseRegistry(yaml, "repo.yaml", dir_);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    registry_ = *parsed;
  }

  void OpenLog() {
    wal_.reset();
    WalOptions o;
    o.dir = dir_ + "/wal";
    auto wal = Wal::Open(o, nullptr);
    ASSERT_TRUE(wal.ok()) << wal.status();
    wal_ = std::move(*wal);
    compactor_ = std::make_unique<Compactor>(wal_.get(), [this] { return registry_; }, &ledger_);
  }

  void Push(const std::string& view, const std::vector<std::string>& columns,
            const std::vector<LogRow>& rows) {
    std::string record;
    EncodeLogBatch(LogBatch{view, false, kT0 + 99, columns, rows}, &record);
    ASSERT_TRUE(wal_->Append(record).ok());
  }

  std::string Folder(const std::string& view) { return dir_ + "/offline/views/" + view; }

  // Every row of every file of `view` as "col=value ..." strings, file by
  // file in name order.
  std::vector<std::string> Rows(const std::string& view) {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Folder(view), ec)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    for (const std::string& path : files) {
      auto reader = parquet::FileReader::Open(path);
      EXPECT_TRUE(reader.ok()) << reader.status();
      if (!reader.ok()) continue;
      const auto& columns = (*reader)->schema().columns();
      std::vector<std::string> rows((*reader)->num_rows());
      for (int rg = 0, first = 0; rg < (*reader)->num_row_groups(); ++rg) {
        for (size_t c = 0; c < columns.size(); ++c) {
          parquet::ColumnData data;
          EXPECT_TRUE((*reader)->ReadColumn(rg, static_cast<int>(c), &data).ok());
          const ValueType type = columns[c].name == "clicks" || columns[c].name == "user_id"
                                     ? ValueType::kInt64
                                 : columns[c].name == "score" ? ValueType::kDouble
                                 : columns[c].name == "event_timestamp" || columns[c].name == "ts" ||
                                         columns[c].name == "created"
                                     ? ValueType::kUnixTimestamp
                                     : ValueType::kString;
          offline::RowValues values(columns[c], data, type);
          for (int64_t r = 0; r < values.rows(); ++r) {
            absl::StrAppend(&rows[first + r], c > 0 ? " " : "", columns[c].name, "=",
                            values.Get(r).DebugString());
          }
        }
        first += static_cast<int>((*reader)->row_group_rows(rg));
      }
      out.insert(out.end(), rows.begin(), rows.end());
    }
    return out;
  }

  std::string dir_;
  std::shared_ptr<const Registry> registry_;
  StreamLedger ledger_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<Compactor> compactor_;
};

LogRow Row(int64_t user, Micros t, int64_t clicks, double score) {
  return {t, {Value::Int64(user), Value::Int64(clicks), Value::Double(score)}};
}

TEST_F(CompactorTest, WritesEachViewsRowsIntoItsHistoryAndDeletesTheSegment) {
  Push("stats", {"user_id", "clicks", "score"}, {Row(1, kT0, 10, 0.5), Row(2, kT0 + 1, 20, 1.5)});
  Push("risk", {"user_id", "level"}, {{kT0, {Value::Int64(1), Value::String("high")}}});
  Push("stats", {"user_id", "clicks", "score"}, {Row(1, kT0 + 2, 11, 2.5)});
  absl::StatusOr<CompactStats> stats = compactor_->CompactSealed(/*roll=*/true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->segments, 1);
  EXPECT_EQ(stats->files, 2);
  EXPECT_EQ(stats->rows, 4);
  EXPECT_THAT(Rows("stats"),
              ::testing::ElementsAre(
                  "user_id=1 event_timestamp=2026-01-01T00:00:00Z clicks=10 score=0.5",
                  "user_id=2 event_timestamp=2026-01-01T00:00:00.000001Z clicks=20 score=1.5",
                  "user_id=1 event_timestamp=2026-01-01T00:00:00.000002Z clicks=11 score=2.5"));
  EXPECT_THAT(Rows("risk"), ::testing::ElementsAre(
                                "user_id=1 event_timestamp=2026-01-01T00:00:00Z level=\"high\""));
  EXPECT_TRUE(fs::exists(Folder("stats") + "/" + Compactor::FileName(wal_->id(), 1, 3)));
  EXPECT_EQ(wal_->Segments().size(), 1u);  // only the (empty) current one is left
  // Nothing new: nothing written.
  stats = compactor_->CompactSealed(true);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->files, 0);
  EXPECT_EQ(Rows("stats").size(), 3u);
}

// A crash after some of a segment's files were renamed: the next run skips
// those and writes the rest, so every row is there exactly once.
TEST_F(CompactorTest, InterruptedCompactionIsFinishedWithoutDuplicates) {
  for (int i = 0; i < 50; ++i) {
    Push("stats", {"user_id", "clicks", "score"}, {Row(i, kT0 + i, i, i)});
    Push("risk", {"user_id", "level"}, {{kT0 + i, {Value::Int64(i), Value::String("x")}}});
  }
  ASSERT_TRUE(wal_->Roll().ok());
  const WalSegment sealed = wal_->Segments().front();
  const std::string saved = dir_ + "/saved.log";
  fs::copy_file(sealed.path, saved);
  ASSERT_TRUE(compactor_->CompactSealed(false).ok());
  // As if the process died after the stats file was renamed, before the
  // risk file was and before the segment was deleted.
  fs::remove(Folder("risk") + "/" + Compactor::FileName(wal_->id(), sealed.first_lsn, sealed.last_lsn));
  std::ofstream(Folder("risk") + "/" + Compactor::FileName(wal_->id(), 1, 100) + ".tmp-1-2") << "half";
  fs::copy_file(saved, sealed.path);
  OpenLog();
  absl::StatusOr<CompactStats> stats = compactor_->CompactSealed(false);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->files_present, 1);
  EXPECT_EQ(stats->files, 1);
  EXPECT_EQ(Rows("stats").size(), 50u);
  EXPECT_EQ(Rows("risk").size(), 50u);
  EXPECT_EQ(std::distance(fs::directory_iterator(Folder("risk")), fs::directory_iterator()), 1)
      << "the stale temp file is removed";
}

TEST_F(CompactorTest, MapsRowsToTheViewAsDefinedAtCompaction) {
  // Pushed with an INT32 clicks and a feature since removed; the view now
  // has clicks as INT64 and a new feature `score`.
  Push("stats", {"user_id", "clicks", "gone"},
       {{kT0, {Value::Int64(1), Value::Int32(5), Value::String("x")}}});
  Push("stats", {"user_id", "clicks", "score"},
       {{kT0 + 1, {Value::Int64(2), Value::String("not a number"), Value::Double(1)}}});
  absl::StatusOr<CompactStats> stats = compactor_->CompactSealed(true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->values_not_castable, 1);
  EXPECT_THAT(Rows("stats"),
              ::testing::ElementsAre(
                  "user_id=1 event_timestamp=2026-01-01T00:00:00Z clicks=5 score=null",
                  "user_id=2 event_timestamp=2026-01-01T00:00:00.000001Z clicks=null score=1"));
}

// A view over a source writes the source's time column names; its created
// timestamp is when pantryd logged the push, so later pushes win ties.
TEST_F(CompactorTest, UsesTheSourcesTimeColumnsWithThePushTimeAsCreated) {
  const std::string yaml = absl::StrCat(
      "project: shop\n"
      "offline_store: {path: ", dir_, "/offline}\n"
      "entities:\n"
      "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
      "sources:\n"
      "  - {name: src, path: data, timestamp_field: ts, created_timestamp_field: created}\n"
      "feature_views:\n"
      "  - name: stats\n"
      "    entities: [user]\n"
      "    source: src\n"
      "    schema:\n"
      "      - {name: clicks, dtype: INT64}\n"
      "      - {name: score, dtype: DOUBLE}\n");
  auto parsed = ParseRegistry(yaml, "repo.yaml", dir_);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  registry_ = *parsed;
  Push("stats", {"user_id", "clicks", "score"}, {Row(1, kT0, 10, 0.5)});
  ASSERT_TRUE(compactor_->CompactSealed(true).ok());
  EXPECT_THAT(Rows("stats"), ::testing::ElementsAre(
                                 "user_id=1 ts=2026-01-01T00:00:00Z "
                                 "created=2026-01-01T00:00:00.000099Z clicks=10 score=0.5"));
}

TEST_F(CompactorTest, RowsOfAViewNoLongerDefinedAreDroppedAndCounted) {
  Push("old_view", {"user_id", "x"}, {{kT0, {Value::Int64(1), Value::Int64(1)}}});
  Push("stats", {"user_id", "clicks", "score"}, {Row(1, kT0, 1, 1)});
  absl::StatusOr<CompactStats> stats = compactor_->CompactSealed(true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows_dropped_unknown_view, 1);
  EXPECT_EQ(stats->rows, 1);
  EXPECT_FALSE(fs::exists(Folder("old_view")));
  EXPECT_EQ(wal_->Segments().size(), 1u);
}

TEST_F(CompactorTest, UndecodableRecordStopsWithDataLossAndKeepsTheSegment) {
  Push("stats", {"user_id", "clicks", "score"}, {Row(1, kT0, 1, 1)});
  ASSERT_TRUE(wal_->Append("not a batch").ok());
  absl::StatusOr<CompactStats> stats = compactor_->CompactSealed(true);
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stats.status().message(), HasSubstr("LSN 2"));
  EXPECT_EQ(wal_->Segments().size(), 2u);
}

StreamBatch Entries(const std::vector<std::string>& ids, int64_t first_clicks) {
  StreamBatch batch;
  batch.source = "clicks";
  batch.logged_at = kT0 + 99;
  batch.entry_ids = ids;
  batch.views.resize(1);
  batch.views[0].batch.view = "stats";
  batch.views[0].batch.online = true;
  batch.views[0].batch.columns = {"user_id", "clicks", "score"};
  for (size_t i = 0; i < ids.size(); ++i) {
    batch.views[0].batch.rows.push_back(
        Row(static_cast<int64_t>(i), kT0 + static_cast<Micros>(i), first_clicks + static_cast<int64_t>(i), 0.5));
    batch.views[0].entry_of_row.push_back(static_cast<uint32_t>(i));
  }
  return batch;
}

TEST(StreamBatch, RoundTripsAndRefusesDamage) {
  const StreamBatch batch = Entries({"1-0", "1-1", "2-0"}, 10);
  std::string record;
  EncodeStreamBatch(batch, &record);
  EXPECT_TRUE(IsStreamBatch(record));
  absl::StatusOr<StreamBatch> back = DecodeStreamBatch(record);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->source, "clicks");
  EXPECT_EQ(back->logged_at, kT0 + 99);
  EXPECT_EQ(back->entry_ids, batch.entry_ids);
  ASSERT_EQ(back->views.size(), 1u);
  EXPECT_EQ(back->views[0].entry_of_row, batch.views[0].entry_of_row);
  EXPECT_EQ(back->views[0].batch.rows.size(), 3u);
  EXPECT_EQ(back->views[0].batch.rows[2].values, batch.views[0].batch.rows[2].values);
  for (size_t cut = 0; cut < record.size(); ++cut) {
    EXPECT_EQ(DecodeStreamBatch(record.substr(0, cut)).status().code(), absl::StatusCode::kDataLoss)
        << "cut at " << cut;
  }
  EXPECT_EQ(DecodeStreamBatch(record + "x").status().code(), absl::StatusCode::kDataLoss);
  std::string push;
  EncodeLogBatch(batch.views[0].batch, &push);
  EXPECT_FALSE(IsStreamBatch(push));
}

// Of a stream batch, only the entries the ledger decided for are written;
// the compactor waits for an undecided batch and for one being appended.
TEST_F(CompactorTest, StreamBatchesAreCompactedByTheirDecisions) {
  std::string record;
  EncodeStreamBatch(Entries({"1-0", "1-1", "1-2", "1-3"}, 10), &record);
  ledger_.Appending();
  absl::StatusOr<uint64_t> lsn = wal_->Append(record);
  ASSERT_TRUE(lsn.ok());
  absl::StatusOr<CompactStats> stats = compactor_->CompactSealed(true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->segments_waiting, 1) << "an append in flight holds compaction back";
  ledger_.Logged(*lsn, "clicks", 4);
  stats = compactor_->CompactSealed(true);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->segments_waiting, 1) << "undecided";
  EXPECT_TRUE(Rows("stats").empty());
  ledger_.Decide(*lsn, "1011");
  EXPECT_TRUE(ledger_.TakeForgotten("clicks").empty());
  stats = compactor_->CompactSealed(true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->segments_waiting, 0);
  EXPECT_EQ(stats->rows, 3);
  EXPECT_EQ(stats->rows_duplicate, 1);
  const std::vector<std::string> rows = Rows("stats");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(rows[0], HasSubstr("clicks=10"));
  EXPECT_THAT(rows[1], HasSubstr("clicks=12"));
  EXPECT_THAT(rows[2], HasSubstr("clicks=13"));
  EXPECT_EQ(ledger_.size(), 0u);
  EXPECT_EQ(ledger_.TakeForgotten("clicks"), std::vector<uint64_t>{*lsn});
}

}  // namespace
}  // namespace pantry::ingest
