// Private to the expression implementation: the type checker. Each Make*
// function checks its operands' static types and returns the typed node, with
// the conversions it needs inserted, or InvalidArgument "column N: ...".
#ifndef PANTRY_SERVER_EXPR_EXPR_TYPES_H_
#define PANTRY_SERVER_EXPR_EXPR_TYPES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/expr/expr.h"
#include "server/expr/expr_internal.h"

namespace pantry::expr::internal {

using NodePtr = std::unique_ptr<Node>;

template <typename... Args>
absl::Status ErrorAt(int column, const Args&... args) {
  return absl::InvalidArgumentError(absl::StrCat("column ", column, ": ", args...));
}

absl::Status DepthError(int column);

// Leaves.
NodePtr IntConst(int column, int64_t v);
NodePtr DoubleConst(int column, double v);
NodePtr BoolConst(int column, bool v);
NodePtr StringConst(int column, std::string v);
NodePtr NullConst(int column);
NodePtr InputNode(int column, int input, ValueType dtype);
// The error for a name that is no input, suggesting the closest one.
absl::Status UnknownName(int column, absl::string_view name, const std::vector<ExprInput>& inputs);

// Operators; `column` is the operator's.
absl::StatusOr<NodePtr> MakeLogic(Op op, int column, NodePtr a, NodePtr b);  // kAnd, kOr
absl::StatusOr<NodePtr> MakeNot(int column, NodePtr a);
absl::StatusOr<NodePtr> MakeComparison(Cmp cmp, absl::string_view symbol, int column, NodePtr a,
                                       NodePtr b);
// `op` is one of + - * / %.
absl::StatusOr<NodePtr> MakeArithmetic(char op, int column, NodePtr a, NodePtr b);
absl::StatusOr<NodePtr> MakeNegation(int column, NodePtr a);
absl::StatusOr<NodePtr> MakeIndex(int column, NodePtr list, NodePtr index);
// A call of function `name`; `column` is the name's.
absl::StatusOr<NodePtr> MakeCall(absl::string_view name, int column, std::vector<NodePtr> args);

// Makes the whole expression `root` give values of `result_type`, widening
// where that is lossless; InvalidArgument at column 1 otherwise.
absl::StatusOr<NodePtr> Conform(NodePtr root, ValueType result_type);

}  // namespace pantry::expr::internal

#endif  // PANTRY_SERVER_EXPR_EXPR_TYPES_H_
