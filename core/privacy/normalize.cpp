#include "privacy/normalize.h"

namespace omniloop::privacy {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool reject(std::string& out) {
  out.clear();
  return false;
}

}  // namespace

bool normalizeEmail(std::string_view in, std::string& out) {
  out.clear();
  std::string_view s = trim(in);
  const size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return reject(out);
  out.resize(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c == 0x7f) return reject(out);
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : static_cast<char>(c);
  }
  return true;
}

bool isCallingCode(std::string_view code) {
  if (code.size() < 2 || code.size() > 4 || code[0] != '+' || code[1] == '0') return false;
  for (size_t i = 1; i < code.size(); ++i) {
    if (!isDigit(code[i])) return false;
  }
  return true;
}

bool normalizePhone(std::string_view in, std::string& out, std::string_view default_region) {
  out.clear();
  std::string_view s = trim(in);
  if (s.empty()) return false;
  bool plus = false;
  size_t digits_seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (isDigit(c)) {
      out.push_back(c);
      ++digits_seen;
    } else if (c == '+') {
      if (plus || digits_seen != 0) return reject(out);  // '+' only in front
      plus = true;
    } else if (c == '(' && plus && digits_seen > 0 && s.substr(i, 3) == "(0)") {
      i += 2;  // "+49 (0)89": the national trunk 0 written after the country code
    } else if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')') {
      continue;
    } else {
      return reject(out);
    }
  }
  // `out` holds the digits only; now decide the country code.
  if (!plus) {
    if (out.size() >= 2 && out[0] == '0' && out[1] == '0') {
      out.erase(0, 2);
    } else if (default_region == "+1") {
      // North America has no trunk 0: NPA-NXX-XXXX, or 1-NPA-NXX-XXXX (the trunk prefix is the
      // country code itself). Area codes start with 2-9.
      if (out.size() == 10 && out[0] >= '2') {
        out.insert(out.begin(), '1');
      } else if (!(out.size() == 11 && out[0] == '1' && out[1] >= '2')) {
        return reject(out);
      }
    } else if (!out.empty() && out[0] == '0' && isCallingCode(default_region)) {
      out.replace(0, 1, default_region.substr(1));
    } else {
      return reject(out);
    }
  }
  if (out.size() < 8 || out.size() > 15 || out[0] == '0') return reject(out);
  out.insert(out.begin(), '+');
  return true;
}

bool normalizeGeneric(std::string_view in, std::string& out) {
  std::string_view s = trim(in);
  out.assign(s.data(), s.size());
  return !out.empty();
}

bool normalizeIdentity(std::string_view type, std::string_view in, std::string& out,
                       const NormalizeOptions& options) {
  if (type == "email") return normalizeEmail(in, out);
  if (type == "phone") return normalizePhone(in, out, options.default_region);
  return normalizeGeneric(in, out);
}

}  // namespace omniloop::privacy
