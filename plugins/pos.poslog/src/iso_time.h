#pragma once
// ISO 8601 date-times as POSLog writes them: 2024-03-05T14:23:11, with optional fraction and an
// optional offset (Z, +01:00, +0100). A time without an offset is read in `default_offset_s`.
#include <cstdint>
#include <optional>
#include <string_view>

namespace omniloop::poslog {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
inline int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Parses `[+-]hh:mm`, `[+-]hhmm`, `[+-]hh` or `Z` into seconds east of UTC.
inline std::optional<int64_t> parseOffset(std::string_view s) {
  if (s == "Z" || s == "z") return 0;
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  auto digit = [&](size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; };
  if (!digit(1) || !digit(2)) return std::nullopt;
  int64_t h = (s[1] - '0') * 10 + (s[2] - '0');
  int64_t m = 0;
  size_t i = 3;
  if (i < s.size() && s[i] == ':') ++i;
  if (i < s.size()) {
    if (!digit(i) || !digit(i + 1) || i + 2 != s.size()) return std::nullopt;
    m = (s[i] - '0') * 10 + (s[i + 1] - '0');
  }
  if (h > 23 || m > 59) return std::nullopt;
  const int64_t secs = h * 3600 + m * 60;
  return s[0] == '-' ? -secs : secs;
}

// Microseconds since the epoch (UTC), or nullopt when `s` is not such a date-time.
inline std::optional<int64_t> parseIsoTime(std::string_view s, int64_t default_offset_s) {
  auto num = [&](size_t at, size_t n, int64_t& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int64_t y, mo, d, h = 0, mi = 0, sec = 0;
  if (!num(0, 4, y) || s.size() < 10 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
      !num(8, 2, d)) {
    return std::nullopt;
  }
  size_t i = 10;
  int64_t micros = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    if (!num(i + 1, 2, h) || i + 3 >= s.size() || s[i + 3] != ':' || !num(i + 4, 2, mi)) {
      return std::nullopt;
    }
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!num(i + 1, 2, sec)) return std::nullopt;
      i += 3;
    }
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      ++i;
      int64_t scale = 100000;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        micros += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  int64_t offset = default_offset_s;
  if (i < s.size()) {
    const auto o = parseOffset(s.substr(i));
    if (!o) return std::nullopt;
    offset = *o;
  }
  const int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
  return secs * 1000000 + micros;
}

}  // namespace omniloop::poslog
