#include "store/sqlite_keys.h"

#include <array>

namespace omniloop::store::sqlite_keys {

namespace {

constexpr size_t kKeyIdBytes = 4;
constexpr std::string_view kPseudonymPrefix = "h1:";

// Lower-case hex digit -> its value; every other byte -> 0x10 (a table: every event id,
// profile id and pseudonym of a batch goes through here, a branch per digit showed in profiles).
constexpr auto kNibbles = [] {
  std::array<unsigned char, 256> t{};
  t.fill(0x10);
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = static_cast<unsigned char>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[static_cast<size_t>(c)] = static_cast<unsigned char>(c - 'a' + 10);
  return t;
}();

// Lower-case hex of exactly 2 * n characters into n bytes; false otherwise.
bool unhex(std::string_view hex, unsigned char* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  unsigned bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned hi = kNibbles[static_cast<unsigned char>(hex[2 * i])];
    const unsigned lo = kNibbles[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<unsigned char>(hi << 4 | (lo & 15));
  }
  return (bad & 0x10) == 0;
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
