#include "server/expr/expr.h"

#include <limits>
#include <utility>

#include "server/common/status.h"
#include "server/expr/expr_internal.h"
#include "server/expr/expr_types.h"

namespace pantry::expr {
namespace {

using internal::Val;

// The result as a Value of `type`; the type checker guarantees that `v` holds
// what `type` reads.
Value ToValue(ValueType type, const Val& v) {
  if (v.null) return Value::Null(type);
  switch (type) {
    case ValueType::kInt32:
      // Only an INT32 input reaches here; a caller that broke the contract
      // with a larger value gets null rather than a truncated one.
      if (v.i < std::numeric_limits<int32_t>::min() || v.i > std::numeric_limits<int32_t>::max()) {
        return Value::Null(type);
      }
      return Value::Int32(static_cast<int32_t>(v.i));
    case ValueType::kInt64: return Value::Int64(v.i);
    case ValueType::kFloat: return Value::Float(static_cast<float>(v.d));
    case ValueType::kDouble: return Value::Double(v.d);
    case ValueType::kBool: return Value::Bool(v.b);
    case ValueType::kString: return Value::String(std::string(v.s));
    case ValueType::kBytes: return Value::Bytes(std::string(v.s));
    case ValueType::kUnixTimestamp: return Value::UnixTimestamp(v.i);
    default: break;
  }
  if (v.list->type() == type) return *v.list;
  absl::StatusOr<Value> widened = v.list->CastTo(type);
  return widened.ok() ? *std::move(widened) : Value::Null(type);
}

}  // namespace

Expr::Expr(std::unique_ptr<internal::Node> root, ValueType type, ValueType expression_type,
           std::string text, std::vector<int> used_inputs)
    : root_(std::move(root)),
      type_(type),
      expression_type_(expression_type),
      text_(std::move(text)),
      used_inputs_(std::move(used_inputs)) {}

Expr::~Expr() = default;

absl::StatusOr<std::unique_ptr<const Expr>> Expr::Compile(absl::string_view text,
                                                          const std::vector<ExprInput>& inputs,
                                                          ValueType result_type) {
  std::vector<bool> used;
  PANTRY_ASSIGN_OR_RETURN(std::unique_ptr<internal::Node> root,
                          internal::Parse(text, inputs, &used));
  const ValueType expression_type = root->type.null ? result_type : root->type.value;
  PANTRY_ASSIGN_OR_RETURN(root, internal::Conform(std::move(root), result_type));
  std::vector<int> used_inputs;
  for (size_t i = 0; i < used.size(); ++i) {
    if (used[i]) used_inputs.push_back(static_cast<int>(i));
  }
  return std::unique_ptr<const Expr>(new Expr(std::move(root), result_type, expression_type,
                                              std::string(text), std::move(used_inputs)));
}

Value Expr::Evaluate(absl::Span<const Value* const> values, Micros now) const {
  internal::EvalContext ctx;
  ctx.values = values;
  ctx.now = now;
  return ToValue(type_, internal::Eval(*root_, ctx));
}

}  // namespace pantry::expr
