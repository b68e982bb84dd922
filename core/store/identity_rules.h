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
#include "identity/blocklist.h"
#include "identity/resolver.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"
#include "store/store.h"

namespace omniloop::store {

// An identity as the store keys it: type and pseudonym "h1:<key id>:<hex>".
using IdentityKey = identity::Key;

class IdentityKeyer {
 public:
  // `blocklist` (may be null: nothing blocked) must outlive the keyer.
  IdentityKeyer(const privacy::KeyedHasher* hasher, privacy::NormalizeOptions options,
                const identity::Blocklist* blocklist = nullptr)
      : hasher_(hasher), options_(std::move(options)), blocklist_(blocklist) {}

  bool hasKey() const { return hasher_ != nullptr; }

  // Appends the keys of e's identities to `out` (hashes interned in `arena`), in the event's
  // order, skipping values that are empty after normalisation, blocklisted values and repeated
  // keys. A value already pseudonymised ("h1:...") is kept as is. Returns false, naming the
  // identity type in `*needs_key`, when a clear value is present and there is no key to
  // pseudonymise it.
  bool keysOf(const event::Event& e, event::Arena& arena, std::vector<IdentityKey>& out,
              std::string_view* needs_key);

  // For a live event about to be stored: appends its keys like keysOf and returns true, or
  // turns the event into a dead letter with the reason (it has no id; it carries a clear
  // identity value and there is no key) and returns false, appending nothing.
  bool storableKeys(event::Event& e, event::Batch& batch, std::vector<IdentityKey>& out);

  // Identities skipped because they were blocklisted, since the keyer was made.
  uint64_t blocked() const { return blocked_; }

  // One value: normalise by type and pseudonymise into `out`. false when the value is empty
  // after normalisation or is clear text with no key.
  bool pseudonymize(std::string_view type, std::string_view value, std::string& out);

  // For dead-letter payloads: like pseudonymize, but a value its type's rule rejects is
  // still pseudonymised after trimming (a malformed email is still personal data).
  bool pseudonymizeLenient(std::string_view type, std::string_view value, std::string& out);

 private:
  const privacy::KeyedHasher* hasher_;
  privacy::NormalizeOptions options_;
  const identity::Blocklist* blocklist_;
  uint64_t blocked_ = 0;
  std::string normalized_;
  std::string hashed_;
};

// The id of a profile created by identity `hash` (identity::newProfileId, interned in arena).
std::string_view newProfileId(std::string_view hash, event::Arena& arena);

// Deterministic dead-letter id (32 hex): one row per pipeline, source and event, so a replay
// updates the row instead of adding one. Events without an id are keyed by their payload.
std::string deadLetterId(std::string_view pipeline, std::string_view source,
                         std::string_view event_id, std::string_view payload);

// Seals unparsed records (Event::raw) for dead letters: the clear bytes go to the vault, sealed
// with the vault key, and expire; the payload names the token. The backend writes `rows` in
// the transaction of the dead letters that name them, then clears them.
class RawSealer {
 public:
  // `cipher` may be null: payloads then keep only the record's size (nothing to replay).
  RawSealer(const privacy::VaultCipher* cipher, int64_t retention_us)
      : cipher_(cipher), retention_us_(retention_us) {}
  // {"raw_sealed":"tk1:...","bytes":N,"expires_at":"..."} (or {"raw_withheld":...,"bytes":N}).
  void payload(std::string& out, std::string_view raw, int64_t now);
  std::vector<VaultRow> rows;

 private:
  const privacy::VaultCipher* cipher_;
  int64_t retention_us_;
};

// The dead letter's payload: a sealed reference to the raw record when the source kept one
// (see RawSealer), otherwise the event as JSON (masked by the pipeline's mask stages) with its
// identity values pseudonymised (dropped when there is no key). `scratch` and `arena` are
// reusable working storage.
void appendDeadLetterPayload(std::string& out, const event::Event& e, IdentityKeyer& keyer,
                             event::Event& scratch, event::Arena& arena, RawSealer& sealer,
                             int64_t now);

// The row-at-a-time write loop of the SQLite and ODBC backends, inside their transaction:
// every live event with storable keys is resolved to a profile through `graph`, written by
// `write(event, source, resolution)` (which returns whether the row is new), and observed for
// traits. `keys` is reused working storage. Returns how many events were written.
template <typename WriteEvent>
size_t resolveAndWrite(IdentityKeyer& keyer, identity::Resolver& resolver, identity::Graph& graph,
                       event::Batch& batch, std::string_view source_id, int64_t now,
                       std::vector<IdentityKey>& keys, WriteEvent&& write) {
  size_t written = 0;
  for (event::Event& e : batch) {
    if (!e.live()) continue;
    keys.clear();
    if (!keyer.storableKeys(e, batch, keys)) continue;
    const int64_t seen = e.occurred_at_us != 0 ? e.occurred_at_us : now;
    const std::string_view source = e.source.empty() ? source_id : e.source;
    const identity::Resolution r = resolver.resolve(graph, keys, e.id, source, seen);
    resolver.observe(r, e, seen, write(e, source, r));
    ++written;
  }
  return written;
}

}  // namespace omniloop::store
