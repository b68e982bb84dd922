#include "api.h"

#include <cstdlib>

#include "text.h"

namespace omniloop::mastodon {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::map<std::string, std::string> parseLinkHeader(std::string_view header) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < header.size()) {
    const size_t open = header.find('<', pos);
    if (open == std::string_view::npos) break;
    const size_t close = header.find('>', open);
    if (close == std::string_view::npos) break;
    const std::string url(header.substr(open + 1, close - open - 1));
    size_t end = header.find('<', close);  // the next link starts with '<'
    if (end == std::string_view::npos) end = header.size();
    std::string_view params = header.substr(close + 1, end - close - 1);
    while (!params.empty() &&
           (params.back() == ',' || params.back() == ' ' || params.back() == '\t')) {
      params.remove_suffix(1);  // the comma before the next link
    }
    pos = end;
    // ; rel="next" (quoted or not; several space-separated relation types allowed)
    while (!params.empty()) {
      const size_t semi = params.find(';');
      if (semi == std::string_view::npos) break;
      params.remove_prefix(semi + 1);
      size_t stop = params.find(';');
      std::string_view param = trim(params.substr(0, stop));
      if (lower(param.substr(0, 3)) == "rel") {
        std::string_view v = trim(param.substr(3));
        if (!v.empty() && v.front() == '=') {
          v = trim(v.substr(1));
          if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
          while (!v.empty()) {
            const size_t sp = v.find(' ');
            const std::string rel = lower(v.substr(0, sp));
            if (!rel.empty() && out.count(rel) == 0) out[rel] = url;
            if (sp == std::string_view::npos) break;
            v.remove_prefix(sp + 1);
          }
        }
      }
      if (stop == std::string_view::npos) break;
    }
  }
  return out;
}

bool isNumericId(std::string_view id) {
  return allDigits(id);
}

int compareIds(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view s) {
    while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
    return s;
  };
  const bool na = allDigits(a), nb = allDigits(b);
  if (na && nb) {
    a = strip(a);
    b = strip(b);
  }
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::optional<int64_t> parseResetTime(std::string_view reset, int64_t now_micros) {
  reset = trim(reset);
  if (reset.empty()) return std::nullopt;
  if (allDigits(reset) && reset.size() <= 12) {
    const int64_t v = std::strtoll(std::string(reset).c_str(), nullptr, 10);
    // Epoch seconds (after 2001) or, from other servers, seconds from now.
    return v > 1000000000 ? v * 1000000 : now_micros + v * 1000000;
  }
  return filetail::parseIsoTimestamp(reset);
}

std::optional<int64_t> parseRetryAfter(std::string_view retry_after, int64_t now_micros) {
  retry_after = trim(retry_after);
  if (!allDigits(retry_after) || retry_after.size() > 9) return std::nullopt;
  return now_micros + std::strtoll(std::string(retry_after).c_str(), nullptr, 10) * 1000000;
}

std::optional<Url> parseBaseUrl(std::string_view url) {
  Url u;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  u.scheme = lower(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  const size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // no credentials here
  if (path.find_first_of("?#") != std::string_view::npos) return std::nullopt;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = lower(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    u.host = lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;  // "host:" without its port
    }
  }
  if (u.host.empty()) return std::nullopt;
  if (!port_text.empty()) {
    if (!allDigits(port_text) || port_text.size() > 5) return std::nullopt;
    u.port = std::atoi(std::string(port_text).c_str());
    if (u.port < 1 || u.port > 65535) return std::nullopt;
  } else {
    u.port = u.scheme == "https" ? 443 : 80;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  u.path = std::string(path);
  return u;
}

std::string redactUrl(std::string_view url) {
  std::string out(url);
  const size_t sep = out.find("://");
  if (sep != std::string::npos) {
    const size_t auth_end = out.find_first_of("/?#", sep + 3);
    const size_t at = out.find('@', sep + 3);
    if (at != std::string::npos && (auth_end == std::string::npos || at < auth_end)) {
      out.erase(sep + 3, at + 1 - (sep + 3));
    }
  }
  const size_t q = out.find('?');
  if (q == std::string::npos) return out;
  std::string query = out.substr(q + 1);
  std::string kept;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    const std::string part = query.substr(pos, amp - pos);
    if (!part.empty()) {
      if (!kept.empty()) kept += '&';
      kept += lower(part).rfind("access_token=", 0) == 0 ? "access_token=[redacted]" : part;
    }
    pos = amp + 1;
  }
  return out.substr(0, q + 1) + kept;
}

bool sameOrigin(std::string_view url, const Url& base) {
  const size_t q = url.find_first_of("?#");
  const auto u = parseBaseUrl(url.substr(0, q));
  return u && u->scheme == base.scheme && u->host == base.host && u->port == base.port;
}

bool isLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  // 127.x.y.z as an address, not a name that merely starts with "127." (127.0.0.1.evil.example).
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (const char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string htmlText(std::string_view html) {
  std::string out;
  bool in_tag = false;
  for (size_t i = 0; i < html.size(); ++i) {
    const char c = html[i];
    if (in_tag) {
      if (c == '>') in_tag = false;
      continue;
    }
    if (c == '<') {
      in_tag = true;
      continue;
    }
    if (c == '&') {
      static constexpr std::pair<std::string_view, char> kEntities[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
      bool done = false;
      for (const auto& [name, ch] : kEntities) {
        if (html.substr(i, name.size()) == name) {
          out.push_back(ch);
          i += name.size() - 1;
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    out.push_back(c);
  }
  return std::string(trim(out));
}

}  // namespace omniloop::mastodon
