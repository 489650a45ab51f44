// `pantry parquet schema|head|stats` driven as a user would: output forms
// and exit codes on good, missing, foreign and corrupt files.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/parquet/writer.h"
#include "tests/support/e2e.h"

namespace pantry::parquet {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using ::pantry::testing::ReadFile;
using ::pantry::testing::Result;

class ParquetCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pantry-parquet-cli-XXXXXX";
    dir_ = mkdtemp(tmpl);
    file_ = dir_ / "events.parquet";
    std::vector<ColumnSpec> specs(4);
    specs[0].name = "user_id";
    specs[0].physical = Type::kInt64;
    specs[0].nullable = false;
    specs[1].name = "event_timestamp";
    specs[1].physical = Type::kInt64;
    specs[1].logical = Logical::kTimestamp;
    specs[1].unit = TimeUnit::kMicros;
    specs[1].utc_adjusted = true;
    specs[2].name = "channel";
    specs[2].physical = Type::kByteArray;
    specs[2].logical = Logical::kString;
    specs[2].nullable = true;
    specs[3].name = "embedding";
    specs[3].physical = Type::kFloat;
    specs[3].nullable = true;
    specs[3].is_list = true;
    specs[3].element_nullable = false;
    WriterOptions options;
    options.row_group_rows = 2;
    auto writer = FileWriter::Create(file_.string(), specs, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    std::vector<ColumnData> batch(4);
    batch[0].num_slots = 3;
    batch[0].i64 = {7, 8, 9};
    batch[1].num_slots = 3;
    batch[1].i64 = {1769860800000000, 1769860800500000, 1769860801000000};
    batch[2].num_slots = 3;
    batch[2].def_levels = {1, 0, 1};
    batch[2].bytes.Append("web");
    batch[2].bytes.Append("ios");
    // [0.5, 1.5], null, []
    batch[3].num_slots = 4;
    batch[3].def_levels = {2, 2, 0, 1};
    batch[3].rep_levels = {0, 1, 0, 0};
    batch[3].f32 = {0.5f, 1.5f};
    ASSERT_TRUE((*writer)->Write(batch, 3).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result Pantry(const std::string& args) {
    return ::pantry::testing::RunCommand(::pantry::testing::BinDir() + "/pantry " + args, dir_);
  }

  fs::path dir_;
  fs::path file_;
};

TEST_F(ParquetCli, HeadPrintsOneJsonObjectPerRow) {
  Result r = Pantry("parquet head " + file_.string() + " --output json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"user_id\":7,\"event_timestamp\":\"2026-01-31T12:00:00.000000000Z\","
            "\"channel\":\"web\",\"embedding\":[0.5,1.5]}\n"
            "{\"user_id\":8,\"event_timestamp\":\"2026-01-31T12:00:00.500000000Z\","
            "\"channel\":null,\"embedding\":null}\n"
            "{\"user_id\":9,\"event_timestamp\":\"2026-01-31T12:00:01.000000000Z\","
            "\"channel\":\"ios\",\"embedding\":[]}\n");
}

TEST_F(ParquetCli, HeadHonoursLimitAndColumns) {
  Result r = Pantry("parquet head " + file_.string() + " --limit 2 --columns channel,user_id -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"channel\":\"web\",\"user_id\":7}\n{\"channel\":null,\"user_id\":8}\n");
  Result table = Pantry("parquet head " + file_.string() + " -n 1");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("user_id"));
  EXPECT_THAT(table.out, HasSubstr("2026-01-31T12:00:00.000000000Z"));
}

TEST_F(ParquetCli, UnknownColumnIsBadInputListingTheColumns) {
  Result r = Pantry("parquet head " + file_.string() + " --columns nope");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no column 'nope'"));
  EXPECT_THAT(r.err, HasSubstr("user_id, event_timestamp, channel, embedding"));
}

TEST_F(ParquetCli, SchemaShowsTypesAndRowGroups) {
  Result r = Pantry("parquet schema " + file_.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("3 rows in 2 row groups"));
  EXPECT_THAT(r.out, HasSubstr("INT64 TIMESTAMP(MICROS, UTC) REQUIRED"));
  EXPECT_THAT(r.out, HasSubstr("list<FLOAT REQUIRED> OPTIONAL"));
  Result j = Pantry("parquet schema " + file_.string() + " -o json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["rows"], 3);
  EXPECT_EQ(doc["columns"].size(), 4u);
}

TEST_F(ParquetCli, StatsShowMinMaxAndNulls) {
  Result r = Pantry("parquet stats " + file_.string() + " -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["row_groups"].size(), 2u);
  const auto& first = doc["row_groups"][0]["columns"];
  EXPECT_EQ(first[0]["min"], 7);
  EXPECT_EQ(first[0]["max"], 8);
  EXPECT_EQ(first[1]["min"], "2026-01-31T12:00:00.000000000Z");
  EXPECT_EQ(first[2]["null_count"], 1);
  EXPECT_EQ(first[2]["codec"], "SNAPPY");
}

TEST_F(ParquetCli, MissingOrForeignFileIsBadInput) {
  Result missing = Pantry("parquet head " + (dir_ / "nope.parquet").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("nope.parquet"));
  std::ofstream(dir_ / "text.parquet") << "just some text, not parquet";
  Result foreign = Pantry("parquet schema " + (dir_ / "text.parquet").string());
  EXPECT_EQ(foreign.exit_code, 2);
  EXPECT_THAT(foreign.err, HasSubstr("not a Parquet file"));
}

TEST_F(ParquetCli, CorruptFileFailsNamingFileColumnAndOffset) {
  std::string bytes = ReadFile(file_);
  // Overwrite the first page header's bytes (just after the magic).
  for (size_t i = 4; i < 12; ++i) bytes[i] = '\xff';
  const fs::path corrupt = dir_ / "corrupt.parquet";
  std::ofstream(corrupt, std::ios::binary) << bytes;
  Result r = Pantry("parquet head " + corrupt.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("DATA_LOSS"));
  EXPECT_THAT(r.err, HasSubstr("corrupt.parquet: column 'user_id', row group 0, byte offset 4"));
}

TEST_F(ParquetCli, FromJsonlWritesEveryTypeAndNulls) {
  std::ofstream(dir_ / "rows.jsonl")
      << "{\"user_id\": 7, \"t\": \"2026-01-31T12:00:00.5Z\", \"name\": \"web\", "
         "\"emb\": [0.5, 1.5], \"b\": \"aGk=\", \"ok\": true, \"n\": 3}\n"
         "\n"
         "{\"user_id\": 8, \"t\": null, \"name\": null, \"emb\": [], \"b\": null, "
         "\"ok\": null, \"n\": null}\n";
  const fs::path out = dir_ / "rows.parquet";
  Result r = Pantry("parquet from-jsonl " + (dir_ / "rows.jsonl").string() + " " + out.string() +
                    " --schema user_id:INT64,t:UNIX_TIMESTAMP,name:STRING,emb:FLOAT_LIST,"
                    "b:BYTES,ok:BOOL,n:INT32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote 2 rows of 7 columns"));
  Result head = Pantry("parquet head " + out.string() + " -o json");
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_EQ(head.out,
            "{\"user_id\":7,\"t\":\"2026-01-31T12:00:00.500000000Z\",\"name\":\"web\","
            "\"emb\":[0.5,1.5],\"b\":{\"base64\": \"aGk=\"},\"ok\":true,\"n\":3}\n"
            "{\"user_id\":8,\"t\":null,\"name\":null,\"emb\":[],\"b\":null,\"ok\":null,"
            "\"n\":null}\n");
  Result schema = Pantry("parquet schema " + out.string());
  EXPECT_THAT(schema.out, HasSubstr("INT64 TIMESTAMP(MICROS, UTC) OPTIONAL"));
  EXPECT_THAT(schema.out, HasSubstr("BYTE_ARRAY STRING OPTIONAL"));
}

TEST_F(ParquetCli, FromJsonlBadLineIsExit2NamingLineAndFieldAndWritesNothing) {
  std::ofstream(dir_ / "bad.jsonl") << "{\"a\": 1, \"b\": \"x\"}\n{\"a\": \"zz\", \"b\": \"y\"}\n";
  const fs::path out = dir_ / "bad.parquet";
  const std::string cmd = "parquet from-jsonl " + (dir_ / "bad.jsonl").string() + " " + out.string();
  Result r = Pantry(cmd + " --schema a:INT64,b:STRING");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.jsonl:2: field 'a': expected INT64"));
  EXPECT_FALSE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr(".tmp-")));
  }
  // An existing file is left as it was.
  std::ofstream(out) << "before";
  EXPECT_EQ(Pantry(cmd + " --schema a:INT64,b:STRING").exit_code, 2);
  EXPECT_EQ(ReadFile(out), "before");

  std::ofstream(dir_ / "missing.jsonl") << "{\"a\": 1}\n";
  Result missing = Pantry("parquet from-jsonl " + (dir_ / "missing.jsonl").string() + " " +
                          out.string() + " --schema a:INT64,b:STRING");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("missing.jsonl:1: missing field 'b'"));
  Result unknown = Pantry("parquet from-jsonl " + (dir_ / "missing.jsonl").string() + " " +
                          out.string() + " --schema a:INT65");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown type 'INT65'"));
  Result extra = Pantry("parquet from-jsonl " + (dir_ / "bad.jsonl").string() + " " +
                        out.string() + " --schema a:INT64");
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_THAT(extra.err, HasSubstr("bad.jsonl:1: field 'b' is not in --schema"));
  EXPECT_EQ(ReadFile(out), "before");
}

}  // namespace
}  // namespace pantry::parquet
