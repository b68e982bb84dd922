#include "identity/config.h"

#include <algorithm>
#include <stdexcept>

#include "config/json_value.h"
#include "privacy/normalize.h"

namespace omniloop::identity {

namespace {

using config::JsonValue;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::invalid_argument("identity." + path + ": " + what);
}

bool validName(std::string_view s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

TypeRule* findRule(std::vector<TypeRule>& rules, std::string_view type) {
  for (TypeRule& r : rules) {
    if (r.type == type) return &r;
  }
  return nullptr;
}

void sortRules(std::vector<TypeRule>& rules) {
  std::sort(rules.begin(), rules.end(), [](const TypeRule& a, const TypeRule& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.type < b.type;
  });
}

void parseTypes(const JsonValue& types, Config& cfg) {
  if (!types.isObject()) fail("types", "must be a map of identity type to its rule");
  for (const auto& [name, body] : types.members) {
    const std::string path = "types." + name;
    if (!validName(name)) {
      fail(path, "an identity type is lower-case letters, digits and '_', starting with a letter");
    }
    TypeRule* rule = findRule(cfg.types, name);
    if (rule == nullptr) {
      cfg.types.push_back(TypeRule{name, 1000, 0, true});
      rule = &cfg.types.back();
    }
    if (body.kind == JsonValue::Kind::Null) continue;  // "phone:" with nothing: the defaults
    if (!body.isObject()) fail(path, "must be a map such as { priority: 3, max_per_profile: 1 }");
    for (const auto& [key, v] : body.members) {
      if (key == "priority") {
        if (v.kind != JsonValue::Kind::Int || v.integer < 1 || v.integer > 1000000) {
          fail(path + ".priority", "must be a whole number from 1 (strongest) upwards");
        }
        rule->priority = static_cast<int>(v.integer);
      } else if (key == "max_per_profile") {
        if (v.kind != JsonValue::Kind::Int || v.integer < 0 || v.integer > 1000000) {
          fail(path + ".max_per_profile", "must be a whole number (0 = no limit)");
        }
        rule->max_per_profile = static_cast<uint32_t>(v.integer);
      } else if (key == "merge") {
        if (!v.isBool()) fail(path + ".merge", "must be true or false");
        rule->merge = v.boolean;
      } else if (key == "custom") {
        // Declares a new type whose name is close to a built-in one (checked when
        // omniloop.yaml loads, see config/daemon_config.cpp); nothing to do here.
        if (!v.isBool()) fail(path + ".custom", "must be true or false");
      } else {
        fail(path + "." + key, "unknown setting (use priority, max_per_profile, merge or custom)");
      }
    }
  }
}

void parseStrings(const JsonValue& v, const std::string& path, std::vector<std::string>& out) {
  if (v.isString()) {
    out.push_back(v.string);
    return;
  }
  if (!v.isArray()) fail(path, "must be a name or a list of names");
  for (const JsonValue& item : v.items) {
    if (!item.isString() || item.string.empty()) fail(path, "must hold non-empty names");
    out.push_back(item.string);
  }
}

bool validField(std::string_view f) {
  if (f.empty()) return false;
  if (f[0] == '$') return f == "$channel" || f == "$type" || f == "$source" || f == "$key";
  return f.find_first_of(" \t\n") == std::string_view::npos && f.front() != '.' && f.back() != '.';
}

void parseTraits(const JsonValue& traits, Config& cfg) {
  if (!traits.isObject()) fail("traits", "must be a map of trait name to its definition");
  for (const auto& [name, body] : traits.members) {
    const std::string path = "traits." + name;
    if (!validName(name)) {
      fail(path, "a trait name is lower-case letters, digits and '_', starting with a letter");
    }
    if (name == kEventCountTrait || name == kChannelCountsTrait) {
      fail(path, "is a built-in trait; choose another name");
    }
    if (!body.isObject()) fail(path, "must be a map such as { sum: order.total }");
    TraitRule rule;
    rule.name = name;
    int aggregates = 0;
    for (const auto& [key, v] : body.members) {
      static constexpr std::pair<std::string_view, Aggregate> kAggregates[] = {
          {"count", Aggregate::Count}, {"sum", Aggregate::Sum},   {"min", Aggregate::Min},
          {"max", Aggregate::Max},     {"last", Aggregate::Last}, {"distinct", Aggregate::Distinct}};
      bool matched = false;
      for (const auto& [word, agg] : kAggregates) {
        if (key != word) continue;
        matched = true;
        ++aggregates;
        if (!v.isString() || !validField(v.string)) {
          fail(path + "." + key,
               "must name an event field: an attribute path (order.total), $channel, $type, $source"
               " or $key" + std::string(agg == Aggregate::Count ? ", or \"*\" for every event" : ""));
        }
        if (v.string == "*" && agg != Aggregate::Count) fail(path + "." + key, "\"*\" only counts events");
        rule.aggregate = agg;
        rule.field = v.string;
      }
      if (matched) continue;
      if (key == "where") {
        if (!v.isObject()) fail(path + ".where", "must be a map such as { channel: pos }");
        for (const auto& [wkey, wv] : v.members) {
          if (wkey == "channel") {
            parseStrings(wv, path + ".where.channel", rule.channels);
          } else if (wkey == "type") {
            parseStrings(wv, path + ".where.type", rule.types);
          } else {
            fail(path + ".where." + wkey, "unknown filter (use channel and/or type)");
          }
        }
      } else {
        fail(path + "." + key, "unknown setting (use one of count, sum, min, max, last, distinct, and where)");
      }
    }
    if (aggregates != 1) {
      fail(path, "needs exactly one of count, sum, min, max, last, distinct (e.g. { sum: order.total })");
    }
    cfg.traits.push_back(std::move(rule));
  }
}

}  // namespace

std::string_view toString(Aggregate a) {
  switch (a) {
    case Aggregate::Count: return "count";
    case Aggregate::Sum: return "sum";
    case Aggregate::Min: return "min";
    case Aggregate::Max: return "max";
    case Aggregate::Last: return "last";
    case Aggregate::Distinct: return "distinct";
  }
  return "?";
}

const TypeRule& Config::rule(std::string_view type) const {
  for (const TypeRule& r : types) {
    if (r.type == type) return r;
  }
  static const TypeRule kUnlisted{"", 1000, 0, true};
  return kUnlisted;
}

bool Config::anyLimit() const {
  return std::any_of(types.begin(), types.end(), [](const TypeRule& r) { return r.max_per_profile > 0; });
}

Config defaultConfig() {
  Config c;
  c.types = {
      {"crm_id", 1, 1, true},   {"loyalty_id", 2, 1, true}, {"email", 3, 5, true},
      {"phone", 4, 0, false},   {"social", 5, 0, true},     {"device_id", 6, 0, false},
  };
  sortRules(c.types);
  return c;
}

Config parseConfig(std::string_view json) {
  Config cfg = defaultConfig();
  if (json.empty()) return cfg;
  JsonValue root;
  try {
    root = config::parseJson(json);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("identity: not valid JSON: ") + e.what());
  }
  if (root.kind == JsonValue::Kind::Null) return cfg;
  if (!root.isObject()) fail("", "must be a map (types, blocklist, builtin_blocklist, traits)");
  for (const auto& [key, v] : root.members) {
    if (key == "types") {
      parseTypes(v, cfg);
    } else if (key == "blocklist") {
      if (v.kind == JsonValue::Kind::Null) continue;
      if (!v.isArray()) fail("blocklist", "must be a list of values, e.g. [test@test.com, \"0000000000\"]");
      for (const JsonValue& item : v.items) {
        std::string text;
        if (item.isString()) {
          text = item.string;
        } else if (item.kind == JsonValue::Kind::Int) {
          text = std::to_string(item.integer);
        } else {
          fail("blocklist", "holds values as text (quote numbers: \"0000000000\")");
        }
        if (text.empty()) fail("blocklist", "holds an empty value");
        cfg.blocklist.push_back(std::move(text));
      }
    } else if (key == "default_region") {
      cfg.default_region = v.isString() && v.string.size() == 2 ? privacy::phoneRegion(v.string) : "";
      if (cfg.default_region.empty()) {
        fail("default_region", "must be a two-letter region with a telephone numbering plan, such as DE or US");
      }
    } else if (key == "builtin_blocklist") {
      if (!v.isBool()) fail("builtin_blocklist", "must be true or false");
      cfg.builtin_blocklist = v.boolean;
    } else if (key == "traits") {
      if (v.kind != JsonValue::Kind::Null) parseTraits(v, cfg);
    } else if (key == "max_distinct") {
      if (v.kind != JsonValue::Kind::Int || v.integer < 1 || v.integer > 10000) {
        fail("max_distinct", "must be a whole number from 1 to 10000");
      }
      cfg.max_distinct = static_cast<uint32_t>(v.integer);
    } else {
      fail(key, "unknown setting (use types, default_region, blocklist, builtin_blocklist, traits, max_distinct)");
    }
  }
  sortRules(cfg.types);
  return cfg;
}

}  // namespace omniloop::identity
