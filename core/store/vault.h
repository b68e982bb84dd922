#pragma once
// The tokenisation vault (docs/privacy.md "Tokenisation vault"): the `mask` stage's tokenize
// method and the sealing of unparsable dead-letter records. Values are sealed with the vault
// key (privacy::VaultCipher, its own key file) and kept in the store's `vault` table behind a
// deterministic token; `omniloop detokenize` reverses a token, and only with that key.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "privacy/tokenizer.h"
#include "privacy/vault_cipher.h"
#include "store/store.h"

namespace omniloop::store {

class Vault final : public privacy::Tokenizer {
 public:
  // Both must outlive the vault.
  Vault(Store& store, const privacy::VaultCipher& cipher) : store_(store), cipher_(cipher) {}

  // privacy::Tokenizer: the token now, its sealed row at flush() (once per batch).
  bool tokenize(std::string_view clear, std::string& out, std::string& error) override;
  bool flush(std::string& error) override;

  // Seals `clear` and stores it at once under a token, expiring at `expires_at_us` (0: kept).
  // Returns the token; throws StoreError / std::runtime_error.
  std::string seal(std::string_view clear, int64_t expires_at_us);

  // The clear value behind `token`; nullopt when the vault has no (unexpired) row for it.
  // Throws std::runtime_error when the row was sealed under another vault key or was altered.
  std::optional<std::string> reveal(std::string_view token);

  const privacy::VaultCipher& cipher() const { return cipher_; }

 private:
  static constexpr size_t kKnownLimit = 1 << 16;

  Store& store_;
  const privacy::VaultCipher& cipher_;
  std::vector<VaultRow> pending_;
  // Tokens whose rows are committed (or pending): not sealed again. Cleared when it is full.
  std::unordered_set<std::string> known_;
};

}  // namespace omniloop::store
