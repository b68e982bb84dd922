// The tokenisation vault's cryptography (core/privacy/vault_cipher.h).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "privacy/keyed_hasher.h"
#include "privacy/vault_cipher.h"

using omniloop::privacy::KeyedHasher;
using omniloop::privacy::VaultCipher;

namespace {

const std::string kKey(32, 'v');

TEST(VaultCipher, TokensAreDeterministicPerValueAndKeyAndCarryTheKeyId) {
  VaultCipher a(kKey), b(std::string(32, 'w'));
  std::string t1, t2, t3, t4;
  a.tokenInto(t1, "4111111111111111");
  a.tokenInto(t2, "4111111111111111");
  a.tokenInto(t3, "4111111111111112");
  b.tokenInto(t4, "4111111111111111");
  EXPECT_EQ(t1, t2);
  EXPECT_NE(t1, t3);
  EXPECT_NE(t1, t4);
  EXPECT_EQ(t1.rfind("tk1:" + a.keyId() + ":", 0), 0u) << t1;
  EXPECT_EQ(t1.size(), 4 + 8 + 1 + 32u);
  EXPECT_EQ(VaultCipher::tokenKeyId(t1), a.keyId());
  EXPECT_EQ(t1.find("4111"), std::string::npos);
  // Not the pseudonymisation HMAC of the same key bytes.
  EXPECT_EQ(t1.find(KeyedHasher(kKey).pseudonymize("text", "4111111111111111").substr(12, 32)),
            std::string::npos);
}

TEST(VaultCipher, SealOpensOnlyWithTheKeyAndTheToken) {
  VaultCipher v(kKey);
  std::string sealed, again, clear;
  ASSERT_TRUE(v.seal("Zelda Quist", "tk1:x", sealed));
  ASSERT_TRUE(v.seal("Zelda Quist", "tk1:x", again));
  EXPECT_NE(sealed, again) << "a fresh nonce per seal";
  EXPECT_EQ(sealed.find("Zelda"), std::string::npos);
  ASSERT_TRUE(v.open(sealed, "tk1:x", clear));
  EXPECT_EQ(clear, "Zelda Quist");
  EXPECT_FALSE(v.open(sealed, "tk1:y", clear)) << "moved behind another token";
  EXPECT_TRUE(clear.empty());
  EXPECT_FALSE(VaultCipher(std::string(32, 'w')).open(sealed, "tk1:x", clear)) << "another key";
  std::string tampered = sealed;
  tampered[30] = tampered[30] == '0' ? '1' : '0';
  EXPECT_FALSE(v.open(tampered, "tk1:x", clear)) << "altered ciphertext";
  EXPECT_FALSE(v.open("zz", "tk1:x", clear));
}

TEST(VaultCipher, KeyFileIsCreatedOwnerOnlyAndNeverOverwritten) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("omniloop-vault-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/vault.key";
  std::filesystem::remove(path);
  VaultCipher::generateKeyFile(path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const VaultCipher a = VaultCipher::loadKey(path);
  const VaultCipher b = VaultCipher::loadKey(path);
  EXPECT_EQ(a.keyId(), b.keyId());
  EXPECT_THROW(VaultCipher::generateKeyFile(path), std::runtime_error);
  std::ofstream(dir + "/short.key") << "abcd\n";
  EXPECT_THROW(VaultCipher::loadKey(dir + "/short.key"), std::runtime_error);
  EXPECT_THROW(VaultCipher(std::string(8, 'x')), std::invalid_argument);
  std::filesystem::remove_all(dir);
}

}  // namespace
