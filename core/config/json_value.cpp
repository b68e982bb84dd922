#include "config/json_value.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include <simdjson.h>

#include "event/json.h"

namespace omniloop::config {

const JsonValue* JsonValue::get(std::string_view key) const {
  if (kind != Kind::Object) return nullptr;
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {

JsonValue convert(simdjson::dom::element e) {
  JsonValue v;
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      v.kind = JsonValue::Kind::Array;
      simdjson::dom::array array;
      if (e.get_array().get(array)) break;
      for (simdjson::dom::element item : array) {
        v.items.push_back(convert(item));
      }
      break;
    }
    case simdjson::dom::element_type::OBJECT: {
      v.kind = JsonValue::Kind::Object;
      simdjson::dom::object object;
      if (e.get_object().get(object)) break;
      for (simdjson::dom::key_value_pair kv : object) {
        v.members.emplace_back(std::string(kv.key), convert(kv.value));
      }
      break;
    }
    case simdjson::dom::element_type::INT64:
      v.kind = JsonValue::Kind::Int;
      v.integer = e.get_int64().value_unsafe();
      break;
    case simdjson::dom::element_type::UINT64:
      v.kind = JsonValue::Kind::Double;
      v.number = static_cast<double>(e.get_uint64().value_unsafe());
      break;
    case simdjson::dom::element_type::DOUBLE:
      v.kind = JsonValue::Kind::Double;
      v.number = e.get_double().value_unsafe();
      break;
    case simdjson::dom::element_type::STRING:
      v.kind = JsonValue::Kind::String;
      v.string = std::string(e.get_string().value_unsafe());
      break;
    case simdjson::dom::element_type::BOOL:
      v.kind = JsonValue::Kind::Bool;
      v.boolean = e.get_bool().value_unsafe();
      break;
    case simdjson::dom::element_type::NULL_VALUE:
      v.kind = JsonValue::Kind::Null;
      break;
  }
  return v;
}

}  // namespace

JsonValue parseJson(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root)) {
    throw std::invalid_argument(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  return convert(root);
}

void appendJsonNumber(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (d == std::trunc(d) && std::fabs(d) < 1e15) {
    out += std::to_string(static_cast<long long>(d));
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  if (ec != std::errc()) {
    out += "null";
    return;
  }
  out.append(buf, end);
}

void appendJson(std::string& out, const JsonValue& v) {
  switch (v.kind) {
    case JsonValue::Kind::Null:
      out += "null";
      break;
    case JsonValue::Kind::Bool:
      out += v.boolean ? "true" : "false";
      break;
    case JsonValue::Kind::Int:
      out += std::to_string(v.integer);
      break;
    case JsonValue::Kind::Double:
      appendJsonNumber(out, v.number);
      break;
    case JsonValue::Kind::String:
      event::appendJsonString(out, v.string);
      break;
    case JsonValue::Kind::Array: {
      out.push_back('[');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out.push_back(',');
        appendJson(out, v.items[i]);
      }
      out.push_back(']');
      break;
    }
    case JsonValue::Kind::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, m] : v.members) {
        if (!first) out.push_back(',');
        first = false;
        event::appendJsonString(out, k);
        out.push_back(':');
        appendJson(out, m);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace omniloop::config
