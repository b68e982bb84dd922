#pragma once
// The PostgreSQL backend of the CDP store (libpq): the store many daemons share.
//
// One connection guarded by a mutex. Migrations run on open under a session advisory lock, so
// daemons starting together do not race. A batch is one transaction of a few bulk statements
// (binary array parameters unnested server-side, sent in pipelines), whatever its size:
//   1. the writer lock (a transaction-level advisory lock) and the write epoch: daemons
//      sharing a store write their batches one at a time, so identity resolution always sees
//      a settled graph (a merge re-points identities no other writer is adding to) and
//      writers never deadlock; reading, parsing and stages still run in parallel. A writer
//      waits at most StoreOptions::busy_timeout_ms (lock_timeout), then the batch is retried.
//      The epoch (sequence store_writes) tells a writer whether anyone else wrote since its
//      own last batch: if not, the identity::Resolver keeps its caches;
//   2. two round trips fetch what resolution will ask about the identities the Resolver does
//      not know yet: their rows; then their profiles' rows and identity counts, and whether
//      the ids new profiles would take are free;
//   3. identity::Resolver resolves every event in batch order against that (this class is its
//      identity::Graph: reads answered from memory, a rare miss asks the database; writes
//      buffered);
//   4. the Resolver's profile, identity and conflict changes are flushed into buffers; which
//      events are new is known from the same-id check (what is stored under the batch's ids,
//      read under the writer lock), so traits count only those (a replay never counts twice);
//   5. one pipeline sends every write and the COMMIT: new events (plain INSERT) and replays
//      (upsert), each naming the profile it ends up on after the batch's merges; profiles
//      (new ones inserted, changed ones upserted); merges (rows naming a merged profile
//      re-pointed to where it ended up, merged profiles deleted, profile_merges rows); new
//      identities, seen ranges, conflicts, consents, dead letters and the cursor, in an order
//      that gives the end state of the same writes made one by one (the SQLite backend).
// While the executor has more batches queued (Batch::more_pending) that last pipeline is sent
// without waiting: the server writes and commits the batch while the client keys the next one
// (collect), and its results are read before the next batch takes the writer lock (settle). A
// batch that fails there was already reported Ok, so, as for a failed group commit in SQLite,
// its pipeline gets Error from its next writeBatch/commit/flush and mustResume() until it loads
// its cursor again; its next batch is then written and committed synchronously.
// New identities are inserted with ON CONFLICT DO NOTHING and counted: a row that appeared
// anyway (a writer that skipped the lock) makes the batch start over (or, in flight, stops its
// pipeline) rather than give one person two profiles. Serialization failures, deadlocks, lock
// timeouts and lost connections are retried a few times in place, then reported as Retry (the
// executor backs off).
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "event/arena.h"
#include "identity/blocklist.h"
#include "identity/graph.h"
#include "identity/resolver.h"
#include "store/consent_records.h"
#include "store/identity_rules.h"
#include "store/lost_pipelines.h"
#include "store/postgres_db.h"
#include "store/store.h"

namespace omniloop::store {

class PostgresStore final : public Store, private identity::Graph {
 public:
  // `uri`: postgresql://... or postgres://... (libpq syntax). Throws StoreError.
  PostgresStore(const std::string& uri, const StoreOptions& options);
  ~PostgresStore() override;

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
  event::Result putVault(const std::vector<VaultRow>& rows) override;
  std::optional<VaultRow> getVault(std::string_view token) override;
  uint64_t purgeExpiredVault(int64_t now_us) override;
  void appendAudit(const AuditRow& row) override;
  std::string_view backend() const override { return "postgresql"; }

  // Resolution counters since the store opened, and graph reads the prefetch did not cover
  // (each one a round trip; tests and diagnostics).
  identity::ResolverStats resolverStats();
  uint64_t prefetchMisses();

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using Map = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  using Set = std::unordered_set<std::string, StringHash, std::equal_to<>>;

  // identity::Graph
  bool findIdentity(std::string_view type, std::string_view hash, identity::StoredIdentity& out) override;
  void countIdentities(std::string_view profile, std::vector<identity::TypeCount>& out) override;
  bool loadProfile(std::string_view profile, identity::StoredProfile& out) override;
  bool insertProfile(std::string_view profile, int64_t first_seen, int64_t last_seen, int64_t now) override;
  void updateProfile(std::string_view profile, int64_t first_seen, int64_t last_seen, std::string_view traits,
                     std::string_view traits_meta, int64_t now) override;
  void insertIdentity(std::string_view type, std::string_view hash, std::string_view profile,
                      std::string_view source, int64_t first_seen, int64_t last_seen) override;
  void touchIdentity(std::string_view type, std::string_view hash, int64_t first_seen, int64_t last_seen) override;
  void mergeProfiles(std::string_view winner, std::string_view loser, std::string_view reason, int64_t now) override;
  void recordConflict(const identity::Conflict& conflict, uint32_t occurrences) override;

  void applyMigrations();
  // Reads the suppressions table (inside the batch's transaction, after the writer lock) and
  // drops the pending events that carry a suppressed identity.
  void loadSuppressions();
  void dropSuppressed(event::Batch& batch);
  int readSchemaVersion();
  void declare();
  // Runs `body` in a transaction; retryable failures are retried up to kAttempts times.
  // Throws the last StoreError. `body_commits`: the body ends the transaction itself (a
  // batch's COMMIT is the last statement of its final pipeline). The batch in flight, if any,
  // is settled first.
  template <typename Body>
  void transact(Body&& body, bool body_commits = false);
  // Waits for the batch whose final pipeline and COMMIT were sent without waiting (see
  // writeBatch) and finishes it: its consents reach the ledger and the Resolver keeps its
  // state; or, when it failed, everything is rolled back and its pipeline is recorded as lost
  // (mustResume). Never throws.
  void settle();

  // Keys of the batch's live events (outside the transaction: pure computation).
  void collect(std::string_view source_id, event::Batch& batch, int64_t now);
  // One attempt at a batch, inside the transaction.
  // `defer`: send the final pipeline and COMMIT without waiting for them (settle() does).
  void writeAttempt(std::string_view pipeline, std::string_view source_id, event::Batch& batch,
                    int64_t now, bool defer);
  // Takes the writer lock; true when nobody else wrote since this writer's last batch.
  bool lockAndCheckEpoch();
  void prefetch();
  // Inside the transaction: turns records that reuse a stored id with other content into
  // collision dead letters (SameIdGuard) and drops them from pending_.
  void admitSameIds(std::string_view pipeline, event::Batch& batch);
  void resetBatchState();
  void forgetCaches();
  // The profile `id` ends up as after this batch's merges so far.
  std::string_view finalProfile(std::string_view id) const;
  // Stored identities of `profile` per type (prefetched, or asked now).
  const std::vector<identity::TypeCount>& storedCounts(const std::string& profile);
  // inserted_ (and order_: pending_ by id) from stored_ids_.
  void markInserted();
  void sendEvents(std::string_view pipeline, int64_t now);
  void sendGraph(int64_t now, int& identities_at, size_t& expected);
  void sendConsents(std::string_view pipeline, int64_t now);
  void loadConsents();
  void sendDeadLetters(std::string_view pipeline, std::string_view source_id, const event::Batch& batch,
                       int64_t now);
  void sendCursor(std::string_view pipeline, std::string_view source_id, std::string_view cursor, int64_t now);
  static const std::string& keyOf(std::string& buffer, std::string_view type, std::string_view hash);

  pg::Connection conn_;
  identity::Blocklist blocklist_;
  IdentityKeyer keyer_;
  RawSealer sealer_;
  SameIdGuard same_id_;
  identity::Resolver resolver_;
  bool any_limit_ = false;
  Suppressions suppressions_;
  std::string suppression_scratch_;
  std::mutex mutex_;

  int find_identity_ = -1, select_checkpoint_ = -1, upsert_checkpoint_ = -1, select_counts_ = -1;
  int pre_identities_ = -1, pre_profiles_ = -1, pre_counts_ = -1, pre_event_content_ = -1;
  int count_identities_ = -1, load_profile_ = -1;
  int upsert_events_ = -1, insert_events_ = -1, upsert_profiles_ = -1, insert_profiles_ = -1,
      insert_identities_ = -1, touch_identities_ = -1;
  int merge_identities_ = -1, merge_events_ = -1, merge_consents_ = -1, merge_conflicts_ = -1,
      merge_conflicts_other_ = -1, delete_profiles_ = -1, insert_merges_ = -1, upsert_conflicts_ = -1;
  int upsert_dead_letters_ = -1, commit_ = -1;
  int list_dead_letters_ = -1, find_dead_letter_ = -1, remove_dead_letter_ = -1;
  int rename_rotated_ = -1, insert_vault_ = -1, select_vault_ = -1, purge_vault_ = -1, insert_audit_ = -1;
  int view_profile_ = -1, view_identities_ = -1, view_merges_ = -1, view_conflicts_ = -1, view_events_ = -1,
      view_timeline_ = -1;

  static constexpr int kAttempts = 5;

  // What the Resolver has been told since its caches were last dropped (identity keys and
  // profile ids), so a batch prefetches only the rest.
  int64_t epoch_ = -1;          // the write epoch of this writer's last committed batch
  int64_t batch_epoch_ = -1;    // the epoch of the batch in progress
  bool attempted_ = false;      // a transaction of this batch ran (its Resolver state is void)
  Set told_identities_;
  Set loaded_profiles_;
  Set counted_profiles_;
  uint64_t misses_ = 0;

  // The batch in flight: its final pipeline (writes and COMMIT) is on its way to the server
  // while the client prepares the next batch (writeBatch with Batch::more_pending).
  struct InFlight {
    bool active = false;
    std::string key;         // LostPipelines::key of its pipeline
    int identities_at = -1;  // result index of its identity insert
    size_t expected = 0;     // identities that insert must add
    int64_t epoch = -1;
    std::vector<ConsentRecord> consents;
  };
  InFlight inflight_;
  // Pipelines whose batch failed in flight: Error until they load their cursor again. Their
  // next batch is then written and committed synchronously (isolated_).
  LostPipelines lost_;
  std::set<std::string> isolated_;

  // This batch: its live events and their keys.
  struct Pending {
    event::Event* event;
    uint32_t first_key, key_count;
    std::string_view source;
    int64_t seen;
    identity::Resolution resolution;
    std::string fingerprint;  // of its content (SameIdGuard)
    bool versioned = false;   // a new version of a changed snapshot (SameIdGuard::versioned)
  };
  std::vector<Pending> pending_;
  std::vector<IdentityKey> keys_;
  std::vector<IdentityKey> lookup_;  // keys to prefetch
  // Prefetched answers (the database as the batch found it).
  Map<identity::StoredIdentity> pre_identity_;
  Map<identity::StoredProfile> pre_profile_;
  Set pre_profile_checked_;  // profile ids looked up (found or not)
  Map<std::vector<identity::TypeCount>> pre_counts_map_;
  // Buffered writes.
  struct ProfileRow {
    std::string id;
    int64_t first_seen = 0, last_seen = 0;
    std::string traits = "{}", traits_meta = "{}";
  };
  std::vector<ProfileRow> profile_rows_;
  Map<size_t> profile_row_index_;
  struct MergeRow {
    std::string winner, loser, reason;
    int64_t at;
  };
  std::vector<MergeRow> merges_;
  Map<std::string> merged_into_;
  Set created_;  // profiles this batch created
  struct IdentityRow {
    std::string type, hash, profile, source;
    int64_t first_seen, last_seen;
  };
  std::vector<IdentityRow> new_identities_;
  Map<std::vector<identity::TypeCount>> new_counts_;  // new identities per profile they joined
  struct Touch {
    std::string type, hash;
    int64_t first_seen, last_seen;
  };
  std::vector<Touch> touches_;
  struct ConflictRow {
    std::string type, hash, reason, profile, other;
    int64_t at;
    uint32_t occurrences;
  };
  std::vector<ConflictRow> conflicts_;
  std::vector<char> inserted_;  // per pending event: new to the store (not a replay)
  Set stored_ids_;              // the batch's event ids already stored (admitSameIds)

  // Reused working storage.
  std::string key_buffer_, json_, now_text_, pipeline_text_, candidate_;
  std::vector<size_t> order_;
  std::vector<identity::TypeCount> count_scratch_;
  pg::ArrayParam a_[11];
  // Consent ledger: the batch's records (applied to consent_ledger_ after its COMMIT) and the
  // highest consents.id loaded into the view. Writers take turns under the writer lock, so ids
  // are committed in increasing order and "id > loaded" misses nothing.
  std::vector<ConsentRecord> consent_records_;
  int64_t ledger_loaded_id_ = 0;
  int insert_consents_ = -1, load_consents_ = -1;
  event::Event scratch_;
  event::Arena scratch_arena_{4096};
};

}  // namespace omniloop::store
