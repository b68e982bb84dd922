#pragma once
// JSON output of events (for file sinks, the store's attributes column, dead letters and the
// plugin ABI's event_to_json). Dotted paths are re-nested: {"a.b":1,"a.c":2} ->
// {"a":{"b":1,"c":2}}.
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace omniloop::event {

void appendJsonString(std::string& out, std::string_view s);  // quoted and escaped
void appendJsonValue(std::string& out, const Value& v);
// Attributes only, as one nested JSON object.
void appendAttributesJson(std::string& out, const Event& e);
// Envelope + attributes: {"id","source","channel","type","occurred_at","identities":[...],
// "consent":{...},"attributes":{...}}.
void appendEventJson(std::string& out, const Event& e);

// "2024-05-01T10:00:00Z" / with ".123456" when micros are non-zero.
std::string formatTimestamp(int64_t unix_micros);
void appendTimestamp(std::string& out, int64_t unix_micros);

// Writes one JSON object into `out` member by member, {"a":"x","b":2}, and closes it when it
// goes out of scope. For the small documents the CLI and the admin API answer with.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ~JsonObjectWriter() { out_ += '}'; }
  JsonObjectWriter(const JsonObjectWriter&) = delete;
  JsonObjectWriter& operator=(const JsonObjectWriter&) = delete;

  JsonObjectWriter& text(std::string_view key, std::string_view value) {
    appendJsonString(member(key), value);
    return *this;
  }
  // "" is written as null.
  JsonObjectWriter& textOrNull(std::string_view key, std::string_view value) {
    if (value.empty()) return raw(key, "null");
    return text(key, value);
  }
  template <typename Int>
  JsonObjectWriter& integer(std::string_view key, Int value) {
    member(key) += std::to_string(value);
    return *this;
  }
  // `json` is already JSON text (a number, an object the store wrote, null).
  JsonObjectWriter& raw(std::string_view key, std::string_view json) {
    member(key) += json;
    return *this;
  }
  JsonObjectWriter& strings(std::string_view key, const std::vector<std::string>& items) {
    std::string& o = member(key);
    o += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) o += ',';
      appendJsonString(o, items[i]);
    }
    o += ']';
    return *this;
  }
  // A member holding an object, filled by `fill(JsonObjectWriter&)`.
  template <typename Fill>
  JsonObjectWriter& object(std::string_view key, Fill fill) {
    JsonObjectWriter nested(member(key));
    fill(nested);
    return *this;
  }
  // A member holding an array of objects, one per item, filled by `fill(JsonObjectWriter&, item)`.
  template <typename Items, typename Fill>
  JsonObjectWriter& objects(std::string_view key, const Items& items, Fill fill) {
    std::string& o = member(key);
    o += '[';
    bool first = true;
    for (const auto& item : items) {
      if (!first) o += ',';
      first = false;
      JsonObjectWriter nested(o);
      fill(nested, item);
    }
    o += ']';
    return *this;
  }

 private:
  std::string& member(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    appendJsonString(out_, key);
    out_ += ':';
    return out_;
  }
  std::string& out_;
  bool first_ = true;
};

}  // namespace omniloop::event
