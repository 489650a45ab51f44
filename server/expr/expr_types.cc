// The type checker: builds typed nodes and inserts int -> double conversions,
// so that evaluation never has to look at types.
#include "server/expr/expr_types.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "server/common/status.h"

namespace pantry::expr::internal {
namespace {

constexpr Type kInt64{ValueType::kInt64};
constexpr Type kDouble{ValueType::kDouble};
constexpr Type kBool{ValueType::kBool};
constexpr Type kString{ValueType::kString};
constexpr Type kTimestamp{ValueType::kUnixTimestamp};

std::string TypeName(Type t) { return t.null ? "null" : std::string(ValueTypeName(t.value)); }

bool IsList(Type t) { return !t.null && IsListType(t.value); }
bool IsText(Type t) { return Is(t, ValueType::kString) || Is(t, ValueType::kBytes); }

template <typename... P>
std::vector<NodePtr> Kids(P... kids) {
  std::vector<NodePtr> v;
  (v.push_back(std::move(kids)), ...);
  return v;
}

absl::StatusOr<NodePtr> Make(Op op, Type type, int column, std::vector<NodePtr> args) {
  auto n = std::make_unique<Node>();
  n->op = op;
  n->type = type;
  n->column = column;
  n->depth = 0;
  for (const NodePtr& a : args) n->depth = std::max(n->depth, a->depth + 1);
  if (n->depth > kMaxExprDepth) return DepthError(column);
  n->args = std::move(args);
  return n;
}

NodePtr Leaf(int column, Type type, Val v) {
  auto n = std::make_unique<Node>();
  n->type = type;
  n->column = column;
  n->constant = v;
  return n;
}

// `n` as a value of `target`: an integer becomes a double where the target
// is FLOAT or DOUBLE. Conversions do not count as nesting: at most one sits
// on each level.
NodePtr Coerce(NodePtr n, Type target) {
  if (!IsFloat(target) || !IsInt(n->type)) return n;
  if (n->op == Op::kConst) return DoubleConst(n->column, static_cast<double>(n->constant.i));
  auto c = std::make_unique<Node>();
  c->op = Op::kIntToDouble;
  c->type = kDouble;
  c->column = n->column;
  c->depth = n->depth;
  c->args.push_back(std::move(n));
  return c;
}

NodePtr ToDouble(NodePtr n) { return Coerce(std::move(n), kDouble); }

// The common type of two branches: the literal null fits any type, integers
// widen to INT64, numbers with a FLOAT or DOUBLE to DOUBLE, lists of the
// same kind to the wider list.
std::optional<Type> Unify(Type a, Type b) {
  if (a.null) return b;
  if (b.null) return a;
  if (a.value == b.value) return a;
  if (IsInt(a) && IsInt(b)) return kInt64;
  if (IsNumber(a) && IsNumber(b)) return kDouble;
  if (IsWideningOf(a.value, b.value)) return b;
  if (IsWideningOf(b.value, a.value)) return a;
  return std::nullopt;
}

// Edit distance counting a swap of two neighbours as one edit, ignoring case.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  const size_t w = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * w);
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * w + j]; };
  auto same = [&](size_t i, size_t j) {
    return absl::ascii_tolower(a[i]) == absl::ascii_tolower(b[j]);
  };
  for (size_t i = 0; i <= a.size(); ++i) at(i, 0) = i;
  for (size_t j = 0; j <= b.size(); ++j) at(0, j) = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      at(i, j) = std::min(
          {at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (same(i - 1, j - 1) ? 0 : 1)});
      if (i > 1 && j > 1 && same(i - 1, j - 2) && same(i - 2, j - 1)) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(a.size(), b.size());
}

// The candidate closest to `name`, when it is close enough to be a typo.
std::optional<absl::string_view> Closest(absl::string_view name,
                                         const std::vector<absl::string_view>& candidates) {
  std::optional<absl::string_view> best;
  size_t best_distance = std::max<size_t>(1, name.size() / 3) + 1;
  for (absl::string_view c : candidates) {
    const size_t d = EditDistance(name, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

// ---- Functions ----

struct Function;

struct Call {
  const Function* fn;
  int column;
  std::vector<NodePtr> args;
};

using Builder = absl::StatusOr<NodePtr> (*)(Call& call);

struct Function {
  absl::string_view name;
  int min_args;
  int max_args;  // -1: any number
  bool strict;   // a literal null argument makes the call null
  Op op;
  Type result;
  Builder build;
};

absl::Status ArgError(const Call& c, size_t i, absl::string_view expected) {
  return ErrorAt(c.column, c.fn->name, "() argument ", i + 1, " must be ", expected, ", got ",
                 TypeName(c.args[i]->type));
}

absl::StatusOr<NodePtr> Finish(Call& c, Op op, Type type) {
  return Make(op, type, c.column, std::move(c.args));
}

absl::StatusOr<NodePtr> BuildIf(Call& c) {
  if (!c.args[0]->type.null && !Is(c.args[0]->type, ValueType::kBool)) {
    return ArgError(c, 0, "BOOL");
  }
  const std::optional<Type> t = Unify(c.args[1]->type, c.args[2]->type);
  if (!t) {
    return ErrorAt(c.column, "if() branches have different types: ", TypeName(c.args[1]->type),
                   " and ", TypeName(c.args[2]->type));
  }
  for (size_t i = 1; i < 3; ++i) c.args[i] = Coerce(std::move(c.args[i]), *t);
  return Finish(c, Op::kIf, *t);
}

absl::StatusOr<NodePtr> BuildCoalesce(Call& c) {
  Type t{ValueType::kInt64, /*null=*/true};
  for (size_t i = 0; i < c.args.size(); ++i) {
    const std::optional<Type> u = Unify(t, c.args[i]->type);
    if (!u) {
      return ErrorAt(c.column, "coalesce() argument ", i + 1, " is ", TypeName(c.args[i]->type),
                     ", the ones before it are ", TypeName(t));
    }
    t = *u;
  }
  for (NodePtr& a : c.args) a = Coerce(std::move(a), t);
  return Finish(c, Op::kCoalesce, t);
}

absl::StatusOr<NodePtr> BuildIsNull(Call& c) { return Finish(c, Op::kIsNull, kBool); }

absl::StatusOr<NodePtr> BuildAbs(Call& c) {
  if (IsInt(c.args[0]->type)) return Finish(c, Op::kAbsInt, kInt64);
  if (IsFloat(c.args[0]->type)) return Finish(c, Op::kAbsDouble, kDouble);
  return ArgError(c, 0, "a number");
}

// Numbers in, DOUBLE out.
absl::StatusOr<NodePtr> BuildMath(Call& c) {
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (!IsNumber(c.args[i]->type)) return ArgError(c, i, "a number");
    c.args[i] = ToDouble(std::move(c.args[i]));
  }
  return Finish(c, c.fn->op, kDouble);
}

absl::StatusOr<NodePtr> BuildMinMax(Call& c) {
  bool all_int = true;
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (!IsNumber(c.args[i]->type)) return ArgError(c, i, "a number");
    all_int = all_int && IsInt(c.args[i]->type);
  }
  const bool is_min = c.fn->op == Op::kMinInt;
  if (all_int) return Finish(c, is_min ? Op::kMinInt : Op::kMaxInt, kInt64);
  for (NodePtr& a : c.args) a = ToDouble(std::move(a));
  return Finish(c, is_min ? Op::kMinDouble : Op::kMaxDouble, kDouble);
}

absl::StatusOr<NodePtr> BuildInt(Call& c) {
  const Type t = c.args[0]->type;
  if (IsInt(t)) return Finish(c, Op::kPass, kInt64);
  if (IsFloat(t)) return Finish(c, Op::kDoubleToInt, kInt64);
  if (Is(t, ValueType::kBool)) return Finish(c, Op::kBoolToInt, kInt64);
  if (Is(t, ValueType::kString)) return Finish(c, Op::kStringToInt, kInt64);
  return ArgError(c, 0, "a number, BOOL or STRING");
}

absl::StatusOr<NodePtr> BuildDouble(Call& c) {
  const Type t = c.args[0]->type;
  if (IsInt(t)) {
    c.args[0] = ToDouble(std::move(c.args[0]));
    return Finish(c, Op::kPass, kDouble);
  }
  if (IsFloat(t)) return Finish(c, Op::kPass, kDouble);
  if (Is(t, ValueType::kBool)) return Finish(c, Op::kBoolToDouble, kDouble);
  if (Is(t, ValueType::kString)) return Finish(c, Op::kStringToDouble, kDouble);
  return ArgError(c, 0, "a number, BOOL or STRING");
}

// Every argument STRING.
absl::StatusOr<NodePtr> BuildStringFn(Call& c) {
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (!Is(c.args[i]->type, ValueType::kString)) return ArgError(c, i, "STRING");
  }
  return Finish(c, c.fn->op, c.fn->result);
}

absl::StatusOr<NodePtr> BuildLength(Call& c) {
  const Type t = c.args[0]->type;
  if (Is(t, ValueType::kString)) return Finish(c, Op::kLengthString, kInt64);
  if (Is(t, ValueType::kBytes)) return Finish(c, Op::kLengthBytes, kInt64);
  if (IsList(t)) return Finish(c, Op::kLengthList, kInt64);
  return ArgError(c, 0, "STRING, BYTES or a list");
}

absl::StatusOr<NodePtr> BuildSubstr(Call& c) {
  if (!Is(c.args[0]->type, ValueType::kString)) return ArgError(c, 0, "STRING");
  if (c.args.size() == 2) {
    c.args.push_back(IntConst(c.column, std::numeric_limits<int64_t>::max()));
  }
  for (size_t i = 1; i < 3; ++i) {
    if (!IsInt(c.args[i]->type)) return ArgError(c, i, "an integer");
  }
  return Finish(c, Op::kSubstr, kString);
}

// (STRING, STRING) or (BYTES, BYTES).
absl::StatusOr<NodePtr> BuildTextMatch(Call& c) {
  const Type t = c.args[0]->type;
  if (!IsText(t)) {
    const bool lists_too = c.fn->op == Op::kContainsString;
    return ArgError(c, 0, lists_too ? "STRING, BYTES or a list" : "STRING or BYTES");
  }
  if (!Is(c.args[1]->type, t.value)) return ArgError(c, 1, ValueTypeName(t.value));
  return Finish(c, c.fn->op, kBool);
}

bool ElementAccepts(ValueType element, Type needle) {
  if (element == ValueType::kInt32 || element == ValueType::kInt64 ||
      element == ValueType::kFloat || element == ValueType::kDouble) {
    return IsNumber(needle);
  }
  return Is(needle, element);
}

absl::StatusOr<NodePtr> BuildContains(Call& c) {
  const Type t = c.args[0]->type;
  if (!IsList(t)) return BuildTextMatch(c);
  const ValueType element = ElementType(t.value);
  if (!ElementAccepts(element, c.args[1]->type)) {
    return ErrorAt(c.column, "contains() cannot look for ", TypeName(c.args[1]->type), " in ",
                   TypeName(t));
  }
  return Finish(c, Op::kContainsList, kBool);
}

absl::StatusOr<NodePtr> BuildTimeFn(Call& c) {
  if (!Is(c.args[0]->type, ValueType::kUnixTimestamp)) return ArgError(c, 0, "UNIX_TIMESTAMP");
  return Finish(c, c.fn->op, c.fn->result);
}

absl::StatusOr<NodePtr> BuildNow(Call& c) { return Finish(c, Op::kNow, kTimestamp); }

constexpr int kAny = -1;
const std::array<Function, 27> kFunctions = {{
    {"if", 3, 3, false, Op::kIf, {}, BuildIf},
    {"coalesce", 1, kAny, false, Op::kCoalesce, {}, BuildCoalesce},
    {"is_null", 1, 1, false, Op::kIsNull, kBool, BuildIsNull},
    {"abs", 1, 1, true, Op::kAbsInt, {}, BuildAbs},
    {"log", 1, 1, true, Op::kLog, kDouble, BuildMath},
    {"exp", 1, 1, true, Op::kExp, kDouble, BuildMath},
    {"sqrt", 1, 1, true, Op::kSqrt, kDouble, BuildMath},
    {"pow", 2, 2, true, Op::kPow, kDouble, BuildMath},
    {"round", 1, 1, true, Op::kRound, kDouble, BuildMath},
    {"floor", 1, 1, true, Op::kFloor, kDouble, BuildMath},
    {"ceil", 1, 1, true, Op::kCeil, kDouble, BuildMath},
    {"min", 2, kAny, true, Op::kMinInt, {}, BuildMinMax},
    {"max", 2, kAny, true, Op::kMaxInt, {}, BuildMinMax},
    {"int", 1, 1, true, Op::kPass, kInt64, BuildInt},
    {"double", 1, 1, true, Op::kPass, kDouble, BuildDouble},
    {"lower", 1, 1, true, Op::kLower, kString, BuildStringFn},
    {"upper", 1, 1, true, Op::kUpper, kString, BuildStringFn},
    {"length", 1, 1, true, Op::kLengthString, kInt64, BuildLength},
    {"concat", 1, kAny, true, Op::kConcat, kString, BuildStringFn},
    {"substr", 2, 3, true, Op::kSubstr, kString, BuildSubstr},
    {"contains", 2, 2, true, Op::kContainsString, kBool, BuildContains},
    {"starts_with", 2, 2, true, Op::kStartsWith, kBool, BuildTextMatch},
    {"ends_with", 2, 2, true, Op::kEndsWith, kBool, BuildTextMatch},
    {"hour", 1, 1, true, Op::kHour, kInt64, BuildTimeFn},
    {"day_of_week", 1, 1, true, Op::kDayOfWeek, kInt64, BuildTimeFn},
    {"seconds_since", 1, 1, true, Op::kSecondsSince, kDouble, BuildTimeFn},
    {"now", 0, 0, true, Op::kNow, kTimestamp, BuildNow},
}};

absl::Status ArityError(const Function& fn, int column, size_t got) {
  std::string expected;
  if (fn.max_args == kAny) {
    expected = absl::StrCat("at least ", fn.min_args);
  } else if (fn.min_args == fn.max_args) {
    expected = absl::StrCat(fn.min_args);
  } else {
    expected = absl::StrCat(fn.min_args, " or ", fn.max_args);
  }
  return ErrorAt(column, fn.name, "() takes ", expected,
                 fn.max_args == 1 && fn.min_args == 1 ? " argument" : " arguments", ", got ", got);
}

}  // namespace

absl::Status DepthError(int column) {
  return ErrorAt(column, "expression is nested more than ", kMaxExprDepth, " levels deep");
}

NodePtr IntConst(int column, int64_t v) { return Leaf(column, kInt64, Val::Int(v)); }
NodePtr DoubleConst(int column, double v) { return Leaf(column, kDouble, Val::Double(v)); }
NodePtr BoolConst(int column, bool v) { return Leaf(column, kBool, Val::Bool(v)); }
NodePtr NullConst(int column) { return Leaf(column, Type{ValueType::kInt64, true}, Val::Null()); }

NodePtr StringConst(int column, std::string v) {
  NodePtr n = Leaf(column, kString, Val::Null());
  n->text = std::move(v);
  n->constant = Val::Str(n->text);  // the node never moves: the view stays valid
  return n;
}

NodePtr InputNode(int column, int input, ValueType dtype) {
  NodePtr n = Leaf(column, Type{dtype}, Val::Null());
  n->op = Op::kInput;
  n->input = input;
  return n;
}

absl::Status UnknownName(int column, absl::string_view name, const std::vector<ExprInput>& inputs) {
  for (const Function& fn : kFunctions) {
    if (fn.name == name) {
      return ErrorAt(column, "'", name, "' is a function: write ", name, "(...)");
    }
  }
  std::vector<absl::string_view> names;
  for (const ExprInput& in : inputs) names.push_back(in.name);
  const std::optional<absl::string_view> close = Closest(name, names);
  if (close) return ErrorAt(column, "unknown name '", name, "'; did you mean '", *close, "'?");
  return ErrorAt(column, "unknown name '", name, "'");
}

absl::StatusOr<NodePtr> MakeLogic(Op op, int column, NodePtr a, NodePtr b) {
  const absl::string_view symbol = op == Op::kAnd ? "and" : "or";
  for (const NodePtr* n : {&a, &b}) {
    const Type t = (*n)->type;
    if (!t.null && !Is(t, ValueType::kBool)) {
      return ErrorAt(column, "operator '", symbol, "' needs BOOL operands, got ", TypeName(a->type),
                     " and ", TypeName(b->type));
    }
  }
  return Make(op, kBool, column, Kids(std::move(a), std::move(b)));
}

absl::StatusOr<NodePtr> MakeNot(int column, NodePtr a) {
  if (a->type.null) return NullConst(column);
  if (!Is(a->type, ValueType::kBool)) {
    return ErrorAt(column, "operator 'not' needs BOOL, got ", TypeName(a->type));
  }
  return Make(Op::kNot, kBool, column, Kids(std::move(a)));
}

absl::StatusOr<NodePtr> MakeComparison(Cmp cmp, absl::string_view symbol, int column, NodePtr a,
                                       NodePtr b) {
  const Type ta = a->type, tb = b->type;
  if (ta.null || tb.null) {
    return ErrorAt(column,
                   "a comparison with null is always null; use is_null(x) or "
                   "not is_null(x)");
  }
  Op op;
  if (IsInt(ta) && IsInt(tb)) {
    op = Op::kCmpInt;
  } else if (IsNumber(ta) && IsNumber(tb)) {
    op = Op::kCmpDouble;
    a = ToDouble(std::move(a));
    b = ToDouble(std::move(b));
  } else if (ta.value == tb.value && ta.value == ValueType::kUnixTimestamp) {
    op = Op::kCmpInt;
  } else if (ta.value == tb.value && IsText(ta)) {
    op = Op::kCmpString;
  } else if (ta.value == tb.value && ta.value == ValueType::kBool) {
    op = Op::kCmpBool;
  } else {
    return ErrorAt(column, "operator '", symbol, "' cannot compare ", TypeName(ta), " with ",
                   TypeName(tb));
  }
  PANTRY_ASSIGN_OR_RETURN(NodePtr n, Make(op, kBool, column, Kids(std::move(a), std::move(b))));
  n->cmp = cmp;
  return n;
}

namespace {

absl::StatusOr<NodePtr> Numeric(Op int_op, Op double_op, int column, NodePtr a, NodePtr b) {
  if (IsInt(a->type) && IsInt(b->type)) {
    return Make(int_op, kInt64, column, Kids(std::move(a), std::move(b)));
  }
  return Make(double_op, kDouble, column, Kids(ToDouble(std::move(a)), ToDouble(std::move(b))));
}

// `a + b` of strings: one concatenation node for a whole chain.
absl::StatusOr<NodePtr> Concatenate(int column, NodePtr a, NodePtr b) {
  if (a->op == Op::kConcat && a->args.size() < 64) {
    a->depth = std::max(a->depth, b->depth + 1);
    if (a->depth > kMaxExprDepth) return DepthError(column);
    a->args.push_back(std::move(b));
    return a;
  }
  return Make(Op::kConcat, kString, column, Kids(std::move(a), std::move(b)));
}

absl::StatusOr<NodePtr> TimeArithmetic(char op, int column, NodePtr a, NodePtr b) {
  const bool ts_a = Is(a->type, ValueType::kUnixTimestamp);
  const bool ts_b = Is(b->type, ValueType::kUnixTimestamp);
  if (op == '-' && ts_a && ts_b) {
    return Make(Op::kTsDiff, kDouble, column, Kids(std::move(a), std::move(b)));
  }
  if (op == '+' && IsNumber(a->type) && ts_b) std::swap(a, b);
  const Op shift = op == '+' ? Op::kTsAddSeconds : Op::kTsSubSeconds;
  return Make(shift, kTimestamp, column, Kids(std::move(a), ToDouble(std::move(b))));
}

}  // namespace

absl::StatusOr<NodePtr> MakeArithmetic(char op, int column, NodePtr a, NodePtr b) {
  const Type ta = a->type, tb = b->type;
  if (ta.null || tb.null) return NullConst(column);
  const bool numbers = IsNumber(ta) && IsNumber(tb);
  const bool ts_a = Is(ta, ValueType::kUnixTimestamp);
  const bool ts_b = Is(tb, ValueType::kUnixTimestamp);
  switch (op) {
    case '+':
      if (numbers) return Numeric(Op::kAddInt, Op::kAddDouble, column, std::move(a), std::move(b));
      if (Is(ta, ValueType::kString) && Is(tb, ValueType::kString)) {
        return Concatenate(column, std::move(a), std::move(b));
      }
      if ((ts_a && IsNumber(tb)) || (IsNumber(ta) && ts_b)) {
        return TimeArithmetic(op, column, std::move(a), std::move(b));
      }
      break;
    case '-':
      if (numbers) return Numeric(Op::kSubInt, Op::kSubDouble, column, std::move(a), std::move(b));
      if (ts_a && (ts_b || IsNumber(tb))) {
        return TimeArithmetic(op, column, std::move(a), std::move(b));
      }
      break;
    case '*':
      if (numbers) return Numeric(Op::kMulInt, Op::kMulDouble, column, std::move(a), std::move(b));
      break;
    case '/':
      if (numbers) {
        return Make(Op::kDivDouble, kDouble, column,
                    Kids(ToDouble(std::move(a)), ToDouble(std::move(b))));
      }
      break;
    case '%':
      if (IsInt(ta) && IsInt(tb)) {
        return Make(Op::kModInt, kInt64, column, Kids(std::move(a), std::move(b)));
      }
      return ErrorAt(column, "operator '%' needs integers, got ", TypeName(ta), " and ",
                     TypeName(tb));
  }
  return ErrorAt(column, "operator '", std::string(1, op), "' cannot combine ", TypeName(ta),
                 " and ", TypeName(tb));
}

absl::StatusOr<NodePtr> MakeNegation(int column, NodePtr a) {
  const Type t = a->type;
  if (t.null) return NullConst(column);
  if (IsInt(t)) return Make(Op::kNegInt, kInt64, column, Kids(std::move(a)));
  if (IsFloat(t)) {
    if (a->op == Op::kConst) return DoubleConst(column, -a->constant.d);
    return Make(Op::kNegDouble, kDouble, column, Kids(std::move(a)));
  }
  return ErrorAt(column, "operator '-' needs a number, got ", TypeName(t));
}

absl::StatusOr<NodePtr> MakeIndex(int column, NodePtr list, NodePtr index) {
  const Type t = list->type;
  if (t.null || index->type.null) return NullConst(column);
  if (!IsList(t)) return ErrorAt(column, "only lists take [index], not ", TypeName(t));
  if (!IsInt(index->type)) {
    return ErrorAt(column, "a list index must be an integer, got ", TypeName(index->type));
  }
  return Make(Op::kIndex, Type{ElementType(t.value)}, column,
              Kids(std::move(list), std::move(index)));
}

absl::StatusOr<NodePtr> MakeCall(absl::string_view name, int column, std::vector<NodePtr> args) {
  const Function* fn = nullptr;
  for (const Function& f : kFunctions) {
    if (f.name == name) fn = &f;
  }
  if (fn == nullptr) {
    std::vector<absl::string_view> names;
    for (const Function& f : kFunctions) names.push_back(f.name);
    const std::optional<absl::string_view> close = Closest(name, names);
    if (close) {
      return ErrorAt(column, "unknown function '", name, "'; did you mean ", *close, "()?");
    }
    return ErrorAt(column, "unknown function '", name, "'");
  }
  const int n = static_cast<int>(args.size());
  if (n < fn->min_args || (fn->max_args != kAny && n > fn->max_args)) {
    return ArityError(*fn, column, args.size());
  }
  if (fn->strict) {
    for (const NodePtr& a : args) {
      if (a->type.null) return NullConst(column);
    }
  }
  Call call{fn, column, std::move(args)};
  return fn->build(call);
}

absl::StatusOr<NodePtr> Conform(NodePtr root, ValueType result_type) {
  const Type t = root->type;
  if (t.null || IsWideningOf(t.value, result_type)) return root;
  if (IsInt(t) && result_type == ValueType::kDouble) return ToDouble(std::move(root));
  std::string hint;
  if (IsFloat(t) && (result_type == ValueType::kInt64 || result_type == ValueType::kInt32)) {
    hint = "; int(x) truncates a number to INT64";
  } else if (IsInt(t) && result_type == ValueType::kInt32) {
    hint = "; arithmetic gives INT64: declare the feature INT64";
  } else if (IsInt(t) && result_type == ValueType::kFloat) {
    hint = "; declare the feature DOUBLE";
  }
  return ErrorAt(1, "the expression is ", TypeName(t), " but the feature is declared ",
                 ValueTypeName(result_type), ", and ", TypeName(t), " does not convert to ",
                 ValueTypeName(result_type), " without loss", hint);
}

}  // namespace pantry::expr::internal
