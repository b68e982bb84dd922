// A JSON Schema subset evaluated directly against YAML nodes, so every error keeps the YAML
// line:column. See config/schemas.h for the keywords and the scalar typing rules.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "config/json_value.h"
#include "event/json.h"
#include "config/loader.h"
#include "config/schemas.h"
#include "config/suggest.h"

namespace omniloop::config {

// ---------------------------------------------------------------------------------------------
// Embedded schemas.

std::string_view embeddedSchema(std::string_view name) {
  for (const EmbeddedSchema& s : embeddedSchemas()) {
    if (name == s.name) return s.text;
  }
  throw std::out_of_range("no embedded schema named '" + std::string(name) + "'");
}

Mark markOf(const YAML::Node& node, const std::string& file) {
  Mark m;
  m.file = file;
  if (!node.IsDefined()) return m;
  const YAML::Mark y = node.Mark();
  if (y.line < 0 || y.column < 0) return m;
  m.line = y.line + 1;
  m.column = y.column + 1;
  return m;
}

namespace {

// ---------------------------------------------------------------------------------------------
// YAML scalar typing.

bool isQuoted(const YAML::Node& n) {
  const std::string& tag = n.Tag();
  return tag == "!" || tag == "tag:yaml.org,2002:str";
}

bool plainInt(const YAML::Node& n, int64_t* out = nullptr) {
  if (!n.IsScalar() || isQuoted(n)) return false;
  std::string_view s = n.Scalar();
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  if (out) *out = v;
  return true;
}

bool looksNumeric(std::string_view s) {
  // [-+]? (digits [. digits?] | . digits) ([eE] [-+]? digits)?
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

bool plainNumber(const YAML::Node& n, double* out = nullptr) {
  if (!n.IsScalar() || isQuoted(n)) return false;
  std::string_view s = n.Scalar();
  if (!looksNumeric(s)) return false;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  if (out) *out = v;
  return true;
}

bool plainBool(const YAML::Node& n, bool* out = nullptr) {
  if (!n.IsScalar() || isQuoted(n)) return false;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") {
    if (out) *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    if (out) *out = false;
    return true;
  }
  return false;
}

// A plain scalar `yes`/`no`/`on`/`off` is a YAML 1.1 boolean that YAML 1.2 reads as text.
bool yaml11Bool(const YAML::Node& n) {
  if (!n.IsScalar() || isQuoted(n)) return false;
  std::string s = n.Scalar();
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s == "yes" || s == "no" || s == "on" || s == "off" || s == "y" || s == "n";
}

void appendScalarGuess(std::string& out, const YAML::Node& n) {
  int64_t i = 0;
  double d = 0;
  bool b = false;
  if (plainBool(n, &b)) {
    out += b ? "true" : "false";
  } else if (plainInt(n, &i)) {
    out += std::to_string(i);
  } else if (plainNumber(n, &d)) {
    appendJsonNumber(out, d);
  } else {
    event::appendJsonString(out, n.Scalar());
  }
}

// ---------------------------------------------------------------------------------------------
// Messages.

size_t utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string shown(const YAML::Node& n, bool secret) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "empty";
    case YAML::NodeType::Undefined:
      return "missing";
    case YAML::NodeType::Scalar:
      break;
  }
  if (secret) return "[secret]";
  if (plainNumber(n) || plainBool(n)) return n.Scalar();
  std::string s = n.Scalar();
  if (utf8Length(s) > 40) {
    size_t cut = 37;
    while (cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) ++cut;
    s = s.substr(0, cut) + "...";
  }
  std::string out;
  event::appendJsonString(out, s);
  return out;
}

std::string typeNoun(std::string_view t) {
  if (t == "object") return "a map";
  if (t == "array") return "a list";
  if (t == "string") return "text";
  if (t == "integer") return "an integer";
  if (t == "number") return "a number";
  if (t == "boolean") return "true or false";
  if (t == "null") return "empty";
  return std::string(t);
}

std::string joinOr(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size()) ? " or " : ", ";
    out += words[i];
  }
  return out;
}

std::string subject(const std::string& path) {
  return path.empty() ? std::string("the document") : "'" + path + "'";
}

std::string jsonShown(const JsonValue& v) {
  if (v.isString()) return v.string;
  std::string out;
  appendJson(out, v);
  return out;
}

std::string numberText(double d) {
  std::string out;
  appendJsonNumber(out, d);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schema access.

std::vector<std::string> typeList(const JsonValue& s) {
  std::vector<std::string> out;
  const JsonValue* t = s.get("type");
  if (t == nullptr) return out;
  if (t->isString()) out.push_back(t->string);
  if (t->isArray()) {
    for (const JsonValue& x : t->items) {
      if (x.isString()) out.push_back(x.string);
    }
  }
  return out;
}

bool nodeIsType(const YAML::Node& n, std::string_view t) {
  if (t == "object") return n.IsMap();
  if (t == "array") return n.IsSequence();
  if (t == "string") return n.IsScalar();
  if (t == "integer") return plainInt(n);
  if (t == "number") return plainNumber(n);
  if (t == "boolean") return plainBool(n);
  if (t == "null") return n.IsNull();
  return false;
}

bool jsonEqualsNode(const JsonValue& v, const YAML::Node& n) {
  switch (v.kind) {
    case JsonValue::Kind::Null:
      return n.IsNull();
    case JsonValue::Kind::Bool: {
      bool b = false;
      return plainBool(n, &b) && b == v.boolean;
    }
    case JsonValue::Kind::Int:
    case JsonValue::Kind::Double: {
      double d = 0;
      return plainNumber(n, &d) && d == v.asDouble();
    }
    case JsonValue::Kind::String:
      return n.IsScalar() && n.Scalar() == v.string;
    case JsonValue::Kind::Array: {
      if (!n.IsSequence() || n.size() != v.items.size()) return false;
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (!jsonEqualsNode(v.items[i], n[i])) return false;
      }
      return true;
    }
    case JsonValue::Kind::Object: {
      if (!n.IsMap() || n.size() != v.members.size()) return false;
      for (const auto& [k, m] : v.members) {
        const YAML::Node child = n[k];
        if (!child.IsDefined() || !jsonEqualsNode(m, child)) return false;
      }
      return true;
    }
  }
  return false;
}

bool isSecret(const JsonValue& s) {
  const JsonValue* w = s.get("writeOnly");
  const JsonValue* x = s.get("x-secret");
  return (w && w->isBool() && w->boolean) || (x && x->isBool() && x->boolean);
}

std::string schemaHint(const JsonValue& s) {
  const JsonValue* h = s.get("x-hint");
  return h && h->isString() ? h->string : std::string();
}

const std::regex& cachedRegex(const std::string& pattern) {
  // Schemas are few and long-lived; compile each pattern once per thread.
  thread_local std::unordered_map<std::string, std::regex> cache;
  auto it = cache.find(pattern);
  if (it == cache.end())
    it = cache.emplace(pattern, std::regex(pattern, std::regex::ECMAScript)).first;
  return it->second;
}

// Bounds recursion: YAML nesting plus $ref hops (a $ref loop in a schema ends here).
constexpr int kMaxRefDepth = 256;

class Evaluator {
 public:
  Evaluator(const JsonValue& root, const std::string& file, std::vector<Diagnostic>& out)
      : root_(root), file_(file), out_(out) {}

  void validate(const YAML::Node& n, const JsonValue& s, const std::string& path,
                const Mark& fallback, int depth = 0) {
    if (!n.IsDefined()) return;
    if (depth > kMaxRefDepth) {
      error(n, fallback, subject(path) + " is nested too deeply (or its schema's $ref loops)", "");
      return;
    }
    if (s.isBool()) {
      if (!s.boolean) error(n, fallback, subject(path) + " is not allowed here", "");
      return;
    }
    if (!s.isObject()) return;

    if (const JsonValue* ref = s.get("$ref"); ref && ref->isString()) {
      const JsonValue* target = resolve(ref->string);
      if (target == nullptr) {
        error(n, fallback, "invalid schema: cannot resolve $ref '" + ref->string + "'", "");
        return;
      }
      const size_t before = out_.size();
      validate(n, *target, path, fallback, depth + 1);
      if (out_.size() > before) return;  // siblings would only repeat the problem
    }

    const std::vector<std::string> types = typeList(s);
    if (!types.empty() && std::none_of(types.begin(), types.end(),
                                       [&](const std::string& t) { return nodeIsType(n, t); })) {
      typeError(n, s, types, path, fallback);
      return;
    }

    if (const JsonValue* all = s.get("allOf"); all && all->isArray()) {
      for (const JsonValue& b : all->items) validate(n, b, path, fallback, depth + 1);
    }
    if (const JsonValue* one = s.get("oneOf"); one && one->isArray()) {
      alternatives(n, s, one->items, /*exactly_one=*/true, path, fallback, depth);
    }
    if (const JsonValue* any = s.get("anyOf"); any && any->isArray()) {
      alternatives(n, s, any->items, /*exactly_one=*/false, path, fallback, depth);
    }

    const bool secret = isSecret(s);
    if (const JsonValue* c = s.get("const"); c && !jsonEqualsNode(*c, n)) {
      std::string hint = schemaHint(s);
      error(n, fallback, subject(path) + " must be " + jsonShown(*c) + ", not " + shown(n, secret),
            hint);
      return;
    }
    if (const JsonValue* e = s.get("enum"); e && e->isArray()) {
      const bool ok = std::any_of(e->items.begin(), e->items.end(),
                                  [&](const JsonValue& v) { return jsonEqualsNode(v, n); });
      if (!ok) {
        std::vector<std::string> names;
        for (const JsonValue& v : e->items) names.push_back(jsonShown(v));
        std::string hint;
        if (n.IsScalar()) {
          const std::string close = closestMatch(n.Scalar(), names);
          if (!close.empty()) hint = "did you mean '" + close + "'?";
        }
        if (hint.empty()) hint = schemaHint(s);
        error(n, fallback,
              subject(path) + " must be one of " + joinNames(names) + ", not " + shown(n, secret),
              hint);
        return;
      }
    }

    if (n.IsScalar()) scalarRules(n, s, path, fallback, secret);
    if (n.IsMap()) objectRules(n, s, path, fallback, depth);
    if (n.IsSequence()) arrayRules(n, s, path, fallback, depth);
  }

  // Whether `s` (after $ref) would accept the kind of `n` at all.
  bool typeAccepts(const YAML::Node& n, const JsonValue& s, int depth = 0) const {
    if (depth > kMaxRefDepth) return true;
    if (s.isBool()) return s.boolean;
    if (!s.isObject()) return true;
    if (const JsonValue* ref = s.get("$ref"); ref && ref->isString()) {
      const JsonValue* target = resolve(ref->string);
      if (target && !typeAccepts(n, *target, depth + 1)) return false;
    }
    const std::vector<std::string> types = typeList(s);
    if (types.empty()) return true;
    return std::any_of(types.begin(), types.end(),
                       [&](const std::string& t) { return nodeIsType(n, t); });
  }

  // Expected type nouns of `s`, following $ref and alternatives.
  void expectedTypes(const JsonValue& s, std::vector<std::string>& out, int depth = 0) const {
    if (depth > kMaxRefDepth || !s.isObject()) return;
    if (const JsonValue* ref = s.get("$ref"); ref && ref->isString()) {
      if (const JsonValue* target = resolve(ref->string)) expectedTypes(*target, out, depth + 1);
    }
    for (const std::string& t : typeList(s)) {
      const std::string noun = typeNoun(t);
      if (std::find(out.begin(), out.end(), noun) == out.end()) out.push_back(noun);
    }
    for (const char* key : {"oneOf", "anyOf"}) {
      if (const JsonValue* alts = s.get(key); alts && alts->isArray()) {
        for (const JsonValue& b : alts->items) expectedTypes(b, out, depth + 1);
      }
    }
  }

  const JsonValue* resolve(const std::string& ref) const {
    if (ref.empty() || ref[0] != '#') return nullptr;
    const JsonValue* cur = &root_;
    size_t pos = 1;
    while (pos < ref.size()) {
      if (ref[pos] != '/') return nullptr;
      const size_t next = ref.find('/', pos + 1);
      std::string token =
          ref.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      // JSON pointer escapes: ~1 is '/', ~0 is '~'.
      for (size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
        if (i + 1 < token.size() && token[i + 1] == '1')
          token.replace(i, 2, "/");
        else if (i + 1 < token.size() && token[i + 1] == '0')
          token.replace(i, 2, "~");
      }
      if (cur->isObject()) {
        cur = cur->get(token);
      } else if (cur->isArray()) {
        size_t idx = 0;
        auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), idx);
        if (ec != std::errc() || end != token.data() + token.size() || idx >= cur->items.size()) {
          return nullptr;
        }
        cur = &cur->items[idx];
      } else {
        return nullptr;
      }
      if (cur == nullptr) return nullptr;
      pos = next == std::string::npos ? ref.size() : next;
    }
    return cur;
  }

  Mark at(const YAML::Node& n, const Mark& fallback) const {
    Mark m = markOf(n, file_);
    if (m.line == 0) return fallback;
    // An empty value (`key:`) is reported by yaml-cpp at the next token; point at its key.
    if (n.IsNull() && fallback.line != 0 && m.line != fallback.line) return fallback;
    return m;
  }

 private:
  void error(const YAML::Node& n, const Mark& fallback, std::string message, std::string hint) {
    out_.push_back(Diagnostic{at(n, fallback), std::move(message), std::move(hint)});
  }

  void typeError(const YAML::Node& n, const JsonValue& s, const std::vector<std::string>& types,
                 const std::string& path, const Mark& fallback) {
    std::vector<std::string> nouns;
    for (const std::string& t : types) {
      const std::string noun = typeNoun(t);
      if (std::find(nouns.begin(), nouns.end(), noun) == nouns.end()) nouns.push_back(noun);
    }
    std::string hint = schemaHint(s);
    if (hint.empty()) {
      const bool wants_scalar = std::any_of(types.begin(), types.end(), [](const std::string& t) {
        return t == "integer" || t == "number" || t == "boolean";
      });
      if (wants_scalar && n.IsScalar() && isQuoted(n)) {
        hint = "quoted values are text; remove the quotes";
      } else if (std::find(types.begin(), types.end(), "boolean") != types.end() && yaml11Bool(n)) {
        hint = "write true or false";
      }
    }
    error(n, fallback,
          subject(path) + " must be " + joinOr(nouns) + ", not " + shown(n, isSecret(s)), hint);
  }

  void alternatives(const YAML::Node& n, const JsonValue& parent,
                    const std::vector<JsonValue>& branches, bool exactly_one,
                    const std::string& path, const Mark& fallback, int depth) {
    if (branches.empty()) return;
    size_t passed = 0;
    const std::vector<Diagnostic>* best = nullptr;
    std::vector<std::vector<Diagnostic>> results(branches.size());
    for (size_t i = 0; i < branches.size(); ++i) {
      Evaluator sub(root_, file_, results[i]);
      sub.validate(n, branches[i], path, fallback, depth + 1);
      if (results[i].empty()) {
        ++passed;
        continue;
      }
      if (!typeAccepts(n, branches[i])) continue;
      if (best == nullptr || results[i].size() < best->size()) best = &results[i];
    }
    if (passed == 1 || (passed > 1 && !exactly_one)) return;
    if (passed > 1) {
      error(n, fallback, subject(path) + " matches more than one alternative of its schema",
            schemaHint(parent));
      return;
    }
    if (best != nullptr) {
      out_.insert(out_.end(), best->begin(), best->end());
      return;
    }
    // No alternative takes this kind of value: say which kinds would do.
    std::vector<std::string> nouns;
    for (const JsonValue& b : branches) expectedTypes(b, nouns);
    if (nouns.empty()) {
      out_.insert(out_.end(), results[0].begin(), results[0].end());
      return;
    }
    error(n, fallback,
          subject(path) + " must be " + joinOr(nouns) + ", not " + shown(n, isSecret(parent)),
          schemaHint(parent));
  }

  void scalarRules(const YAML::Node& n, const JsonValue& s, const std::string& path,
                   const Mark& fallback, bool secret) {
    double d = 0;
    if (plainNumber(n, &d)) {
      if (const JsonValue* m = s.get("minimum"); m && m->isNumber() && d < m->asDouble()) {
        error(n, fallback,
              subject(path) + " must be at least " + numberText(m->asDouble()) + ", not " +
                  shown(n, secret),
              schemaHint(s));
      }
      if (const JsonValue* m = s.get("maximum"); m && m->isNumber() && d > m->asDouble()) {
        error(n, fallback,
              subject(path) + " must be at most " + numberText(m->asDouble()) + ", not " +
                  shown(n, secret),
              schemaHint(s));
      }
      if (const JsonValue* m = s.get("exclusiveMinimum");
          m && m->isNumber() && d <= m->asDouble()) {
        error(n, fallback,
              subject(path) + " must be greater than " + numberText(m->asDouble()) + ", not " +
                  shown(n, secret),
              schemaHint(s));
      }
      if (const JsonValue* m = s.get("exclusiveMaximum");
          m && m->isNumber() && d >= m->asDouble()) {
        error(n, fallback,
              subject(path) + " must be less than " + numberText(m->asDouble()) + ", not " +
                  shown(n, secret),
              schemaHint(s));
      }
    }
    const std::string& text = n.Scalar();
    const size_t len = utf8Length(text);
    if (const JsonValue* m = s.get("minLength"); m && m->isNumber() && len < m->asDouble()) {
      const auto min = static_cast<long long>(m->asDouble());
      error(n, fallback,
            min <= 1
                ? subject(path) + " must not be empty"
                : subject(path) + " must be at least " + std::to_string(min) + " characters long",
            schemaHint(s));
    }
    if (const JsonValue* m = s.get("maxLength"); m && m->isNumber() && len > m->asDouble()) {
      error(n, fallback,
            subject(path) + " must be at most " +
                std::to_string(static_cast<long long>(m->asDouble())) +
                (m->asDouble() == 1 ? " character long" : " characters long"),
            schemaHint(s));
    }
    if (const JsonValue* p = s.get("pattern"); p && p->isString() && !text.empty()) {
      bool matched = false;
      try {
        matched = std::regex_search(text, cachedRegex(p->string));
      } catch (const std::regex_error&) {
        error(n, fallback, "invalid schema: bad pattern for " + subject(path), "");
        return;
      }
      if (!matched) {
        std::string hint = schemaHint(s);
        if (hint.empty()) {
          if (const JsonValue* desc = s.get("description"); desc && desc->isString())
            hint = desc->string;
        }
        error(n, fallback,
              subject(path) + " " + shown(n, secret) + " does not match the pattern " + p->string,
              hint);
      }
    }
  }

  void objectRules(const YAML::Node& n, const JsonValue& s, const std::string& path,
                   const Mark& fallback, int depth) {
    const JsonValue* props = s.get("properties");
    const JsonValue* extra = s.get("additionalProperties");
    std::vector<std::string> known;
    if (props && props->isObject()) {
      for (const auto& [k, v] : props->members) known.push_back(k);
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const Mark key_mark = at(key, at(n, fallback));
      if (!key.IsScalar()) {
        out_.push_back(Diagnostic{key_mark, "keys in " + subject(path) + " must be text", ""});
        continue;
      }
      const std::string& name = key.Scalar();
      const std::string child = path.empty() ? name : path + "." + name;
      if (!seen.insert(name).second) {
        out_.push_back(Diagnostic{
            key_mark, "duplicate key '" + name + "'" + (path.empty() ? "" : " in " + subject(path)),
            "keep only one of them"});
        continue;
      }
      const JsonValue* sub = props ? props->get(name) : nullptr;
      if (sub != nullptr) {
        validate(value, *sub, child, key_mark, depth + 1);
        continue;
      }
      if (extra == nullptr) continue;
      if (extra->isBool() && !extra->boolean) {
        std::string hint = didYouMeanOrKnown(name, known, "keys");
        if (hint.empty()) hint = subject(path) + " takes no keys";
        out_.push_back(Diagnostic{
            key_mark, "unknown key '" + name + "'" + (path.empty() ? "" : " in " + subject(path)),
            hint});
        continue;
      }
      validate(value, *extra, child, key_mark, depth + 1);
    }
    const size_t count = n.size();
    if (const JsonValue* m = s.get("minProperties"); m && m->isNumber() && count < m->asDouble()) {
      const auto min = static_cast<long long>(m->asDouble());
      std::string hint = schemaHint(s);
      if (hint.empty() && !known.empty()) hint = "known keys: " + joinNames(known);
      error(
          n, fallback,
          subject(path) + " needs at least " + std::to_string(min) + (min == 1 ? " key" : " keys"),
          hint);
    }
    if (const JsonValue* m = s.get("maxProperties"); m && m->isNumber() && count > m->asDouble()) {
      const auto max = static_cast<long long>(m->asDouble());
      std::string hint = schemaHint(s);
      if (hint.empty() && max == 1) hint = "write one key per list item";
      error(n, fallback,
            subject(path) + " takes at most " + std::to_string(max) +
                (max == 1 ? " key" : " keys") + ", not " + std::to_string(count),
            hint);
    }
    if (const JsonValue* req = s.get("required"); req && req->isArray()) {
      for (const JsonValue& r : req->items) {
        if (!r.isString() || seen.count(r.string)) continue;
        std::string hint = "add '" + r.string + ":'";
        if (const JsonValue* sub = props ? props->get(r.string) : nullptr) {
          if (const JsonValue* desc = sub->get("description"); desc && desc->isString()) {
            hint += " (" + desc->string + ")";
          }
        }
        out_.push_back(Diagnostic{at(n, fallback),
                                  (path.empty() ? std::string("missing required key '")
                                                : subject(path) + " is missing required key '") +
                                      r.string + "'",
                                  hint});
      }
    }
  }

  void arrayRules(const YAML::Node& n, const JsonValue& s, const std::string& path,
                  const Mark& fallback, int depth) {
    const size_t count = n.size();
    if (const JsonValue* m = s.get("minItems"); m && m->isNumber() && count < m->asDouble()) {
      const auto min = static_cast<long long>(m->asDouble());
      error(n, fallback,
            subject(path) + " needs at least " + std::to_string(min) +
                (min == 1 ? " item" : " items"),
            schemaHint(s));
    }
    if (const JsonValue* m = s.get("maxItems"); m && m->isNumber() && count > m->asDouble()) {
      const auto max = static_cast<long long>(m->asDouble());
      error(
          n, fallback,
          subject(path) + " takes at most " + std::to_string(max) + (max == 1 ? " item" : " items"),
          schemaHint(s));
    }
    const JsonValue* items = s.get("items");
    if (items == nullptr) return;
    const Mark list_mark = at(n, fallback);
    for (size_t i = 0; i < count; ++i) {
      validate(n[i], *items, path + "[" + std::to_string(i + 1) + "]", list_mark, depth + 1);
    }
  }

  const JsonValue& root_;
  const std::string& file_;
  std::vector<Diagnostic>& out_;
};

// ---------------------------------------------------------------------------------------------
// Typed JSON output.

class Emitter {
 public:
  explicit Emitter(const JsonValue* root, std::string base_dir = {})
      : root_(root), base_dir_(std::move(base_dir)) {}

  void emit(std::string& out, const YAML::Node& n, const JsonValue* s, int depth = 0) {
    s = effective(n, s, depth);
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out += "null";
        return;
      case YAML::NodeType::Map: {
        const JsonValue* props = s ? s->get("properties") : nullptr;
        const JsonValue* extra = s ? s->get("additionalProperties") : nullptr;
        out.push_back('{');
        bool first = true;
        for (auto it = n.begin(); it != n.end(); ++it) {
          if (!first) out.push_back(',');
          first = false;
          const YAML::Node key = it->first;
          event::appendJsonString(out, key.IsScalar() ? key.Scalar() : std::string());
          out.push_back(':');
          const JsonValue* sub = (props && key.IsScalar()) ? props->get(key.Scalar()) : nullptr;
          if (sub == nullptr && extra && extra->isObject()) sub = extra;
          emit(out, it->second, sub, depth + 1);
        }
        out.push_back('}');
        return;
      }
      case YAML::NodeType::Sequence: {
        const JsonValue* items = s ? s->get("items") : nullptr;
        out.push_back('[');
        for (size_t i = 0; i < n.size(); ++i) {
          if (i) out.push_back(',');
          emit(out, n[i], items, depth + 1);
        }
        out.push_back(']');
        return;
      }
      case YAML::NodeType::Scalar:
        scalar(out, n, s);
        return;
    }
  }

 private:
  // Follows $ref and picks the alternative that accepts `n`.
  const JsonValue* effective(const YAML::Node& n, const JsonValue* s, int depth) {
    if (root_ == nullptr) return s;
    for (int hops = 0; s && s->isObject() && hops <= kMaxRefDepth; ++hops) {
      std::vector<Diagnostic> scratch;
      Evaluator ev(*root_, kNoFile, scratch);
      if (const JsonValue* ref = s->get("$ref"); ref && ref->isString()) {
        if (const JsonValue* target = ev.resolve(ref->string)) {
          s = target;
          continue;
        }
      }
      const JsonValue* picked = nullptr;
      for (const char* key : {"oneOf", "anyOf"}) {
        const JsonValue* alts = s->get(key);
        if (!alts || !alts->isArray() || picked) continue;
        for (const JsonValue& b : alts->items) {
          scratch.clear();
          ev.validate(n, b, "", Mark{}, depth + 1);
          if (scratch.empty()) {
            picked = &b;
            break;
          }
        }
      }
      if (picked == nullptr) return s;
      s = picked;
    }
    return s;
  }

  void scalar(std::string& out, const YAML::Node& n, const JsonValue* s) {
    std::vector<std::string> types = s ? typeList(*s) : std::vector<std::string>{};
    if (s && types.empty()) {
      // const/enum imply their values' types.
      std::vector<const JsonValue*> values;
      if (const JsonValue* c = s->get("const")) values.push_back(c);
      if (const JsonValue* e = s->get("enum"); e && e->isArray()) {
        for (const JsonValue& v : e->items) values.push_back(&v);
      }
      for (const JsonValue* v : values) {
        if (v->isString()) types.push_back("string");
        if (v->kind == JsonValue::Kind::Int) types.push_back("integer");
        if (v->kind == JsonValue::Kind::Double) types.push_back("number");
        if (v->isBool()) types.push_back("boolean");
      }
    }
    if (types.empty()) {
      appendScalarGuess(out, n);
      return;
    }
    auto has = [&](const char* t) {
      return std::find(types.begin(), types.end(), t) != types.end();
    };
    int64_t i = 0;
    double d = 0;
    bool b = false;
    if (has("integer") && plainInt(n, &i)) {
      out += std::to_string(i);
    } else if ((has("number") || has("integer")) && plainNumber(n, &d)) {
      appendJsonNumber(out, d);
    } else if (has("boolean") && plainBool(n, &b)) {
      out += b ? "true" : "false";
    } else if (has("string")) {
      event::appendJsonString(out, resolved(n.Scalar(), *s));
    } else {
      appendScalarGuess(out, n);
    }
  }

  // A relative path where the schema says "format": "path", taken from base_dir_.
  std::string resolved(const std::string& text, const JsonValue& s) const {
    const JsonValue* format = s.get("format");
    if (base_dir_.empty() || text.empty() || !format || !format->isString() ||
        format->string != "path") {
      return text;
    }
    const std::filesystem::path p(text);
    if (p.is_absolute()) return text;
    return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
  }

  static inline const std::string kNoFile;
  const JsonValue* root_;
  std::string base_dir_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Schema.

Schema::Schema() = default;
Schema::~Schema() = default;
Schema::Schema(const Schema&) = default;
Schema& Schema::operator=(const Schema&) = default;

Schema Schema::parse(std::string_view json) {
  Schema s;
  const bool blank = std::all_of(json.begin(), json.end(), [](char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
  });
  if (blank) return s;
  auto root = std::make_shared<JsonValue>(parseJson(json));
  if (!root->isObject() && !root->isBool()) {
    throw std::invalid_argument("a JSON Schema must be an object or a boolean");
  }
  s.root_ = std::move(root);
  return s;
}

bool Schema::acceptsAnything() const {
  if (!root_) return true;
  if (root_->isBool()) return root_->boolean;
  return root_->members.empty();
}

bool Schema::allowsKind(YAML::NodeType::value kind) const {
  if (!root_) return true;
  std::vector<Diagnostic> scratch;
  const std::string no_file;
  Evaluator ev(*root_, no_file, scratch);
  return ev.typeAccepts(YAML::Node(kind), *root_);
}

void Schema::validate(const YAML::Node& node, const std::string& file, const std::string& path,
                      const Mark& fallback, std::vector<Diagnostic>& out) const {
  if (!root_) return;
  Evaluator ev(*root_, file, out);
  ev.validate(node, *root_, path, fallback);
}

bool Schema::accepts(const YAML::Node& node) const {
  std::vector<Diagnostic> scratch;
  validate(node, "", "", Mark{}, scratch);
  return scratch.empty();
}

std::string Schema::toJson(const YAML::Node& node, const std::string& base_dir) const {
  std::string out;
  Emitter em(root_.get(), base_dir);
  em.emit(out, node, root_.get());
  return out;
}

std::string yamlToJson(const YAML::Node& node) {
  std::string out;
  Emitter em(nullptr);
  em.emit(out, node, nullptr);
  return out;
}

}  // namespace omniloop::config
