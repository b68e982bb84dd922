#include "pipeline/expr/expr.h"

#include <re2/re2.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

namespace omniloop::pipeline {

using event::Value;
using event::ValueType;

// ---------------------------------------------------------------------------------------------
// Value semantics
// ---------------------------------------------------------------------------------------------

namespace {

struct Number {
  bool is_int = false;
  int64_t i = 0;
  double d = 0.0;
};

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A decimal number, whole text (surrounding blanks allowed). No "inf"/"nan"/hex.
bool parseNumber(std::string_view s, Number& out) {
  s = trim(s);
  if (s.empty()) return false;
  std::string_view body = s;
  if (body.front() == '+') body.remove_prefix(1);  // from_chars refuses a leading '+'
  if (body.empty()) return false;
  const char c0 = body.front() == '-' && body.size() > 1 ? body[1] : body.front();
  if (!((c0 >= '0' && c0 <= '9') || c0 == '.')) return false;
  const char* end = body.data() + body.size();
  int64_t i = 0;
  auto ri = std::from_chars(body.data(), end, i);
  if (ri.ec == std::errc() && ri.ptr == end) {
    out.is_int = true;
    out.i = i;
    out.d = static_cast<double>(i);
    return true;
  }
  double d = 0.0;
  auto rd = std::from_chars(body.data(), end, d);
  if (rd.ec != std::errc() || rd.ptr != end) return false;
  out.is_int = false;
  out.d = d;
  return true;
}

bool numberOf(const Value& v, Number& out) {
  if (v.type == ValueType::Int) {
    out.is_int = true;
    out.i = v.i;
    out.d = static_cast<double>(v.i);
    return true;
  }
  if (v.type == ValueType::Double) {
    out.is_int = false;
    out.d = v.d;
    return true;
  }
  return false;
}

// Text form of a scalar without allocating: numbers are formatted into `buf`.
std::string_view textOf(const Value& v, std::array<char, 40>& buf) {
  switch (v.type) {
    case ValueType::Null:
      return {};
    case ValueType::Bool:
      return v.b ? "true" : "false";
    case ValueType::Int: {
      auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v.i);
      return {buf.data(), static_cast<size_t>(r.ptr - buf.data())};
    }
    case ValueType::Double: {
      auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v.d);
      return {buf.data(), static_cast<size_t>(r.ptr - buf.data())};
    }
    case ValueType::String:
    case ValueType::Json:
      return v.s;
  }
  return {};
}

Ordering compareNumbers(const Number& a, const Number& b) {
  if (a.is_int && b.is_int) {
    return a.i < b.i ? Ordering::Less : a.i > b.i ? Ordering::Greater : Ordering::Equal;
  }
  if (std::isnan(a.d) || std::isnan(b.d)) return Ordering::Unordered;
  return a.d < b.d ? Ordering::Less : a.d > b.d ? Ordering::Greater : Ordering::Equal;
}

template <typename T>
Ordering order(const T& a, const T& b) {
  return a < b ? Ordering::Less : b < a ? Ordering::Greater : Ordering::Equal;
}

}  // namespace

bool parseNumber(std::string_view text, bool& is_int, int64_t& i, double& d) {
  Number n;
  if (!parseNumber(text, n)) return false;
  is_int = n.is_int;
  i = n.i;
  d = n.d;
  return true;
}

Ordering compareValues(const Value& a, const Value& b) {
  if (a.isNull() || b.isNull()) return Ordering::Unordered;
  Number na, nb;
  const bool a_num = numberOf(a, na);
  const bool b_num = numberOf(b, nb);
  if (a_num && b_num) return compareNumbers(na, nb);
  if (a_num && b.type == ValueType::String && parseNumber(b.s, nb)) return compareNumbers(na, nb);
  if (b_num && a.type == ValueType::String && parseNumber(a.s, na)) return compareNumbers(na, nb);
  if (a.type == ValueType::Bool && b.type == ValueType::Bool) return order(a.b, b.b);
  std::array<char, 40> ba, bb;
  return order(textOf(a, ba), textOf(b, bb));
}

bool equalValues(const Value& a, const Value& b) {
  if (a.isNull() || b.isNull()) return a.isNull() && b.isNull();
  return compareValues(a, b) == Ordering::Equal;
}

bool truthy(const Value& v) {
  switch (v.type) {
    case ValueType::Null:
      return false;
    case ValueType::Bool:
      return v.b;
    case ValueType::Int:
      return v.i != 0;
    case ValueType::Double:
      return v.d != 0.0;
    case ValueType::String:
    case ValueType::Json:
      return !v.s.empty();
  }
  return false;
}

std::string checkPath(std::string_view path, std::string* hint) {
  auto setHint = [&](std::string h) {
    if (hint) *hint = std::move(h);
  };
  if (path.empty()) return "empty field path";
  if (path.front() == '$') {
    static constexpr std::array<std::string_view, 6> kPlain = {"$id",      "$key",  "$source",
                                                               "$channel", "$type", "$occurred_at"};
    for (std::string_view p : kPlain) {
      if (path == p) return {};
    }
    for (std::string_view prefix :
         {std::string_view("$identities."), std::string_view("$consent.")}) {
      if (path.substr(0, prefix.size()) == prefix) {
        if (path.size() > prefix.size()) return {};
        setHint(std::string("name the ") + (prefix == "$consent." ? "purpose: $consent.analytics"
                                                                  : "type: $identities.email"));
        return "'" + std::string(path) + "' needs a name after the dot";
      }
    }
    setHint(
        "envelope paths are $id $key $source $channel $type $occurred_at $identities.<type> "
        "$consent.<purpose>; attributes take no '$'");
    return "unknown envelope path '" + std::string(path) + "'";
  }
  if (path.front() == '.' || path.back() == '.' || path.find("..") != std::string_view::npos) {
    setHint("separate nested names with single dots: customer.email");
    return "field path '" + std::string(path) + "' has an empty segment";
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

namespace {

enum class Tok : uint8_t {
  End,
  Path,
  String,
  Number,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  Match,
  NotMatch,
  And,
  Or,
  Not,
  In,
  True,
  False,
  Null,
};

struct Token {
  Tok kind = Tok::End;
  size_t offset = 0;
  size_t length = 0;
  bool quoted_path = false;  // `backtick path`
  std::string text;          // decoded string / path
  Value number;
};

std::string describe(const Token& t, std::string_view src) {
  if (t.kind == Tok::End) return "the end of the expression";
  return "'" + std::string(src.substr(t.offset, t.length)) + "'";
}

bool identStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80;
}
bool identChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c >= 0x80;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::vector<Token> tokenize(std::string_view src) {
  std::vector<Token> out;
  size_t i = 0;
  const size_t n = src.size();
  auto simple = [&](Tok k, size_t len) {
    Token t;
    t.kind = k;
    t.offset = i;
    t.length = len;
    out.push_back(std::move(t));
    i += len;
  };
  while (i < n) {
    const char c = src[i];
    if (isSpace(c)) {
      ++i;
      continue;
    }
    const char next = i + 1 < n ? src[i + 1] : '\0';
    switch (c) {
      case '(':
        simple(Tok::LParen, 1);
        continue;
      case ')':
        simple(Tok::RParen, 1);
        continue;
      case '[':
        simple(Tok::LBracket, 1);
        continue;
      case ']':
        simple(Tok::RBracket, 1);
        continue;
      case ',':
        simple(Tok::Comma, 1);
        continue;
      case '=':
        if (next == '=') {
          simple(Tok::Eq, 2);
          continue;
        }
        if (next == '~') {
          simple(Tok::Match, 2);
          continue;
        }
        throw ExprSyntaxError(i, "'=' is not an operator", "use == to compare");
      case '!':
        if (next == '=') {
          simple(Tok::Ne, 2);
          continue;
        }
        if (next == '~') {
          simple(Tok::NotMatch, 2);
          continue;
        }
        simple(Tok::Not, 1);
        continue;
      case '<':
        if (next == '=') {
          simple(Tok::Le, 2);
          continue;
        }
        if (next == '>')
          throw ExprSyntaxError(i, "'<>' is not an operator", "use != for 'not equal'");
        simple(Tok::Lt, 1);
        continue;
      case '>':
        if (next == '=') {
          simple(Tok::Ge, 2);
          continue;
        }
        simple(Tok::Gt, 1);
        continue;
      case '&':
        if (next == '&') {
          simple(Tok::And, 2);
          continue;
        }
        throw ExprSyntaxError(i, "'&' is not an operator", "use 'and' (or &&)");
      case '|':
        if (next == '|') {
          simple(Tok::Or, 2);
          continue;
        }
        throw ExprSyntaxError(i, "'|' is not an operator", "use 'or' (or ||)");
      default:
        break;
    }
    if (c == '"' || c == '\'') {
      Token t;
      t.kind = Tok::String;
      t.offset = i;
      size_t j = i + 1;
      bool closed = false;
      while (j < n) {
        char d = src[j];
        if (d == c) {
          closed = true;
          ++j;
          break;
        }
        if (d == '\\' && j + 1 < n) {
          char e = src[j + 1];
          switch (e) {
            case '\\':
              t.text.push_back('\\');
              j += 2;
              continue;
            case '"':
              t.text.push_back('"');
              j += 2;
              continue;
            case '\'':
              t.text.push_back('\'');
              j += 2;
              continue;
            case 'n':
              t.text.push_back('\n');
              j += 2;
              continue;
            case 't':
              t.text.push_back('\t');
              j += 2;
              continue;
            case 'r':
              t.text.push_back('\r');
              j += 2;
              continue;
            case 'u': {
              uint32_t cp = 0;
              auto r = j + 6 <= n ? std::from_chars(src.data() + j + 2, src.data() + j + 6, cp, 16)
                                  : std::from_chars_result{nullptr, std::errc::invalid_argument};
              if (r.ec != std::errc() || r.ptr != src.data() + j + 6) {
                throw ExprSyntaxError(j, "\\u needs four hex digits", "write \\u00e9 for 'é'");
              }
              appendUtf8(t.text, cp);
              j += 6;
              continue;
            }
            default:
              // Unknown escapes stay as written, so regexes such as "\d+" read naturally.
              t.text.push_back('\\');
              t.text.push_back(e);
              j += 2;
              continue;
          }
        }
        t.text.push_back(d);
        ++j;
      }
      if (!closed) {
        throw ExprSyntaxError(i, "unterminated string",
                              std::string("close it with a matching ") + c);
      }
      t.length = j - i;
      i = j;
      out.push_back(std::move(t));
      continue;
    }
    if (c == '`') {
      Token t;
      t.kind = Tok::Path;
      t.quoted_path = true;
      t.offset = i;
      size_t j = i + 1;
      bool closed = false;
      while (j < n) {
        if (src[j] == '`') {
          if (j + 1 < n && src[j + 1] == '`') {  // `` is a literal backtick
            t.text.push_back('`');
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        t.text.push_back(src[j++]);
      }
      if (!closed) throw ExprSyntaxError(i, "unterminated `quoted field name`", "close it with `");
      if (t.text.empty()) throw ExprSyntaxError(i, "empty `quoted field name`");
      t.length = j - i;
      i = j;
      out.push_back(std::move(t));
      continue;
    }
    const bool signed_number =
        (c == '-' || c == '+') && (std::isdigit(static_cast<unsigned char>(next)) || next == '.');
    if (std::isdigit(static_cast<unsigned char>(c)) || signed_number ||
        (c == '.' && std::isdigit(static_cast<unsigned char>(next)))) {
      size_t j = i + 1;
      while (j < n) {
        const char d = src[j];
        const bool exp_sign = (d == '+' || d == '-') && (src[j - 1] == 'e' || src[j - 1] == 'E');
        if (std::isalnum(static_cast<unsigned char>(d)) || d == '.' || d == '_' || exp_sign) {
          ++j;
        } else {
          break;
        }
      }
      std::string_view lit = src.substr(i, j - i);
      Number num;
      if (!parseNumber(lit, num)) {
        bool letters = false;
        for (char d : lit)
          letters |= std::isalpha(static_cast<unsigned char>(d)) && d != 'e' && d != 'E';
        throw ExprSyntaxError(i, "invalid number '" + std::string(lit) + "'",
                              letters ? "a field name that starts with a digit needs backticks: `" +
                                            std::string(lit) + "`"
                                      : "write numbers like 42, -7 or 3.5");
      }
      Token t;
      t.kind = Tok::Number;
      t.offset = i;
      t.length = j - i;
      t.number = num.is_int ? Value::integer(num.i) : Value::real(num.d);
      out.push_back(std::move(t));
      i = j;
      continue;
    }
    if (identStart(static_cast<unsigned char>(c))) {
      size_t j = i + 1;
      while (j < n && identChar(static_cast<unsigned char>(src[j]))) ++j;
      std::string_view word = src.substr(i, j - i);
      Token t;
      t.offset = i;
      t.length = j - i;
      if (word == "and")
        t.kind = Tok::And;
      else if (word == "or")
        t.kind = Tok::Or;
      else if (word == "not")
        t.kind = Tok::Not;
      else if (word == "in")
        t.kind = Tok::In;
      else if (word == "true")
        t.kind = Tok::True;
      else if (word == "false")
        t.kind = Tok::False;
      else if (word == "null")
        t.kind = Tok::Null;
      else {
        t.kind = Tok::Path;
        t.text = std::string(word);
      }
      out.push_back(std::move(t));
      i = j;
      continue;
    }
    throw ExprSyntaxError(i, "unexpected character '" + std::string(1, c) + "'",
                          "field names with spaces or symbols go in backticks: `Contact: Email`");
  }
  Token end;
  end.kind = Tok::End;
  end.offset = n;
  out.push_back(std::move(end));
  return out;
}

bool isComparison(Tok k) {
  return k == Tok::Eq || k == Tok::Ne || k == Tok::Lt || k == Tok::Le || k == Tok::Gt ||
         k == Tok::Ge;
}

std::string keywordHint(const Token& t) {
  if (t.kind != Tok::Path || t.quoted_path) return {};
  static constexpr std::array<std::string_view, 8> kWords = {"and",  "or",    "not",  "in",
                                                             "true", "false", "null", "exists"};
  for (std::string_view w : kWords) {
    if (t.text.size() != w.size()) continue;
    bool same = true;
    for (size_t k = 0; k < w.size(); ++k) {
      same &= std::tolower(static_cast<unsigned char>(t.text[k])) == w[k];
    }
    if (same) return "keywords are lower case: '" + std::string(w) + "'";
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

class ExprParser {
 public:
  ExprParser(std::string_view src, Expression& out) : src_(src), out_(out), toks_(tokenize(src)) {}

  void run() {
    out_.root_ = parseOr();
    if (peek().kind != Tok::End) {
      std::string hint = keywordHint(peek());
      if (hint.empty()) hint = "join conditions with 'and' / 'or'; quote strings: \"text\"";
      throw ExprSyntaxError(peek().offset,
                            "unexpected " + describe(peek(), src_) + " after a complete condition",
                            hint);
    }
  }

 private:
  using Node = Expression::Node;
  using Op = Expression::Op;
  using Operand = Expression::Operand;
  static constexpr int kMaxDepth = 64;

  const Token& peek(size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  const Token& take() { return toks_[std::min(pos_++, toks_.size() - 1)]; }

  [[noreturn]] void fail(const Token& at, const std::string& message, std::string hint = {}) {
    throw ExprSyntaxError(at.offset, message, std::move(hint));
  }

  uint32_t add(Node n) {
    out_.nodes_.push_back(std::move(n));
    return static_cast<uint32_t>(out_.nodes_.size() - 1);
  }
  uint32_t binary(Op op, uint32_t l, uint32_t r) {
    Node n;
    n.op = op;
    n.left = l;
    n.right = r;
    return add(std::move(n));
  }

  std::string_view keep(std::string s) {
    out_.strings_.push_back(std::move(s));
    return out_.strings_.back();
  }

  struct DepthGuard {
    explicit DepthGuard(ExprParser& p) : p_(p) {
      if (++p_.depth_ > kMaxDepth) p_.fail(p_.peek(), "expression nested too deeply");
    }
    ~DepthGuard() { --p_.depth_; }
    ExprParser& p_;
  };

  uint32_t parseOr() {
    uint32_t left = parseAnd();
    while (peek().kind == Tok::Or) {
      take();
      left = binary(Op::Or, left, parseAnd());
    }
    return left;
  }

  uint32_t parseAnd() {
    uint32_t left = parseNot();
    while (peek().kind == Tok::And) {
      take();
      left = binary(Op::And, left, parseNot());
    }
    return left;
  }

  uint32_t parseNot() {
    DepthGuard guard(*this);
    if (peek().kind == Tok::Not && peek(1).kind != Tok::In) {
      take();
      return binary(Op::Not, parseNot(), 0);
    }
    return parseComparison();
  }

  uint32_t parseComparison() {
    const Token& t = peek();
    if (t.kind == Tok::LParen) {
      take();
      uint32_t inner = parseOr();
      expect(Tok::RParen, "')' to close '('");
      if (isComparison(peek().kind) || peek().kind == Tok::In) {
        fail(peek(), "cannot compare a parenthesised condition",
             "compare a field or value: (a == 1) and b > 2");
      }
      return inner;
    }
    if (t.kind == Tok::Path && !t.quoted_path && t.text == "exists" &&
        peek(1).kind == Tok::LParen) {
      take();
      take();
      const Token& p = peek();
      if (p.kind != Tok::Path) fail(p, "exists() takes a field name", "exists(guardian)");
      take();
      Node n;
      n.op = Op::Exists;
      n.lhs = pathOperand(p);
      expect(Tok::RParen, "')' to close exists(");
      return add(std::move(n));
    }

    Operand lhs = parseOperand();
    const Token& op = peek();
    Node n;
    n.lhs = lhs;
    Tok kind = op.kind;
    if (kind == Tok::Not && peek(1).kind != Tok::In) kind = Tok::End;  // "a not b": caller reports
    switch (kind) {
      case Tok::Eq:
        n.op = Op::Eq;
        break;
      case Tok::Ne:
        n.op = Op::Ne;
        break;
      case Tok::Lt:
        n.op = Op::Lt;
        break;
      case Tok::Le:
        n.op = Op::Le;
        break;
      case Tok::Gt:
        n.op = Op::Gt;
        break;
      case Tok::Ge:
        n.op = Op::Ge;
        break;
      case Tok::In:
        n.op = Op::In;
        break;
      case Tok::Not:  // only "not in" gets here
        n.op = Op::NotIn;
        take();
        break;
      case Tok::Match:
        n.op = Op::Match;
        break;
      case Tok::NotMatch:
        n.op = Op::NotMatch;
        break;
      default: {
        // A bare operand is a condition of its own: `vip`, `true`.
        if (lhs.kind == Operand::Kind::Literal) {
          Node c;
          c.op = Op::Const;
          c.constant = truthy(lhs.literal);
          return add(std::move(c));
        }
        n.op = Op::Truthy;
        return add(std::move(n));
      }
    }
    take();  // the operator

    if (n.op == Op::In || n.op == Op::NotIn) {
      const Token& open = peek();
      if (open.kind != Tok::LBracket) {
        fail(open, "'in' needs a list, found " + describe(open, src_),
             "country in [\"DE\", \"FR\"]");
      }
      take();
      n.left = static_cast<uint32_t>(out_.list_items_.size());
      if (peek().kind != Tok::RBracket) {
        while (true) {
          const Token& item = peek();
          Value v;
          if (!literal(item, v)) {
            fail(item, "list items must be literal values, found " + describe(item, src_),
                 "[\"DE\", \"FR\", 42, null]");
          }
          take();
          out_.list_items_.push_back(v);
          if (peek().kind == Tok::Comma) {
            take();
            continue;
          }
          if (peek().kind == Tok::RBracket) break;
          fail(peek(), "expected ',' or ']' in the list, found " + describe(peek(), src_),
               "separate list items with commas: [\"DE\", \"FR\"]");
        }
      }
      take();  // ]
      n.right = static_cast<uint32_t>(out_.list_items_.size());
      return add(std::move(n));
    }

    if (n.op == Op::Match || n.op == Op::NotMatch) {
      const Token& re = peek();
      if (re.kind != Tok::String) {
        fail(re, "a regular expression must be a quoted string, found " + describe(re, src_),
             "email =~ \"@example\\\\.com$\"");
      }
      re2::RE2::Options options;
      options.set_log_errors(false);
      auto compiled = std::make_shared<const re2::RE2>(re.text, options);
      if (!compiled->ok()) {
        fail(re, "invalid regular expression: " + compiled->error(),
             "the syntax is RE2's (Perl-like: classes, groups, alternation, repetition up to "
             "1000; no back-references or lookaround); escape a backslash in the string as \\\\");
      }
      out_.regexes_.push_back(std::move(compiled));
      take();
      n.left = static_cast<uint32_t>(out_.regexes_.size() - 1);
      return add(std::move(n));
    }

    n.rhs = parseOperand();
    if (isComparison(peek().kind)) {
      fail(peek(), "comparisons do not chain", "write 'a < b and b < c'");
    }
    return add(std::move(n));
  }

  bool literal(const Token& t, Value& v) {
    switch (t.kind) {
      case Tok::String:
        v = Value::string(keep(t.text));
        return true;
      case Tok::Number:
        v = t.number;
        return true;
      case Tok::True:
        v = Value::boolean(true);
        return true;
      case Tok::False:
        v = Value::boolean(false);
        return true;
      case Tok::Null:
        v = Value::null();
        return true;
      default:
        return false;
    }
  }

  Operand pathOperand(const Token& t) {
    std::string hint;
    std::string err = checkPath(t.text, &hint);
    if (!err.empty()) fail(t, err, hint);
    Operand o;
    o.kind = t.text.front() == '$' ? Operand::Kind::Envelope : Operand::Kind::Attribute;
    o.path = keep(t.text);
    bool seen = false;
    for (std::string_view p : out_.paths_) seen |= p == o.path;
    if (!seen) out_.paths_.push_back(o.path);
    return o;
  }

  Operand parseOperand() {
    const Token& t = peek();
    Operand o;
    if (literal(t, o.literal)) {
      take();
      return o;
    }
    if (t.kind == Tok::Path) {
      std::string hint = keywordHint(t);
      if (!hint.empty() && (t.text == "AND" || t.text == "OR" || t.text == "NOT" ||
                            t.text == "And" || t.text == "Or" || t.text == "Not")) {
        fail(t, "expected a value or field, found " + describe(t, src_), hint);
      }
      take();
      return pathOperand(t);
    }
    if (t.kind == Tok::LBracket) {
      fail(t, "a list can only follow 'in' / 'not in'", "country in [\"DE\", \"FR\"]");
    }
    fail(t, "expected a value or field, found " + describe(t, src_),
         t.kind == Tok::End ? "the condition is incomplete" : keywordHint(t));
  }

  void expect(Tok k, const std::string& what) {
    if (peek().kind != k) fail(peek(), "expected " + what + ", found " + describe(peek(), src_));
    take();
  }

  std::string_view src_;
  Expression& out_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

Expression Expression::parse(std::string_view text) {
  Expression e;
  e.text_ = std::string(text);
  {
    bool blank = true;
    for (char c : text) blank &= isSpace(c);
    if (blank) throw ExprSyntaxError(0, "empty condition", "for example: age >= 18");
  }
  ExprParser(e.text_, e).run();
  return e;
}

// ---------------------------------------------------------------------------------------------
// Evaluation (per event; no allocation)
// ---------------------------------------------------------------------------------------------

Value Expression::load(const Operand& o, const event::Event& e) {
  switch (o.kind) {
    case Operand::Kind::Literal:
      return o.literal;
    case Operand::Kind::Attribute: {
      const Value* v = findField(e, o.path);
      return v ? *v : Value::null();
    }
    case Operand::Kind::Envelope: {
      Value v;
      return event::getPath(e, o.path, v) ? v : Value::null();
    }
  }
  return Value::null();
}

bool Expression::eval(uint32_t index, const event::Event& e) const {
  const Node& n = nodes_[index];
  switch (n.op) {
    case Op::Or:
      return eval(n.left, e) || eval(n.right, e);
    case Op::And:
      return eval(n.left, e) && eval(n.right, e);
    case Op::Not:
      return !eval(n.left, e);
    case Op::Const:
      return n.constant;
    case Op::Truthy:
      return truthy(load(n.lhs, e));
    case Op::Exists: {
      if (n.lhs.kind == Operand::Kind::Envelope) {
        Value v;
        return event::getPath(e, n.lhs.path, v);
      }
      const Value* v = findField(e, n.lhs.path);
      if (v) return !v->isNull();
      return e.hasPrefix(n.lhs.path);  // an object: "customer" when "customer.email" exists
    }
    case Op::Eq:
      return equalValues(load(n.lhs, e), load(n.rhs, e));
    case Op::Ne:
      return !equalValues(load(n.lhs, e), load(n.rhs, e));
    case Op::Lt:
      return compareValues(load(n.lhs, e), load(n.rhs, e)) == Ordering::Less;
    case Op::Le: {
      Ordering o = compareValues(load(n.lhs, e), load(n.rhs, e));
      return o == Ordering::Less || o == Ordering::Equal;
    }
    case Op::Gt:
      return compareValues(load(n.lhs, e), load(n.rhs, e)) == Ordering::Greater;
    case Op::Ge: {
      Ordering o = compareValues(load(n.lhs, e), load(n.rhs, e));
      return o == Ordering::Greater || o == Ordering::Equal;
    }
    case Op::In:
    case Op::NotIn: {
      const Value v = load(n.lhs, e);
      bool found = false;
      for (uint32_t i = n.left; i < n.right && !found; ++i) found = equalValues(v, list_items_[i]);
      return n.op == Op::In ? found : !found;
    }
    case Op::Match:
    case Op::NotMatch: {
      const Value v = load(n.lhs, e);
      bool matched = false;
      if (!v.isNull()) {
        std::array<char, 40> buf;
        std::string_view s = textOf(v, buf);
        matched = re2::RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *regexes_[n.left]);
      }
      return n.op == Op::Match ? matched : !matched;
    }
  }
  return false;
}

}  // namespace omniloop::pipeline
