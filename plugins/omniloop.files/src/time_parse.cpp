#include "time_parse.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

namespace omniloop::files {

namespace {

// Reads exactly `digits` decimal digits at text[*pos].
bool readDigits(std::string_view text, size_t* pos, size_t digits, int* out) {
  if (*pos + digits > text.size()) return false;
  int v = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += digits;
  *out = v;
  return true;
}

}  // namespace

std::optional<TimeFormat> parseTimeFormat(std::string_view name) {
  if (name == "iso8601") return TimeFormat::kIso8601;
  if (name == "unix") return TimeFormat::kUnix;
  if (name == "unix_ms") return TimeFormat::kUnixMs;
  return std::nullopt;
}

std::optional<int64_t> parseIso8601Micros(std::string_view text) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!readDigits(text, &pos, 4, &year) || pos >= text.size() || text[pos++] != '-' ||
      !readDigits(text, &pos, 2, &month) || pos >= text.size() || text[pos++] != '-' ||
      !readDigits(text, &pos, 2, &day)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t micros = 0;
  int64_t offset_seconds = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
    ++pos;
    if (!readDigits(text, &pos, 2, &hour) || pos >= text.size() || text[pos++] != ':' ||
        !readDigits(text, &pos, 2, &minute)) {
      return std::nullopt;
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!readDigits(text, &pos, 2, &second)) return std::nullopt;
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        int64_t scale = 100000;
        size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          micros += (text[pos] - '0') * scale;  // digits beyond microseconds are dropped
          scale /= 10;
          ++pos;
          ++digits;
        }
        if (digits == 0) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (pos < text.size()) {
      const char z = text[pos];
      if (z == 'Z' || z == 'z') {
        ++pos;
      } else if (z == '+' || z == '-') {
        ++pos;
        int oh = 0, om = 0;
        if (!readDigits(text, &pos, 2, &oh)) return std::nullopt;
        if (pos < text.size() && text[pos] == ':') ++pos;
        if (pos < text.size() && !readDigits(text, &pos, 2, &om)) return std::nullopt;
        if (oh > 23 || om > 59) return std::nullopt;
        offset_seconds = (z == '+' ? 1 : -1) * (oh * 3600 + om * 60);
      } else {
        return std::nullopt;
      }
    }
    if (pos != text.size()) return std::nullopt;
  }
  const int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  const int64_t seconds =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return seconds * 1000000 + micros;
}

std::optional<int64_t> epochToMicros(double value, TimeFormat format) {
  const double micros = format == TimeFormat::kUnixMs ? value * 1e3 : value * 1e6;
  if (!std::isfinite(micros) || std::fabs(micros) > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(std::llround(micros));
}

std::optional<int64_t> epochToMicros(int64_t value, TimeFormat format) {
  const int64_t factor = format == TimeFormat::kUnixMs ? 1000 : 1000000;
  if (value > std::numeric_limits<int64_t>::max() / factor ||
      value < std::numeric_limits<int64_t>::min() / factor) {
    return std::nullopt;
  }
  return value * factor;
}

std::optional<int64_t> epochTextToMicros(std::string_view text, TimeFormat format) {
  if (text.empty()) return std::nullopt;
  int64_t i = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (ec == std::errc() && p == text.data() + text.size()) return epochToMicros(i, format);
  double d = 0;
  auto [pd, ecd] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ecd == std::errc() && pd == text.data() + text.size()) return epochToMicros(d, format);
  return std::nullopt;
}

}  // namespace omniloop::files
