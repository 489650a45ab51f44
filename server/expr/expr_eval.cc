// Evaluation of the typed expression tree. The type checker has already made
// every operand the kind the node expects, so nodes only look at nulls and
// domain errors.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "server/expr/expr_internal.h"

namespace pantry::expr::internal {
namespace {

constexpr int64_t kMicrosPerHour = 3600 * kMicrosPerSecond;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;
// 2^63 as a double: the first value past the int64 range.
constexpr double kTwo63 = 9223372036854775808.0;

Val Finite(double d) { return std::isfinite(d) ? Val::Double(d) : Val::Null(); }

// Division and remainder rounding toward negative infinity; `b` > 0.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }
int64_t FloorMod(int64_t a, int64_t b) {
  const int64_t r = a % b;
  return r < 0 ? r + b : r;
}

// Seconds (finite) as whole microseconds; false when out of the int64 range.
bool SecondsToMicros(double seconds, int64_t* micros) {
  const double m = std::round(seconds * static_cast<double>(kMicrosPerSecond));
  if (!(m >= -kTwo63 && m < kTwo63)) return false;
  *micros = static_cast<int64_t>(m);
  return true;
}

Val SecondsBetween(int64_t later, int64_t earlier) {
  int64_t diff;
  if (__builtin_sub_overflow(later, earlier, &diff)) return Val::Null();
  return Val::Double(static_cast<double>(diff) / static_cast<double>(kMicrosPerSecond));
}

template <typename T>
bool Compare(Cmp cmp, const T& a, const T& b) {
  switch (cmp) {
    case Cmp::kEq: return a == b;
    case Cmp::kNe: return a != b;
    case Cmp::kLt: return a < b;
    case Cmp::kLe: return a <= b;
    case Cmp::kGt: return a > b;
    case Cmp::kGe: return a >= b;
  }
  return false;
}

// Skips `n` code points of `s` from byte `pos`; a code point is a byte and the
// continuation bytes after it.
size_t Advance(absl::string_view s, size_t pos, int64_t n) {
  while (n > 0 && pos < s.size()) {
    ++pos;
    while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
    --n;
  }
  return pos;
}

Val Substr(absl::string_view s, int64_t start, int64_t len) {
  if (start < 0) start = 0;
  if (len <= 0) return Val::Str(absl::string_view());
  const size_t begin = Advance(s, 0, start);
  const size_t end = Advance(s, begin, len);
  return Val::Str(s.substr(begin, end - begin));
}

Val Lower(absl::string_view s, EvalContext& ctx, bool upper) {
  std::string& out = ctx.arena.emplace_front(s);
  if (upper) {
    absl::AsciiStrToUpper(&out);
  } else {
    absl::AsciiStrToLower(&out);
  }
  return Val::Str(out);
}

// The scalar reading of input `n.input`, or null when it is absent or not of
// a type that reads as the input's dtype.
Val LoadInput(const Node& n, const EvalContext& ctx) {
  if (n.input < 0 || static_cast<size_t>(n.input) >= ctx.values.size()) return Val::Null();
  const Value* v = ctx.values[n.input];
  if (v == nullptr || v->is_null()) return Val::Null();
  const Value::Payload& p = v->payload();
  switch (n.type.value) {
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kUnixTimestamp:
      if (const auto* x = std::get_if<int64_t>(&p)) return Val::Int(*x);
      if (const auto* x = std::get_if<int32_t>(&p)) return Val::Int(*x);
      return Val::Null();
    case ValueType::kFloat:
    case ValueType::kDouble:
      if (const auto* x = std::get_if<double>(&p)) return Finite(*x);
      if (const auto* x = std::get_if<float>(&p)) return Finite(*x);
      return Val::Null();
    case ValueType::kBool:
      if (const auto* x = std::get_if<bool>(&p)) return Val::Bool(*x);
      return Val::Null();
    case ValueType::kString:
    case ValueType::kBytes:
      if (const auto* x = std::get_if<std::string>(&p)) return Val::Str(*x);
      return Val::Null();
    default:
      if (IsWideningOf(v->type(), n.type.value)) return Val::List(v);
      return Val::Null();
  }
}

template <typename T>
Val ElementVal(const T& e) {
  if constexpr (std::is_same_v<T, std::string>) {
    return Val::Str(e);
  } else if constexpr (std::is_same_v<T, bool>) {
    return Val::Bool(e);
  } else if constexpr (std::is_floating_point_v<T>) {
    return Finite(e);
  } else {
    return Val::Int(e);
  }
}

template <typename F>
auto VisitList(const Value& list, F&& f) {
  return std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, std::vector<int32_t>> ||
                      std::is_same_v<P, std::vector<int64_t>> ||
                      std::is_same_v<P, std::vector<float>> ||
                      std::is_same_v<P, std::vector<double>> ||
                      std::is_same_v<P, std::vector<bool>> ||
                      std::is_same_v<P, std::vector<std::string>>) {
          return f(p);
        } else {
          return f(std::vector<int64_t>());  // not a list: behaves as empty
        }
      },
      list.payload());
}

Val ListLength(const Value& list) {
  return VisitList(list, [](const auto& v) { return Val::Int(static_cast<int64_t>(v.size())); });
}

Val ListIndex(const Value& list, int64_t index) {
  return VisitList(list, [index](const auto& v) {
    const int64_t size = static_cast<int64_t>(v.size());
    const int64_t i = index < 0 ? index + size : index;
    if (i < 0 || i >= size) return Val::Null();
    return ElementVal(v[static_cast<size_t>(i)]);
  });
}

// Whether `list` holds `needle`; `needle_type` is its static type. Numbers
// compare as numbers across int and double.
Val ListContains(const Value& list, Val needle, Type needle_type) {
  return VisitList(list, [&](const auto& v) {
    using E = typename std::decay_t<decltype(v)>::value_type;
    for (const auto& e : v) {
      if constexpr (std::is_same_v<E, std::string>) {
        if (absl::string_view(e) == needle.s) return Val::Bool(true);
      } else if constexpr (std::is_same_v<E, bool>) {
        if (e == needle.b) return Val::Bool(true);
      } else if constexpr (std::is_floating_point_v<E>) {
        const double x = IsInt(needle_type) ? static_cast<double>(needle.i) : needle.d;
        if (static_cast<double>(e) == x) return Val::Bool(true);
      } else {
        if (IsInt(needle_type) || Is(needle_type, ValueType::kUnixTimestamp)) {
          if (static_cast<int64_t>(e) == needle.i) return Val::Bool(true);
        } else if (static_cast<double>(e) == needle.d) {
          return Val::Bool(true);
        }
      }
    }
    return Val::Bool(false);
  });
}

Val DoubleToInt(double d) {
  const double t = std::trunc(d);
  if (!(t >= -kTwo63 && t < kTwo63)) return Val::Null();
  return Val::Int(static_cast<int64_t>(t));
}

Val Unary(const Node& n, Val a, EvalContext& ctx) {
  switch (n.op) {
    case Op::kPass: return a;
    case Op::kIntToDouble: return Val::Double(static_cast<double>(a.i));
    case Op::kNegInt:
    case Op::kAbsInt: {
      if (n.op == Op::kAbsInt && a.i >= 0) return a;
      int64_t r;
      if (__builtin_sub_overflow(int64_t{0}, a.i, &r)) return Val::Null();
      return Val::Int(r);
    }
    case Op::kNegDouble: return Val::Double(-a.d);
    case Op::kAbsDouble: return Val::Double(std::fabs(a.d));
    case Op::kLog: return a.d > 0 ? Finite(std::log(a.d)) : Val::Null();
    case Op::kExp: return Finite(std::exp(a.d));
    case Op::kSqrt: return a.d >= 0 ? Finite(std::sqrt(a.d)) : Val::Null();
    case Op::kRound: return Finite(std::round(a.d));
    case Op::kFloor: return Finite(std::floor(a.d));
    case Op::kCeil: return Finite(std::ceil(a.d));
    case Op::kDoubleToInt: return DoubleToInt(a.d);
    case Op::kBoolToInt: return Val::Int(a.b ? 1 : 0);
    case Op::kBoolToDouble: return Val::Double(a.b ? 1.0 : 0.0);
    case Op::kStringToInt: {
      int64_t r;
      return absl::SimpleAtoi(a.s, &r) ? Val::Int(r) : Val::Null();
    }
    case Op::kStringToDouble: {
      double r;
      return absl::SimpleAtod(a.s, &r) ? Finite(r) : Val::Null();
    }
    case Op::kLower: return Lower(a.s, ctx, /*upper=*/false);
    case Op::kUpper: return Lower(a.s, ctx, /*upper=*/true);
    case Op::kLengthString: return Val::Int(CodePoints(a.s));
    case Op::kLengthBytes: return Val::Int(static_cast<int64_t>(a.s.size()));
    case Op::kLengthList: return ListLength(*a.list);
    case Op::kHour: return Val::Int(FloorMod(a.i, kMicrosPerDay) / kMicrosPerHour);
    // 1970-01-01 was a Thursday, ISO day 4.
    case Op::kDayOfWeek: return Val::Int(FloorMod(FloorDiv(a.i, kMicrosPerDay) + 3, 7) + 1);
    case Op::kSecondsSince: return SecondsBetween(ctx.now, a.i);
    default: return Val::Null();
  }
}

Val IntArith(Op op, int64_t a, int64_t b) {
  int64_t r = 0;
  bool overflow = false;
  switch (op) {
    case Op::kAddInt: overflow = __builtin_add_overflow(a, b, &r); break;
    case Op::kSubInt: overflow = __builtin_sub_overflow(a, b, &r); break;
    case Op::kMulInt: overflow = __builtin_mul_overflow(a, b, &r); break;
    case Op::kModInt:
      if (b == 0) return Val::Null();
      r = b == -1 ? 0 : a % b;  // INT64_MIN % -1 traps in hardware
      break;
    default: return Val::Null();
  }
  return overflow ? Val::Null() : Val::Int(r);
}

Val TsShift(int64_t ts, double seconds, bool add) {
  int64_t micros, r;
  if (!SecondsToMicros(seconds, &micros)) return Val::Null();
  const bool overflow =
      add ? __builtin_add_overflow(ts, micros, &r) : __builtin_sub_overflow(ts, micros, &r);
  return overflow ? Val::Null() : Val::Int(r);
}

Val Binary(const Node& n, Val a, Val b) {
  switch (n.op) {
    case Op::kAddInt:
    case Op::kSubInt:
    case Op::kMulInt:
    case Op::kModInt: return IntArith(n.op, a.i, b.i);
    case Op::kAddDouble: return Finite(a.d + b.d);
    case Op::kSubDouble: return Finite(a.d - b.d);
    case Op::kMulDouble: return Finite(a.d * b.d);
    case Op::kDivDouble: return b.d == 0 ? Val::Null() : Finite(a.d / b.d);
    case Op::kPow: return Finite(std::pow(a.d, b.d));
    case Op::kTsDiff: return SecondsBetween(a.i, b.i);
    case Op::kTsAddSeconds: return TsShift(a.i, b.d, /*add=*/true);
    case Op::kTsSubSeconds: return TsShift(a.i, b.d, /*add=*/false);
    case Op::kCmpInt: return Val::Bool(Compare(n.cmp, a.i, b.i));
    case Op::kCmpDouble: return Val::Bool(Compare(n.cmp, a.d, b.d));
    case Op::kCmpBool: return Val::Bool(Compare(n.cmp, a.b, b.b));
    case Op::kCmpString: return Val::Bool(Compare(n.cmp, a.s, b.s));
    case Op::kContainsString: return Val::Bool(absl::StrContains(a.s, b.s));
    case Op::kStartsWith: return Val::Bool(absl::StartsWith(a.s, b.s));
    case Op::kEndsWith: return Val::Bool(absl::EndsWith(a.s, b.s));
    case Op::kContainsList: return ListContains(*a.list, b, n.args[1]->type);
    case Op::kIndex: return ListIndex(*a.list, b.i);
    default: return Val::Null();
  }
}

// Operators and functions where a null argument makes the result null.
Val EvalStrict(const Node& n, EvalContext& ctx) {
  const Val a = Eval(*n.args[0], ctx);
  if (a.null) return a;
  if (n.args.size() == 1) return Unary(n, a, ctx);
  const Val b = Eval(*n.args[1], ctx);
  if (b.null) return b;
  if (n.args.size() == 2) return Binary(n, a, b);
  const Val c = Eval(*n.args[2], ctx);
  if (c.null) return c;
  return Substr(a.s, b.i, c.i);  // the only three-argument node
}

// SQL's three-valued logic: false decides `and`, true decides `or`.
Val Logic(const Node& n, EvalContext& ctx) {
  const bool decisive = n.op == Op::kOr;
  const Val a = Eval(*n.args[0], ctx);
  if (!a.null && a.b == decisive) return a;
  const Val b = Eval(*n.args[1], ctx);
  if (!b.null && b.b == decisive) return b;
  if (a.null || b.null) return Val::Null();
  return Val::Bool(!decisive);
}

Val MinMax(const Node& n, EvalContext& ctx) {
  const bool is_int = n.op == Op::kMinInt || n.op == Op::kMaxInt;
  const bool is_min = n.op == Op::kMinInt || n.op == Op::kMinDouble;
  Val best = Val::Null();
  for (const auto& arg : n.args) {
    const Val v = Eval(*arg, ctx);
    if (v.null) return v;
    const bool better = best.null || (is_int ? (is_min ? v.i < best.i : v.i > best.i)
                                             : (is_min ? v.d < best.d : v.d > best.d));
    if (better) best = v;
  }
  return best;
}

Val Concat(const Node& n, EvalContext& ctx) {
  // Views stay valid while the pieces are joined: their owners are inputs,
  // literals or arena strings that never move.
  constexpr size_t kInline = 8;
  absl::string_view inline_parts[kInline];
  std::vector<absl::string_view> many;
  absl::string_view* parts = inline_parts;
  if (n.args.size() > kInline) {
    many.resize(n.args.size());
    parts = many.data();
  }
  size_t total = 0;
  for (size_t i = 0; i < n.args.size(); ++i) {
    const Val v = Eval(*n.args[i], ctx);
    if (v.null) return v;
    parts[i] = v.s;
    total += v.s.size();
  }
  std::string& out = ctx.arena.emplace_front();
  out.reserve(total);
  for (size_t i = 0; i < n.args.size(); ++i) out.append(parts[i].data(), parts[i].size());
  return Val::Str(out);
}

}  // namespace

int64_t CodePoints(absl::string_view s) {
  int64_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 || i == 0) ++n;
  }
  return n;
}

Val Eval(const Node& n, EvalContext& ctx) {
  switch (n.op) {
    case Op::kConst: return n.constant;
    case Op::kInput: return LoadInput(n, ctx);
    case Op::kNow: return Val::Int(ctx.now);
    case Op::kIf: {
      const Val cond = Eval(*n.args[0], ctx);
      return Eval(*n.args[!cond.null && cond.b ? 1 : 2], ctx);
    }
    case Op::kCoalesce:
      for (const auto& arg : n.args) {
        const Val v = Eval(*arg, ctx);
        if (!v.null) return v;
      }
      return Val::Null();
    case Op::kIsNull: return Val::Bool(Eval(*n.args[0], ctx).null);
    case Op::kAnd:
    case Op::kOr: return Logic(n, ctx);
    case Op::kNot: {
      const Val a = Eval(*n.args[0], ctx);
      return a.null ? a : Val::Bool(!a.b);
    }
    case Op::kMinInt:
    case Op::kMaxInt:
    case Op::kMinDouble:
    case Op::kMaxDouble: return MinMax(n, ctx);
    case Op::kConcat: return Concat(n, ctx);
    default: return EvalStrict(n, ctx);
  }
}

}  // namespace pantry::expr::internal
