#pragma once
// The ODBC backend of the CDP store: any data source unixODBC reaches whose database is SQLite
// (Debian's libsqliteodbc) or PostgreSQL (odbc-postgresql). The dialect comes from the driver
// (SQL_DBMS_NAME); migrations are the native backends' (schemas/cdp/sqlite, .../postgresql),
// and rows are stored exactly as the native backends store them (on SQLite: ids and hashes
// as BLOBs, see schemas/cdp/sqlite/0002_identity.sql), so native and ODBC writers can share
// a database.
//
// Same rules as SqliteStore, without its group commit: one transaction per batch with its events,
// dead letters and cursor; identity resolution is identity::Resolver's, over the graph rows
// this class reads and writes one prepared statement per primitive (it is the
// identity::Graph). Correctness over speed: no bulk statements, no prefetch.
// Concurrency: on SQLite the batch takes the write lock up front (BEGIN IMMEDIATE); on
// PostgreSQL it takes PostgresStore's writer lock and bumps its write epoch, so native and
// ODBC writers take turns and each knows when its Resolver caches are stale.
// Busy / lock timeout / deadlock / serialization failure / lost connection -> retried in
// place, then Retry.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "event/arena.h"
#include "identity/blocklist.h"
#include "identity/graph.h"
#include "identity/resolver.h"
#include "store/identity_rules.h"
#include "store/odbc_db.h"
#include "store/sqlite_keys.h"
#include "store/consent_records.h"
#include "store/store.h"

namespace omniloop::store {

class OdbcStore final : public Store, private identity::Graph {
 public:
  // `connection`: an ODBC connection string ("DSN=cdp" or "Driver=SQLite3;Database=/x.db").
  OdbcStore(const std::string& connection, const StoreOptions& options);
  ~OdbcStore() override;

  std::string loadCursor(std::string_view pipeline, std::string_view source_id) override;
  void commit(std::string_view pipeline, std::string_view source_id,
              const event::Batch& batch) override;
  event::Result writeBatch(std::string_view pipeline, std::string_view source_id,
                           event::Batch& batch) override;
  StoreCounts counts() override;
  void setSameIdPolicy(std::string_view pipeline, int policy) override;
  std::vector<DeadLetter> deadLetters(std::string_view pipeline, size_t limit) override;
  std::optional<DeadLetter> deadLetter(std::string_view id) override;
  uint64_t removeDeadLetters(const std::vector<std::string>& ids) override;
  std::optional<std::string> findProfile(std::string_view type, std::string_view value) override;
  std::optional<ProfileView> profile(std::string_view profile_id, size_t timeline_limit) override;
  int schemaVersion() override;
  event::Result putVault(const std::vector<VaultRow>& rows) override;
  std::optional<VaultRow> getVault(std::string_view token) override;
  uint64_t purgeExpiredVault(int64_t now_us) override;
  void appendAudit(const AuditRow& row) override;
  std::string_view backend() const override { return "odbc"; }
  // "sqlite" or "postgresql": the database behind the driver.
  std::string_view dialect() const;

  // Resolution counters since the store opened (tests, diagnostics).
  identity::ResolverStats resolverStats();
  uint64_t blockedIdentities();

 private:
  // identity::Graph, called by resolver_ inside writeBatch's transaction.
  bool findIdentity(std::string_view type, std::string_view hash, identity::StoredIdentity& out) override;
  void countIdentities(std::string_view profile, std::vector<identity::TypeCount>& out) override;
  bool loadProfile(std::string_view profile, identity::StoredProfile& out) override;
  bool insertProfile(std::string_view profile, int64_t first_seen, int64_t last_seen, int64_t now) override;
  void updateProfile(std::string_view profile, int64_t first_seen, int64_t last_seen,
                     std::string_view traits, std::string_view traits_meta, int64_t now) override;
  void insertIdentity(std::string_view type, std::string_view hash, std::string_view profile,
                      std::string_view source, int64_t first_seen, int64_t last_seen) override;
  void touchIdentity(std::string_view type, std::string_view hash, int64_t first_seen,
                     int64_t last_seen) override;
  void mergeProfiles(std::string_view winner, std::string_view loser, std::string_view reason,
                     int64_t now) override;
  void recordConflict(const identity::Conflict& conflict, uint32_t occurrences) override;

  // A key as bound: on SQLite as store/sqlite_keys.h stores it, on PostgreSQL the text.
  void encodeId(std::string_view id, sqlite_keys::BoundKey& out) const;
  void encodeHash(std::string_view hash, sqlite_keys::BoundKey& out) const;
  static void bind(odbc::Statement& s, int index, const sqlite_keys::BoundKey& b);

  void ensureConnected();
  void setupSession();
  void begin();
  void end();
  void abort();
  template <typename Body>
  void transact(Body&& body);

  int readSchemaVersion();
  void applyMigrations();
  void convertKeysToBlobs();
  void prepare();
  // After BEGIN: takes the writer lock (PostgreSQL) and says whether the Resolver's caches
  // still hold (nobody else wrote since our last committed batch).
  bool lockAndCheckCaches();

  // What the store holds under an event id (for SameIdGuard); false when nothing.
  bool storedContent(std::string_view event_id, StoredContent& out);
  void writeConsents(std::string_view pipeline, std::string_view source, const event::Event& e,
                     const identity::Resolution& r, int64_t now);
  void loadConsents();
  bool writeEvent(std::string_view pipeline, std::string_view source, const event::Event& e,
                  const identity::Resolution& r, int64_t now);
  void writeDeadLetters(std::string_view pipeline, std::string_view source_id, const event::Batch& batch,
                        int64_t now);
  void writeCursor(std::string_view pipeline, std::string_view source_id, std::string_view cursor, int64_t now);

  odbc::Connection conn_;
  identity::Blocklist blocklist_;
  IdentityKeyer keyer_;
  RawSealer sealer_;
  SameIdGuard same_id_;
  std::string fingerprint_;  // of the event being written
  identity::Resolver resolver_;
  int busy_timeout_ms_;
  std::mutex mutex_;
  bool sqlite_ = true;

  // What the last committed batch left: the session it ran in and the database's write
  // marker then (SQLite: PRAGMA data_version; PostgreSQL: the store_writes epoch).
  uint64_t cache_session_ = 0;
  int64_t cache_marker_ = -1;

  std::unique_ptr<odbc::Statement> data_version_, find_identity_, count_identities_, load_profile_,
      insert_profile_, update_profile_, insert_identity_, touch_identity_, record_conflict_;
  std::unique_ptr<odbc::Statement> merge_identities_, merge_events_, merge_consents_, merge_conflicts_,
      merge_conflicts_other_, delete_profile_, insert_merge_;
  std::unique_ptr<odbc::Statement> insert_event_, update_event_, upsert_dead_letter_, upsert_checkpoint_,
      select_checkpoint_, select_counts_, select_event_content_;
  std::unique_ptr<odbc::Statement> insert_consent_, load_consents_;
  // Consent ledger: the batch's records (applied to consent_ledger_ after its COMMIT) and the
  // highest consents.id loaded into the view.
  std::vector<ConsentRecord> consent_records_;
  std::vector<LedgerUpdate> ledger_pending_;
  int64_t ledger_loaded_id_ = 0;

  static constexpr int kAttempts = 5;

  // Reused working storage.
  std::vector<IdentityKey> keys_;
  sqlite_keys::BoundKey id_a_, id_b_, hash_a_, hash_b_;
  std::vector<IdentityKeyer::RotationPair> rotation_pairs_;
  std::string json_, traits_, traits_meta_;
  std::string dead_letter_id_;
  event::Event scratch_;
  event::Arena scratch_arena_{4096};
};

}  // namespace omniloop::store
