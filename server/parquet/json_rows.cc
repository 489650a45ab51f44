#include "server/parquet/json_rows.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/status.h"
#include "server/parquet/logical.h"

namespace pantry::parquet {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
// civil_from_days).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2 ? 1 : 0);
}

// Appends finite `v` as JavaScript's Number#toString writes it: the
// shortest digits that round-trip, in fixed notation for exponents -7 < e <
// 21 and as d.ddde+X otherwise. One canonical text per double, so outputs
// compare as text with other tools' JSON.
void AppendShortestDouble(double v, std::string* out) {
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  if (sci.front() == '-') {
    out->push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e_at = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_at)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::from_chars(sci.data() + e_at + (sci[e_at + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                  exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // value = 0.DIGITS * 10^n
  if (k <= n && n <= 21) {
    out->append(digits);
    out->append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, 0, static_cast<size_t>(n));
    out->push_back('.');
    out->append(digits, static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-n), '0');
    out->append(digits);
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits, 1);
    }
    out->append(n - 1 >= 0 ? "e+" : "e-");
    out->append(std::to_string(std::abs(n - 1)));
  }
}

void AppendDouble(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("\"NaN\"");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else if (v == 0 && std::signbit(v)) {
    out->append("-0.0");
  } else {
    AppendShortestDouble(v, out);
  }
}

template <typename T>
void AppendInt(T v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendUuid(absl::string_view b, std::string* out) {
  if (b.size() != 16) {
    absl::StrAppend(out, "{\"base64\": \"", absl::Base64Escape(b), "\"}");
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out->push_back('-');
    out->push_back(kHex[static_cast<uint8_t>(b[i]) >> 4]);
    out->push_back(kHex[static_cast<uint8_t>(b[i]) & 15]);
  }
  out->push_back('"');
}

// Walks the slots of one column chunk row by row.
class Cursor {
 public:
  Cursor(const Column& column, const ColumnData& data) : c_(column), d_(data) {}

  absl::Status AppendRow(std::string* out) {
    if (!c_.is_list) {
      if (slot_ >= d_.num_slots) return Short();
      const bool present = d_.def_levels.empty() || d_.def_levels[slot_] == c_.max_def;
      ++slot_;
      if (!present) {
        out->append("null");
        return absl::OkStatus();
      }
      return AppendValue(out);
    }
    if (slot_ >= d_.num_slots) return Short();
    if (!d_.rep_levels.empty() && d_.rep_levels[slot_] != 0) {
      return absl::DataLossError(
          absl::StrCat("column '", c_.name, "': a row starts at repetition level ",
                       d_.rep_levels[slot_]));
    }
    const int16_t def = d_.def_levels.empty() ? c_.max_def : d_.def_levels[slot_];
    if (def < c_.list_def) {
      ++slot_;
      out->append("null");
      return absl::OkStatus();
    }
    if (def < c_.element_def) {
      ++slot_;
      out->append("[]");
      return absl::OkStatus();
    }
    out->push_back('[');
    bool first = true;
    do {
      const int16_t d = d_.def_levels.empty() ? c_.max_def : d_.def_levels[slot_];
      ++slot_;
      if (!first) out->push_back(',');
      first = false;
      if (d == c_.max_def) {
        PANTRY_RETURN_IF_ERROR(AppendValue(out));
      } else {
        out->append("null");
      }
    } while (slot_ < d_.num_slots && !d_.rep_levels.empty() && d_.rep_levels[slot_] != 0);
    out->push_back(']');
    return absl::OkStatus();
  }

 private:
  absl::Status Short() const {
    return absl::DataLossError(absl::StrCat("column '", c_.name, "' has fewer rows than its row group"));
  }
  absl::Status AppendValue(std::string* out) { return AppendJsonValue(c_, d_, value_++, out); }

  const Column& c_;
  const ColumnData& d_;
  int64_t slot_ = 0;
  size_t value_ = 0;
};

}  // namespace

absl::Status AppendJsonValue(const Column& column, const ColumnData& data, size_t i,
                              std::string* out) {
  auto Short = [&] {
    return absl::DataLossError(absl::StrCat("column '", column.name, "' has fewer values than its levels say"));
  };
  if (column.logical == Logical::kNull) {
    out->append("null");
    return absl::OkStatus();
  }
  switch (column.physical) {
    case Type::kBoolean:
      if (i >= data.bools.size()) return Short();
      out->append(data.bools[i] ? "true" : "false");
      return absl::OkStatus();
    case Type::kInt32: {
      if (i >= data.i32.size()) return Short();
      const int32_t v = data.i32[i];
      if (column.logical == Logical::kDate) {
        absl::StrAppend(out, "\"", FormatDate(v), "\"");
      } else if (column.logical == Logical::kDecimal) {
        AppendDouble(static_cast<double>(v) / Pow10(column.scale), out);
      } else if (column.logical == Logical::kInteger && !column.is_signed) {
        AppendInt(static_cast<uint32_t>(v), out);
      } else {
        AppendInt(v, out);
      }
      return absl::OkStatus();
    }
    case Type::kInt64:
    case Type::kInt96: {
      if (i >= data.i64.size()) return Short();
      const int64_t v = data.i64[i];
      if (column.logical == Logical::kTimestamp) {
        absl::StrAppend(out, "\"", FormatTimestamp(v, column.unit, column.utc_adjusted), "\"");
      } else if (column.logical == Logical::kDecimal) {
        AppendDouble(static_cast<double>(v) / Pow10(column.scale), out);
      } else if (column.logical == Logical::kInteger && !column.is_signed) {
        AppendInt(static_cast<uint64_t>(v), out);
      } else {
        AppendInt(v, out);
      }
      return absl::OkStatus();
    }
    case Type::kFloat:
      if (i >= data.f32.size()) return Short();
      AppendDouble(static_cast<double>(data.f32[i]), out);
      return absl::OkStatus();
    case Type::kDouble:
      if (i >= data.f64.size()) return Short();
      AppendDouble(data.f64[i], out);
      return absl::OkStatus();
    case Type::kByteArray:
    case Type::kFixedLenByteArray: {
      if (i >= data.bytes.size()) return Short();
      const absl::string_view v = data.bytes.Get(i);
      switch (column.logical) {
        case Logical::kString:
        case Logical::kEnum:
        case Logical::kJson:
          AppendJsonString(v, out);
          break;
        case Logical::kDecimal:
          AppendDouble(DecimalBytesToDouble(v, column.scale), out);
          break;
        case Logical::kUuid:
          AppendUuid(v, out);
          break;
        default:
          absl::StrAppend(out, "{\"base64\": \"", absl::Base64Escape(v), "\"}");
          break;
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}


void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

std::string FormatDate(int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  return absl::StrFormat("%04d-%02u-%02u", y, m, d);
}

std::string FormatTimestamp(int64_t value, TimeUnit unit, bool utc_adjusted) {
  int64_t per_second = 1'000'000;
  if (unit == TimeUnit::kMillis) per_second = 1'000;
  if (unit == TimeUnit::kNanos) per_second = 1'000'000'000;
  const int64_t seconds = FloorDiv(value, per_second);
  int64_t remainder = value % per_second;  // no overflow even at INT64_MIN
  if (remainder < 0) remainder += per_second;
  const int64_t nanos = remainder * (1'000'000'000 / per_second);
  const int64_t days = FloorDiv(seconds, 86400);
  const int64_t sod = seconds - days * 86400;
  return absl::StrFormat("%sT%02d:%02d:%02d.%09d%s", FormatDate(days), sod / 3600,
                         (sod / 60) % 60, sod % 60, nanos, utc_adjusted ? "Z" : "");
}

absl::Status AppendJsonRows(const std::vector<const Column*>& columns,
                            const std::vector<const ColumnData*>& chunks, int64_t rows,
                            std::string* out) {
  std::vector<Cursor> cursors;
  cursors.reserve(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) cursors.emplace_back(*columns[i], *chunks[i]);
  for (int64_t r = 0; r < rows; ++r) {
    out->push_back('{');
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(columns[i]->name, out);
      out->push_back(':');
      PANTRY_RETURN_IF_ERROR(cursors[i].AppendRow(out));
    }
    out->append("}\n");
  }
  return absl::OkStatus();
}

}  // namespace pantry::parquet
