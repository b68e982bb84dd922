// The SQLite dialect's key encoding: canonical ids and pseudonyms become bytes and back,
// anything else (upper case, stray characters, other lengths) stays text.
#include "store/sqlite_keys.h"

#include <gtest/gtest.h>

#include <string>

using namespace omniloop::store::sqlite_keys;

TEST(SqliteKeys, CanonicalIdsRoundTripThroughSixteenBytes) {
  const std::string id = "00ff10a9b8c7d6e5f4a3b2c1d0e9f801";
  unsigned char bytes[kIdBytes];
  ASSERT_TRUE(idBytes(id, bytes));
  EXPECT_EQ(bytes[0], 0x00);
  EXPECT_EQ(bytes[1], 0xff);
  EXPECT_EQ(bytes[2], 0x10);
  EXPECT_EQ(bytes[15], 0x01);
  EXPECT_EQ(idText(std::string_view(reinterpret_cast<const char*>(bytes), kIdBytes)), id);

  BoundKey key;
  encodeId(id, key);
  EXPECT_TRUE(key.blob);
  EXPECT_EQ(key.size, kIdBytes);
}

TEST(SqliteKeys, AnythingButLowerCaseHexOfTheRightLengthStaysText) {
  unsigned char bytes[kIdBytes];
  for (const std::string bad : {"00FF10a9b8c7d6e5f4a3b2c1d0e9f801", "00ff10a9b8c7d6e5f4a3b2c1d0e9f80g",
                                "00ff10a9b8c7d6e5f4a3b2c1d0e9f8 1", "00ff10a9b8c7d6e5f4a3b2c1d0e9f8",
                                "crm-42", ""}) {
    EXPECT_FALSE(idBytes(bad, bytes)) << bad;
    BoundKey key;
    encodeId(bad, key);
    EXPECT_FALSE(key.blob) << bad;
    EXPECT_EQ(key.text, bad);
  }
}

TEST(SqliteKeys, PseudonymsRoundTripThroughThirtySixBytes) {
  const std::string hash = "h1:0a1b2c3d:" + std::string(62, 'e') + "9f";
  unsigned char bytes[kHashBytes];
  ASSERT_TRUE(hashBytes(hash, bytes));
  EXPECT_EQ(bytes[0], 0x0a);
  EXPECT_EQ(bytes[3], 0x3d);
  EXPECT_EQ(bytes[35], 0x9f);
  EXPECT_EQ(hashText(std::string_view(reinterpret_cast<const char*>(bytes), kHashBytes)), hash);
  for (const std::string& bad : {"h1:0a1b2c3d:" + std::string(63, 'e'), "h1:0a1b2c3D:" + std::string(64, 'e'),
                                "h2:0a1b2c3d:" + std::string(64, 'e'), "h1:0a1b2c3d-" + std::string(64, 'e')}) {
    EXPECT_FALSE(hashBytes(bad, bytes)) << bad;
  }
}
