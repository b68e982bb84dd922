#pragma once
// Identity keying: normalise -> pseudonymise -> storable keys (docs/store.md "Pseudonyms and
// identity normalisation"). Used by the store (store/identity_rules.h) for every event it
// writes, and by whatever must key an identity exactly as the store does.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event/arena.h"
#include "event/event.h"
#include "identity/blocklist.h"
#include "identity/resolver.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"

namespace omniloop::identity {

// The counter family of identities left out of an event (Batch::count), labelled by reason.
inline constexpr std::string_view kRejectedFamily = "identity_rejected";

// Identity keying, the one way an event's identities become keys (identity::Key: type and
// pseudonym "h1:<key id>:<hex>"): normalise by type (privacy/normalize.h), drop blocklisted
// values, pseudonymise with the keyed hash. The store keys every event it writes with one; so
// do the subject-rights commands and sinks that pseudonymise on the way out.
class Keyer {
 public:
  // `blocklist` (may be null: nothing blocked) must outlive the keyer.
  Keyer(const privacy::KeyedHasher* hasher, privacy::NormalizeOptions options,
        const identity::Blocklist* blocklist = nullptr)
      : hasher_(hasher), normalizer_(std::move(options)), blocklist_(blocklist) {}

  bool hasKey() const { return hasher_ != nullptr; }

  // Key rotation (docs/privacy.md "Keys and rotation"): the key in use before the current one,
  // or null. While set, identities stored under it are renamed to their current-key pseudonym
  // the first time their clear value is seen again (see rotationPairs), so one person's old and
  // new pseudonyms never split into two profiles. Must outlive the keyer.
  void setPrevious(const privacy::KeyedHasher* previous) { previous_ = previous; }
  bool rotating() const { return previous_ != nullptr && hasher_ != nullptr; }
  struct RotationPair {
    std::string_view type;
    std::string_view current;   // pseudonym under the current key
    std::string_view previous;  // pseudonym of the same value under the previous key
  };
  // Appends, for each clear identity of `e` that is not blocklisted, its pseudonyms under both
  // keys (interned in `arena`). Nothing when not rotating.
  void rotationPairs(const event::Event& e, event::Arena& arena, std::vector<RotationPair>& out);
  // One value's pseudonym under the previous key; false when not rotating or not normalisable.
  bool pseudonymizePrevious(std::string_view type, std::string_view value, std::string& out);

  // Appends the keys of e's identities to `out` (hashes interned in `arena`), in the event's
  // order, skipping values that are empty after normalisation, blocklisted values and repeated
  // keys. A value whose normalised form an earlier component carried on the identity
  // (Identity::setNormalized) is not normalised again. A value already pseudonymised ("h1:...") is
  // kept as is. Returns false, naming the identity type in `*needs_key`, when a clear value is
  // present and there is no key to pseudonymise it.
  bool keysOf(const event::Event& e, event::Arena& arena, std::vector<Key>& out,
              std::string_view* needs_key);

  // For a live event about to be stored: appends its keys like keysOf and returns true, or
  // turns the event into a dead letter with the reason (it has no id; it carries a clear
  // identity value and there is no key) and returns false, appending nothing. Every identity
  // left out is counted in the batch: `identity_rejected` by reason (kRejectedFamily).
  bool storableKeys(event::Event& e, event::Batch& batch, std::vector<Key>& out);

  // Identities skipped because they were blocklisted, since the keyer was made.
  uint64_t blocked() const { return blocked_; }
  // Identities left out since the keyer was made, by reason ("blocklisted", "phone_invalid",
  // "email_malformed", "phone_without_region", "too_long", "empty").
  const std::vector<std::pair<std::string_view, uint64_t>>& rejected() const { return rejected_; }

  // One value: normalise by type and pseudonymise into `out`. false when the value is empty
  // after normalisation or is clear text with no key.
  bool pseudonymize(std::string_view type, std::string_view value, std::string& out);

  // For dead-letter payloads: like pseudonymize, but a value its type's rule rejects is
  // still pseudonymised after trimming (a malformed email is still personal data).
  bool pseudonymizeLenient(std::string_view type, std::string_view value, std::string& out);

 private:
  void rejectedOne(std::string_view reason);
  // id.value normalised: the value an earlier component carried on the identity
  // (Identity::normalizedValue), else normalised here into normalized_; "" when rejected
  // (`why`, may be null, says why).
  std::string_view normalizedOf(const event::Identity& id, privacy::Rejection* why);

  const privacy::KeyedHasher* hasher_;
  privacy::IdentityNormalizer normalizer_;
  const privacy::KeyedHasher* previous_ = nullptr;
  const identity::Blocklist* blocklist_;
  uint64_t blocked_ = 0;
  std::vector<std::pair<std::string_view, uint64_t>> rejected_;  // totals since construction
  std::vector<std::string_view> last_rejected_;                  // of the last keysOf call
  std::string normalized_;
  std::string hashed_;
};

}  // namespace omniloop::identity
