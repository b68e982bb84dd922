#include "store/postgres_store.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "event/json.h"
#include "store/clock.h"
#include "store/migrations.h"
#include "store/subject_rights.h"

namespace omniloop::store {

namespace {

// pg_advisory_lock key serialising migrations across daemons: "omniloop" in ASCII.
constexpr const char* kMigrationLock = "8029195109741326192";

std::string str(int64_t v) {
  return std::to_string(v);
}

void addCount(std::vector<identity::TypeCount>& counts, std::string_view type, uint32_t n) {
  for (identity::TypeCount& c : counts) {
    if (c.type == type) {
      c.count += n;
      return;
    }
  }
  counts.push_back(identity::TypeCount{std::string(type), n});
}

// Held by a batch's transaction until it ends: one writer at a time changes the identity graph
// (pg_advisory_xact_lock key "omniloop" + 1; the migration lock is "omniloop"). Then the write
// epoch: two statements, so the sequence moves only once the lock is held.
constexpr const char* kWriterLock =
    "SELECT pg_advisory_xact_lock(8029195109741326193); SELECT nextval('store_writes')";

constexpr const char* kFindIdentity =
    "SELECT profile_id, first_seen, last_seen FROM identities WHERE type = $1 AND hash = $2";
constexpr const char* kCountIdentities =
    "SELECT type, count(*) FROM identities WHERE profile_id = $1 GROUP BY type";
constexpr const char* kLoadProfile =
    "SELECT first_seen, last_seen, traits::text, traits_meta::text FROM profiles WHERE id = $1";
constexpr const char* kSelectCheckpoint =
    "SELECT cursor FROM checkpoints WHERE pipeline = $1 AND source = $2";
constexpr const char* kUpsertCheckpoint =
    "INSERT INTO checkpoints (pipeline, source, cursor, updated_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (pipeline, source) DO UPDATE SET cursor = excluded.cursor, updated_at = "
    "excluded.updated_at";
constexpr const char* kSelectCounts =
    "SELECT (SELECT count(*) FROM profiles), (SELECT count(*) FROM identities), "
    "(SELECT count(*) FROM events), (SELECT count(*) FROM dead_letters)";

// The prefetch: identities by key, then profiles and identity counts by id.
constexpr const char* kPreIdentities =
    "SELECT i.type, i.hash, i.profile_id, i.first_seen, i.last_seen "
    "FROM unnest($1::text[], $2::text[]) AS k(type, hash) "
    "JOIN identities i ON i.type = k.type AND i.hash = k.hash";
constexpr const char* kPreProfiles =
    "SELECT id, first_seen, last_seen, traits::text, traits_meta::text FROM profiles WHERE id = "
    "ANY($1::text[])";
constexpr const char* kPreCounts =
    "SELECT profile_id, type, count(*) FROM identities WHERE profile_id = ANY($1::text[]) GROUP BY "
    "1, 2";

// Events: one row per id. Which rows are new is known before (admitSameIds read what is stored
// under the batch's ids, under the writer lock), so a replay is not counted twice in traits.
// The batch's new events (no stored row under their ids) take a plain INSERT, about a fifth
// cheaper on the server than the upsert's speculative insertion; replays take the upsert.
#define OMNILOOP_INSERT_EVENTS                                                              \
  "INSERT INTO events (id, pipeline, source, profile_id, channel, type, occurred_at, "      \
  "ingested_at, attributes, content_hash) "                                                 \
  "SELECT u.id, $1, u.source, u.profile_id, u.channel, u.type, u.occurred_at, $2::bigint, " \
  "u.attributes::jsonb, u.h "                                                               \
  "FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], "  \
  "$9::text[], $10::text[]) "                                                               \
  "AS u(id, source, profile_id, channel, type, occurred_at, attributes, h) ORDER BY u.id"
constexpr const char* kInsertEvents = OMNILOOP_INSERT_EVENTS;
constexpr const char* kUpsertEvents = OMNILOOP_INSERT_EVENTS
    " ON CONFLICT (id) DO UPDATE SET pipeline = excluded.pipeline, source = excluded.source, "
    "profile_id = excluded.profile_id, channel = excluded.channel, type = excluded.type, "
    "occurred_at = excluded.occurred_at, ingested_at = excluded.ingested_at, "
    "attributes = excluded.attributes, content_hash = excluded.content_hash";
#undef OMNILOOP_INSERT_EVENTS
// What is stored under the batch's event ids (same id, different content: SameIdGuard).
constexpr const char* kPreEventContent =
    "SELECT id, content_hash, pipeline, source FROM events WHERE id = ANY($1::text[])";
// Profiles this batch created (full row) or changed (seen range, traits); one row per id.
constexpr const char* kUpsertProfiles =
    "INSERT INTO profiles (id, created_at, updated_at, first_seen, last_seen, traits, traits_meta) "
    "SELECT u.id, $1::bigint, $1::bigint, u.f, u.l, u.t::jsonb, u.m::jsonb "
    "FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[]) AS u(id, f, l, t, "
    "m) ORDER BY u.id "
    "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, first_seen = "
    "excluded.first_seen, "
    "last_seen = excluded.last_seen, traits = excluded.traits, traits_meta = excluded.traits_meta";
// Profiles this batch created: a plain INSERT (their ids were checked free under the writer lock).
constexpr const char* kInsertProfiles =
    "INSERT INTO profiles (id, created_at, updated_at, first_seen, last_seen, traits, traits_meta) "
    "SELECT u.id, $1::bigint, $1::bigint, u.f, u.l, u.t::jsonb, u.m::jsonb "
    "FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[]) "
    "AS u(id, f, l, t, m) ORDER BY u.id";
// Merges: every row naming a merged profile names where it ended up ($1 losers, $2 their
// final winners: a loser appears once, so each row is updated once).
constexpr const char* kMergeIdentities =
    "UPDATE identities AS i SET profile_id = m.w FROM unnest($1::text[], $2::text[]) AS m(l, w) "
    "WHERE i.profile_id = m.l";
constexpr const char* kMergeEvents =
    "UPDATE events AS e SET profile_id = m.w FROM unnest($1::text[], $2::text[]) AS m(l, w) "
    "WHERE e.profile_id = m.l";
constexpr const char* kMergeConsents =
    "UPDATE consents AS c SET profile_id = m.w FROM unnest($1::text[], $2::text[]) AS m(l, w) "
    "WHERE c.profile_id = m.l";
constexpr const char* kMergeConflicts =
    "UPDATE identity_conflicts AS c SET profile_id = m.w FROM unnest($1::text[], $2::text[]) AS "
    "m(l, w) "
    "WHERE c.profile_id = m.l";
constexpr const char* kMergeConflictsOther =
    "UPDATE identity_conflicts AS c SET other_profile = m.w FROM unnest($1::text[], $2::text[]) AS "
    "m(l, w) "
    "WHERE c.other_profile = m.l";
constexpr const char* kDeleteProfiles = "DELETE FROM profiles WHERE id = ANY($1::text[])";
constexpr const char* kInsertMerges =
    "INSERT INTO profile_merges (from_profile, into_profile, reason, merged_at) "
    "SELECT u.l, u.w, u.r, u.a FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) "
    "WITH ORDINALITY AS u(l, w, r, a, n) ORDER BY u.n";
constexpr const char* kInsertIdentities =
    "INSERT INTO identities (type, hash, profile_id, source, first_seen, last_seen) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
    "$6::bigint[]) "
    "AS u(type, hash, profile_id, source, f, l) ORDER BY 1, 2 "
    "ON CONFLICT (type, hash) DO NOTHING";
constexpr const char* kTouchIdentities =
    "UPDATE identities AS i SET first_seen = least(i.first_seen, u.f), last_seen = "
    "greatest(i.last_seen, u.l) "
    "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(type, hash, f, l) "
    "WHERE i.type = u.type AND i.hash = u.hash";
constexpr const char* kUpsertConflicts =
    "INSERT INTO identity_conflicts (type, hash, reason, profile_id, other_profile, first_at, "
    "last_at, occurrences) "
    "SELECT u.t, u.h, u.r, u.p, u.o, u.a, u.a, u.n "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], "
    "$7::bigint[]) "
    "AS u(t, h, r, p, o, a, n) ORDER BY 1, 2, 3 "
    "ON CONFLICT (type, hash, reason) DO UPDATE SET profile_id = excluded.profile_id, "
    "other_profile = excluded.other_profile, last_at = excluded.last_at, "
    "occurrences = identity_conflicts.occurrences + excluded.occurrences";
constexpr const char* kInsertConsents =
    "INSERT INTO consents (pipeline, profile_id, identity_type, identity_hash, purpose, status, "
    "source, "
    "captured_at, evidence, notice_version, event_id, tc_string) "
    "SELECT $1, u.profile_id, u.type, u.hash, u.purpose, u.status, u.source, u.captured_at, "
    "u.evidence, u.notice, "
    "u.event_id, u.tc "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
    "$8::bigint[], "
    "$9::text[], $10::text[], $11::text[], $12::text[]) "
    "AS u(profile_id, type, hash, purpose, status, source, captured_at, evidence, notice, "
    "event_id, tc) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kLoadConsents =
    "SELECT id, identity_hash, purpose, status, captured_at FROM consents "
    "WHERE id > $1 AND identity_hash IS NOT NULL ORDER BY id";
constexpr const char* kUpsertDeadLetters =
    "INSERT INTO dead_letters (id, pipeline, source, event_id, reason, payload, created_at) "
    "SELECT u.id, $1, u.source, u.event_id, u.reason, u.payload, $2::bigint "
    "FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) "
    "AS u(id, source, event_id, reason, payload) ORDER BY u.id "
    "ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, payload = excluded.payload";

// `omniloop profile`.
constexpr const char* kViewProfile =
    "SELECT created_at, updated_at, first_seen, last_seen, traits::text FROM profiles WHERE id = "
    "$1";
constexpr const char* kViewIdentities =
    "SELECT type, hash, source, first_seen, last_seen FROM identities WHERE profile_id = $1 "
    "ORDER BY type, first_seen, hash";
// Every profile folded into this one, also through profiles merged into those.
constexpr const char* kViewMerges =
    "WITH RECURSIVE folded(p) AS (SELECT $1::text COLLATE \"C\" UNION SELECT m.from_profile FROM "
    "profile_merges m "
    "JOIN folded f ON m.into_profile = f.p) "
    "SELECT from_profile, into_profile, reason, merged_at FROM profile_merges "
    "WHERE into_profile IN (SELECT p FROM folded) ORDER BY merged_at, id";
constexpr const char* kViewConflicts =
    "SELECT type, hash, reason, profile_id, other_profile, first_at, last_at, occurrences "
    "FROM identity_conflicts WHERE profile_id = $1 OR other_profile = $1 ORDER BY last_at, type, "
    "reason";
constexpr const char* kViewEvents = "SELECT count(*) FROM events WHERE profile_id = $1";
constexpr const char* kViewTimeline =
    "SELECT id, pipeline, source, channel, type, occurred_at, ingested_at, attributes::text "
    "FROM events WHERE profile_id = $1 ORDER BY occurred_at DESC NULLS LAST, ingested_at DESC, id "
    "DESC LIMIT $2";

struct DeadLetterRow {
  std::string id;
  std::string_view source;
  std::string_view event_id;
  std::string_view reason;
  std::string payload;
};

}  // namespace

PostgresStore::PostgresStore(const std::string& uri, const StoreOptions& options)
    : conn_(uri, redactStoreUri(uri)),
      blocklist_(options.identity, options.hasher, options.normalize),
      keyer_(options.hasher, options.normalize, &blocklist_),
      sealer_(options.vault, options.raw_retention_us),
      same_id_(options.hasher),
      resolver_(options.identity, options.cacheProfiles(false)),
      any_limit_(options.identity.anyLimit()),
      suppressions_(options.suppression_key) {
  keyer_.setPrevious(options.previous_hasher);
  // A write waits this long for another writer's lock before asking for a retry.
  conn_.setSessionSql("SET lock_timeout = " + std::to_string(std::max(1, options.busy_timeout_ms)));
  conn_.connect();
  applyMigrations();
  declare();
  loadConsents();
  // Records other daemons sharing this store committed: loaded on the consent stage's next
  // batch once the interval has passed (docs/privacy.md states the bound).
  consent_ledger_.setRefresher(
      [this](privacy::ConsentLedger&) {
        std::lock_guard lock(mutex_);
        settle();
        loadConsents();
      },
      std::chrono::milliseconds(options.consent_refresh_ms));
}

PostgresStore::~PostgresStore() {
  try {
    settle();  // the batch in flight was written completely (cursor included): keep it
  } catch (...) {
  }
}

int PostgresStore::readSchemaVersion() {
  pg::Result exists = conn_.exec("SELECT to_regclass('schema_version') IS NOT NULL");
  if (exists.rows() == 0 || exists.text(0, 0) != "t") return 0;
  pg::Result max = conn_.exec("SELECT coalesce(max(version), 0) FROM schema_version");
  return max.rows() > 0 ? static_cast<int>(max.integer(0, 0)) : 0;
}
void PostgresStore::applyMigrations() {
  const auto migrations = embeddedMigrations("postgresql");
  const std::string lock = std::string("SELECT pg_advisory_lock(") + kMigrationLock + ")";
  const std::string unlock = std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")";
  conn_.exec(lock.c_str());  // another daemon migrating the same store finishes first
  bool in_transaction = false;
  try {
    const int found = readSchemaVersion();
    if (found > latestVersion(migrations)) {
      throw StoreError("store schema version " + std::to_string(found) +
                       " is newer than this omniloop supports (" +
                       std::to_string(latestVersion(migrations)) + "): upgrade omniloop (store " +
                       conn_.shown() + ")");
    }
    if (found == 0) {
      pg::Result foreign = conn_.exec(
          "SELECT t FROM unnest(ARRAY['profiles', 'identities', 'events', 'checkpoints']) AS t "
          "WHERE to_regclass(t) IS NOT NULL LIMIT 1");
      if (foreign.rows() > 0) {
        throw StoreError(
            "store " + conn_.shown() + " already has a table '" + std::string(foreign.text(0, 0)) +
            "' but no omniloop schema_version: it belongs to something else; point the store "
            "at another database (or schema, with ?options=-csearch_path%3Dname)");
      }
    }
    if (found < latestVersion(migrations)) {
      conn_.exec("BEGIN");
      in_transaction = true;
      for (const Migration& m : migrations) {
        if (m.version <= found) continue;
        try {
          conn_.exec(std::string(m.sql).c_str());
        } catch (const StoreError& e) {
          throw StoreError("cannot apply store migration " + std::to_string(m.version) + " (" +
                           std::string(m.name) + "): " + e.what());
        }
        // The name is [a-z0-9_]+ (store.cmake checks), so it can be inlined.
        const std::string record =
            "INSERT INTO schema_version (version, name, applied_at) VALUES (" +
            std::to_string(m.version) + ", '" + std::string(m.name) + "', " + str(nowMicros()) +
            ")";
        conn_.exec(record.c_str());
      }
      conn_.exec("COMMIT");
      in_transaction = false;
    }
  } catch (...) {
    try {
      if (in_transaction) conn_.exec("ROLLBACK");
      conn_.exec(unlock.c_str());
    } catch (...) {
    }
    throw;
  }
  conn_.exec(unlock.c_str());
}

void PostgresStore::declare() {
  find_identity_ = conn_.declare(kFindIdentity);
  count_identities_ = conn_.declare(kCountIdentities);
  load_profile_ = conn_.declare(kLoadProfile);
  select_checkpoint_ = conn_.declare(kSelectCheckpoint);
  upsert_checkpoint_ = conn_.declare(kUpsertCheckpoint);
  select_counts_ = conn_.declare(kSelectCounts);
  list_dead_letters_ = conn_.declare(
      "SELECT id, pipeline, source, event_id, reason, payload, created_at FROM dead_letters "
      "WHERE ($1 = '' OR pipeline = $1) ORDER BY created_at, id LIMIT $2::bigint");
  find_dead_letter_ = conn_.declare(
      "SELECT id, pipeline, source, event_id, reason, payload, created_at FROM dead_letters WHERE "
      "id = $1");
  remove_dead_letter_ = conn_.declare("DELETE FROM dead_letters WHERE id = $1 RETURNING id");
  pre_identities_ = conn_.declare(kPreIdentities);
  pre_profiles_ = conn_.declare(kPreProfiles);
  pre_counts_ = conn_.declare(kPreCounts);
  pre_event_content_ = conn_.declare(kPreEventContent);
  upsert_events_ = conn_.declare(kUpsertEvents);
  insert_events_ = conn_.declare(kInsertEvents);
  upsert_profiles_ = conn_.declare(kUpsertProfiles);
  insert_profiles_ = conn_.declare(kInsertProfiles);
  merge_identities_ = conn_.declare(kMergeIdentities);
  merge_events_ = conn_.declare(kMergeEvents);
  merge_consents_ = conn_.declare(kMergeConsents);
  merge_conflicts_ = conn_.declare(kMergeConflicts);
  merge_conflicts_other_ = conn_.declare(kMergeConflictsOther);
  delete_profiles_ = conn_.declare(kDeleteProfiles);
  insert_merges_ = conn_.declare(kInsertMerges);
  insert_identities_ = conn_.declare(kInsertIdentities);
  touch_identities_ = conn_.declare(kTouchIdentities);
  upsert_conflicts_ = conn_.declare(kUpsertConflicts);
  upsert_dead_letters_ = conn_.declare(kUpsertDeadLetters);
  commit_ = conn_.declare("COMMIT");
  insert_consents_ = conn_.declare(kInsertConsents);
  load_consents_ = conn_.declare(kLoadConsents);
  view_profile_ = conn_.declare(kViewProfile);
  view_identities_ = conn_.declare(kViewIdentities);
  view_merges_ = conn_.declare(kViewMerges);
  view_conflicts_ = conn_.declare(kViewConflicts);
  view_events_ = conn_.declare(kViewEvents);
  view_timeline_ = conn_.declare(kViewTimeline);
  rename_rotated_ = conn_.declare(
      "UPDATE identities i SET hash = u.cur FROM unnest($1::text[], $2::text[], $3::text[]) "
      "AS u(type, prev, cur) WHERE i.type = u.type AND i.hash = u.prev AND NOT EXISTS "
      "(SELECT 1 FROM identities j WHERE j.type = u.type AND j.hash = u.cur)");
  insert_vault_ = conn_.declare(
      "INSERT INTO vault (token, key_id, sealed, created_at, expires_at) "
      "VALUES ($1, $2, $3, $4::bigint, $5::bigint) ON CONFLICT (token) DO NOTHING");
  select_vault_ = conn_.declare(
      "SELECT token, key_id, sealed, expires_at FROM vault WHERE token = $1 "
      "AND (expires_at IS NULL OR expires_at > $2::bigint)");
  purge_vault_ =
      conn_.declare("DELETE FROM vault WHERE expires_at IS NOT NULL AND expires_at <= $1::bigint");
  insert_audit_ = conn_.declare(
      "INSERT INTO audit_log (at, actor, action, subject, details) "
      "VALUES ($1::bigint, $2, $3, NULLIF($4, ''), $5::jsonb)");
}

template <typename Body>
void PostgresStore::transact(Body&& body, bool body_commits) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  settle();
  for (int attempt = 1;; ++attempt) {
    try {
      conn_.connect();
      conn_.exec("BEGIN");
      body();
      if (!body_commits) conn_.exec("COMMIT");
      return;
    } catch (const StoreError& e) {
      conn_.pipelineAbandon();
      if (conn_.connected()) {
        try {
          conn_.exec("ROLLBACK");
        } catch (...) {
        }
      }
      if (!e.retryable() || attempt >= kAttempts) throw;
      // Another writer holds what this batch needs: give it a moment (jittered, growing).
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * (5 + jitter() % 20)));
    }
  }
}

int PostgresStore::schemaVersion() {
  std::lock_guard lock(mutex_);
  int v = 0;
  transact([&] { v = readSchemaVersion(); });
  return v;
}

std::string PostgresStore::loadCursor(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  std::string p, s;
  pg::appendValidUtf8(p, pipeline);
  pg::appendValidUtf8(s, source_id);
  std::string cursor;
  transact([&] {
    pg::Result r = conn_.run(select_checkpoint_, {pg::text(p), pg::text(s)});
    cursor = r.rows() > 0 ? std::string(r.text(0, 0)) : std::string();
  });
  // A pipeline (re)starting from its committed cursor reads again whatever a failed batch lost.
  lost_.resumed(pipeline, source_id);
  return cursor;
}

void PostgresStore::commit(std::string_view pipeline, std::string_view source_id,
                           const event::Batch& batch) {
  std::lock_guard lock(mutex_);
  settle();
  lost_.refuseIfLost(LostPipelines::key(pipeline, source_id));
  const int64_t now = nowMicros();
  transact([&] {
    conn_.pipelineBegin();
    sendDeadLetters(pipeline, source_id, batch, now);
    sendCursor(pipeline, source_id, batch.cursor, now);
    conn_.pipelineFinish();
  });
}

void PostgresStore::settle() {
  if (!inflight_.active) return;
  inflight_.active = false;
  std::string failure;
  try {
    const std::vector<pg::Result> results = conn_.pipelineResults();
    // A new identity that was there anyway was inserted by a writer that skipped the writer
    // lock: the batch resolved against a stale graph (its COMMIT ran: the batch is not undone,
    // but the pipeline stops, as for any failure of a batch in flight).
    if (inflight_.identities_at >= 0 &&
        results.at(static_cast<size_t>(inflight_.identities_at)).affected() != inflight_.expected) {
      failure = "another writer added one of its identities meanwhile";
    }
  } catch (const std::exception& e) {
    failure = e.what();
    conn_.pipelineAbandon();
    if (conn_.connected()) {
      try {
        conn_.exec("ROLLBACK");
      } catch (...) {
      }
    }
  }
  if (failure.empty()) {
    for (const ConsentRecord& c : inflight_.consents) {
      consent_ledger_.apply(c.identity_hash, c.purpose, c.status, c.captured_at);
    }
    resolver_.committed();
    epoch_ = inflight_.epoch;
  } else {
    resolver_.rolledBack();
    forgetCaches();
    lost_.lose(inflight_.key, failure);
    isolated_.insert(inflight_.key);
  }
  inflight_.consents.clear();
}

event::Result PostgresStore::flush(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  settle();
  try {
    lost_.refuseIfLost(LostPipelines::key(pipeline, source_id));
    return event::Result::ok();
  } catch (const std::exception& e) {
    return event::Result::error(e.what());
  }
}

bool PostgresStore::mustResume(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  settle();
  return lost_.lost(pipeline, source_id);
}

event::Result PostgresStore::writeBatch(std::string_view pipeline, std::string_view source_id,
                                        event::Batch& batch) {
  std::lock_guard lock(mutex_);
  try {
    const std::string key = LostPipelines::key(pipeline, source_id);
    const int64_t now = nowMicros();
    // Keying (normalising, pseudonymising, fingerprints) needs no database: it runs while the
    // server is still writing the previous batch.
    collect(source_id, batch, now);
    settle();
    lost_.refuseIfLost(key);
    // While more batches are queued, this one's writes and COMMIT go out without waiting for
    // them, and the server runs them while the client prepares the next batch. The first batch
    // of a pipeline that lost one in flight is committed synchronously, so a batch that fails
    // again fails alone (and is retried or dead-lettered by the executor).
    const bool defer = batch.more_pending && isolated_.erase(key) == 0;
    attempted_ = false;
    transact([&] { writeAttempt(pipeline, source_id, batch, now, defer); }, true);
    // Counted once the batch is in (an attempt that rolled back is not).
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i].versioned && inserted_[i] != 0) batch.count(kSameIdFamily, "new_version");
    }
    if (defer) {
      inflight_.active = true;
      inflight_.key = key;
      inflight_.epoch = batch_epoch_;
      inflight_.consents.swap(consent_records_);
    } else {
      for (const ConsentRecord& c : consent_records_) {
        consent_ledger_.apply(c.identity_hash, c.purpose, c.status, c.captured_at);
      }
      resolver_.committed();
      epoch_ = batch_epoch_;
    }
    consent_records_.clear();
    attempted_ = false;
    resetBatchState();
    return event::Result::ok();
  } catch (const StoreError& e) {
    // Nothing of the batch is stored; the Resolver may hold its uncommitted state.
    resolver_.rolledBack();
    forgetCaches();
    resetBatchState();
    consent_records_.clear();
    return e.retryable() ? event::Result::retry(e.what()) : event::Result::error(e.what());
  } catch (const std::exception& e) {
    resolver_.rolledBack();
    forgetCaches();
    resetBatchState();
    consent_records_.clear();
    return event::Result::error(std::string("store: ") + e.what());
  }
}

void PostgresStore::collect(std::string_view source_id, event::Batch& batch, int64_t now) {
  pending_.clear();
  keys_.clear();
  std::string_view pipeline_source;  // source_id in the batch's arena, once
  for (event::Event& e : batch) {
    if (!e.live()) continue;
    const size_t first = keys_.size();
    if (!keyer_.storableKeys(e, batch, keys_)) continue;
    // The event as stored: without a source of its own it carries the pipeline's ($source in
    // traits then says what the stored row says).
    if (e.source.empty()) {
      if (pipeline_source.empty()) pipeline_source = batch.intern(source_id);
      e.source = pipeline_source;
    }
    pending_.push_back(Pending{&e,
                               static_cast<uint32_t>(first),
                               static_cast<uint32_t>(keys_.size() - first),
                               e.source.empty() ? source_id : e.source,
                               e.occurred_at_us != 0 ? e.occurred_at_us : now,
                               {},
                               {},
                               false});
    same_id_.fingerprint(e, pending_.back().fingerprint);
  }
}

void PostgresStore::admitSameIds(std::string_view pipeline, event::Batch& batch) {
  if (pending_.empty()) return;
  a_[0].clear();
  for (const Pending& p : pending_) a_[0].add(p.event->id);
  std::unordered_map<std::string, StoredContent> stored;
  {
    pg::Result r = conn_.run(pre_event_content_, {a_[0].param()});
    for (int i = 0; i < r.rows(); ++i) {
      StoredContent& c = stored[std::string(r.text(i, 0))];
      c.content_hash.assign(r.text(i, 1));
      c.pipeline.assign(r.text(i, 2));
      c.source.assign(r.text(i, 3));
      stored_ids_.emplace(r.text(i, 0));
    }
  }
  same_id_.beginBatch();
  size_t kept = 0;
  for (Pending& p : pending_) {
    const auto it = stored.find(std::string(p.event->id));
    if (!same_id_.admit(*p.event, batch, pipeline, it == stored.end() ? nullptr : &it->second,
                        p.fingerprint)) {
      continue;
    }
    p.versioned =
        p.versioned || same_id_.versioned();  // a retried attempt finds its new id unknown
    if (&pending_[kept] != &p) pending_[kept] = std::move(p);
    ++kept;
  }
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(kept), pending_.end());
  // A new version takes an id of its own, which may be stored already (the same version
  // exported again): whether the events are new must cover those ids too.
  a_[0].clear();
  for (const Pending& p : pending_) {
    if (p.versioned && !stored_ids_.contains(std::string_view(p.event->id))) a_[0].add(p.event->id);
  }
  if (a_[0].size() > 0) {
    pg::Result r = conn_.run(pre_event_content_, {a_[0].param()});
    for (int i = 0; i < r.rows(); ++i) stored_ids_.emplace(r.text(i, 0));
  }
}

void PostgresStore::writeAttempt(std::string_view pipeline, std::string_view source_id,
                                 event::Batch& batch, int64_t now, bool defer) {
  if (attempted_) {
    // An earlier attempt of this batch rolled back (or its COMMIT failed): start clean.
    resolver_.rolledBack();
    forgetCaches();
  }
  attempted_ = true;
  resetBatchState();
  const bool cache_valid = lockAndCheckEpoch();
  // Under the writer lock an erasure also takes: one that committed before is seen here.
  if (!cache_valid) loadSuppressions();
  if (!suppressions_.empty()) dropSuppressed(batch);
  if (keyer_.rotating()) {
    // Key rotation: identities stored under the previous key take their current-key pseudonym
    // before the Resolver looks them up (docs/privacy.md "Keys and rotation").
    std::vector<IdentityKeyer::RotationPair> pairs;
    event::Arena arena(4096);
    for (const Pending& p : pending_) keyer_.rotationPairs(*p.event, arena, pairs);
    if (!pairs.empty()) {
      pg::ArrayParam types, prev, cur;
      types.clear();
      prev.clear();
      cur.clear();
      std::set<std::pair<std::string_view, std::string_view>> seen;
      for (const auto& p : pairs) {
        if (!seen.insert({p.type, p.current}).second) continue;
        types.add(p.type);
        prev.add(p.previous);
        cur.add(p.current);
      }
      conn_.run(rename_rotated_, {types.param(), prev.param(), cur.param()});
    }
  }
  admitSameIds(pipeline, batch);
  if (!resolver_.beginBatch(now, cache_valid)) forgetCaches();
  prefetch();
  for (Pending& p : pending_) {
    p.resolution = resolver_.resolve(
        *this, std::span<const IdentityKey>(keys_.data() + p.first_key, p.key_count), p.event->id,
        p.source, p.seen);
  }
  markInserted();
  for (size_t i = 0; i < pending_.size(); ++i) {
    resolver_.observe(pending_[i].resolution, *pending_[i].event, pending_[i].seen,
                      inserted_[i] != 0);
  }
  resolver_.flush(*this);

  // Every write of the batch and its COMMIT in one round trip.
  conn_.pipelineBegin();
  int identities_at = -1;
  size_t expected = 0;
  sendEvents(pipeline, now);
  sendGraph(now, identities_at, expected);
  sendConsents(pipeline, now);
  sendDeadLetters(pipeline, source_id, batch, now);
  sendCursor(pipeline, source_id, batch.cursor, now);
  conn_.send(commit_, {});
  if (defer) {
    conn_.pipelineSync();  // settle() reads the results
    inflight_.identities_at = identities_at;
    inflight_.expected = expected;
    return;
  }
  const std::vector<pg::Result> results = conn_.pipelineFinish();
  // A new identity that was there anyway was inserted by a writer that skipped the writer
  // lock: this batch resolved against a stale graph and must be redone.
  if (identities_at >= 0 && results.at(static_cast<size_t>(identities_at)).affected() != expected) {
    throw StoreError(
        "another writer added one of this batch's identities meanwhile; redoing the batch", true);
  }
}

void PostgresStore::loadSuppressions() {
  pg::Result r = conn_.exec("SELECT type, hash FROM suppressions");
  std::vector<std::pair<std::string, std::string>> rows;
  for (int i = 0; i < r.rows(); ++i)
    rows.emplace_back(std::string(r.text(i, 0)), std::string(r.text(i, 1)));
  suppressions_.assign(rows);
}

void PostgresStore::dropSuppressed(event::Batch& batch) {
  size_t kept = 0;
  for (Pending& p : pending_) {
    const auto keys = std::span<const IdentityKey>(keys_.data() + p.first_key, p.key_count);
    if (const std::string_view type = suppressions_.any(keys); !type.empty()) {
      store::dropSuppressed(*p.event, batch, type);
    } else {
      pending_[kept++] = p;
    }
  }
  pending_.resize(kept);
}

namespace {

class PgSession final : public SqlSession {
 public:
  explicit PgSession(pg::Connection& conn) : conn_(conn) {}
  uint64_t exec(const std::string& sql) override { return conn_.exec(sql.c_str()).affected(); }
  std::vector<Row> query(const std::string& sql, int columns) override {
    pg::Result r = conn_.exec(sql.c_str());
    std::vector<Row> rows;
    for (int i = 0; i < r.rows(); ++i) {
      Row row;
      for (int c = 0; c < columns; ++c) {
        if (r.isNull(i, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(r.text(i, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  std::string idLiteral(std::string_view id) const override { return textLiteral(id); }
  std::string hashLiteral(std::string_view hash) const override { return textLiteral(hash); }
  std::string idText(std::string_view column) const override { return std::string(column); }
  std::string hashText(std::string_view column) const override { return std::string(column); }
  std::string jsonText(std::string_view column) const override {
    return std::string(column) + "::text";
  }
  std::string contains(std::string_view column, std::string_view needle) const override {
    return "strpos(lower(" + std::string(column) + "), " + textLiteral(needle) + ") > 0";
  }
  std::string containsExpr(std::string_view haystack, std::string_view needle) const override {
    return "strpos(" + std::string(haystack) + ", " + std::string(needle) + ") > 0";
  }

 private:
  pg::Connection& conn_;
};

}  // namespace

bool PostgresStore::rightsTransaction(bool secure, const std::function<void(SqlSession&)>& fn) {
  (void)secure;  // PostgreSQL: deleted rows stay in their pages until VACUUM (docs/privacy.md)
  std::lock_guard lock(mutex_);
  transact([&] {
    conn_.exec(kWriterLock);  // batches of every daemon wait; the epoch moves, so they reload
    PgSession session(conn_);
    fn(session);
  });
  forgetCaches();
  return true;
}

bool PostgresStore::lockAndCheckEpoch() {
  // Writers of one store take turns (see postgres_store.h). The lock is a statement of its
  // own, so the reads after it see whatever the previous writer committed.
  batch_epoch_ = conn_.exec(kWriterLock).integer(0, 0);
  return epoch_ >= 0 && batch_epoch_ == epoch_ + 1;
}

void PostgresStore::forgetCaches() {
  epoch_ = -1;
  told_identities_.clear();
  loaded_profiles_.clear();
  counted_profiles_.clear();
}

void PostgresStore::resetBatchState() {
  pre_identity_.clear();
  pre_profile_.clear();
  pre_profile_checked_.clear();
  pre_counts_map_.clear();
  profile_rows_.clear();
  profile_row_index_.clear();
  merges_.clear();
  merged_into_.clear();
  created_.clear();
  new_identities_.clear();
  new_counts_.clear();
  touches_.clear();
  conflicts_.clear();
  inserted_.clear();
  stored_ids_.clear();
}

const std::string& PostgresStore::keyOf(std::string& buffer, std::string_view type,
                                        std::string_view hash) {
  buffer.assign(type);
  buffer.push_back('\x1f');
  buffer.append(hash);
  return buffer;
}

void PostgresStore::prefetch() {
  // 1. The identities the Resolver does not know yet (it asks only about the batch's keys,
  //    and about those only when it has not been told them).
  lookup_.clear();
  for (const IdentityKey& k : keys_) {
    if (!told_identities_.contains(std::string_view(keyOf(key_buffer_, k.type, k.hash))))
      lookup_.push_back(k);
  }
  if (lookup_.empty()) return;
  // Distinct keys without a set: sort and drop repeats.
  std::sort(lookup_.begin(), lookup_.end(), [](const IdentityKey& a, const IdentityKey& b) {
    return a.type != b.type ? a.type < b.type : a.hash < b.hash;
  });
  lookup_.erase(std::unique(lookup_.begin(), lookup_.end(),
                            [](const IdentityKey& a, const IdentityKey& b) {
                              return a.type == b.type && a.hash == b.hash;
                            }),
                lookup_.end());
  a_[0].clear();
  a_[1].clear();
  for (const IdentityKey& k : lookup_) {
    a_[0].add(k.type);
    a_[1].add(k.hash);
  }
  {
    pg::Result r = conn_.run(pre_identities_, {a_[0].param(), a_[1].param()});
    for (int i = 0; i < r.rows(); ++i) {
      identity::StoredIdentity& s = pre_identity_[keyOf(key_buffer_, r.text(i, 0), r.text(i, 1))];
      s.profile.assign(r.text(i, 2));
      s.first_seen = r.integer(i, 3);
      s.last_seen = r.integer(i, 4);
    }
  }
  // 2. Their profiles' rows and identity counts, and whether the ids new profiles would take
  //    are free (a profile row under that id).
  a_[0].clear();
  a_[1].clear();
  for (const IdentityKey& k : lookup_) {
    auto it = pre_identity_.find(std::string_view(keyOf(key_buffer_, k.type, k.hash)));
    if (it == pre_identity_.end()) {
      identity::newProfileId(k.hash, candidate_);
      if (pre_profile_checked_.insert(candidate_).second) a_[0].add(candidate_);
      continue;
    }
    const std::string& profile = it->second.profile;
    if (!loaded_profiles_.contains(std::string_view(profile)) &&
        pre_profile_checked_.insert(profile).second) {
      a_[0].add(profile);
    }
    if (any_limit_ && !counted_profiles_.contains(std::string_view(profile)) &&
        pre_counts_map_.emplace(profile, std::vector<identity::TypeCount>()).second) {
      a_[1].add(profile);
    }
  }
  if (a_[0].size() == 0 && a_[1].size() == 0) return;
  conn_.pipelineBegin();
  const bool profiles = a_[0].size() > 0, counts = a_[1].size() > 0;
  if (profiles) conn_.send(pre_profiles_, {a_[0].param()});
  if (counts) conn_.send(pre_counts_, {a_[1].param()});
  std::vector<pg::Result> results = conn_.pipelineFinish();
  size_t next = 0;
  if (profiles) {
    const pg::Result& r = results.at(next++);
    for (int i = 0; i < r.rows(); ++i) {
      identity::StoredProfile& p = pre_profile_[std::string(r.text(i, 0))];
      p.first_seen = r.integer(i, 1);
      p.last_seen = r.integer(i, 2);
      p.traits.assign(r.text(i, 3));
      p.traits_meta.assign(r.text(i, 4));
    }
  }
  if (counts) {
    const pg::Result& r = results.at(next++);
    for (int i = 0; i < r.rows(); ++i) {
      pre_counts_map_[std::string(r.text(i, 0))].push_back(
          identity::TypeCount{std::string(r.text(i, 1)), static_cast<uint32_t>(r.integer(i, 2))});
    }
  }
}

std::string_view PostgresStore::finalProfile(std::string_view id) const {
  for (;;) {
    auto it = merged_into_.find(id);
    if (it == merged_into_.end()) return id;
    id = it->second;
  }
}

// --- identity::Graph: reads from the prefetch (a miss asks the database), writes buffered ---

bool PostgresStore::findIdentity(std::string_view type, std::string_view hash,
                                 identity::StoredIdentity& out) {
  const std::string& key = keyOf(key_buffer_, type, hash);
  if (auto it = pre_identity_.find(std::string_view(key)); it != pre_identity_.end()) {
    out = it->second;
  } else if (!told_identities_.contains(std::string_view(key))) {
    return false;  // prefetched: not in the database
  } else {
    // The Resolver forgot what it was told (it should not): ask.
    ++misses_;
    const std::string t(type), h(hash);
    pg::Result r = conn_.run(find_identity_, {pg::text(t), pg::text(h)});
    if (r.rows() == 0) return false;
    out.profile.assign(r.text(0, 0));
    out.first_seen = r.integer(0, 1);
    out.last_seen = r.integer(0, 2);
  }
  // The database still names a profile this batch merged away.
  out.profile.assign(finalProfile(out.profile));
  told_identities_.insert(keyOf(key_buffer_, type, hash));
  return true;
}

const std::vector<identity::TypeCount>& PostgresStore::storedCounts(const std::string& profile) {
  auto it = pre_counts_map_.find(std::string_view(profile));
  if (it != pre_counts_map_.end()) return it->second;
  std::vector<identity::TypeCount>& counts = pre_counts_map_[profile];
  if (created_.contains(std::string_view(profile))) return counts;  // not in the database yet
  ++misses_;
  pg::Result r = conn_.run(count_identities_, {pg::text(profile)});
  for (int i = 0; i < r.rows(); ++i) {
    counts.push_back(
        identity::TypeCount{std::string(r.text(i, 0)), static_cast<uint32_t>(r.integer(i, 1))});
  }
  return counts;
}

void PostgresStore::countIdentities(std::string_view profile,
                                    std::vector<identity::TypeCount>& out) {
  // What the database would say had the batch's buffered writes been made: the stored
  // identities of `profile` and of every profile merged into it, plus the new ones.
  const std::string id(profile);
  auto addAll = [&](const std::string& p) {
    for (const identity::TypeCount& c : storedCounts(p)) addCount(out, c.type, c.count);
    if (auto it = new_counts_.find(std::string_view(p)); it != new_counts_.end()) {
      for (const identity::TypeCount& c : it->second) addCount(out, c.type, c.count);
    }
  };
  addAll(id);
  for (const auto& [loser, winner] : merged_into_) {
    if (finalProfile(loser) == profile) addAll(loser);
  }
  counted_profiles_.insert(id);
}

bool PostgresStore::loadProfile(std::string_view profile, identity::StoredProfile& out) {
  if (auto it = pre_profile_.find(profile); it != pre_profile_.end()) {
    out = it->second;
  } else if (pre_profile_checked_.contains(profile)) {
    return false;
  } else {
    ++misses_;
    const std::string id(profile);
    pg::Result r = conn_.run(load_profile_, {pg::text(id)});
    pre_profile_checked_.insert(id);
    if (r.rows() == 0) return false;
    identity::StoredProfile& p = pre_profile_[id];
    p.first_seen = r.integer(0, 0);
    p.last_seen = r.integer(0, 1);
    p.traits.assign(r.text(0, 2));
    p.traits_meta.assign(r.text(0, 3));
    out = p;
  }
  loaded_profiles_.emplace(profile);
  return true;
}

bool PostgresStore::insertProfile(std::string_view profile, int64_t first_seen, int64_t last_seen,
                                  int64_t now) {
  (void)now;  // every row the batch writes gets the batch's time
  if (created_.contains(profile) || pre_profile_.contains(profile)) return false;
  if (!pre_profile_checked_.contains(profile)) {
    ++misses_;
    const std::string id(profile);
    pg::Result r = conn_.run(load_profile_, {pg::text(id)});
    pre_profile_checked_.insert(id);
    if (r.rows() > 0) {
      identity::StoredProfile& p = pre_profile_[id];
      p.first_seen = r.integer(0, 0);
      p.last_seen = r.integer(0, 1);
      p.traits.assign(r.text(0, 2));
      p.traits_meta.assign(r.text(0, 3));
      return false;
    }
  }
  created_.emplace(profile);
  profile_row_index_.emplace(profile, profile_rows_.size());
  ProfileRow& row = profile_rows_.emplace_back();
  row.id.assign(profile);
  row.first_seen = first_seen;
  row.last_seen = last_seen;
  loaded_profiles_.emplace(profile);
  counted_profiles_.emplace(profile);
  return true;
}

void PostgresStore::updateProfile(std::string_view profile, int64_t first_seen, int64_t last_seen,
                                  std::string_view traits, std::string_view traits_meta,
                                  int64_t now) {
  (void)now;
  auto it = profile_row_index_.find(profile);
  if (it == profile_row_index_.end()) {
    it = profile_row_index_.emplace(std::string(profile), profile_rows_.size()).first;
    profile_rows_.emplace_back().id.assign(profile);
  }
  ProfileRow& row = profile_rows_[it->second];
  row.first_seen = first_seen;
  row.last_seen = last_seen;
  row.traits.assign(traits);
  row.traits_meta.assign(traits_meta);
}

void PostgresStore::insertIdentity(std::string_view type, std::string_view hash,
                                   std::string_view profile, std::string_view source,
                                   int64_t first_seen, int64_t last_seen) {
  new_identities_.push_back(IdentityRow{std::string(type), std::string(hash), std::string(profile),
                                        std::string(source), first_seen, last_seen});
  auto it = new_counts_.find(profile);
  if (it == new_counts_.end())
    it = new_counts_.emplace(std::string(profile), std::vector<identity::TypeCount>()).first;
  addCount(it->second, type, 1);
  told_identities_.insert(keyOf(key_buffer_, type, hash));
}

void PostgresStore::touchIdentity(std::string_view type, std::string_view hash, int64_t first_seen,
                                  int64_t last_seen) {
  // Resolver::flush touches each identity once per batch.
  touches_.push_back(Touch{std::string(type), std::string(hash), first_seen, last_seen});
}

void PostgresStore::mergeProfiles(std::string_view winner, std::string_view loser,
                                  std::string_view reason, int64_t now) {
  merges_.push_back(MergeRow{std::string(winner), std::string(loser), std::string(reason), now});
  merged_into_.insert_or_assign(std::string(loser), std::string(winner));
}

void PostgresStore::recordConflict(const identity::Conflict& c, uint32_t occurrences) {
  conflicts_.push_back(ConflictRow{std::string(c.type), std::string(c.hash), std::string(c.reason),
                                   std::string(finalProfile(c.profile)),
                                   std::string(finalProfile(c.other_profile)), c.at, occurrences});
}

// --- the batch's writes ---

void PostgresStore::markInserted() {
  // New: not stored before the batch, and the first occurrence of its id in the batch.
  inserted_.assign(pending_.size(), 0);
  order_.resize(pending_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
  std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
    return pending_[a].event->id < pending_[b].event->id;
  });
  for (size_t n = 0; n < order_.size(); ++n) {
    const std::string_view id = pending_[order_[n]].event->id;
    if (n > 0 && pending_[order_[n - 1]].event->id == id) continue;
    if (!stored_ids_.contains(id)) inserted_[order_[n]] = 1;
  }
}

void PostgresStore::sendEvents(std::string_view pipeline, int64_t now) {
  using Type = pg::ArrayParam::Type;
  if (pending_.empty()) return;
  // One row per id (the last occurrence's content wins, as sequential upserts would have it),
  // in id order (order_, from markInserted): the new ones inserted, then the stored ones
  // (replays) upserted.
  pipeline_text_.clear();
  pg::appendValidUtf8(pipeline_text_, pipeline);
  now_text_ = str(now);
  for (const bool stored : {false, true}) {
    for (int i = 0; i < 5; ++i) a_[i].clear();
    a_[5].clear(Type::BigInt);
    a_[6].clear();
    a_[7].clear();
    for (size_t n = 0; n < order_.size(); ++n) {
      if (n + 1 < order_.size() &&
          pending_[order_[n]].event->id == pending_[order_[n + 1]].event->id)
        continue;
      const Pending& p = pending_[order_[n]];
      const event::Event& e = *p.event;
      if (stored_ids_.contains(std::string_view(e.id)) != stored) continue;
      a_[0].add(e.id);
      a_[1].add(p.source);
      // Where the event's profile ended up after the batch's later merges.
      a_[2].addOrNull(finalProfile(p.resolution.profile));
      a_[3].addOrNull(e.channel);
      a_[4].addOrNull(e.type);
      if (e.occurred_at_us != 0) {
        a_[5].add(e.occurred_at_us);
      } else {
        a_[5].addNull();
      }
      json_.clear();
      event::appendAttributesJson(json_, e);
      pg::neutralizeJsonNul(json_);
      a_[6].add(json_);
      a_[7].add(p.fingerprint);
    }
    if (a_[0].size() == 0) continue;
    conn_.send(
        stored ? upsert_events_ : insert_events_,
        {pg::text(pipeline_text_), pg::text(now_text_), a_[0].param(), a_[1].param(), a_[2].param(),
         a_[3].param(), a_[4].param(), a_[5].param(), a_[6].param(), a_[7].param()});
  }
}

void PostgresStore::sendGraph(int64_t now, int& identities_at, size_t& expected) {
  using Type = pg::ArrayParam::Type;
  now_text_ = str(now);
  // Statement order gives the end state of the same writes made one by one: profiles first
  // (identities reference them), then merges re-point rows before their profiles go, then the
  // new identities (already naming final profiles), seen ranges and conflicts.
  order_.clear();
  for (size_t i = 0; i < profile_rows_.size(); ++i) {
    // A profile created and merged away in this batch is never written.
    if (!merged_into_.contains(std::string_view(profile_rows_[i].id))) order_.push_back(i);
  }
  std::sort(order_.begin(), order_.end(),
            [&](size_t a, size_t b) { return profile_rows_[a].id < profile_rows_[b].id; });
  // The ones this batch created are inserted, the others upserted.
  for (const bool created : {true, false}) {
    a_[0].clear();
    a_[1].clear(Type::BigInt);
    a_[2].clear(Type::BigInt);
    a_[3].clear();
    a_[4].clear();
    for (size_t i : order_) {
      const ProfileRow& p = profile_rows_[i];
      if (created_.contains(std::string_view(p.id)) != created) continue;
      a_[0].add(p.id);
      a_[1].add(p.first_seen);
      a_[2].add(p.last_seen);
      a_[3].add(p.traits);
      a_[4].add(p.traits_meta);
    }
    if (a_[0].size() > 0) {
      conn_.send(created ? insert_profiles_ : upsert_profiles_,
                 {pg::text(now_text_), a_[0].param(), a_[1].param(), a_[2].param(), a_[3].param(),
                  a_[4].param()});
    }
  }

  if (!merges_.empty()) {
    a_[0].clear();
    a_[1].clear();
    for (const auto& [loser, winner] : merged_into_) {
      a_[0].add(loser);
      a_[1].add(finalProfile(winner));
    }
    for (int id : {merge_identities_, merge_events_, merge_consents_, merge_conflicts_,
                   merge_conflicts_other_}) {
      conn_.send(id, {a_[0].param(), a_[1].param()});
    }
    conn_.send(delete_profiles_, {a_[0].param()});
    a_[2].clear();
    a_[3].clear();
    a_[4].clear();
    a_[5].clear(Type::BigInt);
    for (const MergeRow& m : merges_) {
      a_[2].add(m.loser);
      a_[3].add(m.winner);
      a_[4].add(m.reason);
      a_[5].add(m.at);
    }
    conn_.send(insert_merges_, {a_[2].param(), a_[3].param(), a_[4].param(), a_[5].param()});
  }

  expected = new_identities_.size();
  if (expected > 0) {
    for (int i = 0; i < 4; ++i) a_[i].clear();
    a_[4].clear(Type::BigInt);
    a_[5].clear(Type::BigInt);
    for (const IdentityRow& id : new_identities_) {
      a_[0].add(id.type);
      a_[1].add(id.hash);
      a_[2].add(finalProfile(id.profile));
      a_[3].add(id.source);
      a_[4].add(id.first_seen);
      a_[5].add(id.last_seen);
    }
    identities_at = conn_.sent();
    conn_.send(insert_identities_, {a_[0].param(), a_[1].param(), a_[2].param(), a_[3].param(),
                                    a_[4].param(), a_[5].param()});
  }

  if (!touches_.empty()) {
    a_[0].clear();
    a_[1].clear();
    a_[2].clear(Type::BigInt);
    a_[3].clear(Type::BigInt);
    for (const Touch& t : touches_) {
      a_[0].add(t.type);
      a_[1].add(t.hash);
      a_[2].add(t.first_seen);
      a_[3].add(t.last_seen);
    }
    conn_.send(touch_identities_, {a_[0].param(), a_[1].param(), a_[2].param(), a_[3].param()});
  }

  if (!conflicts_.empty()) {
    for (int i = 0; i < 5; ++i) a_[i].clear();
    a_[5].clear(Type::BigInt);
    a_[6].clear(Type::BigInt);
    for (const ConflictRow& c : conflicts_) {
      a_[0].add(c.type);
      a_[1].add(c.hash);
      a_[2].add(c.reason);
      a_[3].add(c.profile);
      a_[4].add(c.other);
      a_[5].add(c.at);
      a_[6].add(static_cast<int64_t>(c.occurrences));
    }
    conn_.send(upsert_conflicts_, {a_[0].param(), a_[1].param(), a_[2].param(), a_[3].param(),
                                   a_[4].param(), a_[5].param(), a_[6].param()});
  }
}

void PostgresStore::sendConsents(std::string_view pipeline, int64_t now) {
  using Type = pg::ArrayParam::Type;
  consent_records_.clear();
  for (int i = 0; i < 11; ++i) a_[i].clear();
  a_[6].clear(Type::BigInt);
  for (const Pending& p : pending_) {
    const size_t before = consent_records_.size();
    appendConsentRecords(*p.event,
                         std::span<const IdentityKey>(keys_.data() + p.first_key, p.key_count), now,
                         consent_records_);
    for (size_t i = before; i < consent_records_.size(); ++i) {
      const ConsentRecord& c = consent_records_[i];
      a_[0].addOrNull(finalProfile(p.resolution.profile));
      a_[1].add(c.identity_type);
      a_[2].add(c.identity_hash);
      a_[3].add(c.purpose);
      a_[4].add(event::toString(c.status));
      a_[5].add(p.source);
      a_[6].add(c.captured_at);
      a_[7].add(c.evidence);
      a_[8].addOrNull(c.notice_version);
      a_[9].add(p.event->id);
      a_[10].addOrNull(c.tc_string);
    }
  }
  if (consent_records_.empty()) return;
  std::string pl;
  pg::appendValidUtf8(pl, pipeline);
  conn_.send(insert_consents_, {pg::text(pl), a_[0].param(), a_[1].param(), a_[2].param(),
                                a_[3].param(), a_[4].param(), a_[5].param(), a_[6].param(),
                                a_[7].param(), a_[8].param(), a_[9].param(), a_[10].param()});
}

void PostgresStore::loadConsents() {
  const std::string after = str(ledger_loaded_id_);
  conn_.connect();
  pg::Result r = conn_.run(load_consents_, {pg::text(after)});
  for (int i = 0; i < r.rows(); ++i) {
    ledger_loaded_id_ = r.integer(i, 0);
    consent_ledger_.apply(r.text(i, 1), r.text(i, 2), event::parseConsentStatus(r.text(i, 3)),
                          r.integer(i, 4));
  }
}

void PostgresStore::sendDeadLetters(std::string_view pipeline, std::string_view source_id,
                                    const event::Batch& batch, int64_t now) {
  scratch_arena_.reset();
  sealer_.rows.clear();
  std::vector<DeadLetterRow> rows;
  for (const event::Event& e : batch) {
    if (e.disposition != event::Disposition::DeadLetter) continue;
    if (!suppressions_.anyIn(e, keyer_, suppression_scratch_).empty())
      continue;  // an erased subject's
    DeadLetterRow row;
    appendDeadLetterPayload(row.payload, e, keyer_, scratch_, scratch_arena_, sealer_, now);
    row.source = e.source.empty() ? source_id : e.source;
    row.id = deadLetterId(pipeline, row.source, e.id, row.payload);
    row.event_id = e.id;
    row.reason = e.reason.empty() ? std::string_view("unspecified") : e.reason;
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return;
  std::stable_sort(rows.begin(), rows.end(),
                   [](const DeadLetterRow& a, const DeadLetterRow& b) { return a.id < b.id; });
  for (int i = 0; i < 5; ++i) a_[i].clear();
  for (size_t n = 0; n < rows.size(); ++n) {
    if (n + 1 < rows.size() && rows[n].id == rows[n + 1].id) continue;  // the last one wins
    a_[0].add(rows[n].id);
    a_[1].add(rows[n].source);
    a_[2].addOrNull(rows[n].event_id);
    a_[3].add(rows[n].reason);
    a_[4].add(rows[n].payload);
  }
  std::string p;
  pg::appendValidUtf8(p, pipeline);
  const std::string now_text = str(now);
  conn_.send(upsert_dead_letters_, {pg::text(p), pg::text(now_text), a_[0].param(), a_[1].param(),
                                    a_[2].param(), a_[3].param(), a_[4].param()});
  for (const VaultRow& r : sealer_.rows) {  // the sealed raw records the payloads name
    const std::string expires = str(r.expires_at);
    conn_.send(insert_vault_, {pg::text(r.token), pg::text(r.key_id), pg::text(r.sealed),
                               pg::text(now_text), pg::text(expires)});
  }
  sealer_.rows.clear();
}

void PostgresStore::sendCursor(std::string_view pipeline, std::string_view source_id,
                               std::string_view cursor, int64_t now) {
  if (cursor.empty()) return;  // a source without positions: keep the last committed one
  std::string p, s, c;
  pg::appendValidUtf8(p, pipeline);
  pg::appendValidUtf8(s, source_id);
  pg::appendValidUtf8(c, cursor);
  const std::string now_text = str(now);
  conn_.send(upsert_checkpoint_, {pg::text(p), pg::text(s), pg::text(c), pg::text(now_text)});
}

// --- reads ---

StoreCounts PostgresStore::counts() {
  std::lock_guard lock(mutex_);
  StoreCounts c;
  transact([&] {
    pg::Result r = conn_.run(select_counts_, {});
    if (r.rows() > 0) {
      c.profiles = static_cast<uint64_t>(r.integer(0, 0));
      c.identities = static_cast<uint64_t>(r.integer(0, 1));
      c.events = static_cast<uint64_t>(r.integer(0, 2));
      c.dead_letters = static_cast<uint64_t>(r.integer(0, 3));
    }
  });
  return c;
}

namespace {

DeadLetter readDeadLetter(const pg::Result& r, int row) {
  return {std::string(r.text(row, 0)),
          std::string(r.text(row, 1)),
          std::string(r.text(row, 2)),
          r.isNull(row, 3) ? std::string() : std::string(r.text(row, 3)),
          std::string(r.text(row, 4)),
          std::string(r.text(row, 5)),
          r.integer(row, 6)};
}

}  // namespace

std::vector<DeadLetter> PostgresStore::deadLetters(std::string_view pipeline, size_t limit) {
  std::lock_guard lock(mutex_);
  std::string p;
  pg::appendValidUtf8(p, pipeline);
  const std::string n = std::to_string(limit == 0 ? INT64_MAX : std::min<size_t>(limit, INT64_MAX));
  std::vector<DeadLetter> out;
  transact([&] {
    out.clear();
    pg::Result r = conn_.run(list_dead_letters_, {pg::text(p), pg::text(n)});
    for (int i = 0; i < r.rows(); ++i) out.push_back(readDeadLetter(r, i));
  });
  return out;
}

std::optional<DeadLetter> PostgresStore::deadLetter(std::string_view id) {
  std::lock_guard lock(mutex_);
  std::string key;
  pg::appendValidUtf8(key, id);
  std::optional<DeadLetter> out;
  transact([&] {
    out.reset();
    pg::Result r = conn_.run(find_dead_letter_, {pg::text(key)});
    if (r.rows() > 0) out = readDeadLetter(r, 0);
  });
  return out;
}

uint64_t PostgresStore::removeDeadLetters(const std::vector<std::string>& ids) {
  std::lock_guard lock(mutex_);
  uint64_t removed = 0;
  transact([&] {
    removed = 0;
    for (const std::string& id : ids) {
      std::string key;
      pg::appendValidUtf8(key, id);
      pg::Result r = conn_.run(remove_dead_letter_, {pg::text(key)});
      removed += static_cast<uint64_t>(r.rows());
    }
  });
  return removed;
}

std::optional<std::string> PostgresStore::findProfile(std::string_view type,
                                                      std::string_view value) {
  std::lock_guard lock(mutex_);
  std::string hash;
  if (!keyer_.pseudonymize(type, value, hash)) return std::nullopt;
  std::string t;
  pg::appendValidUtf8(t, type);
  // During a key rotation an identity not seen since keeps its previous-key pseudonym.
  std::string previous;
  const bool rotating = keyer_.pseudonymizePrevious(type, value, previous);
  std::optional<std::string> found;
  transact([&] {
    found.reset();
    pg::Result r = conn_.run(find_identity_, {pg::text(t), pg::text(hash)});
    if (r.rows() > 0) {
      found = std::string(r.text(0, 0));
    } else if (rotating) {
      pg::Result p = conn_.run(find_identity_, {pg::text(t), pg::text(previous)});
      if (p.rows() > 0) found = std::string(p.text(0, 0));
    }
  });
  return found;
}

std::optional<ProfileView> PostgresStore::profile(std::string_view profile_id,
                                                  size_t timeline_limit) {
  std::lock_guard lock(mutex_);
  std::string id;
  pg::appendValidUtf8(id, profile_id);
  const std::string limit = std::to_string(std::min<size_t>(timeline_limit, INT64_MAX));
  std::optional<ProfileView> out;
  // One transaction: a consistent picture even while writers go on.
  transact([&] {
    out.reset();
    pg::Result p = conn_.run(view_profile_, {pg::text(id)});
    if (p.rows() == 0) return;
    ProfileView view;
    view.id = id;
    view.created_at = p.integer(0, 0);
    view.updated_at = p.integer(0, 1);
    view.first_seen = p.integer(0, 2);
    view.last_seen = p.integer(0, 3);
    view.traits = std::string(p.text(0, 4));
    pg::Result r = conn_.run(view_identities_, {pg::text(id)});
    for (int i = 0; i < r.rows(); ++i) {
      view.identities.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1)),
                                 std::string(r.text(i, 2)), r.integer(i, 3), r.integer(i, 4)});
    }
    r = conn_.run(view_merges_, {pg::text(id)});
    for (int i = 0; i < r.rows(); ++i) {
      view.merges.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1)),
                             std::string(r.text(i, 2)), r.integer(i, 3)});
    }
    r = conn_.run(view_conflicts_, {pg::text(id)});
    for (int i = 0; i < r.rows(); ++i) {
      view.conflicts.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1)),
                                std::string(r.text(i, 2)), std::string(r.text(i, 3)),
                                std::string(r.text(i, 4)), r.integer(i, 5), r.integer(i, 6),
                                static_cast<uint64_t>(r.integer(i, 7))});
    }
    r = conn_.run(view_events_, {pg::text(id)});
    if (r.rows() > 0) view.events = static_cast<uint64_t>(r.integer(0, 0));
    r = conn_.run(view_timeline_, {pg::text(id), pg::text(limit)});
    for (int i = 0; i < r.rows(); ++i) {
      view.timeline.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1)),
                               std::string(r.text(i, 2)), std::string(r.text(i, 3)),
                               std::string(r.text(i, 4)), std::string(r.text(i, 7)),
                               r.isNull(i, 5) ? 0 : r.integer(i, 5), r.integer(i, 6)});
    }
    std::reverse(view.timeline.begin(), view.timeline.end());
    out = std::move(view);
  });
  return out;
}

identity::ResolverStats PostgresStore::resolverStats() {
  std::lock_guard lock(mutex_);
  return resolver_.stats();
}

uint64_t PostgresStore::prefetchMisses() {
  std::lock_guard lock(mutex_);
  return misses_;
}

event::Result PostgresStore::putVault(const std::vector<VaultRow>& rows) {
  if (rows.empty()) return event::Result::ok();
  std::lock_guard lock(mutex_);
  try {
    transact([&] {
      const std::string now = std::to_string(nowMicros());
      for (const VaultRow& r : rows) {
        const std::string expires = std::to_string(r.expires_at);
        conn_.run(insert_vault_,
                  {pg::text(r.token), pg::text(r.key_id), pg::text(r.sealed), pg::text(now),
                   r.expires_at > 0 ? pg::text(expires) : pg::Param{}});
      }
    });
    return event::Result::ok();
  } catch (const StoreError& e) {
    return e.retryable() ? event::Result::retry(e.what()) : event::Result::error(e.what());
  }
}

std::optional<VaultRow> PostgresStore::getVault(std::string_view token) {
  std::lock_guard lock(mutex_);
  std::optional<VaultRow> found;
  const std::string t(token), now = std::to_string(nowMicros());
  transact([&] {
    found.reset();
    pg::Result r = conn_.run(select_vault_, {pg::text(t), pg::text(now)});
    if (r.rows() == 0) return;
    VaultRow row;
    row.token = std::string(r.text(0, 0));
    row.key_id = std::string(r.text(0, 1));
    row.sealed = std::string(r.text(0, 2));
    row.expires_at = r.isNull(0, 3) ? 0 : r.integer(0, 3);
    found = std::move(row);
  });
  return found;
}

uint64_t PostgresStore::purgeExpiredVault(int64_t now_us) {
  std::lock_guard lock(mutex_);
  uint64_t n = 0;
  const std::string now = std::to_string(now_us);
  transact([&] { n = conn_.run(purge_vault_, {pg::text(now)}).affected(); });
  return n;
}

void PostgresStore::appendAudit(const AuditRow& row) {
  std::lock_guard lock(mutex_);
  const std::string at = std::to_string(row.at);
  const std::string details = row.details.empty() ? std::string("{}") : row.details;
  transact([&] {
    conn_.run(insert_audit_, {pg::text(at), pg::text(row.actor), pg::text(row.action),
                              pg::text(row.subject), pg::text(details)});
  });
}

void PostgresStore::setSameIdPolicy(std::string_view pipeline, int policy) {
  std::lock_guard lock(mutex_);
  same_id_.setPolicy(pipeline, static_cast<SameIdPolicy>(policy));
}

}  // namespace omniloop::store
