// Round trips through FileWriter and FileReader, the JSON row form, and the
// reader's behaviour on corrupt and truncated files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "server/common/status.h"
#include "server/parquet/json_rows.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"

namespace pantry::parquet {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("pantry_parquet_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

ColumnSpec Spec(const std::string& name, Type physical, Logical logical = Logical::kNone,
                bool nullable = true) {
  ColumnSpec c;
  c.name = name;
  c.physical = physical;
  c.logical = logical;
  c.nullable = nullable;
  return c;
}

// A flat column of `rows` slots where every `null_every`-th row is null
// (0: none), values from `make(i)`.
template <typename T, typename Make>
ColumnData Flat(int64_t rows, int null_every, std::vector<T> ColumnData::*field, Make make) {
  ColumnData d;
  d.num_slots = rows;
  for (int64_t i = 0; i < rows; ++i) {
    const bool null = null_every > 0 && i % null_every == 0;
    d.def_levels.push_back(null ? 0 : 1);
    if (!null) (d.*field).push_back(make(i));
  }
  return d;
}

ColumnData FlatStrings(int64_t rows, int null_every, const std::function<std::string(int64_t)>& make) {
  ColumnData d;
  d.num_slots = rows;
  for (int64_t i = 0; i < rows; ++i) {
    const bool null = null_every > 0 && i % null_every == 0;
    d.def_levels.push_back(null ? 0 : 1);
    if (!null) d.bytes.Append(make(i));
  }
  return d;
}

// List column: row i has (i % 4) elements, every 5th row is null, element
// j of row i is null when (i + j) % 3 == 2.
ColumnData ListOfDoubles(int64_t rows) {
  ColumnData d;
  for (int64_t i = 0; i < rows; ++i) {
    if (i % 5 == 4) {
      d.def_levels.push_back(0);
      d.rep_levels.push_back(0);
      continue;
    }
    const int n = static_cast<int>(i % 4);
    if (n == 0) {
      d.def_levels.push_back(1);
      d.rep_levels.push_back(0);
      continue;
    }
    for (int j = 0; j < n; ++j) {
      d.rep_levels.push_back(j == 0 ? 0 : 1);
      if ((i + j) % 3 == 2) {
        d.def_levels.push_back(2);
      } else {
        d.def_levels.push_back(3);
        d.f64.push_back(static_cast<double>(i) + j / 10.0);
      }
    }
  }
  d.num_slots = static_cast<int64_t>(d.def_levels.size());
  return d;
}

std::vector<ColumnSpec> AllSpecs() {
  std::vector<ColumnSpec> specs;
  specs.push_back(Spec("b", Type::kBoolean));
  specs.push_back(Spec("i32", Type::kInt32));
  specs.push_back(Spec("i64", Type::kInt64, Logical::kNone, /*nullable=*/false));
  specs.push_back(Spec("f", Type::kFloat));
  specs.push_back(Spec("d", Type::kDouble));
  specs.push_back(Spec("s", Type::kByteArray, Logical::kString));
  specs.push_back(Spec("cat", Type::kByteArray, Logical::kString));
  ColumnSpec ts = Spec("ts", Type::kInt64, Logical::kTimestamp);
  ts.unit = TimeUnit::kMicros;
  ts.utc_adjusted = true;
  specs.push_back(ts);
  specs.push_back(Spec("day", Type::kInt32, Logical::kDate));
  ColumnSpec dec = Spec("dec", Type::kInt64, Logical::kDecimal);
  dec.precision = 18;
  dec.scale = 2;
  specs.push_back(dec);
  ColumnSpec u8 = Spec("u8", Type::kInt32, Logical::kInteger);
  u8.bit_width = 8;
  u8.is_signed = false;
  specs.push_back(u8);
  ColumnSpec fixed = Spec("fixed", Type::kFixedLenByteArray);
  fixed.type_length = 3;
  specs.push_back(fixed);
  ColumnSpec list = Spec("emb", Type::kDouble);
  list.is_list = true;
  list.element_nullable = true;
  specs.push_back(list);
  return specs;
}

std::vector<ColumnData> AllData(int64_t rows, int64_t offset) {
  std::vector<ColumnData> d;
  d.push_back(Flat(rows, 7, &ColumnData::bools, [&](int64_t i) { return uint8_t((i + offset) % 3 == 0); }));
  d.push_back(Flat(rows, 5, &ColumnData::i32, [&](int64_t i) { return int32_t((i + offset) * 7919 - 100000); }));
  ColumnData i64 = Flat(rows, 0, &ColumnData::i64, [&](int64_t i) { return int64_t(i + offset) * 1000000007LL; });
  i64.def_levels.clear();
  d.push_back(i64);
  d.push_back(Flat(rows, 6, &ColumnData::f32, [&](int64_t i) { return float(i + offset) / 3.0f; }));
  d.push_back(Flat(rows, 4, &ColumnData::f64, [&](int64_t i) {
    const int64_t k = i + offset;
    if (k % 97 == 1) return std::numeric_limits<double>::quiet_NaN();
    if (k % 97 == 2) return -std::numeric_limits<double>::infinity();
    return double(k) * 1.5e-3;
  }));
  d.push_back(FlatStrings(rows, 3, [&](int64_t i) { return "value-" + std::to_string((i + offset) * 31); }));
  d.push_back(FlatStrings(rows, 9, [&](int64_t i) { return std::string(((i + offset) % 3) ? "red" : "blue"); }));
  d.push_back(Flat(rows, 8, &ColumnData::i64, [&](int64_t i) { return int64_t(1767225600000000) + (i + offset) * 1000; }));
  d.push_back(Flat(rows, 10, &ColumnData::i32, [&](int64_t i) { return int32_t(20000 + (i + offset) % 400 - 200); }));
  d.push_back(Flat(rows, 11, &ColumnData::i64, [&](int64_t i) { return int64_t((i + offset) * 12345 - 99999); }));
  d.push_back(Flat(rows, 12, &ColumnData::i32, [&](int64_t i) { return int32_t((i + offset) % 256); }));
  d.push_back(FlatStrings(rows, 13, [&](int64_t i) {
    const int64_t k = i + offset;
    return std::string{char('a' + k % 26), char('A' + k % 7), char(k % 256)};
  }));
  d.push_back(ListOfDoubles(rows));
  return d;
}

// Reads every row of `path` as JSON lines.
std::string ReadAllJson(const std::string& path) {
  auto reader = FileReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return "";
  std::vector<const Column*> columns;
  for (const Column& c : (*reader)->schema().columns()) columns.push_back(&c);
  std::vector<ColumnData> data(columns.size());
  std::vector<const ColumnData*> chunks;
  for (const ColumnData& d : data) chunks.push_back(&d);
  std::string out;
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    for (size_t c = 0; c < columns.size(); ++c) {
      absl::Status s = (*reader)->ReadColumn(g, static_cast<int>(c), &data[c]);
      EXPECT_TRUE(s.ok()) << s;
    }
    absl::Status s = AppendJsonRows(columns, chunks, (*reader)->row_group_rows(g), &out);
    EXPECT_TRUE(s.ok()) << s;
  }
  return out;
}

// JSON of the data as written, formatted straight from the input batches.
std::string ExpectedJson(const std::vector<ColumnSpec>& specs_in,
                         const std::vector<std::vector<ColumnData>>& batches,
                         const std::vector<int64_t>& rows) {
  std::vector<ColumnSpec> specs = specs_in;
  // The writer derives levels; mirror it for formatting.
  for (ColumnSpec& c : specs) {
    if (c.is_list) {
      c.list_def = c.nullable ? 1 : 0;
      c.element_def = c.list_def + 1;
      c.max_def = static_cast<int16_t>(c.element_def + (c.element_nullable ? 1 : 0));
      c.max_rep = 1;
    } else {
      c.max_def = c.nullable ? 1 : 0;
    }
  }
  std::vector<const Column*> columns;
  for (const ColumnSpec& c : specs) columns.push_back(&c);
  std::string out;
  for (size_t b = 0; b < batches.size(); ++b) {
    std::vector<const ColumnData*> chunks;
    for (const ColumnData& d : batches[b]) chunks.push_back(&d);
    absl::Status s = AppendJsonRows(columns, chunks, rows[b], &out);
    EXPECT_TRUE(s.ok()) << s;
  }
  return out;
}

struct RoundTripCase {
  Codec codec;
  bool dictionary;
  int64_t row_group_rows;
  int64_t page_bytes;
};

class RoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, EveryTypeReadsBackExactly) {
  TempDir dir;
  const std::string path = dir.File("all.parquet");
  WriterOptions options;
  options.codec = GetParam().codec;
  options.dictionary = GetParam().dictionary;
  options.row_group_rows = GetParam().row_group_rows;
  options.page_bytes = GetParam().page_bytes;
  options.key_value_metadata.push_back({"pantry.test", std::string("yes")});
  auto writer = FileWriter::Create(path, AllSpecs(), options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<std::vector<ColumnData>> batches;
  std::vector<int64_t> rows;
  int64_t offset = 0;
  for (int64_t n : {1000, 1, 0, 2499, 500}) {
    batches.push_back(AllData(n, offset));
    rows.push_back(n);
    ASSERT_TRUE((*writer)->Write(batches.back(), n).ok());
    offset += n;
  }
  ASSERT_TRUE((*writer)->Close().ok());
  const std::string expected = ExpectedJson(AllSpecs(), batches, rows);
  EXPECT_EQ(ReadAllJson(path), expected);

  auto reader = FileReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->num_rows(), offset);
  // 4000 rows in batches of 1000, 1, 0, 2499 and 500: row groups of exactly
  // row_group_rows rows, whatever the batches.
  EXPECT_EQ((*reader)->num_row_groups(), GetParam().row_group_rows == 1000 ? 4 : 1);
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    EXPECT_EQ((*reader)->row_group_rows(g), std::min<int64_t>(GetParam().row_group_rows, 4000));
  }
  ASSERT_EQ((*reader)->metadata().key_value_metadata.size(), 1u);
  EXPECT_EQ((*reader)->metadata().key_value_metadata[0].key, "pantry.test");
  // No temporary file is left beside the output.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

INSTANTIATE_TEST_SUITE_P(
    CodecsAndLayouts, RoundTrip,
    ::testing::Values(RoundTripCase{Codec::kUncompressed, false, 1 << 20, 1 << 20},
                      RoundTripCase{Codec::kSnappy, true, 1 << 20, 1 << 20},
                      RoundTripCase{Codec::kZstd, true, 1000, 512},
                      RoundTripCase{Codec::kGzip, false, 1000, 64},
                      RoundTripCase{Codec::kLz4Raw, true, 1 << 20, 4096},
                      RoundTripCase{Codec::kBrotli, true, 1 << 20, 1 << 20}));

TEST(FileWriter, RowGroupsFollowRowGroupRows) {
  TempDir dir;
  WriterOptions options;
  options.row_group_rows = 100;
  auto writer = FileWriter::Create(dir.File("x.parquet"), {Spec("x", Type::kInt64)}, options);
  ASSERT_TRUE(writer.ok());
  for (int b = 0; b < 10; ++b) {
    ASSERT_TRUE((*writer)->Write({Flat(50, 0, &ColumnData::i64, [](int64_t i) { return i; })}, 50).ok());
  }
  ASSERT_TRUE((*writer)->Close().ok());
  auto reader = FileReader::Open(dir.File("x.parquet"));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->num_row_groups(), 5);
  EXPECT_EQ((*reader)->num_rows(), 500);
}

// The row group ordinal is an i16: numbered while it fits, then left out
// (it is optional) rather than wrapped.
TEST(FileWriter, RowGroupOrdinalsStopAtTheI16Limit) {
  TempDir dir;
  WriterOptions options;
  options.row_group_rows = 1;
  const int64_t rows = 32770;
  auto writer = FileWriter::Create(dir.File("many.parquet"), {Spec("x", Type::kInt64)}, options);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(
      (*writer)->Write({Flat(rows, 0, &ColumnData::i64, [](int64_t i) { return i; })}, rows).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  auto reader = FileReader::Open(dir.File("many.parquet"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  const auto& groups = (*reader)->metadata().row_groups;
  ASSERT_EQ(groups.size(), static_cast<size_t>(rows));
  EXPECT_EQ(groups[0].ordinal, std::optional<int16_t>(0));
  EXPECT_EQ(groups[32767].ordinal, std::optional<int16_t>(32767));
  EXPECT_EQ(groups[32768].ordinal, std::nullopt);
  EXPECT_EQ(groups[32769].ordinal, std::nullopt);
  ColumnData last;
  ASSERT_TRUE((*reader)->ReadColumn(32769, 0, &last).ok());
  EXPECT_EQ(last.i64, std::vector<int64_t>{32769});
}

TEST(FileWriter, NothingVisibleUntilClose) {
  TempDir dir;
  const std::string path = dir.File("late.parquet");
  {
    auto writer = FileWriter::Create(path, {Spec("x", Type::kInt32)}, {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write({Flat(10, 0, &ColumnData::i32, [](int64_t i) { return int32_t(i); })}, 10).ok());
    EXPECT_FALSE(fs::exists(path));
  }
  // Destroyed without Close: neither the file nor its temporary remains.
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(FileWriter, BadSpecsAreInvalidArgument) {
  TempDir dir;
  auto dup = FileWriter::Create(dir.File("a"), {Spec("x", Type::kInt32), Spec("x", Type::kInt64)}, {});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("'x'"), std::string::npos);
  auto str = FileWriter::Create(dir.File("b"), {Spec("s", Type::kInt32, Logical::kString)}, {});
  EXPECT_EQ(str.status().code(), absl::StatusCode::kInvalidArgument);
  auto ts = FileWriter::Create(dir.File("c"), {Spec("t", Type::kInt32, Logical::kTimestamp)}, {});
  EXPECT_EQ(ts.status().code(), absl::StatusCode::kInvalidArgument);
  auto flba = FileWriter::Create(dir.File("d"), {Spec("f", Type::kFixedLenByteArray)}, {});
  EXPECT_EQ(flba.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(FileWriter, MismatchedBatchIsRejectedAndNothingKept) {
  TempDir dir;
  auto writer = FileWriter::Create(dir.File("x.parquet"), {Spec("x", Type::kInt32), Spec("y", Type::kDouble)}, {});
  ASSERT_TRUE(writer.ok());
  // Three values for five present slots.
  ColumnData x = Flat(5, 0, &ColumnData::i32, [](int64_t i) { return int32_t(i); });
  x.i32.resize(3);
  ColumnData y = Flat(5, 0, &ColumnData::f64, [](int64_t i) { return double(i); });
  absl::Status s = (*writer)->Write({x, y}, 5);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'x'"), std::string::npos) << s;
  // Slot count differs from rows.
  ColumnData x2 = Flat(4, 0, &ColumnData::i32, [](int64_t i) { return int32_t(i); });
  EXPECT_EQ((*writer)->Write({x2, y}, 5).code(), absl::StatusCode::kInvalidArgument);
  // Null in a required column.
  auto req = FileWriter::Create(dir.File("r.parquet"), {Spec("r", Type::kInt32, Logical::kNone, false)}, {});
  ASSERT_TRUE(req.ok());
  ColumnData r = Flat(4, 2, &ColumnData::i32, [](int64_t i) { return int32_t(i); });
  EXPECT_EQ((*req)->Write({r}, 4).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*writer)->Write({Flat(2, 0, &ColumnData::i32, [](int64_t i) { return int32_t(i); }),
                                Flat(2, 0, &ColumnData::f64, [](int64_t i) { return double(i); })},
                               2)
                  .ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(ReadAllJson(dir.File("x.parquet")), "{\"x\":0,\"y\":0}\n{\"x\":1,\"y\":1}\n");
}

TEST(JsonRows, FormatsTimestampsDatesAndDecimals) {
  EXPECT_EQ(FormatTimestamp(0, TimeUnit::kMicros, true), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatTimestamp(-1, TimeUnit::kMicros, false), "1969-12-31T23:59:59.999999000");
  EXPECT_EQ(FormatTimestamp(1767225600123, TimeUnit::kMillis, true), "2026-01-01T00:00:00.123000000Z");
  EXPECT_EQ(FormatTimestamp(951782400000000001, TimeUnit::kNanos, true), "2000-02-29T00:00:00.000000001Z");
  EXPECT_EQ(FormatTimestamp(INT64_MIN, TimeUnit::kNanos, true), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(FormatTimestamp(INT64_MAX, TimeUnit::kNanos, true), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(FormatTimestamp(INT64_MIN, TimeUnit::kMicros, false).substr(0, 8), "-290308-");
  EXPECT_EQ(FormatDate(0), "1970-01-01");
  EXPECT_EQ(FormatDate(-1), "1969-12-31");
  EXPECT_EQ(FormatDate(20484), "2026-01-31");

  Column dec;
  dec.name = "d";
  dec.physical = Type::kFixedLenByteArray;
  dec.type_length = 2;
  dec.logical = Logical::kDecimal;
  dec.scale = 2;
  ColumnData data;
  data.bytes.Append(std::string("\xff\x38", 2));  // -200
  std::string out;
  ASSERT_TRUE(AppendJsonValue(dec, data, 0, &out).ok());
  EXPECT_EQ(out, "-2");
  Column dbl;
  dbl.name = "x";
  dbl.physical = Type::kDouble;
  ColumnData doubles;
  doubles.f64 = {1234567890123456768.0, 1e21, 1.5e-7, 0.000001, 123.456, -0.5, 5e-324, 1e300, 100};
  std::string text;
  for (size_t i = 0; i < doubles.f64.size(); ++i) {
    if (i > 0) text.push_back(' ');
    ASSERT_TRUE(AppendJsonValue(dbl, doubles, i, &text).ok());
  }
  // JavaScript's Number#toString forms.
  EXPECT_EQ(text, "1234567890123456800 1e+21 1.5e-7 0.000001 123.456 -0.5 5e-324 1e+300 100");
  std::string str;
  AppendJsonString("a\"b\\\n\x01", &str);
  EXPECT_EQ(str, "\"a\\\"b\\\\\\n\\u0001\"");
}

TEST(FileReader, TimeRangeFromStatistics) {
  TempDir dir;
  ColumnSpec ts = Spec("ts", Type::kInt64, Logical::kTimestamp);
  ts.unit = TimeUnit::kMillis;
  ts.utc_adjusted = true;
  WriterOptions options;
  options.row_group_rows = 10;
  auto writer = FileWriter::Create(dir.File("t.parquet"), {ts}, options);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write({Flat(20, 3, &ColumnData::i64, [](int64_t i) { return 1000 * i; })}, 20).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  auto reader = FileReader::Open(dir.File("t.parquet"));
  ASSERT_TRUE(reader.ok());
  auto r0 = (*reader)->TimeRangeMicros(0, 0);
  ASSERT_TRUE(r0.has_value());
  EXPECT_EQ(r0->first, 1000 * 1000);  // row 0 is null
  EXPECT_EQ(r0->second, 8000 * 1000);  // row 9 is null
  auto r1 = (*reader)->TimeRangeMicros(1, 0);
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->first, 10000 * 1000);
  EXPECT_EQ(r1->second, 19000 * 1000);
}

TEST(FileReader, TimeRangeBeyondMicrosecondRangeIsUnknown) {
  TempDir dir;
  ColumnSpec ts = Spec("ts", Type::kInt64, Logical::kTimestamp);
  ts.unit = TimeUnit::kMillis;
  auto writer = FileWriter::Create(dir.File("t.parquet"), {ts}, {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write({Flat(2, 0, &ColumnData::i64, [](int64_t i) {
                                 return i == 0 ? int64_t{0} : int64_t{1297036449965527848};
                               })},
                               2)
                  .ok());
  ASSERT_TRUE((*writer)->Close().ok());
  auto reader = FileReader::Open(dir.File("t.parquet"));
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE((*reader)->TimeRangeMicros(0, 0).has_value());
}

std::string WriteSmallFile(const TempDir& dir, Codec codec) {
  const std::string path = dir.File("small.parquet");
  WriterOptions options;
  options.codec = codec;
  options.row_group_rows = 40;
  options.page_bytes = 64;
  auto writer = FileWriter::Create(path, AllSpecs(), options);
  EXPECT_TRUE(writer.ok());
  EXPECT_TRUE((*writer)->Write(AllData(100, 0), 100).ok());
  EXPECT_TRUE((*writer)->Close().ok());
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Reads everything readable; returns the first error.
absl::Status ReadEverything(std::string bytes) {
  auto reader = FileReader::Open(MakeMemoryFile(std::move(bytes), "mem.parquet"));
  if (!reader.ok()) return reader.status();
  ColumnData d;
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    std::vector<ColumnData> data((*reader)->schema().columns().size());
    std::vector<const Column*> columns;
    std::vector<const ColumnData*> chunks;
    for (size_t c = 0; c < data.size(); ++c) {
      PANTRY_RETURN_IF_ERROR((*reader)->ReadColumn(g, static_cast<int>(c), &data[c]));
      columns.push_back(&(*reader)->schema().columns()[c]);
      chunks.push_back(&data[c]);
    }
    std::string out;
    PANTRY_RETURN_IF_ERROR(AppendJsonRows(columns, chunks, (*reader)->row_group_rows(g), &out));
  }
  return absl::OkStatus();
}

TEST(FileReader, EveryTruncationIsAnErrorNotACrash) {
  TempDir dir;
  const std::string bytes = WriteSmallFile(dir, Codec::kSnappy);
  ASSERT_TRUE(ReadEverything(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::Status s = ReadEverything(bytes.substr(0, n));
    EXPECT_FALSE(s.ok()) << "prefix of " << n << " bytes";
    EXPECT_TRUE(s.code() == absl::StatusCode::kInvalidArgument ||
                s.code() == absl::StatusCode::kDataLoss)
        << s;
  }
}

TEST(FileReader, CorruptBytesGiveErrorsNamingFileAndOffset) {
  TempDir dir;
  for (Codec codec : {Codec::kUncompressed, Codec::kSnappy, Codec::kZstd}) {
    const std::string bytes = WriteSmallFile(dir, codec);
    std::mt19937 rng(42);
    int errors = 0;
    for (int trial = 0; trial < 1000; ++trial) {
      std::string corrupt = bytes;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        corrupt[4 + rng() % (corrupt.size() - 12)] ^= static_cast<char>(1 + rng() % 255);
      }
      absl::Status s = ReadEverything(corrupt);
      if (!s.ok()) {
        ++errors;
        EXPECT_NE(s.message().find("mem.parquet"), std::string::npos) << s;
      }
    }
    EXPECT_GT(errors, 0);
  }
}

TEST(FileReader, NotParquetIsInvalidArgument) {
  auto r = FileReader::Open(MakeMemoryFile("hello, this is not parquet at all", "x.txt"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("x.txt"), std::string::npos);
  auto missing = FileReader::Open("/nonexistent/file.parquet");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pantry::parquet
