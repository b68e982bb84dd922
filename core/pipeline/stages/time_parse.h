#pragma once
// Timestamp parsing for the map stage's `time` op. Formats are checked once at configuration
// time; parseTime() runs per event and never allocates.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "event/event.h"

namespace omniloop::pipeline {

enum class TimeFormatKind : uint8_t { Pattern, Iso8601, Rfc2822, Unix, UnixMs };

struct TimeFormat {
  TimeFormatKind kind = TimeFormatKind::Iso8601;
  std::string pattern;           // Pattern: strftime-like (%Y %m %d %H %M %S %f %z %b %%)
  int32_t default_offset_s = 0;  // `timezone`: used when the text carries no offset
};

// Config time. "" on success; else the problem, with `error_offset` at the bad byte of `format`.
std::string compileTimeFormat(std::string_view format, TimeFormat& out, size_t* error_offset);
// "UTC", "Z", "GMT", "+02:00", "-0530", "+01". "" on success, else the problem.
std::string parseTimezone(std::string_view tz, int32_t& offset_s);

// Per event. False when the value does not match the format. Strings are trimmed first;
// unix / unix_ms also take Int and Double values.
bool parseTime(const TimeFormat& f, std::string_view text, int64_t& unix_micros);
bool parseTimeValue(const TimeFormat& f, const event::Value& v, int64_t& unix_micros);

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day);

}  // namespace omniloop::pipeline
