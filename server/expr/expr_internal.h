// Private to the expression implementation (expr*.cc): the typed tree that
// Compile builds and Evaluate walks.
#ifndef PANTRY_SERVER_EXPR_EXPR_INTERNAL_H_
#define PANTRY_SERVER_EXPR_EXPR_INTERNAL_H_

#include <cstdint>
#include <forward_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/common/time.h"
#include "server/expr/expr.h"
#include "server/value/value.h"

namespace pantry::expr::internal {

// The static type of a sub-expression: a ValueType, or that of the literal
// `null`, which fits wherever a value of any type does.
struct Type {
  ValueType value = ValueType::kInt64;
  bool null = false;
};

inline bool IsInt(Type t) {
  return !t.null && (t.value == ValueType::kInt32 || t.value == ValueType::kInt64);
}
inline bool IsFloat(Type t) {
  return !t.null && (t.value == ValueType::kFloat || t.value == ValueType::kDouble);
}
inline bool IsNumber(Type t) { return IsInt(t) || IsFloat(t); }
inline bool Is(Type t, ValueType v) { return !t.null && t.value == v; }

// A value during evaluation. Integers (and timestamps) are int64, FLOAT and
// DOUBLE are double; strings view an input, a literal or the evaluation's
// arena; lists point to the input Value. Which member is live follows from
// the node's static type. Never NaN or infinite.
struct Val {
  union {
    int64_t i;
    double d;
    bool b;
    const Value* list;
  };
  absl::string_view s;
  bool null;

  static Val Null() {
    Val v;
    v.i = 0;
    v.null = true;
    return v;
  }
  static Val Int(int64_t x) {
    Val v;
    v.i = x;
    v.null = false;
    return v;
  }
  static Val Double(double x) {
    Val v;
    v.d = x;
    v.null = false;
    return v;
  }
  static Val Bool(bool x) {
    Val v;
    v.i = 0;
    v.b = x;
    v.null = false;
    return v;
  }
  static Val Str(absl::string_view x) {
    Val v;
    v.i = 0;
    v.s = x;
    v.null = false;
    return v;
  }
  static Val List(const Value* x) {
    Val v;
    v.list = x;
    v.null = false;
    return v;
  }
};

enum class Op : uint8_t {
  // Leaves.
  kConst,
  kInput,
  kNow,
  // Not strict: look at nulls themselves.
  kIf,
  kCoalesce,
  kIsNull,
  kAnd,
  kOr,
  kNot,
  kMinInt,
  kMaxInt,
  kMinDouble,
  kMaxDouble,
  kConcat,
  // Strict: a null argument gives null. One argument.
  kPass,
  kIntToDouble,
  kNegInt,
  kNegDouble,
  kAbsInt,
  kAbsDouble,
  kLog,
  kExp,
  kSqrt,
  kRound,
  kFloor,
  kCeil,
  kDoubleToInt,
  kBoolToInt,
  kStringToInt,
  kBoolToDouble,
  kStringToDouble,
  kLower,
  kUpper,
  kLengthString,
  kLengthBytes,
  kLengthList,
  kHour,
  kDayOfWeek,
  kSecondsSince,
  // Two arguments.
  kAddInt,
  kSubInt,
  kMulInt,
  kModInt,
  kAddDouble,
  kSubDouble,
  kMulDouble,
  kDivDouble,
  kPow,
  kTsDiff,
  kTsAddSeconds,
  kTsSubSeconds,
  kCmpInt,
  kCmpDouble,
  kCmpBool,
  kCmpString,
  kContainsString,
  kStartsWith,
  kEndsWith,
  kContainsList,
  kIndex,
  // Three arguments.
  kSubstr,
};

enum class Cmp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

struct Node {
  Op op = Op::kConst;
  Cmp cmp = Cmp::kEq;          // kCmp*
  Type type;                   // of the result; for kInput the input's dtype
  int column = 1;              // 1-based position in the text, for errors
  int depth = 0;               // of the subtree: a leaf has 0, its parent 1
  int input = -1;              // kInput: index into the inputs
  Val constant = Val::Null();  // kConst
  std::string text;            // kConst of a string: what `constant` views
  std::vector<std::unique_ptr<Node>> args;
};

// What one evaluation reads and the strings it builds.
struct EvalContext {
  absl::Span<const Value* const> values;
  Micros now = 0;
  // Owns strings that results view; a node never moves, so views stay valid.
  std::forward_list<std::string> arena;
};

// Evaluates `node`; never fails (a domain error is a null).
Val Eval(const Node& node, EvalContext& ctx);

// Parses and type-checks `text`; sets (*used)[i] for each input it names.
// InvalidArgument "column N: ..." on any error.
absl::StatusOr<std::unique_ptr<Node>> Parse(absl::string_view text,
                                            const std::vector<ExprInput>& inputs,
                                            std::vector<bool>* used);

// The number of UTF-8 code points of `s` (a stray continuation byte at the
// start counts as one).
int64_t CodePoints(absl::string_view s);

}  // namespace pantry::expr::internal

#endif  // PANTRY_SERVER_EXPR_EXPR_INTERNAL_H_
