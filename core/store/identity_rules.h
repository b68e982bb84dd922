#pragma once
// Backend-neutral write rules of the CDP store: which profile an event joins (through the
// identity keys identity::Keyer makes and identity::Resolver), same id / different content,
// and how dead letters are identified and written. Every store backend uses these, so the
// rules hold whatever database sits underneath.
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "event/arena.h"
#include "event/event.h"
#include "identity/blocklist.h"
#include "identity/keyer.h"
#include "identity/resolver.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"
#include "store/store.h"
#include "store/suppressions.h"

namespace omniloop::store {

// Identity keying (normalise -> pseudonymise -> storable keys) is identity::Keyer
// (identity/keyer.h); the store's code names it as it always did.
using IdentityKeyer = identity::Keyer;
using IdentityKey = identity::Key;
using identity::kRejectedFamily;

// The counter family of records that reused a stored event id with other content (Batch::count).
inline constexpr std::string_view kSameIdFamily = "same_id";

// What a second record under a stored event id with other content means (the cdp sink's
// `same_id:` option, docs/store.md): Collision (immutable records: calls, orders), Versions
// (snapshots: a CRM row exported again with changes is kept as a new version), Auto (the
// default: Versions for events without occurred_at, snapshots by nature; Collision otherwise).
enum class SameIdPolicy : uint8_t { Auto, Collision, Versions };

// What the store holds under an event id, as far as telling a replay from a collision needs.
struct StoredContent {
  std::string content_hash;  // "" for rows stored before content hashes were kept
  std::string pipeline;
  std::string source;
};

// Same id, different content (docs/store.md). Event ids are deterministic, so a record whose
// id is already stored is either a replay of it (same content: an idempotent upsert) or a
// different record that the source's key failed to tell apart (a rotated file, a reused
// order number): a collision. A collision is never written over the stored event: the record
// becomes a dead letter under an id of its own (derived from both), whose reason names the
// stored event's id, pipeline and source, and it is counted (`same_id`, "collision").
class SameIdGuard {
 public:
  // `hasher` keys the content fingerprint (may be null: an unkeyed hash, only for stores that
  // refuse clear identities anyway).
  explicit SameIdGuard(const privacy::KeyedHasher* hasher) : hasher_(hasher) {}

  // The cdp sink's `same_id:` for a pipeline (SameIdPolicy::Auto when never set).
  void setPolicy(std::string_view pipeline, SameIdPolicy policy);

  // Before each batch (forgets the ids the last batch admitted).
  void beginBatch() { admitted_.clear(); }
  // The fingerprint of e's content (32 hex) into `out`.
  void fingerprint(const event::Event& e, std::string& out);
  // Whether e may be written: its id is new (`stored` null, and no earlier event of this batch
  // had it with other content) or holds the same content. Otherwise e becomes a collision dead
  // letter (see above) and false is returned. `fingerprint` is e's, from fingerprint().
  // Under SameIdPolicy::Versions (or Auto for an event without occurred_at) a record with
  // other content is no collision: it is stored as a new version, under an id derived from
  // its id and content (versioned() then says so: the writer counts `same_id`, "new_version"
  // when that row is new); true is returned.
  bool admit(event::Event& e, event::Batch& batch, std::string_view pipeline, const StoredContent* stored,
             std::string_view fingerprint);
  // The last admit() gave the event a version id.
  bool versioned() const { return versioned_; }

 private:
  const privacy::KeyedHasher* hasher_;
  std::vector<std::pair<std::string, SameIdPolicy>> policies_;
  bool versioned_ = false;
  std::string text_;
  std::unordered_map<std::string, std::string> admitted_;  // id -> fingerprint, this batch
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
// An event carrying an identity in `suppressions` (may be null) is dropped and counted first,
// before anything else looks at it. `stored(id, out)` says what the store holds under an event
// id (false: nothing) and `guard` keeps collisions out (SameIdGuard); `fingerprint` holds the
// written event's fingerprint while `write` runs.
template <typename StoredLookup, typename WriteEvent>
size_t resolveAndWrite(IdentityKeyer& keyer, identity::Resolver& resolver, identity::Graph& graph,
                       SameIdGuard& guard, StoredLookup&& stored, std::string& fingerprint,
                       std::string_view pipeline, event::Batch& batch, std::string_view source_id,
                       int64_t now, std::vector<IdentityKey>& keys,
                       const Suppressions* suppressions, WriteEvent&& write) {
  size_t written = 0;
  StoredContent row;
  std::string_view pipeline_source;  // source_id in the batch's arena, once
  guard.beginBatch();
  for (event::Event& e : batch) {
    if (!e.live()) continue;
    keys.clear();
    if (!keyer.storableKeys(e, batch, keys)) continue;
    if (suppressions != nullptr) {
      // An erased subject's event is dropped, never dead-lettered as a collision.
      if (const std::string_view type = suppressions->any(keys); !type.empty()) {
        dropSuppressed(e, batch, type);
        continue;
      }
    }
    bool versioned = false;
    if (!e.id.empty()) {
      guard.fingerprint(e, fingerprint);
      const bool known = stored(e.id, row);
      if (!guard.admit(e, batch, pipeline, known ? &row : nullptr, fingerprint)) continue;
      versioned = guard.versioned();
    }
    const int64_t seen = e.occurred_at_us != 0 ? e.occurred_at_us : now;
    // The event as stored: without a source of its own it carries the pipeline's ($source in
    // traits then says what the stored row says).
    if (e.source.empty()) {
      if (pipeline_source.empty()) pipeline_source = batch.intern(source_id);
      e.source = pipeline_source;
    }
    const std::string_view source = e.source;
    const identity::Resolution r = resolver.resolve(graph, keys, e.id, source, seen);
    const bool inserted = write(e, source, r);
    if (inserted && versioned) batch.count(kSameIdFamily, "new_version");
    resolver.observe(r, e, seen, inserted);
    ++written;
  }
  return written;
}

}  // namespace omniloop::store
