#include "server/offline/columns.h"

#include "absl/strings/str_cat.h"
#include "server/parquet/logical.h"

namespace pantry::offline {
namespace {

using parquet::Column;
using parquet::ColumnData;
using parquet::Logical;
using parquet::Type;

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

bool IsPlainInteger(const Column& c) {
  return (c.physical == Type::kInt32 || c.physical == Type::kInt64) &&
         (c.logical == Logical::kNone || c.logical == Logical::kInteger);
}

// Integers that fit an int64 (not UINT64) or an int32 (INT32 target).
bool IntegerFits(const Column& c, ValueType target) {
  if (!IsPlainInteger(c)) return false;
  const int width = c.logical == Logical::kInteger ? c.bit_width
                                                   : (c.physical == Type::kInt32 ? 32 : 64);
  const bool is_signed = c.logical != Logical::kInteger || c.is_signed;
  const int limit = target == ValueType::kInt32 ? 32 : 64;
  return is_signed ? width <= limit : width < limit;
}

bool IsTime(const Column& c) {
  return (c.logical == Logical::kTimestamp &&
          (c.physical == Type::kInt64 || c.physical == Type::kInt96)) ||
         (c.logical == Logical::kDate && c.physical == Type::kInt32);
}

bool IsString(const Column& c) {
  return c.physical == Type::kByteArray &&
         (c.logical == Logical::kString || c.logical == Logical::kEnum ||
          c.logical == Logical::kJson);
}

bool ElementFits(const Column& c, ValueType t) {
  switch (t) {
    case ValueType::kInt32:
    case ValueType::kInt64:
      return IntegerFits(c, t);
    case ValueType::kFloat:
      return c.physical == Type::kFloat;
    case ValueType::kDouble:
      return c.physical == Type::kFloat || c.physical == Type::kDouble ||
             c.logical == Logical::kDecimal || IntegerFits(c, ValueType::kInt64);
    case ValueType::kBool:
      return c.physical == Type::kBoolean;
    case ValueType::kString:
      return IsString(c);
    case ValueType::kBytes:
      return (c.physical == Type::kByteArray || c.physical == Type::kFixedLenByteArray) &&
             c.logical != Logical::kDecimal;
    case ValueType::kUnixTimestamp:
      return IsTime(c);
    default:
      return false;
  }
}

std::string Describe(const Column& c) { return c.TypeString(); }

}  // namespace

absl::Status CheckFeatureColumn(const Column& column, ValueType dtype) {
  auto mismatch = [&] {
    return absl::InvalidArgumentError(absl::StrCat("column '", column.name, "' is ",
                                                   Describe(column), ", the view declares ",
                                                   ValueTypeName(dtype)));
  };
  if (!column.supported) return mismatch();
  if (IsListType(dtype) != column.is_list) return mismatch();
  if (!ElementFits(column, ElementType(dtype))) return mismatch();
  return absl::OkStatus();
}

absl::Status CheckKeyColumn(const Column& column, ValueType key_type) {
  bool ok = column.supported && !column.is_list;
  if (ok) {
    switch (key_type) {
      case ValueType::kInt32:
      case ValueType::kInt64: ok = IntegerFits(column, key_type); break;
      case ValueType::kString: ok = IsString(column); break;
      case ValueType::kBytes:
        ok = column.physical == Type::kByteArray || column.physical == Type::kFixedLenByteArray;
        break;
      default: ok = false;
    }
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("join key column '", column.name, "' is ",
                                                 Describe(column), ", the entity's keys are ",
                                                 ValueTypeName(key_type)));
}

absl::Status CheckTimeColumn(const Column& column) {
  if (column.supported && !column.is_list &&
      (IsTime(column) || (column.physical == Type::kInt64 && column.logical == Logical::kNone))) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "time column '", column.name, "' is ", Describe(column),
      ", expected a TIMESTAMP, a DATE or an INT64 of microseconds since the epoch"));
}

void ReadTimes(const Column& column, const ColumnData& data, std::vector<Micros>* out) {
  out->resize(static_cast<size_t>(data.num_slots));
  size_t v = 0;
  const bool all = data.def_levels.empty();
  for (int64_t r = 0; r < data.num_slots; ++r) {
    if (!all && data.def_levels[r] != column.max_def) {
      (*out)[r] = kNoTimestamp;
      continue;
    }
    if (column.logical == Logical::kDate) {
      (*out)[r] = int64_t{data.i32[v++]} * kMicrosPerDay;
    } else if (column.logical == Logical::kTimestamp) {
      (*out)[r] = parquet::ToMicros(data.i64[v++], column.unit);
    } else {
      (*out)[r] = data.i64[v++];
    }
  }
}

RowValues::RowValues(const Column& column, const ColumnData& data, ValueType dtype)
    : column_(column), data_(data), dtype_(dtype) {
  if (!column.is_list) {
    rows_ = data.num_slots;
    index_.resize(static_cast<size_t>(rows_));
    int64_t v = 0;
    const bool all = data.def_levels.empty();
    for (int64_t r = 0; r < rows_; ++r) {
      index_[r] = (all || data.def_levels[r] == column.max_def) ? v++ : -1;
    }
    return;
  }
  values_before_.resize(static_cast<size_t>(data.num_slots) + 1);
  int64_t v = 0;
  for (int64_t s = 0; s < data.num_slots; ++s) {
    values_before_[s] = v;
    if (data.rep_levels.empty() || data.rep_levels[s] == 0) index_.push_back(s);
    if (data.def_levels.empty() || data.def_levels[s] == column.max_def) ++v;
  }
  values_before_[data.num_slots] = v;
  rows_ = static_cast<int64_t>(index_.size());
  index_.push_back(data.num_slots);
}

bool RowValues::IsNull(int64_t row) const {
  if (!column_.is_list) return index_[row] < 0;
  const int64_t s = index_[row];
  return !data_.def_levels.empty() && data_.def_levels[s] < column_.list_def;
}

int64_t RowValues::GetInt(int64_t row) const {
  const int64_t i = index_[row];
  return column_.physical == Type::kInt32 ? int64_t{data_.i32[i]} : data_.i64[i];
}

absl::string_view RowValues::GetBytes(int64_t row) const { return data_.bytes.Get(index_[row]); }

Value RowValues::Scalar(int64_t i, ValueType type) const {
  const Column& c = column_;
  switch (c.physical) {
    case Type::kBoolean:
      return Value::Bool(data_.bools[i] != 0);
    case Type::kInt32: {
      const int32_t v = data_.i32[i];
      switch (type) {
        case ValueType::kInt32: return Value::Int32(v);
        case ValueType::kInt64:
          return Value::Int64(c.logical == Logical::kInteger && !c.is_signed
                                  ? int64_t{static_cast<uint32_t>(v)}
                                  : int64_t{v});
        case ValueType::kDouble:
          return Value::Double(c.logical == Logical::kDecimal ? parquet::DecimalToDouble(v, c.scale)
                               : c.logical == Logical::kInteger && !c.is_signed
                                   ? static_cast<double>(static_cast<uint32_t>(v))
                                   : static_cast<double>(v));
        case ValueType::kUnixTimestamp: return Value::UnixTimestamp(int64_t{v} * kMicrosPerDay);
        default: break;
      }
      break;
    }
    case Type::kInt64:
    case Type::kInt96: {
      const int64_t v = data_.i64[i];
      switch (type) {
        case ValueType::kInt64: return Value::Int64(v);
        case ValueType::kDouble:
          return Value::Double(c.logical == Logical::kDecimal ? parquet::DecimalToDouble(v, c.scale)
                                                              : static_cast<double>(v));
        case ValueType::kUnixTimestamp:
          return Value::UnixTimestamp(c.logical == Logical::kTimestamp ? parquet::ToMicros(v, c.unit)
                                                                      : v);
        default: break;
      }
      break;
    }
    case Type::kFloat:
      return type == ValueType::kFloat ? Value::Float(data_.f32[i])
                                       : Value::Double(static_cast<double>(data_.f32[i]));
    case Type::kDouble:
      return Value::Double(data_.f64[i]);
    case Type::kByteArray:
    case Type::kFixedLenByteArray: {
      const absl::string_view b = data_.bytes.Get(i);
      if (type == ValueType::kDouble) return Value::Double(parquet::DecimalBytesToDouble(b, c.scale));
      if (type == ValueType::kString) return Value::String(std::string(b));
      return Value::Bytes(std::string(b));
    }
  }
  return Value::Null(type);
}

Value RowValues::Get(int64_t row) const {
  if (!column_.is_list) {
    const int64_t i = index_[row];
    return i < 0 ? Value::Null(dtype_) : Scalar(i, dtype_);
  }
  if (IsNull(row)) return Value::Null(dtype_);
  const ValueType element = ElementType(dtype_);
  const int64_t begin = index_[row], end = index_[row + 1];
  std::vector<Value> items;
  const bool empty = !data_.def_levels.empty() && data_.def_levels[begin] < column_.element_def;
  if (!empty) {
    for (int64_t s = begin; s < end; ++s) {
      const bool present = data_.def_levels.empty() || data_.def_levels[s] == column_.max_def;
      // Pantry's lists have no null elements: a null element reads as the
      // type's zero value would be wrong, so it is skipped.
      if (present) items.push_back(Scalar(values_before_[s], element));
    }
  }
  auto collect = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> out;
    out.reserve(items.size());
    for (const Value& v : items) out.push_back(v.get<T>());
    return out;
  };
  switch (dtype_) {
    case ValueType::kInt32List: return Value::Int32List(collect(int32_t{}));
    case ValueType::kInt64List: return Value::Int64List(collect(int64_t{}));
    case ValueType::kFloatList: return Value::FloatList(collect(float{}));
    case ValueType::kDoubleList: return Value::DoubleList(collect(double{}));
    case ValueType::kBoolList: {
      std::vector<bool> out;
      for (const Value& v : items) out.push_back(v.get<bool>());
      return Value::BoolList(std::move(out));
    }
    case ValueType::kStringList: return Value::StringList(collect(std::string{}));
    case ValueType::kBytesList: return Value::BytesList(collect(std::string{}));
    case ValueType::kUnixTimestampList: return Value::UnixTimestampList(collect(int64_t{}));
    default: return Value::Null(dtype_);
  }
}

parquet::ColumnSpec OutputSpec(const std::string& name, ValueType dtype) {
  parquet::ColumnSpec c;
  c.name = name;
  c.nullable = true;
  c.is_list = IsListType(dtype);
  c.element_nullable = false;
  switch (ElementType(dtype)) {
    case ValueType::kInt32: c.physical = Type::kInt32; break;
    case ValueType::kInt64: c.physical = Type::kInt64; break;
    case ValueType::kFloat: c.physical = Type::kFloat; break;
    case ValueType::kDouble: c.physical = Type::kDouble; break;
    case ValueType::kBool: c.physical = Type::kBoolean; break;
    case ValueType::kString:
      c.physical = Type::kByteArray;
      c.logical = Logical::kString;
      break;
    case ValueType::kBytes: c.physical = Type::kByteArray; break;
    case ValueType::kUnixTimestamp:
      c.physical = Type::kInt64;
      c.logical = Logical::kTimestamp;
      c.unit = parquet::TimeUnit::kMicros;
      c.utc_adjusted = true;
      break;
    default: break;
  }
  // Levels as FileWriter derives them.
  if (c.is_list) {
    c.list_def = 1;
    c.element_def = 2;
    c.max_def = 2;
    c.max_rep = 1;
  } else {
    c.max_def = 1;
  }
  return c;
}

namespace {

void AppendScalar(const Value& v, ColumnData* out) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int32_t>) out->i32.push_back(x);
        else if constexpr (std::is_same_v<T, int64_t>) out->i64.push_back(x);
        else if constexpr (std::is_same_v<T, float>) out->f32.push_back(x);
        else if constexpr (std::is_same_v<T, double>) out->f64.push_back(x);
        else if constexpr (std::is_same_v<T, bool>) out->bools.push_back(x ? 1 : 0);
        else if constexpr (std::is_same_v<T, std::string>) out->bytes.Append(x);
      },
      v.payload());
}

}  // namespace

void AppendOutputValue(const Value& value, ColumnData* out) {
  if (!IsListType(value.type())) {
    ++out->num_slots;
    if (value.is_null()) {
      out->def_levels.push_back(0);
      return;
    }
    out->def_levels.push_back(1);
    AppendScalar(value, out);
    return;
  }
  if (value.is_null()) {
    ++out->num_slots;
    out->def_levels.push_back(0);
    out->rep_levels.push_back(0);
    return;
  }
  size_t n = 0;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<bool>>) {
          for (bool b : x) {
            out->bools.push_back(b ? 1 : 0);
            ++n;
          }
        } else if constexpr (std::is_same_v<T, std::vector<int32_t>>) {
          out->i32.insert(out->i32.end(), x.begin(), x.end());
          n = x.size();
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          out->i64.insert(out->i64.end(), x.begin(), x.end());
          n = x.size();
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          out->f32.insert(out->f32.end(), x.begin(), x.end());
          n = x.size();
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          out->f64.insert(out->f64.end(), x.begin(), x.end());
          n = x.size();
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          for (const std::string& s : x) out->bytes.Append(s);
          n = x.size();
        }
      },
      value.payload());
  if (n == 0) {
    ++out->num_slots;
    out->def_levels.push_back(1);
    out->rep_levels.push_back(0);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    out->def_levels.push_back(2);
    out->rep_levels.push_back(i == 0 ? 0 : 1);
  }
  out->num_slots += static_cast<int64_t>(n);
}

}  // namespace pantry::offline
