// Expressions of on-demand features.
//
// An on-demand feature is computed per request row from request data and from
// features of other views, by a small typed expression language
// (docs/expressions.md): `if(amount > 1000, log(amount), 0.0)`. An expression
// is parsed and type-checked once, when the feature repository is applied,
// and then evaluated in process for every row, by online reads and by
// training-set builds alike, so both paths compute the same value.
#ifndef PANTRY_SERVER_EXPR_EXPR_H_
#define PANTRY_SERVER_EXPR_EXPR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/common/time.h"
#include "server/value/value.h"

namespace pantry::expr {

namespace internal {
struct Node;
}  // namespace internal

// A name an expression may use, with its type. Request data columns are plain
// identifiers ("amount"); features of other views are "view.feature" (one
// dot). Where two inputs share a name the first one is used.
struct ExprInput {
  std::string name;
  ValueType dtype;
};

// The longest expression text Compile accepts, in bytes.
inline constexpr size_t kMaxExprBytes = 4096;
// The deepest nesting Compile accepts: parentheses, operators and function
// calls each add a level.
inline constexpr int kMaxExprDepth = 64;

// A compiled expression: immutable, safe to evaluate from many threads at once.
class Expr {
 public:
  // Parses and type-checks `text` against `inputs`, for a feature whose
  // declared dtype is `result_type`. The expression's own type must equal
  // `result_type` or convert to it without loss: INT32 -> INT64,
  // FLOAT -> DOUBLE, INT32_LIST -> INT64_LIST, FLOAT_LIST -> DOUBLE_LIST, and
  // INT32/INT64 -> DOUBLE.
  //
  // Returns InvalidArgument whose message starts with "column N: " (N the
  // 1-based byte position in `text`) and says what is wrong: a syntax error,
  // an unknown name (with the closest input name when one is close), an
  // unknown function, wrong argument count or types for a function or
  // operator, a result that cannot become `result_type`, text longer than
  // kMaxExprBytes or nested deeper than kMaxExprDepth.
  static absl::StatusOr<std::unique_ptr<const Expr>> Compile(absl::string_view text,
                                                             const std::vector<ExprInput>& inputs,
                                                             ValueType result_type);

  ~Expr();
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  // The declared result type: every value Evaluate returns has it.
  ValueType type() const { return type_; }
  // The expression's own type before it is widened to type(), e.g. INT64 for
  // `count + 1` declared DOUBLE. An expression that is always null (`null`)
  // reports type().
  ValueType expression_type() const { return expression_type_; }
  // The text it was compiled from.
  const std::string& text() const { return text_; }
  // Indexes into the `inputs` given to Compile of the names the expression
  // uses, ascending, each once.
  const std::vector<int>& used_inputs() const { return used_inputs_; }

  // Evaluates for one row. `values[i]` is input i's value, in the order of the
  // `inputs` given to Compile; only used_inputs() are read, and the caller
  // keeps them alive during the call. A non-null value has its input's
  // dtype (or one that widens to it); a null, a nullptr, a missing entry
  // (span too short) or a value of another type reads as null. `now` is the
  // evaluation time in microseconds since the epoch UTC: the request time
  // online, the entity row's time offline.
  //
  // Never fails: every domain error (division by zero, overflow, log of a
  // non-positive number, an index out of range, ...) yields a null of type().
  // Allocates only for string and list results and for string functions that
  // build new text. Thread-safe.
  Value Evaluate(absl::Span<const Value* const> values, Micros now) const;

 private:
  Expr(std::unique_ptr<internal::Node> root, ValueType type, ValueType expression_type,
       std::string text, std::vector<int> used_inputs);

  std::unique_ptr<internal::Node> root_;
  ValueType type_;
  ValueType expression_type_;
  std::string text_;
  std::vector<int> used_inputs_;
};

}  // namespace pantry::expr

#endif  // PANTRY_SERVER_EXPR_EXPR_H_
