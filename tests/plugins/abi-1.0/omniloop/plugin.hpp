// omniloop C++ SDK — a header-only C++17 layer over the plugin C ABI (omniloop/plugin.h).
//
// A connector is one class and one macro:
//
//   #include <omniloop/plugin.hpp>
//   namespace sdk = omniloop::sdk;
//
//   class Counter : public sdk::SourceBase {
//    public:
//     explicit Counter(const sdk::Config& cfg) : n_(cfg.integer("count", 10)) {}
//     ol_status read(sdk::BatchWriter& out, size_t) override {
//       for (; i_ < n_; ++i_) {
//         auto ev = out.append();
//         if (!ev) break;                                 // batch full: come back later
//         ev.key(std::to_string(i_)).type("demo.tick").i64("n", i_);
//       }
//       out.cursor(std::to_string(i_));
//       return i_ < n_ ? OL_OK : OL_END;
//     }
//     void resume(std::string_view cursor) override { i_ = std::stoll(std::string(cursor)); }
//    private:
//     int64_t n_, i_ = 0;
//   };
//
//   OMNILOOP_PLUGIN("com.example.demo", "1.0.0",
//                   OMNILOOP_SOURCE(Counter, "demo.counter", "Emits N numbered events",
//                                   R"({"type":"object","properties":{"count":{"type":"integer"}}})"))
//
// Rules this header enforces for you
//  - Every callback the macros generate is noexcept at the C boundary: sdk::Retry becomes
//    OL_RETRY, any other std::exception becomes OL_ERROR with its what() in the host's error
//    buffer, anything else becomes OL_ERROR "unknown exception".
//  - A component class is constructed from its Config (constructor taking `const Config&`, or
//    `const Host&, const Config&`, or none). host() is already usable inside the constructor.
//    Throw sdk::Error from the constructor to reject a configuration.
//  - The host calls one component instance from one thread at a time; different instances may
//    run on different threads. Keep per-instance state in members, not in globals.
//  - Views (EventView, BatchView, Value strings) borrow host memory for the duration of the
//    callback only. Copy what must outlive it.
#ifndef OMNILOOP_PLUGIN_HPP
#define OMNILOOP_PLUGIN_HPP

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "omniloop/plugin.h"

namespace omniloop::sdk {

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

// A permanent failure: the callback returns OL_ERROR with what() as the message.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A transient failure (database down, HTTP 503): the callback returns OL_RETRY and the host
// calls again later with backoff.
struct Retry : Error {
  using Error::Error;
};

// ---------------------------------------------------------------------------------------------
// JSON helpers
// ---------------------------------------------------------------------------------------------

// Appends `s` as a quoted JSON string (", \\ and control characters escaped; UTF-8 kept).
inline void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the current run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

inline std::string jsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  appendJsonString(out, s);
  return out;
}

// A parsed JSON document (configuration-time only; not meant for the per-event path).
class JsonValue {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;

  // Throws sdk::Error("invalid JSON at offset N: ...") on malformed input.
  static JsonValue parse(std::string_view text);

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }
  bool isBool() const { return type_ == Type::Bool; }
  bool isNumber() const { return type_ == Type::Number; }
  bool isString() const { return type_ == Type::String; }
  bool isArray() const { return type_ == Type::Array; }
  bool isObject() const { return type_ == Type::Object; }

  bool boolValue() const { return bool_; }
  double numberValue() const { return number_; }
  // Numbers keep their source text so large integers stay exact.
  const std::string& text() const { return text_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }

  // Object member by exact key; nullptr when absent or not an object.
  const JsonValue* member(std::string_view key) const {
    if (type_ != Type::Object) return nullptr;
    for (const auto& m : members_) {
      if (m.first == key) return &m.second;
    }
    return nullptr;
  }

  // Integral value of a number; nullopt when not a number, fractional or out of range.
  std::optional<int64_t> asInt64() const {
    if (type_ != Type::Number) return std::nullopt;
    if (text_.find_first_of(".eE") == std::string::npos) {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(text_.c_str(), &end, 10);
      if (errno == ERANGE || end != text_.c_str() + text_.size()) return std::nullopt;
      return static_cast<int64_t>(v);
    }
    if (std::trunc(number_) != number_ || number_ < -9.2233720368547758e18 ||
        number_ >= 9.2233720368547758e18) {
      return std::nullopt;
    }
    return static_cast<int64_t>(number_);
  }

  // Compact JSON text of this value.
  void dump(std::string& out) const {
    switch (type_) {
      case Type::Null:
        out.append("null");
        break;
      case Type::Bool:
        out.append(bool_ ? "true" : "false");
        break;
      case Type::Number:
        out.append(text_);
        break;
      case Type::String:
        appendJsonString(out, text_);
        break;
      case Type::Array:
        out.push_back('[');
        for (size_t i = 0; i < items_.size(); ++i) {
          if (i) out.push_back(',');
          items_[i].dump(out);
        }
        out.push_back(']');
        break;
      case Type::Object:
        out.push_back('{');
        for (size_t i = 0; i < members_.size(); ++i) {
          if (i) out.push_back(',');
          appendJsonString(out, members_[i].first);
          out.push_back(':');
          members_[i].second.dump(out);
        }
        out.push_back('}');
        break;
    }
  }

 private:
  friend class JsonParser;
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0.0;
  std::string text_;  // String: the decoded string; Number: the literal
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

// Strict RFC 8259 recursive-descent parser with a nesting limit.
class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  JsonValue parseDocument() {
    JsonValue v = parseValue(0);
    skipSpace();
    if (pos_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void fail(const char* what) const {
    throw Error("invalid JSON at offset " + std::to_string(pos_) + ": " + what);
  }

  void skipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expectLiteral(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) fail("unknown literal");
    pos_ += word.size();
  }

  JsonValue parseValue(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    skipSpace();
    if (pos_ >= s_.size()) fail("unexpected end of input");
    JsonValue v;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v.type_ = JsonValue::Type::Object;
      if (consume('}')) return v;
      do {
        skipSpace();
        if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string key");
        std::string key = parseString();
        if (!consume(':')) fail("expected ':'");
        v.members_.emplace_back(std::move(key), parseValue(depth + 1));
      } while (consume(','));
      if (!consume('}')) fail("expected ',' or '}'");
    } else if (c == '[') {
      ++pos_;
      v.type_ = JsonValue::Type::Array;
      if (consume(']')) return v;
      do {
        v.items_.push_back(parseValue(depth + 1));
      } while (consume(','));
      if (!consume(']')) fail("expected ',' or ']'");
    } else if (c == '"') {
      v.type_ = JsonValue::Type::String;
      v.text_ = parseString();
    } else if (c == 't') {
      expectLiteral("true");
      v.type_ = JsonValue::Type::Bool;
      v.bool_ = true;
    } else if (c == 'f') {
      expectLiteral("false");
      v.type_ = JsonValue::Type::Bool;
    } else if (c == 'n') {
      expectLiteral("null");
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      parseNumber(v);
    } else {
      fail("unexpected character");
    }
    return v;
  }

  static bool isDigit(char c) { return c >= '0' && c <= '9'; }

  void parseNumber(JsonValue& v) {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !isDigit(s_[pos_])) fail("expected a digit");
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && isDigit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (pos_ >= s_.size() || !isDigit(s_[pos_])) fail("expected a digit after '.'");
      while (pos_ < s_.size() && isDigit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !isDigit(s_[pos_])) fail("expected a digit in the exponent");
      while (pos_ < s_.size() && isDigit(s_[pos_])) ++pos_;
    }
    v.type_ = JsonValue::Type::Number;
    v.text_.assign(s_.data() + start, pos_ - start);
    v.number_ = std::strtod(v.text_.c_str(), nullptr);
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= unsigned(c - 'A' + 10);
      else
        fail("bad hex digit in \\u escape");
    }
    return v;
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
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

  // At an opening quote; returns the decoded string.
  std::string parseString() {
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") fail("lone high surrogate");
            pos_ += 2;
            const uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone low surrogate");
          }
          appendUtf8(out, cp);
          break;
        }
        default:
          fail("unknown escape");
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

inline JsonValue JsonValue::parse(std::string_view text) {
  return JsonParser(text).parseDocument();
}

// ---------------------------------------------------------------------------------------------
// Config: the instance's `with:` block
// ---------------------------------------------------------------------------------------------

// Read-only access to the component's configuration object. The host has already validated it
// against the component's JSON Schema, so a wrong type here means schema and code disagree;
// it throws sdk::Error naming the option. Keys may be dotted to reach nested objects
// ("tls.ca_file") unless an exact top-level key matches.
class Config {
 public:
  Config() { root_ = JsonValue::parse("{}"); }
  explicit Config(JsonValue root) : root_(std::move(root)) {
    if (!root_.isObject()) throw Error("configuration must be a JSON object");
  }
  // Empty text is an empty object.
  static Config parse(std::string_view json) {
    size_t i = 0;
    while (i < json.size() &&
           (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r')) {
      ++i;
    }
    if (i == json.size()) return Config();
    JsonValue root = JsonValue::parse(json);
    if (root.isNull()) return Config();
    return Config(std::move(root));
  }

  const JsonValue& root() const { return root_; }

  const JsonValue* find(std::string_view key) const {
    if (const JsonValue* v = root_.member(key)) return v;
    const JsonValue* cur = &root_;
    while (cur) {
      const size_t dot = key.find('.');
      if (dot == std::string_view::npos) return cur->member(key);
      cur = cur->member(key.substr(0, dot));
      key.remove_prefix(dot + 1);
    }
    return nullptr;
  }

  bool has(std::string_view key) const {
    const JsonValue* v = find(key);
    return v && !v->isNull();
  }

  std::string str(std::string_view key) const { return stringOf(key, require(key)); }
  std::string str(std::string_view key, std::string_view fallback) const {
    const JsonValue* v = find(key);
    return v && !v->isNull() ? stringOf(key, *v) : std::string(fallback);
  }

  int64_t integer(std::string_view key) const { return integerOf(key, require(key)); }
  int64_t integer(std::string_view key, int64_t fallback) const {
    const JsonValue* v = find(key);
    return v && !v->isNull() ? integerOf(key, *v) : fallback;
  }

  double number(std::string_view key, double fallback) const {
    const JsonValue* v = find(key);
    if (!v || v->isNull()) return fallback;
    if (!v->isNumber()) throw typeError(key, "a number");
    return v->numberValue();
  }

  bool boolean(std::string_view key, bool fallback) const {
    const JsonValue* v = find(key);
    if (!v || v->isNull()) return fallback;
    if (!v->isBool()) throw typeError(key, "true or false");
    return v->boolValue();
  }

  // An array of strings; a single string counts as a list of one; absent -> empty.
  std::vector<std::string> strings(std::string_view key) const {
    std::vector<std::string> out;
    const JsonValue* v = find(key);
    if (!v || v->isNull()) return out;
    if (v->isString()) {
      out.push_back(v->text());
      return out;
    }
    if (!v->isArray()) throw typeError(key, "a list of strings");
    for (const auto& item : v->items()) {
      if (!item.isString()) throw typeError(key, "a list of strings");
      out.push_back(item.text());
    }
    return out;
  }

  // A nested object as its own Config (empty when absent).
  Config object(std::string_view key) const {
    const JsonValue* v = find(key);
    if (!v || v->isNull()) return Config();
    if (!v->isObject()) throw typeError(key, "an object");
    return Config(*v);
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& m : root_.members()) out.push_back(m.first);
    return out;
  }

 private:
  static Error typeError(std::string_view key, const char* expected) {
    return Error("option '" + std::string(key) + "' must be " + expected);
  }
  const JsonValue& require(std::string_view key) const {
    const JsonValue* v = find(key);
    if (!v || v->isNull()) throw Error("option '" + std::string(key) + "' is required");
    return *v;
  }
  static std::string stringOf(std::string_view key, const JsonValue& v) {
    if (!v.isString()) throw typeError(key, "a string");
    return v.text();
  }
  static int64_t integerOf(std::string_view key, const JsonValue& v) {
    const auto i = v.asInt64();
    if (!i) throw typeError(key, "an integer");
    return *i;
  }

  JsonValue root_;
};

// ---------------------------------------------------------------------------------------------
// Host services
// ---------------------------------------------------------------------------------------------

enum class LogLevel : int {
  Trace = OL_LOG_TRACE,
  Debug = OL_LOG_DEBUG,
  Info = OL_LOG_INFO,
  Warn = OL_LOG_WARN,
  Error = OL_LOG_ERROR
};

// The host API table plus this instance's context. Cheap to copy; valid for the life of the
// component instance.
class Host {
 public:
  Host() = default;
  Host(const ol_host_api* api, void* ctx) : api_(api), ctx_(ctx) {}

  const ol_host_api* api() const { return api_; }
  void* ctx() const { return ctx_; }
  explicit operator bool() const { return api_ != nullptr; }

  // Never log personal data: ids, counts and hashes only.
  void log(LogLevel level, std::string_view msg) const {
    if (api_ && api_->log) api_->log(ctx_, static_cast<int>(level), msg.data(), msg.size());
  }
  void trace(std::string_view msg) const { log(LogLevel::Trace, msg); }
  void debug(std::string_view msg) const { log(LogLevel::Debug, msg); }
  void info(std::string_view msg) const { log(LogLevel::Info, msg); }
  void warn(std::string_view msg) const { log(LogLevel::Warn, msg); }
  void error(std::string_view msg) const { log(LogLevel::Error, msg); }

  // Adds `delta` to the plugin counter `name` (exported as a metric).
  void counter(std::string_view name, int64_t delta = 1) const {
    if (api_ && api_->counter_add) api_->counter_add(ctx_, name.data(), name.size(), delta);
  }

 private:
  const ol_host_api* api_ = nullptr;
  void* ctx_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Values and events
// ---------------------------------------------------------------------------------------------

// A borrowed typed value (strings point into host memory for the current callback).
class Value {
 public:
  enum class Type {
    Null = OL_NULL,
    Bool = OL_BOOL,
    Int = OL_INT,
    Double = OL_DOUBLE,
    String = OL_STRING,
    Json = OL_JSON
  };

  Value() { std::memset(&v_, 0, sizeof v_); }
  explicit Value(const ol_value& v) : v_(v) {}

  Type type() const { return static_cast<Type>(v_.type); }
  bool isNull() const { return v_.type == OL_NULL; }
  bool isBool() const { return v_.type == OL_BOOL; }
  bool isInt() const { return v_.type == OL_INT; }
  bool isDouble() const { return v_.type == OL_DOUBLE; }
  bool isNumber() const { return isInt() || isDouble(); }
  bool isString() const { return v_.type == OL_STRING; }
  bool isJson() const { return v_.type == OL_JSON; }

  // Typed accessors throw sdk::Error on a type mismatch.
  bool asBool() const {
    if (!isBool()) throw Error("value is not a boolean");
    return v_.bool_value != 0;
  }
  int64_t asInt() const {
    if (!isInt()) throw Error("value is not an integer");
    return v_.int_value;
  }
  double asDouble() const {
    if (isInt()) return static_cast<double>(v_.int_value);
    if (!isDouble()) throw Error("value is not a number");
    return v_.double_value;
  }
  // String text, or the raw JSON text of a Json value.
  std::string_view asString() const {
    if (!isString() && !isJson()) throw Error("value is not a string");
    return v_.str ? std::string_view(v_.str, v_.str_len) : std::string_view();
  }

  // Text form: "true", "42", "3.5", the string itself, "" for null.
  std::string toText() const {
    switch (v_.type) {
      case OL_BOOL:
        return v_.bool_value ? "true" : "false";
      case OL_INT:
        return std::to_string(v_.int_value);
      case OL_DOUBLE:
        return doubleText(v_.double_value);
      case OL_STRING:
      case OL_JSON:
        return std::string(asString());
      default:
        return std::string();
    }
  }

  // Appends the value as JSON (strings quoted, Json verbatim, non-finite doubles as null).
  void appendJson(std::string& out) const {
    switch (v_.type) {
      case OL_BOOL:
        out.append(v_.bool_value ? "true" : "false");
        break;
      case OL_INT:
        out.append(std::to_string(v_.int_value));
        break;
      case OL_DOUBLE:
        if (std::isfinite(v_.double_value))
          out.append(doubleText(v_.double_value));
        else
          out.append("null");
        break;
      case OL_STRING:
        appendJsonString(out, asString());
        break;
      case OL_JSON:
        out.append(asString());
        break;
      default:
        out.append("null");
    }
  }

  const ol_value& raw() const { return v_; }

 private:
  // Shortest of %.15g / %.17g that reads back as the same double.
  static std::string doubleText(double d) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.15g", d);
    if (std::strtod(buf, nullptr) != d) n = std::snprintf(buf, sizeof buf, "%.17g", d);
    return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  }
  ol_value v_;
};

struct Field {
  std::string_view path;
  Value value;
};

enum class Disposition { Keep = OL_KEEP, Drop = OL_DROP, DeadLetter = OL_DEAD_LETTER };
enum class Consent { Granted, Denied, Unknown };

namespace detail {

inline std::string_view consentText(Consent c) {
  switch (c) {
    case Consent::Granted:
      return "granted";
    case Consent::Denied:
      return "denied";
    default:
      return "unknown";
  }
}

// Setters shared by EventBuilder (sources) and EventView (stages). Each returns *this for
// chaining. Strings are copied by the host into the batch arena.
template <class Derived>
class EventSetters {
 public:
  Derived& key(std::string_view v) { return call(&ol_host_api::event_set_key, v.data(), v.size()); }
  Derived& type(std::string_view v) {
    return call(&ol_host_api::event_set_type, v.data(), v.size());
  }
  Derived& channel(std::string_view v) {
    return call(&ol_host_api::event_set_channel, v.data(), v.size());
  }
  // Microseconds since the Unix epoch, UTC.
  Derived& time(int64_t unix_micros) { return call(&ol_host_api::event_set_time, unix_micros); }
  Derived& identity(std::string_view type, std::string_view value) {
    return call(&ol_host_api::event_add_identity, type.data(), type.size(), value.data(),
                value.size());
  }
  // status: "granted" | "denied" | "unknown"
  Derived& consent(std::string_view purpose, std::string_view status) {
    return call(&ol_host_api::event_set_consent, purpose.data(), purpose.size(), status.data(),
                status.size());
  }
  Derived& consent(std::string_view purpose, Consent status) {
    return consent(purpose, consentText(status));
  }
  Derived& str(std::string_view path, std::string_view v) {
    return call(&ol_host_api::event_set_string, path.data(), path.size(), v.data(), v.size());
  }
  Derived& i64(std::string_view path, int64_t v) {
    return call(&ol_host_api::event_set_int, path.data(), path.size(), v);
  }
  Derived& f64(std::string_view path, double v) {
    return call(&ol_host_api::event_set_double, path.data(), path.size(), v);
  }
  Derived& boolean(std::string_view path, bool v) {
    return call(&ol_host_api::event_set_bool, path.data(), path.size(), v ? 1 : 0);
  }
  Derived& null(std::string_view path) {
    return call(&ol_host_api::event_set_null, path.data(), path.size());
  }
  // Raw JSON text (array or object) kept whole and emitted verbatim.
  Derived& json(std::string_view path, std::string_view json_text) {
    return call(&ol_host_api::event_set_json, path.data(), path.size(), json_text.data(),
                json_text.size());
  }

 private:
  template <class Fn, class... Args>
  Derived& call(Fn ol_host_api::*fn, Args... args) {
    auto* self = static_cast<Derived*>(this);
    if (!self->ev_) throw Error("event handle is empty (the batch was full)");
    (self->api_->*fn)(self->ev_, args...);
    return *self;
  }
};

}  // namespace detail

// A new event in a source's batch. Empty (false) when the batch was full; check before use.
class EventBuilder : public detail::EventSetters<EventBuilder> {
 public:
  EventBuilder() = default;
  EventBuilder(const ol_host_api* api, ol_event* ev) : api_(api), ev_(ev) {}

  explicit operator bool() const { return ev_ != nullptr; }
  ol_event* handle() const { return ev_; }

  // Marks a record that could not be parsed: keeps its raw bytes and dead-letters the event
  // with `reason` (set key() too so the record can be found).
  EventBuilder& deadLetter(std::string_view raw, std::string_view reason) {
    if (!ev_) throw Error("event handle is empty (the batch was full)");
    api_->event_dead_letter(ev_, raw.data(), raw.size(), reason.data(), reason.size());
    return *this;
  }

 private:
  friend class detail::EventSetters<EventBuilder>;
  const ol_host_api* api_ = nullptr;
  ol_event* ev_ = nullptr;
};

// The writer a source's read() fills. Hands out at most `max` new events per read call.
class BatchWriter {
 public:
  BatchWriter(const ol_host_api* api, ol_batch* batch, size_t max)
      : api_(api), batch_(batch), max_(max) {}

  // A new event, or an empty builder when `max` events were appended or the batch is full.
  EventBuilder append() {
    if (appended_ >= max_) return EventBuilder();
    ol_event* ev = api_->event_append(batch_);
    if (!ev) {
      max_ = appended_;  // the host's batch is full: stop handing out events
      return EventBuilder();
    }
    ++appended_;
    return EventBuilder(api_, ev);
  }
  // Removes the last appended event (a record that turned out to be unusable).
  void discardLast() {
    if (appended_ == 0) return;
    api_->event_discard_last(batch_);
    --appended_;
  }
  // The position after the last appended event; committed with the batch.
  void cursor(std::string_view c) { api_->batch_set_cursor(batch_, c.data(), c.size()); }

  size_t size() const { return api_->batch_size(batch_); }  // events in the batch
  size_t appended() const { return appended_; }             // appended through this writer
  size_t remaining() const { return max_ - appended_; }
  bool full() const { return appended_ >= max_; }
  ol_batch* handle() const { return batch_; }

 private:
  const ol_host_api* api_;
  ol_batch* batch_;
  size_t max_;
  size_t appended_ = 0;
};

// A host-owned event seen by a stage or a sink. Reads, and (in stages) modifies in place.
class EventView : public detail::EventSetters<EventView> {
 public:
  EventView(const ol_host_api* api, ol_event* ev) : api_(api), ev_(ev) {}

  // Attribute by dotted path or envelope path ("$id", "$type", "$identities.email", ...).
  std::optional<Value> get(std::string_view path) const {
    ol_value v;
    std::memset(&v, 0, sizeof v);
    if (!api_->event_get(ev_, path.data(), path.size(), &v)) return std::nullopt;
    return Value(v);
  }
  bool has(std::string_view path) const { return get(path).has_value(); }
  // The text form of a path, or `fallback` when absent.
  std::string text(std::string_view path, std::string_view fallback = {}) const {
    const auto v = get(path);
    return v ? v->toText() : std::string(fallback);
  }

  size_t fieldCount() const { return api_->event_field_count(ev_); }
  Field field(size_t i) const {
    ol_field f;
    std::memset(&f, 0, sizeof f);
    if (!api_->event_field_at(ev_, i, &f)) throw Error("field index out of range");
    return Field{f.path ? std::string_view(f.path, f.path_len) : std::string_view(),
                 Value(f.value)};
  }

  class FieldIterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Field;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Field;
    FieldIterator(const EventView* ev, size_t i) : ev_(ev), i_(i) {}
    Field operator*() const { return ev_->field(i_); }
    FieldIterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const FieldIterator& o) const { return i_ == o.i_; }
    bool operator!=(const FieldIterator& o) const { return i_ != o.i_; }

   private:
    const EventView* ev_;
    size_t i_;
  };
  struct FieldRange {
    const EventView* ev;
    FieldIterator begin() const { return FieldIterator(ev, 0); }
    FieldIterator end() const { return FieldIterator(ev, ev->fieldCount()); }
  };
  // for (const sdk::Field& f : ev.fields()) ...
  FieldRange fields() const { return FieldRange{this}; }

  void remove(std::string_view path) { api_->event_remove(ev_, path.data(), path.size()); }

  Disposition disposition() const { return static_cast<Disposition>(api_->event_disposition(ev_)); }
  // Only Keep events should be written by a sink.
  bool live() const { return api_->event_disposition(ev_) == OL_KEEP; }
  void setDisposition(Disposition d, std::string_view reason = {}) {
    api_->event_set_disposition(ev_, static_cast<int>(d), reason.data(), reason.size());
  }
  void drop(std::string_view reason) { setDisposition(Disposition::Drop, reason); }
  void deadLetter(std::string_view reason) { setDisposition(Disposition::DeadLetter, reason); }

  // Appends the whole event (envelope + nested attributes) as one JSON object. Reuses the
  // string's capacity, so a sink that keeps one buffer allocates nothing in steady state.
  void appendJson(std::string& out) const {
    const size_t old = out.size();
    size_t avail = out.capacity() - old;
    if (avail < 256) avail = 256;
    out.resize(old + avail);
    size_t n = api_->event_to_json(ev_, &out[old], avail);
    if (n > avail) {
      out.resize(old + n);
      n = api_->event_to_json(ev_, &out[old], n);
    }
    out.resize(old + n);
  }
  // Replaces `out` with the event's JSON.
  void toJson(std::string& out) const {
    out.clear();
    appendJson(out);
  }

  ol_event* handle() const { return ev_; }

 private:
  friend class detail::EventSetters<EventView>;
  const ol_host_api* api_;
  ol_event* ev_;
};

// The batch a stage or sink receives. Iterates as EventView.
class BatchView {
 public:
  BatchView(const ol_host_api* api, ol_batch* batch) : api_(api), batch_(batch) {}

  size_t size() const { return api_->batch_size(batch_); }
  bool empty() const { return size() == 0; }
  EventView operator[](size_t i) const { return EventView(api_, api_->batch_event(batch_, i)); }

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = EventView;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = EventView;
    Iterator(const BatchView* b, size_t i) : b_(b), i_(i) {}
    EventView operator*() const { return (*b_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    const BatchView* b_;
    size_t i_;
  };
  // for (sdk::EventView ev : batch) { if (!ev.live()) continue; ... }
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

  ol_batch* handle() const { return batch_; }

 private:
  const ol_host_api* api_;
  ol_batch* batch_;
};

// ---------------------------------------------------------------------------------------------
// Component base classes
// ---------------------------------------------------------------------------------------------

namespace detail {
// The Host of the instance being constructed (so base classes can pick it up without every
// constructor having to pass it along).
inline Host& constructingHost() {
  thread_local Host host;
  return host;
}
class ConstructionScope {
 public:
  explicit ConstructionScope(Host h) : saved_(constructingHost()) { constructingHost() = h; }
  ~ConstructionScope() { constructingHost() = saved_; }
  ConstructionScope(const ConstructionScope&) = delete;
  ConstructionScope& operator=(const ConstructionScope&) = delete;

 private:
  Host saved_;
};
}  // namespace detail

class ComponentBase {
 public:
  virtual ~ComponentBase() = default;
  ComponentBase(const ComponentBase&) = delete;
  ComponentBase& operator=(const ComponentBase&) = delete;

  const Host& host() const { return host_; }

 protected:
  ComponentBase() : host_(detail::constructingHost()) {}

 private:
  Host host_;
};

class SourceBase : public ComponentBase {
 public:
  // Restore the position from a committed cursor; called at most once, before the first read.
  virtual void resume(std::string_view cursor) { (void)cursor; }
  // Append up to `max` events and set the cursor. Return OL_OK (appended, maybe none), OL_IDLE
  // (nothing now), OL_END (finished). Throw sdk::Retry / sdk::Error for failures.
  virtual ol_status read(BatchWriter& out, size_t max) = 0;
};

class StageBase : public ComponentBase {
 public:
  // Transform the batch in place: set fields, drop or dead-letter events.
  virtual void process(BatchView& batch) = 0;
};

class SinkBase : public ComponentBase {
 public:
  // Write every live (Keep) event of the batch.
  virtual void write(BatchView& batch) = 0;
  // Make writes durable; called before the host commits the batch's cursor.
  virtual void flush() {}
};

// ---------------------------------------------------------------------------------------------
// C callbacks generated for a component class (used by the OMNILOOP_* macros)
// ---------------------------------------------------------------------------------------------

namespace detail {

inline void writeError(char* err, size_t cap, std::string_view msg) noexcept {
  if (!err || cap == 0) return;
  const size_t n = msg.size() < cap - 1 ? msg.size() : cap - 1;
  if (n) std::memcpy(err, msg.data(), n);
  err[n] = '\0';
}

// Runs `fn` and turns any exception into a status code plus a message.
template <class Fn>
int guard(char* err, size_t cap, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const Retry& e) {
    writeError(err, cap, e.what());
    return OL_RETRY;
  } catch (const std::exception& e) {
    writeError(err, cap, e.what());
    return OL_ERROR;
  } catch (...) {
    writeError(err, cap, "unknown exception");
    return OL_ERROR;
  }
}

template <class T>
T* construct(const Host& host, const Config& config) {
  (void)host;
  (void)config;
  if constexpr (std::is_constructible_v<T, const Host&, const Config&>) {
    return new T(host, config);
  } else if constexpr (std::is_constructible_v<T, const Config&>) {
    return new T(config);
  } else {
    static_assert(std::is_default_constructible_v<T>,
                  "a component needs a constructor taking (const sdk::Config&), "
                  "(const sdk::Host&, const sdk::Config&) or nothing");
    return new T();
  }
}

template <class T>
int create(const ol_host_api* api, void* ctx, const char* config_json, size_t config_len,
           void** instance, char* err, size_t err_cap) noexcept {
  return guard(err, err_cap, [&]() -> int {
    if (!instance) throw Error("create called without an instance slot");
    *instance = nullptr;
    if (!api) throw Error("create called without a host API");
    const Config config =
        Config::parse(config_json ? std::string_view(config_json, config_len) : std::string_view());
    const Host host(api, ctx);
    ConstructionScope scope(host);
    *instance = static_cast<void*>(construct<T>(host, config));
    return OL_OK;
  });
}

template <class T>
void destroy(void* instance) noexcept {
  try {
    delete static_cast<T*>(instance);
  } catch (...) {
    // A destructor that throws has nowhere to report to; the instance is gone either way.
  }
}

template <class T>
int resume(void* instance, const char* cursor, size_t len, char* err, size_t err_cap) noexcept {
  return guard(err, err_cap, [&]() -> int {
    static_cast<T*>(instance)->resume(cursor ? std::string_view(cursor, len) : std::string_view());
    return OL_OK;
  });
}

template <class T>
int read(void* instance, ol_batch* batch, size_t max_events, char* err, size_t err_cap) noexcept {
  return guard(err, err_cap, [&]() -> int {
    T* self = static_cast<T*>(instance);
    BatchWriter writer(self->host().api(), batch, max_events);
    return static_cast<int>(self->read(writer, max_events));
  });
}

template <class T>
int process(void* instance, ol_batch* batch, char* err, size_t err_cap) noexcept {
  return guard(err, err_cap, [&]() -> int {
    T* self = static_cast<T*>(instance);
    BatchView view(self->host().api(), batch);
    self->process(view);
    return OL_OK;
  });
}

template <class T>
int write(void* instance, ol_batch* batch, char* err, size_t err_cap) noexcept {
  return guard(err, err_cap, [&]() -> int {
    T* self = static_cast<T*>(instance);
    BatchView view(self->host().api(), batch);
    self->write(view);
    return OL_OK;
  });
}

template <class T>
int flush(void* instance, char* err, size_t err_cap) noexcept {
  return guard(err, err_cap, [&]() -> int {
    static_cast<T*>(instance)->flush();
    return OL_OK;
  });
}

template <class T>
constexpr ol_component baseComponent(ol_component_kind kind, const char* type,
                                     const char* description, const char* schema) {
  ol_component c{};
  c.size = sizeof(ol_component);
  c.kind = static_cast<uint32_t>(kind);
  c.type = type;
  c.description = description;
  c.config_schema = schema;
  c.create = &create<T>;
  c.destroy = &destroy<T>;
  return c;
}

template <class T>
constexpr ol_component sourceComponent(const char* type, const char* description,
                                       const char* schema) {
  static_assert(std::is_base_of_v<SourceBase, T>, "OMNILOOP_SOURCE needs a sdk::SourceBase");
  ol_component c = baseComponent<T>(OL_SOURCE, type, description, schema);
  c.resume = &resume<T>;
  c.read = &read<T>;
  return c;
}

template <class T>
constexpr ol_component stageComponent(const char* type, const char* description,
                                      const char* schema) {
  static_assert(std::is_base_of_v<StageBase, T>, "OMNILOOP_STAGE needs a sdk::StageBase");
  ol_component c = baseComponent<T>(OL_STAGE, type, description, schema);
  c.process = &process<T>;
  return c;
}

template <class T>
constexpr ol_component sinkComponent(const char* type, const char* description,
                                     const char* schema) {
  static_assert(std::is_base_of_v<SinkBase, T>, "OMNILOOP_SINK needs a sdk::SinkBase");
  ol_component c = baseComponent<T>(OL_SINK, type, description, schema);
  c.write = &write<T>;
  c.flush = &flush<T>;
  return c;
}

constexpr ol_plugin_descriptor descriptor(const char* name, const char* version,
                                          const ol_component* components, size_t count) {
  ol_plugin_descriptor d{};
  d.size = sizeof(ol_plugin_descriptor);
  d.abi_major = OMNILOOP_ABI_MAJOR;
  d.abi_minor = OMNILOOP_ABI_MINOR;
  d.name = name;
  d.version = version;
  d.component_count = count;
  d.components = components;
  return d;
}

}  // namespace detail
}  // namespace omniloop::sdk

// ---------------------------------------------------------------------------------------------
// Macros
// ---------------------------------------------------------------------------------------------

// One component entry: the class, its type name ("vendor.system"), a one-line description and
// the JSON Schema (a string literal) of its `with:` block.
#define OMNILOOP_SOURCE(Class, type, description, schema_json) \
  ::omniloop::sdk::detail::sourceComponent<Class>(type, description, schema_json)
#define OMNILOOP_STAGE(Class, type, description, schema_json) \
  ::omniloop::sdk::detail::stageComponent<Class>(type, description, schema_json)
#define OMNILOOP_SINK(Class, type, description, schema_json) \
  ::omniloop::sdk::detail::sinkComponent<Class>(type, description, schema_json)

// The plugin's entry point: name, semver and its components (OMNILOOP_SOURCE/STAGE/SINK
// entries). Use once per shared library, at namespace scope. Refuses (returns NULL) only a host
// of another ABI major; the host itself refuses a plugin built against a newer minor.
#define OMNILOOP_PLUGIN(name, version, ...)                                                       \
  extern "C" OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(                   \
      uint16_t host_abi_major, uint16_t host_abi_minor) {                                         \
    static const ol_component omniloop_components_[] = {__VA_ARGS__};                             \
    static const ol_plugin_descriptor omniloop_descriptor_ = ::omniloop::sdk::detail::descriptor( \
        name, version, omniloop_components_,                                                      \
        sizeof(omniloop_components_) / sizeof(omniloop_components_[0]));                          \
    (void)host_abi_minor;                                                                         \
    return host_abi_major == OMNILOOP_ABI_MAJOR ? &omniloop_descriptor_ : nullptr;                \
  }

#endif  // OMNILOOP_PLUGIN_HPP
