#pragma once
// Lower-case hex, the text form of every id and digest omniloop makes (event and profile ids,
// pseudonyms' HMACs and key ids, content fingerprints, vault tokens). Encoding, and decoding
// back to bytes: the store and the identity resolver decode several of these per event, so
// decoding is by table, without a branch per digit.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace omniloop::event {

// Appends `n` bytes as 2n lower-case hex digits.
inline void appendHex(std::string& out, const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
}

namespace hex_detail {
// Lower-case hex digit -> its value; every other byte -> 0x10.
inline constexpr std::array<unsigned char, 256> kNibbles = [] {
  std::array<unsigned char, 256> t{};
  t.fill(0x10);
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = static_cast<unsigned char>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c)
    t[static_cast<size_t>(c)] = static_cast<unsigned char>(c - 'a' + 10);
  return t;
}();
}  // namespace hex_detail

// Exactly 2n lower-case hex digits into `n` bytes. False for any other length or character
// (upper case included: the forms omniloop writes are lower case, and a key that differs only
// in case must not decode to the same bytes); `out` is then partly written.
inline bool decodeLowerHex(std::string_view hex, unsigned char* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  unsigned bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned hi = hex_detail::kNibbles[static_cast<unsigned char>(hex[2 * i])];
    const unsigned lo = hex_detail::kNibbles[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<unsigned char>(hi << 4 | (lo & 15));
  }
  return (bad & 0x10) == 0;
}

// A hex digit of either case -> its value; anything else -> -1. For text a person may have
// written (a key file) or that only needs to be read back whole (a vault token), where upper
// case is the same bytes; ids and pseudonyms go through decodeLowerHex instead.
inline int hexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether every character of `s` is a lower-case hex digit (true for "").
inline bool isLowerHex(std::string_view s) {
  unsigned bad = 0;
  for (char c : s) bad |= hex_detail::kNibbles[static_cast<unsigned char>(c)];
  return (bad & 0x10) == 0;
}

}  // namespace omniloop::event
