#include "store/identity_rules.h"

#include "event/hex.h"
#include "event/json.h"
#include "store/store.h"

namespace omniloop::store {

void SameIdGuard::fingerprint(const event::Event& e, std::string& out) {
  // Everything the store keeps of the event, and its identities as the source gave them
  // (two records with equal attributes but another email are different records).
  text_.clear();
  text_.append(e.channel).push_back('\x1f');
  text_.append(e.type).push_back('\x1f');
  text_.append(std::to_string(e.occurred_at_us)).push_back('\x1f');
  event::appendAttributesJson(text_, e);
  for (const event::Identity& id : e.identities) {
    text_.push_back('\x1f');
    text_.append(id.type).push_back('=');
    text_.append(id.value);
  }
  out.clear();
  if (hasher_ != nullptr) {
    const auto mac = hasher_->mac(text_);
    event::appendHex(out, mac.data(), 16);
  } else {
    out = event::makeEventId("content", text_);
  }
}

void SameIdGuard::setPolicy(std::string_view pipeline, SameIdPolicy policy) {
  for (auto& [name, p] : policies_) {
    if (name == pipeline) {
      p = policy;
      return;
    }
  }
  policies_.emplace_back(std::string(pipeline), policy);
}

bool SameIdGuard::admit(event::Event& e, event::Batch& batch, std::string_view pipeline, const StoredContent* stored,
                        std::string_view fingerprint) {
  versioned_ = false;
  const std::string id(e.id);
  std::string_view other_pipeline, other_source;
  bool collides = false;
  if (const auto earlier = admitted_.find(id); earlier != admitted_.end()) {
    collides = earlier->second != fingerprint;
    other_pipeline = "this batch";
    other_source = e.source;
  } else if (stored != nullptr && !stored->content_hash.empty() && stored->content_hash != fingerprint) {
    collides = true;
    other_pipeline = stored->pipeline;
    other_source = stored->source;
  }
  if (!collides) {
    admitted_.emplace(id, std::string(fingerprint));
    return true;
  }
  const std::string own = event::makeEventId(id, fingerprint);
  SameIdPolicy policy = SameIdPolicy::Auto;
  for (const auto& [name, p] : policies_) {
    if (name == pipeline) policy = p;
  }
  if (policy == SameIdPolicy::Versions || (policy == SameIdPolicy::Auto && e.occurred_at_us == 0)) {
    // A snapshot that changed: a new version of its own (a replay of it is a replay).
    e.id = batch.intern(own);
    admitted_.emplace(own, std::string(fingerprint));
    versioned_ = true;
    return true;
  }
  e.reason = batch.intern("same id, different content: event " + id + " is already stored (pipeline " +
                          std::string(other_pipeline) + ", source " + std::string(other_source) +
                          ") with other content, and it stays as it was; this record" +
                          (e.source.empty() ? std::string() : " (source " + std::string(e.source) + ")") +
                          " is kept here under id " + own +
                          ". If the source reuses keys (a rotated file, a reused number), give it a key that "
                          "tells its records apart (key_field)");
  e.id = batch.intern(own);
  e.disposition = event::Disposition::DeadLetter;
  batch.count(kSameIdFamily, "collision");
  return false;
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
