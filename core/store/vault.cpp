#include "store/vault.h"

#include <stdexcept>

namespace omniloop::store {

bool Vault::tokenize(std::string_view clear, std::string& out, std::string& error) {
  cipher_.tokenInto(out, clear);
  if (known_.count(out) != 0) return true;
  VaultRow row;
  row.token = out;
  row.key_id = cipher_.keyId();
  if (!cipher_.seal(clear, row.token, row.sealed)) {
    error = "cannot seal the value (OpenSSL)";
    return false;
  }
  pending_.push_back(std::move(row));
  return true;
}

bool Vault::flush(std::string& error) {
  if (pending_.empty()) return true;
  const event::Result r = store_.putVault(pending_);
  if (!r.isOk()) {
    error = r.message;
    pending_.clear();
    return false;
  }
  if (known_.size() + pending_.size() > kKnownLimit) known_.clear();
  for (VaultRow& row : pending_) known_.insert(std::move(row.token));
  pending_.clear();
  return true;
}

std::string Vault::seal(std::string_view clear, int64_t expires_at_us) {
  VaultRow row;
  cipher_.tokenInto(row.token, clear);
  row.key_id = cipher_.keyId();
  row.expires_at = expires_at_us;
  if (!cipher_.seal(clear, row.token, row.sealed)) {
    throw std::runtime_error("cannot seal a value for the vault (OpenSSL)");
  }
  const event::Result r = store_.putVault({row});
  if (!r.isOk()) throw StoreError(r.message, r.status == event::Status::Retry);
  return row.token;
}

std::optional<std::string> Vault::reveal(std::string_view token) {
  std::optional<VaultRow> row = store_.getVault(token);
  if (!row) return std::nullopt;
  if (row->key_id != cipher_.keyId()) {
    throw std::runtime_error("token " + std::string(token) + " was sealed under vault key " +
                             row->key_id + ", not the configured one (" + cipher_.keyId() +
                             "): point vault_key_file at that key");
  }
  std::string clear;
  if (!cipher_.open(row->sealed, row->token, clear)) {
    throw std::runtime_error("the vault row of " + std::string(token) +
                             " does not open with the vault key: it was altered");
  }
  return clear;
}

}  // namespace omniloop::store
