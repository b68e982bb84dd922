#include "cursor.h"

#include <charconv>

namespace omniloop::files {

void formatFingerprint(uint64_t fingerprint, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[fingerprint & 0xF];
    fingerprint >>= 4;
  }
}

std::string formatCursor(uint64_t offset, uint64_t inode, uint64_t fingerprint,
                         std::string_view path) {
  std::string out;
  out.reserve(64 + path.size());
  out += "offset=";
  out += std::to_string(offset);
  out += ";inode=";
  out += std::to_string(inode);
  out += ";fp=";
  char hex[16];
  formatFingerprint(fingerprint, hex);
  out.append(hex, sizeof hex);
  out += ";path=";
  out += path;
  return out;
}

namespace {

// Reads "<name>=<number>;" at the front of `text` and advances past it.
bool takeNumber(std::string_view& text, std::string_view name, uint64_t* out, int base = 10) {
  if (text.substr(0, name.size()) != name || text.size() <= name.size() ||
      text[name.size()] != '=') {
    return false;
  }
  text.remove_prefix(name.size() + 1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out, base);
  if (ec != std::errc() || ptr == text.data() || ptr == text.data() + text.size() || *ptr != ';') {
    return false;
  }
  text.remove_prefix(static_cast<size_t>(ptr - text.data()) + 1);
  return true;
}

}  // namespace

std::optional<Cursor> parseCursor(std::string_view text) {
  Cursor c;
  if (!takeNumber(text, "offset", &c.offset) || !takeNumber(text, "inode", &c.inode)) {
    return std::nullopt;
  }
  if (text.starts_with("fp=")) {
    if (!takeNumber(text, "fp", &c.fingerprint, 16)) return std::nullopt;
    c.has_fingerprint = true;
  }
  constexpr std::string_view kPath = "path=";
  if (text.substr(0, kPath.size()) != kPath) return std::nullopt;
  c.path = std::string(text.substr(kPath.size()));
  return c;
}

}  // namespace omniloop::files
