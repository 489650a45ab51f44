// Lexer and recursive-descent parser of expressions. The parser type-checks
// each node as it builds it (expr_types.cc), so one pass gives either a typed
// tree or the first error with its column.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/status.h"
#include "server/expr/expr_internal.h"
#include "server/expr/expr_types.h"

namespace pantry::expr::internal {
namespace {

enum class Tok : uint8_t {
  kEnd,
  kInt,
  kDouble,
  kString,
  kName,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kNot,
  kTrue,
  kFalse,
  kNull,
};

struct Token {
  Tok kind = Tok::kEnd;
  int column = 1;
  absl::string_view text;  // as written
  std::string value;       // a string literal without quotes and escapes
};

bool IsNameStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }
bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

std::string Describe(const Token& t) {
  if (t.kind == Tok::kEnd) return "the end of the expression";
  return absl::StrCat("'", t.text, "'");
}

// Appends code point `cp` as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      while (pos_ < text_.size() && absl::ascii_isspace(text_[pos_])) ++pos_;
      Token t;
      t.column = static_cast<int>(pos_) + 1;
      if (pos_ == text_.size()) {
        tokens.push_back(std::move(t));
        return tokens;
      }
      const size_t start = pos_;
      const char c = text_[pos_];
      if (absl::ascii_isdigit(c)) {
        PANTRY_RETURN_IF_ERROR(Number(&t));
      } else if (IsNameStart(c)) {
        Name(&t);
      } else if (c == '\'' || c == '"') {
        PANTRY_RETURN_IF_ERROR(String(&t));
      } else {
        PANTRY_RETURN_IF_ERROR(Symbol(&t));
      }
      t.text = text_.substr(start, pos_ - start);
      tokens.push_back(std::move(t));
    }
  }

 private:
  char At(size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
  int Column() const { return static_cast<int>(pos_) + 1; }

  void Digits() {
    while (absl::ascii_isdigit(At(pos_))) ++pos_;
  }

  absl::Status Number(Token* t) {
    t->kind = Tok::kInt;
    Digits();
    if (At(pos_) == '.') {
      ++pos_;
      if (!absl::ascii_isdigit(At(pos_))) return ErrorAt(Column(), "expected a digit after '.'");
      Digits();
      t->kind = Tok::kDouble;
    }
    if (At(pos_) == 'e' || At(pos_) == 'E') {
      ++pos_;
      if (At(pos_) == '+' || At(pos_) == '-') ++pos_;
      if (!absl::ascii_isdigit(At(pos_))) return ErrorAt(Column(), "expected a digit in exponent");
      Digits();
      t->kind = Tok::kDouble;
    }
    if (IsNameChar(At(pos_)) || At(pos_) == '.') {
      return ErrorAt(Column(), "unexpected '", text_.substr(pos_, 1), "' in a number");
    }
    return absl::OkStatus();
  }

  // name or view.name; the keywords only without a dot.
  void Name(Token* t) {
    const size_t start = pos_;
    while (IsNameChar(At(pos_))) ++pos_;
    if (At(pos_) == '.' && IsNameStart(At(pos_ + 1))) {
      ++pos_;
      while (IsNameChar(At(pos_))) ++pos_;
      t->kind = Tok::kName;
      return;
    }
    const absl::string_view word = text_.substr(start, pos_ - start);
    if (word == "and") {
      t->kind = Tok::kAnd;
    } else if (word == "or") {
      t->kind = Tok::kOr;
    } else if (word == "not") {
      t->kind = Tok::kNot;
    } else if (word == "true") {
      t->kind = Tok::kTrue;
    } else if (word == "false") {
      t->kind = Tok::kFalse;
    } else if (word == "null") {
      t->kind = Tok::kNull;
    } else {
      t->kind = Tok::kName;
    }
  }

  absl::Status String(Token* t) {
    const char quote = text_[pos_];
    const int open = Column();
    ++pos_;
    t->kind = Tok::kString;
    while (true) {
      if (pos_ >= text_.size()) return ErrorAt(open, "unterminated string");
      const char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        return absl::OkStatus();
      }
      if (c != '\\') {
        t->value.push_back(c);
        ++pos_;
        continue;
      }
      PANTRY_RETURN_IF_ERROR(Escape(&t->value));
    }
  }

  absl::Status Escape(std::string* out) {
    const int column = Column();
    const char e = At(pos_ + 1);
    pos_ += 2;
    switch (e) {
      case '\\': out->push_back('\\'); return absl::OkStatus();
      case '\'': out->push_back('\''); return absl::OkStatus();
      case '"': out->push_back('"'); return absl::OkStatus();
      case 'n': out->push_back('\n'); return absl::OkStatus();
      case 't': out->push_back('\t'); return absl::OkStatus();
      case 'r': out->push_back('\r'); return absl::OkStatus();
      case 'u': break;
      default:
        return ErrorAt(column, "unknown escape '\\", text_.substr(pos_ - 1, e == '\0' ? 0 : 1),
                       "' (known: \\\\ \\' \\\" \\n \\t \\r \\uXXXX)");
    }
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = At(pos_);
      if (!absl::ascii_isxdigit(h)) return ErrorAt(column, "\\u needs 4 hex digits");
      cp = cp * 16 + static_cast<uint32_t>(
                         absl::ascii_isdigit(h) ? h - '0' : absl::ascii_tolower(h) - 'a' + 10);
      ++pos_;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return ErrorAt(column, "\\u escape of a surrogate");
    AppendUtf8(cp, out);
    return absl::OkStatus();
  }

  absl::Status Symbol(Token* t) {
    const char c = text_[pos_];
    const char next = At(pos_ + 1);
    const int column = Column();
    auto two = [&](Tok kind) {
      pos_ += 2;
      t->kind = kind;
      return absl::OkStatus();
    };
    auto one = [&](Tok kind) {
      pos_ += 1;
      t->kind = kind;
      return absl::OkStatus();
    };
    switch (c) {
      case '(': return one(Tok::kLParen);
      case ')': return one(Tok::kRParen);
      case '[': return one(Tok::kLBracket);
      case ']': return one(Tok::kRBracket);
      case ',': return one(Tok::kComma);
      case '+': return one(Tok::kPlus);
      case '-': return one(Tok::kMinus);
      case '*': return one(Tok::kStar);
      case '/': return one(Tok::kSlash);
      case '%': return one(Tok::kPercent);
      case '<': return next == '=' ? two(Tok::kLe) : one(Tok::kLt);
      case '>': return next == '=' ? two(Tok::kGe) : one(Tok::kGt);
      case '=':
        if (next == '=') return two(Tok::kEq);
        return ErrorAt(column, "'=' is not an operator; use '==' to compare");
      case '!':
        if (next == '=') return two(Tok::kNe);
        return ErrorAt(column, "'!' is not an operator; use 'not' or '!='");
      case '&': return ErrorAt(column, "'&' is not an operator; use 'and'");
      case '|': return ErrorAt(column, "'|' is not an operator; use 'or'");
      default: break;
    }
    if (absl::ascii_isprint(c)) {
      return ErrorAt(column, "unexpected character '", text_.substr(pos_, 1), "'");
    }
    return ErrorAt(column,
                   absl::StrFormat("unexpected byte 0x%02x", static_cast<unsigned char>(c)));
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

// Counts the parser's recursion so that deep nesting is an error, not a stack
// overflow.
class DepthGuard {
 public:
  explicit DepthGuard(int* depth) : depth_(depth) { ++*depth_; }
  ~DepthGuard() { --*depth_; }
  absl::Status Check(int column) const {
    if (*depth_ > kMaxExprDepth) return DepthError(column);
    return absl::OkStatus();
  }

 private:
  int* depth_;
};

std::optional<Cmp> ComparisonOf(Tok kind) {
  switch (kind) {
    case Tok::kEq: return Cmp::kEq;
    case Tok::kNe: return Cmp::kNe;
    case Tok::kLt: return Cmp::kLt;
    case Tok::kLe: return Cmp::kLe;
    case Tok::kGt: return Cmp::kGt;
    case Tok::kGe: return Cmp::kGe;
    default: return std::nullopt;
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::vector<ExprInput>& inputs, std::vector<bool>* used)
      : tokens_(std::move(tokens)), inputs_(inputs), used_(used) {}

  absl::StatusOr<NodePtr> Run() {
    if (Peek().kind == Tok::kEnd) return ErrorAt(1, "empty expression");
    PANTRY_ASSIGN_OR_RETURN(NodePtr root, ParseOr());
    if (Peek().kind != Tok::kEnd) {
      return ErrorAt(Peek().column, "unexpected ", Describe(Peek()),
                     " after a complete expression (missing operator or ','?)");
    }
    return root;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }

  absl::Status Expect(Tok kind, absl::string_view what, const Token& opener) {
    if (Peek().kind == kind) {
      Next();
      return absl::OkStatus();
    }
    return ErrorAt(Peek().column, "expected ", what, " to close '", opener.text, "' at column ",
                   opener.column, ", got ", Describe(Peek()));
  }

  absl::StatusOr<NodePtr> ParseOr() {
    DepthGuard guard(&depth_);
    PANTRY_RETURN_IF_ERROR(guard.Check(Peek().column));
    PANTRY_ASSIGN_OR_RETURN(NodePtr left, ParseAnd());
    while (Peek().kind == Tok::kOr) {
      const int column = Next().column;
      PANTRY_ASSIGN_OR_RETURN(NodePtr right, ParseAnd());
      PANTRY_ASSIGN_OR_RETURN(left, MakeLogic(Op::kOr, column, std::move(left), std::move(right)));
    }
    return left;
  }

  absl::StatusOr<NodePtr> ParseAnd() {
    PANTRY_ASSIGN_OR_RETURN(NodePtr left, ParseNot());
    while (Peek().kind == Tok::kAnd) {
      const int column = Next().column;
      PANTRY_ASSIGN_OR_RETURN(NodePtr right, ParseNot());
      PANTRY_ASSIGN_OR_RETURN(left, MakeLogic(Op::kAnd, column, std::move(left), std::move(right)));
    }
    return left;
  }

  absl::StatusOr<NodePtr> ParseNot() {
    if (Peek().kind != Tok::kNot) return ParseComparison();
    const int column = Next().column;
    DepthGuard guard(&depth_);
    PANTRY_RETURN_IF_ERROR(guard.Check(column));
    PANTRY_ASSIGN_OR_RETURN(NodePtr operand, ParseNot());
    return MakeNot(column, std::move(operand));
  }

  absl::StatusOr<NodePtr> ParseComparison() {
    PANTRY_ASSIGN_OR_RETURN(NodePtr left, ParseSum());
    const std::optional<Cmp> cmp = ComparisonOf(Peek().kind);
    if (!cmp) return left;
    const Token& op = Next();
    PANTRY_ASSIGN_OR_RETURN(NodePtr right, ParseSum());
    if (ComparisonOf(Peek().kind)) {
      return ErrorAt(Peek().column, "comparisons do not chain; join them with 'and'");
    }
    return MakeComparison(*cmp, op.text, op.column, std::move(left), std::move(right));
  }

  absl::StatusOr<NodePtr> ParseSum() {
    PANTRY_ASSIGN_OR_RETURN(NodePtr left, ParseProduct());
    while (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus) {
      const Token& op = Next();
      PANTRY_ASSIGN_OR_RETURN(NodePtr right, ParseProduct());
      PANTRY_ASSIGN_OR_RETURN(
          left, MakeArithmetic(op.text[0], op.column, std::move(left), std::move(right)));
    }
    return left;
  }

  absl::StatusOr<NodePtr> ParseProduct() {
    PANTRY_ASSIGN_OR_RETURN(NodePtr left, ParseUnary());
    while (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash ||
           Peek().kind == Tok::kPercent) {
      const Token& op = Next();
      PANTRY_ASSIGN_OR_RETURN(NodePtr right, ParseUnary());
      PANTRY_ASSIGN_OR_RETURN(
          left, MakeArithmetic(op.text[0], op.column, std::move(left), std::move(right)));
    }
    return left;
  }

  absl::StatusOr<NodePtr> ParseUnary() {
    if (Peek().kind != Tok::kMinus) return ParsePostfix();
    const int column = Next().column;
    // A negative integer literal is one token's worth, so that the smallest
    // INT64 can be written.
    if (Peek().kind == Tok::kInt && Peek(1).kind != Tok::kLBracket) {
      return IntLiteral(Next(), /*negative=*/true, column);
    }
    DepthGuard guard(&depth_);
    PANTRY_RETURN_IF_ERROR(guard.Check(column));
    PANTRY_ASSIGN_OR_RETURN(NodePtr operand, ParseUnary());
    return MakeNegation(column, std::move(operand));
  }

  absl::StatusOr<NodePtr> ParsePostfix() {
    PANTRY_ASSIGN_OR_RETURN(NodePtr base, ParsePrimary());
    while (Peek().kind == Tok::kLBracket) {
      const Token& open = Next();
      PANTRY_ASSIGN_OR_RETURN(NodePtr index, ParseOr());
      PANTRY_RETURN_IF_ERROR(Expect(Tok::kRBracket, "']'", open));
      PANTRY_ASSIGN_OR_RETURN(base, MakeIndex(open.column, std::move(base), std::move(index)));
    }
    return base;
  }

  absl::StatusOr<NodePtr> ParsePrimary() {
    const Token& t = Next();
    switch (t.kind) {
      case Tok::kInt: return IntLiteral(t, /*negative=*/false, t.column);
      case Tok::kDouble: return DoubleLiteral(t);
      case Tok::kString: return StringConst(t.column, t.value);
      case Tok::kTrue: return BoolConst(t.column, true);
      case Tok::kFalse: return BoolConst(t.column, false);
      case Tok::kNull: return NullConst(t.column);
      case Tok::kLParen: {
        PANTRY_ASSIGN_OR_RETURN(NodePtr inner, ParseOr());
        PANTRY_RETURN_IF_ERROR(Expect(Tok::kRParen, "')'", t));
        return inner;
      }
      case Tok::kName:
        if (Peek().kind == Tok::kLParen) return ParseCall(t);
        return ResolveName(t);
      default: return ErrorAt(t.column, "expected a value, a name or '(', got ", Describe(t));
    }
  }

  absl::StatusOr<NodePtr> ParseCall(const Token& name) {
    const Token& open = Next();
    std::vector<NodePtr> args;
    if (Peek().kind == Tok::kRParen) {
      Next();
      return MakeCall(name.text, name.column, std::move(args));
    }
    while (true) {
      PANTRY_ASSIGN_OR_RETURN(NodePtr arg, ParseOr());
      args.push_back(std::move(arg));
      const Token& t = Next();
      if (t.kind == Tok::kRParen) break;
      if (t.kind != Tok::kComma) {
        return ErrorAt(t.column, "expected ',' or ')' in the call of ", name.text,
                       "() opened at column ", open.column, ", got ", Describe(t));
      }
    }
    return MakeCall(name.text, name.column, std::move(args));
  }

  absl::StatusOr<NodePtr> IntLiteral(const Token& t, bool negative, int column) {
    int64_t v;
    if (!absl::SimpleAtoi(negative ? absl::StrCat("-", t.text) : std::string(t.text), &v)) {
      return ErrorAt(column, "integer ", negative ? "-" : "", t.text, " is out of the INT64 range");
    }
    return IntConst(column, v);
  }

  absl::StatusOr<NodePtr> DoubleLiteral(const Token& t) {
    double v;
    if (!absl::SimpleAtod(t.text, &v) || !std::isfinite(v)) {
      return ErrorAt(t.column, "number ", t.text, " is out of the DOUBLE range");
    }
    return DoubleConst(t.column, v);
  }

  absl::StatusOr<NodePtr> ResolveName(const Token& t) {
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (inputs_[i].name == t.text) {
        (*used_)[i] = true;
        return InputNode(t.column, static_cast<int>(i), inputs_[i].dtype);
      }
    }
    return UnknownName(t.column, t.text, inputs_);
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = -1;  // the whole expression is level 0
  const std::vector<ExprInput>& inputs_;
  std::vector<bool>* used_;
};

}  // namespace

absl::StatusOr<NodePtr> Parse(absl::string_view text, const std::vector<ExprInput>& inputs,
                              std::vector<bool>* used) {
  if (text.size() > kMaxExprBytes) {
    return ErrorAt(static_cast<int>(kMaxExprBytes) + 1, "expression is longer than ", kMaxExprBytes,
                   " bytes");
  }
  used->assign(inputs.size(), false);
  PANTRY_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(text).Run());
  return Parser(std::move(tokens), inputs, used).Run();
}

}  // namespace pantry::expr::internal
