#pragma once
// The identity graph as a store backend provides it: the few row-level primitives identity
// resolution needs. A backend implements Graph over its own connection and calls them only
// from inside its batch transaction (through identity::Resolver, see resolver.h); every
// decision (which profile an event joins, when profiles merge, guards, traits) is taken by the
// Resolver, so it is the same whatever database sits underneath.
//
// How a backend's writeBatch uses it (in the batch's transaction; the SQLite store may hold
// several batches in one and flush once, before the group's COMMIT):
//
//   resolver.beginBatch(now, cache_still_valid);      // after BEGIN
//   for each live event:
//     keys = keyer.keysOf(event)                       // identity/keyer.h
//     Resolution r = resolver.resolve(graph, keys, event_id, source, seen);
//     bool inserted = <insert the event with profile r.profile; false when it existed>;
//     resolver.observe(r, event, seen, inserted);      // traits count new events only
//   resolver.flush(graph);                             // aggregated profile/identity updates
//                                                      // (per batch, or per group of batches)
//   COMMIT, then resolver.committed()  — or ROLLBACK, then resolver.rolledBack()
//
// Rows and meaning (the SQLite dialect in schemas/cdp/sqlite/ is the reference):
//   identities(type, hash, profile_id, source, first_seen, last_seen)   key (type, hash)
//   profiles(id, created_at, updated_at, first_seen, last_seen, traits, traits_meta)
//   profile_merges(from_profile, into_profile, reason, merged_at)
//   identity_conflicts(type, hash, profile_id, other_profile, reason, first_at, last_at,
//                      occurrences)                                      key (type, hash, reason)
// Profile ids are 32 lowercase hex characters. Times are microseconds since the epoch (UTC).
// Hashes are pseudonyms "h1:<key id>:<hex>" (a backend may store them in any lossless form).
//
// Strings passed in are only valid for the duration of the call. Errors are thrown as
// store::StoreError (retryable when the database is busy); the Resolver lets them through and
// the backend rolls the batch back.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omniloop::identity {

// One identity type's number of identities on a profile (for the per-type limits).
struct TypeCount {
  std::string type;
  uint32_t count = 0;
};

// What a backend returns for an existing identity.
struct StoredIdentity {
  std::string profile;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
};

// What a backend returns for an existing profile.
struct StoredProfile {
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  std::string traits;       // JSON object text, "{}" when none
  std::string traits_meta;  // JSON object text: per-trait state for exact combining, "{}"
};

// A per-type limit or a weak identifier kept two profiles apart.
struct Conflict {
  std::string_view type;
  std::string_view hash;
  std::string_view profile;        // where the identity stays ("" when it was left unlinked)
  std::string_view other_profile;  // the profile it was kept away from
  std::string_view reason;         // "max_per_profile:email" ...
  int64_t at = 0;                  // ingestion time
};

class Graph {
 public:
  virtual ~Graph() = default;

  // --- reads ---
  // Identity (type, hash): its profile and seen range; false when unknown.
  virtual bool findIdentity(std::string_view type, std::string_view hash, StoredIdentity& out) = 0;
  // The number of identities per type that point at `profile` (types with none omitted).
  virtual void countIdentities(std::string_view profile, std::vector<TypeCount>& out) = 0;
  // The stored state of `profile`; false when there is no such profile.
  virtual bool loadProfile(std::string_view profile, StoredProfile& out) = 0;

  // --- writes ---
  // A new profile row (traits "{}"); `now` is created_at and updated_at. false, writing
  // nothing, when a profile with this id exists (the Resolver then picks another id).
  virtual bool insertProfile(std::string_view profile, int64_t first_seen, int64_t last_seen,
                             int64_t now) = 0;
  // Sets first_seen, last_seen, traits, traits_meta and updated_at = now of an existing profile.
  virtual void updateProfile(std::string_view profile, int64_t first_seen, int64_t last_seen,
                             std::string_view traits, std::string_view traits_meta, int64_t now) = 0;
  // A new identity row pointing at an existing profile.
  virtual void insertIdentity(std::string_view type, std::string_view hash, std::string_view profile,
                              std::string_view source, int64_t first_seen, int64_t last_seen) = 0;
  // Widens an existing identity's first_seen/last_seen to include [first_seen, last_seen].
  virtual void touchIdentity(std::string_view type, std::string_view hash, int64_t first_seen,
                             int64_t last_seen) = 0;
  // Folds `loser` into `winner`: every identity, event and consent of loser now points at
  // winner, the loser's profile row is deleted, and a profile_merges row (loser -> winner,
  // reason, now) is added. The winner's combined seen range and traits follow through
  // updateProfile before the batch ends.
  virtual void mergeProfiles(std::string_view winner, std::string_view loser, std::string_view reason,
                             int64_t now) = 0;
  // Records (or counts once more) a conflict: upsert keyed by (type, hash, reason), adding
  // `occurrences` and setting profile, other_profile and last_at.
  virtual void recordConflict(const Conflict& conflict, uint32_t occurrences) = 0;
};

}  // namespace omniloop::identity
