#pragma once
// Backend-neutral rules of the CDP store: how an event's identities become pseudonymised
// keys, which profile an event joins, and how dead letters are identified and written.
// Every store backend uses these, so the rules hold whatever database sits underneath.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "event/arena.h"
#include "event/event.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"

namespace omniloop::store {

struct IdentityKey {
  std::string_view type;
  std::string_view hash;  // "h1:<key id>:<hex>"
};

class IdentityKeyer {
 public:
  IdentityKeyer(const privacy::KeyedHasher* hasher, privacy::NormalizeOptions options)
      : hasher_(hasher), options_(std::move(options)) {}

  bool hasKey() const { return hasher_ != nullptr; }

  // Appends the keys of e's identities to `out` (hashes interned in `arena`), in the event's
  // order, skipping values that are empty after normalisation and repeated keys. A value
  // already pseudonymised ("h1:...") is kept as is. Returns false, naming the identity type in
  // `*needs_key`, when a clear value is present and there is no key to pseudonymise it.
  bool keysOf(const event::Event& e, event::Arena& arena, std::vector<IdentityKey>& out,
              std::string_view* needs_key);

  // One value: normalise by type and pseudonymise into `out`. false when the value is empty
  // after normalisation or is clear text with no key.
  bool pseudonymize(std::string_view type, std::string_view value, std::string& out);

  // For dead-letter payloads: like pseudonymize, but a value its type's rule rejects is
  // still pseudonymised after trimming (a malformed email is still personal data).
  bool pseudonymizeLenient(std::string_view type, std::string_view value, std::string& out);

 private:
  const privacy::KeyedHasher* hasher_;
  privacy::NormalizeOptions options_;
  std::string normalized_;
  std::string hashed_;
};

// The id of a profile created by identity `hash`: the first 32 hex digits of its HMAC, so a
// replay creates the same profile. A malformed pseudonym gets a hash of itself (via arena).
std::string_view newProfileId(std::string_view hash, event::Arena& arena);

// The profile an event joins when its identities point at `candidates` (distinct profile ids,
// in the order of the event's identities; at least one). The first one wins and the other
// identities keep their profiles; merging profiles replaces this one decision.
std::string_view chooseProfile(std::span<const std::string_view> candidates);

// Deterministic dead-letter id (32 hex): one row per pipeline, source and event, so a replay
// updates the row instead of adding one. Events without an id are keyed by their payload.
std::string deadLetterId(std::string_view pipeline, std::string_view source,
                         std::string_view event_id, std::string_view payload);

// The dead letter's payload: the raw record when the source kept one, otherwise the event as
// JSON with its identity values pseudonymised (dropped when there is no key). `scratch` and
// `arena` are reusable working storage.
void appendDeadLetterPayload(std::string& out, const event::Event& e, IdentityKeyer& keyer,
                             event::Event& scratch, event::Arena& arena);

}  // namespace omniloop::store
