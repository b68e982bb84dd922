#include "pipeline/stages/time_parse.h"

#include <array>
#include <charconv>
#include <cmath>

namespace omniloop::pipeline {

namespace {

constexpr int64_t kMicros = 1'000'000;
// |seconds| beyond this would overflow int64 microseconds.
constexpr int64_t kMaxUnixSeconds = 9'000'000'000'000LL;

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return i < s.size() ? s[i] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  void skipSpace() {
    while (!done() && isSpace(s[i])) ++i;
  }
  // Between min and max decimal digits (greedy).
  bool digits(int min, int max, int64_t& out) {
    int n = 0;
    int64_t v = 0;
    while (n < max && !done() && isDigit(s[i])) {
      v = v * 10 + (s[i] - '0');
      ++i;
      ++n;
    }
    out = v;
    return n >= min;
  }
  template <typename T>
  bool digitsTo(int min, int max, T& out) {
    int64_t v = 0;
    if (!digits(min, max, v)) return false;
    out = static_cast<T>(v);
    return true;
  }
};

struct Parts {
  int64_t year = 1970;
  int month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int64_t micros = 0;
  bool has_offset = false;
  int32_t offset_s = 0;
};

bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(int64_t y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[static_cast<size_t>(m - 1)];
}

bool finish(const Parts& p, int32_t default_offset, int64_t& out) {
  if (p.month < 1 || p.month > 12) return false;
  if (p.day < 1 || p.day > daysInMonth(p.year, p.month)) return false;
  if (p.hour > 23 || p.minute > 59 || p.second > 60) return false;  // 60: leap second
  const int64_t days =
      daysFromCivil(p.year, static_cast<unsigned>(p.month), static_cast<unsigned>(p.day));
  const int64_t secs = days * 86400 + p.hour * 3600 + p.minute * 60 + p.second -
                       (p.has_offset ? p.offset_s : default_offset);
  out = secs * kMicros + p.micros;
  return true;
}

// Fraction digits after the separator: any count, the first six kept as microseconds.
bool fraction(Cursor& c, int64_t& micros) {
  int n = 0;
  int64_t v = 0;
  while (!c.done() && isDigit(c.peek())) {
    if (n < 6) v = v * 10 + (c.peek() - '0');
    ++n;
    ++c.i;
  }
  if (n == 0) return false;
  for (int k = n; k < 6; ++k) v *= 10;
  micros = v;
  return true;
}

// Z | ±HH:MM | ±HHMM | ±HH; with `names`, also UT GMT UTC and the RFC 2822 US zones.
bool offset(Cursor& c, int32_t& secs, bool names) {
  if (c.peek() == 'Z' || c.peek() == 'z') {
    ++c.i;
    secs = 0;
    return true;
  }
  if (c.peek() == '+' || c.peek() == '-') {
    const int sign = c.peek() == '-' ? -1 : 1;
    ++c.i;
    int h = 0, m = 0;
    if (!c.digitsTo(2, 2, h)) return false;
    if (c.eat(':')) {
      if (!c.digitsTo(2, 2, m)) return false;
    } else if (isDigit(c.peek())) {
      if (!c.digitsTo(2, 2, m)) return false;
    }
    if (h > 23 || m > 59) return false;
    secs = sign * (h * 3600 + m * 60);
    return true;
  }
  if (!names) return false;
  size_t start = c.i;
  while (!c.done() && isAlpha(c.peek())) ++c.i;
  std::string_view word = c.s.substr(start, c.i - start);
  struct Zone {
    std::string_view name;
    int32_t hours;
  };
  static constexpr std::array<Zone, 11> kZones = {{{"UT", 0},
                                                   {"UTC", 0},
                                                   {"GMT", 0},
                                                   {"EST", -5},
                                                   {"EDT", -4},
                                                   {"CST", -6},
                                                   {"CDT", -5},
                                                   {"MST", -7},
                                                   {"MDT", -6},
                                                   {"PST", -8},
                                                   {"PDT", -7}}};
  for (const Zone& z : kZones) {
    if (word.size() != z.name.size()) continue;
    bool same = true;
    for (size_t k = 0; k < word.size(); ++k) same &= lower(word[k]) == lower(z.name[k]);
    if (same) {
      secs = z.hours * 3600;
      return true;
    }
  }
  c.i = start;
  return false;
}

// "Jan" or "January" (any case).
bool monthName(Cursor& c, int& month) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "january", "february", "march",     "april",   "may",      "june",
      "july",    "august",   "september", "october", "november", "december"};
  if (c.i + 3 > c.s.size()) return false;
  for (size_t m = 0; m < kMonths.size(); ++m) {
    const std::string_view name = kMonths[m];
    bool same = true;
    for (size_t k = 0; k < 3; ++k) same &= lower(c.s[c.i + k]) == name[k];
    if (!same) continue;
    c.i += 3;
    size_t k = 3;  // the rest of the full name, when written out
    size_t j = c.i;
    while (k < name.size() && j < c.s.size() && lower(c.s[j]) == name[k]) {
      ++k;
      ++j;
    }
    if (k == name.size()) c.i = j;
    month = static_cast<int>(m) + 1;
    return true;
  }
  return false;
}

bool parsePattern(std::string_view pattern, Cursor& c, Parts& p) {
  for (size_t k = 0; k < pattern.size(); ++k) {
    const char f = pattern[k];
    if (f == '%' && k + 1 < pattern.size()) {
      const char spec = pattern[++k];
      bool ok = true;
      switch (spec) {
        case 'Y':
          ok = c.digits(4, 4, p.year);
          break;
        case 'y': {
          int64_t y = 0;
          ok = c.digits(2, 2, y);
          p.year = y < 69 ? 2000 + y : 1900 + y;
          break;
        }
        case 'm':
          ok = c.digitsTo(1, 2, p.month);
          break;
        case 'd':
          ok = c.digitsTo(1, 2, p.day);
          break;
        case 'H':
          ok = c.digitsTo(1, 2, p.hour);
          break;
        case 'M':
          ok = c.digitsTo(1, 2, p.minute);
          break;
        case 'S':
          ok = c.digitsTo(1, 2, p.second);
          break;
        case 'f':
          ok = fraction(c, p.micros);
          break;
        case 'z':
          ok = offset(c, p.offset_s, false);
          p.has_offset = true;
          break;
        case 'b':
          ok = monthName(c, p.month);
          break;
        case '%':
          ok = c.eat('%');
          break;
        default:
          ok = false;
          break;
      }
      if (!ok) return false;
    } else if (isSpace(f)) {
      c.skipSpace();  // blanks in the pattern match any run of blanks, or none
    } else if (!c.eat(f)) {
      return false;
    }
  }
  return c.done();
}

bool parseIso8601(Cursor& c, Parts& p) {
  if (!c.digits(4, 4, p.year) || !c.eat('-') || !c.digitsTo(2, 2, p.month) || !c.eat('-') ||
      !c.digitsTo(2, 2, p.day)) {
    return false;
  }
  if (c.done()) return true;  // a date alone: midnight
  if (!(c.eat('T') || c.eat('t') || c.eat(' '))) return false;
  if (!c.digitsTo(2, 2, p.hour) || !c.eat(':') || !c.digitsTo(2, 2, p.minute)) return false;
  if (c.eat(':')) {
    if (!c.digitsTo(2, 2, p.second)) return false;
    if (c.eat('.') || c.eat(',')) {
      if (!fraction(c, p.micros)) return false;
    }
  }
  if (c.done()) return true;  // no offset: the configured timezone applies
  if (!offset(c, p.offset_s, false)) return false;
  p.has_offset = true;
  return c.done();
}

bool parseRfc2822(Cursor& c, Parts& p) {
  c.skipSpace();
  if (isAlpha(c.peek())) {  // optional day name: "Tue,"
    while (isAlpha(c.peek())) ++c.i;
    if (!c.eat(',')) return false;
    c.skipSpace();
  }
  if (!c.digitsTo(1, 2, p.day)) return false;
  c.skipSpace();
  if (!monthName(c, p.month)) return false;
  c.skipSpace();
  const size_t year_start = c.i;
  if (!c.digits(2, 4, p.year)) return false;
  const size_t year_digits = c.i - year_start;
  if (year_digits == 2) p.year += p.year < 50 ? 2000 : 1900;  // obsolete 2-digit years
  if (year_digits == 3) p.year += 1900;
  c.skipSpace();
  if (!c.digitsTo(1, 2, p.hour) || !c.eat(':') || !c.digitsTo(2, 2, p.minute)) return false;
  if (c.eat(':') && !c.digitsTo(2, 2, p.second)) return false;
  c.skipSpace();
  if (!c.done() && c.peek() != '(') {
    if (!offset(c, p.offset_s, true)) return false;
    p.has_offset = true;
    c.skipSpace();
  }
  if (c.eat('(')) {  // trailing comment: "(CET)"
    while (!c.done() && c.peek() != ')') ++c.i;
    if (!c.eat(')')) return false;
    c.skipSpace();
  }
  return c.done();
}

// "1714557600", "-5", "1714557600.25": a count of units (seconds: micros_per_unit 1'000'000,
// milliseconds: 1'000) with an optional fraction.
bool parseUnix(std::string_view s, int64_t micros_per_unit, int64_t& out) {
  Cursor c{s};
  const bool negative = c.eat('-');
  if (!negative) c.eat('+');
  int64_t whole = 0;
  const int max_digits = micros_per_unit == kMicros ? 13 : 16;
  if (!c.digits(1, max_digits, whole)) return false;
  int64_t frac_micros = 0;
  if (c.eat('.')) {
    int64_t f = 0;
    if (!fraction(c, f)) return false;  // f: millionths of one unit
    frac_micros = f * micros_per_unit / kMicros;
  }
  if (!c.done()) return false;
  if (whole > kMaxUnixSeconds * (kMicros / micros_per_unit)) return false;
  const int64_t v = whole * micros_per_unit + frac_micros;
  out = negative ? -v : v;
  return true;
}

}  // namespace

int64_t daysFromCivil(int64_t year, unsigned month, unsigned day) {
  // Shift the year to start in March so the leap day is the last day of the year; then count
  // whole 400-year eras (146097 days each) plus days within the era.
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t month_from_march = month > 2 ? month - 3 : month + 9;
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;  // 719468: days from 0000-03-01 to 1970-01-01
}

std::string compileTimeFormat(std::string_view format, TimeFormat& out, size_t* error_offset) {
  auto fail = [&](size_t at, std::string message) {
    if (error_offset) *error_offset = at;
    return message;
  };
  if (format == "iso8601" || format == "rfc3339") {
    out.kind = TimeFormatKind::Iso8601;
    return {};
  }
  if (format == "rfc2822") {
    out.kind = TimeFormatKind::Rfc2822;
    return {};
  }
  if (format == "unix") {
    out.kind = TimeFormatKind::Unix;
    return {};
  }
  if (format == "unix_ms") {
    out.kind = TimeFormatKind::UnixMs;
    return {};
  }
  if (format.find('%') == std::string_view::npos) {
    return fail(0, "time format '" + std::string(format) +
                       "' is neither a known name nor a pattern with % fields");
  }
  for (size_t k = 0; k < format.size(); ++k) {
    if (format[k] != '%') continue;
    if (k + 1 >= format.size()) return fail(k, "time format ends with a lone '%'");
    const char spec = format[k + 1];
    static constexpr std::string_view kSpecs = "YymdHMSfzb%";
    if (kSpecs.find(spec) == std::string_view::npos) {
      return fail(k, "unsupported time field '%" + std::string(1, spec) + "'");
    }
    ++k;
  }
  out.kind = TimeFormatKind::Pattern;
  out.pattern = std::string(format);
  return {};
}

std::string parseTimezone(std::string_view tz, int32_t& offset_s) {
  if (tz == "UTC" || tz == "utc" || tz == "Z" || tz == "GMT") {
    offset_s = 0;
    return {};
  }
  Cursor c{tz};
  if ((c.peek() == '+' || c.peek() == '-') && offset(c, offset_s, false) && c.done()) return {};
  return "timezone '" + std::string(tz) +
         "' is not UTC or a fixed offset such as +02:00 (zone names like Europe/Berlin are not "
         "supported)";
}

bool parseTime(const TimeFormat& f, std::string_view text, int64_t& unix_micros) {
  text = trim(text);
  if (text.empty()) return false;
  switch (f.kind) {
    case TimeFormatKind::Unix:
      return parseUnix(text, kMicros, unix_micros);
    case TimeFormatKind::UnixMs:
      return parseUnix(text, 1000, unix_micros);
    default:
      break;
  }
  Cursor c{text};
  Parts p;
  bool ok = false;
  switch (f.kind) {
    case TimeFormatKind::Pattern:
      ok = parsePattern(f.pattern, c, p);
      break;
    case TimeFormatKind::Iso8601:
      ok = parseIso8601(c, p);
      break;
    case TimeFormatKind::Rfc2822:
      ok = parseRfc2822(c, p);
      break;
    default:
      break;
  }
  return ok && finish(p, f.default_offset_s, unix_micros);
}

bool parseTimeValue(const TimeFormat& f, const event::Value& v, int64_t& unix_micros) {
  const bool numeric = f.kind == TimeFormatKind::Unix || f.kind == TimeFormatKind::UnixMs;
  const int64_t per_unit = f.kind == TimeFormatKind::Unix ? kMicros : 1000;
  switch (v.type) {
    case event::ValueType::String:
      return parseTime(f, v.s, unix_micros);
    case event::ValueType::Int:
      if (!numeric || v.i > kMaxUnixSeconds * (kMicros / per_unit) ||
          v.i < -kMaxUnixSeconds * (kMicros / per_unit)) {
        return false;
      }
      unix_micros = v.i * per_unit;
      return true;
    case event::ValueType::Double: {
      if (!numeric || !std::isfinite(v.d)) return false;
      const double micros = v.d * static_cast<double>(per_unit);
      if (std::fabs(micros) > 9.0e18) return false;
      unix_micros = std::llround(micros);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace omniloop::pipeline
