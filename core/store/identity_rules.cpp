#include "store/identity_rules.h"

#include "event/json.h"
#include "store/store.h"

namespace omniloop::store {

bool IdentityKeyer::pseudonymize(std::string_view type, std::string_view value, std::string& out) {
  if (privacy::KeyedHasher::isPseudonym(value)) {
    out.assign(value.data(), value.size());
    return true;
  }
  if (!privacy::normalizeIdentity(type, value, normalized_, options_)) return false;
  if (hasher_ == nullptr) return false;
  hasher_->pseudonymizeInto(out, type, normalized_);
  return true;
}

bool IdentityKeyer::pseudonymizeLenient(std::string_view type, std::string_view value,
                                        std::string& out) {
  if (pseudonymize(type, value, out)) return true;
  if (hasher_ == nullptr || !privacy::normalizeGeneric(value, normalized_)) return false;
  hasher_->pseudonymizeInto(out, type, normalized_);
  return true;
}

bool IdentityKeyer::storableKeys(event::Event& e, event::Batch& batch, std::vector<IdentityKey>& out) {
  if (e.id.empty()) {
    e.disposition = event::Disposition::DeadLetter;
    e.reason = "the event has no id (a source or stage left $id empty)";
    return false;
  }
  std::string_view needs_key;
  if (!keysOf(e, batch.arena(), out, &needs_key)) {
    e.disposition = event::Disposition::DeadLetter;
    e.reason = batch.intern("identity '" + std::string(needs_key) +
                            "' is clear text and the store has no pseudonymisation key "
                            "(set OMNILOOP_KEY or configure a key file)");
    return false;
  }
  return true;
}

bool IdentityKeyer::keysOf(const event::Event& e, event::Arena& arena, std::vector<IdentityKey>& out,
                           std::string_view* needs_key) {
  const size_t first = out.size();
  for (const event::Identity& id : e.identities) {
    if (id.type.empty()) continue;
    std::string_view hash;
    if (privacy::KeyedHasher::isPseudonym(id.value)) {
      hash = id.value;
      if (blocklist_ != nullptr && blocklist_->blockedPseudonym(id.type, hash)) {
        ++blocked_;
        continue;
      }
    } else {
      if (!privacy::normalizeIdentity(id.type, id.value, normalized_, options_)) continue;
      if (blocklist_ != nullptr && blocklist_->blockedValue(id.type, normalized_)) {
        ++blocked_;
        continue;
      }
      if (hasher_ == nullptr) {
        if (needs_key != nullptr) *needs_key = id.type;
        out.resize(first);
        return false;
      }
      hasher_->pseudonymizeInto(hashed_, id.type, normalized_);
      hash = hashed_;
    }
    bool repeated = false;
    for (size_t i = first; i < out.size() && !repeated; ++i) {
      repeated = out[i].type == id.type && out[i].hash == hash;
    }
    if (repeated) continue;
    out.push_back({id.type, arena.copy(hash)});
  }
  return true;
}

std::string_view newProfileId(std::string_view hash, event::Arena& arena) {
  thread_local std::string id;
  identity::newProfileId(hash, id);
  return arena.copy(id);
}

std::string deadLetterId(std::string_view pipeline, std::string_view source,
                         std::string_view event_id, std::string_view payload) {
  std::string scope;
  scope.reserve(pipeline.size() + source.size() + 1);
  scope.append(pipeline).push_back('\x1f');
  scope.append(source);
  return event::makeEventId(scope, event_id.empty() ? payload : event_id);
}

void RawSealer::payload(std::string& out, std::string_view raw, int64_t now) {
  event::JsonObjectWriter o(out);
  if (cipher_ == nullptr) {
    o.text("raw_withheld", "no vault key to seal the unparsed record");
    o.integer("bytes", raw.size());
    return;
  }
  VaultRow row;
  cipher_->tokenInto(row.token, raw);
  row.key_id = cipher_->keyId();
  row.expires_at = now + retention_us_;
  if (!cipher_->seal(raw, row.token, row.sealed)) {
    o.text("raw_withheld", "the unparsed record could not be sealed");
    o.integer("bytes", raw.size());
    return;
  }
  o.text("raw_sealed", row.token);
  o.integer("bytes", raw.size());
  o.text("expires_at", event::formatTimestamp(row.expires_at));
  rows.push_back(std::move(row));
}

void appendDeadLetterPayload(std::string& out, const event::Event& e, IdentityKeyer& keyer,
                             event::Event& scratch, event::Arena& arena, RawSealer& sealer,
                             int64_t now) {
  if (!e.raw.empty()) {
    sealer.payload(out, e.raw, now);
    return;
  }
  if (e.identities.empty()) {
    event::appendEventJson(out, e);
    return;
  }
  scratch = e;
  scratch.identities.clear();
  std::string hashed;
  for (const event::Identity& id : e.identities) {
    if (!keyer.pseudonymizeLenient(id.type, id.value, hashed)) continue;
    scratch.identities.push_back({id.type, arena.copy(hashed)});
  }
  event::appendEventJson(out, scratch);
}

}  // namespace omniloop::store
