#pragma once
// A small owning JSON tree for schemas (internal to config/). Parsed with simdjson's DOM.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniloop::config {

struct JsonMember;

struct JsonValue {
  enum class Kind { Null, Bool, Int, Double, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;
  std::vector<JsonValue> items;  // Array
  // Object, in document order. (A named struct rather than std::pair<std::string, JsonValue>:
  // clang rejects instantiating that pair while JsonValue is still incomplete.)
  std::vector<JsonMember> members;

  bool isObject() const { return kind == Kind::Object; }
  bool isArray() const { return kind == Kind::Array; }
  bool isString() const { return kind == Kind::String; }
  bool isBool() const { return kind == Kind::Bool; }
  bool isNumber() const { return kind == Kind::Int || kind == Kind::Double; }
  double asDouble() const { return kind == Kind::Int ? static_cast<double>(integer) : number; }
  // Member `key` of an object, or nullptr.
  const JsonValue* get(std::string_view key) const;
};

struct JsonMember {
  JsonMember() = default;
  JsonMember(std::string key, JsonValue value) : first(std::move(key)), second(std::move(value)) {}
  std::string first;
  JsonValue second;
};

// Throws std::invalid_argument on malformed JSON.
JsonValue parseJson(std::string_view text);

// Shortest round-trip form; non-finite values become null.
void appendJsonNumber(std::string& out, double d);
// Compact JSON text of `v`.
void appendJson(std::string& out, const JsonValue& v);

}  // namespace omniloop::config
