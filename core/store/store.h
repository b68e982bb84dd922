#pragma once
// The CDP store: profiles, the identity graph, events, dead letters and checkpoints.
// openStore() picks a backend from a URI; today `sqlite:PATH`. Every backend keeps its SQL
// dialect to itself (its migrations live in schemas/cdp/<dialect>/) and shares the identity
// rules in store/identity_rules.h, so PostgreSQL and ODBC backends slot in behind this class.
//
// Configuration time (openStore) throws StoreError; the data path (writeBatch) returns a
// Result; commit()/loadCursor() throw StoreError as pipeline::CheckpointStore allows.
// A Store is safe to share between pipelines running on different threads.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"
#include "identity/config.h"
#include "pipeline/component.h"
#include "privacy/consent_ledger.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"

namespace omniloop::store {

class StoreError : public std::runtime_error {
 public:
  explicit StoreError(const std::string& message, bool retryable = false)
      : std::runtime_error(message), retryable_(retryable) {}
  // A transient condition (the database is locked by another writer): trying again may work.
  bool retryable() const { return retryable_; }

 private:
  bool retryable_;
};

struct StoreOptions {
  // Pseudonymises identity values before they are stored. Without one, events that carry a
  // clear-text identity are dead-lettered (clear identity values are never stored).
  // Must outlive the store.
  const privacy::KeyedHasher* hasher = nullptr;
  // Normalisation before hashing (e.g. default_region "+49" for national phone numbers).
  privacy::NormalizeOptions normalize;
  // How long a write waits for another process's write lock before asking for a retry.
  int busy_timeout_ms = 5000;
  // Identity resolution: types, guards, blocklist, traits (omniloop.yaml `identity:`).
  identity::Config identity = identity::defaultConfig();
  // Group commit bounds (backends that defer commits while batches queue up, see writeBatch):
  // a deferred transaction is committed once it holds this many events or is this old.
  size_t group_commit_events = 131072;
  int group_commit_ms = 2000;
  // How often the consent ledger view loads records other processes committed (docs/privacy.md).
  int consent_refresh_ms = 2000;
};

// One profile as `omniloop profile` shows it (Store::profile). Times: microseconds (UTC).
struct ProfileView {
  struct Identity {
    std::string type, hash, source;  // hash: the pseudonym, never a clear value
    int64_t first_seen = 0, last_seen = 0;
  };
  struct Merge {
    std::string from, into, reason;
    int64_t merged_at = 0;
  };
  struct Conflict {
    std::string type, hash, reason, profile, other_profile;
    int64_t first_at = 0, last_at = 0;
    uint64_t occurrences = 0;
  };
  struct Event {
    std::string id, pipeline, source, channel, type;
    std::string attributes;  // JSON object
    int64_t occurred_at = 0;  // 0 = unknown
    int64_t ingested_at = 0;
  };
  std::string id;
  int64_t created_at = 0, updated_at = 0, first_seen = 0, last_seen = 0;
  std::string traits;  // JSON object
  std::vector<Identity> identities;  // by type, then first seen
  std::vector<Merge> merges;         // profiles folded into this one, directly or not, oldest first
  std::vector<Conflict> conflicts;   // guards that kept an identity away from / on this profile
  std::vector<Event> timeline;       // by occurred_at, oldest first: the latest `limit` events
  uint64_t events = 0;               // all events of the profile (the timeline may be cut)
};

struct StoreCounts {
  uint64_t profiles = 0;
  uint64_t identities = 0;
  uint64_t events = 0;
  uint64_t dead_letters = 0;
};

class Store : public pipeline::CheckpointStore {
 public:
  ~Store() override = default;

  // pipeline::CheckpointStore: the committed cursor ("" when none); the batch's DeadLetter
  // events and its cursor in one transaction.
  std::string loadCursor(std::string_view pipeline, std::string_view source_id) override = 0;
  void commit(std::string_view pipeline, std::string_view source_id,
              const event::Batch& batch) override = 0;

  // One transaction: every live event (its identities resolved to a profile, pseudonymised),
  // the batch's DeadLetter events, and batch.cursor. A live event that cannot be stored (no
  // id; a clear identity and no key) is set DeadLetter and stored as such. Retry when the
  // database is busy, Error otherwise; on failure nothing of the batch is stored.
  // Group commit: when batch.more_pending, a backend may keep the transaction open and commit
  // it with the following batches (of any pipeline), at the latest after
  // StoreOptions::group_commit_events events or group_commit_ms. If that commit then fails,
  // or a later batch of the group fails and takes the group's transaction with it, every
  // pipeline with a batch in it gets Error from its next writeBatch/commit/flush until it
  // loads its cursor again (restarts), so nothing is skipped.
  virtual pipeline::Result writeBatch(std::string_view pipeline, std::string_view source_id,
                                      event::Batch& batch) = 0;
  // Commits batches writeBatch deferred. Error when a batch of this pipeline was lost in a
  // failed group commit (it must restart from its committed cursor).
  virtual pipeline::Result flush(std::string_view pipeline, std::string_view source_id) {
    (void)pipeline;
    (void)source_id;
    return pipeline::Result::ok();
  }

  // True when batches this pipeline had written were rolled back with a failed group (see
  // writeBatch): it gets Error until it loads its cursor again, so its caller should rebuild
  // it and resume from the committed cursor instead of giving up. Backends that commit every
  // batch never lose one and return false.
  virtual bool mustResume(std::string_view pipeline, std::string_view source_id) {
    (void)pipeline;
    (void)source_id;
    return false;
  }

  virtual StoreCounts counts() = 0;
  // The profile a clear identity value belongs to (normalised and pseudonymised like ingested
  // ones; an "h1:" value is looked up as is); nullopt when unknown or not normalisable.
  virtual std::optional<std::string> findProfile(std::string_view type, std::string_view value) = 0;
  // Profile `profile_id` with its identities, merges, conflicts and its latest
  // `timeline_limit` events; nullopt when there is no such profile. Throws StoreError (the
  // default: this backend cannot show profiles).
  virtual std::optional<ProfileView> profile(std::string_view profile_id, size_t timeline_limit);
  // The schema version of the open database.
  virtual int schemaVersion() = 0;
  // "sqlite", "postgresql", "odbc"
  virtual std::string_view backend() const = 0;

  // The consent ledger's in-memory view for every pipeline of this process (docs/privacy.md
  // "Consent ledger"): loaded from `consents` when the store opens, updated with a batch's
  // consent records once its transaction has committed, and refreshed with other processes'
  // records at most every StoreOptions::consent_refresh_ms (on the consent stage's next batch).
  privacy::ConsentLedger& consentLedger() { return consent_ledger_; }

 protected:
  privacy::ConsentLedger consent_ledger_;
};

// uri: "sqlite:PATH" (also "sqlite://PATH"; "sqlite::memory:" for a private in-memory store),
// "postgresql://user:password@host:port/db?param=value" (also "postgres://"; libpq syntax), or
// "odbc:DSN=name;..." / "odbc:Driver=...;Database=..." (an ODBC connection string).
// Creates a SQLite file and its parent directory when missing, applies pending migrations.
// Throws StoreError: unsupported scheme, cannot open, schema newer than this binary. Messages
// never carry a password (see redactStoreUri).
std::unique_ptr<Store> openStore(const std::string& uri, const StoreOptions& options);

// `uri` fit for logs and messages: a password (URI user info, password= / PWD= parameters)
// becomes [secret].
std::string redactStoreUri(std::string_view uri);

}  // namespace omniloop::store
