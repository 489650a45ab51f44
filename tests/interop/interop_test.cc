// Interop of Pantry's Parquet codec with three reference implementations
// from npm (DuckDB, arrow-rs in parquet-wasm, hyparquet), driven through the
// node scripts beside this file (README.md):
//
// 1. PantryReadsReferenceFile: every file `node write.mjs` writes, read by
//    Pantry (FileReader + AppendJsonRows), equals NAME.expected.jsonl, the
//    rows as the writer's own reader reports them.
// 2. PantryWrittenFile / ReferenceReaderReadsPantryFile: a matrix of files
//    written by FileWriter (every logical type it writes, REQUIRED and
//    OPTIONAL, every codec, dictionary on and off, several row groups with
//    small pages) reads back as the ColumnData written, and each reference
//    reader (`node read.mjs LIB FILE...`) reads the rows Pantry reads.
//
// Values are compared as parsed JSON, exactly. The only tolerated differences
// are the documented limits of a reference reader, all in kReaderRules below
// (KNOWN_GAPS.md explains each). Needs Node 20 and `npm ci` in tests/interop;
// without them the tests fail, they never skip.
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "server/common/status.h"
#include "server/parquet/json_rows.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "tests/interop/node_support.h"

namespace pantry::parquet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------
// Environment: the source tree, node, commands.

// Why the reference implementations can't run here, or "" when they can.
// Checked once: every test asks.
const std::string& NodeProblem() {
  static const std::string* const problem = new std::string(interop::NodeProblem());
  return *problem;
}

// Removes a temporary directory of written files, unless
// PANTRY_INTEROP_KEEP_FILES is set (to look at the files of a failure).
void RemoveTempDir(const fs::path& dir) {
  if (dir.empty()) return;
  if (std::getenv("PANTRY_INTEROP_KEEP_FILES") != nullptr) {
    std::cout << "  kept " << dir.string() << " (PANTRY_INTEROP_KEEP_FILES)\n";
    return;
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

fs::path MakeTempDir(const std::string& prefix) {
  std::string templ = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) return fs::path();
  return fs::path(templ);
}

std::vector<std::string> SplitLines(absl::string_view text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty()) lines.emplace_back(line);
  }
  return lines;
}

using interop::Command;
using interop::InteropDir;
using interop::ReadFileText;
using interop::ShellQuote;

// ---------------------------------------------------------------------------
// Reading with Pantry.

struct PantryRows {
  std::vector<Column> columns;
  std::vector<std::string> lines;  // AppendJsonRows, one row per line
  int row_groups = 0;
  std::set<Codec> codecs;
  bool any_dictionary = false;
};

// Reads every column of every row group of `path` with Pantry.
absl::StatusOr<PantryRows> ReadWithPantry(const std::string& path) {
  PANTRY_ASSIGN_OR_RETURN(std::unique_ptr<FileReader> reader, FileReader::Open(path));
  PantryRows rows;
  rows.columns = reader->schema().columns();
  for (const Column& c : rows.columns) {
    if (!c.supported) {
      return absl::UnimplementedError(
          absl::StrCat("column '", c.name, "' is not supported: ", c.unsupported_reason));
    }
  }
  std::vector<const Column*> columns;
  for (const Column& c : rows.columns) columns.push_back(&c);
  std::vector<ColumnData> data(columns.size());
  std::vector<const ColumnData*> chunks;
  for (const ColumnData& d : data) chunks.push_back(&d);
  std::string text;
  rows.row_groups = reader->num_row_groups();
  for (int g = 0; g < reader->num_row_groups(); ++g) {
    for (size_t c = 0; c < columns.size(); ++c) {
      PANTRY_RETURN_IF_ERROR(reader->ReadColumn(g, static_cast<int>(c), &data[c]));
    }
    PANTRY_RETURN_IF_ERROR(AppendJsonRows(columns, chunks, reader->row_group_rows(g), &text));
    for (const ColumnChunk& chunk : reader->metadata().row_groups[g].columns) {
      if (!chunk.meta_data) continue;
      rows.codecs.insert(chunk.meta_data->codec);
      rows.any_dictionary |= chunk.meta_data->dictionary_page_offset.has_value();
    }
  }
  rows.lines = SplitLines(text);
  return rows;
}

// ---------------------------------------------------------------------------
// The known limits of the reference readers: the only differences between
// Pantry's value and a reference reader's value the tests accept. Each rule
// names the KNOWN_GAPS.md section it implements and maps Pantry's exact value
// of one leaf (a column value, or each element of a list) to exactly what that
// reader is known to show instead. A value a rule does not cover, or one that
// differs from the rule's result, is a failure.

// "YYYY-MM-DDTHH:MM:SS.fffffffff[Z]" -> nanoseconds since the epoch.
std::optional<__int128> TimestampNanos(absl::string_view s) {
  if (s.size() < 29 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[19] != '.') {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t len) {
    int64_t v = 0;
    for (size_t i = at; i < at + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  int64_t y = num(0, 4);
  const int64_t m = num(5, 2), d = num(8, 2);
  // H. Hinnant's days_from_civil.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  const int64_t secs = days * 86400 + num(11, 2) * 3600 + num(14, 2) * 60 + num(17, 2);
  return static_cast<__int128>(secs) * 1'000'000'000 + num(20, 9);
}

// The same instant with only microseconds kept, rounded toward zero or down.
Json TimestampAsMicros(const Json& exact, bool floor) {
  if (!exact.is_string()) return exact;
  const std::string& text = exact.get_ref<const std::string&>();
  const std::optional<__int128> nanos = TimestampNanos(text);
  if (!nanos) return exact;
  __int128 micros = *nanos / 1000;  // toward zero
  if (floor && *nanos % 1000 < 0) --micros;
  return FormatTimestamp(static_cast<int64_t>(micros), TimeUnit::kMicros,
                         absl::EndsWith(text, "Z"));
}

Json TruncateToMicros(const Json& exact) { return TimestampAsMicros(exact, /*floor=*/false); }
Json FloorToMicros(const Json& exact) { return TimestampAsMicros(exact, /*floor=*/true); }

Json TextAsBase64(const Json& exact) {
  if (!exact.is_string()) return exact;
  Json out = Json::object();
  out["base64"] = absl::Base64Escape(exact.get_ref<const std::string&>());
  return out;
}

bool IsUtcNanosTimestamp(const Column& c) {
  return c.physical == Type::kInt64 && c.logical == Logical::kTimestamp &&
         c.unit == TimeUnit::kNanos && c.utc_adjusted;
}
bool IsInt96(const Column& c) { return c.physical == Type::kInt96; }
bool IsEnum(const Column& c) { return c.logical == Logical::kEnum; }

struct ReaderRule {
  const char* reader;  // the read.mjs LIB name
  const char* gap;     // the section title in KNOWN_GAPS.md
  bool (*applies)(const Column& column);
  Json (*as_read)(const Json& exact);
};

const ReaderRule kReaderRules[] = {
    // DuckDB has no UTC nanosecond type: it reads TIMESTAMP(NANOS,
    // isAdjustedToUTC) as TIMESTAMP WITH TIME ZONE, in microseconds truncated
    // toward zero (-1 ns reads as 1970-01-01T00:00:00.000000000Z). Naive NANOS
    // columns are exact. Hits Pantry's ts_ns_utc columns; DuckDB can't write
    // such a column, so no DuckDB-written file of the matrix has one.
    {"duckdb", "DuckDB reads UTC-adjusted NANOS timestamps as microseconds", IsUtcNanosTimestamp,
     TruncateToMicros},
    // DuckDB reads INT96 as TIMESTAMP in microseconds, floored (-1 ns reads as
    // 1969-12-31T23:59:59.999999000Z). Pantry never writes INT96 and no
    // DuckDB-read expectation holds one (hyparquet_int96 is checked against
    // hyparquet), so today this covers no value; it is here so a future file
    // meets a known rule rather than a blanket skip.
    {"duckdb", "DuckDB reads INT96 timestamps as microseconds", IsInt96, FloorToMicros},
    // arrow-rs maps BYTE_ARRAY (ENUM) to Arrow Binary, so the arrow reader
    // prints the text's UTF-8 bytes as {"base64": ...}.
    {"arrow", "arrow-rs reads ENUM columns as binary", IsEnum, TextAsBase64},
};

const ReaderRule* RuleFor(absl::string_view reader, const Column& column) {
  for (const ReaderRule& rule : kReaderRules) {
    if (reader == rule.reader && rule.applies(column)) return &rule;
  }
  return nullptr;
}

// Applies `f` to a value, or to every non-null element of a list.
Json MapLeaves(const Json& v, Json (*f)(const Json&)) {
  if (v.is_null()) return v;
  if (v.is_array()) {
    Json out = Json::array();
    for (const Json& e : v) out.push_back(e.is_null() ? e : f(e));
    return out;
  }
  return f(v);
}

// ---------------------------------------------------------------------------
// Structural comparison of canonical JSON values.

bool IntegerEqualsDouble(const Json& i, double d) {
  if (d == 0 && std::signbit(d)) return false;  // -0.0 is a double only
  if (!std::isfinite(d) || d != std::trunc(d)) return false;
  if (i.is_number_unsigned()) {
    return d >= 0 && d < 18446744073709551616.0 && static_cast<uint64_t>(d) == i.get<uint64_t>();
  }
  return d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
         static_cast<int64_t>(d) == i.get<int64_t>();
}

bool NumbersEqual(const Json& a, const Json& b) {
  if (a.is_number_float() && b.is_number_float()) {
    const double x = a.get<double>(), y = b.get<double>();
    return x == y && std::signbit(x) == std::signbit(y);
  }
  if (a.is_number_float()) return IntegerEqualsDouble(b, a.get<double>());
  if (b.is_number_float()) return IntegerEqualsDouble(a, b.get<double>());
  // Both integers; compare without overflow.
  const bool a_negative = !a.is_number_unsigned() && a.get<int64_t>() < 0;
  const bool b_negative = !b.is_number_unsigned() && b.get<int64_t>() < 0;
  if (a_negative != b_negative) return false;
  if (a_negative) return a.get<int64_t>() == b.get<int64_t>();
  return a.get<uint64_t>() == b.get<uint64_t>();
}

bool JsonEqual(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return NumbersEqual(a, b);
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!JsonEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    auto ia = a.begin();
    auto ib = b.begin();
    for (; ia != a.end(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !JsonEqual(ia.value(), ib.value())) return false;
    }
    return true;
  }
  return a == b;  // null, boolean, string
}

std::vector<std::string> Keys(const Json& row) {
  std::vector<std::string> keys;
  for (auto it = row.begin(); it != row.end(); ++it) keys.push_back(it.key());
  return keys;
}

constexpr int kMaxMismatchesShown = 5;

// Expects `other` (rows as `reader` reports them; `label` names it in
// messages) to equal Pantry's rows of `file`, value by value, apart from what
// kReaderRules says about `reader`.
void ExpectSameRows(const std::string& file, const std::string& reader, const std::string& label,
                    const std::vector<Column>& columns, const std::vector<std::string>& pantry,
                    const std::vector<std::string>& other) {
  std::map<std::string, const Column*> by_name;
  for (const Column& c : columns) by_name.emplace(c.name, &c);
  std::vector<std::string> shown;
  int64_t mismatches = 0;
  std::map<std::string, int64_t> rule_hits;  // "column: gap" -> values changed by the rule
  auto mismatch = [&](std::string what) {
    if (++mismatches <= kMaxMismatchesShown) shown.push_back(std::move(what));
  };
  if (pantry.size() != other.size()) {
    mismatch(absl::StrCat("Pantry has ", pantry.size(), " rows, ", label, " ", other.size()));
  }
  for (size_t r = 0; r < std::min(pantry.size(), other.size()); ++r) {
    Json p, o;
    try {
      p = Json::parse(pantry[r]);
      o = Json::parse(other[r]);
    } catch (const Json::exception& e) {
      mismatch(absl::StrCat("row ", r, ": not JSON (", e.what(), "): Pantry ", pantry[r], ", ",
                            label, " ", other[r]));
      continue;
    }
    if (!p.is_object() || !o.is_object() || Keys(p) != Keys(o)) {
      mismatch(absl::StrCat("row ", r, ": columns [", absl::StrJoin(Keys(p), ","), "] in Pantry, [",
                            absl::StrJoin(Keys(o), ","), "] in ", label));
      continue;
    }
    for (auto it = p.begin(); it != p.end(); ++it) {
      const auto col = by_name.find(it.key());
      const ReaderRule* rule = col == by_name.end() ? nullptr : RuleFor(reader, *col->second);
      const Json want = rule != nullptr ? MapLeaves(it.value(), rule->as_read) : it.value();
      const Json& got = o[it.key()];
      if (!JsonEqual(want, got)) {
        mismatch(absl::StrCat(
            "row ", r, " column ", it.key(), ": Pantry ", it.value().dump(),
            rule != nullptr ? absl::StrCat(" (", want.dump(), " under rule \"", rule->gap, "\")")
                            : std::string(),
            ", ", label, " ", got.dump()));
      } else if (rule != nullptr && !JsonEqual(want, it.value())) {
        ++rule_hits[absl::StrCat(it.key(), ": \"", rule->gap, "\"")];
      }
    }
  }
  for (const auto& [what, n] : rule_hits) {
    std::cout << "  note: " << file << " read by " << reader << ", column " << what << " (" << n
              << " values differ from Pantry's exactly as that rule says)\n";
  }
  if (mismatches > 0) {
    ADD_FAILURE() << file << ": " << mismatches << " differences between Pantry and " << label
                  << " (first " << shown.size() << "):\n  " << absl::StrJoin(shown, "\n  ");
  }
}

// ---------------------------------------------------------------------------
// The comparison and the rules themselves, without node.

bool Same(const char* a, const char* b) { return JsonEqual(Json::parse(a), Json::parse(b)); }

TEST(CanonicalJsonComparison, NumbersCompareAsNumbersNotAsText) {
  EXPECT_TRUE(Same("1", "1.0"));
  EXPECT_TRUE(Same("1e+21", "1000000000000000000000"));
  EXPECT_TRUE(Same("18446744073709551615", "18446744073709551615"));
  EXPECT_TRUE(Same("-9223372036854775808", "-9223372036854775808"));
  EXPECT_FALSE(Same("18446744073709551615", "-1"));
  EXPECT_FALSE(Same("9007199254740993", "9007199254740992.0"));
  EXPECT_FALSE(Same("0.1", "0.10000000149011612"));
  EXPECT_FALSE(Same("1", "\"1\""));
}

TEST(CanonicalJsonComparison, NegativeZeroDiffersFromZero) {
  EXPECT_TRUE(Same("-0.0", "-0.0"));
  EXPECT_FALSE(Same("-0.0", "0"));
  EXPECT_FALSE(Same("-0.0", "0.0"));
}

TEST(CanonicalJsonComparison, RowsNeedTheSameKeysInTheSameOrder) {
  EXPECT_TRUE(Same(R"({"a":1,"b":[null,"NaN"]})", R"({"a":1.0,"b":[null,"NaN"]})"));
  EXPECT_FALSE(Same(R"({"a":1,"b":2})", R"({"b":2,"a":1})"));
  EXPECT_FALSE(Same(R"({"a":[1,2]})", R"({"a":[1,2,3]})"));
  EXPECT_TRUE(Same(R"({"base64": "AA=="})", R"({"base64":"AA=="})"));
}

TEST(ReaderRules, DuckDbUtcNanosTruncateTowardZeroAndInt96Floors) {
  EXPECT_EQ(TruncateToMicros("1969-12-31T23:59:59.999999999Z"), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(TruncateToMicros("1969-12-31T23:59:58.765432109Z"), "1969-12-31T23:59:58.765433000Z");
  EXPECT_EQ(TruncateToMicros("2255-03-14T00:00:00.000000999Z"), "2255-03-14T00:00:00.000000000Z");
  EXPECT_EQ(FloorToMicros("1969-12-31T23:59:59.999999999Z"), "1969-12-31T23:59:59.999999000Z");
  EXPECT_EQ(FloorToMicros("1900-01-01T00:00:00.000000000Z"), "1900-01-01T00:00:00.000000000Z");
}

TEST(ReaderRules, EachIsASectionOfKnownGaps) {
  const std::string gaps = ReadFileText(InteropDir() / "KNOWN_GAPS.md");
  ASSERT_FALSE(gaps.empty()) << (InteropDir() / "KNOWN_GAPS.md").string() << " is missing";
  for (const ReaderRule& rule : kReaderRules) {
    EXPECT_TRUE(absl::StrContains(gaps, absl::StrCat("\n### ", rule.gap, "\n")))
        << "KNOWN_GAPS.md has no section \"" << rule.gap << "\"";
  }
}

TEST(ReaderRules, ArrowEnumIsTheTextsBytesInBase64) {
  EXPECT_EQ(TextAsBase64("red"), Json::parse(R"({"base64":"cmVk"})"));
  EXPECT_EQ(MapLeaves(Json::parse(R"(["red",null])"), TextAsBase64),
            Json::parse(R"([{"base64":"cmVk"},null])"));
}

// ---------------------------------------------------------------------------
// 1. Files written by the reference implementations, read by Pantry.

constexpr char kNoReferenceFiles[] = "reference_files_unavailable";

std::string& ListingError() {
  static std::string* const error = new std::string();
  return *error;
}

// The names of the files write.mjs writes, from its matrix() (nothing is
// written; evaluated when the tests are registered), or kNoReferenceFiles
// when they can't be listed: that test then fails saying why.
std::vector<std::string> ReferenceFileNames() {
  if (!NodeProblem().empty()) {
    ListingError() = NodeProblem();
    return {kNoReferenceFiles};
  }
  Command list("node --input-type=module -e " +
               ShellQuote("import { matrix } from './write.mjs';"
                          "for (const f of matrix()) console.log(f.name);"));
  const Command::Result r = list.Finish();
  std::vector<std::string> names = SplitLines(r.out);
  if (r.exit_code != 0 || names.empty()) {
    ListingError() =
        absl::StrCat("listing the matrix of write.mjs failed (exit ", r.exit_code, "): ", r.err);
    return {kNoReferenceFiles};
  }
  return names;
}

class PantryReadsReferenceFile : public testing::TestWithParam<std::string> {
 protected:
  // Writes the reference matrix (`node write.mjs DIR`) into a fresh
  // temporary directory.
  static void SetUpTestSuite() {
    if (!NodeProblem().empty()) return;
    dir_ = MakeTempDir("pantry_interop_ref_");
    if (dir_.empty()) {
      setup_error_ = "cannot create a temporary directory";
      return;
    }
    const Command::Result r =
        Command(absl::StrCat("node write.mjs ", ShellQuote(dir_.string()))).Finish();
    if (r.exit_code != 0) {
      setup_error_ = absl::StrCat("node write.mjs failed (exit ", r.exit_code, "): ", r.err);
      return;
    }
    try {
      const Json manifest = Json::parse(ReadFileText(dir_ / "MANIFEST.json"));
      for (const Json& f : manifest.at("files")) {
        std::string name = f.at("file").get<std::string>();
        name = name.substr(0, name.size() - std::string(".parquet").size());
        manifest_.emplace(name, f);
      }
    } catch (const Json::exception& e) {
      setup_error_ = absl::StrCat("MANIFEST.json: ", e.what());
    }
  }

  static void TearDownTestSuite() {
    RemoveTempDir(dir_);
    dir_.clear();
    manifest_.clear();
  }

  static inline fs::path dir_;
  static inline std::string setup_error_;
  static inline std::map<std::string, Json> manifest_;
};

TEST_P(PantryReadsReferenceFile, MatchesTheWritersOwnReader) {
  const std::string& name = GetParam();
  ASSERT_TRUE(NodeProblem().empty()) << NodeProblem();
  ASSERT_NE(name, kNoReferenceFiles) << ListingError();
  ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  const auto it = manifest_.find(name);
  ASSERT_NE(it, manifest_.end()) << "MANIFEST.json does not list " << name;
  const Json& entry = it->second;
  const std::string file = entry.at("file").get<std::string>();
  const std::string reader = entry.at("expected_reader").get<std::string>();
  const absl::StatusOr<PantryRows> rows = ReadWithPantry((dir_ / file).string());
  ASSERT_TRUE(rows.ok()) << "Pantry cannot read " << file << ": " << rows.status();
  const std::vector<std::string> expected =
      SplitLines(ReadFileText(dir_ / entry.at("expected").get<std::string>()));
  ASSERT_FALSE(expected.empty()) << entry.at("expected").get<std::string>() << " is empty";
  ExpectSameRows(file, reader, absl::StrCat(reader, " (the writer's own reader)"), rows->columns,
                 rows->lines, expected);
}

INSTANTIATE_TEST_SUITE_P(WriteMjs, PantryReadsReferenceFile,
                         testing::ValuesIn(ReferenceFileNames()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---------------------------------------------------------------------------
// 2. Files written by Pantry, read by the reference implementations.

using Int128 = __int128;
template <typename T>
using Cycle = std::vector<std::optional<T>>;
template <typename T>
using List = std::optional<std::vector<std::optional<T>>>;

void AppendValue(ColumnData* d, bool v) { d->bools.push_back(v ? 1 : 0); }
void AppendValue(ColumnData* d, int32_t v) { d->i32.push_back(v); }
void AppendValue(ColumnData* d, int64_t v) { d->i64.push_back(v); }
void AppendValue(ColumnData* d, float v) { d->f32.push_back(v); }
void AppendValue(ColumnData* d, double v) { d->f64.push_back(v); }
void AppendValue(ColumnData* d, const std::string& v) { d->bytes.Append(v); }

// One column of a test table: its spec and its first `rows` rows.
struct TestColumn {
  ColumnSpec spec;
  std::function<ColumnData(int64_t rows)> make;
};

ColumnSpec Spec(const std::string& name, Type physical, Logical logical = Logical::kNone) {
  ColumnSpec c;
  c.name = name;
  c.physical = physical;
  c.logical = logical;
  c.nullable = true;
  return c;
}

// A flat column: row r holds value(r); nullopt is null.
template <typename T>
TestColumn Flat(ColumnSpec spec, std::function<std::optional<T>(int64_t)> value) {
  const bool nullable = spec.nullable;
  return {std::move(spec), [nullable, value](int64_t rows) {
            ColumnData d;
            d.num_slots = rows;
            for (int64_t r = 0; r < rows; ++r) {
              const std::optional<T> v = value(r);
              if (nullable) d.def_levels.push_back(v ? 1 : 0);
              if (v) AppendValue(&d, *v);
            }
            return d;
          }};
}

// A flat column whose row r holds cycle[r % size]; a REQUIRED column leaves
// the nulls of the cycle out.
template <typename T>
TestColumn FlatCycle(ColumnSpec spec, Cycle<T> cycle) {
  if (!spec.nullable) std::erase_if(cycle, [](const std::optional<T>& v) { return !v; });
  return Flat<T>(std::move(spec), [cycle](int64_t r) { return cycle[r % cycle.size()]; });
}

// A three-level LIST column: row r holds list(r). Levels as FileWriter
// derives them: null list < empty list < null element < value.
template <typename T>
TestColumn ListOf(ColumnSpec spec, std::function<List<T>(int64_t)> list) {
  spec.is_list = true;
  const int16_t list_def = spec.nullable ? 1 : 0;
  const int16_t element_def = list_def + 1;
  const int16_t max_def = element_def + (spec.element_nullable ? 1 : 0);
  return {std::move(spec), [=](int64_t rows) {
            ColumnData d;
            for (int64_t r = 0; r < rows; ++r) {
              const List<T> l = list(r);
              if (!l || l->empty()) {
                d.rep_levels.push_back(0);
                d.def_levels.push_back(l ? list_def : 0);
                continue;
              }
              for (size_t j = 0; j < l->size(); ++j) {
                d.rep_levels.push_back(j == 0 ? 0 : 1);
                d.def_levels.push_back((*l)[j] ? max_def : element_def);
                if ((*l)[j]) AppendValue(&d, *(*l)[j]);
              }
            }
            d.num_slots = static_cast<int64_t>(d.def_levels.size());
            return d;
          }};
}

// A list column cycling through `cycle`; null lists are left out of a
// REQUIRED list, null elements out of a list with REQUIRED elements.
template <typename T>
TestColumn ListCycle(ColumnSpec spec, std::vector<List<T>> cycle) {
  if (!spec.nullable) std::erase_if(cycle, [](const List<T>& l) { return !l; });
  if (!spec.element_nullable) {
    for (List<T>& l : cycle) {
      if (l) std::erase_if(*l, [](const std::optional<T>& v) { return !v; });
    }
  }
  return ListOf<T>(std::move(spec), [cycle](int64_t r) { return cycle[r % cycle.size()]; });
}

Int128 Pow10(int n) {
  Int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

Int128 ParseInt128(absl::string_view s) {
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  Int128 v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return negative ? -v : v;
}

// Big-endian two's complement in `bytes` bytes.
std::string BigEndian(Int128 v, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(static_cast<uint8_t>(v & 0xff));
    v >>= 8;  // arithmetic: keeps the sign
  }
  return out;
}

// The shortest big-endian two's complement form (at least one byte).
std::string MinimalBigEndian(Int128 v) {
  int bytes = 1;
  while (bytes < 16) {
    const Int128 limit = static_cast<Int128>(1) << (8 * bytes - 1);
    if (v >= -limit && v < limit) break;
    ++bytes;
  }
  return BigEndian(v, bytes);
}

// A DECIMAL column in the physical type of `spec` (INT32, INT64,
// FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY) with unscaled values from `cycle`.
TestColumn DecimalCycle(ColumnSpec spec, const Cycle<Int128>& cycle) {
  auto convert = [&](auto to) {
    using T = decltype(to(Int128{}));
    Cycle<T> out;
    for (const std::optional<Int128>& v : cycle) {
      out.push_back(v ? std::optional<T>(to(*v)) : std::nullopt);
    }
    return out;
  };
  switch (spec.physical) {
    case Type::kInt32:
      return FlatCycle<int32_t>(spec, convert([](Int128 v) { return static_cast<int32_t>(v); }));
    case Type::kInt64:
      return FlatCycle<int64_t>(spec, convert([](Int128 v) { return static_cast<int64_t>(v); }));
    case Type::kFixedLenByteArray: {
      const int length = spec.type_length;
      return FlatCycle<std::string>(spec,
                                    convert([length](Int128 v) { return BigEndian(v, length); }));
    }
    default:
      return FlatCycle<std::string>(spec, convert([](Int128 v) { return MinimalBigEndian(v); }));
  }
}

ColumnSpec Integer(const std::string& name, int bits, bool is_signed) {
  ColumnSpec c = Spec(name, bits == 64 ? Type::kInt64 : Type::kInt32, Logical::kInteger);
  c.bit_width = bits;
  c.is_signed = is_signed;
  return c;
}

ColumnSpec Timestamp(const std::string& name, TimeUnit unit, bool utc) {
  ColumnSpec c = Spec(name, Type::kInt64, Logical::kTimestamp);
  c.unit = unit;
  c.utc_adjusted = utc;
  return c;
}

ColumnSpec Decimal(const std::string& name, Type physical, int precision, int scale,
                   int type_length = 0) {
  ColumnSpec c = Spec(name, physical, Logical::kDecimal);
  c.precision = precision;
  c.scale = scale;
  c.type_length = type_length;
  return c;
}

ColumnSpec Fixed(const std::string& name, int length) {
  ColumnSpec c = Spec(name, Type::kFixedLenByteArray);
  c.type_length = length;
  return c;
}

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s.push_back(static_cast<char>(v));
  return s;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
constexpr float kInff = std::numeric_limits<float>::infinity();
constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

// Every logical type FileWriter writes that the canonical form has a
// representation for (UUID, FLOAT16, TIME, BSON and UNKNOWN have none: the
// reference readers refuse them), with edge values; REQUIRED (`_req`, no
// nulls, lists with REQUIRED elements) or OPTIONAL.
std::vector<TestColumn> TypeColumns(bool required) {
  const std::string sfx = required ? "_req" : "";
  std::vector<TestColumn> cols;
  auto add = [&](TestColumn c) {
    c.spec.name += sfx;
    cols.push_back(std::move(c));
  };
  // The REQUIRED variants are made by the *Cycle helpers from the same
  // cycles (dropping nulls), so nullability is set before they run.
  auto spec = [&](ColumnSpec c) {
    c.nullable = !required;
    c.element_nullable = !required;
    return c;
  };
  add(FlatCycle<bool>(spec(Spec("b", Type::kBoolean)), {true, false, std::nullopt}));
  add(FlatCycle<int32_t>(spec(Spec("i32", Type::kInt32)),
                         {0, kI32Max, kI32Min, 65536, -1, std::nullopt}));
  add(FlatCycle<int64_t>(spec(Spec("i64", Type::kInt64)),
                         {0, kI64Max, kI64Min, 9007199254740993, -1, std::nullopt}));
  add(FlatCycle<int32_t>(spec(Integer("int8", 8, true)), {0, 1, -1, 127, -128, std::nullopt}));
  add(FlatCycle<int32_t>(spec(Integer("int16", 16, true)), {0, 32767, -32768, 255, std::nullopt}));
  add(FlatCycle<int32_t>(spec(Integer("int32", 32, true)), {0, kI32Max, kI32Min, 1, std::nullopt}));
  add(FlatCycle<int64_t>(spec(Integer("int64", 64, true)),
                         {0, kI64Max, kI64Min, -1, std::nullopt}));
  add(FlatCycle<int32_t>(spec(Integer("uint8", 8, false)), {0, 255, 128, std::nullopt}));
  add(FlatCycle<int32_t>(spec(Integer("uint16", 16, false)), {0, 65535, 32768, std::nullopt}));
  // UINT32 4294967295 and 2147483648 are stored as the INT32 bits -1 and
  // INT32_MIN; UINT64 likewise.
  add(FlatCycle<int32_t>(spec(Integer("uint32", 32, false)), {0, -1, kI32Min, 1, std::nullopt}));
  add(FlatCycle<int64_t>(spec(Integer("uint64", 64, false)), {0, -1, kI64Min, 1, std::nullopt}));
  add(FlatCycle<float>(
      spec(Spec("f32", Type::kFloat)),
      {0.1f, kNaNf, kInff, -kInff, -0.0f, 0.0f, std::numeric_limits<float>::denorm_min(),
       1e-40f /* denormal */, FLT_MAX, FLT_MIN, 1.0f, -2.5f, std::nullopt}));
  add(FlatCycle<double>(
      spec(Spec("f64", Type::kDouble)),
      {0.1, kNaN, kInf, -kInf, -0.0, 0.0, std::numeric_limits<double>::denorm_min(),
       2.5e-310 /* denormal */, DBL_MAX, DBL_MIN, 1e21, 1e-7, 123456789.125, -1.0, 1.0 / 3,
       std::nullopt}));
  std::string long_text;
  for (int i = 0; i < 120; ++i) absl::StrAppend(&long_text, i > 0 ? " " : "", "word", i, " äöü");
  add(FlatCycle<std::string>(
      spec(Spec("s", Type::kByteArray, Logical::kString)),
      {"", "a", "héllo wörld", "日本語テキスト", "🎉 emoji 𝄞",
       "quote \" backslash \\ newline \n tab \t ctl \x01 del \x7f", long_text, std::nullopt}));
  std::string pattern;
  for (int i = 0; i < 64; ++i) pattern.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  add(FlatCycle<std::string>(
      spec(Spec("bin", Type::kByteArray)),
      {"", Bytes({0}), Bytes({0xff, 0x00, 0x7f, 0x80}), pattern, std::nullopt}));
  add(FlatCycle<std::string>(
      spec(Fixed("fix4", 4)),
      {Bytes({0, 0, 0, 0}), Bytes({1, 2, 3, 4}), Bytes({0xff, 0xfe, 0xfd, 0xfc}), std::nullopt}));
  add(FlatCycle<std::string>(spec(Spec("en", Type::kByteArray, Logical::kEnum)),
                             {"red", "green", "blue", "ünïcødé", std::nullopt}));
  add(FlatCycle<std::string>(
      spec(Spec("js", Type::kByteArray, Logical::kJson)),
      {R"({"a":1,"b":[true,null]})", R"([1,2.5,"x"])", R"("str")", "42", std::nullopt}));
  // 1970-01-01, 1969-12-31, 2000-02-29, 0001-01-01, 9999-12-31, 1900-02-28,
  // 2024-01-01.
  add(FlatCycle<int32_t>(spec(Spec("d", Type::kInt32, Logical::kDate)),
                         {0, -1, 11016, -719162, 2932896, -25508, 19723, std::nullopt}));
  // clang-format off
  const Cycle<int64_t> ms = {0, 1, -1, 1234, -1234, 1700000000123, -62135596800000,
                             253402300799999, std::nullopt};
  const Cycle<int64_t> us = {0, 1, -1, 1234567, -1234567, 1700000000123456,
                             -62135596800000000, 253402300799999999, 946684799999999,
                             std::nullopt};
  const Cycle<int64_t> ns = {0, 1, -1, 1234567891, -1234567891, 1700000000123456789,
                             -2208988800000000000, 946684799999999999, 9000000000000000000,
                             -9000000000000000000, 999, -999, std::nullopt};
  // clang-format on
  for (bool utc : {true, false}) {
    const std::string z = utc ? "_utc" : "";
    add(FlatCycle<int64_t>(spec(Timestamp("ts_ms" + z, TimeUnit::kMillis, utc)), ms));
    add(FlatCycle<int64_t>(spec(Timestamp("ts_us" + z, TimeUnit::kMicros, utc)), us));
    add(FlatCycle<int64_t>(spec(Timestamp("ts_ns" + z, TimeUnit::kNanos, utc)), ns));
  }
  const Int128 max38 = Pow10(38) - 1;
  add(DecimalCycle(spec(Decimal("dec4_2", Type::kInt32, 4, 2)),
                   {0, 123, -123, 9999, -9999, 1, std::nullopt}));
  add(DecimalCycle(spec(Decimal("dec9_3", Type::kInt32, 9, 3)),
                   {0, 999999999, -999999999, 123456789, -1, std::nullopt}));
  add(DecimalCycle(spec(Decimal("dec18_6", Type::kInt64, 18, 6)),
                   {0, ParseInt128("999999999999999999"), ParseInt128("-999999999999999999"),
                    ParseInt128("123456789012345678"), 1, std::nullopt}));
  add(DecimalCycle(spec(Decimal("dec12_4_fixed6", Type::kFixedLenByteArray, 12, 4, 6)),
                   {0, Pow10(12) - 1, -(Pow10(12) - 1), 12345, -1, std::nullopt}));
  add(DecimalCycle(
      spec(Decimal("dec38_10", Type::kFixedLenByteArray, 38, 10, 16)),
      {0, max38, -max38, ParseInt128("12345678901234567890123456789"), -1, std::nullopt}));
  add(DecimalCycle(spec(Decimal("dec38_36", Type::kFixedLenByteArray, 38, 36, 16)),
                   {0, 123 * Pow10(34), -5, max38, std::nullopt}));
  add(DecimalCycle(spec(Decimal("dec20_2_ba", Type::kByteArray, 20, 2)),
                   {0, Pow10(20) - 1, -(Pow10(20) - 1), 12345, -1, 255, -256, std::nullopt}));
  auto list_spec = [&](const std::string& name, Type physical, Logical logical = Logical::kNone) {
    ColumnSpec c = spec(Spec(name, physical, logical));
    c.is_list = true;
    return c;
  };
  // clang-format off
  add(ListCycle<int32_t>(list_spec("l_i32", Type::kInt32),
                         {{{1, 2, 3}}, {{}}, std::nullopt, {{std::nullopt}},
                          {{4, std::nullopt, -5}}, {{kI32Max, kI32Min}}}));
  // clang-format on
  add(ListCycle<int64_t>(list_spec("l_i64", Type::kInt64),
                         {{{1, kI64Max}}, {{}}, std::nullopt, {{std::nullopt, kI64Min}}, {{-1}}}));
  add(ListCycle<double>(
      list_spec("l_f64", Type::kDouble),
      {{{0.1, kNaN}}, {{}}, std::nullopt, {{std::nullopt, -0.0, kInf, -kInf}}, {{1e300, 5e-324}}}));
  add(ListCycle<float>(
      list_spec("l_f32", Type::kFloat),
      {{{0.1f}}, {{}}, std::nullopt, {{std::nullopt, kNaNf, -0.0f}}, {{3.5f, -kInff}}}));
  add(ListCycle<std::string>(
      list_spec("l_s", Type::kByteArray, Logical::kString),
      {{{"a", ""}}, {{}}, std::nullopt, {{std::nullopt}}, {{"日本", std::string(50, 'x')}}}));
  return cols;
}

// The type table: every type OPTIONAL, then REQUIRED, then lists mixing the
// two (an OPTIONAL list of REQUIRED elements, a REQUIRED list of OPTIONAL
// ones).
std::vector<TestColumn> TypeTable() {
  std::vector<TestColumn> cols = TypeColumns(/*required=*/false);
  for (TestColumn& c : TypeColumns(/*required=*/true)) cols.push_back(std::move(c));
  ColumnSpec opt_list = Spec("l_i64_opt_list_req_elem", Type::kInt64);
  opt_list.is_list = true;
  opt_list.element_nullable = false;
  cols.push_back(ListCycle<int64_t>(opt_list, {{{1, 2}}, std::nullopt, {{}}, {{-3}}}));
  ColumnSpec req_list = Spec("l_s_req_list_opt_elem", Type::kByteArray, Logical::kString);
  req_list.is_list = true;
  req_list.nullable = false;
  req_list.element_nullable = true;
  cols.push_back(
      ListCycle<std::string>(req_list, {{{"x", std::nullopt}}, {{}}, {{std::nullopt}}, {{"y"}}}));
  return cols;
}

// Many rows for row groups with many small pages.
std::vector<TestColumn> BulkTable() {
  std::vector<TestColumn> cols;
  ColumnSpec id = Spec("id", Type::kInt64);
  id.nullable = false;
  cols.push_back(Flat<int64_t>(id, [](int64_t i) { return std::optional<int64_t>(i); }));
  cols.push_back(Flat<int32_t>(Spec("n", Type::kInt32), [](int64_t i) {
    return i % 7 == 3 ? std::nullopt : std::optional<int32_t>(static_cast<int32_t>(i * 31 - 50000));
  }));
  cols.push_back(Flat<double>(Spec("x", Type::kDouble), [](int64_t i) {
    return i % 11 == 0 ? std::nullopt : std::optional<double>(static_cast<double>(i) / 8 - 300);
  }));
  cols.push_back(Flat<std::string>(Spec("key", Type::kByteArray, Logical::kString), [](int64_t i) {
    return i % 13 == 0 ? std::nullopt : std::optional<std::string>(absl::StrCat("key-", i % 97));
  }));
  ColumnSpec ts = Timestamp("ts", TimeUnit::kMicros, true);
  ts.nullable = false;
  cols.push_back(Flat<int64_t>(
      ts, [](int64_t i) { return std::optional<int64_t>(1700000000000000 + i * 1000003); }));
  ColumnSpec tags = Spec("tags", Type::kInt32);
  tags.is_list = true;
  tags.element_nullable = true;
  cols.push_back(ListOf<int32_t>(tags, [](int64_t i) -> List<int32_t> {
    if (i % 5 == 0) return std::nullopt;
    std::vector<std::optional<int32_t>> l;
    for (int64_t k = 0; k < i % 4; ++k) {
      l.push_back((i + k) % 9 == 0 ? std::nullopt
                                   : std::optional<int32_t>(static_cast<int32_t>(i + k)));
    }
    return l;
  }));
  return cols;
}

struct PantryFile {
  std::string name;
  bool bulk = false;
  int64_t rows = 0;
  WriterOptions options;
};

// The files Pantry writes: the type table with each codec, dictionary on
// and off, in row groups of 64 rows with ~64-byte pages (1 to 16 pages per
// chunk); and the bulk table in 4 row groups of ~1 KiB pages (5 to 20 per
// chunk).
const std::vector<PantryFile>& PantryFiles() {
  static const std::vector<PantryFile>* const files = [] {
    auto* out = new std::vector<PantryFile>();
    // clang-format off
    const std::pair<Codec, const char*> codecs[] = {
        {Codec::kUncompressed, "uncompressed"}, {Codec::kSnappy, "snappy"},
        {Codec::kGzip, "gzip"},                 {Codec::kZstd, "zstd"},
        {Codec::kLz4Raw, "lz4_raw"},            {Codec::kBrotli, "brotli"}};
    // clang-format on
    for (const auto& [codec, codec_name] : codecs) {
      for (bool dictionary : {true, false}) {
        PantryFile f;
        f.name = absl::StrCat("types_", codec_name, dictionary ? "_dict" : "_plain");
        f.rows = 150;
        f.options.codec = codec;
        f.options.dictionary = dictionary;
        f.options.row_group_rows = 64;
        f.options.page_bytes = 64;
        out->push_back(f);
      }
    }
    for (bool dictionary : {true, false}) {
      PantryFile f;
      f.name = dictionary ? "bulk_zstd_dict" : "bulk_gzip_plain";
      f.bulk = true;
      f.rows = 10000;
      f.options.codec = dictionary ? Codec::kZstd : Codec::kGzip;
      f.options.dictionary = dictionary;
      f.options.row_group_rows = 2500;
      f.options.page_bytes = 1024;
      out->push_back(f);
    }
    return out;
  }();
  return *files;
}

std::vector<std::string> PantryFileNames() {
  std::vector<std::string> names;
  for (const PantryFile& f : PantryFiles()) names.push_back(f.name);
  return names;
}

const char* const kReaders[] = {"duckdb", "arrow", "hyparquet"};

// One reference reader's output for one file.
struct ReaderOutput {
  std::vector<std::string> lines;
  std::optional<std::string> error;  // the reader could not read the file
};

struct ReaderRun {
  int exit_code = -1;
  std::string err;
  std::map<std::string, ReaderOutput> files;  // by path
};

// Splits the output of `node read.mjs LIB FILE1 FILE2 ...`.
std::map<std::string, ReaderOutput> ParseBatch(absl::string_view out) {
  std::map<std::string, ReaderOutput> files;
  ReaderOutput* current = nullptr;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::ConsumePrefix(&line, "### error: ")) {
      if (current != nullptr) current->error = std::string(line);
    } else if (absl::ConsumePrefix(&line, "### ")) {
      current = &files[std::string(line)];
    } else if (!line.empty() && current != nullptr) {
      current->lines.emplace_back(line);
    }
  }
  return files;
}

struct WrittenFile {
  std::string path;
  absl::Status write_status;
  std::vector<std::string> written_lines;  // formatted from the ColumnData handed to Write
  absl::StatusOr<PantryRows> read_back = absl::UnknownError("not read");
};

// The Pantry-written files and what each reference reader makes of them,
// built once (on first use) in a temporary directory removed at exit.
class PantryMatrix {
 public:
  static const PantryMatrix& Get() {
    static const PantryMatrix matrix;
    return matrix;
  }
  ~PantryMatrix() { RemoveTempDir(dir_); }

  const WrittenFile& file(const std::string& name) const { return files_.at(name); }
  const ReaderRun& reader(const std::string& lib) const { return readers_.at(lib); }
  const std::string& error() const { return error_; }

 private:
  PantryMatrix() {
    dir_ = MakeTempDir("pantry_interop_out_");
    if (dir_.empty()) {
      error_ = "cannot create a temporary directory";
      return;
    }
    std::string paths;
    for (const PantryFile& spec : PantryFiles()) {
      WrittenFile& f = files_[spec.name];
      f.path = (dir_ / (spec.name + ".parquet")).string();
      f.write_status = Write(spec, &f);
      if (!f.write_status.ok()) continue;
      f.read_back = ReadWithPantry(f.path);
      absl::StrAppend(&paths, " ", ShellQuote(f.path));
    }
    if (!NodeProblem().empty() || paths.empty()) return;
    // One node process per reader for all files, the three at once.
    std::vector<std::unique_ptr<Command>> commands;
    for (const char* lib : kReaders) {
      commands.push_back(std::make_unique<Command>(absl::StrCat("node read.mjs ", lib, paths)));
    }
    for (size_t i = 0; i < commands.size(); ++i) {
      const Command::Result r = commands[i]->Finish();
      ReaderRun& run = readers_[kReaders[i]];
      run.exit_code = r.exit_code;
      run.err = r.err;
      run.files = ParseBatch(r.out);
    }
  }

  static absl::Status Write(const PantryFile& file, WrittenFile* out) {
    const std::vector<TestColumn> table = file.bulk ? BulkTable() : TypeTable();
    std::vector<ColumnSpec> specs;
    std::vector<ColumnData> batch;
    for (const TestColumn& c : table) {
      specs.push_back(c.spec);
      batch.push_back(c.make(file.rows));
    }
    PANTRY_ASSIGN_OR_RETURN(std::unique_ptr<FileWriter> writer,
                            FileWriter::Create(out->path, specs, file.options));
    // The rows as written, formatted straight from the batch (one "row
    // group" of all rows) with the columns as the writer will describe them.
    std::vector<const Column*> columns;
    for (const Column& c : writer->columns()) columns.push_back(&c);
    std::vector<const ColumnData*> chunks;
    for (const ColumnData& d : batch) chunks.push_back(&d);
    std::string text;
    PANTRY_RETURN_IF_ERROR(AppendJsonRows(columns, chunks, file.rows, &text));
    out->written_lines = SplitLines(text);
    PANTRY_RETURN_IF_ERROR(writer->Write(batch, file.rows));
    return writer->Close();
  }

  fs::path dir_;
  std::string error_;
  std::map<std::string, WrittenFile> files_;
  std::map<std::string, ReaderRun> readers_;
};

const PantryFile& PantryFileNamed(const std::string& name) {
  for (const PantryFile& f : PantryFiles()) {
    if (f.name == name) return f;
  }
  return PantryFiles().front();
}

class PantryWrittenFile : public testing::TestWithParam<std::string> {};

TEST_P(PantryWrittenFile, ReadsBackAsTheColumnDataWritten) {
  const PantryMatrix& matrix = PantryMatrix::Get();
  ASSERT_TRUE(matrix.error().empty()) << matrix.error();
  const PantryFile& spec = PantryFileNamed(GetParam());
  const WrittenFile& f = matrix.file(GetParam());
  ASSERT_TRUE(f.write_status.ok()) << "Pantry cannot write " << f.path << ": " << f.write_status;
  ASSERT_TRUE(f.read_back.ok()) << "Pantry cannot read " << f.path << ": " << f.read_back.status();
  ASSERT_EQ(f.written_lines.size(), static_cast<size_t>(spec.rows));
  ExpectSameRows(GetParam() + ".parquet", "", "the ColumnData written", f.read_back->columns,
                 f.read_back->lines, f.written_lines);
  // The file has the layout it is meant to exercise.
  EXPECT_GE(f.read_back->row_groups, 3);
  EXPECT_EQ(f.read_back->codecs, std::set<Codec>{spec.options.codec});
  EXPECT_EQ(f.read_back->any_dictionary, spec.options.dictionary);
}

INSTANTIATE_TEST_SUITE_P(Pantry, PantryWrittenFile, testing::ValuesIn(PantryFileNames()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

class ReferenceReaderReadsPantryFile
    : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ReferenceReaderReadsPantryFile, ExactlyAsPantryDoes) {
  const auto& [lib, name] = GetParam();
  ASSERT_TRUE(NodeProblem().empty()) << NodeProblem();
  const PantryMatrix& matrix = PantryMatrix::Get();
  ASSERT_TRUE(matrix.error().empty()) << matrix.error();
  const WrittenFile& f = matrix.file(name);
  ASSERT_TRUE(f.write_status.ok()) << "Pantry cannot write " << f.path << ": " << f.write_status;
  ASSERT_TRUE(f.read_back.ok()) << "Pantry cannot read " << f.path << ": " << f.read_back.status();
  const ReaderRun& run = matrix.reader(lib);
  const auto it = run.files.find(f.path);
  ASSERT_NE(it, run.files.end()) << "`node read.mjs " << lib << "` printed nothing for " << f.path
                                 << " (exit " << run.exit_code << "): " << run.err;
  // No documented limit makes a reference reader reject a file Pantry
  // writes: a rejection is a Pantry bug.
  ASSERT_FALSE(it->second.error.has_value())
      << lib << " cannot read Pantry's " << name << ".parquet: " << *it->second.error;
  ExpectSameRows(name + ".parquet", lib, lib, f.read_back->columns, f.read_back->lines,
                 it->second.lines);
}

INSTANTIATE_TEST_SUITE_P(
    Pantry, ReferenceReaderReadsPantryFile,
    testing::Combine(testing::ValuesIn(std::vector<std::string>(std::begin(kReaders),
                                                                std::end(kReaders))),
                     testing::ValuesIn(PantryFileNames())),
    [](const testing::TestParamInfo<std::tuple<std::string, std::string>>& info) {
      return absl::StrCat(std::get<0>(info.param), "_reads_", std::get<1>(info.param));
    });

}  // namespace
}  // namespace pantry::parquet
