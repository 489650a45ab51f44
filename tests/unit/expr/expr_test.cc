#include "server/expr/expr.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/time.h"
#include "server/value/value.h"

namespace pantry {

void PrintTo(const Value& v, std::ostream* os) {
  *os << ValueTypeName(v.type()) << " " << v.DebugString();
}

namespace expr {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

Micros At(absl::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

// The inputs every test compiles against, and one row of values for them.
struct Row {
  std::vector<ExprInput> inputs;
  std::vector<Value> values;

  void Add(std::string name, Value v) {
    inputs.push_back({std::move(name), v.type()});
    values.push_back(std::move(v));
  }
  std::vector<const Value*> Pointers() const {
    std::vector<const Value*> p;
    for (const Value& v : values) p.push_back(&v);
    return p;
  }
};

const Micros kNow = At("2024-03-10T15:30:00Z");  // a Sunday

Row StandardRow() {
  Row r;
  r.Add("i32", Value::Int32(7));
  r.Add("i64", Value::Int64(10));
  r.Add("f32", Value::Float(1.5f));
  r.Add("d", Value::Double(2.5));
  r.Add("b", Value::Bool(true));
  r.Add("f", Value::Bool(false));
  r.Add("s", Value::String("Hello"));
  r.Add("u", Value::String("h\xC3\xA9llo w\xC3\xB6rld"));  // "héllo wörld"
  r.Add("by", Value::Bytes(std::string("\x01\x02\x03", 3)));
  r.Add("ts", Value::UnixTimestamp(At("2024-03-10T14:30:00Z")));
  r.Add("il", Value::Int64List({10, 20, 30}));
  r.Add("i32l", Value::Int32List({1, 2}));
  r.Add("fl", Value::FloatList({0.5f, 1.5f}));
  r.Add("dl", Value::DoubleList({0.25, 4.0}));
  r.Add("bl", Value::BoolList({true, false}));
  r.Add("sl", Value::StringList({"a", "b\xC3\xA9"}));
  r.Add("tl", Value::UnixTimestampList({At("2024-01-01T00:00:00Z")}));
  r.Add("empty", Value::Int64List({}));
  r.Add("user.age", Value::Int64(42));
  r.Add("ni", Value::Null(ValueType::kInt64));
  r.Add("nd", Value::Null(ValueType::kDouble));
  r.Add("nb", Value::Null(ValueType::kBool));
  r.Add("ns", Value::Null(ValueType::kString));
  r.Add("nts", Value::Null(ValueType::kUnixTimestamp));
  r.Add("nl", Value::Null(ValueType::kInt64List));
  return r;
}

const Row& Standard() {
  static const Row* row = new Row(StandardRow());
  return *row;
}

absl::StatusOr<std::unique_ptr<const Expr>> CompileStd(absl::string_view text, ValueType type) {
  return Expr::Compile(text, Standard().inputs, type);
}

// Compiles `text` declared `type` against the standard inputs and evaluates
// it on the standard row.
Value Eval(absl::string_view text, ValueType type) {
  auto e = CompileStd(text, type);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status();
  if (!e.ok()) return Value::Null(type);
  const std::vector<const Value*> values = Standard().Pointers();
  return (*e)->Evaluate(values, kNow);
}

Value I(absl::string_view text) { return Eval(text, ValueType::kInt64); }
Value D(absl::string_view text) { return Eval(text, ValueType::kDouble); }
Value B(absl::string_view text) { return Eval(text, ValueType::kBool); }
Value S(absl::string_view text) { return Eval(text, ValueType::kString); }
Value T(absl::string_view text) { return Eval(text, ValueType::kUnixTimestamp); }

double Dbl(const Value& v) { return v.is_null() ? std::nan("") : v.get<double>(); }

// The compile error message for `text` declared `type`.
std::string Error(absl::string_view text, ValueType type = ValueType::kDouble) {
  auto e = CompileStd(text, type);
  if (e.ok()) return "compiled";
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(e.status().message());
}

const Value kNullI = Value::Null(ValueType::kInt64);
const Value kNullD = Value::Null(ValueType::kDouble);
const Value kNullB = Value::Null(ValueType::kBool);
const Value kNullS = Value::Null(ValueType::kString);

// ---- Literals and names ----

TEST(Expr, LiteralsHaveTheirTypes) {
  EXPECT_EQ(I("42"), Value::Int64(42));
  EXPECT_EQ(I("-9223372036854775808"), Value::Int64(kInt64Min));
  EXPECT_EQ(D("1.25"), Value::Double(1.25));
  EXPECT_EQ(D("2e3"), Value::Double(2000));
  EXPECT_EQ(D("1.5E-1"), Value::Double(0.15));
  EXPECT_EQ(B("true"), Value::Bool(true));
  EXPECT_EQ(B("false"), Value::Bool(false));
  EXPECT_EQ(I("null"), kNullI);
  EXPECT_EQ(S("null"), kNullS);
}

TEST(Expr, StringLiteralsTakeEitherQuoteAndEscapes) {
  EXPECT_EQ(S("'it\\'s'"), Value::String("it's"));
  EXPECT_EQ(S("\"say \\\"hi\\\"\""), Value::String("say \"hi\""));
  EXPECT_EQ(S("'a\\nb\\tc\\\\'"), Value::String("a\nb\tc\\"));
  EXPECT_EQ(S("'caf\\u00e9'"), Value::String("caf\xC3\xA9"));
  EXPECT_EQ(S("'\"'"), Value::String("\""));
}

TEST(Expr, IntegerLiteralOutOfRangeIsAnError) {
  EXPECT_THAT(Error("9223372036854775808", ValueType::kInt64),
              StartsWith("column 1: integer 9223372036854775808 is out of the INT64 range"));
  EXPECT_THAT(Error("1e400"), StartsWith("column 1: number 1e400 is out of the DOUBLE range"));
}

TEST(Expr, InputsReadTheirValues) {
  EXPECT_EQ(I("i64"), Value::Int64(10));
  EXPECT_EQ(Eval("i32", ValueType::kInt32), Value::Int32(7));
  EXPECT_EQ(Eval("f32", ValueType::kFloat), Value::Float(1.5f));
  EXPECT_EQ(S("s"), Value::String("Hello"));
  EXPECT_EQ(Eval("by", ValueType::kBytes), Value::Bytes(std::string("\x01\x02\x03", 3)));
  EXPECT_EQ(T("ts"), Value::UnixTimestamp(At("2024-03-10T14:30:00Z")));
  EXPECT_EQ(Eval("il", ValueType::kInt64List), Value::Int64List({10, 20, 30}));
  EXPECT_EQ(Eval("sl", ValueType::kStringList), Value::StringList({"a", "b\xC3\xA9"}));
}

TEST(Expr, ViewFeatureNamesHaveOneDot) {
  EXPECT_EQ(I("user.age + 1"), Value::Int64(43));
  EXPECT_THAT(Error("user.age.x"), StartsWith("column 9: unexpected character '.'"));
}

TEST(Expr, UnknownNameSuggestsTheClosestInput) {
  EXPECT_EQ(Error("i46 + 1"), "column 1: unknown name 'i46'; did you mean 'i64'?");
  EXPECT_EQ(Error("1 + user.aeg"), "column 5: unknown name 'user.aeg'; did you mean 'user.age'?");
  EXPECT_EQ(Error("completely_different"), "column 1: unknown name 'completely_different'");
  EXPECT_THAT(Error("now + 1"), StartsWith("column 1: 'now' is a function"));
}

TEST(Expr, UsedInputsAreAscendingAndUnique) {
  const std::vector<ExprInput> inputs = {{"a", ValueType::kInt64},
                                         {"b", ValueType::kInt64},
                                         {"c", ValueType::kInt64},
                                         {"d", ValueType::kInt64}};
  auto e = Expr::Compile("d + a * d - a", inputs, ValueType::kInt64);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->used_inputs(), (std::vector<int>{0, 3}));
  auto none = Expr::Compile("1", inputs, ValueType::kInt64);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE((*none)->used_inputs().empty());
}

TEST(Expr, OnlyUsedInputsAreRead) {
  const std::vector<ExprInput> inputs = {{"a", ValueType::kInt64}, {"b", ValueType::kInt64}};
  auto e = Expr::Compile("b * 2", inputs, ValueType::kInt64);
  ASSERT_TRUE(e.ok());
  const Value b = Value::Int64(4);
  const std::vector<const Value*> values = {nullptr, &b};
  EXPECT_EQ((*e)->Evaluate(values, 0), Value::Int64(8));
}

TEST(Expr, MissingOrMistypedValuesReadAsNull) {
  const std::vector<ExprInput> inputs = {{"a", ValueType::kInt64}, {"s", ValueType::kString}};
  auto e = Expr::Compile("coalesce(a, -1)", inputs, ValueType::kInt64);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->Evaluate({}, 0), Value::Int64(-1));  // span too short
  const Value* null_ptr = nullptr;
  EXPECT_EQ((*e)->Evaluate(absl::MakeConstSpan(&null_ptr, 1), 0), Value::Int64(-1));
  const Value wrong = Value::String("7");
  const Value* wrong_ptr = &wrong;
  EXPECT_EQ((*e)->Evaluate(absl::MakeConstSpan(&wrong_ptr, 1), 0), Value::Int64(-1));
  const Value narrow = Value::Int32(5);  // a value that widens to the input's dtype
  const Value* narrow_ptr = &narrow;
  EXPECT_EQ((*e)->Evaluate(absl::MakeConstSpan(&narrow_ptr, 1), 0), Value::Int64(5));
}

// ---- Arithmetic ----

TEST(Expr, IntegerArithmeticIsInt64) {
  EXPECT_EQ(I("i32 + i64"), Value::Int64(17));
  EXPECT_EQ(I("i64 - 13"), Value::Int64(-3));
  EXPECT_EQ(I("i32 * i64"), Value::Int64(70));
  EXPECT_EQ(I("i64 % 4"), Value::Int64(2));
  EXPECT_EQ(I("-7 % 3"), Value::Int64(-1));  // the sign of the dividend
  EXPECT_EQ(I("-i64"), Value::Int64(-10));
}

TEST(Expr, MixedArithmeticIsDouble) {
  EXPECT_EQ(D("i64 + d"), Value::Double(12.5));
  EXPECT_EQ(D("f32 * 2"), Value::Double(3.0));
  EXPECT_EQ(D("d - i32"), Value::Double(-4.5));
  EXPECT_EQ(D("-d"), Value::Double(-2.5));
  EXPECT_THAT(Error("i64 + d", ValueType::kInt64),
              StartsWith("column 1: the expression is DOUBLE"));
}

TEST(Expr, DivisionAlwaysGivesDouble) {
  EXPECT_EQ(D("7 / 2"), Value::Double(3.5));
  EXPECT_EQ(D("i64 / 4"), Value::Double(2.5));
  EXPECT_THAT(Error("7 / 2", ValueType::kInt64), HasSubstr("int(x) truncates"));
}

TEST(Expr, DivisionByZeroIsNull) {
  EXPECT_EQ(D("1 / 0"), kNullD);
  EXPECT_EQ(D("1.5 / 0.0"), kNullD);
  EXPECT_EQ(D("0 / 0"), kNullD);
  EXPECT_EQ(I("1 % 0"), kNullI);
  EXPECT_EQ(I("i64 % (i64 - 10)"), kNullI);
}

TEST(Expr, ModuloNeedsIntegers) {
  EXPECT_EQ(Error("d % 2"), "column 3: operator '%' needs integers, got DOUBLE and INT64");
}

TEST(Expr, IntegerOverflowIsNull) {
  EXPECT_EQ(I("9223372036854775807 + 1"), kNullI);
  EXPECT_EQ(I("-9223372036854775808 - 1"), kNullI);
  EXPECT_EQ(I("4611686018427387904 * 2"), kNullI);
  EXPECT_EQ(I("-(-9223372036854775808)"), kNullI);
  EXPECT_EQ(I("abs(-9223372036854775808)"), kNullI);
  EXPECT_EQ(I("-9223372036854775808 % -1"), Value::Int64(0));
  EXPECT_EQ(I("9223372036854775806 + 1"), Value::Int64(kInt64Max));
}

TEST(Expr, NonFiniteResultsAreNull) {
  EXPECT_EQ(D("1e308 * 10"), kNullD);
  EXPECT_EQ(D("-1e308 - 1e308"), kNullD);
  EXPECT_EQ(D("exp(1000)"), kNullD);
  EXPECT_EQ(D("1e-300 / 1e300 * 0 + 1"), Value::Double(1));  // underflow is fine
}

TEST(Expr, NonFiniteInputsReadAsNull) {
  const std::vector<ExprInput> inputs = {{"x", ValueType::kDouble}};
  auto e = Expr::Compile("is_null(x)", inputs, ValueType::kBool);
  ASSERT_TRUE(e.ok());
  for (double x : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    const Value v = Value::Double(x);
    const Value* p = &v;
    EXPECT_EQ((*e)->Evaluate(absl::MakeConstSpan(&p, 1), 0), Value::Bool(true));
  }
}

TEST(Expr, OperatorsFollowPrecedence) {
  EXPECT_EQ(I("1 + 2 * 3"), Value::Int64(7));
  EXPECT_EQ(I("(1 + 2) * 3"), Value::Int64(9));
  EXPECT_EQ(I("2 - 3 - 4"), Value::Int64(-5));
  EXPECT_EQ(D("10 / 4 * 2"), Value::Double(5));
  EXPECT_EQ(I("-2 * 3"), Value::Int64(-6));
  EXPECT_EQ(I("- -2"), Value::Int64(2));
  EXPECT_EQ(I("7 % 4 * 2"), Value::Int64(6));
  EXPECT_EQ(I("-il[0]"), Value::Int64(-10));
  EXPECT_EQ(B("1 + 1 == 2"), Value::Bool(true));
  EXPECT_EQ(B("not 1 == 2"), Value::Bool(true));
  EXPECT_EQ(B("true or false and false"), Value::Bool(true));
  EXPECT_EQ(B("(true or false) and false"), Value::Bool(false));
  EXPECT_EQ(B("not false and false"), Value::Bool(false));
  EXPECT_EQ(B("not not true"), Value::Bool(true));
}

TEST(Expr, ArithmeticOnWrongTypesIsACompileErrorAtTheOperator) {
  EXPECT_EQ(Error("s + 1"), "column 3: operator '+' cannot combine STRING and INT64");
  EXPECT_EQ(Error("b * 2"), "column 3: operator '*' cannot combine BOOL and INT64");
  EXPECT_EQ(Error("1 - s"), "column 3: operator '-' cannot combine INT64 and STRING");
  EXPECT_EQ(Error("il / 2"), "column 4: operator '/' cannot combine INT64_LIST and INT64");
  EXPECT_EQ(Error("-s"), "column 1: operator '-' needs a number, got STRING");
}

// ---- Comparisons and logic ----

TEST(Expr, ComparesNumbersOfAnyMix) {
  EXPECT_EQ(B("i64 == 10"), Value::Bool(true));
  EXPECT_EQ(B("i64 != 10"), Value::Bool(false));
  EXPECT_EQ(B("i32 < i64"), Value::Bool(true));
  EXPECT_EQ(B("i32 <= 7"), Value::Bool(true));
  EXPECT_EQ(B("d > 2"), Value::Bool(true));
  EXPECT_EQ(B("f32 >= 1.5"), Value::Bool(true));
  EXPECT_EQ(B("2 == 2.0"), Value::Bool(true));
  EXPECT_EQ(B("f32 < d"), Value::Bool(true));
}

TEST(Expr, ComparesStringsBoolsBytesAndTimestamps) {
  EXPECT_EQ(B("s == 'Hello'"), Value::Bool(true));
  EXPECT_EQ(B("'abc' < 'abd'"), Value::Bool(true));
  EXPECT_EQ(B("'b' > 'abc'"), Value::Bool(true));
  EXPECT_EQ(B("b != f"), Value::Bool(true));
  EXPECT_EQ(B("f < b"), Value::Bool(true));
  EXPECT_EQ(B("by == by"), Value::Bool(true));
  EXPECT_EQ(B("ts < now()"), Value::Bool(true));
  EXPECT_EQ(B("ts + 3600 == now()"), Value::Bool(true));
}

TEST(Expr, ComparingIncompatibleTypesIsACompileError) {
  EXPECT_EQ(Error("s == 1"), "column 3: operator '==' cannot compare STRING with INT64");
  EXPECT_EQ(Error("ts > 5"), "column 4: operator '>' cannot compare UNIX_TIMESTAMP with INT64");
  EXPECT_EQ(Error("s <= by"), "column 3: operator '<=' cannot compare STRING with BYTES");
  EXPECT_EQ(Error("il == il"), "column 4: operator '==' cannot compare INT64_LIST with INT64_LIST");
}

TEST(Expr, ComparisonWithNullLiteralIsACompileError) {
  EXPECT_THAT(Error("i64 == null", ValueType::kBool),
              StartsWith("column 5: a comparison with null"));
  EXPECT_THAT(Error("null != s", ValueType::kBool), HasSubstr("use is_null(x)"));
}

TEST(Expr, ComparisonsDoNotChain) {
  EXPECT_EQ(Error("1 < i64 < 20", ValueType::kBool),
            "column 9: comparisons do not chain; join them with 'and'");
}

TEST(Expr, AndOrUseThreeValuedLogic) {
  EXPECT_EQ(B("true and true"), Value::Bool(true));
  EXPECT_EQ(B("true and false"), Value::Bool(false));
  EXPECT_EQ(B("false and nb"), Value::Bool(false));
  EXPECT_EQ(B("nb and false"), Value::Bool(false));
  EXPECT_EQ(B("true and nb"), kNullB);
  EXPECT_EQ(B("nb and nb"), kNullB);
  EXPECT_EQ(B("false or false"), Value::Bool(false));
  EXPECT_EQ(B("true or nb"), Value::Bool(true));
  EXPECT_EQ(B("nb or true"), Value::Bool(true));
  EXPECT_EQ(B("false or nb"), kNullB);
  EXPECT_EQ(B("nb or nb"), kNullB);
  EXPECT_EQ(B("not nb"), kNullB);
  EXPECT_EQ(B("not null"), kNullB);
  EXPECT_EQ(B("false and null"), Value::Bool(false));
  EXPECT_EQ(B("true or null"), Value::Bool(true));
}

TEST(Expr, LogicNeedsBools) {
  EXPECT_EQ(Error("1 and b", ValueType::kBool),
            "column 3: operator 'and' needs BOOL operands, got INT64 and BOOL");
  EXPECT_EQ(Error("b or s", ValueType::kBool),
            "column 3: operator 'or' needs BOOL operands, got BOOL and STRING");
  EXPECT_EQ(Error("not i64", ValueType::kBool), "column 1: operator 'not' needs BOOL, got INT64");
}

// ---- Nulls ----

TEST(Expr, NullPropagatesThroughOperatorsAndFunctions) {
  EXPECT_EQ(I("ni + 1"), kNullI);
  EXPECT_EQ(I("1 - ni"), kNullI);
  EXPECT_EQ(D("nd * 2"), kNullD);
  EXPECT_EQ(D("1 / nd"), kNullD);
  EXPECT_EQ(I("ni % 2"), kNullI);
  EXPECT_EQ(I("-ni"), kNullI);
  EXPECT_EQ(B("ni < 1"), kNullB);
  EXPECT_EQ(B("ns == 'a'"), kNullB);
  EXPECT_EQ(S("ns + 'a'"), kNullS);
  EXPECT_EQ(I("nl[0]"), kNullI);
  EXPECT_EQ(I("il[ni]"), kNullI);
  EXPECT_EQ(D("nts - ts"), kNullD);
  EXPECT_EQ(T("nts + 1"), Value::Null(ValueType::kUnixTimestamp));
  for (absl::string_view f : {"abs(nd)", "log(nd)", "exp(nd)", "sqrt(nd)", "pow(nd, 2)",
                              "pow(2, nd)", "round(nd)", "floor(nd)", "ceil(nd)", "double(ni)",
                              "min(1, nd)", "max(nd, 1, 2)", "seconds_since(nts)"}) {
    EXPECT_EQ(D(f), kNullD) << f;
  }
  for (absl::string_view f : {"abs(ni)", "int(nd)", "length(ns)", "length(nl)", "hour(nts)",
                              "day_of_week(nts)", "min(ni, 3)"}) {
    EXPECT_EQ(I(f), kNullI) << f;
  }
  for (absl::string_view f : {"lower(ns)", "upper(ns)", "concat('a', ns)", "substr(ns, 0, 1)",
                              "substr(s, ni, 1)", "substr(s, 0, ni)"}) {
    EXPECT_EQ(S(f), kNullS) << f;
  }
  for (absl::string_view f : {"contains(ns, 'a')", "contains(s, ns)", "starts_with(ns, 'a')",
                              "ends_with(s, ns)", "contains(nl, 1)", "contains(il, ni)"}) {
    EXPECT_EQ(B(f), kNullB) << f;
  }
}

TEST(Expr, NullLiteralMakesAnOperatorOrFunctionNull) {
  EXPECT_EQ(I("null + 1"), kNullI);
  EXPECT_EQ(D("log(null)"), kNullD);
  EXPECT_EQ(S("upper(null)"), kNullS);
  EXPECT_EQ(I("il[null]"), kNullI);
  EXPECT_EQ(I("-null"), kNullI);
}

TEST(Expr, IsNullIsNeverNull) {
  EXPECT_EQ(B("is_null(ni)"), Value::Bool(true));
  EXPECT_EQ(B("is_null(i64)"), Value::Bool(false));
  EXPECT_EQ(B("is_null(null)"), Value::Bool(true));
  EXPECT_EQ(B("is_null(1 / 0)"), Value::Bool(true));
  EXPECT_EQ(B("not is_null(nl)"), Value::Bool(false));
}

TEST(Expr, IfTakesTheElseBranchWhenTheConditionIsNull) {
  EXPECT_EQ(I("if(b, 1, 2)"), Value::Int64(1));
  EXPECT_EQ(I("if(f, 1, 2)"), Value::Int64(2));
  EXPECT_EQ(I("if(nb, 1, 2)"), Value::Int64(2));
  EXPECT_EQ(I("if(null, 1, 2)"), Value::Int64(2));
  EXPECT_EQ(I("if(b, ni, 2)"), kNullI);
  EXPECT_EQ(I("if(b, 1, null)"), Value::Int64(1));
  EXPECT_EQ(I("if(b, 1, int(1 / 0))"), Value::Int64(1));
}

TEST(Expr, IfBranchesUnifyToACommonType) {
  EXPECT_EQ(D("if(b, 1, 2.5)"), Value::Double(1.0));
  EXPECT_EQ(D("if(f, i32, f32)"), Value::Double(1.5));
  EXPECT_EQ(I("if(f, i32, i64)"), Value::Int64(10));
  EXPECT_EQ(S("if(b, s, 'x')"), Value::String("Hello"));
  EXPECT_EQ(Error("if(b, 1, 2.5)", ValueType::kInt64).substr(0, 30),
            "column 1: the expression is DO");
  EXPECT_EQ(Error("if(b, s, 1)", ValueType::kString),
            "column 1: if() branches have different types: STRING and INT64");
  EXPECT_EQ(Error("if(1, 2, 3)", ValueType::kInt64),
            "column 1: if() argument 1 must be BOOL, got INT64");
}

TEST(Expr, CoalesceGivesTheFirstNonNull) {
  EXPECT_EQ(I("coalesce(ni, 3, 4)"), Value::Int64(3));
  EXPECT_EQ(I("coalesce(i64, 3)"), Value::Int64(10));
  EXPECT_EQ(I("coalesce(ni, ni)"), kNullI);
  EXPECT_EQ(I("coalesce(null, ni, int(1 / 0), 5)"), Value::Int64(5));
  EXPECT_EQ(D("coalesce(nd, i64)"), Value::Double(10));
  EXPECT_EQ(S("coalesce(ns, 'none')"), Value::String("none"));
  EXPECT_EQ(Error("coalesce(ns, 1)", ValueType::kString),
            "column 1: coalesce() argument 2 is INT64, the ones before it are STRING");
}

// ---- Numeric functions ----

TEST(Expr, AbsKeepsIntegersIntegral) {
  EXPECT_EQ(I("abs(-3)"), Value::Int64(3));
  EXPECT_EQ(I("abs(i32)"), Value::Int64(7));
  EXPECT_EQ(D("abs(-2.5)"), Value::Double(2.5));
}

TEST(Expr, LogExpSqrtPowGiveDoubles) {
  EXPECT_EQ(D("log(1)"), Value::Double(0));
  EXPECT_NEAR(Dbl(D("log(exp(2))")), 2.0, 1e-12);
  EXPECT_EQ(D("sqrt(16)"), Value::Double(4));
  EXPECT_EQ(D("pow(2, 10)"), Value::Double(1024));
  EXPECT_EQ(D("pow(4, 0.5)"), Value::Double(2));
  EXPECT_EQ(D("exp(0)"), Value::Double(1));
}

TEST(Expr, MathDomainErrorsAreNull) {
  EXPECT_EQ(D("log(0)"), kNullD);
  EXPECT_EQ(D("log(-1)"), kNullD);
  EXPECT_EQ(D("sqrt(-1)"), kNullD);
  EXPECT_EQ(D("sqrt(0)"), Value::Double(0));
  EXPECT_EQ(D("pow(10, 400)"), kNullD);
  EXPECT_EQ(D("pow(0, -1)"), kNullD);
  EXPECT_EQ(D("pow(-8, 1.0 / 3)"), kNullD);
}

TEST(Expr, MinMaxTakeAnyNumberOfNumbers) {
  EXPECT_EQ(I("min(3, 1, 2)"), Value::Int64(1));
  EXPECT_EQ(I("max(i32, i64)"), Value::Int64(10));
  EXPECT_EQ(D("min(i64, d)"), Value::Double(2.5));
  EXPECT_EQ(D("max(1, 2, 0.5)"), Value::Double(2));
  EXPECT_EQ(Error("min(1)", ValueType::kInt64),
            "column 1: min() takes at least 2 arguments, got 1");
  EXPECT_EQ(Error("max(1, s)", ValueType::kInt64),
            "column 1: max() argument 2 must be a number, got STRING");
}

TEST(Expr, RoundFloorCeil) {
  EXPECT_EQ(D("round(2.5)"), Value::Double(3));
  EXPECT_EQ(D("round(-2.5)"), Value::Double(-3));
  EXPECT_EQ(D("round(2.4)"), Value::Double(2));
  EXPECT_EQ(D("floor(-1.5)"), Value::Double(-2));
  EXPECT_EQ(D("ceil(1.2)"), Value::Double(2));
  EXPECT_EQ(D("floor(i64)"), Value::Double(10));
}

TEST(Expr, IntTruncatesAndRefusesWhatDoesNotFit) {
  EXPECT_EQ(I("int(2.9)"), Value::Int64(2));
  EXPECT_EQ(I("int(-2.9)"), Value::Int64(-2));
  EXPECT_EQ(I("int(i32)"), Value::Int64(7));
  EXPECT_EQ(I("int(1e300)"), kNullI);
  EXPECT_EQ(I("int(-1e19)"), kNullI);
  EXPECT_EQ(I("int(9223372036854775808.0)"), kNullI);  // 2^63
  EXPECT_EQ(I("int(-9223372036854775808.0)"), Value::Int64(kInt64Min));
  EXPECT_EQ(I("int(true)"), Value::Int64(1));
  EXPECT_EQ(I("int(f)"), Value::Int64(0));
  EXPECT_EQ(I("int('42')"), Value::Int64(42));
  EXPECT_EQ(I("int('4x')"), kNullI);
  EXPECT_EQ(Error("int(ts)", ValueType::kInt64),
            "column 1: int() argument 1 must be a number, BOOL or STRING, got UNIX_TIMESTAMP");
}

TEST(Expr, DoubleConverts) {
  EXPECT_EQ(D("double(i64)"), Value::Double(10));
  EXPECT_EQ(D("double(true)"), Value::Double(1));
  EXPECT_EQ(D("double('1.5')"), Value::Double(1.5));
  EXPECT_EQ(D("double('nan')"), kNullD);
  EXPECT_EQ(D("double('x')"), kNullD);
}

TEST(Expr, FunctionArgumentErrorsNameTheFunctionAndColumn) {
  EXPECT_EQ(Error("1 + log(s)"), "column 5: log() argument 1 must be a number, got STRING");
  EXPECT_EQ(Error("pow(2)"), "column 1: pow() takes 2 arguments, got 1");
  EXPECT_EQ(Error("hour(ts, 1)", ValueType::kInt64), "column 1: hour() takes 1 argument, got 2");
  EXPECT_EQ(Error("now(1)", ValueType::kUnixTimestamp), "column 1: now() takes 0 arguments, got 1");
  EXPECT_EQ(Error("substr(s)", ValueType::kString),
            "column 1: substr() takes 2 or 3 arguments, got 1");
  EXPECT_EQ(Error("hour(i64)", ValueType::kInt64),
            "column 1: hour() argument 1 must be UNIX_TIMESTAMP, got INT64");
}

TEST(Expr, UnknownFunctionIsNamed) {
  EXPECT_EQ(Error("sine(d)"), "column 1: unknown function 'sine'");
  EXPECT_EQ(Error("2 * sqr(d)"), "column 5: unknown function 'sqr'; did you mean sqrt()?");
  EXPECT_EQ(Error("LOG(d)"), "column 1: unknown function 'LOG'; did you mean log()?");
}

// ---- Strings ----

TEST(Expr, StringsConcatenate) {
  EXPECT_EQ(S("s + ', ' + 'world'"), Value::String("Hello, world"));
  EXPECT_EQ(S("concat(s, '-', s)"), Value::String("Hello-Hello"));
  EXPECT_EQ(S("concat(s)"), Value::String("Hello"));
  EXPECT_EQ(S("concat('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j')"),
            Value::String("abcdefghij"));
  EXPECT_EQ(Error("concat(s, 1)", ValueType::kString),
            "column 1: concat() argument 2 must be STRING, got INT64");
}

TEST(Expr, LowerUpperChangeAsciiLettersOnly) {
  EXPECT_EQ(S("lower(s)"), Value::String("hello"));
  EXPECT_EQ(S("upper(u)"), Value::String("H\xC3\xA9LLO W\xC3\xB6RLD"));
  EXPECT_EQ(S("upper(lower(s)) + lower('X')"), Value::String("HELLOx"));
}

TEST(Expr, LengthCountsCodePoints) {
  EXPECT_EQ(I("length(s)"), Value::Int64(5));
  EXPECT_EQ(I("length(u)"), Value::Int64(11));
  EXPECT_EQ(I("length('')"), Value::Int64(0));
  EXPECT_EQ(I("length('\\u20ac')"), Value::Int64(1));
  EXPECT_EQ(I("length(by)"), Value::Int64(3));  // BYTES: bytes
}

TEST(Expr, SubstrCountsCodePointsAndClamps) {
  EXPECT_EQ(S("substr(u, 1, 4)"), Value::String("\xC3\xA9llo"));
  EXPECT_EQ(S("substr(u, 7)"), Value::String("\xC3\xB6rld"));
  EXPECT_EQ(S("substr(s, 0, 100)"), Value::String("Hello"));
  EXPECT_EQ(S("substr(s, 10, 2)"), Value::String(""));
  EXPECT_EQ(S("substr(s, -3, 2)"), Value::String("He"));
  EXPECT_EQ(S("substr(s, 1, -1)"), Value::String(""));
  EXPECT_EQ(S("substr(s, 2, 9223372036854775807)"), Value::String("llo"));
}

TEST(Expr, ContainsStartsWithEndsWith) {
  EXPECT_EQ(B("contains(s, 'ell')"), Value::Bool(true));
  EXPECT_EQ(B("contains(s, 'xyz')"), Value::Bool(false));
  EXPECT_EQ(B("contains(s, '')"), Value::Bool(true));
  EXPECT_EQ(B("starts_with(s, 'He')"), Value::Bool(true));
  EXPECT_EQ(B("starts_with(s, 'he')"), Value::Bool(false));
  EXPECT_EQ(B("ends_with(u, 'w\\u00f6rld')"), Value::Bool(true));
  EXPECT_EQ(B("contains(by, by)"), Value::Bool(true));
  EXPECT_EQ(Error("starts_with(s, 1)", ValueType::kBool),
            "column 1: starts_with() argument 2 must be STRING, got INT64");
  EXPECT_EQ(Error("ends_with(i64, 's')", ValueType::kBool),
            "column 1: ends_with() argument 1 must be STRING or BYTES, got INT64");
}

// ---- Lists ----

TEST(Expr, ListIndexCountsFromZeroAndFromTheEnd) {
  EXPECT_EQ(I("il[0]"), Value::Int64(10));
  EXPECT_EQ(I("il[2]"), Value::Int64(30));
  EXPECT_EQ(I("il[-1]"), Value::Int64(30));
  EXPECT_EQ(I("il[-3]"), Value::Int64(10));
  EXPECT_EQ(I("il[i32 - 6]"), Value::Int64(20));
  EXPECT_EQ(Eval("i32l[1]", ValueType::kInt32), Value::Int32(2));
  EXPECT_EQ(Eval("fl[1]", ValueType::kFloat), Value::Float(1.5f));
  EXPECT_EQ(D("dl[0] * 4"), Value::Double(1));
  EXPECT_EQ(B("bl[1]"), Value::Bool(false));
  EXPECT_EQ(S("sl[-1]"), Value::String("b\xC3\xA9"));
  EXPECT_EQ(T("tl[0]"), Value::UnixTimestamp(At("2024-01-01T00:00:00Z")));
}

TEST(Expr, ListIndexOutOfRangeIsNull) {
  EXPECT_EQ(I("il[3]"), kNullI);
  EXPECT_EQ(I("il[-4]"), kNullI);
  EXPECT_EQ(I("empty[0]"), kNullI);
  EXPECT_EQ(I("il[9223372036854775807]"), kNullI);
  EXPECT_EQ(I("il[-9223372036854775808]"), kNullI);
}

TEST(Expr, ListIndexTypeErrors) {
  EXPECT_EQ(Error("s[0]", ValueType::kString), "column 2: only lists take [index], not STRING");
  EXPECT_EQ(Error("il[1.5]", ValueType::kInt64),
            "column 3: a list index must be an integer, got DOUBLE");
  EXPECT_THAT(Error("il[0", ValueType::kInt64), StartsWith("column 5: expected ']' to close '['"));
}

TEST(Expr, ListLengthAndContains) {
  EXPECT_EQ(I("length(il)"), Value::Int64(3));
  EXPECT_EQ(I("length(empty)"), Value::Int64(0));
  EXPECT_EQ(I("length(sl)"), Value::Int64(2));
  EXPECT_EQ(B("contains(il, 20)"), Value::Bool(true));
  EXPECT_EQ(B("contains(il, 20.0)"), Value::Bool(true));
  EXPECT_EQ(B("contains(il, 21)"), Value::Bool(false));
  EXPECT_EQ(B("contains(fl, 1.5)"), Value::Bool(true));
  EXPECT_EQ(B("contains(dl, 4)"), Value::Bool(true));
  EXPECT_EQ(B("contains(sl, 'a')"), Value::Bool(true));
  EXPECT_EQ(B("contains(sl, 'b')"), Value::Bool(false));
  EXPECT_EQ(B("contains(bl, false)"), Value::Bool(true));
  EXPECT_EQ(B("contains(tl, ts)"), Value::Bool(false));
  EXPECT_EQ(B("contains(empty, 1)"), Value::Bool(false));
  EXPECT_EQ(Error("contains(il, 'a')", ValueType::kBool),
            "column 1: contains() cannot look for STRING in INT64_LIST");
}

TEST(Expr, ListResultsWiden) {
  EXPECT_EQ(Eval("i32l", ValueType::kInt64List), Value::Int64List({1, 2}));
  EXPECT_EQ(Eval("fl", ValueType::kDoubleList), Value::DoubleList({0.5, 1.5}));
  EXPECT_EQ(Eval("if(b, i32l, il)", ValueType::kInt64List), Value::Int64List({1, 2}));
  EXPECT_EQ(Eval("coalesce(nl, il)", ValueType::kInt64List), Value::Int64List({10, 20, 30}));
  EXPECT_THAT(Error("il", ValueType::kInt32List), StartsWith("column 1: the expression is"));
}

// ---- Timestamps ----

TEST(Expr, TimestampDifferenceIsSeconds) {
  EXPECT_EQ(D("now() - ts"), Value::Double(3600));
  EXPECT_EQ(D("ts - now()"), Value::Double(-3600));
  EXPECT_EQ(D("seconds_since(ts)"), Value::Double(3600));
  EXPECT_EQ(D("seconds_since(now())"), Value::Double(0));
}

TEST(Expr, TimestampPlusOrMinusSeconds) {
  const Micros ts = At("2024-03-10T14:30:00Z");
  EXPECT_EQ(T("ts + 60"), Value::UnixTimestamp(ts + 60 * kMicrosPerSecond));
  EXPECT_EQ(T("60 + ts"), Value::UnixTimestamp(ts + 60 * kMicrosPerSecond));
  EXPECT_EQ(T("ts - 1.5"), Value::UnixTimestamp(ts - 1'500'000));
  EXPECT_EQ(T("ts + 0.000001"), Value::UnixTimestamp(ts + 1));
  EXPECT_EQ(T("ts + 1e300"), Value::Null(ValueType::kUnixTimestamp));
  EXPECT_EQ(T("ts + 9223372036854"), Value::Null(ValueType::kUnixTimestamp));
  EXPECT_EQ(T("now()"), Value::UnixTimestamp(kNow));
  EXPECT_EQ(Error("ts + ts", ValueType::kUnixTimestamp),
            "column 4: operator '+' cannot combine UNIX_TIMESTAMP and UNIX_TIMESTAMP");
  EXPECT_EQ(Error("1 - ts", ValueType::kUnixTimestamp),
            "column 3: operator '-' cannot combine INT64 and UNIX_TIMESTAMP");
}

TEST(Expr, HourAndDayOfWeekAreUtc) {
  const std::vector<ExprInput> inputs = {{"t", ValueType::kUnixTimestamp}};
  auto hour = Expr::Compile("hour(t)", inputs, ValueType::kInt64);
  auto dow = Expr::Compile("day_of_week(t)", inputs, ValueType::kInt64);
  ASSERT_TRUE(hour.ok() && dow.ok());
  struct Case {
    const char* time;
    int64_t hour;
    int64_t day;
  };
  for (const Case& c :
       {Case{"2024-01-01T00:00:00Z", 0, 1},   // Monday
        Case{"2024-01-07T23:59:59Z", 23, 7},  // Sunday
        Case{"1970-01-01T00:00:00Z", 0, 4},   // Thursday
        Case{"1969-12-31T23:30:00Z", 23, 3},  // before the epoch: Wednesday
        Case{"2000-02-29T12:00:00+02:00", 10, 2}, Case{"1900-01-01T05:00:00Z", 5, 1}}) {
    const Value t = Value::UnixTimestamp(At(c.time));
    const Value* p = &t;
    EXPECT_EQ((*hour)->Evaluate(absl::MakeConstSpan(&p, 1), 0), Value::Int64(c.hour)) << c.time;
    EXPECT_EQ((*dow)->Evaluate(absl::MakeConstSpan(&p, 1), 0), Value::Int64(c.day)) << c.time;
  }
}

TEST(Expr, ExtremeTimestampsStayInRangeOrAreNull) {
  const std::vector<ExprInput> inputs = {{"t", ValueType::kUnixTimestamp}};
  auto hour = Expr::Compile("hour(t) + day_of_week(t) * 100", inputs, ValueType::kInt64);
  auto since = Expr::Compile("seconds_since(t)", inputs, ValueType::kDouble);
  ASSERT_TRUE(hour.ok() && since.ok());
  for (int64_t t : {kInt64Min, kInt64Max}) {
    const Value v = Value::UnixTimestamp(t);
    const Value* p = &v;
    const Value got = (*hour)->Evaluate(absl::MakeConstSpan(&p, 1), 0);
    ASSERT_FALSE(got.is_null());
    EXPECT_GE(got.get<int64_t>() % 100, 0);
    EXPECT_LE(got.get<int64_t>() % 100, 23);
    EXPECT_GE(got.get<int64_t>() / 100, 1);
    EXPECT_LE(got.get<int64_t>() / 100, 7);
  }
  const Value oldest = Value::UnixTimestamp(kInt64Min);
  const Value* p = &oldest;
  EXPECT_EQ((*since)->Evaluate(absl::MakeConstSpan(&p, 1), kNow), kNullD);
}

TEST(Expr, NowIsTheEvaluationTime) {
  auto e = Expr::Compile("hour(now())", {}, ValueType::kInt64);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->Evaluate({}, At("2024-05-05T08:15:00Z")), Value::Int64(8));
  EXPECT_EQ((*e)->Evaluate({}, At("2024-05-05T21:15:00Z")), Value::Int64(21));
}

// ---- Result types ----

TEST(Expr, ResultWidensLosslessly) {
  auto e = CompileStd("i64 * 2", ValueType::kDouble);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->type(), ValueType::kDouble);
  EXPECT_EQ((*e)->expression_type(), ValueType::kInt64);
  EXPECT_EQ(D("i64 * 2"), Value::Double(20));
  EXPECT_EQ(Eval("i32", ValueType::kInt64), Value::Int64(7));
  EXPECT_EQ(Eval("i32", ValueType::kDouble), Value::Double(7));
  EXPECT_EQ(Eval("f32", ValueType::kDouble), Value::Double(1.5));
  EXPECT_EQ(Eval("ni", ValueType::kDouble), kNullD);
  EXPECT_EQ(Eval("null", ValueType::kStringList), Value::Null(ValueType::kStringList));
}

TEST(Expr, ResultThatLosesPrecisionIsRefused) {
  EXPECT_EQ(Error("d", ValueType::kInt64),
            "column 1: the expression is DOUBLE but the feature is declared INT64, and DOUBLE "
            "does not convert to INT64 without loss; int(x) truncates a number to INT64");
  EXPECT_THAT(Error("i32 + 1", ValueType::kInt32), HasSubstr("declare the feature INT64"));
  EXPECT_THAT(Error("d", ValueType::kFloat), StartsWith("column 1: the expression is DOUBLE"));
  EXPECT_THAT(Error("i64", ValueType::kFloat), StartsWith("column 1: the expression is INT64"));
  EXPECT_THAT(Error("s", ValueType::kBytes), StartsWith("column 1: the expression is STRING"));
  EXPECT_THAT(Error("ts", ValueType::kInt64), StartsWith("column 1: the expression is UNIX_"));
}

// ---- Syntax and limits ----

TEST(Expr, SyntaxErrorsGiveTheColumn) {
  EXPECT_EQ(Error(""), "column 1: empty expression");
  EXPECT_EQ(Error("   "), "column 1: empty expression");
  EXPECT_EQ(Error("1 +"),
            "column 4: expected a value, a name or '(', got the end of the expression");
  EXPECT_EQ(Error("(1 + 2"),
            "column 7: expected ')' to close '(' at column 1, got the end of the expression");
  EXPECT_EQ(Error("1 2"),
            "column 3: unexpected '2' after a complete expression (missing operator or ','?)");
  EXPECT_EQ(Error("i64 = 1"), "column 5: '=' is not an operator; use '==' to compare");
  EXPECT_EQ(Error("b && b"), "column 3: '&' is not an operator; use 'and'");
  EXPECT_EQ(Error("!b"), "column 1: '!' is not an operator; use 'not' or '!='");
  EXPECT_EQ(Error("s + 'abc"), "column 5: unterminated string");
  EXPECT_EQ(Error("'\\q'"),
            "column 2: unknown escape '\\q' (known: \\\\ \\' \\\" \\n \\t \\r \\uXXXX)");
  EXPECT_EQ(Error("1 # 2"), "column 3: unexpected character '#'");
  EXPECT_EQ(Error("1.x"), "column 3: expected a digit after '.'");
  EXPECT_EQ(Error("12abc"), "column 3: unexpected 'a' in a number");
  EXPECT_EQ(Error("max(1, 2"),
            "column 9: expected ',' or ')' in the call of max() opened at column 4, got the end of "
            "the expression");
  EXPECT_EQ(Error("max(1 2)"),
            "column 7: expected ',' or ')' in the call of max() opened at column 4, got '2'");
  EXPECT_EQ(Error("max(1,)"), "column 7: expected a value, a name or '(', got ')'");
}

TEST(Expr, WhitespaceIsFree) {
  EXPECT_EQ(I(" \t1\n+\r\n2 "), Value::Int64(3));
  EXPECT_EQ(I("max(1,2)"), Value::Int64(2));
}

TEST(Expr, KeywordsAreReserved) {
  const std::vector<ExprInput> inputs = {{"and", ValueType::kInt64}};
  EXPECT_FALSE(Expr::Compile("and + 1", inputs, ValueType::kInt64).ok());
}

TEST(Expr, TextLongerThanTheLimitIsRefused) {
  std::string ok = "1";
  while (ok.size() < kMaxExprBytes) ok += " ";
  EXPECT_EQ(I(ok), Value::Int64(1));
  EXPECT_EQ(Error(ok + " "), "column 4097: expression is longer than 4096 bytes");
}

TEST(Expr, NestingDeeperThanTheLimitIsRefused) {
  auto nested = [](int n) { return std::string(n, '(') + "1" + std::string(n, ')'); };
  EXPECT_EQ(I(nested(kMaxExprDepth)), Value::Int64(1));
  EXPECT_THAT(Error(nested(kMaxExprDepth + 1), ValueType::kInt64),
              HasSubstr("expression is nested more than 64 levels deep"));
  EXPECT_THAT(Error(nested(2000), ValueType::kInt64), HasSubstr("nested more than 64 levels"));
  EXPECT_THAT(Error(std::string(3000, '-') + "1", ValueType::kInt64),
              HasSubstr("nested more than 64 levels"));
  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "not ";
  EXPECT_THAT(Error(nots + "true", ValueType::kBool), HasSubstr("nested more than 64 levels"));
  std::string calls;
  for (int i = 0; i < 500; ++i) calls += "abs(";
  EXPECT_THAT(Error(calls + "1" + std::string(500, ')'), ValueType::kInt64),
              HasSubstr("nested more than 64 levels"));
}

TEST(Expr, LongOperatorChainsCountAsNesting) {
  auto chain = [](int terms, absl::string_view op) {
    std::string s = "1";
    for (int i = 1; i < terms; ++i) absl::StrAppend(&s, " ", op, " 1");
    return s;
  };
  EXPECT_EQ(I(chain(kMaxExprDepth + 1, "+")), Value::Int64(kMaxExprDepth + 1));
  EXPECT_THAT(Error(chain(kMaxExprDepth + 2, "+"), ValueType::kInt64),
              HasSubstr("nested more than 64 levels"));
  EXPECT_THAT(Error(chain(1000, "*"), ValueType::kInt64), HasSubstr("nested more than 64 levels"));
  std::string strings = "s";
  for (int i = 0; i < 200; ++i) strings += " + 'x'";
  EXPECT_EQ(S(strings), Value::String("Hello" + std::string(200, 'x')));
}

// ---- Whole expressions ----

TEST(Expr, RealisticFeatures) {
  Row r;
  r.Add("amount", Value::Double(1250.0));
  r.Add("user.avg_amount_30d", Value::Double(250.0));
  r.Add("user.last_login", Value::UnixTimestamp(At("2024-03-10T15:00:00Z")));
  r.Add("merchant.category", Value::String("Travel"));
  r.Add("user.recent_merchants", Value::StringList({"m1", "m2"}));
  r.Add("merchant_id", Value::String("m2"));
  const std::vector<const Value*> values = r.Pointers();
  struct Case {
    const char* text;
    ValueType type;
    Value want;
  };
  const std::vector<Case> cases = {
      {"amount / user.avg_amount_30d", ValueType::kDouble, Value::Double(5)},
      {"if(amount > 1000, log(amount), 0)", ValueType::kDouble, Value::Double(std::log(1250.0))},
      {"seconds_since(user.last_login) < 3600", ValueType::kBool, Value::Bool(true)},
      {"lower(merchant.category) == 'travel' and hour(now()) >= 9", ValueType::kBool,
       Value::Bool(true)},
      {"contains(user.recent_merchants, merchant_id)", ValueType::kBool, Value::Bool(true)},
      {"int(amount) % 1000", ValueType::kInt64, Value::Int64(250)},
      {"day_of_week(now()) >= 6", ValueType::kBool, Value::Bool(true)},
  };
  for (const Case& c : cases) {
    auto e = Expr::Compile(c.text, r.inputs, c.type);
    ASSERT_TRUE(e.ok()) << c.text << ": " << e.status();
    EXPECT_EQ((*e)->Evaluate(values, kNow), c.want) << c.text;
  }
}

// Random token soup: whatever compiles evaluates to a value of the declared
// type, and nothing crashes.
TEST(Expr, RandomTextNeverCrashes) {
  const std::vector<std::string> vocabulary = {"i32",
                                               "i64",
                                               "f32",
                                               "d",
                                               "b",
                                               "s",
                                               "u",
                                               "by",
                                               "ts",
                                               "il",
                                               "fl",
                                               "sl",
                                               "bl",
                                               "empty",
                                               "ni",
                                               "nd",
                                               "nb",
                                               "ns",
                                               "nts",
                                               "nl",
                                               "0",
                                               "1",
                                               "-1",
                                               "2.5",
                                               "1e308",
                                               "9223372036854775807",
                                               "'x'",
                                               "'\\u00e9'",
                                               "true",
                                               "false",
                                               "null",
                                               "(",
                                               ")",
                                               "[",
                                               "]",
                                               ",",
                                               "+",
                                               "-",
                                               "*",
                                               "/",
                                               "%",
                                               "==",
                                               "<",
                                               ">=",
                                               "!=",
                                               "and",
                                               "or",
                                               "not",
                                               "if(",
                                               "coalesce(",
                                               "is_null(",
                                               "abs(",
                                               "log(",
                                               "exp(",
                                               "sqrt(",
                                               "pow(",
                                               "min(",
                                               "max(",
                                               "round(",
                                               "int(",
                                               "double(",
                                               "lower(",
                                               "length(",
                                               "concat(",
                                               "substr(",
                                               "contains(",
                                               "starts_with(",
                                               "hour(",
                                               "day_of_week(",
                                               "seconds_since(",
                                               "now()"};
  const ValueType types[] = {ValueType::kInt64,  ValueType::kDouble,        ValueType::kBool,
                             ValueType::kString, ValueType::kUnixTimestamp, ValueType::kInt64List};
  const std::vector<const Value*> values = Standard().Pointers();
  std::mt19937 rng(7);
  int compiled = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int j = 0; j < n; ++j) absl::StrAppend(&text, vocabulary[rng() % vocabulary.size()], " ");
    for (ValueType type : types) {
      auto e = CompileStd(text, type);
      if (!e.ok()) {
        EXPECT_THAT(std::string(e.status().message()), StartsWith("column ")) << text;
        continue;
      }
      ++compiled;
      EXPECT_EQ((*e)->Evaluate(values, kNow).type(), type) << text;
    }
  }
  EXPECT_GT(compiled, 100);
}

TEST(Expr, ConcurrentEvaluationsAgree) {
  const std::vector<ExprInput> inputs = {
      {"x", ValueType::kInt64}, {"y", ValueType::kDouble}, {"name", ValueType::kString}};
  auto e = Expr::Compile(
      "if(x % 3 == 0, upper(name) + '!', concat(substr(name, x % 5), '/', lower(name))) + "
      "if(y > 0.5 or is_null(x), 'hi', 'lo')",
      inputs, ValueType::kString);
  ASSERT_TRUE(e.ok()) << e.status();
  std::mt19937_64 rng(42);
  std::vector<std::vector<Value>> rows(2000);
  for (auto& row : rows) {
    row.push_back(rng() % 7 == 0 ? Value::Null(ValueType::kInt64)
                                 : Value::Int64(static_cast<int64_t>(rng() % 1000) - 500));
    row.push_back(Value::Double(static_cast<double>(rng() % 1000) / 1000.0));
    row.push_back(Value::String(absl::StrCat("N\xC3\xA4me", rng() % 100)));
  }
  auto evaluate_all = [&] {
    std::vector<Value> out;
    for (const auto& row : rows) {
      const std::vector<const Value*> values = {&row[0], &row[1], &row[2]};
      out.push_back((*e)->Evaluate(values, 0));
    }
    return out;
  };
  const std::vector<Value> want = evaluate_all();
  std::vector<std::vector<Value>> got(4);
  std::vector<std::thread> threads;
  for (auto& g : got) threads.emplace_back([&g, &evaluate_all] { g = evaluate_all(); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

}  // namespace
}  // namespace expr
}  // namespace pantry
