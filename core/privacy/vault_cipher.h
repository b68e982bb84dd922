#pragma once
// The tokenisation vault's cryptography (docs/privacy.md "Tokenisation vault"). One 32-byte
// vault key, kept in its own key file (never the pseudonymisation key), gives two sub-keys:
// - a token key: token = "tk1:<key id>:<32 hex of HMAC-SHA256(token key, value)>", so one value
//   always gets the same token under one vault key (joins and counts still work on tokens);
// - an encryption key: AES-256-GCM (OpenSSL EVP), a fresh random 96-bit nonce per encryption,
//   the token as associated data (a ciphertext cannot be moved behind another token).
// Sealed text: hex of nonce (12) || ciphertext || tag (16).
#include <string>
#include <string_view>

#include "privacy/keyed_hasher.h"

namespace omniloop::privacy {

class VaultCipher {
 public:
  static constexpr std::string_view kTokenPrefix = "tk1:";

  // Raw key bytes (>= 32, otherwise std::invalid_argument).
  explicit VaultCipher(std::string_view key);
  VaultCipher(const VaultCipher&) = default;
  VaultCipher& operator=(const VaultCipher&) = default;
  ~VaultCipher();

  // Same file format and checks as the pseudonymisation key file (KeyedHasher::loadKey).
  static VaultCipher loadKey(const std::string& path);
  // A new key file, mode 0600, never overwriting (KeyedHasher::generateKeyFile).
  static void generateKeyFile(const std::string& path);

  const std::string& keyId() const { return key_id_; }
  static bool isToken(std::string_view value) { return value.starts_with(kTokenPrefix); }
  // The key id inside a token ("" when `token` is not one).
  static std::string_view tokenKeyId(std::string_view token);

  // The deterministic token of `clear`, written into `out` (no allocation once it has capacity).
  void tokenInto(std::string& out, std::string_view clear) const;
  // AES-256-GCM of `clear` bound to `aad`, as hex into `out`. False when OpenSSL fails.
  bool seal(std::string_view clear, std::string_view aad, std::string& out) const;
  // The inverse; false when the text is not hex, was sealed under another key or with another
  // `aad`, or was altered.
  bool open(std::string_view sealed, std::string_view aad, std::string& clear) const;

 private:
  KeyedHasher token_mac_;
  unsigned char enc_key_[32] = {};
  std::string key_id_;
};

}  // namespace omniloop::privacy
