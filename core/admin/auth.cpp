#include "admin/auth.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "privacy/file_access.h"

namespace omniloop::admin {

namespace {

constexpr size_t kMaxTokenBytes = 4096;

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool constantTimeEquals(std::string_view a, std::string_view b) {
  // Walk the expected length whatever the input, and fold every difference into one value.
  const size_t n = a.size();
  volatile unsigned char diff = static_cast<unsigned char>(a.size() != b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = static_cast<unsigned char>(a[i]);
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = diff | static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::optional<std::string_view> bearerToken(std::string_view authorization) {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  if (authorization[kScheme.size()] != ' ') return std::nullopt;
  std::string_view token = trim(authorization.substr(kScheme.size() + 1));
  if (token.empty()) return std::nullopt;
  return token;
}

std::string loadTokenFile(const std::string& path, std::string* warning) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw std::runtime_error("admin.token_file " + path + ": " + std::strerror(errno) +
                             " (write a random token into it, e.g. `head -c 32 /dev/urandom | "
                             "base64 > " + path + "`)");
  }
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error("admin.token_file " + path + ": not a regular file");
  }
  if (st.st_size > static_cast<off_t>(kMaxTokenBytes)) {
    throw std::runtime_error("admin.token_file " + path + ": longer than 4 KiB; it should hold "
                             "one token");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("admin.token_file " + path + ": cannot be read (check its owner "
                             "and mode)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::string token(trim(text));
  if (token.empty()) {
    throw std::runtime_error("admin.token_file " + path + ": empty; write a random token into it");
  }
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      throw std::runtime_error("admin.token_file " + path + ": the token holds a space or a "
                               "control character; use printable characters only");
    }
  }
  // Group access is how operators share the token (root:omniloop 0640); everyone is too many.
  if (warning != nullptr && privacy::accessibleByEveryone(st)) {
    *warning = "admin.token_file " + path + " can be read by every user; chmod o-rwx it";
  }
  return token;
}

}  // namespace omniloop::admin
