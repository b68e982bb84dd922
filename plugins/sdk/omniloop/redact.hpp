#pragma once
// omniloop's one redaction: what every message, log line and answer that may carry a
// connection string, a store URI or a secret value goes through before it is printed. Header
// only (C++17), shared by the host and the plugins (crm.odbc uses it for its ODBC errors).
//
//   postgresql://user:pw@host/db?password=pw  ->
//   postgresql://user:[secret]@host/db?password=[secret] DSN=crm;UID=u;PWD={p;w} ->
//   DSN=crm;UID=u;PWD=[secret] any of `secrets` (values known to be secret: a password read from a
//   file) -> [secret]
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace omniloop::sdk {

inline constexpr std::string_view kSecretMark = "[secret]";

namespace detail {
inline bool redactIequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}
}  // namespace detail

namespace detail {

inline void redactValue(std::string& out, std::string_view s) {
  if (s.size() < 3 || s == kSecretMark) return;  // too short to tell from ordinary text
  for (size_t at = out.find(s); at != std::string::npos;
       at = out.find(s, at + kSecretMark.size())) {
    out.replace(at, s.size(), kSecretMark);
  }
}

// Replaces the secrets `out` shows by their form (URI user info, password=/pwd= values) and
// appends each value replaced to `found` (when not null).
inline void redactForms(std::string& out, std::vector<std::string>* found) {
  // URI user info: scheme://user:password@host, wherever a URI appears in the text.
  for (size_t scheme_end = out.find("://"); scheme_end != std::string::npos;
       scheme_end = out.find("://", scheme_end + 3)) {
    const size_t start = scheme_end + 3;
    size_t end = out.find_first_of("/?# \t\r\n'\"", start);
    if (end == std::string::npos) end = out.size();
    const size_t at = out.rfind('@', end);
    if (at == std::string::npos || at < start) continue;
    const size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) {
      if (found != nullptr) found->push_back(out.substr(colon + 1, at - colon - 1));
      out.replace(colon + 1, at - colon - 1, kSecretMark);
    }
  }
  // Parameters: password=..., pwd=... after ?, &, ;, a blank, a quote, a brace or a colon (or at
  // the start); a value runs to the next separator, or to the closing brace of an ODBC
  // {braced value} (where }} stands for one brace).
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0 && std::string_view("?&; :\t\n'\"{(,[").find(out[i - 1]) == std::string_view::npos) {
      continue;
    }
    const size_t eq = out.find('=', i);
    if (eq == std::string::npos) break;
    std::string_view key(out.data() + i, eq - i);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (!detail::redactIequals(key, "password") && !detail::redactIequals(key, "pwd")) continue;
    size_t value = eq + 1;
    while (value < out.size() && out[value] == ' ') ++value;
    size_t end = value;
    if (std::string_view(out).substr(value, kSecretMark.size()) == kSecretMark) {
      i = value + kSecretMark.size() - 1;  // already redacted
      continue;
    }
    if (value < out.size() && out[value] == '{') {
      ++end;
      while (end < out.size()) {
        if (out[end] == '}' && end + 1 < out.size() && out[end + 1] == '}') {
          end += 2;
        } else if (out[end] == '}') {
          ++end;
          break;
        } else {
          ++end;
        }
      }
    } else {
      while (end < out.size() &&
             std::string_view("&; #\t\r\n'\"]),").find(out[end]) == std::string_view::npos) {
        ++end;
      }
    }
    if (found != nullptr) {
      std::string v = out.substr(value, end - value);  // the whole (braced) value first
      found->push_back(v);
      if (v.size() >= 2 && v.front() == '{' && v.back() == '}')
        found->push_back(v.substr(1, v.size() - 2));
    }
    out.replace(value, end - value, kSecretMark);
    i = value + kSecretMark.size() - 1;
  }
}

}  // namespace detail

// `text` with every secret it shows by its form replaced by [secret], and every value of
// `secrets` wherever it appears.
inline std::string redactSecrets(std::string_view text,
                                 std::initializer_list<std::string_view> secrets = {}) {
  std::string out(text);
  for (std::string_view s : secrets) detail::redactValue(out, s);  // before the forms change it
  detail::redactForms(out, nullptr);
  return out;
}

// The secret values `source` (a connection string, a URI) holds, as redactSecrets finds them.
inline std::vector<std::string> secretValues(std::string_view source) {
  std::string copy(source);
  std::vector<std::string> found;
  detail::redactForms(copy, &found);
  return found;
}

// `text` (a message about `source`, e.g. a driver's error about a connection string) with the
// secrets of `source` redacted wherever they appear, even quoted in another form than the
// source's (libpq quotes a malformed password token bare), and every secret form redacted.
inline std::string redactSecretsOf(std::string_view text, std::string_view source) {
  std::string out(text);
  for (const std::string& s : secretValues(source)) detail::redactValue(out, s);
  detail::redactForms(out, nullptr);
  return out;
}

}  // namespace omniloop::sdk
