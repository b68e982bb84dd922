#pragma once
// A JSON text in one canonical form, for comparing what different stores hold: object members
// sorted, numbers as doubles (PostgreSQL's jsonb reorders members and may respell numbers).
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "config/json_value.h"

namespace omniloop::store::testing {

inline void appendCanonical(std::string& out, const config::JsonValue& v) {
  using Kind = config::JsonValue::Kind;
  switch (v.kind) {
    case Kind::Object: {
      std::vector<const config::JsonMember*> members;
      for (const auto& m : v.members) members.push_back(&m);
      std::sort(members.begin(), members.end(),
                [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out += ',';
        out += '"' + members[i]->first + "\":";
        appendCanonical(out, members[i]->second);
      }
      out += '}';
      return;
    }
    case Kind::Array:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out += ',';
        appendCanonical(out, v.items[i]);
      }
      out += ']';
      return;
    case Kind::Int:
    case Kind::Double:
      config::appendJsonNumber(out, v.asDouble());
      return;
    default:
      config::appendJson(out, v);
  }
}

inline std::string canonical(std::string_view json) {
  std::string out;
  appendCanonical(out, config::parseJson(json));
  return out;
}

}  // namespace omniloop::store::testing
