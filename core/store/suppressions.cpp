#include "store/suppressions.h"

#include "event/hex.h"
#include "store/identity_rules.h"
#include "store/store.h"

namespace omniloop::store {

std::string Suppressions::derive(const privacy::KeyedHasher& key, std::string_view type,
                                 std::string_view pseudonym) {
  std::string message(type);
  message.push_back('\x1f');
  message.append(pseudonym);
  const auto mac = key.mac(message);
  std::string out(kPrefix);
  out += key.keyId();
  out.push_back(':');
  event::appendHex(out, mac.data(), mac.size());
  return out;
}

void Suppressions::assign(const std::vector<std::pair<std::string, std::string>>& rows) {
  set_.clear();
  for (const auto& [type, hash] : rows) {
    std::string k(type);
    k.push_back('\x1f');
    k += hash;
    set_.insert(std::move(k));
  }
}

bool Suppressions::contains(std::string_view type, std::string_view pseudonym) const {
  if (key_ == nullptr) {
    throw StoreError(
        "the store holds erasure suppressions but this omniloop has no suppression key, so it "
        "cannot tell erased subjects apart: set suppression_key_file in omniloop.yaml (the key "
        "file the erasure used)");
  }
  probe_.assign(type);
  probe_.push_back('\x1f');
  probe_ += derive(*key_, type, pseudonym);
  return set_.contains(probe_);
}

std::string_view Suppressions::any(std::span<const identity::Key> keys) const {
  if (set_.empty()) return {};
  for (const identity::Key& k : keys) {
    if (contains(k.type, k.hash)) return k.type;
  }
  return {};
}

std::string_view Suppressions::anyIn(const event::Event& e, identity::Keyer& keyer,
                                     std::string& scratch) const {
  if (set_.empty()) return {};
  for (const event::Identity& id : e.identities) {
    if (id.type.empty()) continue;
    if (keyer.pseudonymizeLenient(id.type, id.value, scratch) && contains(id.type, scratch))
      return id.type;
  }
  return {};
}

void dropSuppressed(event::Event& e, event::Batch& batch, std::string_view type) {
  batch.count("suppressed", type);
  e.disposition = event::Disposition::Drop;
  e.reason = "suppressed: the subject was erased";
}

}  // namespace omniloop::store
