#include "privacy/keyed_hasher.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace omniloop::privacy {
namespace {

namespace fs = std::filesystem;

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

std::string testKey() {
  std::string k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<char>(0xa0 + i));
  return k;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("omniloop_privacy_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// RFC 4231, test cases 6 and 7 (the two whose keys meet the 32-byte minimum; a 131-byte key
// is longer than the block and is hashed first).
TEST(KeyedHasher, MatchesRfc4231TestVectors) {
  const std::string key(131, '\xaa');
  KeyedHasher h(key);
  auto m6 = h.mac("Test Using Larger Than Block-Size Key - Hash Key First");
  EXPECT_EQ(hex(m6.data(), m6.size()), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  auto m7 = h.mac(
      "This is a test using a larger than block-size key and a larger than block-size data. "
      "The key needs to be hashed before being used by the HMAC algorithm.");
  EXPECT_EQ(hex(m7.data(), m7.size()), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(KeyedHasher, AgreesWithOpenSslHmacForBlockSizedAndShorterKeys) {
  for (size_t len : {32u, 48u, 64u, 65u}) {
    std::string key;
    for (size_t i = 0; i < len; ++i) key.push_back(static_cast<char>(i * 7 + 3));
    KeyedHasher h(key);
    const std::string msg = "email\x1fjohn.doe@example.com";
    unsigned char expected[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), expected, &n);
    auto got = h.mac(msg);
    EXPECT_EQ(hex(got.data(), got.size()), hex(expected, n)) << "key length " << len;
  }
}

TEST(KeyedHasher, PseudonymIsPrefixKeyIdAndHmacOfTypeAndValue) {
  const std::string key = testKey();
  KeyedHasher h(key);
  unsigned char digest[32];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  EXPECT_EQ(h.keyId(), hex(digest, 4));

  const std::string p = h.pseudonymize("email", "john.doe@example.com");
  auto mac = h.mac(std::string("email\x1f") + "john.doe@example.com");
  EXPECT_EQ(p, "h1:" + h.keyId() + ":" + hex(mac.data(), mac.size()));
  EXPECT_EQ(p.size(), 3u + 8u + 1u + 64u);
}

TEST(KeyedHasher, TypeSeparatesEqualValues) {
  KeyedHasher h(testKey());
  EXPECT_NE(h.pseudonymize("crm_id", "42"), h.pseudonymize("pos_id", "42"));
  EXPECT_EQ(h.pseudonymize("crm_id", "42"), h.pseudonymize("crm_id", "42"));
}

TEST(KeyedHasher, DifferentKeysGiveDifferentPseudonymsAndIds) {
  KeyedHasher a(testKey());
  KeyedHasher b(std::string(32, 'x'));
  EXPECT_NE(a.keyId(), b.keyId());
  EXPECT_NE(a.pseudonymize("email", "a@b.c").substr(12), b.pseudonymize("email", "a@b.c").substr(12));
}

TEST(KeyedHasher, AlreadyPseudonymisedValuesPassThrough) {
  KeyedHasher h(testKey());
  const std::string once = h.pseudonymize("email", "a@b.c");
  EXPECT_EQ(h.pseudonymize("email", once), once);
  EXPECT_TRUE(KeyedHasher::isPseudonym(once));
  EXPECT_FALSE(KeyedHasher::isPseudonym("a@b.c"));
}

TEST(KeyedHasher, IntoReusedBufferEqualsReturnedString) {
  KeyedHasher h(testKey());
  std::string buf = "previous content that is longer than a pseudonym ............................";
  h.pseudonymizeInto(buf, "phone", "+4915112345678");
  EXPECT_EQ(buf, h.pseudonymize("phone", "+4915112345678"));
}

TEST(KeyedHasher, RejectsKeysShorterThan32Bytes) {
  EXPECT_THROW(KeyedHasher(std::string(31, 'k')), std::invalid_argument);
}

TEST(KeyedHasher, IsSafeToShareBetweenThreads) {
  const KeyedHasher h(testKey());
  const std::string expected = h.pseudonymize("email", "a@b.c");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string out;
      for (int i = 0; i < 2000; ++i) {
        h.pseudonymizeInto(out, "email", "a@b.c");
        mismatches[t] += out != expected;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST_F(KeyFile, GeneratedKeyFileIsHexWithOwnerOnlyModeAndLoads) {
  const fs::path path = dir_ / "omniloop.key";
  ::umask(022);
  KeyedHasher::generateKeyFile(path.string());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = readFile(path);
  ASSERT_EQ(text.size(), 65u);
  EXPECT_EQ(text.back(), '\n');
  auto raw = KeyedHasher::decodeHex(text);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 32u);

  KeyedHasher loaded = KeyedHasher::loadKey(path.string());
  KeyedHasher direct(*raw);
  EXPECT_EQ(loaded.keyId(), direct.keyId());
  EXPECT_EQ(loaded.pseudonymize("email", "a@b.c"), direct.pseudonymize("email", "a@b.c"));
}

TEST_F(KeyFile, GenerateRefusesToOverwriteAKey) {
  const fs::path path = dir_ / "omniloop.key";
  KeyedHasher::generateKeyFile(path.string());
  const std::string before = readFile(path);
  EXPECT_THROW(KeyedHasher::generateKeyFile(path.string()), std::runtime_error);
  EXPECT_EQ(readFile(path), before);
}

TEST_F(KeyFile, TwoGeneratedKeysDiffer) {
  KeyedHasher::generateKeyFile((dir_ / "a.key").string());
  KeyedHasher::generateKeyFile((dir_ / "b.key").string());
  EXPECT_NE(readFile(dir_ / "a.key"), readFile(dir_ / "b.key"));
}

TEST_F(KeyFile, LoadsRawBinaryKeyOf32Bytes) {
  const fs::path path = dir_ / "raw.key";
  std::string key = testKey();
  key[5] = '\0';
  key[6] = '\n';
  std::ofstream(path, std::ios::binary) << key;
  EXPECT_EQ(KeyedHasher::loadKey(path.string()).keyId(), KeyedHasher(key).keyId());
}

TEST_F(KeyFile, LoadsUpperCaseHexWithSurroundingWhitespace) {
  const fs::path path = dir_ / "hex.key";
  const std::string key = testKey();
  std::string text = hex(reinterpret_cast<const uint8_t*>(key.data()), key.size());
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::ofstream(path) << "  " << text << "\r\n";
  EXPECT_EQ(KeyedHasher::loadKey(path.string()).keyId(), KeyedHasher(key).keyId());
}

TEST_F(KeyFile, RejectsShortHexAndShortRawKeysNamingTheFile) {
  const fs::path hex_path = dir_ / "short_hex.key";
  std::ofstream(hex_path) << std::string(62, 'a') << "\n";  // 31 bytes as hex
  try {
    KeyedHasher::loadKey(hex_path.string());
    FAIL() << "short hex key accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(hex_path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("openssl rand -hex 32"), std::string::npos) << e.what();
  }
  const fs::path raw_path = dir_ / "short_raw.key";
  std::ofstream(raw_path, std::ios::binary) << std::string(20, '\x01');
  EXPECT_THROW(KeyedHasher::loadKey(raw_path.string()), std::runtime_error);
  EXPECT_THROW(KeyedHasher::loadKey((dir_ / "missing.key").string()), std::runtime_error);
}

TEST(KeyedHasherEnv, ReadsHexKeyFromEnvironment) {
  const std::string key = testKey();
  const std::string text = hex(reinterpret_cast<const uint8_t*>(key.data()), key.size());
  ::setenv("OMNILOOP_TEST_KEY", text.c_str(), 1);
  auto h = KeyedHasher::fromEnv("OMNILOOP_TEST_KEY");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->keyId(), KeyedHasher(key).keyId());

  ::setenv("OMNILOOP_TEST_KEY", "not hex", 1);
  EXPECT_THROW(KeyedHasher::fromEnv("OMNILOOP_TEST_KEY"), std::runtime_error);
  ::setenv("OMNILOOP_TEST_KEY", std::string(40, 'a').c_str(), 1);  // 20 bytes: too short
  EXPECT_THROW(KeyedHasher::fromEnv("OMNILOOP_TEST_KEY"), std::runtime_error);
  ::unsetenv("OMNILOOP_TEST_KEY");
  EXPECT_FALSE(KeyedHasher::fromEnv("OMNILOOP_TEST_KEY").has_value());
}

}  // namespace
}  // namespace omniloop::privacy
