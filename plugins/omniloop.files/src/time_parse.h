#pragma once
// Timestamps a source may read from a field into the event's occurred_at (µs since the epoch).
#include <cstdint>
#include <optional>
#include <string_view>

namespace omniloop::files {

enum class TimeFormat { kIso8601, kUnix, kUnixMs };

// "iso8601" | "unix" | "unix_ms"
std::optional<TimeFormat> parseTimeFormat(std::string_view name);

// ISO 8601 / RFC 3339: YYYY-MM-DD, optionally [T or space]hh:mm[:ss[.fraction]] and a zone
// (Z, ±hh:mm, ±hhmm, ±hh). No zone means UTC.
std::optional<int64_t> parseIso8601Micros(std::string_view text);

// A number of seconds (unix) or milliseconds (unix_ms), written as a JSON number or a string.
std::optional<int64_t> epochToMicros(double value, TimeFormat format);
std::optional<int64_t> epochToMicros(int64_t value, TimeFormat format);
std::optional<int64_t> epochTextToMicros(std::string_view text, TimeFormat format);

}  // namespace omniloop::files
