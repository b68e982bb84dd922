// The `map` stage: rename, copy, set, cast, time and drop ops, run in the order written.
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <optional>

#include "config/loader.h"
#include "event/json.h"
#include "pipeline/expr/expr.h"
#include "pipeline/stages/stage_build.h"
#include "pipeline/stages/time_parse.h"
#include "pipeline/stages/yaml_position.h"

namespace omniloop::pipeline {

using event::Arena;
using event::Event;
using event::Field;
using event::Value;
using event::ValueType;

namespace {

enum class CastType : uint8_t { Int, Float, Bool, String };

// The envelope value an op writes, resolved at configuration time.
enum class Envelope : uint8_t { None, Key, Channel, Type, OccurredAt, Identity, Consent };

Envelope envelopeOf(std::string_view path, std::string_view& name) {
  name = {};
  if (path == "$key") return Envelope::Key;
  if (path == "$channel") return Envelope::Channel;
  if (path == "$type") return Envelope::Type;
  if (path == "$occurred_at") return Envelope::OccurredAt;
  constexpr std::string_view kIdentities = "$identities.";
  constexpr std::string_view kConsent = "$consent.";
  if (path.substr(0, kIdentities.size()) == kIdentities) {
    name = path.substr(kIdentities.size());
    return Envelope::Identity;
  }
  if (path.substr(0, kConsent.size()) == kConsent) {
    name = path.substr(kConsent.size());
    return Envelope::Consent;
  }
  return Envelope::None;
}

struct MapOp {
  enum class Kind : uint8_t { Rename, Copy, Set, Cast, Time, Drop, DropChildren };
  Kind kind = Kind::Set;
  bool from_env = false;             // `from` is an envelope path
  bool to_env = false;               // `to` is an envelope path
  Envelope target = Envelope::None;  // when to_env
  std::string_view target_name;      // identity type / consent purpose
  CastType cast = CastType::String;
  uint32_t format = 0;      // Time: index into MapStage::formats_
  std::string_view from;    // Rename/Copy/Cast/Time source; Drop path or prefix
  std::string_view to;      // Rename/Copy/Set/Time destination
  Value value;              // Set: the literal
  std::string_view reason;  // dead-letter reason when the op fails on an event
};

inline bool isChild(std::string_view path, std::string_view parent) {
  return path.size() > parent.size() && path[parent.size()] == '.' &&
         std::memcmp(path.data(), parent.data(), parent.size()) == 0;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// `to` + `rest` in the arena.
std::string_view join(Arena& arena, std::string_view to, std::string_view rest) {
  char* p = arena.allocate(to.size() + rest.size());
  std::memcpy(p, to.data(), to.size());
  std::memcpy(p + to.size(), rest.data(), rest.size());
  return {p, to.size() + rest.size()};
}

// Numbers as text in the arena (for envelope paths and casts to string).
Value asText(const Value& v, Arena& arena) {
  std::array<char, 40> buf;
  std::to_chars_result r{buf.data(), std::errc()};
  if (v.type == ValueType::Int) {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), v.i);
  } else if (v.type == ValueType::Double) {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), v.d);
  } else if (v.type == ValueType::Bool) {
    return Value::string(v.b ? "true" : "false");
  } else if (v.type == ValueType::Json) {
    return Value::string(v.s);
  } else {
    return v;
  }
  return Value::string(arena.copy({buf.data(), static_cast<size_t>(r.ptr - buf.data())}));
}

// In place; false when the value has no form of that type. Blank strings become null.
bool castValue(Value& v, CastType to, Arena& arena) {
  if (to == CastType::String) {
    v = asText(v, arena);
    return true;
  }
  if (v.type == ValueType::Json) return false;
  if (v.type == ValueType::String) {
    std::string_view s = trim(v.s);
    if (s.empty()) {
      v = Value::null();
      return true;
    }
    if (to == CastType::Bool) {
      static constexpr std::array<std::string_view, 6> kTrue = {"true", "yes", "y", "on", "1", "t"};
      static constexpr std::array<std::string_view, 6> kFalse = {"false", "no", "n",
                                                                 "off",   "0",  "f"};
      for (std::string_view w : kTrue) {
        if (equalsIgnoreCase(s, w)) {
          v = Value::boolean(true);
          return true;
        }
      }
      for (std::string_view w : kFalse) {
        if (equalsIgnoreCase(s, w)) {
          v = Value::boolean(false);
          return true;
        }
      }
      return false;
    }
    bool is_int = false;
    int64_t i = 0;
    double d = 0.0;
    if (!parseNumber(s, is_int, i, d)) return false;
    v = is_int ? Value::integer(i) : Value::real(d);
    // fall through: convert the number
  }
  switch (to) {
    case CastType::Int:
      if (v.type == ValueType::Int) return true;
      if (v.type == ValueType::Bool) {
        v = Value::integer(v.b ? 1 : 0);
        return true;
      }
      if (v.type == ValueType::Double) {
        // Only whole numbers within range: 3.0 -> 3; 3.5 is refused, not truncated.
        if (!std::isfinite(v.d) || std::trunc(v.d) != v.d || std::fabs(v.d) > 9.0e18) return false;
        v = Value::integer(static_cast<int64_t>(v.d));
        return true;
      }
      return false;
    case CastType::Float:
      if (v.type == ValueType::Double) return true;
      if (v.type == ValueType::Int) {
        v = Value::real(static_cast<double>(v.i));
        return true;
      }
      if (v.type == ValueType::Bool) {
        v = Value::real(v.b ? 1.0 : 0.0);
        return true;
      }
      return false;
    case CastType::Bool:
      if (v.type == ValueType::Bool) return true;
      if ((v.type == ValueType::Int && (v.i == 0 || v.i == 1)) ||
          (v.type == ValueType::Double && (v.d == 0.0 || v.d == 1.0))) {
        v = Value::boolean(v.type == ValueType::Int ? v.i == 1 : v.d == 1.0);
        return true;
      }
      return false;
    case CastType::String:
      break;
  }
  return false;
}

class MapStage final : public Stage {
 public:
  Result process(event::Batch& batch) override {
    Arena& arena = batch.arena();
    for (Event& e : batch) {
      if (!e.live()) continue;
      for (const MapOp& op : ops_) {
        if (!apply(op, e, arena)) {
          e.disposition = event::Disposition::DeadLetter;
          e.reason = op.reason;
          break;
        }
      }
    }
    return Result::ok();
  }

  // Building (configuration time).
  std::string_view keep(std::string s) {
    strings_.push_back(std::move(s));
    return strings_.back();
  }
  std::vector<MapOp>& ops() { return ops_; }
  uint32_t addFormat(TimeFormat f) {
    formats_.push_back(std::move(f));
    return static_cast<uint32_t>(formats_.size() - 1);
  }

 private:
  bool apply(const MapOp& op, Event& e, Arena& arena) {
    switch (op.kind) {
      case MapOp::Kind::Rename:
      case MapOp::Kind::Copy:
        return move(op, e, arena);
      case MapOp::Kind::Set:
        if (op.to_env) {
          writeEnvelope(op, e, op.value, arena);
        } else {
          e.set(op.to, op.value);
        }
        return true;
      case MapOp::Kind::Cast: {
        Value* v = findField(e, op.from);
        if (!v || v->isNull()) return true;
        return castValue(*v, op.cast, arena);
      }
      case MapOp::Kind::Time:
        return time(op, e, arena);
      case MapOp::Kind::Drop:
        if (op.from_env) {
          event::removePath(e, op.from);
        } else {
          e.remove(op.from);
        }
        return true;
      case MapOp::Kind::DropChildren: {
        size_t out = 0;
        for (size_t i = 0; i < e.fields.size(); ++i) {
          if (isChild(e.fields[i].path, op.from)) continue;
          if (out != i) e.fields[out] = e.fields[i];
          ++out;
        }
        e.fields.resize(out);
        return true;
      }
    }
    return true;
  }

  // Writes an envelope value the way event::setPath does, without re-resolving the path.
  static void writeEnvelope(const MapOp& op, Event& e, const Value& v, Arena& arena) {
    if (op.target == Envelope::OccurredAt) {
      if (v.type == ValueType::Int) e.occurred_at_us = v.i;  // config admits nothing else
      return;
    }
    if (op.target == Envelope::Consent) {
      event::ConsentStatus s = event::ConsentStatus::Unknown;
      if (v.type == ValueType::Bool) {
        s = v.b ? event::ConsentStatus::Granted : event::ConsentStatus::Denied;
      } else if (!v.isNull()) {
        s = event::parseConsentStatus(asText(v, arena).s);
      }
      e.setConsent(op.target_name, s);
      return;
    }
    const std::string_view text = v.isNull() ? std::string_view() : asText(v, arena).s;
    switch (op.target) {
      case Envelope::Key:
        e.key = text;
        break;
      case Envelope::Channel:
        e.channel = text;
        break;
      case Envelope::Type:
        e.type = text;
        break;
      case Envelope::Identity:
        if (text.empty()) {
          e.removeIdentity(op.target_name);
        } else {
          e.setIdentity(op.target_name, text);
        }
        break;
      default:
        break;
    }
  }

  bool move(const MapOp& op, Event& e, Arena& arena) {
    const bool rename = op.kind == MapOp::Kind::Rename;
    if (op.from_env || op.to_env) {
      Value v;
      if (op.from_env) {
        if (!event::getPath(e, op.from, v)) return true;  // missing: nothing to do
      } else {
        const Value* found = findField(e, op.from);
        if (!found) return true;
        v = *found;
      }
      if (op.to_env) {
        writeEnvelope(op, e, v, arena);
      } else {
        e.set(op.to, v);
      }
      if (rename) {
        if (op.from_env) {
          event::removePath(e, op.from);
        } else {
          e.remove(op.from);
        }
      }
      return true;
    }

    // Attribute to attribute. A rename looks for `from` and for anything `to` would clash
    // with in one pass.
    std::vector<Field>& fields = e.fields;
    const size_t n = fields.size();
    size_t idx = n;
    bool clash = false;
    if (rename) {
      for (size_t i = 0; i < n; ++i) {
        const std::string_view p = fields[i].path;
        if (idx == n && samePath(p, op.from)) {
          idx = i;
        } else if (!clash) {
          clash = samePath(p, op.to) || isChild(p, op.to) || isChild(op.to, p);
        }
      }
    } else {
      idx = findFieldIndex(e, op.from);
    }
    if (idx < n) {
      const Value v = fields[idx].value;
      if (rename) {
        if (!clash) {  // the common case: rename in place, order kept
          fields[idx].path = op.to;
          e.notePath(op.to);
          return true;
        }
        e.remove(op.from);
      }
      e.set(op.to, v);
      return true;
    }

    // An object: move or copy its children ("from.x" -> "to.x").
    if (!e.hasPrefix(op.from)) return true;
    e.remove(op.to);
    size_t out = 0;  // scalar ancestors of `to` would shadow it
    for (size_t i = 0; i < fields.size(); ++i) {
      if (isChild(op.to, fields[i].path)) continue;
      if (out != i) fields[out] = fields[i];
      ++out;
    }
    fields.resize(out);
    const size_t count = fields.size();
    for (size_t i = 0; i < count; ++i) {
      if (!isChild(fields[i].path, op.from)) continue;
      std::string_view path = join(arena, op.to, fields[i].path.substr(op.from.size()));
      e.notePath(path);
      if (rename) {
        fields[i].path = path;
      } else {
        fields.push_back(Field{path, fields[i].value});
      }
    }
    return true;
  }

  bool time(const MapOp& op, Event& e, Arena& arena) {
    Value v;
    if (op.from_env) {
      if (!event::getPath(e, op.from, v)) return true;
    } else if (const Value* found = findField(e, op.from)) {
      v = *found;
    }
    if (v.isNull()) return true;
    if (v.type == ValueType::String && trim(v.s).empty()) return true;
    int64_t micros = 0;
    if (!parseTimeValue(formats_[op.format], v, micros)) return false;
    if (op.to_env) {  // $occurred_at
      e.occurred_at_us = micros;
      return true;
    }
    scratch_.clear();
    event::appendTimestamp(scratch_, micros);
    e.set(op.to, Value::string(arena.copy(scratch_)));
    return true;
  }

  std::deque<std::string> strings_;  // paths, literals, reasons: stable addresses
  std::vector<MapOp> ops_;
  std::vector<TimeFormat> formats_;
  std::string scratch_;
};

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

constexpr std::string_view kOpNames = "rename, copy, set, cast, time, drop";

std::string describeNode(const YAML::Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "'" + n.Scalar() + "'";
}

bool envelopeWritable(std::string_view path, std::string& hint) {
  if (path == "$id" || path == "$source") {
    hint = "the engine sets it from the source id and $key; set $key instead";
    return false;
  }
  return true;
}

class MapBuilder {
 public:
  MapBuilder(MapStage& stage, BuildScope& scope) : st_(stage), scope_(scope) {}

  void build(const YAML::Node& body) {
    if (body.IsMap()) {
      if (body.size() == 0)
        scope_.error(body, "map has no ops", std::string("ops: ") + std::string(kOpNames));
      for (auto it = body.begin(); it != body.end(); ++it) op(it->first, it->second);
    } else if (body.IsSequence()) {
      if (body.size() == 0)
        scope_.error(body, "map has no ops", std::string("ops: ") + std::string(kOpNames));
      for (const YAML::Node& item : body) {
        if (!item.IsMap() || item.size() != 1) {
          scope_.error(item, "each item of a map list must be one op, found " + describeNode(item),
                       "- rename: { a: b }");
          continue;
        }
        auto it = item.begin();
        op(it->first, it->second);
      }
    } else {
      scope_.error(
          body,
          "map takes a mapping of ops or a list of one-op mappings, found " + describeNode(body),
          std::string("ops: ") + std::string(kOpNames));
    }
  }

 private:
  void op(const YAML::Node& key, const YAML::Node& value) {
    const std::string name = key.IsScalar() ? key.Scalar() : std::string();
    if (name == "rename" || name == "copy") {
      pairs(name, value, [&](const YAML::Node& k, const YAML::Node& v) { moveOp(name, k, v); });
    } else if (name == "set") {
      pairs(name, value, [&](const YAML::Node& k, const YAML::Node& v) { setOp(k, v); });
    } else if (name == "cast") {
      pairs(name, value, [&](const YAML::Node& k, const YAML::Node& v) { castOp(k, v); });
    } else if (name == "time") {
      if (value.IsSequence()) {
        for (const YAML::Node& spec : value) timeOp(spec);
      } else {
        timeOp(value);
      }
    } else if (name == "drop") {
      if (value.IsSequence()) {
        for (const YAML::Node& p : value) dropOp(p);
      } else {
        dropOp(value);
      }
    } else {
      std::string hint;
      std::string close =
          config::closestMatch(name, {"rename", "copy", "set", "cast", "time", "drop"});
      if (!close.empty()) hint = "did you mean '" + close + "'? ";
      hint += "ops: " + std::string(kOpNames);
      scope_.error(key, "unknown map op '" + name + "'", hint);
    }
  }

  template <typename F>
  void pairs(const std::string& name, const YAML::Node& value, F&& each) {
    if (!value.IsMap() || value.size() == 0) {
      scope_.error(value, name + " takes a mapping of field: value, found " + describeNode(value),
                   name + ": { from_field: to_field }");
      return;
    }
    for (auto it = value.begin(); it != value.end(); ++it) each(it->first, it->second);
  }

  // A field path in a scalar node, validated; "" after reporting when invalid.
  std::string path(const YAML::Node& n, const char* role) {
    if (!n.IsScalar()) {
      scope_.error(n, std::string(role) + " must be a field path, found " + describeNode(n));
      return {};
    }
    std::string hint;
    std::string err = checkPath(n.Scalar(), &hint);
    if (!err.empty()) {
      scope_.error(n, err, hint);
      return {};
    }
    return n.Scalar();
  }

  bool writable(const YAML::Node& n, const std::string& p, bool time_ok) {
    std::string hint;
    if (p.front() == '$' && !envelopeWritable(p, hint)) {
      scope_.error(n, "'" + p + "' cannot be written", hint);
      return false;
    }
    if (p == "$occurred_at" && !time_ok) {
      scope_.error(n, "'$occurred_at' takes a parsed time",
                   "use the time op: time: { from: field, format: iso8601 }");
      return false;
    }
    return true;
  }

  void moveOp(const std::string& name, const YAML::Node& k, const YAML::Node& v) {
    std::string from = path(k, "the source");
    std::string to = path(v, "the destination");
    if (from.empty() || to.empty() || !writable(v, to, false)) return;
    if (from == to || isChild(from, to)) {
      scope_.error(v, name + " target '" + to + "' is '" + from + "' or one of its parents",
                   "pick a destination outside the source");
      return;
    }
    MapOp op;
    op.kind = name == "rename" ? MapOp::Kind::Rename : MapOp::Kind::Copy;
    op.from = st_.keep(from);
    op.to = st_.keep(to);
    op.from_env = from.front() == '$';
    op.to_env = to.front() == '$';
    op.target = envelopeOf(op.to, op.target_name);
    op.reason = st_.keep("map: cannot " + name + " field '" + from + "' to '" + to + "'");
    st_.ops().push_back(op);
  }

  void setOp(const YAML::Node& k, const YAML::Node& v) {
    std::string to = path(k, "the destination");
    if (to.empty() || !writable(k, to, true)) return;
    if (!v.IsNull() && !v.IsScalar()) {
      scope_.error(
          v, "set takes a scalar value (text, number, true/false, null), found " + describeNode(v));
      return;
    }
    MapOp op;
    op.kind = MapOp::Kind::Set;
    op.to = st_.keep(to);
    op.to_env = to.front() == '$';
    op.target = envelopeOf(op.to, op.target_name);
    op.reason = st_.keep("map: cannot set field '" + to + "'");
    const bool quoted = v.IsScalar() && v.Tag() != "?";
    const std::string text = v.IsScalar() ? v.Scalar() : std::string();
    if (to == "$occurred_at") {
      TimeFormat iso;
      int64_t micros = 0;
      if (!parseTime(iso, text, micros)) {
        scope_.error(v, "'$occurred_at' takes an RFC 3339 time such as 2024-05-01T10:00:00Z");
        return;
      }
      op.value = Value::integer(micros);
    } else if (to.rfind("$consent.", 0) == 0) {
      if (!v.IsNull() && !quoted && (text == "true" || text == "false")) {
        op.value = Value::boolean(text == "true");
      } else if (event::parseConsentStatus(text) != event::ConsentStatus::Unknown ||
                 text == "unknown") {
        op.value = Value::string(st_.keep(text));
      } else {
        scope_.error(v, "consent status '" + text + "' is not granted, denied or unknown");
        return;
      }
    } else if (op.to_env) {
      op.value = v.IsNull() ? Value::null() : Value::string(st_.keep(text));
    } else {
      op.value = literal(v, quoted, text);
    }
    st_.ops().push_back(op);
  }

  // A YAML scalar as a typed value: plain scalars may be null/bool/int/float; quoted ones are
  // always strings.
  Value literal(const YAML::Node& v, bool quoted, const std::string& text) {
    if (v.IsNull()) return Value::null();
    if (!quoted) {
      if (text == "true" || text == "True" || text == "TRUE") return Value::boolean(true);
      if (text == "false" || text == "False" || text == "FALSE") return Value::boolean(false);
      bool is_int = false;
      int64_t i = 0;
      double d = 0.0;
      const bool numeric_start =
          !text.empty() &&
          (std::isdigit(static_cast<unsigned char>(text[0])) ||
           ((text[0] == '-' || text[0] == '+' || text[0] == '.') && text.size() > 1));
      if (numeric_start && text.find_first_of(" \t") == std::string::npos &&
          parseNumber(text, is_int, i, d)) {
        return is_int ? Value::integer(i) : Value::real(d);
      }
    }
    return Value::string(st_.keep(text));
  }

  void castOp(const YAML::Node& k, const YAML::Node& v) {
    std::string p = path(k, "the field");
    if (p.empty()) return;
    if (p.front() == '$') {
      scope_.error(k, "cast works on attributes, not on envelope path '" + p + "'");
      return;
    }
    const std::string type = v.IsScalar() ? v.Scalar() : std::string();
    MapOp op;
    op.kind = MapOp::Kind::Cast;
    if (type == "int")
      op.cast = CastType::Int;
    else if (type == "float")
      op.cast = CastType::Float;
    else if (type == "bool")
      op.cast = CastType::Bool;
    else if (type == "string")
      op.cast = CastType::String;
    else {
      std::string close = config::closestMatch(type, {"int", "float", "bool", "string"});
      if (type == "integer" || type == "long") close = "int";
      if (type == "double" || type == "number" || type == "decimal") close = "float";
      if (type == "boolean") close = "bool";
      if (type == "str" || type == "text") close = "string";
      scope_.error(v, "cast type " + describeNode(v) + " is not int, float, bool or string",
                   close.empty() ? std::string() : "did you mean '" + close + "'?");
      return;
    }
    op.from = st_.keep(p);
    op.reason = st_.keep("map: cannot cast field '" + p + "' value to " + type);
    st_.ops().push_back(op);
  }

  void timeOp(const YAML::Node& spec) {
    if (!spec.IsMap()) {
      scope_.error(spec, "time takes { from, format, timezone, to }, found " + describeNode(spec),
                   "time: { from: created, format: iso8601 }");
      return;
    }
    // (a default YAML::Node counts as defined, hence optional)
    std::optional<YAML::Node> from_node, format_node, tz_node, to_node;
    for (auto it = spec.begin(); it != spec.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
      if (key == "from")
        from_node.emplace(it->second);
      else if (key == "format")
        format_node.emplace(it->second);
      else if (key == "timezone")
        tz_node.emplace(it->second);
      else if (key == "to")
        to_node.emplace(it->second);
      else {
        std::string close = config::closestMatch(key, {"from", "format", "timezone", "to"});
        scope_.error(it->first, "unknown time key '" + key + "'",
                     (close.empty() ? std::string() : "did you mean '" + close + "'? ") +
                         "keys: from, format, timezone, to");
      }
    }
    if (!from_node) {
      scope_.error(spec, "time needs `from`: the field holding the time", "from: created");
      return;
    }
    std::string from = path(*from_node, "from");
    if (from.empty()) return;
    std::string to = "$occurred_at";
    if (to_node) {
      to = path(*to_node, "to");
      if (to.empty()) return;
      if (to.front() == '$' && to != "$occurred_at") {
        scope_.error(*to_node, "time writes $occurred_at or an attribute, not '" + to + "'");
        return;
      }
    }
    TimeFormat format;
    std::string format_text = "iso8601";
    if (format_node) {
      if (!format_node->IsScalar()) {
        scope_.error(*format_node, "format must be text, found " + describeNode(*format_node));
        return;
      }
      format_text = format_node->Scalar();
      size_t at = 0;
      std::string err = compileTimeFormat(format_text, format, &at);
      if (!err.empty()) {
        scope_.errorAt(scalarMark(*format_node, scope_.file, at), err,
                       "use iso8601, rfc2822, unix, unix_ms or a pattern of %Y %y %m %d %H %M %S "
                       "%f %z %b %%");
        return;
      }
    }
    if (tz_node) {
      const std::string tz = tz_node->IsScalar() ? tz_node->Scalar() : std::string();
      std::string err = parseTimezone(tz, format.default_offset_s);
      if (!err.empty()) {
        scope_.error(*tz_node, err, "timezone: UTC or timezone: \"+01:00\"");
        return;
      }
    }
    MapOp op;
    op.kind = MapOp::Kind::Time;
    op.from = st_.keep(from);
    op.from_env = from.front() == '$';
    op.to = st_.keep(to);
    op.to_env = to.front() == '$';
    op.format = st_.addFormat(std::move(format));
    op.reason = st_.keep("map: cannot parse time field '" + from + "' as " + format_text);
    st_.ops().push_back(op);
  }

  void dropOp(const YAML::Node& n) {
    if (!n.IsScalar()) {
      scope_.error(n, "drop takes field paths, found " + describeNode(n), "drop: [a, \"b.*\"]");
      return;
    }
    std::string p = n.Scalar();
    MapOp op;
    op.kind = MapOp::Kind::Drop;
    if (p.size() > 2 && p.compare(p.size() - 2, 2, ".*") == 0) {
      p.resize(p.size() - 2);
      op.kind = MapOp::Kind::DropChildren;
    }
    std::string hint;
    std::string err = checkPath(p, &hint);
    if (!err.empty()) {
      scope_.error(n, err, hint);
      return;
    }
    if (p.front() == '$') {
      if (op.kind == MapOp::Kind::DropChildren || p == "$id" || p == "$key" || p == "$source") {
        scope_.error(n, "'" + n.Scalar() + "' cannot be dropped",
                     "drop attributes, $channel, $type, $occurred_at, $identities.<type> or "
                     "$consent.<purpose>");
        return;
      }
      op.from_env = true;
    }
    op.from = st_.keep(p);
    st_.ops().push_back(op);
  }

  MapStage& st_;
  BuildScope& scope_;
};

}  // namespace

std::unique_ptr<Stage> buildMapStage(const YAML::Node& body, BuildScope& scope) {
  auto stage = std::make_unique<MapStage>();
  MapBuilder(*stage, scope).build(body);
  return stage;
}

}  // namespace omniloop::pipeline
