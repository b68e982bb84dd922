#include "event/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace omniloop::event {

namespace {

// Path order that keeps siblings of one object together: '.' sorts before every other byte.
bool pathLess(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned ca = a[i] == '.' ? 0u : static_cast<unsigned char>(a[i]) + 1u;
    unsigned cb = b[i] == '.' ? 0u : static_cast<unsigned char>(b[i]) + 1u;
    if (ca != cb) return ca < cb;
  }
  return a.size() < b.size();
}

size_t segmentCount(std::string_view p) { return static_cast<size_t>(std::count(p.begin(), p.end(), '.')) + 1; }

std::string_view segment(std::string_view p, size_t index) {
  size_t start = 0;
  for (size_t i = 0; i < index; ++i) start = p.find('.', start) + 1;
  size_t end = p.find('.', start);
  return p.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

// Days since 1970-01-01 -> civil date (proleptic Gregorian).
void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

void appendPadded(std::string& out, int64_t v, int width) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v < 0 ? -v : v);
  int len = static_cast<int>(r.ptr - buf);
  if (v < 0) out.push_back('-');
  for (int i = len; i < width; ++i) out.push_back('0');
  out.append(buf, r.ptr);
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void appendJsonValue(std::string& out, const Value& v) {
  switch (v.type) {
    case ValueType::Null: out.append("null"); return;
    case ValueType::Bool: out.append(v.b ? "true" : "false"); return;
    case ValueType::Int: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.i);
      out.append(buf, r.ptr);
      return;
    }
    case ValueType::Double: {
      if (!std::isfinite(v.d)) {
        out.append("null");
        return;
      }
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, v.d);
      out.append(buf, r.ptr);
      return;
    }
    case ValueType::String: appendJsonString(out, v.s); return;
    case ValueType::Json: out.append(v.s.empty() ? std::string_view("null") : v.s); return;
  }
}

void appendAttributesJson(std::string& out, const Event& e) {
  thread_local std::vector<const Field*> order;
  order.clear();
  for (const Field& f : e.fields) order.push_back(&f);
  std::sort(order.begin(), order.end(),
            [](const Field* a, const Field* b) { return pathLess(a->path, b->path); });

  out.push_back('{');
  std::string_view prev;    // previous path
  size_t open = 0;          // nested objects currently open (beyond the root)
  bool first_in_object = true;
  for (const Field* f : order) {
    const std::string_view path = f->path;
    const size_t segs = segmentCount(path);
    // How many leading segments (objects) does this path share with the open ones?
    size_t common = 0;
    if (!prev.empty()) {
      const size_t prev_segs = segmentCount(prev);
      while (common < open && common < segs - 1 && common < prev_segs - 1 &&
             segment(path, common) == segment(prev, common)) {
        ++common;
      }
    }
    for (; open > common; --open) {
      out.push_back('}');
      first_in_object = false;
    }
    for (size_t s = open; s + 1 < segs; ++s) {
      if (!first_in_object) out.push_back(',');
      appendJsonString(out, segment(path, s));
      out.append(":{");
      first_in_object = true;
      ++open;
    }
    if (!first_in_object) out.push_back(',');
    appendJsonString(out, segment(path, segs - 1));
    out.push_back(':');
    appendJsonValue(out, f->value);
    first_in_object = false;
    prev = path;
  }
  for (; open > 0; --open) out.push_back('}');
  out.push_back('}');
}

void appendTimestamp(std::string& out, int64_t us) {
  int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
  int64_t frac = us - secs * 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  civilFromDays(days, y, m, d);
  appendPadded(out, y, 4);
  out.push_back('-');
  appendPadded(out, m, 2);
  out.push_back('-');
  appendPadded(out, d, 2);
  out.push_back('T');
  appendPadded(out, rem / 3600, 2);
  out.push_back(':');
  appendPadded(out, (rem / 60) % 60, 2);
  out.push_back(':');
  appendPadded(out, rem % 60, 2);
  if (frac != 0) {
    out.push_back('.');
    if (frac % 1000 == 0) {
      appendPadded(out, frac / 1000, 3);
    } else {
      appendPadded(out, frac, 6);
    }
  }
  out.push_back('Z');
}

std::string formatTimestamp(int64_t us) {
  std::string s;
  appendTimestamp(s, us);
  return s;
}

void appendEventJson(std::string& out, const Event& e) {
  out.append("{\"id\":");
  appendJsonString(out, e.id);
  if (!e.source.empty()) {
    out.append(",\"source\":");
    appendJsonString(out, e.source);
  }
  if (!e.channel.empty()) {
    out.append(",\"channel\":");
    appendJsonString(out, e.channel);
  }
  if (!e.type.empty()) {
    out.append(",\"type\":");
    appendJsonString(out, e.type);
  }
  if (e.occurred_at_us != 0) {
    out.append(",\"occurred_at\":\"");
    appendTimestamp(out, e.occurred_at_us);
    out.push_back('"');
  }
  if (!e.identities.empty()) {
    out.append(",\"identities\":[");
    for (size_t i = 0; i < e.identities.size(); ++i) {
      if (i) out.push_back(',');
      out.append("{\"type\":");
      appendJsonString(out, e.identities[i].type);
      out.append(",\"value\":");
      appendJsonString(out, e.identities[i].value);
      out.push_back('}');
    }
    out.push_back(']');
  }
  if (!e.consents.empty()) {
    out.append(",\"consent\":{");
    for (size_t i = 0; i < e.consents.size(); ++i) {
      if (i) out.push_back(',');
      appendJsonString(out, e.consents[i].purpose);
      out.push_back(':');
      appendJsonString(out, toString(e.consents[i].status));
    }
    out.push_back('}');
  }
  out.append(",\"attributes\":");
  appendAttributesJson(out, e);
  out.push_back('}');
}

}  // namespace omniloop::event
