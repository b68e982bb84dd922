#pragma once
// JSON output of events (for file sinks, the store's attributes column, dead letters and the
// plugin ABI's event_to_json). Dotted paths are re-nested: {"a.b":1,"a.c":2} -> {"a":{"b":1,"c":2}}.
#include <string>
#include <string_view>

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

}  // namespace omniloop::event
