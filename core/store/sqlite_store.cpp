#include "store/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "event/json.h"
#include "store/clock.h"
#include "store/migrations.h"
#include "store/sqlite_keys.h"

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
    "INSERT INTO events (id, pipeline, source, profile_id, channel, type, occurred_at, ingested_at, attributes) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING";
constexpr const char* kUpdateEvent =
    "UPDATE events SET pipeline = ?2, source = ?3, profile_id = ?4, channel = ?5, type = ?6, "
    "occurred_at = ?7, ingested_at = ?8, attributes = ?9 WHERE id = ?1";
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
      resolver_(options.identity),
      group_max_events_(std::max<size_t>(options.group_commit_events, 1)),
      group_max_age_(std::max(options.group_commit_ms, 0)) {
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
  db_.exec("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -131072; PRAGMA temp_store = MEMORY");
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
  upsert_dead_letter_ = sqlite::Statement(db_, kUpsertDeadLetter);
  insert_consent_ = sqlite::Statement(db_, kInsertConsent);
  load_consents_ = sqlite::Statement(db_, kLoadConsents);
  upsert_checkpoint_ = sqlite::Statement(db_, kUpsertCheckpoint);
  select_checkpoint_ = sqlite::Statement(db_, kSelectCheckpoint);
  select_counts_ = sqlite::Statement(db_, kSelectCounts);
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

std::string SqliteStore::groupKey(std::string_view pipeline, std::string_view source_id) {
  std::string key(pipeline);
  key.push_back('\x1f');
  key.append(source_id);
  return key;
}

void SqliteStore::refuseIfLost(const std::string& key) const {
  if (const auto lost = lost_.find(key); lost != lost_.end()) {
    throw StoreError("the store could not commit batches this pipeline had already written (their group "
                     "commit was rolled back: " + lost->second + "); nothing is skipped: restart the pipeline "
                     "and it resumes from its last committed cursor");
  }
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
    abandonGroup(e.what());
    const auto* store_error = dynamic_cast<const StoreError*>(&e);
    const bool retryable = store_error != nullptr && store_error->retryable();
    throw StoreError(std::string(e.what()) + " (batches committed with it in one transaction were rolled back too; " +
                         "their pipelines resume from their last committed cursor)",
                     retryable);
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
  for (const auto& [member, batches] : group_members_) lost_.emplace(member, reason);
  group_members_.clear();
  group_events_ = 0;
  resolver_.rolledBack();
}

bool SqliteStore::mustResume(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  return lost_.contains(groupKey(pipeline, source_id));
}

std::string SqliteStore::loadCursor(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  // A pipeline (re)starting from its committed cursor reads again whatever a failed group lost.
  lost_.erase(groupKey(pipeline, source_id));
  sqlite::ResetOnExit reset(select_checkpoint_);
  select_checkpoint_.bind(1, pipeline);
  select_checkpoint_.bind(2, source_id);
  if (!select_checkpoint_.step()) return {};
  return std::string(select_checkpoint_.text(0));
}

void SqliteStore::commit(std::string_view pipeline, std::string_view source_id,
                         const event::Batch& batch) {
  std::lock_guard lock(mutex_);
  const std::string key = groupKey(pipeline, source_id);
  refuseIfLost(key);
  const int64_t now = nowMicros();
  inGroup(key, [&] {
    writeDeadLetters(pipeline, source_id, batch, now);
    writeCursor(pipeline, source_id, batch.cursor, now);
  });
  commitGroup();
}

pipeline::Result SqliteStore::flush(std::string_view pipeline, std::string_view source_id) {
  std::lock_guard lock(mutex_);
  try {
    refuseIfLost(groupKey(pipeline, source_id));
    commitGroup();
    return pipeline::Result::ok();
  } catch (const std::exception& e) {
    return pipeline::Result::error(e.what());
  }
}

pipeline::Result SqliteStore::writeBatch(std::string_view pipeline, std::string_view source_id,
                                         event::Batch& batch) {
  std::lock_guard lock(mutex_);
  try {
    const std::string key = groupKey(pipeline, source_id);
    refuseIfLost(key);
    // A batch of a pipeline restarting after its group failed gets a transaction to itself;
    // so does the first batch after the Resolver's caches outgrew their bound (the commit
    // lets the next beginBatch drop them).
    bool alone = false;
    if (const auto isolated = isolated_.find(key); isolated != isolated_.end()) {
      alone = true;  // counted whether it succeeds or fails: a failing one is then dead-lettered
      if (--isolated->second == 0) isolated_.erase(isolated);
    }
    if (alone || resolver_.oversized()) commitGroup();
    const int64_t now = nowMicros();
    size_t stored = 0;
    inGroup(key, [&] {
      resolver_.beginBatch(now, !othersWrote());
      stored = resolveAndWrite(keyer_, resolver_, *this, batch, source_id, now, keys_,
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
    return pipeline::Result::ok();
  } catch (const StoreError& e) {
    return e.retryable() ? pipeline::Result::retry(e.what()) : pipeline::Result::error(e.what());
  } catch (const std::exception& e) {
    return pipeline::Result::error(std::string("store: ") + e.what());
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

// --- dead letters, cursor, reads ---

void SqliteStore::writeDeadLetters(std::string_view pipeline, std::string_view source_id,
                                   const event::Batch& batch, int64_t now) {
  scratch_arena_.reset();
  for (const event::Event& e : batch) {
    if (e.disposition != event::Disposition::DeadLetter) continue;
    json_.clear();
    appendDeadLetterPayload(json_, e, keyer_, scratch_, scratch_arena_);
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

std::optional<std::string> SqliteStore::findProfile(std::string_view type, std::string_view value) {
  std::lock_guard lock(mutex_);
  std::string hash;
  if (!keyer_.pseudonymize(type, value, hash)) return std::nullopt;
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

}  // namespace omniloop::store
