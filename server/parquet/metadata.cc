#include "server/parquet/metadata.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/parquet/thrift.h"

namespace pantry::parquet {
namespace {

// ---------------------------------------------------------------------------
// Error paths.
//
// Errors are built only on the failure path, while unwinding: a struct parser
// returns messages of the form "<path>: <detail>", where <path> is the field
// path inside that struct ("max", "columns[2].meta_data.codec") and may be
// empty (": <detail>") for errors of the struct itself. Each enclosing level
// prepends its own component, so the caller finally sees e.g.
// "FileMetaData.row_groups[0].columns[2].meta_data.codec: truncated varint
// (i32) at byte 345 (buffer ends at 346)". The happy path allocates nothing.

// `s` is a detail from the reader (no path); `field` becomes its path.
absl::Status FieldError(const absl::Status& s, absl::string_view field) {
  return absl::Status(s.code(), absl::StrCat(field, ": ", s.message()));
}

// `s` comes from a nested struct parser (a path, possibly empty).
absl::Status NestedError(const absl::Status& s, absl::string_view field) {
  absl::string_view msg = s.message();
  const bool joined = !msg.empty() && (msg[0] == ':' || msg[0] == '[');
  return absl::Status(s.code(), absl::StrCat(field, joined ? "" : ".", msg));
}

// `s` is a reader detail about the struct itself (its header or field headers).
absl::Status StructError(const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(": ", s.message()));
}

absl::Status TypeError(const CompactReader& r, const FieldHeader& f, absl::string_view field,
                       absl::string_view expected) {
  return absl::DataLossError(absl::StrCat(field, ": expected ", expected, ", found ",
                                          CompactTypeName(f.type), " (field ", f.id,
                                          ", value at byte ", r.position(), ")"));
}

absl::Status NegativeError(absl::string_view field, int64_t value, size_t offset) {
  return absl::DataLossError(
      absl::StrCat(field, ": ", value, " is negative (value at byte ", offset, ")"));
}

struct RequiredField {
  int id;
  const char* name;
};

// Checks that every required field's bit is set in `seen` (bit n: field n).
absl::Status CheckRequired(const CompactReader& r, uint32_t seen, const char* struct_name,
                           std::initializer_list<RequiredField> fields) {
  for (const RequiredField& f : fields) {
    if (ABSL_PREDICT_FALSE((seen & (1u << f.id)) == 0)) {
      return absl::DataLossError(absl::StrCat(f.name, ": required field ", f.id, " of ",
                                              struct_name, " is missing (struct ends at byte ",
                                              r.position(), ")"));
    }
  }
  return absl::OkStatus();
}

constexpr uint32_t Bit(int16_t id) { return 1u << id; }

// ---------------------------------------------------------------------------
// Field readers. Each checks the field's compact type, reads the value and
// returns path-form errors naming `field`.

// Runs `on_field(header)` for every field of the struct at the reader's
// position; `on_field` returns path-form errors.
template <typename OnField>
absl::Status ParseStruct(CompactReader& r, OnField&& on_field) {
  absl::Status s = r.ReadStructBegin();
  if (ABSL_PREDICT_FALSE(!s.ok())) return StructError(s);
  FieldHeader f;
  while (true) {
    s = r.ReadFieldBegin(&f);
    if (ABSL_PREDICT_FALSE(!s.ok())) return StructError(s);
    if (f.type == CompactType::kStop) break;
    s = on_field(f);
    if (ABSL_PREDICT_FALSE(!s.ok())) return s;
  }
  r.ReadStructEnd();
  return absl::OkStatus();
}

absl::Status SkipField(CompactReader& r, const FieldHeader& f) {
  absl::Status s = r.Skip(f.type);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, absl::StrCat("field ", f.id));
  return s;
}

absl::Status GetBool(CompactReader& r, const FieldHeader& f, const char* field, bool* out) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kBool)) return TypeError(r, f, field, "bool");
  absl::Status s = r.ReadBool(out);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, field);
  return s;
}

absl::Status GetI8(CompactReader& r, const FieldHeader& f, const char* field, int8_t* out) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kI8)) return TypeError(r, f, field, "i8");
  absl::Status s = r.ReadI8(out);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, field);
  return s;
}

absl::Status GetI16(CompactReader& r, const FieldHeader& f, const char* field, int16_t* out) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kI16)) return TypeError(r, f, field, "i16");
  absl::Status s = r.ReadI16(out);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, field);
  return s;
}

absl::Status GetI32(CompactReader& r, const FieldHeader& f, const char* field, int32_t* out) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kI32)) return TypeError(r, f, field, "i32");
  absl::Status s = r.ReadI32(out);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, field);
  return s;
}

absl::Status GetI64(CompactReader& r, const FieldHeader& f, const char* field, int64_t* out) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kI64)) return TypeError(r, f, field, "i64");
  absl::Status s = r.ReadI64(out);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, field);
  return s;
}

// Sizes and counts: negative values are corrupt.
absl::Status GetCount32(CompactReader& r, const FieldHeader& f, const char* field, int32_t* out) {
  const size_t offset = r.position();
  absl::Status s = GetI32(r, f, field, out);
  if (ABSL_PREDICT_FALSE(s.ok() && *out < 0)) return NegativeError(field, *out, offset);
  return s;
}

absl::Status GetCount64(CompactReader& r, const FieldHeader& f, const char* field, int64_t* out) {
  const size_t offset = r.position();
  absl::Status s = GetI64(r, f, field, out);
  if (ABSL_PREDICT_FALSE(s.ok() && *out < 0)) return NegativeError(field, *out, offset);
  return s;
}

// Enums are i32 on the wire; the raw number is kept (see metadata.h).
template <typename Enum>
absl::Status GetEnum(CompactReader& r, const FieldHeader& f, const char* field, Enum* out) {
  int32_t v = 0;
  absl::Status s = GetI32(r, f, field, &v);
  if (ABSL_PREDICT_TRUE(s.ok())) *out = static_cast<Enum>(v);
  return s;
}

absl::Status GetString(CompactReader& r, const FieldHeader& f, const char* field,
                       std::string* out) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kBinary)) return TypeError(r, f, field, "binary");
  absl::string_view v;
  absl::Status s = r.ReadBinary(&v);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, field);
  out->assign(v.data(), v.size());
  return s;
}

// Optional fields: `get` is one of the readers above.
template <typename T, typename Get>
absl::Status GetOptional(CompactReader& r, const FieldHeader& f, const char* field,
                         std::optional<T>* out, Get get) {
  return get(r, f, field, &out->emplace());
}

// A struct-typed field parsed by `parse(r)` (which returns path-form errors).
template <typename Parse>
absl::Status GetStruct(CompactReader& r, const FieldHeader& f, const char* field, Parse&& parse) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kStruct)) return TypeError(r, f, field, "struct");
  absl::Status s = parse(r);
  if (ABSL_PREDICT_FALSE(!s.ok())) return NestedError(s, field);
  return s;
}

// Struct elements are reserved only up to this many at once: a list size
// passed the reader's bytes-left check, but one stop byte per element on the
// wire can stand for a few hundred bytes of C++ struct, so growth for big
// lists is left to the vector.
constexpr uint32_t kMaxStructReserve = 256;

// A list field whose elements have compact type `element_type`, each read by
// `read(r, &element)` (a reader status for scalars, a path-form status for
// structs). Replaces `*out` (the last occurrence of a repeated field wins).
template <typename T, typename Read>
absl::Status GetList(CompactReader& r, const FieldHeader& f, const char* field,
                     CompactType element_type, std::vector<T>* out, Read&& read) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kList)) return TypeError(r, f, field, "list");
  ListHeader h;
  absl::Status s = r.ReadListBegin(&h);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, field);
  // Empty lists carry no elements, so their element type is not checked.
  if (ABSL_PREDICT_FALSE(h.size > 0 && h.element_type != element_type)) {
    return CompactReader::ErrorAt(
        r.position(), absl::StrCat(field, ": expected list<", CompactTypeName(element_type),
                                   ">, found list<", CompactTypeName(h.element_type), ">"));
  }
  out->clear();
  out->reserve(element_type == CompactType::kStruct ? std::min(h.size, kMaxStructReserve) : h.size);
  for (uint32_t i = 0; i < h.size; ++i) {
    s = read(r, &out->emplace_back());
    if (ABSL_PREDICT_FALSE(!s.ok())) {
      const std::string at = absl::StrCat(field, "[", i, "]");
      return element_type == CompactType::kStruct ? NestedError(s, at) : FieldError(s, at);
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Struct parsers. Every field that parquet.thrift marks `required` is
// required here too, as in the generated readers of Arrow, DuckDB and
// parquet-java; the `seen` bit masks track them.

absl::Status ParseStatistics(CompactReader& r, Statistics* out) {
  return ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        return GetOptional(r, f, "max", &out->max, GetString);
      case 2:
        return GetOptional(r, f, "min", &out->min, GetString);
      case 3:
        return GetOptional(r, f, "null_count", &out->null_count, GetI64);
      case 4:
        return GetOptional(r, f, "distinct_count", &out->distinct_count, GetI64);
      case 5:
        return GetOptional(r, f, "max_value", &out->max_value, GetString);
      case 6:
        return GetOptional(r, f, "min_value", &out->min_value, GetString);
      case 7:
        return GetOptional(r, f, "is_max_value_exact", &out->is_max_value_exact, GetBool);
      case 8:
        return GetOptional(r, f, "is_min_value_exact", &out->is_min_value_exact, GetBool);
      default:
        return SkipField(r, f);
    }
  });
}

absl::Status ParseKeyValue(CompactReader& r, KeyValue* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetString(r, f, "key", &out->key);
      case 2:
        return GetOptional(r, f, "value", &out->value, GetString);
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "KeyValue", {{1, "key"}});
}

// Empty member structs of unions (StringType, MilliSeconds, ...) may gain
// fields in later format versions; whatever they hold is skipped.
absl::Status SkipEmptyMember(CompactReader& r, const FieldHeader& f, const char* field) {
  if (ABSL_PREDICT_FALSE(f.type != CompactType::kStruct)) return TypeError(r, f, field, "struct");
  absl::Status s = r.Skip(CompactType::kStruct);
  if (ABSL_PREDICT_FALSE(!s.ok())) return FieldError(s, field);
  return s;
}

// The TimeUnit union. `*known` is false for a member this code does not know.
absl::Status ParseTimeUnit(CompactReader& r, TimeUnit* unit, bool* known) {
  bool any = false;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    any = true;
    *known = true;
    switch (f.id) {
      case 1:
        *unit = TimeUnit::kMillis;
        return SkipEmptyMember(r, f, "MILLIS");
      case 2:
        *unit = TimeUnit::kMicros;
        return SkipEmptyMember(r, f, "MICROS");
      case 3:
        *unit = TimeUnit::kNanos;
        return SkipEmptyMember(r, f, "NANOS");
      default:
        *known = false;
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  if (!any) return CompactReader::ErrorAt(r.position(), ": TimeUnit union has no member");
  return s;
}

// TimeType and TimestampType have the same fields.
absl::Status ParseTimeMember(CompactReader& r, LogicalType* out, bool* unit_known) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetBool(r, f, "isAdjustedToUTC", &out->is_adjusted_to_utc);
      case 2:
        seen |= Bit(2);
        return GetStruct(r, f, "unit", [&](CompactReader& r) {
          return ParseTimeUnit(r, &out->unit, unit_known);
        });
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen,
                       out->kind == LogicalType::Kind::kTime ? "TimeType" : "TimestampType",
                       {{1, "isAdjustedToUTC"}, {2, "unit"}});
}

absl::Status ParseDecimalMember(CompactReader& r, LogicalType* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetI32(r, f, "scale", &out->scale);
      case 2:
        seen |= Bit(2);
        return GetI32(r, f, "precision", &out->precision);
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "DecimalType", {{1, "scale"}, {2, "precision"}});
}

absl::Status ParseIntMember(CompactReader& r, LogicalType* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetI8(r, f, "bitWidth", &out->bit_width);
      case 2:
        seen |= Bit(2);
        return GetBool(r, f, "isSigned", &out->is_signed);
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "IntType", {{1, "bitWidth"}, {2, "isSigned"}});
}

absl::Status ParseLogicalType(CompactReader& r, LogicalType* out) {
  bool any = false;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    any = true;
    // A union holds one member; should a writer send several, the last wins
    // and leaves nothing of the earlier ones behind.
    *out = LogicalType{};
    using Kind = LogicalType::Kind;
    switch (f.id) {
      case 1:
        out->kind = Kind::kString;
        return SkipEmptyMember(r, f, "STRING");
      case 2:
        out->kind = Kind::kMap;
        return SkipEmptyMember(r, f, "MAP");
      case 3:
        out->kind = Kind::kList;
        return SkipEmptyMember(r, f, "LIST");
      case 4:
        out->kind = Kind::kEnum;
        return SkipEmptyMember(r, f, "ENUM");
      case 5:
        out->kind = Kind::kDecimal;
        return GetStruct(r, f, "DECIMAL",
                         [&](CompactReader& r) { return ParseDecimalMember(r, out); });
      case 6:
        out->kind = Kind::kDate;
        return SkipEmptyMember(r, f, "DATE");
      case 7:
      case 8: {
        out->kind = f.id == 7 ? Kind::kTime : Kind::kTimestamp;
        bool unit_known = true;
        absl::Status s = GetStruct(r, f, f.id == 7 ? "TIME" : "TIMESTAMP", [&](CompactReader& r) {
          return ParseTimeMember(r, out, &unit_known);
        });
        // A time unit from a newer format version: the column's type is not
        // one this code can interpret, which is what kOther says; failing
        // here would make the whole file unreadable instead.
        if (s.ok() && !unit_known) {
          out->kind = Kind::kOther;
          out->other_id = f.id;
        }
        return s;
      }
      case 10:
        out->kind = Kind::kInteger;
        return GetStruct(r, f, "INTEGER", [&](CompactReader& r) { return ParseIntMember(r, out); });
      case 11:
        out->kind = Kind::kUnknown;
        return SkipEmptyMember(r, f, "UNKNOWN");
      case 12:
        out->kind = Kind::kJson;
        return SkipEmptyMember(r, f, "JSON");
      case 13:
        out->kind = Kind::kBson;
        return SkipEmptyMember(r, f, "BSON");
      case 14:
        out->kind = Kind::kUuid;
        return SkipEmptyMember(r, f, "UUID");
      case 15:
        out->kind = Kind::kFloat16;
        return SkipEmptyMember(r, f, "FLOAT16");
      default:
        out->kind = Kind::kOther;
        out->other_id = f.id;
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  if (!any) return CompactReader::ErrorAt(r.position(), ": LogicalType union has no member");
  return s;
}

absl::Status ParseSchemaElement(CompactReader& r, SchemaElement* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        return GetOptional(r, f, "type", &out->type, GetEnum<Type>);
      case 2:
        return GetOptional(r, f, "type_length", &out->type_length, GetI32);
      case 3:
        return GetOptional(r, f, "repetition_type", &out->repetition_type, GetEnum<Repetition>);
      case 4:
        seen |= Bit(4);
        return GetString(r, f, "name", &out->name);
      case 5:
        return GetOptional(r, f, "num_children", &out->num_children, GetCount32);
      case 6:
        return GetOptional(r, f, "converted_type", &out->converted_type, GetEnum<ConvertedType>);
      case 7:
        return GetOptional(r, f, "scale", &out->scale, GetI32);
      case 8:
        return GetOptional(r, f, "precision", &out->precision, GetI32);
      case 9:
        return GetOptional(r, f, "field_id", &out->field_id, GetI32);
      case 10:
        return GetStruct(r, f, "logicalType", [&](CompactReader& r) {
          return ParseLogicalType(r, &out->logical_type.emplace());
        });
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "SchemaElement", {{4, "name"}});
}

absl::Status ReadEncodingElement(CompactReader& r, Encoding* out) {
  int32_t v = 0;
  absl::Status s = r.ReadI32(&v);
  if (ABSL_PREDICT_TRUE(s.ok())) *out = static_cast<Encoding>(v);
  return s;
}

absl::Status ReadStringElement(CompactReader& r, std::string* out) {
  absl::string_view v;
  absl::Status s = r.ReadBinary(&v);
  if (s.ok()) out->assign(v.data(), v.size());
  return s;
}

absl::Status GetKeyValueList(CompactReader& r, const FieldHeader& f, const char* field,
                             std::vector<KeyValue>* out) {
  return GetList(r, f, field, CompactType::kStruct, out, ParseKeyValue);
}

absl::Status ParseColumnMetaData(CompactReader& r, ColumnMetaData* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetEnum(r, f, "type", &out->type);
      case 2:
        seen |= Bit(2);
        return GetList(r, f, "encodings", CompactType::kI32, &out->encodings, ReadEncodingElement);
      case 3:
        seen |= Bit(3);
        return GetList(r, f, "path_in_schema", CompactType::kBinary, &out->path_in_schema,
                       ReadStringElement);
      case 4:
        seen |= Bit(4);
        return GetEnum(r, f, "codec", &out->codec);
      case 5:
        seen |= Bit(5);
        return GetCount64(r, f, "num_values", &out->num_values);
      case 6:
        seen |= Bit(6);
        return GetCount64(r, f, "total_uncompressed_size", &out->total_uncompressed_size);
      case 7:
        seen |= Bit(7);
        return GetCount64(r, f, "total_compressed_size", &out->total_compressed_size);
      case 8:
        return GetKeyValueList(r, f, "key_value_metadata", &out->key_value_metadata);
      case 9:
        seen |= Bit(9);
        return GetI64(r, f, "data_page_offset", &out->data_page_offset);
      case 10:
        return GetOptional(r, f, "index_page_offset", &out->index_page_offset, GetI64);
      case 11:
        return GetOptional(r, f, "dictionary_page_offset", &out->dictionary_page_offset, GetI64);
      case 12:
        return GetStruct(r, f, "statistics", [&](CompactReader& r) {
          return ParseStatistics(r, &out->statistics.emplace());
        });
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "ColumnMetaData",
                       {{1, "type"},
                        {2, "encodings"},
                        {3, "path_in_schema"},
                        {4, "codec"},
                        {5, "num_values"},
                        {6, "total_uncompressed_size"},
                        {7, "total_compressed_size"},
                        {9, "data_page_offset"}});
}

absl::Status ParseColumnChunk(CompactReader& r, ColumnChunk* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        return GetOptional(r, f, "file_path", &out->file_path, GetString);
      case 2:
        seen |= Bit(2);
        return GetI64(r, f, "file_offset", &out->file_offset);
      case 3:
        return GetStruct(r, f, "meta_data", [&](CompactReader& r) {
          return ParseColumnMetaData(r, &out->meta_data.emplace());
        });
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "ColumnChunk", {{2, "file_offset"}});
}

absl::Status ParseRowGroup(CompactReader& r, RowGroup* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetList(r, f, "columns", CompactType::kStruct, &out->columns, ParseColumnChunk);
      case 2:
        seen |= Bit(2);
        return GetCount64(r, f, "total_byte_size", &out->total_byte_size);
      case 3:
        seen |= Bit(3);
        return GetCount64(r, f, "num_rows", &out->num_rows);
      case 5:
        return GetOptional(r, f, "file_offset", &out->file_offset, GetI64);
      case 6:
        return GetOptional(r, f, "total_compressed_size", &out->total_compressed_size, GetCount64);
      case 7:
        return GetOptional(r, f, "ordinal", &out->ordinal, GetI16);
      default:  // 4 sorting_columns and anything newer
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "RowGroup",
                       {{1, "columns"}, {2, "total_byte_size"}, {3, "num_rows"}});
}

// One ColumnOrder union: true for TYPE_ORDER, false for any other member.
absl::Status ParseColumnOrder(CompactReader& r, bool* type_defined) {
  *type_defined = false;
  return ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    if (f.id == 1) {
      *type_defined = true;
      return SkipEmptyMember(r, f, "TYPE_ORDER");
    }
    *type_defined = false;
    return SkipField(r, f);
  });
}

absl::Status GetColumnOrders(CompactReader& r, const FieldHeader& f, std::vector<bool>* out) {
  // std::vector<bool> has no element pointers, so GetList does not fit.
  std::vector<uint8_t> orders;
  absl::Status s = GetList(r, f, "column_orders", CompactType::kStruct, &orders,
                           [](CompactReader& r, uint8_t* order) {
                             bool type_defined = false;
                             absl::Status s = ParseColumnOrder(r, &type_defined);
                             *order = type_defined;
                             return s;
                           });
  if (!s.ok()) return s;
  out->assign(orders.begin(), orders.end());
  return s;
}

absl::Status ParseFileMetaDataStruct(CompactReader& r, FileMetaData* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetI32(r, f, "version", &out->version);
      case 2:
        seen |= Bit(2);
        return GetList(r, f, "schema", CompactType::kStruct, &out->schema, ParseSchemaElement);
      case 3:
        seen |= Bit(3);
        return GetCount64(r, f, "num_rows", &out->num_rows);
      case 4:
        seen |= Bit(4);
        return GetList(r, f, "row_groups", CompactType::kStruct, &out->row_groups, ParseRowGroup);
      case 5:
        return GetKeyValueList(r, f, "key_value_metadata", &out->key_value_metadata);
      case 6:
        return GetOptional(r, f, "created_by", &out->created_by, GetString);
      case 7:
        return GetColumnOrders(r, f, &out->column_orders_type_defined.emplace());
      default:  // 8 encryption_algorithm, 9 footer_signing_key_metadata, newer
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "FileMetaData",
                       {{1, "version"}, {2, "schema"}, {3, "num_rows"}, {4, "row_groups"}});
}

absl::Status ParseDataPageHeader(CompactReader& r, DataPageHeader* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetCount32(r, f, "num_values", &out->num_values);
      case 2:
        seen |= Bit(2);
        return GetEnum(r, f, "encoding", &out->encoding);
      case 3:
        seen |= Bit(3);
        return GetEnum(r, f, "definition_level_encoding", &out->definition_level_encoding);
      case 4:
        seen |= Bit(4);
        return GetEnum(r, f, "repetition_level_encoding", &out->repetition_level_encoding);
      case 5:
        return GetStruct(r, f, "statistics", [&](CompactReader& r) {
          return ParseStatistics(r, &out->statistics.emplace());
        });
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "DataPageHeader",
                       {{1, "num_values"},
                        {2, "encoding"},
                        {3, "definition_level_encoding"},
                        {4, "repetition_level_encoding"}});
}

absl::Status ParseDictionaryPageHeader(CompactReader& r, DictionaryPageHeader* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetCount32(r, f, "num_values", &out->num_values);
      case 2:
        seen |= Bit(2);
        return GetEnum(r, f, "encoding", &out->encoding);
      case 3:
        return GetOptional(r, f, "is_sorted", &out->is_sorted, GetBool);
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "DictionaryPageHeader", {{1, "num_values"}, {2, "encoding"}});
}

absl::Status ParseDataPageHeaderV2(CompactReader& r, DataPageHeaderV2* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetCount32(r, f, "num_values", &out->num_values);
      case 2:
        seen |= Bit(2);
        return GetCount32(r, f, "num_nulls", &out->num_nulls);
      case 3:
        seen |= Bit(3);
        return GetCount32(r, f, "num_rows", &out->num_rows);
      case 4:
        seen |= Bit(4);
        return GetEnum(r, f, "encoding", &out->encoding);
      case 5:
        seen |= Bit(5);
        return GetCount32(r, f, "definition_levels_byte_length",
                          &out->definition_levels_byte_length);
      case 6:
        seen |= Bit(6);
        return GetCount32(r, f, "repetition_levels_byte_length",
                          &out->repetition_levels_byte_length);
      case 7:
        return GetBool(r, f, "is_compressed", &out->is_compressed);
      case 8:
        return GetStruct(r, f, "statistics", [&](CompactReader& r) {
          return ParseStatistics(r, &out->statistics.emplace());
        });
      default:
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  return CheckRequired(r, seen, "DataPageHeaderV2",
                       {{1, "num_values"},
                        {2, "num_nulls"},
                        {3, "num_rows"},
                        {4, "encoding"},
                        {5, "definition_levels_byte_length"},
                        {6, "repetition_levels_byte_length"}});
}

absl::Status ParsePageHeaderStruct(CompactReader& r, PageHeader* out) {
  uint32_t seen = 0;
  absl::Status s = ParseStruct(r, [&](const FieldHeader& f) -> absl::Status {
    switch (f.id) {
      case 1:
        seen |= Bit(1);
        return GetEnum(r, f, "type", &out->type);
      case 2:
        seen |= Bit(2);
        return GetCount32(r, f, "uncompressed_page_size", &out->uncompressed_page_size);
      case 3:
        seen |= Bit(3);
        return GetCount32(r, f, "compressed_page_size", &out->compressed_page_size);
      case 4:
        return GetOptional(r, f, "crc", &out->crc, GetI32);
      case 5:
        return GetStruct(r, f, "data_page_header", [&](CompactReader& r) {
          return ParseDataPageHeader(r, &out->data_page_header.emplace());
        });
      case 7:
        return GetStruct(r, f, "dictionary_page_header", [&](CompactReader& r) {
          return ParseDictionaryPageHeader(r, &out->dictionary_page_header.emplace());
        });
      case 8:
        return GetStruct(r, f, "data_page_header_v2", [&](CompactReader& r) {
          return ParseDataPageHeaderV2(r, &out->data_page_header_v2.emplace());
        });
      default:  // 6 index_page_header and anything newer
        return SkipField(r, f);
    }
  });
  if (!s.ok()) return s;
  s = CheckRequired(r, seen, "PageHeader",
                    {{1, "type"}, {2, "uncompressed_page_size"}, {3, "compressed_page_size"}});
  if (!s.ok()) return s;
  // The header that describes the page's layout must be there for the page
  // types that have one; without it the page cannot be decoded.
  const char* missing = nullptr;
  switch (out->type) {
    case PageType::kDataPage:
      if (!out->data_page_header) missing = "data_page_header";
      break;
    case PageType::kDictionaryPage:
      if (!out->dictionary_page_header) missing = "dictionary_page_header";
      break;
    case PageType::kDataPageV2:
      if (!out->data_page_header_v2) missing = "data_page_header_v2";
      break;
    default:
      break;
  }
  if (missing != nullptr) {
    return CompactReader::ErrorAt(
        r.position(), absl::StrCat(missing, ": missing for a page of type ",
                                   static_cast<int32_t>(out->type), "; PageHeader ends"));
  }
  return s;
}

// ---------------------------------------------------------------------------
// Serialization: fields in increasing id order, unset optionals (and empty
// optional lists) omitted.

void WriteStatistics(CompactWriter& w, const Statistics& stats) {
  w.WriteStructBegin();
  if (stats.max) w.WriteBinaryField(1, *stats.max);
  if (stats.min) w.WriteBinaryField(2, *stats.min);
  if (stats.null_count) w.WriteI64Field(3, *stats.null_count);
  if (stats.distinct_count) w.WriteI64Field(4, *stats.distinct_count);
  if (stats.max_value) w.WriteBinaryField(5, *stats.max_value);
  if (stats.min_value) w.WriteBinaryField(6, *stats.min_value);
  if (stats.is_max_value_exact) w.WriteBoolField(7, *stats.is_max_value_exact);
  if (stats.is_min_value_exact) w.WriteBoolField(8, *stats.is_min_value_exact);
  w.WriteStructEnd();
}

void WriteKeyValues(CompactWriter& w, int16_t id, const std::vector<KeyValue>& kvs) {
  if (kvs.empty()) return;
  w.WriteFieldHeader(id, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, static_cast<uint32_t>(kvs.size()));
  for (const KeyValue& kv : kvs) {
    w.WriteStructBegin();
    w.WriteBinaryField(1, kv.key);
    if (kv.value) w.WriteBinaryField(2, *kv.value);
    w.WriteStructEnd();
  }
}

// An empty struct as field `id`: the members of LogicalType, TimeUnit and
// ColumnOrder that carry no parameters.
void WriteEmptyStructField(CompactWriter& w, int16_t id) {
  w.WriteFieldHeader(id, CompactType::kStruct);
  w.WriteStructBegin();
  w.WriteStructEnd();
}

void WriteLogicalType(CompactWriter& w, const LogicalType& type) {
  using Kind = LogicalType::Kind;
  w.WriteStructBegin();
  // kOther can only say which member it was; it is written as that member
  // with no parameters.
  const int16_t member =
      type.kind == Kind::kOther ? type.other_id : static_cast<int16_t>(type.kind);
  w.WriteFieldHeader(member, CompactType::kStruct);
  w.WriteStructBegin();
  switch (type.kind) {
    case Kind::kDecimal:
      w.WriteI32Field(1, type.scale);
      w.WriteI32Field(2, type.precision);
      break;
    case Kind::kTime:
    case Kind::kTimestamp:
      w.WriteBoolField(1, type.is_adjusted_to_utc);
      w.WriteFieldHeader(2, CompactType::kStruct);
      w.WriteStructBegin();  // union TimeUnit: MILLIS 1, MICROS 2, NANOS 3
      WriteEmptyStructField(w, static_cast<int16_t>(static_cast<int32_t>(type.unit) + 1));
      w.WriteStructEnd();
      break;
    case Kind::kInteger:
      w.WriteI8Field(1, type.bit_width);
      w.WriteBoolField(2, type.is_signed);
      break;
    default:
      break;
  }
  w.WriteStructEnd();
  w.WriteStructEnd();
}

void WriteSchemaElement(CompactWriter& w, const SchemaElement& e) {
  w.WriteStructBegin();
  if (e.type) w.WriteI32Field(1, static_cast<int32_t>(*e.type));
  if (e.type_length) w.WriteI32Field(2, *e.type_length);
  if (e.repetition_type) w.WriteI32Field(3, static_cast<int32_t>(*e.repetition_type));
  w.WriteBinaryField(4, e.name);
  if (e.num_children) w.WriteI32Field(5, *e.num_children);
  if (e.converted_type) w.WriteI32Field(6, static_cast<int32_t>(*e.converted_type));
  if (e.scale) w.WriteI32Field(7, *e.scale);
  if (e.precision) w.WriteI32Field(8, *e.precision);
  if (e.field_id) w.WriteI32Field(9, *e.field_id);
  if (e.logical_type) {
    w.WriteFieldHeader(10, CompactType::kStruct);
    WriteLogicalType(w, *e.logical_type);
  }
  w.WriteStructEnd();
}

void WriteColumnMetaData(CompactWriter& w, const ColumnMetaData& m) {
  w.WriteStructBegin();
  w.WriteI32Field(1, static_cast<int32_t>(m.type));
  w.WriteFieldHeader(2, CompactType::kList);
  w.WriteListHeader(CompactType::kI32, static_cast<uint32_t>(m.encodings.size()));
  for (Encoding e : m.encodings) w.WriteI32(static_cast<int32_t>(e));
  w.WriteFieldHeader(3, CompactType::kList);
  w.WriteListHeader(CompactType::kBinary, static_cast<uint32_t>(m.path_in_schema.size()));
  for (const std::string& p : m.path_in_schema) w.WriteBinary(p);
  w.WriteI32Field(4, static_cast<int32_t>(m.codec));
  w.WriteI64Field(5, m.num_values);
  w.WriteI64Field(6, m.total_uncompressed_size);
  w.WriteI64Field(7, m.total_compressed_size);
  WriteKeyValues(w, 8, m.key_value_metadata);
  w.WriteI64Field(9, m.data_page_offset);
  if (m.index_page_offset) w.WriteI64Field(10, *m.index_page_offset);
  if (m.dictionary_page_offset) w.WriteI64Field(11, *m.dictionary_page_offset);
  if (m.statistics) {
    w.WriteFieldHeader(12, CompactType::kStruct);
    WriteStatistics(w, *m.statistics);
  }
  w.WriteStructEnd();
}

void WriteColumnChunk(CompactWriter& w, const ColumnChunk& c) {
  w.WriteStructBegin();
  if (c.file_path) w.WriteBinaryField(1, *c.file_path);
  w.WriteI64Field(2, c.file_offset);
  if (c.meta_data) {
    w.WriteFieldHeader(3, CompactType::kStruct);
    WriteColumnMetaData(w, *c.meta_data);
  }
  w.WriteStructEnd();
}

void WriteRowGroup(CompactWriter& w, const RowGroup& g) {
  w.WriteStructBegin();
  w.WriteFieldHeader(1, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, static_cast<uint32_t>(g.columns.size()));
  for (const ColumnChunk& c : g.columns) WriteColumnChunk(w, c);
  w.WriteI64Field(2, g.total_byte_size);
  w.WriteI64Field(3, g.num_rows);
  if (g.file_offset) w.WriteI64Field(5, *g.file_offset);
  if (g.total_compressed_size) w.WriteI64Field(6, *g.total_compressed_size);
  if (g.ordinal) w.WriteI16Field(7, *g.ordinal);
  w.WriteStructEnd();
}

void WriteDataPageHeader(CompactWriter& w, const DataPageHeader& h) {
  w.WriteStructBegin();
  w.WriteI32Field(1, h.num_values);
  w.WriteI32Field(2, static_cast<int32_t>(h.encoding));
  w.WriteI32Field(3, static_cast<int32_t>(h.definition_level_encoding));
  w.WriteI32Field(4, static_cast<int32_t>(h.repetition_level_encoding));
  if (h.statistics) {
    w.WriteFieldHeader(5, CompactType::kStruct);
    WriteStatistics(w, *h.statistics);
  }
  w.WriteStructEnd();
}

void WriteDictionaryPageHeader(CompactWriter& w, const DictionaryPageHeader& h) {
  w.WriteStructBegin();
  w.WriteI32Field(1, h.num_values);
  w.WriteI32Field(2, static_cast<int32_t>(h.encoding));
  if (h.is_sorted) w.WriteBoolField(3, *h.is_sorted);
  w.WriteStructEnd();
}

void WriteDataPageHeaderV2(CompactWriter& w, const DataPageHeaderV2& h) {
  w.WriteStructBegin();
  w.WriteI32Field(1, h.num_values);
  w.WriteI32Field(2, h.num_nulls);
  w.WriteI32Field(3, h.num_rows);
  w.WriteI32Field(4, static_cast<int32_t>(h.encoding));
  w.WriteI32Field(5, h.definition_levels_byte_length);
  w.WriteI32Field(6, h.repetition_levels_byte_length);
  // Always written although it defaults to true: explicit is unambiguous for
  // every reader.
  w.WriteBoolField(7, h.is_compressed);
  if (h.statistics) {
    w.WriteFieldHeader(8, CompactType::kStruct);
    WriteStatistics(w, *h.statistics);
  }
  w.WriteStructEnd();
}

}  // namespace

absl::StatusOr<FileMetaData> ParseFileMetaData(absl::string_view data) {
  CompactReader r(data);
  FileMetaData meta;
  // Bytes after the struct are allowed: files with an encrypted column key
  // and a plaintext footer append a signature there.
  absl::Status s = ParseFileMetaDataStruct(r, &meta);
  if (!s.ok()) return NestedError(s, "FileMetaData");
  return meta;
}

absl::StatusOr<PageHeader> ParsePageHeader(absl::string_view data, size_t* consumed) {
  CompactReader r(data);
  PageHeader header;
  absl::Status s = ParsePageHeaderStruct(r, &header);
  if (!s.ok()) return NestedError(s, "PageHeader");
  if (consumed != nullptr) *consumed = r.position();
  return header;
}

void SerializeFileMetaData(const FileMetaData& meta, std::string* out) {
  CompactWriter w(out);
  w.WriteStructBegin();
  w.WriteI32Field(1, meta.version);
  w.WriteFieldHeader(2, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, static_cast<uint32_t>(meta.schema.size()));
  for (const SchemaElement& e : meta.schema) WriteSchemaElement(w, e);
  w.WriteI64Field(3, meta.num_rows);
  w.WriteFieldHeader(4, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, static_cast<uint32_t>(meta.row_groups.size()));
  for (const RowGroup& g : meta.row_groups) WriteRowGroup(w, g);
  WriteKeyValues(w, 5, meta.key_value_metadata);
  if (meta.created_by) w.WriteBinaryField(6, *meta.created_by);
  if (meta.column_orders_type_defined) {
    const std::vector<bool>& orders = *meta.column_orders_type_defined;
    w.WriteFieldHeader(7, CompactType::kList);
    w.WriteListHeader(CompactType::kStruct, static_cast<uint32_t>(orders.size()));
    for (bool type_defined : orders) {
      w.WriteStructBegin();
      // "Any other order" has no member to name; an empty union is what a
      // reader that knows no member would see anyway.
      if (type_defined) WriteEmptyStructField(w, 1);
      w.WriteStructEnd();
    }
  }
  w.WriteStructEnd();
}

void SerializePageHeader(const PageHeader& header, std::string* out) {
  CompactWriter w(out);
  w.WriteStructBegin();
  w.WriteI32Field(1, static_cast<int32_t>(header.type));
  w.WriteI32Field(2, header.uncompressed_page_size);
  w.WriteI32Field(3, header.compressed_page_size);
  if (header.crc) w.WriteI32Field(4, *header.crc);
  if (header.data_page_header) {
    w.WriteFieldHeader(5, CompactType::kStruct);
    WriteDataPageHeader(w, *header.data_page_header);
  }
  if (header.dictionary_page_header) {
    w.WriteFieldHeader(7, CompactType::kStruct);
    WriteDictionaryPageHeader(w, *header.dictionary_page_header);
  }
  if (header.data_page_header_v2) {
    w.WriteFieldHeader(8, CompactType::kStruct);
    WriteDataPageHeaderV2(w, *header.data_page_header_v2);
  }
  w.WriteStructEnd();
}

std::string CodecName(Codec codec) {
  switch (codec) {
    case Codec::kUncompressed:
      return "UNCOMPRESSED";
    case Codec::kSnappy:
      return "SNAPPY";
    case Codec::kGzip:
      return "GZIP";
    case Codec::kLzo:
      return "LZO";
    case Codec::kBrotli:
      return "BROTLI";
    case Codec::kLz4:
      return "LZ4";
    case Codec::kZstd:
      return "ZSTD";
    case Codec::kLz4Raw:
      return "LZ4_RAW";
  }
  return absl::StrCat("codec ", static_cast<int32_t>(codec));
}

std::string EncodingName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kPlain: return "PLAIN";
    case Encoding::kPlainDictionary: return "PLAIN_DICTIONARY";
    case Encoding::kRle: return "RLE";
    case Encoding::kBitPacked: return "BIT_PACKED";
    case Encoding::kDeltaBinaryPacked: return "DELTA_BINARY_PACKED";
    case Encoding::kDeltaLengthByteArray: return "DELTA_LENGTH_BYTE_ARRAY";
    case Encoding::kDeltaByteArray: return "DELTA_BYTE_ARRAY";
    case Encoding::kRleDictionary: return "RLE_DICTIONARY";
    case Encoding::kByteStreamSplit: return "BYTE_STREAM_SPLIT";
  }
  return absl::StrCat("encoding ", static_cast<int32_t>(encoding));
}

}  // namespace pantry::parquet
