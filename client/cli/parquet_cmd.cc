#include "client/cli/parquet_cmd.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/value/json_values.h"
#include "nlohmann/json.hpp"
#include "server/offline/columns.h"
#include "server/parquet/json_rows.h"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"
#include "server/value/value.h"

namespace pantry::cli {
namespace {

using parquet::Column;
using parquet::ColumnData;
using parquet::FileReader;

constexpr int kFailed = 1;
constexpr int kBadInput = 2;

int Fail(const absl::Status& s) {
  std::cerr << "pantry parquet: " << absl::StatusCodeToString(s.code()) << ": " << s.message()
            << "\n";
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
      return kBadInput;
    default:
      return kFailed;
  }
}

using parquet::CodecName;
using parquet::EncodingName;

absl::StatusOr<std::unique_ptr<FileReader>> OpenFile(const std::string& file) {
  return FileReader::Open(file);
}

// The statistics value `raw` of column `c` as JSON text, or "?" when it
// cannot be shown (a raw value of the wrong width, INT96).
std::string StatisticToJson(const Column& c, const std::string& raw) {
  ColumnData d;
  d.num_slots = 1;
  auto fixed = [&](auto* vec) {
    using T = typename std::decay_t<decltype(*vec)>::value_type;
    if (raw.size() != sizeof(T)) return false;
    T v;
    std::memcpy(&v, raw.data(), sizeof(T));
    vec->push_back(v);
    return true;
  };
  bool ok = true;
  switch (c.physical) {
    case parquet::Type::kBoolean:
      ok = raw.size() == 1;
      if (ok) d.bools.push_back(raw[0] != 0);
      break;
    case parquet::Type::kInt32: ok = fixed(&d.i32); break;
    case parquet::Type::kInt64: ok = fixed(&d.i64); break;
    case parquet::Type::kFloat: ok = fixed(&d.f32); break;
    case parquet::Type::kDouble: ok = fixed(&d.f64); break;
    case parquet::Type::kInt96: ok = false; break;
    case parquet::Type::kByteArray:
    case parquet::Type::kFixedLenByteArray: d.bytes.Append(raw); break;
  }
  std::string out;
  if (!ok || !parquet::AppendJsonValue(c, d, 0, &out).ok()) return "?";
  return out;
}

// Resolves --columns to leaf indexes, all readable columns when empty.
absl::StatusOr<std::vector<int>> Projection(const FileReader& reader, const std::string& spec) {
  std::vector<int> out;
  const auto& columns = reader.schema().columns();
  if (spec.empty()) {
    for (const Column& c : columns) {
      if (c.supported) out.push_back(c.leaf_index);
    }
    return out;
  }
  for (absl::string_view name : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    const int i = reader.schema().Find(name);
    if (i < 0) {
      std::vector<std::string> names;
      for (const Column& c : columns) {
        if (names.empty() || names.back() != c.name) names.push_back(c.name);
      }
      return absl::InvalidArgumentError(absl::StrCat(reader.path(), ": no column '", name,
                                                     "'; columns: ", absl::StrJoin(names, ", ")));
    }
    if (!columns[i].supported) {
      return absl::UnimplementedError(
          absl::StrCat(reader.path(), ": ", columns[i].unsupported_reason));
    }
    out.push_back(i);
  }
  return out;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) s += "  ";
      s += cells[i];
      if (i + 1 < cells.size()) s.append(width[i] - cells[i].size(), ' ');
    }
    std::cout << s << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

}  // namespace

int ParquetSchema(const ParquetArgs& args) {
  auto reader = OpenFile(args.file);
  if (!reader.ok()) return Fail(reader.status());
  const auto& meta = (*reader)->metadata();
  if (args.json) {
    nlohmann::ordered_json j;
    j["file"] = args.file;
    j["rows"] = meta.num_rows;
    j["row_groups"] = meta.row_groups.size();
    j["created_by"] = meta.created_by.value_or("");
    auto& cols = j["columns"] = nlohmann::ordered_json::array();
    for (const Column& c : (*reader)->schema().columns()) {
      cols.push_back({{"name", c.name},
                      {"path", absl::StrJoin(c.path, ".")},
                      {"type", c.TypeString()},
                      {"supported", c.supported}});
    }
    auto& kv = j["key_value_metadata"] = nlohmann::ordered_json::object();
    for (const auto& e : meta.key_value_metadata) kv[e.key] = e.value.value_or("");
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << args.file << ": " << meta.num_rows << " rows in " << meta.row_groups.size()
            << " row groups";
  if (meta.created_by) std::cout << ", written by " << *meta.created_by;
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const Column& c : (*reader)->schema().columns()) {
    rows.push_back({c.name, absl::StrJoin(c.path, "."), c.TypeString()});
  }
  PrintTable({"column", "path", "type"}, rows);
  for (const auto& e : meta.key_value_metadata) {
    std::string v = e.value.value_or("");
    if (v.size() > 80) v = v.substr(0, 77) + "...";
    std::cout << "metadata " << e.key << " = " << v << "\n";
  }
  return 0;
}

int ParquetHead(const ParquetArgs& args) {
  if (args.limit < 0) {
    std::cerr << "pantry parquet head: --limit must be >= 0\n";
    return kBadInput;
  }
  auto reader = OpenFile(args.file);
  if (!reader.ok()) return Fail(reader.status());
  auto projection = Projection(**reader, args.columns);
  if (!projection.ok()) return Fail(projection.status());
  std::vector<const Column*> columns;
  for (int i : *projection) columns.push_back(&(*reader)->schema().columns()[i]);
  std::vector<ColumnData> data(columns.size());
  std::vector<const ColumnData*> chunks;
  for (const ColumnData& d : data) chunks.push_back(&d);
  std::vector<std::vector<std::string>> table;
  int64_t left = args.limit;
  for (int g = 0; g < (*reader)->num_row_groups() && left > 0; ++g) {
    for (size_t i = 0; i < columns.size(); ++i) {
      absl::Status s = (*reader)->ReadColumn(g, (*projection)[i], &data[i]);
      if (!s.ok()) return Fail(s);
    }
    const int64_t rows = std::min(left, (*reader)->row_group_rows(g));
    std::string text;
    absl::Status s = parquet::AppendJsonRows(columns, chunks, rows, &text);
    if (!s.ok()) return Fail(s);
    left -= rows;
    if (args.json) {
      std::cout << text;
      continue;
    }
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      auto j = nlohmann::ordered_json::parse(line, nullptr, false);
      std::vector<std::string> cells;
      for (auto it = j.begin(); it != j.end(); ++it) {
        cells.push_back(it.value().is_string() ? it.value().get<std::string>()
                                               : it.value().dump());
      }
      table.push_back(std::move(cells));
    }
  }
  if (!args.json) {
    std::vector<std::string> header;
    for (const Column* c : columns) header.push_back(c->name);
    PrintTable(header, table);
  }
  return 0;
}

int ParquetStats(const ParquetArgs& args) {
  auto reader = OpenFile(args.file);
  if (!reader.ok()) return Fail(reader.status());
  const auto& meta = (*reader)->metadata();
  const auto& columns = (*reader)->schema().columns();
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  std::vector<std::vector<std::string>> table;
  for (size_t g = 0; g < meta.row_groups.size(); ++g) {
    const auto& rg = meta.row_groups[g];
    nlohmann::ordered_json jg;
    jg["row_group"] = g;
    jg["rows"] = rg.num_rows;
    jg["total_byte_size"] = rg.total_byte_size;
    auto& jc = jg["columns"] = nlohmann::ordered_json::array();
    for (size_t c = 0; c < columns.size(); ++c) {
      const auto& cm = *rg.columns[c].meta_data;
      std::vector<std::string> encodings;
      for (auto e : cm.encodings) encodings.push_back(EncodingName(e));
      std::string min = "", max = "", nulls = "";
      if (cm.statistics) {
        const auto& st = *cm.statistics;
        const std::string* lo = st.min_value ? &*st.min_value : (st.min ? &*st.min : nullptr);
        const std::string* hi = st.max_value ? &*st.max_value : (st.max ? &*st.max : nullptr);
        if (lo) min = StatisticToJson(columns[c], *lo);
        if (hi) max = StatisticToJson(columns[c], *hi);
        if (st.null_count) nulls = absl::StrCat(*st.null_count);
      }
      nlohmann::ordered_json col;
      col["column"] = absl::StrJoin(columns[c].path, ".");
      col["codec"] = CodecName(cm.codec);
      col["encodings"] = encodings;
      col["values"] = cm.num_values;
      col["compressed_bytes"] = cm.total_compressed_size;
      col["uncompressed_bytes"] = cm.total_uncompressed_size;
      col["null_count"] = nulls.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(std::stoll(nulls));
      col["min"] = min.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(min, nullptr, false);
      col["max"] = max.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(max, nullptr, false);
      jc.push_back(col);
      table.push_back({absl::StrCat(g), absl::StrJoin(columns[c].path, "."), CodecName(cm.codec),
                       absl::StrJoin(encodings, ","), absl::StrCat(cm.num_values),
                       absl::StrCat(cm.total_compressed_size),
                       absl::StrCat(cm.total_uncompressed_size), nulls, min, max});
    }
    groups.push_back(jg);
  }
  if (args.json) {
    nlohmann::ordered_json j;
    j["file"] = args.file;
    j["file_bytes"] = (*reader)->file_size();
    j["rows"] = meta.num_rows;
    j["row_groups"] = groups;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << args.file << ": " << (*reader)->file_size() << " bytes, " << meta.num_rows
            << " rows in " << meta.row_groups.size() << " row groups\n";
  PrintTable({"group", "column", "codec", "encodings", "values", "compressed", "uncompressed",
              "nulls", "min", "max"},
             table);
  return 0;
}

int ParquetFromJsonl(const FromJsonlArgs& args) {
  auto bad = [](absl::string_view message) {
    std::cerr << "pantry parquet from-jsonl: " << message << "\n";
    return kBadInput;
  };
  std::vector<std::pair<std::string, ValueType>> columns;
  std::map<std::string, size_t, std::less<>> index;
  for (absl::string_view item : absl::StrSplit(args.schema, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    // Types hold no ':', so the last one separates; column names may have one.
    const size_t colon = item.rfind(':');
    const absl::string_view name =
        absl::StripAsciiWhitespace(item.substr(0, colon == absl::string_view::npos ? 0 : colon));
    if (colon == absl::string_view::npos || name.empty()) {
      return bad(absl::StrCat("--schema: '", item, "' is not name:TYPE"));
    }
    const absl::string_view type_name = absl::StripAsciiWhitespace(item.substr(colon + 1));
    const std::optional<ValueType> type = ParseValueType(type_name);
    if (!type) {
      return bad(absl::StrCat("--schema: column '", name, "': unknown type '", type_name,
                              "'; valid types: ", absl::StrJoin(ValueTypeNames(), ", ")));
    }
    if (!index.emplace(std::string(name), columns.size()).second) {
      return bad(absl::StrCat("--schema: column '", name, "' is listed twice"));
    }
    columns.emplace_back(std::string(name), *type);
  }
  if (columns.empty()) return bad("--schema names no column: give name:TYPE,name:TYPE,...");
  std::vector<std::string> names;
  for (const auto& c : columns) names.push_back(c.first);

  std::ifstream in(args.in);
  if (!in) return bad(absl::StrCat("cannot read '", args.in, "': ", std::strerror(errno)));
  {
    std::error_code ec;
    const std::filesystem::path folder = std::filesystem::absolute(args.out, ec).parent_path();
    if (!ec && !std::filesystem::is_directory(folder, ec)) {
      return bad(absl::StrCat("cannot write '", args.out, "': no folder ", folder.string()));
    }
  }

  std::vector<parquet::ColumnSpec> specs;
  for (const auto& [name, type] : columns) specs.push_back(offline::OutputSpec(name, type));
  // The writer works on a temporary file that only Close() renames to
  // args.out: any return before that leaves nothing behind.
  auto writer = parquet::FileWriter::Create(args.out, std::move(specs), parquet::WriterOptions{});
  if (!writer.ok()) return Fail(writer.status());

  constexpr int64_t kBatchRows = 8192;
  std::vector<ColumnData> batch(columns.size());
  int64_t batch_rows = 0, rows = 0;
  std::vector<Value> row(columns.size());
  std::vector<bool> seen(columns.size());
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = absl::StrCat(args.in, ":", n);
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad(absl::StrCat(where, ": not a JSON object"));
    std::fill(seen.begin(), seen.end(), false);
    for (const auto& [key, json_value] : j.items()) {
      auto it = index.find(key);
      if (it == index.end()) {
        return bad(absl::StrCat(where, ": field '", key, "' is not in --schema (columns: ",
                                absl::StrJoin(names, ", "), ")"));
      }
      auto value = JsonToValue(json_value, columns[it->second].second);
      if (!value.ok()) {
        return bad(absl::StrCat(where, ": field '", key, "': ", value.status().message()));
      }
      row[it->second] = *std::move(value);
      seen[it->second] = true;
    }
    for (size_t c = 0; c < columns.size(); ++c) {
      if (!seen[c]) {
        return bad(absl::StrCat(where, ": missing field '", columns[c].first,
                                "' (write null for no value)"));
      }
    }
    for (size_t c = 0; c < columns.size(); ++c) offline::AppendOutputValue(row[c], &batch[c]);
    ++rows;
    if (++batch_rows == kBatchRows) {
      absl::Status s = (*writer)->Write(std::move(batch), batch_rows);
      if (!s.ok()) return Fail(s);
      batch.assign(columns.size(), ColumnData());
      batch_rows = 0;
    }
  }
  if (in.bad()) {
    return Fail(absl::InternalError(absl::StrCat("cannot read '", args.in, "'")));
  }
  if (batch_rows > 0) {
    absl::Status s = (*writer)->Write(std::move(batch), batch_rows);
    if (!s.ok()) return Fail(s);
  }
  if (absl::Status s = (*writer)->Close(); !s.ok()) {
    std::cerr << "pantry parquet from-jsonl: " << absl::StatusCodeToString(s.code()) << ": "
              << s.message() << "\n";
    return kFailed;
  }
  if (args.json) {
    nlohmann::ordered_json j;
    j["file"] = args.out;
    j["rows"] = rows;
    j["columns"] = columns.size();
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "wrote " << rows << " rows of " << columns.size() << " columns to " << args.out
              << "\n";
  }
  return 0;
}

}  // namespace pantry::cli
