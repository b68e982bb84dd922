#include "store/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "event/hex.h"
#include "event/json.h"
#include "store/clock.h"
#include "store/migrations.h"
#include "store/sqlite_keys.h"
#include "store/subject_rights.h"

namespace omniloop::store {

namespace {

// Creates the parent directory and an empty database file readable by its owner only (the
// store holds pseudonymised personal data); SQLite gives its -wal/-shm files the same mode.
const std::string& preparePath(const std::string& path) {
  if (path == ":memory:" || path.empty()) return path;
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path() && !std::filesystem::exists(p.parent_path(), ec)) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) {
      throw StoreError("cannot create the directory of store " + path + ": " + ec.message());
    }
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    throw StoreError("cannot create store " + path + ": " + std::strerror(errno));
  }
  return path;
}

using sqlite_keys::kHashBytes;
using sqlite_keys::kIdBytes;

// SQL functions for migration 0002 (text keys -> BLOBs).
void sqlIdBlob(sqlite3_context* ctx, int, sqlite3_value** argv) {
  unsigned char bytes[kIdBytes];
  if (sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
    const std::string_view text(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])),
                                static_cast<size_t>(sqlite3_value_bytes(argv[0])));
    if (sqlite_keys::idBytes(text, bytes)) {
      sqlite3_result_blob(ctx, bytes, kIdBytes, SQLITE_TRANSIENT);
      return;
    }
  }
  sqlite3_result_value(ctx, argv[0]);
}

void sqlHashBlob(sqlite3_context* ctx, int, sqlite3_value** argv) {
  unsigned char bytes[kHashBytes];
  if (sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
    const std::string_view text(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])),
                                static_cast<size_t>(sqlite3_value_bytes(argv[0])));
    if (sqlite_keys::hashBytes(text, bytes)) {
      sqlite3_result_blob(ctx, bytes, kHashBytes, SQLITE_TRANSIENT);
      return;
    }
  }
  sqlite3_result_value(ctx, argv[0]);
}

constexpr const char* kFindIdentity =
    "SELECT profile_id, first_seen, last_seen FROM identities WHERE type = ?1 AND hash = ?2";
constexpr const char* kCountIdentities =
    "SELECT type, count(*) FROM identities WHERE profile_id = ?1 GROUP BY type";
constexpr const char* kLoadProfile =
    "SELECT first_seen, last_seen, traits, traits_meta FROM profiles WHERE id = ?1";
constexpr const char* kInsertProfile =
    "INSERT INTO profiles (id, created_at, updated_at, first_seen, last_seen) VALUES (?1, ?4, ?4, ?2, ?3) "
    "ON CONFLICT (id) DO NOTHING";
constexpr const char* kUpdateProfile =
    "UPDATE profiles SET first_seen = ?2, last_seen = ?3, traits = ?4, traits_meta = ?5, updated_at = ?6 "
    "WHERE id = ?1";
constexpr const char* kInsertIdentity =
    "INSERT INTO identities (type, hash, profile_id, source, first_seen, last_seen) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kTouchIdentity =
    "UPDATE identities SET first_seen = min(first_seen, ?3), last_seen = max(last_seen, ?4) "
    "WHERE type = ?1 AND hash = ?2";
constexpr const char* kRecordConflict =
    "INSERT INTO identity_conflicts (type, hash, reason, profile_id, other_profile, first_at, last_at, occurrences) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) "
    "ON CONFLICT (type, hash, reason) DO UPDATE SET profile_id = excluded.profile_id, "
    "other_profile = excluded.other_profile, last_at = excluded.last_at, "
    "occurrences = occurrences + excluded.occurrences";
constexpr const char* kMergeIdentities = "UPDATE identities SET profile_id = ?1 WHERE profile_id = ?2";
constexpr const char* kMergeEvents = "UPDATE events SET profile_id = ?1 WHERE profile_id = ?2";
constexpr const char* kMergeConsents = "UPDATE consents SET profile_id = ?1 WHERE profile_id = ?2";
constexpr const char* kMergeConflicts = "UPDATE identity_conflicts SET profile_id = ?1 WHERE profile_id = ?2";
constexpr const char* kMergeConflictsOther =
    "UPDATE identity_conflicts SET other_profile = ?1 WHERE other_profile = ?2";
constexpr const char* kDeleteProfile = "DELETE FROM profiles WHERE id = ?1";
constexpr const char* kInsertMerge =
    "INSERT INTO profile_merges (from_profile, into_profile, reason, merged_at) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kInsertEvent =
    "INSERT INTO events (id, pipeline, source, profile_id, channel, type, occurred_at, ingested_at, attributes, "
    "content_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING";
constexpr const char* kUpdateEvent =
    "UPDATE events SET pipeline = ?2, source = ?3, profile_id = ?4, channel = ?5, type = ?6, "
    "occurred_at = ?7, ingested_at = ?8, attributes = ?9, content_hash = ?10 WHERE id = ?1";
constexpr const char* kSelectEventContent = "SELECT content_hash, pipeline, source FROM events WHERE id = ?1";
constexpr const char* kInsertConsent =
    "INSERT INTO consents (profile_id, identity_type, identity_hash, purpose, status, source, captured_at, "
    "evidence, notice_version, pipeline, event_id, tc_string) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT DO NOTHING";
constexpr const char* kLoadConsents =
    "SELECT id, identity_hash, purpose, status, captured_at FROM consents "
    "WHERE id > ?1 AND identity_hash IS NOT NULL ORDER BY id";
constexpr const char* kUpsertDeadLetter =
    "INSERT INTO dead_letters (id, pipeline, source, event_id, reason, payload, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, payload = excluded.payload";
constexpr const char* kUpsertCheckpoint =
    "INSERT INTO checkpoints (pipeline, source, cursor, updated_at) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (pipeline, source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";
constexpr const char* kSelectCheckpoint = "SELECT cursor FROM checkpoints WHERE pipeline = ?1 AND source = ?2";
constexpr const char* kSelectCounts =
    "SELECT (SELECT count(*) FROM profiles), (SELECT count(*) FROM identities), "
    "(SELECT count(*) FROM events), (SELECT count(*) FROM dead_letters)";

}  // namespace

void SqliteStore::bind(sqlite::Statement& s, int index, const sqlite_keys::BoundKey& b) {
  if (b.blob) {
    s.bindBlob(index, b.bytes, b.size);
  } else {
    s.bind(index, b.text);
  }
}

std::string SqliteStore::decodeId(const sqlite::Statement& s, int column) {
  return s.isBlob(column) ? sqlite_keys::idText(s.bytes(column)) : std::string(s.text(column));
}

std::string SqliteStore::decodeHash(const sqlite::Statement& s, int column) {
  return s.isBlob(column) ? sqlite_keys::hashText(s.bytes(column)) : std::string(s.text(column));
}

SqliteStore::SqliteStore(const std::string& path, const StoreOptions& options)
    : db_(preparePath(path), true),
      blocklist_(options.identity, options.hasher, options.normalize),
      keyer_(options.hasher, options.normalize, &blocklist_),
      sealer_(options.vault, options.raw_retention_us),
      same_id_(options.hasher),
      resolver_(options.identity, options.cacheProfiles(true)),
      suppressions_(options.suppression_key),
      group_max_events_(std::max<size_t>(options.group_commit_events, 1)),
      group_max_age_(std::max(options.group_commit_ms, 0)) {
  keyer_.setPrevious(options.previous_hasher);
  sqlite3_busy_timeout(db_.get(), options.busy_timeout_ms);
  const auto migrations = embeddedMigrations("sqlite");
  // Refuse a newer schema before writing anything, not even the journal mode.
  const int found = readSchemaVersion();
  if (found > latestVersion(migrations)) {
    throw StoreError("store schema version " + std::to_string(found) +
                     " is newer than this omniloop supports (" +
                     std::to_string(latestVersion(migrations)) + "): upgrade omniloop (store " + path + ")");
  }
  // Identity, profile and event keys are hashes, so every batch writes pages all over their
  // B-trees. A 128 MiB page cache (at 1,000,000 events from 100,000 customers the randomly
  // written B-trees take ~126 MiB; with 64 MiB each miss is a pread) and a WAL checkpointed
  // every ~64 MiB rather than every 4 MiB cut that cost (see bench/README.md for the figures).
  if (found == 0) {
    sqlite::Statement any(db_, "SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 1");
    if (any.step()) {
      throw StoreError("store " + path + " is a SQLite database of something else (it has tables but no " +
                       "omniloop schema_version): point the store at a new file");
    }
    db_.exec("PRAGMA page_size = 16384");
  }
  if (path != ":memory:") {
    db_.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 4096; "
             "PRAGMA journal_size_limit = 67108864");
  }
  // secure_delete FAST: content a delete or update leaves behind in a page is zeroed (no extra
  // I/O), so an erased subject's bytes do not linger in pages a merge or an update touched
  // before; the erasure itself runs with secure_delete ON (freelist pages too).
  db_.exec("PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA secure_delete = FAST");
  db_.exec(("PRAGMA cache_size = -" +
            std::to_string(int64_t{std::max(options.sqlite_cache_mib, 1)} * 1024))
               .c_str());
  for (auto [name, fn] : {std::pair{"omniloop_id_blob", &sqlIdBlob}, std::pair{"omniloop_hash_blob", &sqlHashBlob}}) {
    const int rc = sqlite3_create_function_v2(db_.get(), name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                              fn, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) db_.fail(rc, "cannot register a store SQL function");
  }
  // Migrations rebuild tables, which needs foreign keys off (a no-op inside a transaction).
  db_.exec("PRAGMA foreign_keys = OFF");
  applyMigrations();
  db_.exec("PRAGMA foreign_keys = ON");
  prepare();
  loadSuppressions();
  loadConsents();
  // Other processes' ledger records (another omniloop run on the same file): loaded on the
  // consent stage's next batch once the interval has passed. The open group is committed
  // first, so the rows read are committed ones (a rolled-back id could be reused).
  consent_ledger_.setRefresher(
      [this](privacy::ConsentLedger&) {
        std::lock_guard lock(mutex_);
        commitGroup();
        loadConsents();
      },
      std::chrono::milliseconds(options.consent_refresh_ms));
}

SqliteStore::~SqliteStore() {
  // Every batch in an open group was written completely (cursor included): keep them.
  try {
    commitGroup();
  } catch (...) {
  }
}

int SqliteStore::readSchemaVersion() {
  sqlite::Statement exists(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!exists.step()) return 0;
  sqlite::Statement max(db_, "SELECT coalesce(max(version), 0) FROM schema_version");
  return max.step() ? static_cast<int>(max.integer(0)) : 0;
}

void SqliteStore::applyMigrations() {
  const auto migrations = embeddedMigrations("sqlite");
  if (readSchemaVersion() >= latestVersion(migrations)) return;
  db_.exec("BEGIN IMMEDIATE");
  try {
    const int current = readSchemaVersion();  // another process may have migrated meanwhile
    for (const Migration& m : migrations) {
      if (m.version <= current) continue;
      try {
        db_.exec(std::string(m.sql).c_str());
      } catch (const StoreError& e) {
        throw StoreError("cannot apply store migration " + std::to_string(m.version) + " (" +
                         std::string(m.name) + "): " + e.what());
      }
      sqlite::Statement record(db_, "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)");
      record.bind(1, static_cast<int64_t>(m.version));
      record.bind(2, m.name);
      record.bind(3, nowMicros());
      record.run();
    }
    sqlite::Statement check(db_, "PRAGMA foreign_key_check");
    if (check.step()) {
      throw StoreError("store migration left a dangling reference in table " + std::string(check.text(0)) +
                       " (store " + db_.path() + "): nothing was changed; report this as a bug");
    }
    check.reset();
    db_.exec("COMMIT");
  } catch (...) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

void SqliteStore::prepare() {
  begin_ = sqlite::Statement(db_, "BEGIN IMMEDIATE");
  commit_ = sqlite::Statement(db_, "COMMIT");
  rollback_ = sqlite::Statement(db_, "ROLLBACK");
  data_version_stmt_ = sqlite::Statement(db_, "PRAGMA data_version");
  find_identity_ = sqlite::Statement(db_, kFindIdentity);
  count_identities_ = sqlite::Statement(db_, kCountIdentities);
  load_profile_ = sqlite::Statement(db_, kLoadProfile);
  insert_profile_ = sqlite::Statement(db_, kInsertProfile);
  update_profile_ = sqlite::Statement(db_, kUpdateProfile);
  insert_identity_ = sqlite::Statement(db_, kInsertIdentity);
  touch_identity_ = sqlite::Statement(db_, kTouchIdentity);
  record_conflict_ = sqlite::Statement(db_, kRecordConflict);
  merge_identities_ = sqlite::Statement(db_, kMergeIdentities);
  merge_events_ = sqlite::Statement(db_, kMergeEvents);
  merge_consents_ = sqlite::Statement(db_, kMergeConsents);
  merge_conflicts_ = sqlite::Statement(db_, kMergeConflicts);
  merge_conflicts_other_ = sqlite::Statement(db_, kMergeConflictsOther);
  delete_profile_ = sqlite::Statement(db_, kDeleteProfile);
  insert_merge_ = sqlite::Statement(db_, kInsertMerge);
  insert_event_ = sqlite::Statement(db_, kInsertEvent);
  update_event_ = sqlite::Statement(db_, kUpdateEvent);
  select_event_content_ = sqlite::Statement(db_, kSelectEventContent);
  upsert_dead_letter_ = sqlite::Statement(db_, kUpsertDeadLetter);
  insert_consent_ = sqlite::Statement(db_, kInsertConsent);
  load_consents_ = sqlite::Statement(db_, kLoadConsents);
  upsert_checkpoint_ = sqlite::Statement(db_, kUpsertCheckpoint);
  select_checkpoint_ = sqlite::Statement(db_, kSelectCheckpoint);
  select_counts_ = sqlite::Statement(db_, kSelectCounts);
  rename_rotated_ = sqlite::Statement(
      db_,
      "UPDATE identities SET hash = ?1 WHERE type = ?2 AND hash = ?3 AND NOT EXISTS "
      "(SELECT 1 FROM identities WHERE type = ?2 AND hash = ?1)");
  insert_vault_ = sqlite::Statement(db_,
                                    "INSERT INTO vault (token, key_id, sealed, created_at, expires_at) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (token) DO NOTHING");
}

int SqliteStore::schemaVersion() {
  std::lock_guard lock(mutex_);
  return readSchemaVersion();
}

bool SqliteStore::othersWrote() {
  sqlite::ResetOnExit reset(data_version_stmt_);
  const int64_t v = data_version_stmt_.step() ? data_version_stmt_.integer(0) : -2;
  const bool changed = v != data_version_;
  data_version_ = v;
  return changed;
}

void SqliteStore::openGroup() {
  if (group_open_) return;
  begin_.run();  // BEGIN IMMEDIATE: busy -> a retryable StoreError, nothing open
  group_open_ = true;
  group_events_ = 0;
  group_started_ = std::chrono::steady_clock::now();
}

template <typename Fn>
void SqliteStore::inGroup(const std::string& key, Fn&& fn) {
  openGroup();
  // No savepoint per batch: one makes SQLite copy every page the batch touches into a
  // sub-journal (about a third of the run at 1,000,000 events), and the Resolver's changes of
  // the group are only written at its commit, so a batch could not be taken back alone anyway.
  const bool alone = group_members_.empty();
  try {
    fn();
  } catch (const std::exception& e) {
    if (alone) {
      // Nothing else was in the transaction: only this batch is undone, and the executor
      // dead-letters or retries it as usual.
      abandonGroup(e.what());
      throw;
    }
    // Other batches shared the transaction and go with it. If this pipeline had batches among
    // them it must restart; it then writes that many batches and this one a transaction
    // each, so a batch that fails again fails alone (and is dead-lettered) instead of taking
    // its neighbours down again.
    const auto own = group_members_.find(key);
    if (own != group_members_.end()) isolated_[key] = own->second + 1;
    abandonGroupAndThrow(e,
                         " (batches committed with it in one transaction were rolled back too; "
                         "their pipelines resume from their last committed cursor)");
  }
  ++group_members_[key];
}

void SqliteStore::commitGroup() {
  if (!group_open_) return;
  try {
    resolver_.flush(*this);  // the group's profile and identity changes, each row once
    commit_.run();
  } catch (const StoreError& e) {
    abandonGroup(std::string("its COMMIT failed: ") + e.what());
    throw StoreError(std::string("cannot commit the store transaction: ") + e.what());
  }
  applyAll(consent_ledger_, ledger_pending_);  // every pipeline sees a withdrawal from now on
  group_open_ = false;
  group_members_.clear();
  group_events_ = 0;
  resolver_.committed();
}

void SqliteStore::abandonGroup(std::string_view reason) {
  try {
    rollback_.run();
  } catch (...) {
  }
  group_open_ = false;
  ledger_pending_.clear();
  for (const auto& [member, batches] : group_members_) {
    lost_.lose(member, "their group commit was rolled back: " + std::string(reason));
  }
  group_members_.clear();
  group_events_ = 0;
  resolver_.rolledBack();
}

void SqliteStore::abandonGroupAndThrow(const std::exception& e, std::string_view consequence) {
  abandonGroup(e.what());
  const auto* store_error = dynamic_cast<const StoreError*>(&e);
  throw StoreError(std::string(e.what()) + std::string(consequence),
                   store_error != nullptr && store_error->retryable());
}

bool SqliteStore::mustResume(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  return lost_.lost(pipeline, source_id);
}

std::string SqliteStore::loadCursor(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  // A pipeline (re)starting from its committed cursor reads again whatever a failed group lost.
  lost_.resumed(pipeline, source_id);
  sqlite::ResetOnExit reset(select_checkpoint_);
  select_checkpoint_.bind(1, pipeline);
  select_checkpoint_.bind(2, source_id);
  if (!select_checkpoint_.step()) return {};
  return std::string(select_checkpoint_.text(0));
}

void SqliteStore::commit(std::string_view pipeline, std::string_view source_id,
                         const event::Batch& batch) {
  std::lock_guard lock(mutex_);
  const std::string key = LostPipelines::key(pipeline, source_id);
  lost_.refuseIfLost(key);
  const int64_t now = nowMicros();
  inGroup(key, [&] {
    writeDeadLetters(pipeline, source_id, batch, now);
    writeCursor(pipeline, source_id, batch.cursor, now);
  });
  commitGroup();
}

event::Result SqliteStore::flush(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  try {
    lost_.refuseIfLost(LostPipelines::key(pipeline, source_id));
    commitGroup();
    return event::Result::ok();
  } catch (const std::exception& e) {
    return event::Result::error(e.what());
  }
}

event::Result SqliteStore::writeBatch(std::string_view pipeline, std::string_view source_id,
                                      event::Batch& batch) {
  std::lock_guard lock(mutex_);
  try {
    const std::string key = LostPipelines::key(pipeline, source_id);
    lost_.refuseIfLost(key);
    // A batch of a pipeline restarting after its group failed gets a transaction to itself.
    bool alone = false;
    if (const auto isolated = isolated_.find(key); isolated != isolated_.end()) {
      alone = true;  // counted whether it succeeds or fails: a failing one is then dead-lettered
      if (--isolated->second == 0) isolated_.erase(isolated);
    }
    if (alone) {
      commitGroup();
    } else if (group_open_ && resolver_.oversized()) {
      // The Resolver's caches outgrew their bound: its pending changes go into the open
      // transaction now, so the next beginBatch can drop the caches (what they held is then
      // read back from the transaction) while the group goes on. Committing here instead
      // would cut the group short and write every page its random keys touched once more.
      try {
        resolver_.flush(*this);
      } catch (const std::exception& e) {
        abandonGroupAndThrow(e,
                             " (the open group commit was rolled back; its pipelines resume "
                             "from their last committed cursor)");
      }
    }
    const int64_t now = nowMicros();
    size_t stored = 0;
    inGroup(key, [&] {
      // Inside the write transaction: an erasure that committed before it is seen here.
      const bool others = othersWrote();
      if (others) loadSuppressions();
      renameRotated(batch);
      resolver_.beginBatch(now, !others && !std::exchange(caches_stale_, false));
      auto lookup = [&](std::string_view id, StoredContent& out) { return storedContent(id, out); };
      stored = resolveAndWrite(keyer_, resolver_, *this, same_id_, lookup, fingerprint_, pipeline, batch, source_id, now, keys_, &suppressions_,
                               [&](event::Event& e, std::string_view source, const identity::Resolution& r) {
                                 return writeEvent(pipeline, source, e, r, now);
                               });
      writeDeadLetters(pipeline, source_id, batch, now);
      writeCursor(pipeline, source_id, batch.cursor, now);
    });
    group_events_ += stored;
    if (alone || !batch.more_pending || group_events_ >= group_max_events_ ||
        std::chrono::steady_clock::now() - group_started_ >= group_max_age_) {
      commitGroup();
    }
    return event::Result::ok();
  } catch (const StoreError& e) {
    return e.retryable() ? event::Result::retry(e.what()) : event::Result::error(e.what());
  } catch (const std::exception& e) {
    return event::Result::error(std::string("store: ") + e.what());
  }
}

bool SqliteStore::writeEvent(std::string_view pipeline, std::string_view source, event::Event& e,
                             const identity::Resolution& r, int64_t now) {
  json_.clear();
  event::appendAttributesJson(json_, e);
  sqlite_keys::encodeId(e.id, id_a_);
  if (!r.profile.empty()) sqlite_keys::encodeId(r.profile, id_b_);
  auto bindAll = [&](sqlite::Statement& s) {
    bind(s, 1, id_a_);
    s.bind(2, pipeline);
    s.bind(3, source);
    if (r.profile.empty()) {
      s.bindNull(4);
    } else {
      bind(s, 4, id_b_);
    }
    s.bind(5, e.channel, true);
    s.bind(6, e.type, true);
    if (e.occurred_at_us != 0) {
      s.bind(7, e.occurred_at_us);
    } else {
      s.bindNull(7);
    }
    s.bind(8, now);
    s.bind(9, json_);
    s.bind(10, fingerprint_);
  };
  {
    sqlite::ResetOnExit reset(insert_event_);
    bindAll(insert_event_);
    insert_event_.step();
  }
  const bool inserted = db_.changes() == 1;
  writeConsents(pipeline, source, e, r, now);
  if (inserted) return true;
  // A replay: the row exists; bring it up to date (it is not counted again in traits).
  sqlite::ResetOnExit reset(update_event_);
  bindAll(update_event_);
  update_event_.step();
  return false;
}

bool SqliteStore::storedContent(std::string_view event_id, StoredContent& out) {
  sqlite_keys::encodeId(event_id, id_a_);
  sqlite::ResetOnExit reset(select_event_content_);
  bind(select_event_content_, 1, id_a_);
  if (!select_event_content_.step()) return false;
  out.content_hash.assign(select_event_content_.text(0));
  out.pipeline.assign(select_event_content_.text(1));
  out.source.assign(select_event_content_.text(2));
  return true;
}

void SqliteStore::writeConsents(std::string_view pipeline, std::string_view source, const event::Event& e,
                                const identity::Resolution& r, int64_t now) {
  if (e.consents.empty()) return;
  consent_records_.clear();
  appendConsentRecords(e, keys_, now, consent_records_);
  for (const ConsentRecord& c : consent_records_) {
    {
      sqlite::ResetOnExit reset(insert_consent_);
      if (r.profile.empty()) {
        insert_consent_.bindNull(1);
      } else {
        bind(insert_consent_, 1, id_b_);
      }
      insert_consent_.bind(2, c.identity_type);
      insert_consent_.bind(3, c.identity_hash);
      insert_consent_.bind(4, c.purpose);
      insert_consent_.bind(5, event::toString(c.status));
      insert_consent_.bind(6, source);
      insert_consent_.bind(7, c.captured_at);
      insert_consent_.bind(8, c.evidence);
      insert_consent_.bind(9, c.notice_version, true);
      insert_consent_.bind(10, pipeline);
      insert_consent_.bind(11, e.id);
      insert_consent_.bind(12, c.tc_string, true);
      insert_consent_.step();
    }
    if (db_.changes() == 1) {
      ledger_pending_.push_back(
          LedgerUpdate{std::string(c.identity_hash), std::string(c.purpose), c.status, c.captured_at});
    }
  }
}

void SqliteStore::loadConsents() {
  sqlite::ResetOnExit reset(load_consents_);
  load_consents_.bind(1, ledger_loaded_id_);
  while (load_consents_.step()) {
    ledger_loaded_id_ = load_consents_.integer(0);
    consent_ledger_.apply(load_consents_.text(1), load_consents_.text(2),
                          event::parseConsentStatus(load_consents_.text(3)), load_consents_.integer(4));
  }
}

// --- identity::Graph ---

bool SqliteStore::findIdentity(std::string_view type, std::string_view hash, identity::StoredIdentity& out) {
  sqlite_keys::encodeHash(hash, hash_a_);
  sqlite::ResetOnExit reset(find_identity_);
  find_identity_.bind(1, type);
  bind(find_identity_, 2, hash_a_);
  if (!find_identity_.step()) return false;
  out.profile = decodeId(find_identity_, 0);
  out.first_seen = find_identity_.integer(1);
  out.last_seen = find_identity_.integer(2);
  return true;
}

void SqliteStore::countIdentities(std::string_view profile, std::vector<identity::TypeCount>& out) {
  sqlite_keys::encodeId(profile, id_a_);
  sqlite::ResetOnExit reset(count_identities_);
  bind(count_identities_, 1, id_a_);
  while (count_identities_.step()) {
    out.push_back({std::string(count_identities_.text(0)), static_cast<uint32_t>(count_identities_.integer(1))});
  }
}

bool SqliteStore::loadProfile(std::string_view profile, identity::StoredProfile& out) {
  sqlite_keys::encodeId(profile, id_a_);
  sqlite::ResetOnExit reset(load_profile_);
  bind(load_profile_, 1, id_a_);
  if (!load_profile_.step()) return false;
  out.first_seen = load_profile_.integer(0);
  out.last_seen = load_profile_.integer(1);
  out.traits.assign(load_profile_.text(2));
  out.traits_meta.assign(load_profile_.text(3));
  return true;
}

bool SqliteStore::insertProfile(std::string_view profile, int64_t first_seen, int64_t last_seen, int64_t now) {
  sqlite_keys::encodeId(profile, id_a_);
  {
    sqlite::ResetOnExit reset(insert_profile_);
    bind(insert_profile_, 1, id_a_);
    insert_profile_.bind(2, first_seen);
    insert_profile_.bind(3, last_seen);
    insert_profile_.bind(4, now);
    insert_profile_.step();
  }
  return db_.changes() == 1;
}

void SqliteStore::updateProfile(std::string_view profile, int64_t first_seen, int64_t last_seen,
                                std::string_view traits, std::string_view traits_meta, int64_t now) {
  sqlite_keys::encodeId(profile, id_a_);
  sqlite::ResetOnExit reset(update_profile_);
  bind(update_profile_, 1, id_a_);
  update_profile_.bind(2, first_seen);
  update_profile_.bind(3, last_seen);
  update_profile_.bind(4, traits);
  update_profile_.bind(5, traits_meta);
  update_profile_.bind(6, now);
  update_profile_.step();
}

void SqliteStore::insertIdentity(std::string_view type, std::string_view hash, std::string_view profile,
                                 std::string_view source, int64_t first_seen, int64_t last_seen) {
  sqlite_keys::encodeHash(hash, hash_a_);
  sqlite_keys::encodeId(profile, id_a_);
  sqlite::ResetOnExit reset(insert_identity_);
  insert_identity_.bind(1, type);
  bind(insert_identity_, 2, hash_a_);
  bind(insert_identity_, 3, id_a_);
  insert_identity_.bind(4, source);
  insert_identity_.bind(5, first_seen);
  insert_identity_.bind(6, last_seen);
  insert_identity_.step();
}

void SqliteStore::touchIdentity(std::string_view type, std::string_view hash, int64_t first_seen,
                                int64_t last_seen) {
  sqlite_keys::encodeHash(hash, hash_a_);
  sqlite::ResetOnExit reset(touch_identity_);
  touch_identity_.bind(1, type);
  bind(touch_identity_, 2, hash_a_);
  touch_identity_.bind(3, first_seen);
  touch_identity_.bind(4, last_seen);
  touch_identity_.step();
}

void SqliteStore::mergeProfiles(std::string_view winner, std::string_view loser, std::string_view reason,
                                int64_t now) {
  sqlite_keys::encodeId(winner, id_a_);
  sqlite_keys::encodeId(loser, id_b_);
  for (sqlite::Statement* s : {&merge_identities_, &merge_events_, &merge_consents_}) {
    sqlite::ResetOnExit reset(*s);
    bind(*s, 1, id_a_);
    bind(*s, 2, id_b_);
    s->step();
  }
  for (sqlite::Statement* s : {&merge_conflicts_, &merge_conflicts_other_}) {
    sqlite::ResetOnExit reset(*s);
    s->bind(1, winner);
    s->bind(2, loser);
    s->step();
  }
  {
    sqlite::ResetOnExit reset(delete_profile_);
    bind(delete_profile_, 1, id_b_);
    delete_profile_.step();
  }
  sqlite::ResetOnExit reset(insert_merge_);
  insert_merge_.bind(1, loser);
  insert_merge_.bind(2, winner);
  insert_merge_.bind(3, reason);
  insert_merge_.bind(4, now);
  insert_merge_.step();
}

void SqliteStore::recordConflict(const identity::Conflict& c, uint32_t occurrences) {
  sqlite_keys::encodeHash(c.hash, hash_a_);
  sqlite::ResetOnExit reset(record_conflict_);
  record_conflict_.bind(1, c.type);
  bind(record_conflict_, 2, hash_a_);
  record_conflict_.bind(3, c.reason);
  record_conflict_.bind(4, c.profile);
  record_conflict_.bind(5, c.other_profile);
  record_conflict_.bind(6, c.at);
  record_conflict_.bind(7, static_cast<int64_t>(occurrences));
  record_conflict_.step();
}

void SqliteStore::renameRotated(event::Batch& batch) {
  if (!keyer_.rotating()) return;
  rotation_pairs_.clear();
  for (const event::Event& e : batch) {
    if (e.live()) keyer_.rotationPairs(e, scratch_arena_, rotation_pairs_);
  }
  for (const IdentityKeyer::RotationPair& p : rotation_pairs_) {
    sqlite_keys::encodeHash(p.current, hash_a_);
    sqlite_keys::encodeHash(p.previous, hash_b_);
    sqlite::ResetOnExit reset(rename_rotated_);
    bind(rename_rotated_, 1, hash_a_);
    rename_rotated_.bind(2, p.type);
    bind(rename_rotated_, 3, hash_b_);
    rename_rotated_.step();
  }
  rotation_pairs_.clear();
  scratch_arena_.reset();
}

// --- dead letters, cursor, reads ---

void SqliteStore::writeDeadLetters(std::string_view pipeline, std::string_view source_id,
                                   const event::Batch& batch, int64_t now) {
  scratch_arena_.reset();
  sealer_.rows.clear();
  for (const event::Event& e : batch) {
    if (e.disposition != event::Disposition::DeadLetter) continue;
    if (!suppressions_.anyIn(e, keyer_, suppression_scratch_).empty()) continue;  // an erased subject's
    json_.clear();
    appendDeadLetterPayload(json_, e, keyer_, scratch_, scratch_arena_, sealer_, now);
    const std::string_view source = e.source.empty() ? source_id : e.source;
    dead_letter_id_ = deadLetterId(pipeline, source, e.id, json_);
    sqlite::ResetOnExit reset(upsert_dead_letter_);
    upsert_dead_letter_.bind(1, dead_letter_id_);
    upsert_dead_letter_.bind(2, pipeline);
    upsert_dead_letter_.bind(3, source);
    upsert_dead_letter_.bind(4, e.id, true);
    upsert_dead_letter_.bind(5, e.reason.empty() ? std::string_view("unspecified") : e.reason);
    upsert_dead_letter_.bind(6, json_);
    upsert_dead_letter_.bind(7, now);
    upsert_dead_letter_.step();
  }
  for (const VaultRow& r : sealer_.rows) {  // the sealed raw records the payloads name
    sqlite::ResetOnExit reset(insert_vault_);
    insert_vault_.bind(1, r.token);
    insert_vault_.bind(2, r.key_id);
    insert_vault_.bind(3, r.sealed);
    insert_vault_.bind(4, now);
    insert_vault_.bind(5, r.expires_at);
    insert_vault_.step();
  }
  sealer_.rows.clear();
}

void SqliteStore::writeCursor(std::string_view pipeline, std::string_view source_id,
                              std::string_view cursor, int64_t now) {
  if (cursor.empty()) return;  // a source without positions: keep the last committed one
  sqlite::ResetOnExit reset(upsert_checkpoint_);
  upsert_checkpoint_.bind(1, pipeline);
  upsert_checkpoint_.bind(2, source_id);
  upsert_checkpoint_.bind(3, cursor);
  upsert_checkpoint_.bind(4, now);
  upsert_checkpoint_.step();
}

StoreCounts SqliteStore::counts() {
  std::lock_guard lock(mutex_);
  sqlite::ResetOnExit reset(select_counts_);
  StoreCounts c;
  if (select_counts_.step()) {
    c.profiles = static_cast<uint64_t>(select_counts_.integer(0));
    c.identities = static_cast<uint64_t>(select_counts_.integer(1));
    c.events = static_cast<uint64_t>(select_counts_.integer(2));
    c.dead_letters = static_cast<uint64_t>(select_counts_.integer(3));
  }
  return c;
}

namespace {

constexpr const char* kDeadLetterColumns =
    "id, pipeline, source, event_id, reason, payload, created_at";

DeadLetter readDeadLetter(sqlite::Statement& s) {
  return {std::string(s.text(0)),
          std::string(s.text(1)),
          std::string(s.text(2)),
          std::string(s.text(3)),
          std::string(s.text(4)),
          std::string(s.text(5)),
          s.integer(6)};
}

}  // namespace

std::vector<DeadLetter> SqliteStore::deadLetters(std::string_view pipeline, size_t limit) {
  std::lock_guard lock(mutex_);
  sqlite::Statement s(db_, std::string("SELECT ") + kDeadLetterColumns +
                               " FROM dead_letters WHERE (?1 = '' OR pipeline = ?1) "
                               "ORDER BY created_at, id LIMIT ?2");
  s.bind(1, pipeline);
  s.bind(2, limit == 0 ? int64_t{-1} : static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<DeadLetter> out;
  while (s.step()) out.push_back(readDeadLetter(s));
  return out;
}

std::optional<DeadLetter> SqliteStore::deadLetter(std::string_view id) {
  std::lock_guard lock(mutex_);
  sqlite::Statement s(
      db_, std::string("SELECT ") + kDeadLetterColumns + " FROM dead_letters WHERE id = ?1");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return readDeadLetter(s);
}

uint64_t SqliteStore::removeDeadLetters(const std::vector<std::string>& ids) {
  std::lock_guard lock(mutex_);
  commitGroup();  // batches still deferred go first, in their own transaction
  uint64_t removed = 0;
  db_.exec("BEGIN IMMEDIATE");
  try {
    sqlite::Statement s(db_, "DELETE FROM dead_letters WHERE id = ?1");
    for (const std::string& id : ids) {
      sqlite::ResetOnExit reset(s);
      s.bind(1, id);
      s.step();
      removed += static_cast<uint64_t>(db_.changes());
    }
    db_.exec("COMMIT");
  } catch (...) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
  return removed;
}

std::optional<std::string> SqliteStore::findProfile(std::string_view type, std::string_view value) {
  std::lock_guard lock(mutex_);
  std::string hash;
  if (!keyer_.pseudonymize(type, value, hash)) return std::nullopt;
  sqlite_keys::encodeHash(hash, hash_a_);
  {
    sqlite::ResetOnExit reset(find_identity_);
    find_identity_.bind(1, type);
    bind(find_identity_, 2, hash_a_);
    if (find_identity_.step()) return decodeId(find_identity_, 0);
  }
  // During a key rotation the identity may not have been seen since: its old pseudonym.
  if (!keyer_.pseudonymizePrevious(type, value, hash)) return std::nullopt;
  sqlite_keys::encodeHash(hash, hash_a_);
  sqlite::ResetOnExit reset(find_identity_);
  find_identity_.bind(1, type);
  bind(find_identity_, 2, hash_a_);
  if (!find_identity_.step()) return std::nullopt;
  return decodeId(find_identity_, 0);
}

std::optional<ProfileView> SqliteStore::profile(std::string_view profile_id, size_t timeline_limit) {
  std::lock_guard lock(mutex_);
  sqlite_keys::BoundKey id;
  sqlite_keys::encodeId(profile_id, id);
  ProfileView view;
  {
    sqlite::Statement s(db_, "SELECT created_at, updated_at, first_seen, last_seen, traits FROM profiles WHERE id = ?1");
    bind(s, 1, id);
    if (!s.step()) return std::nullopt;
    view.id = std::string(profile_id);
    view.created_at = s.integer(0);
    view.updated_at = s.integer(1);
    view.first_seen = s.integer(2);
    view.last_seen = s.integer(3);
    view.traits = std::string(s.text(4));
  }
  {
    sqlite::Statement s(db_, "SELECT type, hash, source, first_seen, last_seen FROM identities WHERE profile_id = ?1 "
                             "ORDER BY type, first_seen, hash");
    bind(s, 1, id);
    while (s.step()) {
      view.identities.push_back(
          {std::string(s.text(0)), decodeHash(s, 1), std::string(s.text(2)), s.integer(3), s.integer(4)});
    }
  }
  {
    // Every profile folded into this one, also through profiles merged into those.
    sqlite::Statement s(db_,
                        "WITH RECURSIVE folded(p) AS (SELECT ?1 UNION SELECT m.from_profile FROM profile_merges m "
                        "JOIN folded f ON m.into_profile = f.p) "
                        "SELECT from_profile, into_profile, reason, merged_at FROM profile_merges "
                        "WHERE into_profile IN (SELECT p FROM folded) ORDER BY merged_at, id");
    s.bind(1, profile_id);
    while (s.step()) {
      view.merges.push_back({std::string(s.text(0)), std::string(s.text(1)), std::string(s.text(2)), s.integer(3)});
    }
  }
  {
    sqlite::Statement s(db_, "SELECT type, hash, reason, profile_id, other_profile, first_at, last_at, occurrences "
                             "FROM identity_conflicts WHERE profile_id = ?1 OR other_profile = ?1 "
                             "ORDER BY last_at, type, reason");
    s.bind(1, profile_id);
    while (s.step()) {
      view.conflicts.push_back({std::string(s.text(0)), decodeHash(s, 1), std::string(s.text(2)),
                                std::string(s.text(3)), std::string(s.text(4)), s.integer(5), s.integer(6),
                                static_cast<uint64_t>(s.integer(7))});
    }
  }
  {
    sqlite::Statement s(db_, "SELECT count(*) FROM events WHERE profile_id = ?1");
    bind(s, 1, id);
    if (s.step()) view.events = static_cast<uint64_t>(s.integer(0));
  }
  {
    sqlite::Statement s(db_,
                        "SELECT id, pipeline, source, channel, type, occurred_at, ingested_at, attributes "
                        "FROM events WHERE profile_id = ?1 ORDER BY occurred_at DESC, rowid DESC LIMIT ?2");
    bind(s, 1, id);
    s.bind(2, static_cast<int64_t>(std::min<size_t>(timeline_limit, INT64_MAX)));
    while (s.step()) {
      view.timeline.push_back({decodeId(s, 0), std::string(s.text(1)), std::string(s.text(2)),
                               std::string(s.text(3)), std::string(s.text(4)), std::string(s.text(7)),
                               s.isNull(5) ? 0 : s.integer(5), s.integer(6)});
    }
    std::reverse(view.timeline.begin(), view.timeline.end());
  }
  return view;
}

// --- the data subject's rights ---

namespace {

class SqliteSession final : public SqlSession {
 public:
  explicit SqliteSession(sqlite::Db& db) : db_(db) {}

  uint64_t exec(const std::string& sql) override {
    sqlite::Statement s(db_, sql);
    while (s.step()) {
    }
    return static_cast<uint64_t>(db_.changes());
  }
  std::vector<Row> query(const std::string& sql, int columns) override {
    sqlite::Statement s(db_, sql);
    std::vector<Row> rows;
    while (s.step()) {
      Row row;
      for (int c = 0; c < columns; ++c) {
        if (s.isNull(c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(s.text(c)));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  std::string idLiteral(std::string_view id) const override {
    unsigned char bytes[sqlite_keys::kIdBytes];
    return sqlite_keys::idBytes(id, bytes) ? blob(bytes, sizeof bytes) : textLiteral(id);
  }
  std::string hashLiteral(std::string_view hash) const override {
    unsigned char bytes[sqlite_keys::kHashBytes];
    return sqlite_keys::hashBytes(hash, bytes) ? blob(bytes, sizeof bytes) : textLiteral(hash);
  }
  std::string idText(std::string_view c) const override {
    const std::string col(c);
    return "(CASE WHEN typeof(" + col + ") = 'blob' THEN lower(hex(" + col + ")) ELSE " + col + " END)";
  }
  std::string hashText(std::string_view c) const override {
    const std::string col(c);
    return "(CASE WHEN typeof(" + col + ") = 'blob' AND length(" + col + ") = 36 THEN 'h1:' || lower(hex(substr(" +
           col + ", 1, 4))) || ':' || lower(hex(substr(" + col + ", 5))) WHEN typeof(" + col +
           ") = 'blob' THEN lower(hex(" + col + ")) ELSE " + col + " END)";
  }
  std::string jsonText(std::string_view column) const override { return std::string(column); }
  std::string contains(std::string_view column, std::string_view needle) const override {
    return "instr(lower(" + std::string(column) + "), " + textLiteral(needle) + ") > 0";
  }
  std::string containsExpr(std::string_view haystack, std::string_view needle) const override {
    return "instr(" + std::string(haystack) + ", " + std::string(needle) + ") > 0";
  }

 private:
  static std::string blob(const unsigned char* bytes, size_t n) {
    std::string out = "X'";
    event::appendHex(out, bytes, n);
    out += '\'';
    return out;
  }
  sqlite::Db& db_;
};

}  // namespace

void SqliteStore::loadSuppressions() {
  sqlite::Statement s(db_, "SELECT type, hash FROM suppressions");
  std::vector<std::pair<std::string, std::string>> rows;
  while (s.step()) rows.emplace_back(std::string(s.text(0)), std::string(s.text(1)));
  suppressions_.assign(rows);
}

bool SqliteStore::rightsTransaction(bool secure, const std::function<void(SqlSession&)>& fn) {
  std::lock_guard lock(mutex_);
  commitGroup();  // batches deferred so far go first (they are then what the erasure sees)
  if (secure) db_.exec("PRAGMA secure_delete = ON");
  try {
    begin_.run();
    try {
      SqliteSession session(db_);
      fn(session);
      commit_.run();
    } catch (...) {
      try {
        rollback_.run();
      } catch (...) {
      }
      throw;
    }
  } catch (...) {
    if (secure) db_.exec("PRAGMA secure_delete = FAST");
    throw;
  }
  if (secure) db_.exec("PRAGMA secure_delete = FAST");
  loadSuppressions();
  caches_stale_ = true;
  othersWrote();  // our own commit is no news to the next batch
  if (!secure || db_.path() == ":memory:") return true;
  // Copy the overwritten pages into the database file and truncate the WAL, so no earlier
  // version of an erased page stays in the WAL. Busy when another connection reads.
  sqlite::Statement checkpoint(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
  return checkpoint.step() && checkpoint.integer(0) == 0;
}

identity::ResolverStats SqliteStore::resolverStats() {
  std::lock_guard lock(mutex_);
  return resolver_.stats();
}

uint64_t SqliteStore::blockedIdentities() {
  std::lock_guard lock(mutex_);
  return keyer_.blocked();
}

void SqliteStore::failCommitsForTesting(int n) {
  std::lock_guard lock(mutex_);
  fail_commits_ = n;
  sqlite3_commit_hook(
      db_.get(),
      [](void* self) -> int {
        int& left = static_cast<SqliteStore*>(self)->fail_commits_;
        return left > 0 ? (--left, 1) : 0;  // non-zero turns the COMMIT into a ROLLBACK
      },
      this);
}

event::Result SqliteStore::putVault(const std::vector<VaultRow>& rows) {
  if (rows.empty()) return event::Result::ok();
  std::lock_guard lock(mutex_);
  try {
    // Vault rows are committed before the events that carry their tokens (a token never
    // outlives its row); an open group is committed first, as SQLite nests no transactions.
    commitGroup();
    begin_.run();
    try {
      sqlite::Statement& insert = insert_vault_;
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
        insert.run();
      }
      commit_.run();
    } catch (...) {
      rollback_.run();
      throw;
    }
    return event::Result::ok();
  } catch (const StoreError& e) {
    return e.retryable() ? event::Result::retry(e.what()) : event::Result::error(e.what());
  }
}

std::optional<VaultRow> SqliteStore::getVault(std::string_view token) {
  std::lock_guard lock(mutex_);
  sqlite::Statement select(db_,
                           "SELECT token, key_id, sealed, expires_at FROM vault WHERE token = ?1 "
                           "AND (expires_at IS NULL OR expires_at > ?2)");
  select.bind(1, token);
  select.bind(2, nowMicros());
  if (!select.step()) return std::nullopt;
  VaultRow r;
  r.token = std::string(select.text(0));
  r.key_id = std::string(select.text(1));
  r.sealed = std::string(select.text(2));
  r.expires_at = select.isNull(3) ? 0 : select.integer(3);
  return r;
}

uint64_t SqliteStore::purgeExpiredVault(int64_t now_us) {
  std::lock_guard lock(mutex_);
  commitGroup();
  sqlite::Statement del(db_, "DELETE FROM vault WHERE expires_at IS NOT NULL AND expires_at <= ?1");
  del.bind(1, now_us);
  del.run();
  return static_cast<uint64_t>(db_.changes());
}

void SqliteStore::appendAudit(const AuditRow& row) {
  std::lock_guard lock(mutex_);
  commitGroup();
  sqlite::Statement insert(db_,
                           "INSERT INTO audit_log (at, actor, action, subject, details) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)");
  insert.bind(1, row.at);
  insert.bind(2, row.actor);
  insert.bind(3, row.action);
  insert.bind(4, row.subject, true);
  insert.bind(5, row.details.empty() ? std::string_view("{}") : std::string_view(row.details));
  insert.run();
}

void SqliteStore::setSameIdPolicy(std::string_view pipeline, int policy) {
  std::lock_guard lock(mutex_);
  same_id_.setPolicy(pipeline, static_cast<SameIdPolicy>(policy));
}

}  // namespace omniloop::store
