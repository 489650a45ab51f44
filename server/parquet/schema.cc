#include "server/parquet/schema.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status.h"

namespace pantry::parquet {
namespace {

constexpr int kMaxDepth = 100;

bool IsRepeated(const SchemaElement& e) {
  return e.repetition_type && *e.repetition_type == Repetition::kRepeated;
}
bool IsOptional(const SchemaElement& e) {
  return e.repetition_type && *e.repetition_type == Repetition::kOptional;
}
bool IsListAnnotated(const SchemaElement& e) {
  return (e.logical_type && e.logical_type->kind == LogicalType::Kind::kList) ||
         (e.converted_type && *e.converted_type == ConvertedType::kList);
}

const char* TypeName(Type t) {
  switch (t) {
    case Type::kBoolean: return "BOOLEAN";
    case Type::kInt32: return "INT32";
    case Type::kInt64: return "INT64";
    case Type::kInt96: return "INT96";
    case Type::kFloat: return "FLOAT";
    case Type::kDouble: return "DOUBLE";
    case Type::kByteArray: return "BYTE_ARRAY";
    case Type::kFixedLenByteArray: return "FIXED_LEN_BYTE_ARRAY";
  }
  return "?";
}

const char* UnitName(TimeUnit u) {
  switch (u) {
    case TimeUnit::kMillis: return "MILLIS";
    case TimeUnit::kMicros: return "MICROS";
    case TimeUnit::kNanos: return "NANOS";
  }
  return "?";
}

// Fills the logical fields of `c` from the annotations of its leaf element.
void ResolveLogical(const SchemaElement& e, Column* c) {
  if (c->physical == Type::kInt96) {
    c->logical = Logical::kTimestamp;
    c->unit = TimeUnit::kNanos;
    c->utc_adjusted = true;
    return;
  }
  if (e.logical_type) {
    const LogicalType& l = *e.logical_type;
    using K = LogicalType::Kind;
    switch (l.kind) {
      case K::kString: c->logical = Logical::kString; return;
      case K::kEnum: c->logical = Logical::kEnum; return;
      case K::kJson: c->logical = Logical::kJson; return;
      case K::kBson: c->logical = Logical::kBson; return;
      case K::kUuid: c->logical = Logical::kUuid; return;
      case K::kDate: c->logical = Logical::kDate; return;
      case K::kFloat16: c->logical = Logical::kFloat16; return;
      case K::kUnknown: c->logical = Logical::kNull; return;
      case K::kTimestamp:
        c->logical = Logical::kTimestamp;
        c->unit = l.unit;
        c->utc_adjusted = l.is_adjusted_to_utc;
        return;
      case K::kTime:
        c->logical = Logical::kTime;
        c->unit = l.unit;
        c->utc_adjusted = l.is_adjusted_to_utc;
        return;
      case K::kDecimal:
        c->logical = Logical::kDecimal;
        c->scale = l.scale;
        c->precision = l.precision;
        return;
      case K::kInteger:
        c->logical = Logical::kInteger;
        c->bit_width = l.bit_width;
        c->is_signed = l.is_signed;
        return;
      default:
        break;  // fall back to the converted type
    }
  }
  if (!e.converted_type) return;
  switch (*e.converted_type) {
    case ConvertedType::kUtf8: c->logical = Logical::kString; return;
    case ConvertedType::kEnum: c->logical = Logical::kEnum; return;
    case ConvertedType::kJson: c->logical = Logical::kJson; return;
    case ConvertedType::kBson: c->logical = Logical::kBson; return;
    case ConvertedType::kDate: c->logical = Logical::kDate; return;
    case ConvertedType::kDecimal:
      c->logical = Logical::kDecimal;
      c->scale = e.scale.value_or(0);
      c->precision = e.precision.value_or(0);
      return;
    // Converted timestamps are UTC-adjusted by definition (the spec maps
    // TIMESTAMP_MILLIS to TIMESTAMP(isAdjustedToUTC=true, MILLIS)).
    case ConvertedType::kTimestampMillis:
      c->logical = Logical::kTimestamp;
      c->unit = TimeUnit::kMillis;
      c->utc_adjusted = true;
      return;
    case ConvertedType::kTimestampMicros:
      c->logical = Logical::kTimestamp;
      c->unit = TimeUnit::kMicros;
      c->utc_adjusted = true;
      return;
    case ConvertedType::kTimeMillis:
      c->logical = Logical::kTime;
      c->unit = TimeUnit::kMillis;
      c->utc_adjusted = true;
      return;
    case ConvertedType::kTimeMicros:
      c->logical = Logical::kTime;
      c->unit = TimeUnit::kMicros;
      c->utc_adjusted = true;
      return;
    case ConvertedType::kInt8: c->logical = Logical::kInteger; c->bit_width = 8; return;
    case ConvertedType::kInt16: c->logical = Logical::kInteger; c->bit_width = 16; return;
    case ConvertedType::kInt32: c->logical = Logical::kInteger; c->bit_width = 32; return;
    case ConvertedType::kInt64: c->logical = Logical::kInteger; c->bit_width = 64; return;
    case ConvertedType::kUint8:
      c->logical = Logical::kInteger; c->bit_width = 8; c->is_signed = false; return;
    case ConvertedType::kUint16:
      c->logical = Logical::kInteger; c->bit_width = 16; c->is_signed = false; return;
    case ConvertedType::kUint32:
      c->logical = Logical::kInteger; c->bit_width = 32; c->is_signed = false; return;
    case ConvertedType::kUint64:
      c->logical = Logical::kInteger; c->bit_width = 64; c->is_signed = false; return;
    default:
      c->logical = Logical::kOther;
      return;
  }
}

class Builder {
 public:
  explicit Builder(const std::vector<SchemaElement>& elements) : elements_(elements) {}

  absl::Status Build(std::vector<Column>* out) {
    if (elements_.empty()) return absl::InvalidArgumentError("schema: no elements");
    const SchemaElement& root = elements_[0];
    const int children = root.num_children.value_or(0);
    if (children < 0) return absl::InvalidArgumentError("schema: negative child count at the root");
    next_ = 1;
    for (int i = 0; i < children; ++i) {
      if (next_ >= elements_.size()) return Overrun(0);
      const size_t top = next_;
      std::vector<size_t> chain{top};
      PANTRY_RETURN_IF_ERROR(Walk(top, chain, 0, out));
    }
    if (next_ != elements_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "schema: ", elements_.size() - next_, " elements after the last field of the root"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Overrun(size_t parent) {
    return absl::InvalidArgumentError(absl::StrCat("schema: element ", parent, " ('",
                                                   elements_[parent].name,
                                                   "') declares more children than the schema has"));
  }

  // Visits element `index` (whose ancestors from the top-level field are in
  // `chain`), appending one Column per leaf below it.
  absl::Status Walk(size_t index, std::vector<size_t>& chain, int depth,
                    std::vector<Column>* out) {
    if (depth > kMaxDepth) {
      return absl::InvalidArgumentError(
          absl::StrCat("schema: nesting deeper than ", kMaxDepth, " levels"));
    }
    const SchemaElement& e = elements_[index];
    ++next_;
    if (!e.num_children.has_value() || *e.num_children == 0) {
      if (!e.type.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("schema: leaf '", e.name, "' has no physical type"));
      }
      return AddLeaf(chain, out);
    }
    if (*e.num_children < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("schema: '", e.name, "' has a negative child count"));
    }
    for (int i = 0; i < *e.num_children; ++i) {
      if (next_ >= elements_.size()) return Overrun(index);
      const size_t child = next_;
      chain.push_back(child);
      absl::Status s = Walk(child, chain, depth + 1, out);
      chain.pop_back();
      PANTRY_RETURN_IF_ERROR(s);
    }
    return absl::OkStatus();
  }

  absl::Status AddLeaf(const std::vector<size_t>& chain, std::vector<Column>* out) {
    Column c;
    c.leaf_index = static_cast<int>(out->size());
    const SchemaElement& top = elements_[chain.front()];
    const SchemaElement& leaf = elements_[chain.back()];
    c.name = top.name;
    for (size_t i : chain) {
      const SchemaElement& e = elements_[i];
      c.path.push_back(e.name);
      if (IsOptional(e)) ++c.max_def;
      if (IsRepeated(e)) {
        ++c.max_def;
        ++c.max_rep;
      }
    }
    c.physical = *leaf.type;
    if (c.physical == Type::kFixedLenByteArray) {
      if (!leaf.type_length || *leaf.type_length <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "schema: FIXED_LEN_BYTE_ARRAY column '", absl::StrJoin(c.path, "."),
            "' has no positive type_length"));
      }
      c.type_length = *leaf.type_length;
    }
    ResolveLogical(leaf, &c);
    c.nullable = IsOptional(top);

    if (chain.size() == 1) {
      if (IsRepeated(top)) {  // legacy: a repeated primitive is a required list
        c.is_list = true;
        c.nullable = false;
        c.list_def = 0;
        c.element_def = 1;
      }
    } else if (IsListAnnotated(top) && chain.size() == 3 && IsRepeated(elements_[chain[1]]) &&
               !IsRepeated(leaf)) {
      // Standard three-level list.
      c.is_list = true;
      c.list_def = IsOptional(top) ? 1 : 0;
      c.element_def = c.list_def + 1;
      c.element_nullable = IsOptional(leaf);
    } else if (IsListAnnotated(top) && chain.size() == 2 && IsRepeated(leaf)) {
      // Legacy two-level list: the repeated leaf is the element.
      c.is_list = true;
      c.list_def = IsOptional(top) ? 1 : 0;
      c.element_def = c.list_def + 1;
    } else {
      c.supported = false;
      c.unsupported_reason = absl::StrCat("nested column '", absl::StrJoin(c.path, "."),
                                          "' is not a list of primitives");
    }
    if (c.max_rep > 0 && !c.is_list) {
      c.supported = false;
      if (c.unsupported_reason.empty()) {
        c.unsupported_reason = absl::StrCat("repeated column '", absl::StrJoin(c.path, "."),
                                            "' is not a list of primitives");
      }
    }
    // Every leaf of one top-level field shares its name; only a single-leaf
    // field can be read as one column.
    if (!out->empty() && out->back().name == c.name) {
      c.supported = false;
      out->back().supported = false;
      c.unsupported_reason = out->back().unsupported_reason =
          absl::StrCat("field '", c.name, "' is a group of several columns");
    }
    out->push_back(std::move(c));
    return absl::OkStatus();
  }

  const std::vector<SchemaElement>& elements_;
  size_t next_ = 0;
};

}  // namespace

std::string Column::TypeString() const {
  std::string t = TypeName(physical);
  if (physical == Type::kFixedLenByteArray) absl::StrAppend(&t, "(", type_length, ")");
  switch (logical) {
    case Logical::kNone: break;
    case Logical::kString: absl::StrAppend(&t, " STRING"); break;
    case Logical::kEnum: absl::StrAppend(&t, " ENUM"); break;
    case Logical::kJson: absl::StrAppend(&t, " JSON"); break;
    case Logical::kBson: absl::StrAppend(&t, " BSON"); break;
    case Logical::kUuid: absl::StrAppend(&t, " UUID"); break;
    case Logical::kDate: absl::StrAppend(&t, " DATE"); break;
    case Logical::kFloat16: absl::StrAppend(&t, " FLOAT16"); break;
    case Logical::kNull: absl::StrAppend(&t, " UNKNOWN"); break;
    case Logical::kOther: absl::StrAppend(&t, " (unknown annotation)"); break;
    case Logical::kTimestamp:
      absl::StrAppend(&t, " TIMESTAMP(", UnitName(unit), utc_adjusted ? ", UTC)" : ")");
      break;
    case Logical::kTime:
      absl::StrAppend(&t, " TIME(", UnitName(unit), utc_adjusted ? ", UTC)" : ")");
      break;
    case Logical::kDecimal:
      absl::StrAppend(&t, " DECIMAL(", precision, ", ", scale, ")");
      break;
    case Logical::kInteger:
      absl::StrAppend(&t, is_signed ? " INT(" : " UINT(", bit_width, ")");
      break;
  }
  if (is_list) {
    t = absl::StrCat("list<", t, element_nullable ? "" : " REQUIRED", ">");
  }
  absl::StrAppend(&t, nullable ? " OPTIONAL" : " REQUIRED");
  if (!supported) absl::StrAppend(&t, " (unsupported: ", unsupported_reason, ")");
  return t;
}

absl::StatusOr<Schema> Schema::FromMetadata(const FileMetaData& meta) {
  Schema schema;
  PANTRY_RETURN_IF_ERROR(Builder(meta.schema).Build(&schema.columns_));
  return schema;
}

int Schema::Find(absl::string_view name) const {
  for (const Column& c : columns_) {
    if (c.name == name) return c.leaf_index;
  }
  return -1;
}

}  // namespace pantry::parquet
