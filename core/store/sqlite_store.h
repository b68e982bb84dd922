#pragma once
// The SQLite backend of the CDP store: one file, WAL journal, synchronous=NORMAL, one
// transaction per batch, or per group of batches while the pipeline has more queued (group
// commit: every commit rewrites the pages its random keys touched, so fewer commits write
// far less, and a profile or identity touched by many batches of a group is written once).
// One connection guarded by a mutex; every statement prepared once when the store opens. Identity resolution is identity::Resolver's, over the graph rows this
// class reads and writes (it is the identity::Graph).
//
// Keys are stored compactly (see schemas/cdp/sqlite/0002_identity.sql): event and profile ids
// as 16-byte BLOBs, identity hashes as 36-byte BLOBs.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "event/arena.h"
#include "identity/blocklist.h"
#include "identity/graph.h"
#include "identity/resolver.h"
#include "store/consent_records.h"
#include "store/identity_rules.h"
#include "store/lost_pipelines.h"
#include "store/sqlite_db.h"
#include "store/sqlite_keys.h"
#include "store/store.h"

namespace omniloop::store {

class SqliteStore final : public Store, private identity::Graph {
 public:
  // `path`: a file (created with its parent directory) or ":memory:".
  SqliteStore(const std::string& path, const StoreOptions& options);
  ~SqliteStore() override;

  std::string loadCursor(std::string_view pipeline, std::string_view source_id) override;
  void commit(std::string_view pipeline, std::string_view source_id,
              const event::Batch& batch) override;
  event::Result writeBatch(std::string_view pipeline, std::string_view source_id,
                           event::Batch& batch) override;
  event::Result flush(std::string_view pipeline, std::string_view source_id) override;
  bool mustResume(std::string_view pipeline, std::string_view source_id) override;
  StoreCounts counts() override;
  void setSameIdPolicy(std::string_view pipeline, int policy) override;
  std::vector<DeadLetter> deadLetters(std::string_view pipeline, size_t limit) override;
  std::optional<DeadLetter> deadLetter(std::string_view id) override;
  uint64_t removeDeadLetters(const std::vector<std::string>& ids) override;
  std::optional<std::string> findProfile(std::string_view type, std::string_view value) override;
  std::optional<ProfileView> profile(std::string_view profile_id, size_t timeline_limit) override;
  int schemaVersion() override;
  bool rightsTransaction(bool secure, const std::function<void(SqlSession&)>& fn) override;
  std::string_view backend() const override { return "sqlite"; }
  event::Result putVault(const std::vector<VaultRow>& rows) override;
  std::optional<VaultRow> getVault(std::string_view token) override;
  uint64_t purgeExpiredVault(int64_t now_us) override;
  void appendAudit(const AuditRow& row) override;

  // Resolution counters since the store opened (tests, diagnostics).
  identity::ResolverStats resolverStats();
  uint64_t blockedIdentities();
  // Tests: the next `n` COMMITs fail (as a full disk would make them).
  void failCommitsForTesting(int n);

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

  // Binds a key as the dialect stores it (store/sqlite_keys.h).
  static void bind(sqlite::Statement& s, int index, const sqlite_keys::BoundKey& b);
  static std::string decodeId(const sqlite::Statement& s, int column);
  static std::string decodeHash(const sqlite::Statement& s, int column);

  void applyMigrations();
  // Reads the suppressions table into suppressions_.
  void loadSuppressions();
  int readSchemaVersion();
  void prepare();
  // Whether another connection committed since our last transaction (PRAGMA data_version).
  bool othersWrote();

  // Group commit (see Store::writeBatch): every batch of a group shares its transaction and
  // the Resolver flushes the group's changes at its commit. A batch that fails alone in its
  // transaction is undone alone; one that fails in a group rolls the group back (its
  // pipelines restart, see isolated_).
  void openGroup();
  template <typename Fn>
  void inGroup(const std::string& key, Fn&& fn);
  void commitGroup();
  // Rolls the open transaction back; its pipelines must restart (lost_, with `reason`).
  void abandonGroup(std::string_view reason);
  // Abandons the group over `e` and throws it on as a StoreError (retryable when `e` was),
  // its message followed by `consequence`.
  [[noreturn]] void abandonGroupAndThrow(const std::exception& e, std::string_view consequence);

  // What the store holds under an event id (for SameIdGuard); false when nothing.
  bool storedContent(std::string_view event_id, StoredContent& out);
  // During a key rotation: identities of the batch's events stored under the previous key take
  // their current-key pseudonym (before the Resolver looks them up).
  void renameRotated(event::Batch& batch);
  bool writeEvent(std::string_view pipeline, std::string_view source, event::Event& e,
                  const identity::Resolution& r, int64_t now);
  void writeDeadLetters(std::string_view pipeline, std::string_view source_id,
                        const event::Batch& batch, int64_t now);
  void writeConsents(std::string_view pipeline, std::string_view source, const event::Event& e,
                     const identity::Resolution& r, int64_t now);
  void loadConsents();  // rows after ledger_loaded_id_ into consent_ledger_
  void writeCursor(std::string_view pipeline, std::string_view source_id, std::string_view cursor,
                   int64_t now);

  sqlite::Db db_;
  identity::Blocklist blocklist_;
  IdentityKeyer keyer_;
  RawSealer sealer_;
  SameIdGuard same_id_;
  std::string fingerprint_;  // of the event being written
  identity::Resolver resolver_;
  Suppressions suppressions_;
  std::mutex mutex_;
  int64_t data_version_ = -1;
  bool caches_stale_ = false;  // a rights transaction changed the graph: drop the Resolver's caches

  size_t group_max_events_;
  std::chrono::milliseconds group_max_age_;
  bool group_open_ = false;
  size_t group_events_ = 0;
  std::chrono::steady_clock::time_point group_started_;
  std::map<std::string, size_t> group_members_;  // LostPipelines::key -> its batches in the group
  // Pipelines whose deferred batches a failed group lost.
  LostPipelines lost_;
  // Pipelines whose batch failed inside a group they had other batches in: how many of their
  // next batches get a transaction each (the failed one is among them after the restart).
  std::map<std::string, size_t> isolated_;
  int fail_commits_ = 0;

  sqlite::Statement begin_, commit_, rollback_, data_version_stmt_;
  sqlite::Statement find_identity_, count_identities_, load_profile_, insert_profile_, update_profile_;
  sqlite::Statement insert_identity_, touch_identity_, record_conflict_;
  sqlite::Statement merge_identities_, merge_events_, merge_consents_, merge_conflicts_,
      merge_conflicts_other_, delete_profile_, insert_merge_;
  sqlite::Statement insert_event_, update_event_, select_event_content_;
  sqlite::Statement insert_consent_, load_consents_;
  sqlite::Statement upsert_dead_letter_, upsert_checkpoint_, select_checkpoint_, select_counts_;
  sqlite::Statement insert_vault_, rename_rotated_;

  // Consent ledger: records of the open group, applied to consent_ledger_ once it commits;
  // the highest consents.id loaded into the view.
  std::vector<LedgerUpdate> ledger_pending_;
  std::vector<ConsentRecord> consent_records_;
  int64_t ledger_loaded_id_ = 0;

  // Reused working storage (no per-event allocation once warm).
  std::vector<IdentityKey> keys_;
  sqlite_keys::BoundKey id_a_, id_b_, hash_a_, hash_b_;
  std::vector<IdentityKeyer::RotationPair> rotation_pairs_;
  std::string json_;
  std::string dead_letter_id_;
  std::string suppression_scratch_;
  event::Event scratch_;
  event::Arena scratch_arena_{4096};
};

}  // namespace omniloop::store
