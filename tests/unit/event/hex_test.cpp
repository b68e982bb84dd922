#include "event/hex.h"

#include <gtest/gtest.h>

#include <string>

namespace omniloop::event {
namespace {

TEST(Hex, EveryByteValueRoundTrips) {
  unsigned char bytes[256];
  for (int i = 0; i < 256; ++i) bytes[i] = static_cast<unsigned char>(i);
  std::string text = "prefix:";
  appendHex(text, bytes, sizeof bytes);
  ASSERT_EQ(text.size(), 7u + 512u);
  EXPECT_EQ(text.substr(7, 8), "00010203");
  EXPECT_EQ(text.substr(text.size() - 4), "feff");
  EXPECT_TRUE(isLowerHex(std::string_view(text).substr(7)));
  unsigned char back[256] = {};
  ASSERT_TRUE(decodeLowerHex(std::string_view(text).substr(7), back, sizeof back));
  for (int i = 0; i < 256; ++i) EXPECT_EQ(back[i], i) << i;
}

TEST(Hex, OnlyExactlySizedLowerCaseDigitsDecode) {
  unsigned char out[4];
  EXPECT_TRUE(decodeLowerHex("0a1b2c3d", out, 4));
  EXPECT_EQ(out[0], 0x0a);
  EXPECT_EQ(out[3], 0x3d);
  // Upper case is another key, not the same bytes: ids and digests are written lower case.
  EXPECT_FALSE(decodeLowerHex("0A1B2C3D", out, 4));
  EXPECT_FALSE(decodeLowerHex("0a1b2c3", out, 4));    // too short
  EXPECT_FALSE(decodeLowerHex("0a1b2c3d0", out, 4));  // too long
  // Every non-digit byte, in either nibble of the last byte (where a loop that stopped early
  // or masked the error away would miss it).
  for (int c = 0; c < 256; ++c) {
    const bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    std::string hi = "0a1b2c3d", lo = "0a1b2c3d";
    hi[6] = static_cast<char>(c);
    lo[7] = static_cast<char>(c);
    EXPECT_EQ(decodeLowerHex(hi, out, 4), digit) << c;
    EXPECT_EQ(decodeLowerHex(lo, out, 4), digit) << c;
    EXPECT_EQ(isLowerHex(std::string(1, static_cast<char>(c))), digit) << c;
  }
  EXPECT_TRUE(isLowerHex(""));
}

TEST(Hex, DigitValueTakesEitherCase) {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    int want = -1;
    if (c >= '0' && c <= '9') want = c - '0';
    if (c >= 'a' && c <= 'f') want = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') want = c - 'A' + 10;
    EXPECT_EQ(hexDigitValue(ch), want) << c;
  }
}

}  // namespace
}  // namespace omniloop::event
