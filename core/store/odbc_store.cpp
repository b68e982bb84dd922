#include "store/odbc_store.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "event/json.h"
#include "store/clock.h"
#include "store/migrations.h"
#include "store/postgres_db.h"

namespace omniloop::store {

namespace {

constexpr const char* kMigrationLock = "8029195109741326192";  // as PostgresStore: "omniloop"
constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(8029195109741326193)";  // as PostgresStore

// Statements in both dialects, with placeholders filled per dialect (dialectSql):
//   {MIN} {MAX}   min/max (SQLite) or least/greatest (PostgreSQL)
//   {JSON}        a JSON parameter: ? or CAST(? AS jsonb)
//   {ID:col}      an id column read back as 32 hex text (SQLite stores canonical ids as BLOBs)
//   {HASH:col}    a hash column read back as "h1:<key id>:<hex>" (SQLite: 36-byte BLOBs)
// Decoding in SQL keeps the ODBC layer text-only on the read side.
constexpr const char* kFindIdentity =
    "SELECT {ID:profile_id}, first_seen, last_seen FROM identities WHERE type = ? AND hash = ?";
constexpr const char* kCountIdentities = "SELECT type, count(*) FROM identities WHERE profile_id = ? GROUP BY type";
constexpr const char* kLoadProfile =
    "SELECT first_seen, last_seen, CAST(traits AS TEXT), CAST(traits_meta AS TEXT) FROM profiles WHERE id = ?";
constexpr const char* kInsertProfile =
    "INSERT INTO profiles (id, created_at, updated_at, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING";
constexpr const char* kUpdateProfile =
    "UPDATE profiles SET first_seen = ?, last_seen = ?, traits = {JSON}, traits_meta = {JSON}, updated_at = ? "
    "WHERE id = ?";
// DO NOTHING + row count: a row another writer added despite the writer lock makes the batch
// start over instead of failing on the key.
constexpr const char* kInsertIdentity =
    "INSERT INTO identities (type, hash, profile_id, source, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (type, hash) DO NOTHING";
constexpr const char* kTouchIdentity =
    "UPDATE identities SET first_seen = {MIN}(first_seen, ?), last_seen = {MAX}(last_seen, ?) "
    "WHERE type = ? AND hash = ?";
constexpr const char* kRecordConflict =
    "INSERT INTO identity_conflicts (type, hash, reason, profile_id, other_profile, first_at, last_at, occurrences) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (type, hash, reason) DO UPDATE SET profile_id = excluded.profile_id, "
    "other_profile = excluded.other_profile, last_at = excluded.last_at, "
    "occurrences = identity_conflicts.occurrences + excluded.occurrences";
constexpr const char* kMergeIdentities = "UPDATE identities SET profile_id = ? WHERE profile_id = ?";
constexpr const char* kMergeEvents = "UPDATE events SET profile_id = ? WHERE profile_id = ?";
constexpr const char* kMergeConsents = "UPDATE consents SET profile_id = ? WHERE profile_id = ?";
constexpr const char* kMergeConflicts = "UPDATE identity_conflicts SET profile_id = ? WHERE profile_id = ?";
constexpr const char* kMergeConflictsOther =
    "UPDATE identity_conflicts SET other_profile = ? WHERE other_profile = ?";
constexpr const char* kDeleteProfile = "DELETE FROM profiles WHERE id = ?";
constexpr const char* kInsertMerge =
    "INSERT INTO profile_merges (from_profile, into_profile, reason, merged_at) VALUES (?, ?, ?, ?)";
constexpr const char* kInsertConsent =
    "INSERT INTO consents (profile_id, identity_type, identity_hash, purpose, status, source, captured_at, "
    "evidence, notice_version, pipeline, event_id, tc_string) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kLoadConsents =
    "SELECT id, identity_hash, purpose, status, captured_at FROM consents "
    "WHERE id > ? AND identity_hash IS NOT NULL ORDER BY id";
constexpr const char* kInsertEvent =
    "INSERT INTO events (id, pipeline, source, profile_id, channel, type, occurred_at, ingested_at, attributes, "
    "content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {JSON}, ?) ON CONFLICT (id) DO NOTHING";
constexpr const char* kUpdateEvent =
    "UPDATE events SET pipeline = ?, source = ?, profile_id = ?, channel = ?, type = ?, occurred_at = ?, "
    "ingested_at = ?, attributes = {JSON}, content_hash = ? WHERE id = ?";
constexpr const char* kSelectEventContent = "SELECT content_hash, pipeline, source FROM events WHERE id = ?";
constexpr const char* kUpsertDeadLetter =
    "INSERT INTO dead_letters (id, pipeline, source, event_id, reason, payload, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, payload = excluded.payload";
constexpr const char* kUpsertCheckpoint =
    "INSERT INTO checkpoints (pipeline, source, cursor, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (pipeline, source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";
constexpr const char* kSelectCheckpoint = "SELECT cursor FROM checkpoints WHERE pipeline = ? AND source = ?";
constexpr const char* kSelectCounts =
    "SELECT (SELECT count(*) FROM profiles), (SELECT count(*) FROM identities), "
    "(SELECT count(*) FROM events), (SELECT count(*) FROM dead_letters)";

std::string dialectSql(std::string sql, bool sqlite) {
  auto replace = [&](std::string_view from, std::string_view to) {
    for (size_t at = sql.find(from); at != std::string::npos; at = sql.find(from, at + to.size())) {
      sql.replace(at, from.size(), to);
    }
  };
  replace("{MIN}", sqlite ? "min" : "least");
  replace("{MAX}", sqlite ? "max" : "greatest");
  replace("{JSON}", sqlite ? "?" : "CAST(? AS jsonb)");
  // {ID:col} / {HASH:col}
  for (const std::string_view tag : {std::string_view("{ID:"), std::string_view("{HASH:")}) {
    for (size_t at = sql.find(tag); at != std::string::npos; at = sql.find(tag, at)) {
      const size_t close = sql.find('}', at);
      const std::string col = sql.substr(at + tag.size(), close - at - tag.size());
      std::string expr = col;
      if (sqlite && tag == "{ID:") {
        expr = "CASE WHEN typeof(" + col + ") = 'blob' THEN lower(hex(" + col + ")) ELSE " + col + " END";
      } else if (sqlite) {
        expr = "CASE WHEN typeof(" + col + ") = 'blob' AND length(" + col + ") = 36 THEN 'h1:' || lower(hex(substr(" +
               col + ", 1, 4))) || ':' || lower(hex(substr(" + col + ", 5))) WHEN typeof(" + col +
               ") = 'blob' THEN lower(hex(" + col + ")) ELSE " + col + " END";
      }
      sql.replace(at, close + 1 - at, expr);
      at += expr.size();
    }
  }
  return sql;
}

int64_t integer(odbc::Statement& s, int column) {
  const std::string t = s.text(column);
  return t.empty() ? 0 : std::stoll(t);
}

}  // namespace

void OdbcStore::encodeId(std::string_view id, sqlite_keys::BoundKey& out) const {
  if (sqlite_) {
    sqlite_keys::encodeId(id, out);
  } else {
    sqlite_keys::keepText(id, out);
  }
}

void OdbcStore::encodeHash(std::string_view hash, sqlite_keys::BoundKey& out) const {
  if (sqlite_) {
    sqlite_keys::encodeHash(hash, out);
  } else {
    sqlite_keys::keepText(hash, out);
  }
}

void OdbcStore::bind(odbc::Statement& s, int index, const sqlite_keys::BoundKey& b) {
  if (b.blob) {
    s.bindBytes(index, b.bytes, b.size);
  } else {
    s.bind(index, b.text);
  }
}

OdbcStore::OdbcStore(const std::string& connection, const StoreOptions& options)
    : conn_(connection, redactStoreUri("odbc:" + connection)),
      blocklist_(options.identity, options.hasher, options.normalize),
      keyer_(options.hasher, options.normalize, &blocklist_),
      sealer_(options.vault, options.raw_retention_us),
      same_id_(options.hasher),
      resolver_(options.identity, options.cacheProfiles(false)),
      busy_timeout_ms_(std::max(1, options.busy_timeout_ms)) {
  keyer_.setPrevious(options.previous_hasher);
  conn_.connect();
  sqlite_ = conn_.dialect() == odbc::Dialect::Sqlite;
  if (sqlite_ && !conn_.hasAttribute("Timeout")) {
    // The SQLite driver keeps its own busy handler (100 s by default) whatever PRAGMA
    // busy_timeout says: give it ours through the connection string.
    conn_.addAttribute("Timeout", std::to_string(busy_timeout_ms_));
    conn_.disconnect();
    conn_.connect();
  }
  setupSession();
  // Migration 0002 rebuilds tables, which SQLite only allows with foreign keys off (a no-op
  // inside a transaction, so around it).
  if (sqlite_) conn_.exec("PRAGMA foreign_keys = OFF");
  applyMigrations();
  if (sqlite_) conn_.exec("PRAGMA foreign_keys = ON");
  prepare();
  loadConsents();
  consent_ledger_.setRefresher(
      [this](privacy::ConsentLedger&) {
        std::lock_guard lock(mutex_);
        loadConsents();
      },
      std::chrono::milliseconds(options.consent_refresh_ms));
}

OdbcStore::~OdbcStore() {
  // Statements go before the connection that owns them.
  for (auto* s : {&data_version_, &find_identity_, &count_identities_, &load_profile_, &insert_profile_,
                  &update_profile_, &insert_identity_, &touch_identity_, &record_conflict_, &merge_identities_,
                  &merge_events_, &merge_consents_, &merge_conflicts_, &merge_conflicts_other_, &delete_profile_,
                  &insert_merge_, &insert_event_, &update_event_, &upsert_dead_letter_, &upsert_checkpoint_,
                  &select_checkpoint_, &select_counts_}) {
    s->reset();
  }
  conn_.rollback();
}

std::string_view OdbcStore::dialect() const { return sqlite_ ? "sqlite" : "postgresql"; }

void OdbcStore::setupSession() {
  if (sqlite_) {
    // Transactions are ours (BEGIN IMMEDIATE .. COMMIT), so the driver stays in autocommit.
    conn_.setAutocommit(true);
    conn_.exec("PRAGMA foreign_keys = ON");
    conn_.exec("PRAGMA synchronous = NORMAL");
  } else {
    conn_.setAutocommit(false);
    conn_.exec("SET lock_timeout = " + std::to_string(busy_timeout_ms_));
    conn_.commit();
  }
}

void OdbcStore::ensureConnected() {
  if (conn_.connected()) return;
  conn_.connect();
  setupSession();
}

void OdbcStore::begin() {
  if (sqlite_) conn_.exec("BEGIN IMMEDIATE");  // the write lock up front, as SqliteStore
}

void OdbcStore::end() {
  if (sqlite_) {
    conn_.exec("COMMIT");
  } else {
    conn_.commit();
  }
}

void OdbcStore::abort() {
  if (!conn_.connected()) return;
  if (sqlite_) {
    try {
      conn_.exec("ROLLBACK");
    } catch (...) {
    }
  } else {
    conn_.rollback();
  }
}

template <typename Body>
void OdbcStore::transact(Body&& body) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    try {
      ensureConnected();
      begin();
      body();
      end();
      return;
    } catch (const StoreError& e) {
      abort();
      if (!e.retryable() || attempt >= kAttempts) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * (5 + jitter() % 20)));
    }
  }
}

int OdbcStore::readSchemaVersion() {
  odbc::Statement exists(conn_, sqlite_ ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                          "name = 'schema_version'"
                                        : "SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 0 ELSE 1 END");
  exists.execute();
  if (!exists.fetch() || exists.text(1) == "0") return 0;
  exists.close();
  odbc::Statement max(conn_, "SELECT coalesce(max(version), 0) FROM schema_version");
  max.execute();
  if (!max.fetch()) return 0;
  return std::stoi(max.text(1));
}

void OdbcStore::applyMigrations() {
  const auto migrations = embeddedMigrations(dialect());
  const int latest = latestVersion(migrations);
  if (!sqlite_) conn_.exec(std::string("SELECT pg_advisory_lock(") + kMigrationLock + ")");
  bool in_transaction = false;
  try {
    // Refuse a newer schema (or someone else's database) before writing anything.
    const int found = readSchemaVersion();
    if (found > latest) {
      throw StoreError("store schema version " + std::to_string(found) + " is newer than this omniloop supports (" +
                       std::to_string(latest) + "): upgrade omniloop (store " + conn_.shown() + ")");
    }
    if (found == 0) {
      odbc::Statement any(conn_, sqlite_ ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                                           "('profiles', 'identities', 'events', 'checkpoints')"
                                         : "SELECT t FROM unnest(ARRAY['profiles', 'identities', 'events', "
                                           "'checkpoints']) AS t WHERE to_regclass(t) IS NOT NULL");
      any.execute();
      if (any.fetch()) {
        throw StoreError("store " + conn_.shown() + " already has a table '" + any.text(1) +
                         "' but no omniloop schema_version: it belongs to something else; point the store at "
                         "another database");
      }
      any.close();
      if (sqlite_) conn_.exec("PRAGMA page_size = 16384");  // as SqliteStore, before the first table
    }
    if (sqlite_) conn_.exec("PRAGMA journal_mode = WAL");
    if (found < latest) {
      begin();
      in_transaction = true;
      if (sqlite_ && readSchemaVersion() > found) {  // another process migrated meanwhile
        end();
        in_transaction = false;
        return;
      }
      for (const Migration& m : migrations) {
        if (m.version <= found) continue;
        try {
          std::string sql(m.sql);
          // SqliteStore registers omniloop_id_blob()/omniloop_hash_blob() (canonical text
          // keys -> BLOBs) on its connection; an ODBC driver cannot, so the migration copies
          // the keys as they are and convertKeysToBlobs() encodes them afterwards.
          bool converts = false;
          if (sqlite_) {
            for (const std::string_view fn : {std::string_view("omniloop_id_blob("),
                                              std::string_view("omniloop_hash_blob(")}) {
              for (size_t at = sql.find(fn); at != std::string::npos; at = sql.find(fn, at)) {
                sql.replace(at, fn.size(), "(");
                converts = true;
              }
            }
          }
          for (const std::string& statement : odbc::splitStatements(sql)) conn_.exec(statement);
          if (converts) convertKeysToBlobs();
        } catch (const StoreError& e) {
          throw StoreError("cannot apply store migration " + std::to_string(m.version) + " (" +
                           std::string(m.name) + "): " + e.what());
        }
        odbc::Statement record(conn_, "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)");
        record.bind(1, static_cast<int64_t>(m.version));
        record.bind(2, m.name);
        record.bind(3, nowMicros());
        record.execute();
      }
      if (sqlite_) {
        odbc::Statement check(conn_, "PRAGMA foreign_key_check");
        check.execute();
        if (check.fetch()) {
          throw StoreError("store migration left a dangling reference in table " + check.text(1) + " (store " +
                           conn_.shown() + "): nothing was changed; report this as a bug");
        }
      }
      end();
      in_transaction = false;
    }
  } catch (...) {
    if (in_transaction) abort();
    if (!sqlite_) {
      try {
        conn_.rollback();
        conn_.exec(std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")");
        conn_.commit();
      } catch (...) {
      }
    }
    throw;
  }
  if (!sqlite_) {
    conn_.commit();
    conn_.exec(std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")");
    conn_.commit();
  }
}

void OdbcStore::convertKeysToBlobs() {
  struct Column {
    const char* table;
    const char* column;
    bool hash;
  };
  static constexpr Column kKeys[] = {{"profiles", "id", false},         {"identities", "profile_id", false},
                                     {"identities", "hash", true},      {"events", "id", false},
                                     {"events", "profile_id", false},   {"consents", "profile_id", false}};
  std::vector<std::string> values;
  sqlite_keys::BoundKey b;
  for (const Column& k : kKeys) {
    values.clear();
    {
      odbc::Statement s(conn_, std::string("SELECT DISTINCT ") + k.column + " FROM " + k.table + " WHERE typeof(" +
                                   k.column + ") = 'text'");
      s.execute();
      while (s.fetch()) values.push_back(s.text(1));
    }
    odbc::Statement update(conn_, std::string("UPDATE ") + k.table + " SET " + k.column + " = ? WHERE " + k.column +
                                      " = ?");
    for (const std::string& v : values) {
      if (k.hash) {
        encodeHash(v, b);
      } else {
        encodeId(v, b);
      }
      if (!b.blob) continue;  // not canonical: stays text, as the native migration leaves it
      bind(update, 1, b);
      update.bind(2, v);
      update.execute();
    }
  }
}

void OdbcStore::prepare() {
  auto make = [&](const char* sql) { return std::make_unique<odbc::Statement>(conn_, dialectSql(sql, sqlite_)); };
  data_version_ = make(sqlite_ ? "PRAGMA data_version" : "SELECT nextval('store_writes')");
  find_identity_ = make(kFindIdentity);
  count_identities_ = make(kCountIdentities);
  load_profile_ = make(kLoadProfile);
  insert_profile_ = make(kInsertProfile);
  update_profile_ = make(kUpdateProfile);
  insert_identity_ = make(kInsertIdentity);
  touch_identity_ = make(kTouchIdentity);
  record_conflict_ = make(kRecordConflict);
  merge_identities_ = make(kMergeIdentities);
  merge_events_ = make(kMergeEvents);
  merge_consents_ = make(kMergeConsents);
  merge_conflicts_ = make(kMergeConflicts);
  merge_conflicts_other_ = make(kMergeConflictsOther);
  delete_profile_ = make(kDeleteProfile);
  insert_merge_ = make(kInsertMerge);
  insert_event_ = make(kInsertEvent);
  update_event_ = make(kUpdateEvent);
  select_event_content_ = make(kSelectEventContent);
  upsert_dead_letter_ = make(kUpsertDeadLetter);
  insert_consent_ = make(kInsertConsent);
  load_consents_ = make(kLoadConsents);
  upsert_checkpoint_ = make(kUpsertCheckpoint);
  select_checkpoint_ = make(kSelectCheckpoint);
  select_counts_ = make(kSelectCounts);
}

int OdbcStore::schemaVersion() {
  std::lock_guard lock(mutex_);
  int v = 0;
  transact([&] { v = readSchemaVersion(); });
  return v;
}

std::string OdbcStore::loadCursor(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  std::string cursor;
  transact([&] {
    select_checkpoint_->bind(1, pipeline);
    select_checkpoint_->bind(2, source_id);
    select_checkpoint_->execute();
    cursor = select_checkpoint_->fetch() ? select_checkpoint_->text(1) : std::string();
    select_checkpoint_->close();
  });
  return cursor;
}

void OdbcStore::commit(std::string_view pipeline, std::string_view source_id, const event::Batch& batch) {
  std::lock_guard lock(mutex_);
  const int64_t now = nowMicros();
  transact([&] {
    writeDeadLetters(pipeline, source_id, batch, now);
    writeCursor(pipeline, source_id, batch.cursor, now);
  });
}

bool OdbcStore::lockAndCheckCaches() {
  // SQLite: BEGIN IMMEDIATE already excludes every other writer. PostgreSQL: the writer lock
  // PostgresStore takes, so native and ODBC writers of one store take turns alike.
  if (!sqlite_) conn_.exec(kWriterLock);
  // SQLite: PRAGMA data_version moves when another connection commits (not for our own).
  // PostgreSQL: the store_writes epoch, bumped by every writer: the next value right after
  // our own last one means nobody else wrote since.
  data_version_->execute();
  const int64_t marker = data_version_->fetch() ? integer(*data_version_, 1) : -2;
  data_version_->close();
  const bool valid = cache_marker_ >= 0 && cache_session_ == conn_.session() &&
                     marker == (sqlite_ ? cache_marker_ : cache_marker_ + 1);
  cache_marker_ = marker;  // confirmed by committed batches only, see writeBatch
  cache_session_ = conn_.session();
  return valid;
}

event::Result OdbcStore::writeBatch(std::string_view pipeline, std::string_view source_id,
                                    event::Batch& batch) {
  std::lock_guard lock(mutex_);
  bool started = false;  // an earlier attempt may have left uncommitted state in the caches
  try {
    const int64_t now = nowMicros();
    transact([&] {
      if (started) {
        resolver_.rolledBack();
        cache_marker_ = -1;
      }
      started = true;
      ledger_pending_.clear();
      const bool cache_valid = lockAndCheckCaches();
      if (keyer_.rotating()) {
        // Key rotation: identities stored under the previous key take their current-key
        // pseudonym before the Resolver looks them up (docs/privacy.md "Keys and rotation").
        rotation_pairs_.clear();
        scratch_arena_.reset();
        for (const event::Event& e : batch) {
          if (e.live()) keyer_.rotationPairs(e, scratch_arena_, rotation_pairs_);
        }
        odbc::Statement rename(conn_, "UPDATE identities SET hash = ? WHERE type = ? AND hash = ? "
                                      "AND NOT EXISTS (SELECT 1 FROM identities WHERE type = ? AND hash = ?)");
        for (const IdentityKeyer::RotationPair& p : rotation_pairs_) {
          encodeHash(p.current, hash_a_);
          encodeHash(p.previous, hash_b_);
          bind(rename, 1, hash_a_);
          rename.bind(2, p.type);
          bind(rename, 3, hash_b_);
          rename.bind(4, p.type);
          bind(rename, 5, hash_a_);
          rename.execute();
        }
      }
      resolver_.beginBatch(now, cache_valid);
      auto lookup = [&](std::string_view id, StoredContent& out) { return storedContent(id, out); };
      resolveAndWrite(keyer_, resolver_, *this, same_id_, lookup, fingerprint_, pipeline, batch, source_id, now, keys_, nullptr,
                      [&](event::Event& e, std::string_view source, const identity::Resolution& r) {
                        return writeEvent(pipeline, source, e, r, now);
                      });
      resolver_.flush(*this);
      writeDeadLetters(pipeline, source_id, batch, now);
      writeCursor(pipeline, source_id, batch.cursor, now);
    });
    applyAll(consent_ledger_, ledger_pending_);
    resolver_.committed();
    return event::Result::ok();
  } catch (const StoreError& e) {
    resolver_.rolledBack();  // its caches may hold state of the rolled-back transaction
    cache_marker_ = -1;
    return e.retryable() ? event::Result::retry(e.what()) : event::Result::error(e.what());
  } catch (const std::exception& e) {
    resolver_.rolledBack();
    cache_marker_ = -1;
    abort();
    return event::Result::error(std::string("store: ") + e.what());
  }
}

bool OdbcStore::writeEvent(std::string_view pipeline, std::string_view source, const event::Event& e,
                           const identity::Resolution& r, int64_t now) {
  json_.clear();
  event::appendAttributesJson(json_, e);
  if (!sqlite_) pg::neutralizeJsonNul(json_);  // jsonb refuses \u0000
  encodeId(e.id, id_a_);
  if (!r.profile.empty()) encodeId(r.profile, id_b_);
  // The event's columns from `first` on (the id goes first on insert, last on update).
  auto bindColumns = [&](odbc::Statement& s, int first) {
    s.bind(first, pipeline);
    s.bind(first + 1, source);
    if (r.profile.empty()) {
      s.bindNull(first + 2);
    } else {
      bind(s, first + 2, id_b_);
    }
    s.bind(first + 3, e.channel, true);
    s.bind(first + 4, e.type, true);
    if (e.occurred_at_us != 0) {
      s.bind(first + 5, e.occurred_at_us);
    } else {
      s.bindNull(first + 5);
    }
    s.bind(first + 6, now);
    s.bind(first + 7, json_);
    s.bind(first + 8, fingerprint_);
  };
  bind(*insert_event_, 1, id_a_);
  bindColumns(*insert_event_, 2);
  const bool inserted = insert_event_->execute() == 1;
  writeConsents(pipeline, source, e, r, now);
  if (inserted) return true;
  // A replay: the row exists; bring it up to date (it is not counted again in traits).
  bindColumns(*update_event_, 1);
  bind(*update_event_, 10, id_a_);
  update_event_->execute();
  return false;
}

bool OdbcStore::storedContent(std::string_view event_id, StoredContent& out) {
  encodeId(event_id, id_a_);
  bind(*select_event_content_, 1, id_a_);
  select_event_content_->execute();
  const bool found = select_event_content_->fetch();
  if (found) {
    out.content_hash = select_event_content_->text(1);
    out.pipeline = select_event_content_->text(2);
    out.source = select_event_content_->text(3);
  }
  select_event_content_->close();
  return found;
}

void OdbcStore::writeConsents(std::string_view pipeline, std::string_view source, const event::Event& e,
                              const identity::Resolution& r, int64_t now) {
  if (e.consents.empty()) return;
  consent_records_.clear();
  appendConsentRecords(e, keys_, now, consent_records_);
  if (!r.profile.empty()) encodeId(r.profile, id_b_);
  for (const ConsentRecord& c : consent_records_) {
    odbc::Statement& s = *insert_consent_;
    if (r.profile.empty()) {
      s.bindNull(1);
    } else {
      bind(s, 1, id_b_);
    }
    s.bind(2, c.identity_type);
    s.bind(3, c.identity_hash);
    s.bind(4, c.purpose);
    s.bind(5, event::toString(c.status));
    s.bind(6, source);
    s.bind(7, c.captured_at);
    s.bind(8, c.evidence);
    s.bind(9, c.notice_version, true);
    s.bind(10, pipeline);
    s.bind(11, e.id);
    s.bind(12, c.tc_string, true);
    if (s.execute() == 1) {
      ledger_pending_.push_back(
          LedgerUpdate{std::string(c.identity_hash), std::string(c.purpose), c.status, c.captured_at});
    }
  }
}

void OdbcStore::loadConsents() {
  odbc::Statement& s = *load_consents_;
  s.bind(1, ledger_loaded_id_);
  s.execute();
  while (s.fetch()) {
    ledger_loaded_id_ = std::stoll(s.text(1));
    consent_ledger_.apply(s.text(2), s.text(3), event::parseConsentStatus(s.text(4)), std::stoll(s.text(5)));
  }
  s.close();
}

// --- identity::Graph ---

bool OdbcStore::findIdentity(std::string_view type, std::string_view hash, identity::StoredIdentity& out) {
  encodeHash(hash, hash_a_);
  find_identity_->bind(1, type);
  bind(*find_identity_, 2, hash_a_);
  find_identity_->execute();
  const bool found = find_identity_->fetch();
  if (found) {
    out.profile = find_identity_->text(1);
    out.first_seen = integer(*find_identity_, 2);
    out.last_seen = integer(*find_identity_, 3);
  }
  find_identity_->close();
  return found;
}

void OdbcStore::countIdentities(std::string_view profile, std::vector<identity::TypeCount>& out) {
  encodeId(profile, id_a_);
  bind(*count_identities_, 1, id_a_);
  count_identities_->execute();
  while (count_identities_->fetch()) {
    std::string type = count_identities_->text(1);
    out.push_back({std::move(type), static_cast<uint32_t>(integer(*count_identities_, 2))});
  }
  count_identities_->close();
}

bool OdbcStore::loadProfile(std::string_view profile, identity::StoredProfile& out) {
  encodeId(profile, id_a_);
  bind(*load_profile_, 1, id_a_);
  load_profile_->execute();
  const bool found = load_profile_->fetch();
  if (found) {
    out.first_seen = integer(*load_profile_, 1);
    out.last_seen = integer(*load_profile_, 2);
    out.traits = load_profile_->text(3);
    out.traits_meta = load_profile_->text(4);
    if (out.traits.empty()) out.traits = "{}";
    if (out.traits_meta.empty()) out.traits_meta = "{}";
  }
  load_profile_->close();
  return found;
}

bool OdbcStore::insertProfile(std::string_view profile, int64_t first_seen, int64_t last_seen, int64_t now) {
  encodeId(profile, id_a_);
  bind(*insert_profile_, 1, id_a_);
  insert_profile_->bind(2, now);
  insert_profile_->bind(3, now);
  insert_profile_->bind(4, first_seen);
  insert_profile_->bind(5, last_seen);
  return insert_profile_->execute() == 1;
}

void OdbcStore::updateProfile(std::string_view profile, int64_t first_seen, int64_t last_seen,
                              std::string_view traits, std::string_view traits_meta, int64_t now) {
  encodeId(profile, id_a_);
  if (!sqlite_) {
    // jsonb refuses \u0000 (a trait value may quote an attribute that holds one).
    traits_.assign(traits);
    traits_meta_.assign(traits_meta);
    pg::neutralizeJsonNul(traits_);
    pg::neutralizeJsonNul(traits_meta_);
    traits = traits_;
    traits_meta = traits_meta_;
  }
  update_profile_->bind(1, first_seen);
  update_profile_->bind(2, last_seen);
  update_profile_->bind(3, traits);
  update_profile_->bind(4, traits_meta);
  update_profile_->bind(5, now);
  bind(*update_profile_, 6, id_a_);
  update_profile_->execute();
}

void OdbcStore::insertIdentity(std::string_view type, std::string_view hash, std::string_view profile,
                               std::string_view source, int64_t first_seen, int64_t last_seen) {
  encodeHash(hash, hash_a_);
  encodeId(profile, id_a_);
  insert_identity_->bind(1, type);
  bind(*insert_identity_, 2, hash_a_);
  bind(*insert_identity_, 3, id_a_);
  insert_identity_->bind(4, source);
  insert_identity_->bind(5, first_seen);
  insert_identity_->bind(6, last_seen);
  if (insert_identity_->execute() != 1) {
    throw StoreError("another writer added one of this batch's identities meanwhile; redoing the batch", true);
  }
}

void OdbcStore::touchIdentity(std::string_view type, std::string_view hash, int64_t first_seen, int64_t last_seen) {
  encodeHash(hash, hash_a_);
  touch_identity_->bind(1, first_seen);
  touch_identity_->bind(2, last_seen);
  touch_identity_->bind(3, type);
  bind(*touch_identity_, 4, hash_a_);
  touch_identity_->execute();
}

void OdbcStore::mergeProfiles(std::string_view winner, std::string_view loser, std::string_view reason,
                              int64_t now) {
  encodeId(winner, id_a_);
  encodeId(loser, id_b_);
  // Re-point everything before the loser's row goes (foreign keys).
  for (odbc::Statement* s : {merge_identities_.get(), merge_events_.get(), merge_consents_.get()}) {
    bind(*s, 1, id_a_);
    bind(*s, 2, id_b_);
    s->execute();
  }
  // Conflicts and merges keep profile ids as text in every dialect.
  for (odbc::Statement* s : {merge_conflicts_.get(), merge_conflicts_other_.get()}) {
    s->bind(1, winner);
    s->bind(2, loser);
    s->execute();
  }
  bind(*delete_profile_, 1, id_b_);
  delete_profile_->execute();
  insert_merge_->bind(1, loser);
  insert_merge_->bind(2, winner);
  insert_merge_->bind(3, reason);
  insert_merge_->bind(4, now);
  insert_merge_->execute();
}

void OdbcStore::recordConflict(const identity::Conflict& c, uint32_t occurrences) {
  encodeHash(c.hash, hash_a_);
  record_conflict_->bind(1, c.type);
  bind(*record_conflict_, 2, hash_a_);
  record_conflict_->bind(3, c.reason);
  record_conflict_->bind(4, c.profile);
  record_conflict_->bind(5, c.other_profile);
  record_conflict_->bind(6, c.at);
  record_conflict_->bind(7, c.at);
  record_conflict_->bind(8, static_cast<int64_t>(occurrences));
  record_conflict_->execute();
}

// --- dead letters, cursor, reads ---

void OdbcStore::writeDeadLetters(std::string_view pipeline, std::string_view source_id, const event::Batch& batch,
                                 int64_t now) {
  scratch_arena_.reset();
  sealer_.rows.clear();
  for (const event::Event& e : batch) {
    if (e.disposition != event::Disposition::DeadLetter) continue;
    json_.clear();
    appendDeadLetterPayload(json_, e, keyer_, scratch_, scratch_arena_, sealer_, now);
    const std::string_view source = e.source.empty() ? source_id : e.source;
    dead_letter_id_ = deadLetterId(pipeline, source, e.id, json_);
    upsert_dead_letter_->bind(1, dead_letter_id_);
    upsert_dead_letter_->bind(2, pipeline);
    upsert_dead_letter_->bind(3, source);
    upsert_dead_letter_->bind(4, e.id, true);
    upsert_dead_letter_->bind(5, e.reason.empty() ? std::string_view("unspecified") : e.reason);
    upsert_dead_letter_->bind(6, json_);
    upsert_dead_letter_->bind(7, now);
    upsert_dead_letter_->execute();
  }
  if (!sealer_.rows.empty()) {  // the sealed raw records the payloads name
    odbc::Statement insert(conn_,
                           "INSERT INTO vault (token, key_id, sealed, created_at, expires_at) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING");
    for (const VaultRow& r : sealer_.rows) {
      insert.bind(1, r.token);
      insert.bind(2, r.key_id);
      insert.bind(3, r.sealed);
      insert.bind(4, now);
      insert.bind(5, r.expires_at);
      insert.execute();
    }
  }
  sealer_.rows.clear();
}

void OdbcStore::writeCursor(std::string_view pipeline, std::string_view source_id, std::string_view cursor,
                            int64_t now) {
  if (cursor.empty()) return;  // a source without positions: keep the last committed one
  upsert_checkpoint_->bind(1, pipeline);
  upsert_checkpoint_->bind(2, source_id);
  upsert_checkpoint_->bind(3, cursor);
  upsert_checkpoint_->bind(4, now);
  upsert_checkpoint_->execute();
}

StoreCounts OdbcStore::counts() {
  std::lock_guard lock(mutex_);
  StoreCounts c;
  transact([&] {
    select_counts_->execute();
    if (select_counts_->fetch()) {
      c.profiles = static_cast<uint64_t>(integer(*select_counts_, 1));
      c.identities = static_cast<uint64_t>(integer(*select_counts_, 2));
      c.events = static_cast<uint64_t>(integer(*select_counts_, 3));
      c.dead_letters = static_cast<uint64_t>(integer(*select_counts_, 4));
    }
    select_counts_->close();
  });
  return c;
}

namespace {

constexpr const char* kDeadLetterSelect =
    "SELECT id, pipeline, source, event_id, reason, payload, created_at FROM dead_letters";

DeadLetter readDeadLetter(odbc::Statement& s) {
  return {s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), integer(s, 7)};
}

}  // namespace

std::vector<DeadLetter> OdbcStore::deadLetters(std::string_view pipeline, size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<DeadLetter> out;
  transact([&] {
    out.clear();
    std::string sql = kDeadLetterSelect;
    if (!pipeline.empty()) sql += " WHERE pipeline = ?";
    sql += " ORDER BY created_at, id";
    if (limit > 0) sql += " LIMIT " + std::to_string(std::min<size_t>(limit, INT64_MAX));
    odbc::Statement s(conn_, sql);
    if (!pipeline.empty()) s.bind(1, pipeline);
    s.execute();
    while (s.fetch()) out.push_back(readDeadLetter(s));
  });
  return out;
}

std::optional<DeadLetter> OdbcStore::deadLetter(std::string_view id) {
  std::lock_guard lock(mutex_);
  std::optional<DeadLetter> out;
  transact([&] {
    out.reset();
    odbc::Statement s(conn_, std::string(kDeadLetterSelect) + " WHERE id = ?");
    s.bind(1, id);
    s.execute();
    if (s.fetch()) out = readDeadLetter(s);
  });
  return out;
}

uint64_t OdbcStore::removeDeadLetters(const std::vector<std::string>& ids) {
  std::lock_guard lock(mutex_);
  uint64_t removed = 0;
  transact([&] {
    removed = 0;
    odbc::Statement s(conn_, "DELETE FROM dead_letters WHERE id = ?");
    for (const std::string& id : ids) {
      s.bind(1, id);
      const int64_t n = s.execute();
      removed += n > 0 ? static_cast<uint64_t>(n) : 0;
    }
  });
  return removed;
}

std::optional<std::string> OdbcStore::findProfile(std::string_view type, std::string_view value) {
  std::lock_guard lock(mutex_);
  std::string hash;
  if (!keyer_.pseudonymize(type, value, hash)) return std::nullopt;
  // During a key rotation an identity not seen since keeps its previous-key pseudonym.
  std::string previous;
  const bool rotating = keyer_.pseudonymizePrevious(type, value, previous);
  std::optional<std::string> found;
  transact([&] {
    identity::StoredIdentity id;
    found.reset();
    if (findIdentity(type, hash, id) || (rotating && findIdentity(type, previous, id))) {
      found = std::move(id.profile);
    }
  });
  return found;
}

std::optional<ProfileView> OdbcStore::profile(std::string_view profile_id, size_t timeline_limit) {
  std::lock_guard lock(mutex_);
  std::optional<ProfileView> out;
  transact([&] {
    out.reset();
    sqlite_keys::BoundKey id;
    encodeId(profile_id, id);
    ProfileView view;
    {
      odbc::Statement s(conn_, "SELECT created_at, updated_at, first_seen, last_seen, CAST(traits AS TEXT) "
                               "FROM profiles WHERE id = ?");
      bind(s, 1, id);
      s.execute();
      if (!s.fetch()) return;
      view.id = std::string(profile_id);
      view.created_at = integer(s, 1);
      view.updated_at = integer(s, 2);
      view.first_seen = integer(s, 3);
      view.last_seen = integer(s, 4);
      view.traits = s.text(5);
    }
    {
      odbc::Statement s(conn_, dialectSql("SELECT type, {HASH:hash}, source, first_seen, last_seen FROM identities "
                                          "WHERE profile_id = ? ORDER BY type, first_seen, hash",
                                          sqlite_));
      bind(s, 1, id);
      s.execute();
      while (s.fetch()) {
        ProfileView::Identity i;
        i.type = s.text(1);
        i.hash = s.text(2);
        i.source = s.text(3);
        i.first_seen = integer(s, 4);
        i.last_seen = integer(s, 5);
        view.identities.push_back(std::move(i));
      }
    }
    {
      // Every profile folded into this one, also through profiles merged into those.
      // (PostgreSQL: the seed takes the "C" collation of the profile_merges columns.)
      odbc::Statement s(conn_, std::string("WITH RECURSIVE folded(p) AS (SELECT CAST(? AS TEXT)") +
                                   (sqlite_ ? "" : " COLLATE \"C\"") +
                                   " UNION SELECT m.from_profile FROM profile_merges m JOIN folded f "
                                   "ON m.into_profile = f.p) "
                                   "SELECT from_profile, into_profile, reason, merged_at FROM profile_merges "
                                   "WHERE into_profile IN (SELECT p FROM folded) ORDER BY merged_at, id");
      s.bind(1, profile_id);
      s.execute();
      while (s.fetch()) {
        ProfileView::Merge m;
        m.from = s.text(1);
        m.into = s.text(2);
        m.reason = s.text(3);
        m.merged_at = integer(s, 4);
        view.merges.push_back(std::move(m));
      }
    }
    {
      odbc::Statement s(conn_, dialectSql("SELECT type, {HASH:hash}, reason, profile_id, other_profile, first_at, "
                                          "last_at, occurrences FROM identity_conflicts "
                                          "WHERE profile_id = ? OR other_profile = ? ORDER BY last_at, type, reason",
                                          sqlite_));
      s.bind(1, profile_id);
      s.bind(2, profile_id);
      s.execute();
      while (s.fetch()) {
        ProfileView::Conflict c;
        c.type = s.text(1);
        c.hash = s.text(2);
        c.reason = s.text(3);
        c.profile = s.text(4);
        c.other_profile = s.text(5);
        c.first_at = integer(s, 6);
        c.last_at = integer(s, 7);
        c.occurrences = static_cast<uint64_t>(integer(s, 8));
        view.conflicts.push_back(std::move(c));
      }
    }
    {
      odbc::Statement s(conn_, "SELECT count(*) FROM events WHERE profile_id = ?");
      bind(s, 1, id);
      s.execute();
      if (s.fetch()) view.events = static_cast<uint64_t>(integer(s, 1));
    }
    {
      // Latest first (unknown times last), then in ingestion order: rowid in SQLite; PostgreSQL
      // has no insertion order, so ingestion time and id break ties there.
      odbc::Statement s(conn_, dialectSql(std::string("SELECT {ID:id}, pipeline, source, channel, type, occurred_at, "
                                                      "ingested_at, CAST(attributes AS TEXT) FROM events "
                                                      "WHERE profile_id = ? ORDER BY occurred_at DESC NULLS LAST, ") +
                                              (sqlite_ ? "rowid DESC" : "ingested_at DESC, id DESC") + " LIMIT ?",
                                          sqlite_));
      bind(s, 1, id);
      s.bind(2, static_cast<int64_t>(std::min<size_t>(timeline_limit, INT64_MAX)));
      s.execute();
      while (s.fetch()) {
        ProfileView::Event e;
        e.id = s.text(1);
        e.pipeline = s.text(2);
        e.source = s.text(3);
        e.channel = s.text(4);
        e.type = s.text(5);
        e.occurred_at = integer(s, 6);
        e.ingested_at = integer(s, 7);
        e.attributes = s.text(8);
        view.timeline.push_back(std::move(e));
      }
      std::reverse(view.timeline.begin(), view.timeline.end());
    }
    out = std::move(view);
  });
  return out;
}

identity::ResolverStats OdbcStore::resolverStats() {
  std::lock_guard lock(mutex_);
  return resolver_.stats();
}

uint64_t OdbcStore::blockedIdentities() {
  std::lock_guard lock(mutex_);
  return keyer_.blocked();
}

event::Result OdbcStore::putVault(const std::vector<VaultRow>& rows) {
  if (rows.empty()) return event::Result::ok();
  std::lock_guard lock(mutex_);
  try {
    transact([&] {
      odbc::Statement insert(conn_,
                             "INSERT INTO vault (token, key_id, sealed, created_at, expires_at) "
                             "VALUES (?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING");
      const int64_t now = nowMicros();
      for (const VaultRow& r : rows) {
        insert.bind(1, r.token);
        insert.bind(2, r.key_id);
        insert.bind(3, r.sealed);
        insert.bind(4, now);
        if (r.expires_at > 0) {
          insert.bind(5, r.expires_at);
        } else {
          insert.bindNull(5);
        }
        insert.execute();
      }
    });
    return event::Result::ok();
  } catch (const StoreError& e) {
    return e.retryable() ? event::Result::retry(e.what()) : event::Result::error(e.what());
  }
}

std::optional<VaultRow> OdbcStore::getVault(std::string_view token) {
  std::lock_guard lock(mutex_);
  std::optional<VaultRow> found;
  transact([&] {
    found.reset();
    odbc::Statement select(conn_,
                           "SELECT token, key_id, sealed, expires_at FROM vault WHERE token = ? "
                           "AND (expires_at IS NULL OR expires_at > ?)");
    select.bind(1, token);
    select.bind(2, nowMicros());
    select.execute();
    if (select.fetch()) {
      VaultRow row;
      row.token = select.text(1);
      row.key_id = select.text(2);
      row.sealed = select.text(3);
      const std::string expires = select.text(4);
      row.expires_at = select.lastWasNull() || expires.empty() ? 0 : std::stoll(expires);
      found = std::move(row);
    }
    select.close();
  });
  return found;
}

uint64_t OdbcStore::purgeExpiredVault(int64_t now_us) {
  std::lock_guard lock(mutex_);
  uint64_t n = 0;
  transact([&] {
    odbc::Statement del(conn_, "DELETE FROM vault WHERE expires_at IS NOT NULL AND expires_at <= ?");
    del.bind(1, now_us);
    n = static_cast<uint64_t>(std::max<int64_t>(0, del.execute()));
  });
  return n;
}

void OdbcStore::appendAudit(const AuditRow& row) {
  std::lock_guard lock(mutex_);
  const std::string details = row.details.empty() ? std::string("{}") : row.details;
  transact([&] {
    odbc::Statement insert(conn_, std::string("INSERT INTO audit_log (at, actor, action, subject, "
                                              "details) VALUES (?, ?, ?, ?, ") +
                                      (sqlite_ ? "?)" : "CAST(? AS jsonb))"));
    insert.bind(1, row.at);
    insert.bind(2, row.actor);
    insert.bind(3, row.action);
    insert.bind(4, row.subject, true);
    insert.bind(5, details);
    insert.execute();
  });
}

void OdbcStore::setSameIdPolicy(std::string_view pipeline, int policy) {
  std::lock_guard lock(mutex_);
  same_id_.setPolicy(pipeline, static_cast<SameIdPolicy>(policy));
}

}  // namespace omniloop::store
