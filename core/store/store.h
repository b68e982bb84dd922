#pragma once
// The CDP store: profiles, the identity graph, events, dead letters and checkpoints.
// openStore() picks a backend from a URI; today `sqlite:PATH`. Every backend keeps its SQL
// dialect to itself (its migrations live in schemas/cdp/<dialect>/) and shares identity keying
// (identity/keyer.h) and the write rules in store/identity_rules.h, so PostgreSQL and ODBC
// backends slot in behind this class.
//
// Configuration time (openStore) throws StoreError; the data path (writeBatch) returns an
// event::Result; commit()/loadCursor() throw StoreError. The store knows nothing of the
// pipeline layer: the pipeline's cdp sink and checkpoint adapter (pipeline/sinks/cdp_sink.h)
// use it, never the reverse (tests/unit/layering_test.cmake checks it).
// A Store is safe to share between pipelines running on different threads.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"
#include "event/result.h"
#include "identity/config.h"
#include "privacy/consent_ledger.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"
#include "privacy/vault_cipher.h"

namespace omniloop::store {

class SqlSession;  // store/subject_rights.h

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
  // During a key rotation, the previous pseudonymisation key (docs/privacy.md "Keys and
  // rotation"): identities stored under it are renamed to their current-key pseudonym when
  // their clear value is seen again. Null outside a rotation. Must outlive the store.
  const privacy::KeyedHasher* previous_hasher = nullptr;
  // Normalisation before hashing (e.g. default_region "+49" for national phone numbers).
  privacy::NormalizeOptions normalize;
  // Seals records a source could not parse before they become dead letters (their payload
  // then names a vault token; the sealed row expires after raw_retention_us). Without one such
  // a payload keeps only the record's size. Must outlive the store.
  const privacy::VaultCipher* vault = nullptr;
  int64_t raw_retention_us = int64_t{30} * 24 * 3600 * 1000000;
  // How long a write waits for another process's write lock before asking for a retry.
  int busy_timeout_ms = 5000;
  // Identity resolution: types, guards, blocklist, traits (omniloop.yaml `identity:`).
  identity::Config identity = identity::defaultConfig();
  // Derives the erasure suppression entries (store/suppressions.h); without one a store that
  // holds suppressions refuses to write batches. Must outlive the store.
  const privacy::KeyedHasher* suppression_key = nullptr;
  // Group commit bounds (backends that defer commits while batches queue up, see writeBatch):
  // a deferred transaction is committed once it holds this many events or is this old.
  size_t group_commit_events = 131072;
  int group_commit_ms = 2000;
  // Memory bounds (omniloop.yaml `store_cache:`), so a process stays the same size however
  // large the store grows: profiles the identity resolver keeps in memory (and 4x as many
  // identities; beyond that its caches are dropped at the next commit and refilled from the
  // store; 0: the backend's default, see cacheProfiles), and the SQLite page cache in MiB.
  size_t cache_profiles = 0;
  int sqlite_cache_mib = 160;
  // SQLite's page cache serves writes as well as reads (every seen range, trait and index entry
  // is written into a page that must be in memory), where the resolver's cache spares only
  // reads: with SQLite most of the memory goes to the page cache. PostgreSQL and ODBC keep no
  // pages in the process and every miss is work for the server: their resolver keeps more.
  static constexpr size_t kEmbeddedCacheProfiles = 8192;
  static constexpr size_t kServerCacheProfiles = 65536;
  size_t cacheProfiles(bool embedded) const {
    if (cache_profiles != 0) return cache_profiles;
    return embedded ? kEmbeddedCacheProfiles : kServerCacheProfiles;
  }
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

// One dead letter (`omniloop dead-letters`). Its id is deterministic (pipeline, source, event
// id; see deadLetterId), so a record dead-lettered again updates its row.
struct DeadLetter {
  std::string id, pipeline, source;
  std::string event_id;  // "" when the record had none
  std::string reason;
  // As stored: for a record the source could not parse, what the store keeps of it (a vault
  // token or its size, see StoreOptions::vault); otherwise the event as JSON with its identity
  // values pseudonymised (never more in clear than the store holds).
  std::string payload;
  int64_t created_at = 0;  // microseconds (UTC), when first dead-lettered
};

// A tokenisation vault row (store/vault.h): the token, the vault key id it was sealed under,
// the sealed value (hex of AES-256-GCM nonce || ciphertext || tag) and, for rows that must not
// outlive a retention period, when they expire (microseconds; 0 = kept until erased).
struct VaultRow {
  std::string token;
  std::string key_id;
  std::string sealed;
  int64_t expires_at = 0;
};

// One audit_log row: who (an OS user or a component), when (microseconds), what was done,
// to what (a token, a key id, a profile; never a clear value) and details (a JSON object).
struct AuditRow {
  int64_t at = 0;
  std::string actor;
  std::string action;
  std::string subject;
  std::string details = "{}";
};

struct StoreCounts {
  uint64_t profiles = 0;
  uint64_t identities = 0;
  uint64_t events = 0;
  uint64_t dead_letters = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Checkpoints (the executor reaches them through pipeline::StoreCheckpoints): the committed
  // cursor ("" when none); the batch's DeadLetter events and its cursor in one transaction.
  virtual std::string loadCursor(std::string_view pipeline, std::string_view source_id) = 0;
  virtual void commit(std::string_view pipeline, std::string_view source_id,
                      const event::Batch& batch) = 0;

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
  virtual event::Result writeBatch(std::string_view pipeline, std::string_view source_id,
                                   event::Batch& batch) = 0;
  // Commits batches writeBatch deferred. Error when a batch of this pipeline was lost in a
  // failed group commit (it must restart from its committed cursor).
  virtual event::Result flush(std::string_view pipeline, std::string_view source_id) {
    (void)pipeline;
    (void)source_id;
    return event::Result::ok();
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

  // What a record under a stored event id with other content means for `pipeline`'s events
  // (the cdp sink's `same_id:`; identity_rules.h SameIdPolicy). 0 Auto, 1 Collision, 2 Versions.
  virtual void setSameIdPolicy(std::string_view pipeline, int policy) = 0;

  virtual StoreCounts counts() = 0;
  // The profile a clear identity value belongs to (normalised and pseudonymised like ingested
  // ones; an "h1:" value is looked up as is); nullopt when unknown or not normalisable.
  virtual std::optional<std::string> findProfile(std::string_view type, std::string_view value) = 0;
  // Profile `profile_id` with its identities, merges, conflicts and its latest
  // `timeline_limit` events; nullopt when there is no such profile. Throws StoreError (the
  // default: this backend cannot show profiles).
  virtual std::optional<ProfileView> profile(std::string_view profile_id, size_t timeline_limit);
  // Dead letters, oldest first (created_at, then id): of `pipeline` only unless it is empty;
  // at most `limit` of them (0: all). Throws StoreError.
  virtual std::vector<DeadLetter> deadLetters(std::string_view pipeline, size_t limit) = 0;
  // The dead letter with id `id`; nullopt when there is none. Throws StoreError.
  virtual std::optional<DeadLetter> deadLetter(std::string_view id) = 0;
  // Deletes the dead letters with these ids in one transaction (records replayed and now
  // stored); returns how many existed. Throws StoreError.
  virtual uint64_t removeDeadLetters(const std::vector<std::string>& ids) = 0;
  // The data subject's rights (store/subject_rights.h) run through this: `fn` inside one
  // transaction that holds the store's writer lock, so no batch write interleaves (deferred
  // batches are committed first). `secure`: what it deletes is overwritten, not just unlinked
  // (SQLite: secure_delete for the transaction, then a WAL checkpoint that truncates the WAL).
  // Afterwards the store reloads its suppressions and forgets its identity caches. Returns
  // false when the storage could not be cleaned right away (SQLite: a reader kept the WAL).
  // Throws StoreError; the default: this backend does not support it.
  virtual bool rightsTransaction(bool secure, const std::function<void(SqlSession&)>& fn);
  // The schema version of the open database.
  virtual int schemaVersion() = 0;

  // Tokenisation vault (schemas/cdp/<dialect>/0004_vault.sql). putVault inserts rows whose
  // token is not there yet (a token is deterministic, so an existing row already holds the
  // same value) and commits them: with the open group of batches when one is open (so a
  // token never outlives the events that carry it), else in a transaction of their own.
  // Data path: Retry when the database is busy, Error otherwise.
  virtual event::Result putVault(const std::vector<VaultRow>& rows);
  // The row behind `token`; nullopt when unknown or expired. Throws StoreError.
  virtual std::optional<VaultRow> getVault(std::string_view token);
  // Deletes rows that expired before `now_us`; returns how many. Throws StoreError.
  virtual uint64_t purgeExpiredVault(int64_t now_us);
  // Appends one audit_log row in its own transaction. Throws StoreError.
  virtual void appendAudit(const AuditRow& row);
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
