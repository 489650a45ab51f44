// Apply-time checks of data sources against their Parquet files, alone and
// through RegistryManager.
#include "server/offline/validate.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/offline/columns.h"
#include "server/parquet/writer.h"
#include "server/registry/manager.h"
#include "server/registry/registry.h"

namespace pantry::offline {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::SizeIs;
namespace fs = std::filesystem;

using Columns = std::vector<std::pair<std::string, ValueType>>;

// A few rows of the given columns, written the way Pantry writes outputs.
void WriteParquet(const fs::path& path, const Columns& columns) {
  fs::create_directories(path.parent_path());
  std::vector<parquet::ColumnSpec> specs;
  for (const auto& [name, type] : columns) specs.push_back(OutputSpec(name, type));
  auto writer = parquet::FileWriter::Create(path.string(), specs, parquet::WriterOptions{});
  ASSERT_TRUE(writer.ok()) << writer.status();
  constexpr int kRows = 3;
  std::vector<parquet::ColumnData> batch(columns.size());
  for (int r = 0; r < kRows; ++r) {
    for (size_t c = 0; c < columns.size(); ++c) {
      const ValueType t = columns[c].second;
      Value v = Value::Null(t);
      if (t == ValueType::kInt64) v = Value::Int64(r);
      if (t == ValueType::kUnixTimestamp) v = Value::UnixTimestamp(1'700'000'000'000'000 + r);
      if (t == ValueType::kString) v = Value::String("s" + std::to_string(r));
      AppendOutputValue(v, &batch[c]);
    }
  }
  ASSERT_TRUE((*writer)->Write(batch, kRows).ok());
  ASSERT_TRUE((*writer)->Close().ok());
}

const Columns kGoodTxn = {{"user_id", ValueType::kInt64},
                          {"merchant_id", ValueType::kString},
                          {"txn_count_7d", ValueType::kInt64},
                          {"avg_amount_7d", ValueType::kDouble},
                          {"countries", ValueType::kStringList},
                          {"last_txn_at", ValueType::kUnixTimestamp},
                          {"event_timestamp", ValueType::kUnixTimestamp},
                          {"created", ValueType::kUnixTimestamp}};
const Columns kGoodMerchant = {{"merchant_id", ValueType::kString},
                               {"rate", ValueType::kFloat},
                               {"ts", ValueType::kUnixTimestamp}};

constexpr char kRepo[] = R"(project: p
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
  - {name: merchant, join_keys: [merchant_id], value_type: STRING}
sources:
  - {name: txn_src, path: txn.parquet, timestamp_field: event_timestamp, created_timestamp_field: created}
  - {name: merchant_src, path: merchants, timestamp_field: ts}
  - {name: unused_src, path: unused.bin, timestamp_field: ts}
feature_views:
  - name: user_stats
    entities: [user]
    source: txn_src
    schema:
      - {name: txn_count_7d, dtype: INT64}
      - {name: avg_amount_7d, dtype: DOUBLE}
      - {name: countries, dtype: STRING_LIST}
  - name: user_merchant
    entities: [user, merchant]
    source: txn_src
    schema: [{name: last_txn_at, dtype: UNIX_TIMESTAMP}]
  - name: merchant_risk
    entities: [merchant]
    source: merchant_src
    schema: [{name: rate, dtype: FLOAT}]
  - name: no_source
    entities: [user]
    schema: [{name: x, dtype: INT64}]
)";

class ValidateSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pantry-validate-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteGoodFiles() {
    WriteParquet(dir_ / "txn.parquet", kGoodTxn);
    WriteParquet(dir_ / "merchants/date=2024-01-01/part-0.parquet", kGoodMerchant);
    WriteParquet(dir_ / "merchants/date=2024-01-02/part-0.parquet", kGoodMerchant);
    std::ofstream(dir_ / "unused.bin") << "not parquet, but nobody reads it";
  }

  absl::Status Validate(const std::string& yaml = kRepo) {
    auto registry = ParseRegistry(yaml, "repo.yaml", dir_.string());
    EXPECT_TRUE(registry.ok()) << registry.status();
    if (!registry.ok()) return registry.status();
    return ValidateSources(**registry);
  }

  std::string P(const std::string& rel) const { return (dir_ / rel).string(); }

  fs::path dir_;
};

std::vector<std::string> Lines(const absl::Status& s) {
  return absl::StrSplit(std::string(s.message()), '\n');
}

TEST_F(ValidateSourcesTest, GoodRepositoryPasses) {
  WriteGoodFiles();
  EXPECT_TRUE(Validate().ok()) << Validate();
}

TEST_F(ValidateSourcesTest, RepositoryWithoutSourcesPasses) {
  auto registry = ParseRegistry("project: p\n", "repo.yaml", dir_.string());
  ASSERT_TRUE(registry.ok());
  EXPECT_TRUE(ValidateSources(**registry).ok());
}

TEST_F(ValidateSourcesTest, EveryProblemIsReportedAtOnceNamingViewSourceFileAndColumn) {
  const std::string txn = P("txn.parquet");
  // Wrong key type, no merchant_id, no event time, a created time that is
  // text, a feature of the wrong type, a missing feature.
  WriteParquet(txn, {{"user_id", ValueType::kString},
                     {"created", ValueType::kString},
                     {"avg_amount_7d", ValueType::kString},
                     {"countries", ValueType::kStringList},
                     {"last_txn_at", ValueType::kUnixTimestamp}});
  fs::create_directories(dir_ / "merchants");
  std::ofstream(dir_ / "merchants" / "broken.parquet") << "this is not a Parquet file at all";
  // unused.bin does not exist.
  const absl::Status s = Validate();
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  const std::string columns = "(columns: user_id, created, avg_amount_7d, countries, last_txn_at)";
  const std::string us = "feature view 'user_stats': source 'txn_src' (" + txn + "): ";
  const std::string um = "feature view 'user_merchant': source 'txn_src' (" + txn + "): ";
  const std::vector<std::string> lines = Lines(s);
  EXPECT_THAT(lines, Contains(us + "no timestamp_field column 'event_timestamp' " + columns));
  EXPECT_THAT(lines,
              Contains(us + "time column 'created' is BYTE_ARRAY STRING OPTIONAL, expected "
                            "a TIMESTAMP, a DATE or an INT64 of microseconds since the epoch"));
  EXPECT_THAT(lines, Contains(us + "join key column 'user_id' is BYTE_ARRAY STRING OPTIONAL, the "
                                   "entity's keys are INT64"));
  EXPECT_THAT(lines, Contains(us + "no column 'txn_count_7d' " + columns));
  EXPECT_THAT(lines, Contains(us + "column 'avg_amount_7d' is BYTE_ARRAY STRING OPTIONAL, the view "
                                   "declares DOUBLE"));
  EXPECT_THAT(lines, Contains(um + "no join key column 'merchant_id' " + columns));
  EXPECT_THAT(lines, Contains(::testing::StartsWith("source 'merchant_src' (" +
                                                    P("merchants/broken.parquet") + "): ")));
  EXPECT_THAT(lines, Contains("source 'unused_src': no Parquet files at " + P("unused.bin") +
                              ": no such file or folder"));
  // user_stats: 5 problems; user_merchant: the same 3 source-level ones, its
  // two join keys (user_id wrong, merchant_id missing); 2 source lines.
  EXPECT_THAT(lines, SizeIs(5 + 4 + 2)) << s;
  // Source problems first, then views by name.
  EXPECT_THAT(lines[0], ::testing::StartsWith("source 'merchant_src'"));
  EXPECT_THAT(lines[1], ::testing::StartsWith("source 'unused_src'"));
  EXPECT_THAT(lines[2], ::testing::StartsWith("feature view 'user_merchant'"));
  EXPECT_THAT(lines.back(), ::testing::StartsWith("feature view 'user_stats'"));
}

TEST_F(ValidateSourcesTest, SourceMatchingNoFileIsAnError) {
  WriteGoodFiles();
  fs::remove_all(dir_ / "merchants");
  fs::create_directories(dir_ / "merchants");
  std::ofstream(dir_ / "merchants" / "_SUCCESS");
  const absl::Status s = Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "source 'merchant_src': no Parquet files at " + P("merchants"));
}

TEST_F(ValidateSourcesTest, UnusedSourceIsCheckedForExistenceOnly) {
  WriteGoodFiles();
  // unused.bin is no Parquet file: fine, no view reads it.
  EXPECT_TRUE(Validate().ok());
  fs::remove(dir_ / "unused.bin");
  const absl::Status s = Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Lines(s), SizeIs(1));
  EXPECT_THAT(s.message(), HasSubstr("source 'unused_src': no Parquet files at"));
}

TEST_F(ValidateSourcesTest, EveryFileOfASourceIsCheckedAndRepeatsAreOneLine) {
  WriteGoodFiles();
  const Columns no_rate = {{"merchant_id", ValueType::kString}, {"ts", ValueType::kUnixTimestamp}};
  WriteParquet(dir_ / "merchants/date=2024-01-03/part-0.parquet", no_rate);
  WriteParquet(dir_ / "merchants/date=2024-01-04/part-0.parquet", no_rate);
  WriteParquet(dir_ / "merchants/date=2024-01-05/part-0.parquet", no_rate);
  const absl::Status s = Validate();
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "feature view 'merchant_risk': source 'merchant_src' (" +
                             P("merchants/date=2024-01-03/part-0.parquet") +
                             " and 2 more files): no column 'rate' (columns: merchant_id, ts)");
}

TEST_F(ValidateSourcesTest, GlobSourcesAreChecked) {
  WriteGoodFiles();
  std::string yaml = kRepo;
  yaml.replace(yaml.find("path: merchants"), 15, "path: \"merchants/*/*.parquet\"");
  EXPECT_TRUE(Validate(yaml).ok()) << Validate(yaml);
  yaml.replace(yaml.find("merchants/*/*.parquet"), 21, "merchants/*/*.parq");
  EXPECT_THAT(Validate(yaml).message(), HasSubstr("source 'merchant_src': no Parquet files at"));
}

// RegistryManager wired with ValidateSources, as pantryd does.
class ManagerWithSourcesTest : public ValidateSourcesTest {
 protected:
  std::string Repo(const std::string& txn_path) {
    std::string yaml = kRepo;
    yaml.replace(yaml.find("path: txn.parquet"), 17, "path: " + txn_path);
    return yaml;
  }
};

TEST_F(ManagerWithSourcesTest, ApplyWithABadSourceIsRejectedAndTheOldRegistryKeepsServing) {
  WriteGoodFiles();
  std::ofstream(dir_ / "repo.yaml") << kRepo;
  auto initial = RegistryManager::LoadInitial(P("repo.yaml"), P("state"), ValidateSources);
  ASSERT_TRUE(initial.ok()) << initial.status();
  RegistryHolder holder(*initial);
  RegistryManager manager(&holder, P("state"), ValidateSources);

  WriteParquet(dir_ / "other.parquet", {{"user_id", ValueType::kInt64}});
  auto applied = manager.Apply(Repo("other.parquet"), "next.yaml", dir_.string());
  ASSERT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(applied.status().message(),
              HasSubstr("feature view 'user_stats': source 'txn_src' (" + P("other.parquet") +
                        "): no column 'txn_count_7d'"));
  EXPECT_THAT(applied.status().message(), HasSubstr("no timestamp_field column 'event_timestamp'"));
  EXPECT_EQ(holder.Get(), *initial);
  EXPECT_EQ(holder.Get()->sources.at("txn_src").path, P("txn.parquet"));
  EXPECT_FALSE(fs::exists(dir_ / "state" / "applied_repository.yaml"));

  auto missing = manager.Apply(Repo("gone.parquet"), "next.yaml", dir_.string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("source 'txn_src': no Parquet files at"));
  EXPECT_EQ(holder.Get(), *initial);

  // A good one still goes through.
  WriteParquet(dir_ / "copy.parquet", kGoodTxn);
  auto good = manager.Apply(Repo("copy.parquet"), "next.yaml", dir_.string());
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(holder.Get()->sources.at("txn_src").path, P("copy.parquet"));
}

TEST_F(ManagerWithSourcesTest, StartupRejectsARepositoryWhoseSourcesFail) {
  WriteGoodFiles();
  fs::remove(dir_ / "txn.parquet");
  std::ofstream(dir_ / "repo.yaml") << kRepo;
  auto initial = RegistryManager::LoadInitial(P("repo.yaml"), P("state"), ValidateSources);
  EXPECT_EQ(initial.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(initial.status().message(), HasSubstr("source 'txn_src': no Parquet files at"));
}

}  // namespace
}  // namespace pantry::offline
