#include "identity/traits.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "event/json.h"

namespace omniloop::identity {

namespace {

constexpr int64_t kMicros = 1000000;
constexpr int64_t kMaxMicros = std::numeric_limits<int64_t>::max() / 2;

// --- a minimal reader for the JSON objects this file writes (raw member texts kept, so a
// value read back is byte-identical to the one written) ---

void skipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
}

// Skips one JSON value starting at s[i]; false when malformed.
bool skipValue(std::string_view s, size_t& i) {
  skipSpace(s, i);
  if (i >= s.size()) return false;
  const char c = s[i];
  if (c == '"') {
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        ++i;
        return true;
      }
    }
    return false;
  }
  if (c == '{' || c == '[') {
    const char close = c == '{' ? '}' : ']';
    ++i;
    skipSpace(s, i);
    if (i < s.size() && s[i] == close) {
      ++i;
      return true;
    }
    while (true) {
      if (c == '{') {
        if (!skipValue(s, i)) return false;  // key
        skipSpace(s, i);
        if (i >= s.size() || s[i] != ':') return false;
        ++i;
      }
      if (!skipValue(s, i)) return false;
      skipSpace(s, i);
      if (i >= s.size()) return false;
      if (s[i] == ',') {
        ++i;
        continue;
      }
      if (s[i] != close) return false;
      ++i;
      return true;
    }
  }
  const size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n') ++i;
  return i > start;
}

// Calls f(key, raw value) for each member of a JSON object; false when `s` is not one.
// Keys are compared unescaped only for plain ASCII names (trait names are).
template <typename F>
bool forEachMember(std::string_view s, F&& f) {
  size_t i = 0;
  skipSpace(s, i);
  if (i >= s.size() || s[i] != '{') return false;
  ++i;
  skipSpace(s, i);
  if (i < s.size() && s[i] == '}') return true;
  while (i < s.size()) {
    skipSpace(s, i);
    const size_t key_start = i;
    if (!skipValue(s, i) || s[key_start] != '"') return false;
    const std::string_view key = s.substr(key_start + 1, i - key_start - 2);
    skipSpace(s, i);
    if (i >= s.size() || s[i] != ':') return false;
    ++i;
    skipSpace(s, i);
    const size_t value_start = i;
    if (!skipValue(s, i)) return false;
    f(key, s.substr(value_start, i - value_start));
    skipSpace(s, i);
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    return i < s.size() && s[i] == '}';
  }
  return false;
}

template <typename F>
bool forEachItem(std::string_view s, F&& f) {
  size_t i = 0;
  skipSpace(s, i);
  if (i >= s.size() || s[i] != '[') return false;
  ++i;
  skipSpace(s, i);
  if (i < s.size() && s[i] == ']') return true;
  while (i < s.size()) {
    skipSpace(s, i);
    const size_t start = i;
    if (!skipValue(s, i)) return false;
    f(s.substr(start, i - start));
    skipSpace(s, i);
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    return i < s.size() && s[i] == ']';
  }
  return false;
}

bool parseInt(std::string_view s, int64_t& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parseDouble(std::string_view s, double& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

void appendInt(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendDouble(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendKey(std::string& out, std::string_view key) {
  if (out.size() > 1) out.push_back(',');
  event::appendJsonString(out, key);
  out.push_back(':');
}

// A numeric event value in micro-units (numbers and numeric text; not booleans).
bool micros(const event::Value& v, int64_t& out) {
  switch (v.type) {
    case event::ValueType::Int:
      if (v.i > kMaxMicros / kMicros || v.i < -kMaxMicros / kMicros) return false;
      out = v.i * kMicros;
      return true;
    case event::ValueType::Double: {
      if (!std::isfinite(v.d) || std::fabs(v.d) > static_cast<double>(kMaxMicros / kMicros)) return false;
      out = std::llround(v.d * static_cast<double>(kMicros));
      return true;
    }
    case event::ValueType::String: return parseMicros(v.s, out);
    default: return false;
  }
}

bool number(const event::Value& v, double& out) {
  switch (v.type) {
    case event::ValueType::Int: out = static_cast<double>(v.i); return true;
    case event::ValueType::Double: out = v.d; return std::isfinite(v.d);
    case event::ValueType::String: {
      std::string_view s = v.s;
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      if (!s.empty() && s.front() == '+') s.remove_prefix(1);
      return !s.empty() && parseDouble(s, out);
    }
    default: return false;
  }
}

bool contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Inserts `text` into the sorted set, keeping at most `cap` (the smallest) values.
void insertDistinct(std::vector<std::string>& set, std::string_view text, size_t cap) {
  auto it = std::lower_bound(set.begin(), set.end(), text,
                             [](const std::string& a, std::string_view b) { return a < b; });
  if (it != set.end() && *it == text) return;
  if (set.size() >= cap) {
    if (it == set.end()) return;  // larger than everything kept
    set.pop_back();
  }
  set.emplace(it, text);
}

}  // namespace

bool parseMicros(std::string_view s, int64_t& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  // Exponent form (from a double written by a program): fall back to a double.
  if (s.find_first_of("eE") != std::string_view::npos) {
    double d = 0;
    if (!parseDouble(s, d) || d > static_cast<double>(kMaxMicros / kMicros)) return false;
    out = std::llround(d * static_cast<double>(kMicros)) * (negative ? -1 : 1);
    return true;
  }
  int64_t whole = 0, frac = 0;
  int frac_digits = 0;
  bool any_digit = false, seen_dot = false, round_up = false;
  for (char c : s) {
    if (c == '.') {
      if (seen_dot) return false;
      seen_dot = true;
      continue;
    }
    if (c < '0' || c > '9') return false;
    any_digit = true;
    const int d = c - '0';
    if (!seen_dot) {
      if (whole > (kMaxMicros / kMicros - d) / 10) return false;
      whole = whole * 10 + d;
    } else if (frac_digits < 6) {
      frac = frac * 10 + d;
      ++frac_digits;
    } else if (frac_digits == 6) {
      round_up = d >= 5;  // half away from zero on the 7th decimal
      ++frac_digits;
    }
  }
  if (!any_digit) return false;
  for (int i = std::min(frac_digits, 6); i < 6; ++i) frac *= 10;
  int64_t v = whole * kMicros + frac + (round_up ? 1 : 0);
  out = negative ? -v : v;
  return true;
}

void appendMicros(std::string& out, int64_t m) {
  if (m < 0) {
    out.push_back('-');
    m = -m;
  }
  appendInt(out, m / kMicros);
  int64_t frac = m % kMicros;
  if (frac == 0) return;
  char digits[7] = "000000";
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  int len = 6;
  while (len > 0 && digits[len - 1] == '0') --len;
  out.push_back('.');
  out.append(digits, static_cast<size_t>(len));
}

void Traits::size(const Config& config) {
  if (values_.size() != config.traits.size()) values_.resize(config.traits.size());
}

void Traits::clear() {
  event_count_ = 0;
  by_channel_.clear();
  for (Value& v : values_) {
    v.has = false;
    v.n = 0;
    v.d = 0;
    v.text.clear();
    v.set.clear();
  }
}

void Traits::observe(const Config& config, const event::Event& e, int64_t seen) {
  size(config);
  ++event_count_;
  if (!e.channel.empty()) {
    auto it = std::lower_bound(by_channel_.begin(), by_channel_.end(), e.channel,
                               [](const auto& a, std::string_view b) { return a.first < b; });
    if (it != by_channel_.end() && it->first == e.channel) {
      ++it->second;
    } else {
      by_channel_.emplace(it, std::string(e.channel), 1);
    }
  }
  thread_local std::string text;
  for (size_t i = 0; i < config.traits.size(); ++i) {
    const TraitRule& rule = config.traits[i];
    if (!rule.channels.empty() && !contains(rule.channels, e.channel)) continue;
    if (!rule.types.empty() && !contains(rule.types, e.type)) continue;
    Value& state = values_[i];
    event::Value v;
    const bool every = rule.field == "*";
    if (!every && (!event::getPath(e, rule.field, v) || v.isNull())) continue;
    switch (rule.aggregate) {
      case Aggregate::Count:
        ++state.n;
        state.has = true;
        break;
      case Aggregate::Sum: {
        int64_t m = 0;
        if (!micros(v, m)) break;
        if ((m > 0 && state.n > kMaxMicros - m) || (m < 0 && state.n < -kMaxMicros - m)) break;
        state.n += m;
        state.has = true;
        break;
      }
      case Aggregate::Min:
      case Aggregate::Max: {
        double d = 0;
        if (!number(v, d)) break;
        const bool better = rule.aggregate == Aggregate::Min ? d < state.d : d > state.d;
        if (!state.has || better) state.d = d;
        state.has = true;
        break;
      }
      case Aggregate::Last: {
        if (state.has && seen < state.n) break;  // an older event: the later value stays
        text.clear();
        event::appendJsonValue(text, v);
        // Equal times: the greater value (as JSON text) stays, whatever order they arrived in.
        if (state.has && seen == state.n && text <= state.text) break;
        state.text.swap(text);
        state.n = seen;
        state.has = true;
        break;
      }
      case Aggregate::Distinct:
        text.clear();
        event::appendJsonValue(text, v);
        insertDistinct(state.set, text, config.max_distinct);
        state.has = true;
        break;
    }
  }
}

void Traits::combine(const Config& config, const Traits& other) {
  size(config);
  event_count_ += other.event_count_;
  for (const auto& [channel, count] : other.by_channel_) {
    auto it = std::lower_bound(by_channel_.begin(), by_channel_.end(), channel,
                               [](const auto& a, const std::string& b) { return a.first < b; });
    if (it != by_channel_.end() && it->first == channel) {
      it->second += count;
    } else {
      by_channel_.emplace(it, channel, count);
    }
  }
  for (size_t i = 0; i < config.traits.size() && i < other.values_.size(); ++i) {
    const Value& o = other.values_[i];
    if (!o.has) continue;
    Value& s = values_[i];
    switch (config.traits[i].aggregate) {
      case Aggregate::Count:
      case Aggregate::Sum: s.n += o.n; break;
      case Aggregate::Min:
        if (!s.has || o.d < s.d) s.d = o.d;
        break;
      case Aggregate::Max:
        if (!s.has || o.d > s.d) s.d = o.d;
        break;
      case Aggregate::Last:
        // Equal times: the greater value stays (as observe does), so merge order never matters.
        if (!s.has || o.n > s.n || (o.n == s.n && o.text > s.text)) {
          s.text = o.text;
          s.n = o.n;
        }
        break;
      case Aggregate::Distinct:
        for (const std::string& t : o.set) insertDistinct(s.set, t, config.max_distinct);
        break;
    }
    s.has = true;
  }
}

void Traits::toJson(const Config& config, std::string& traits, std::string& meta) const {
  traits.assign("{");
  meta.assign("{");
  appendKey(traits, kEventCountTrait);
  appendInt(traits, event_count_);
  appendKey(traits, kChannelCountsTrait);
  traits.push_back('{');
  for (size_t i = 0; i < by_channel_.size(); ++i) {
    if (i > 0) traits.push_back(',');
    event::appendJsonString(traits, by_channel_[i].first);
    traits.push_back(':');
    appendInt(traits, by_channel_[i].second);
  }
  traits.push_back('}');
  for (size_t i = 0; i < config.traits.size(); ++i) {
    const TraitRule& rule = config.traits[i];
    const Value* v = i < values_.size() ? &values_[i] : nullptr;
    const bool has = v != nullptr && v->has;
    switch (rule.aggregate) {
      case Aggregate::Count:
        appendKey(traits, rule.name);
        appendInt(traits, has ? v->n : 0);
        break;
      case Aggregate::Sum:
        appendKey(traits, rule.name);
        appendMicros(traits, has ? v->n : 0);
        break;
      case Aggregate::Min:
      case Aggregate::Max:
        if (!has) break;
        appendKey(traits, rule.name);
        appendDouble(traits, v->d);
        break;
      case Aggregate::Last:
        if (!has) break;
        appendKey(traits, rule.name);
        traits.append(v->text);
        appendKey(meta, rule.name);
        appendInt(meta, v->n);
        break;
      case Aggregate::Distinct:
        appendKey(traits, rule.name);
        traits.push_back('[');
        if (has) {
          for (size_t k = 0; k < v->set.size(); ++k) {
            if (k > 0) traits.push_back(',');
            traits.append(v->set[k]);
          }
        }
        traits.push_back(']');
        break;
    }
  }
  traits.push_back('}');
  meta.push_back('}');
}

bool Traits::fromJson(const Config& config, std::string_view traits, std::string_view meta) {
  values_.clear();
  size(config);
  event_count_ = 0;
  by_channel_.clear();
  auto ruleIndex = [&](std::string_view name) -> size_t {
    for (size_t i = 0; i < config.traits.size(); ++i) {
      if (config.traits[i].name == name) return i;
    }
    return SIZE_MAX;
  };
  const bool ok = forEachMember(traits, [&](std::string_view key, std::string_view raw) {
    if (key == kEventCountTrait) {
      int64_t n = 0;
      if (parseInt(raw, n)) event_count_ = n;
      return;
    }
    if (key == kChannelCountsTrait) {
      forEachMember(raw, [&](std::string_view channel, std::string_view count) {
        int64_t n = 0;
        if (parseInt(count, n)) by_channel_.emplace_back(std::string(channel), n);
      });
      std::sort(by_channel_.begin(), by_channel_.end());
      return;
    }
    const size_t i = ruleIndex(key);
    if (i == SIZE_MAX) return;  // a trait no longer configured
    Value& v = values_[i];
    switch (config.traits[i].aggregate) {
      case Aggregate::Count: v.has = parseInt(raw, v.n); break;
      case Aggregate::Sum: v.has = parseMicros(raw, v.n); break;
      case Aggregate::Min:
      case Aggregate::Max: v.has = parseDouble(raw, v.d); break;
      case Aggregate::Last:
        v.text.assign(raw);
        v.has = true;
        break;
      case Aggregate::Distinct:
        v.has = forEachItem(raw, [&](std::string_view item) { v.set.emplace_back(item); });
        if (!v.has) v.set.clear();
        std::sort(v.set.begin(), v.set.end());
        v.set.erase(std::unique(v.set.begin(), v.set.end()), v.set.end());
        if (v.set.size() > config.max_distinct) v.set.resize(config.max_distinct);
        break;
    }
  });
  forEachMember(meta, [&](std::string_view key, std::string_view raw) {
    const size_t i = ruleIndex(key);
    if (i == SIZE_MAX || config.traits[i].aggregate != Aggregate::Last) return;
    int64_t at = 0;
    if (parseInt(raw, at)) values_[i].n = at;
  });
  return ok;
}

}  // namespace omniloop::identity
