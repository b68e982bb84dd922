#include "identity/keyer.h"

namespace omniloop::identity {

bool Keyer::pseudonymize(std::string_view type, std::string_view value, std::string& out) {
  if (privacy::KeyedHasher::isPseudonym(value)) {
    out.assign(value.data(), value.size());
    return true;
  }
  if (!normalizer_.normalize(type, value, normalized_)) return false;
  if (hasher_ == nullptr) return false;
  hasher_->pseudonymizeInto(out, type, normalized_);
  return true;
}

std::string_view Keyer::normalizedOf(const event::Identity& id, privacy::Rejection* why) {
  // Normalised once per event: a value an earlier component normalised is used as it is.
  if (const std::string_view carried = id.normalizedValue(); !carried.empty()) return carried;
  if (!normalizer_.normalize(id.type, id.value, normalized_, why)) return {};
  return normalized_;
}

bool Keyer::pseudonymizeLenient(std::string_view type, std::string_view value, std::string& out) {
  if (pseudonymize(type, value, out)) return true;
  if (hasher_ == nullptr || !privacy::normalizeGeneric(value, normalized_)) return false;
  hasher_->pseudonymizeInto(out, type, normalized_);
  return true;
}

void Keyer::rotationPairs(const event::Event& e, event::Arena& arena,
                          std::vector<RotationPair>& out) {
  if (!rotating()) return;
  for (const event::Identity& id : e.identities) {
    if (id.type.empty() || privacy::KeyedHasher::isPseudonym(id.value)) continue;
    const std::string_view normalized = normalizedOf(id, nullptr);
    if (normalized.empty()) continue;
    if (blocklist_ != nullptr && blocklist_->blockedValue(id.type, normalized)) continue;
    hasher_->pseudonymizeInto(hashed_, id.type, normalized);
    const std::string_view current = arena.copy(hashed_);
    previous_->pseudonymizeInto(hashed_, id.type, normalized);
    out.push_back({id.type, current, arena.copy(hashed_)});
  }
}

bool Keyer::pseudonymizePrevious(std::string_view type, std::string_view value, std::string& out) {
  if (!rotating() || privacy::KeyedHasher::isPseudonym(value)) return false;
  if (!normalizer_.normalize(type, value, normalized_)) return false;
  previous_->pseudonymizeInto(out, type, normalized_);
  return true;
}

bool Keyer::storableKeys(event::Event& e, event::Batch& batch, std::vector<Key>& out) {
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
  for (std::string_view reason : last_rejected_) batch.count(kRejectedFamily, reason);
  return true;
}

void Keyer::rejectedOne(std::string_view reason) {
  last_rejected_.push_back(reason);
  for (auto& [r, n] : rejected_) {
    if (r == reason) {
      ++n;
      return;
    }
  }
  rejected_.emplace_back(reason, 1);
}

bool Keyer::keysOf(const event::Event& e, event::Arena& arena, std::vector<Key>& out,
                   std::string_view* needs_key) {
  const size_t first = out.size();
  last_rejected_.clear();
  for (const event::Identity& id : e.identities) {
    if (id.type.empty()) continue;
    std::string_view hash;
    if (privacy::KeyedHasher::isPseudonym(id.value)) {
      hash = id.value;
      if (blocklist_ != nullptr && blocklist_->blockedPseudonym(id.type, hash)) {
        ++blocked_;
        rejectedOne("blocklisted");
        continue;
      }
    } else {
      privacy::Rejection why = privacy::Rejection::None;
      const std::string_view normalized = normalizedOf(id, &why);
      if (normalized.empty()) {
        rejectedOne(privacy::toString(why));
        continue;
      }
      if (blocklist_ != nullptr && blocklist_->blockedValue(id.type, normalized)) {
        ++blocked_;
        rejectedOne("blocklisted");
        continue;
      }
      if (hasher_ == nullptr) {
        if (needs_key != nullptr) *needs_key = id.type;
        out.resize(first);
        return false;
      }
      hasher_->pseudonymizeInto(hashed_, id.type, normalized);
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

}  // namespace omniloop::identity
