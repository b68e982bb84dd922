#pragma once
// The condition language of `filter` and `route` (reference: docs/stages.md).
//
//   $channel == "crm" and (age >= 18 or exists(guardian)) and country in ["DE", "FR"]
//
// An expression is parsed once, at configuration time, into a flat tree of nodes; evaluation
// walks that tree against one event without allocating (values are string_views into the
// event, the expression or a stack buffer). Regular expressions are compiled once.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace re2 {
class RE2;
}

namespace omniloop::pipeline {

// A syntax error with the byte offset of the offending token in the expression text.
class ExprSyntaxError : public std::runtime_error {
 public:
  ExprSyntaxError(size_t offset, const std::string& message, std::string hint = {})
      : std::runtime_error(message), offset_(offset), hint_(std::move(hint)) {}
  size_t offset() const { return offset_; }
  const std::string& hint() const { return hint_; }

 private:
  size_t offset_;
  std::string hint_;
};

// Comparison semantics shared by the operators (and usable by other stages):
// - null (or a missing field) equals only null and is unordered against everything;
// - numbers compare numerically; a string that parses as a number compares numerically
//   against a number; everything else compares as text (bytewise).
enum class Ordering : uint8_t { Less, Equal, Greater, Unordered };
Ordering compareValues(const event::Value& a, const event::Value& b);
bool equalValues(const event::Value& a, const event::Value& b);
// A decimal number, the whole text (surrounding blanks allowed; no inf/nan/hex). `is_int` when
// it has no fraction or exponent and fits int64.
bool parseNumber(std::string_view text, bool& is_int, int64_t& i, double& d);
// A bare value used as a condition: true, a non-zero number or a non-empty string.
bool truthy(const event::Value& v);

// Event::find with a cheaper comparison for the hot path: sizes, then the last byte (dotted
// paths tend to share prefixes), then the rest.
inline bool samePath(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         (a.empty() || (a.back() == b.back() && std::memcmp(a.data(), b.data(), a.size()) == 0));
}
inline size_t findFieldIndex(const event::Event& e, std::string_view path) {
  const size_t n = e.fields.size();
  for (size_t i = 0; i < n; ++i) {
    if (samePath(e.fields[i].path, path)) return i;
  }
  return n;
}
inline const event::Value* findField(const event::Event& e, std::string_view path) {
  const size_t i = findFieldIndex(e, path);
  return i < e.fields.size() ? &e.fields[i].value : nullptr;
}
inline event::Value* findField(event::Event& e, std::string_view path) {
  const size_t i = findFieldIndex(e, path);
  return i < e.fields.size() ? &e.fields[i].value : nullptr;
}

// "" when `path` is a valid field path: an attribute ("customer.email": no empty segment) or
// a known envelope path ($id $key $source $channel $type $occurred_at $identities.<type>
// $consent.<purpose>); otherwise what is wrong, with advice in `hint`.
std::string checkPath(std::string_view path, std::string* hint = nullptr);

class Expression {
 public:
  // Throws ExprSyntaxError (with the offset of the bad token) on invalid input.
  static Expression parse(std::string_view text);

  Expression(Expression&&) = default;
  Expression& operator=(Expression&&) = default;
  Expression(const Expression&) = delete;  // nodes hold views into owned storage
  Expression& operator=(const Expression&) = delete;

  bool evaluate(const event::Event& e) const { return eval(root_, e); }
  const std::string& text() const { return text_; }
  // Every field path the expression reads, in order of appearance (duplicates removed).
  const std::vector<std::string_view>& paths() const { return paths_; }

 private:
  friend class ExprParser;
  Expression() = default;

  enum class Op : uint8_t {
    Or,
    And,
    Not,
    Const,
    Truthy,
    Exists,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Match,
    NotMatch,
  };
  struct Operand {
    enum class Kind : uint8_t { Literal, Attribute, Envelope };
    Kind kind = Kind::Literal;
    event::Value literal;
    std::string_view path;
  };
  struct Node {
    Op op = Op::Const;
    bool constant = false;  // Const
    uint32_t left = 0;      // Or/And/Not: child node; In/NotIn: first list item; Match: regex
    uint32_t right = 0;     // Or/And: child node; In/NotIn: one past the last list item
    Operand lhs;
    Operand rhs;
  };

  bool eval(uint32_t node, const event::Event& e) const;
  static event::Value load(const Operand& o, const event::Event& e);

  std::string text_;
  std::deque<std::string> strings_;  // paths and string literals (stable addresses)
  std::vector<Node> nodes_;
  std::vector<event::Value> list_items_;
  // RE2: matching takes time linear in the value and no stack (std::regex backtracks and
  // recurses per character, so a pattern or a value could stall or crash the pipeline).
  std::vector<std::shared_ptr<const re2::RE2>> regexes_;
  std::vector<std::string_view> paths_;
  uint32_t root_ = 0;
};

}  // namespace omniloop::pipeline
