#include "store/sqlite_keys.h"

namespace omniloop::store::sqlite_keys {

namespace {

constexpr size_t kKeyIdBytes = 4;
constexpr std::string_view kPseudonymPrefix = "h1:";

int hexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Lower-case hex of exactly 2 * n characters into n bytes; false otherwise.
bool unhex(std::string_view hex, unsigned char* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = hexNibble(hex[2 * i]), lo = hexNibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

void appendHex(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
}

}  // namespace

bool idBytes(std::string_view id, unsigned char* out) { return unhex(id, out, kIdBytes); }

bool hashBytes(std::string_view hash, unsigned char* out) {
  if (hash.size() != kPseudonymPrefix.size() + 2 * kKeyIdBytes + 1 + 64 || !hash.starts_with(kPseudonymPrefix) ||
      hash[kPseudonymPrefix.size() + 2 * kKeyIdBytes] != ':') {
    return false;
  }
  return unhex(hash.substr(kPseudonymPrefix.size(), 2 * kKeyIdBytes), out, kKeyIdBytes) &&
         unhex(hash.substr(kPseudonymPrefix.size() + 2 * kKeyIdBytes + 1), out + kKeyIdBytes, 32);
}

void encodeId(std::string_view id, BoundKey& out) {
  out.blob = idBytes(id, out.bytes);
  out.size = out.blob ? kIdBytes : 0;
  out.text = id;
}

void encodeHash(std::string_view hash, BoundKey& out) {
  out.blob = hashBytes(hash, out.bytes);
  out.size = out.blob ? kHashBytes : 0;
  out.text = hash;
}

void keepText(std::string_view text, BoundKey& out) {
  out.blob = false;
  out.size = 0;
  out.text = text;
}

std::string idText(std::string_view bytes) {
  std::string out;
  out.reserve(2 * bytes.size());
  appendHex(out, bytes);
  return out;
}

std::string hashText(std::string_view bytes) {
  if (bytes.size() != kHashBytes) return idText(bytes);
  std::string out(kPseudonymPrefix);
  appendHex(out, bytes.substr(0, kKeyIdBytes));
  out.push_back(':');
  appendHex(out, bytes.substr(kKeyIdBytes));
  return out;
}

}  // namespace omniloop::store::sqlite_keys
