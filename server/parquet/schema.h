// Schema: the leaf columns of a Parquet file with their levels and their
// logical meaning, resolved once from the footer's schema elements.
//
// Supported shapes: top-level primitive fields (REQUIRED or OPTIONAL), a
// top-level REPEATED primitive (legacy one-level list), and lists of
// primitives: the standard three-level LIST (`<opt|req> group x (LIST) {
// repeated group list { <opt|req> element; } }`) and the legacy two-level
// one (`group x (LIST) { repeated <prim> element; }`). Other nested shapes
// (structs, maps, lists of lists) are listed with `supported = false` and a
// reason, so a file holding them can still be opened and its other columns
// read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/parquet/metadata.h"

namespace pantry::parquet {

// What the values of a column mean, from the logical type or, when absent,
// the converted type.
enum class Logical {
  kNone,       // plain physical values (binary for byte arrays)
  kString,     // UTF8 / STRING
  kEnum,
  kJson,
  kBson,       // binary
  kUuid,       // binary
  kDate,       // INT32 days since 1970-01-01
  kTimestamp,  // INT64 in `unit` since the epoch; INT96 always nanos, UTC
  kTime,       // INT32 millis or INT64 micros/nanos since midnight
  kDecimal,    // unscaled integer, `scale` and `precision`
  kInteger,    // an INTEGER annotation: `bit_width` and `is_signed`
  kFloat16,    // FIXED_LEN_BYTE_ARRAY(2), kept as binary
  kNull,       // UNKNOWN: always null
  kOther,      // an annotation Pantry does not interpret; values as physical
};

struct Column {
  int leaf_index = 0;      // position among the leaf columns (= column chunk index)
  std::string name;        // the top-level field's name
  std::vector<std::string> path;  // path_in_schema of the leaf
  Type physical = Type::kInt32;
  int32_t type_length = 0;  // FIXED_LEN_BYTE_ARRAY only
  int16_t max_def = 0;
  int16_t max_rep = 0;
  bool nullable = false;    // the top-level value may be null
  // Lists: definition level at which the list is non-null (below: null
  // list) and at which it has at least one element (below: empty list).
  bool is_list = false;
  int16_t list_def = 0;
  int16_t element_def = 0;
  bool element_nullable = false;

  Logical logical = Logical::kNone;
  TimeUnit unit = TimeUnit::kMicros;
  bool utc_adjusted = false;
  int32_t scale = 0;
  int32_t precision = 0;
  int bit_width = 0;
  bool is_signed = true;

  bool supported = true;
  std::string unsupported_reason;

  // A short human description, e.g. "INT64 TIMESTAMP(MICROS, UTC) OPTIONAL"
  // or "list<DOUBLE>".
  std::string TypeString() const;
};

class Schema {
 public:
  // Resolves the leaf columns of `meta.schema`. InvalidArgument (naming the
  // element) when the tree is malformed: counts of children that overrun the
  // list, a leaf without a physical type, a FIXED_LEN_BYTE_ARRAY without a
  // positive length, a level depth beyond 100.
  static absl::StatusOr<Schema> FromMetadata(const FileMetaData& meta);

  const std::vector<Column>& columns() const { return columns_; }
  // The index of the leaf column for top-level field `name`, or -1.
  int Find(absl::string_view name) const;

 private:
  std::vector<Column> columns_;
};

}  // namespace pantry::parquet
