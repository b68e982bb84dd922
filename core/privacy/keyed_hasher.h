#pragma once
// Keyed pseudonymisation: HMAC-SHA256 over "type\x1f" + normalised value, written as
// "h1:<key id>:<64 lowercase hex>". The key never appears in config; it comes from a key file
// or OMNILOOP_KEY. The key id (first 8 hex of SHA-256 of the key) travels with every pseudonym
// so a later key rotation can tell old hashes from new ones.
//
// Only the precomputed inner and outer SHA-256 states are kept (the key bytes are wiped after
// construction); each call copies them on the stack, so a hasher is immutable, thread-safe and
// allocation-free when writing into a reused buffer.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omniloop::privacy {

class KeyedHasher {
 public:
  static constexpr size_t kMinKeyBytes = 32;
  static constexpr size_t kDigestBytes = 32;
  static constexpr std::string_view kPrefix = "h1:";
  static constexpr const char* kEnvVar = "OMNILOOP_KEY";

  // Raw key bytes (>= kMinKeyBytes, otherwise std::invalid_argument).
  explicit KeyedHasher(std::string_view key);
  KeyedHasher(const KeyedHasher&) = default;
  KeyedHasher& operator=(const KeyedHasher&) = default;
  ~KeyedHasher();

  // A key file holds either hex text of >= 64 hex digits (surrounding whitespace ignored) or
  // >= 32 raw bytes. Throws std::runtime_error naming the file and what to do.
  static KeyedHasher loadKey(const std::string& path);
  // OMNILOOP_KEY as hex (>= 64 hex digits); nullopt when unset or empty, throws when invalid.
  static std::optional<KeyedHasher> fromEnv(const char* variable = kEnvVar);
  // Writes 32 fresh random bytes as hex (plus a newline) to a new file with mode 0600.
  // Refuses to overwrite an existing file. Throws std::runtime_error.
  static void generateKeyFile(const std::string& path);
  // Decodes hex text (whitespace around ignored); nullopt when not hex or an odd length.
  static std::optional<std::string> decodeHex(std::string_view text);

  const std::string& keyId() const { return key_id_; }

  // "h1:<key id>:<hex>"; a value already starting with "h1:" is returned unchanged.
  std::string pseudonymize(std::string_view type, std::string_view normalized_value) const;
  // Same, written into `out` (replacing its content): no allocation once `out` has capacity.
  void pseudonymizeInto(std::string& out, std::string_view type,
                        std::string_view normalized_value) const;
  // Plain HMAC-SHA256 of `message` under this key.
  std::array<uint8_t, kDigestBytes> mac(std::string_view message) const;

  static bool isPseudonym(std::string_view value) { return value.starts_with(kPrefix); }

 private:
  // The SHA-256 states after absorbing one block of (key ^ ipad) and of (key ^ opad); opaque
  // storage for OpenSSL's SHA256_CTX (size checked in the .cpp) so this header stays light.
  struct alignas(8) State {
    unsigned char bytes[112];
  };
  void macParts(std::string_view a, std::string_view b, uint8_t* out) const;

  State inner_{};
  State outer_{};
  std::string key_id_;
};

}  // namespace omniloop::privacy
