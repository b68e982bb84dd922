#include "store/store.h"

#include "store/migrations.h"
#include "store/identity_rules.h"
#include "store/sqlite_store.h"

#include <map>
#include "store_test_util.h"

namespace omniloop::store::testing {
namespace {

constexpr const char* kTables[] = {"schema_version", "profiles",     "identities",   "events",
                                   "consents",       "profile_merges", "suppressions", "dead_letters",
                                   "checkpoints",    "audit_log"};

TEST(StoreUri, RefusesOtherSchemesNamingTheOneToUse) {
  try {
    openStore("mysql://cdp@localhost/cdp", {});
    FAIL() << "mysql accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported store URI scheme 'mysql': use sqlite:PATH"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(openStore("/var/lib/omniloop/cdp.db", {}), StoreError);
  EXPECT_THROW(openStore("sqlite:", {}), StoreError);
}

TEST(StoreUri, OpensAnInMemoryStore) {
  auto store = openStore("sqlite::memory:", {});
  EXPECT_EQ(store->backend(), "sqlite");
  EXPECT_EQ(store->schemaVersion(), latestVersion(embeddedMigrations("sqlite")));
}

TEST(Migrations, AreEmbeddedInVersionOrderFromOne) {
  auto ms = embeddedMigrations("sqlite");
  ASSERT_FALSE(ms.empty());
  EXPECT_EQ(ms[0].version, 1);
  EXPECT_EQ(ms[0].name, "initial");
  for (size_t i = 0; i < ms.size(); ++i) EXPECT_EQ(ms[i].version, static_cast<int>(i) + 1);
  EXPECT_NE(ms[0].sql.find("CREATE TABLE identities"), std::string_view::npos);
  EXPECT_TRUE(embeddedMigrations("nosuchdialect").empty());
}

TEST_F(StoreTest, FreshFileGetsEveryTableInWalModeWithOwnerOnlyAccess) {
  auto store = open();
  EXPECT_TRUE(fs::exists(db_path_));  // parent directory created
  EXPECT_EQ(store->schemaVersion(), latestVersion(embeddedMigrations("sqlite")));
  EXPECT_EQ(fs::status(db_path_).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  RawDb raw(db_path_);
  for (const char* t : kTables) {
    EXPECT_EQ(raw.one(std::string("SELECT name FROM sqlite_master WHERE type='table' AND name='") + t + "'"), t);
  }
  EXPECT_EQ(raw.one("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.one("SELECT count(*) FROM schema_version"), std::to_string(embeddedMigrations("sqlite").size()));
}

TEST_F(StoreTest, NewerSchemaIsRefusedWithoutTouchingTheFile) {
  open().reset();
  {
    RawDb raw(db_path_);
    raw.exec("INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)");
  }
  const std::string before = readAll(db_path_);
  try {
    open();
    FAIL() << "newer schema accepted";
  } catch (const StoreError& e) {
    const int latest = latestVersion(embeddedMigrations("sqlite"));
    EXPECT_NE(std::string(e.what()).find("store schema version 99 is newer than this omniloop supports (" +
                                         std::to_string(latest) + "): upgrade omniloop"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(readAll(db_path_), before);
}

TEST_F(StoreTest, NotADatabaseIsAClearError) {
  fs::create_directories(db_path_.parent_path());
  std::ofstream(db_path_) << "id,email\n1,a@b.c\n" << std::string(600, 'x');
  try {
    open();
    FAIL() << "csv accepted as a store";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(db_path_.string()), std::string::npos) << e.what();
  }
}

TEST_F(StoreTest, ForeignSqliteDatabaseIsLeftAlone) {
  fs::create_directories(db_path_.parent_path());
  {
    RawDb raw(db_path_);
    raw.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)");
  }
  const std::string before = readAll(db_path_);
  try {
    open();
    FAIL() << "foreign database accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("database of something else"), std::string::npos) << e.what();
  }
  EXPECT_EQ(readAll(db_path_), before);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.one("SELECT count(*) FROM sqlite_master WHERE name = 'profiles'"), "0");
}

// What every backend does is in tests/integration/store_conformance_test.cpp (SQLite is one
// of its backends); here, what only the SQLite file shows.
TEST_F(StoreTest, KeysAreStoredAsBytes) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "Ann@Example.com"}});
  ASSERT_TRUE(store->writeBatch("crm-contacts", "crm", b).isOk());
  const auto ann = store->findProfile("email", "ann@example.com");
  ASSERT_TRUE(ann.has_value());
  const std::string ann_hash = hasher_.pseudonymize("email", "ann@example.com");
  RawDb raw(db_path_);
  // The key id and the HMAC as 36 bytes; the profile and event ids as 16.
  EXPECT_EQ(raw.one("SELECT lower(hex(hash)) FROM identities WHERE type='email'"),
            ann_hash.substr(3, 8) + ann_hash.substr(12));
  EXPECT_EQ(raw.one("SELECT length(hash) || '/' || length(profile_id) FROM identities"), "36/16");
  EXPECT_EQ(raw.one("SELECT lower(hex(profile_id)) FROM events WHERE id=" + idLiteral(event::makeEventId("crm", "1"))),
            *ann);
  EXPECT_EQ(raw.one("SELECT length(id) FROM events"), "16");
}

TEST_F(StoreTest, ClearIdentityValuesNeverReachTheFile) {
  {
    auto store = open();
    event::Batch b;
    add(b, "1", {{"email", "Secret.Person@Example.org"}, {"phone", "+49 151 99887766"}, {"crm_id", "CUST-778899"}});
    event::Event& dl = add(b, "2", {{"email", "secret.person@example.org"}});
    dl.disposition = event::Disposition::DeadLetter;
    dl.reason = "test";
    for (int i = 0; i < 50; ++i) {
      const std::string key = std::to_string(100 + i);  // (GCC 12 -O3 warns on "n" + to_string)
      add(b, key, {{"email", "secret.person@example.org"}});
    }
    ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());
    ASSERT_EQ(store->counts().identities, 3u);
  }
  bool any_file = false;
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    any_file = true;
    const std::string bytes = readAll(entry.path());
    for (const char* clear : {"secret.person@example.org", "Secret.Person", "99887766", "CUST-778899"}) {
      EXPECT_EQ(bytes.find(clear), std::string::npos) << clear << " found in " << entry.path();
    }
  }
  EXPECT_TRUE(any_file);
}

TEST_F(StoreTest, PseudonymisedUpstreamMeetsTheSamePersonHashedHere) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", hasher_.pseudonymize("email", "ann@example.com")}});
  add(b, "2", {{"email", "ANN@example.com"}, {"crm_id", "5"}});
  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());
  EXPECT_EQ(store->counts().profiles, 1u);
  EXPECT_EQ(store->findProfile("crm_id", "5"), store->findProfile("email", "ann@example.com"));
}

// Group commit (SQLite only: the other backends commit every batch). A batch the executor
// marks more_pending stays in an open transaction until a batch without the mark, the group
// limits, or flush(); other connections see nothing of it before.
TEST_F(StoreTest, GroupCommitDefersQueuedBatchesUntilOneWithoutMoreOrAFlush) {
  auto store = open();
  RawDb raw(db_path_);
  ASSERT_TRUE(store->writeBatch("p", "crm", *batchOf("1", "ann@example.com", "c1", true)).isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "0");
  EXPECT_EQ(raw.one("SELECT count(*) FROM checkpoints"), "0");
  EXPECT_EQ(store->loadCursor("p", "crm"), "c1");  // the store's own connection sees its group

  ASSERT_TRUE(store->writeBatch("p", "crm", *batchOf("2", "bob@example.com", "c2", true)).isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "0");
  ASSERT_TRUE(store->flush("p", "crm").isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "2");
  EXPECT_EQ(raw.one("SELECT cursor FROM checkpoints"), "c2");

  ASSERT_TRUE(store->writeBatch("p", "crm", *batchOf("3", "cy@example.com", "c3", true)).isOk());
  // Nothing queued behind the next one: it commits the group.
  ASSERT_TRUE(store->writeBatch("p", "crm", *batchOf("4", "dee@example.com", "c4", false)).isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "4");
  EXPECT_EQ(raw.one("SELECT cursor FROM checkpoints"), "c4");
}

TEST_F(StoreTest, GroupCommitEndsAtItsEventLimitAndWhenTheStoreCloses) {
  options_.group_commit_events = 3;
  auto store = open();
  RawDb raw(db_path_);
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(store->writeBatch("p", "crm", *batchOf(n, "p" + n + "@example.com", "c" + n, true)).isOk());
    EXPECT_EQ(raw.one("SELECT count(*) FROM events"), i < 2 ? "0" : "3") << "after batch " << i;
  }
  ASSERT_TRUE(store->writeBatch("p", "crm", *batchOf("9", "p9@example.com", "c9", true)).isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "3");
  store.reset();  // every batch of the open group was written whole: closing keeps them
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "4");
  EXPECT_EQ(raw.one("SELECT cursor FROM checkpoints"), "c9");
}

// A batch fails inside a group: the group's transaction holds no per-batch savepoints, so
// every batch in it is rolled back and the pipelines with one there restart from their
// cursors. The failing pipeline then writes as many batches as it lost, and the failing one,
// a transaction each: the failing batch fails alone and is dead-lettered, nothing is lost.
TEST_F(StoreTest, AFailingBatchInAGroupRollsTheGroupBackAndFailsAloneAfterTheRestart) {
  SqliteStore store(db_path_.string(), options_);
  RawDb raw(db_path_);
  raw.exec("CREATE TRIGGER inject_failure BEFORE INSERT ON events WHEN NEW.id = " +
           idLiteral(event::makeEventId("crm", "bad")) + " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  auto badBatch = [&] {
    auto bad = std::make_unique<event::Batch>();
    add(*bad, "2", {{"email", "bob@example.com"}});
    add(*bad, "bad", {{"email", "cy@example.com"}});
    bad->cursor = "p2";
    bad->more_pending = true;
    return bad;
  };
  ASSERT_TRUE(store.writeBatch("p", "crm", *batchOf("1", "ann@example.com", "p1", true)).isOk());
  ASSERT_TRUE(store.writeBatch("q", "pos", *batchOf("7", "dee@example.com", "q1", true)).isOk());
  const event::Result failed = store.writeBatch("p", "crm", *badBatch());
  EXPECT_EQ(failed.status, event::Status::Error);
  EXPECT_NE(failed.message.find("injected failure"), std::string::npos) << failed.message;
  EXPECT_NE(failed.message.find("rolled back too"), std::string::npos) << failed.message;
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "0");
  EXPECT_EQ(raw.one("SELECT count(*) FROM identities"), "0");
  EXPECT_EQ(raw.one("SELECT count(*) FROM checkpoints"), "0");
  // Both pipelines lost a batch with the group: neither may go on past it.
  EXPECT_EQ(store.writeBatch("q", "pos", *batchOf("8", "eve@example.com", "q2", false)).status,
            event::Status::Error);
  EXPECT_THROW(store.commit("p", "crm", *badBatch()), StoreError);

  // p restarts: its lost batch and the failing one get a transaction each.
  EXPECT_EQ(store.loadCursor("p", "crm"), "");
  ASSERT_TRUE(store.writeBatch("p", "crm", *batchOf("1", "ann@example.com", "p1", true)).isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "1");  // committed although more were queued
  auto bad = badBatch();
  const event::Result alone = store.writeBatch("p", "crm", *bad);
  EXPECT_EQ(alone.status, event::Status::Error);
  EXPECT_EQ(alone.message.find("rolled back too"), std::string::npos) << alone.message;
  // The executor dead-letters the batch and commits its cursor.
  for (event::Event& e : *bad) {
    e.disposition = event::Disposition::DeadLetter;
    e.reason = bad->intern("sink cdp: " + alone.message);
  }
  store.commit("p", "crm", *bad);
  EXPECT_EQ(raw.one("SELECT count(*) FROM dead_letters"), "2");
  EXPECT_EQ(raw.one("SELECT cursor FROM checkpoints WHERE pipeline = 'p'"), "p2");
  EXPECT_FALSE(store.findProfile("email", "bob@example.com").has_value());

  // Past the failed batch, p groups again; q restarts and re-reads its batch.
  ASSERT_TRUE(store.writeBatch("p", "crm", *batchOf("3", "fay@example.com", "p3", true)).isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "1");
  EXPECT_EQ(store.loadCursor("q", "pos"), "");
  ASSERT_TRUE(store.writeBatch("q", "pos", *batchOf("7", "dee@example.com", "q1", false)).isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "3");
  EXPECT_EQ(raw.one("SELECT group_concat(cursor, ',') FROM (SELECT cursor FROM checkpoints ORDER BY 1)"), "p3,q1");
}

// The Resolver's profile and identity changes of a group are written once, at its commit:
// the rows end as a commit per batch leaves them, and nothing of the group shows before.
TEST_F(StoreTest, AGroupWritesEachTouchedProfileOnceWithTheSameResultAsABatchAtATime) {
  auto ingest = [&](const fs::path& path, bool grouped) {
    SqliteStore store(path.string(), options_);
    for (int i = 0; i < 6; ++i) {
      event::Batch b;
      // The same two people in every batch, seen later each time; one new phone each.
      add(b, "a" + std::to_string(i), {{"email", "ann@example.com"}, {"phone", "0151 1000 000" + std::to_string(i)}},
          1700000000000000 + i * 1000000);
      add(b, "b" + std::to_string(i), {{"email", "bob@example.com"}}, 1700000000000000 + i * 2000000);
      b.cursor = "c" + std::to_string(i);
      b.more_pending = grouped && i < 5;
      EXPECT_TRUE(store.writeBatch("p", "crm", b).isOk());
      if (grouped && i < 5) {
        EXPECT_EQ(RawDb(path).one("SELECT count(*) FROM profiles"), "0") << "batch " << i;
      }
    }
  };
  const fs::path grouped = dir_ / "grouped.db";
  const fs::path single = dir_ / "single.db";
  ingest(grouped, true);
  ingest(single, false);
  const std::string profiles = "SELECT group_concat(hex(id) || first_seen || last_seen || traits, '|') FROM "
                               "(SELECT * FROM profiles ORDER BY id)";
  const std::string identities = "SELECT group_concat(type || hex(hash) || hex(profile_id) || first_seen || "
                                 "last_seen, '|') FROM (SELECT * FROM identities ORDER BY type, hash)";
  RawDb a(grouped), b(single);
  EXPECT_EQ(a.one(profiles), b.one(profiles));
  EXPECT_EQ(a.one(identities), b.one(identities));
  EXPECT_EQ(a.one("SELECT count(*) FROM identities"), "8");
  EXPECT_EQ(a.one("SELECT json_extract(traits, '$.event_count') FROM profiles ORDER BY first_seen LIMIT 1"), "6");
}

TEST_F(StoreTest, AFailedGroupCommitStopsEveryPipelineInItUntilItRestarts) {
  SqliteStore store(db_path_.string(), options_);
  RawDb raw(db_path_);
  store.failCommitsForTesting(1);
  ASSERT_TRUE(store.writeBatch("p", "crm", *batchOf("1", "ann@example.com", "p1", true)).isOk());
  ASSERT_TRUE(store.writeBatch("q", "pos", *batchOf("2", "bob@example.com", "q1", true)).isOk());
  const event::Result failed =
      store.writeBatch("p", "crm", *batchOf("3", "cy@example.com", "p2", false));
  EXPECT_EQ(failed.status, event::Status::Error);
  EXPECT_NE(failed.message.find("cannot commit"), std::string::npos) << failed.message;
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "0");

  // q's batch was lost with the group: q must not go on past it, nor commit a later cursor.
  const event::Result q =
      store.writeBatch("q", "pos", *batchOf("4", "dee@example.com", "q2", false));
  EXPECT_EQ(q.status, event::Status::Error);
  EXPECT_NE(q.message.find("restart the pipeline"), std::string::npos) << q.message;
  EXPECT_EQ(store.flush("q", "pos").status, event::Status::Error);
  EXPECT_THROW(store.commit("p", "crm", *batchOf("3", "cy@example.com", "p2", false)), StoreError);
  EXPECT_EQ(raw.one("SELECT count(*) FROM checkpoints"), "0");

  // Restarting (loading the cursor) reads everything again; other pipelines are unaffected.
  ASSERT_TRUE(store.writeBatch("r", "web", *batchOf("5", "eve@example.com", "r1", false)).isOk());
  EXPECT_EQ(store.loadCursor("p", "crm"), "");
  ASSERT_TRUE(store.writeBatch("p", "crm", *batchOf("1", "ann@example.com", "p1", false)).isOk());
  EXPECT_EQ(store.loadCursor("q", "pos"), "");
  ASSERT_TRUE(store.writeBatch("q", "pos", *batchOf("2", "bob@example.com", "q1", false)).isOk());
  EXPECT_EQ(raw.one("SELECT count(*) FROM events"), "3");
  EXPECT_EQ(raw.one("SELECT group_concat(cursor, ',') FROM (SELECT cursor FROM checkpoints ORDER BY 1)"),
            "p1,q1,r1");
}

// Every identity left out of an event is counted by reason; none disappears silently. The
// two valid numbers were once dropped by a "sequential digits" rule.
TEST_F(StoreTest, RejectedIdentitiesAreCountedByReasonAndValidPhonesAreKept) {
  const identity::Blocklist blocklist(options_.identity, &hasher_, options_.normalize);
  IdentityKeyer keyer(&hasher_, options_.normalize, &blocklist);
  event::Batch b;
  const std::string long_id(300, 'x');
  std::vector<std::vector<IdentityKey>> keys;
  for (const auto& [type, value] : std::vector<std::pair<std::string_view, std::string_view>>{
           {"phone", "+49 30 1234567"},
           {"phone", "+1 234 567 8901"},
           {"phone", "(030) 123-4567"},  // national, default region: the first one again
           {"phone", "12ab"},
           {"phone", "0000000000"},
           {"email", "jane.example.com"},
           {"email", "noreply@shop.example"},
           {"crm_id", " "},
           {"loyalty_id", long_id}}) {
    event::Event& e = add(b, std::string(type) + std::string(value), {{type, value}});
    keys.emplace_back();
    ASSERT_TRUE(keyer.storableKeys(e, b, keys.back()));
  }
  ASSERT_EQ(keys[0].size(), 1u);
  ASSERT_EQ(keys[1].size(), 1u);
  ASSERT_EQ(keys[2].size(), 1u);
  EXPECT_EQ(keys[0][0].hash, hasher_.pseudonymize("phone", "+49301234567"));
  EXPECT_EQ(keys[1][0].hash, hasher_.pseudonymize("phone", "+12345678901"));
  EXPECT_EQ(keys[2][0].hash, keys[0][0].hash);
  for (size_t i = 3; i < keys.size(); ++i) EXPECT_TRUE(keys[i].empty()) << i;
  std::map<std::string, uint64_t> got;
  for (const auto& [reason, n] : keyer.rejected()) got[std::string(reason)] = n;
  EXPECT_EQ(got, (std::map<std::string, uint64_t>{{"blocklisted", 1},
                                                  {"empty", 1},
                                                  {"phone_invalid", 2},
                                                  {"email_malformed", 1},
                                                  {"too_long", 1}}));
  EXPECT_EQ(keyer.blocked(), 1u);

  IdentityKeyer no_region(&hasher_, privacy::NormalizeOptions{}, &blocklist);
  std::vector<IdentityKey> none;
  ASSERT_TRUE(no_region.storableKeys(add(b, "national", {{"phone", "030 1234567"}}), b, none));
  EXPECT_TRUE(none.empty());
  bool counted = false;
  for (const auto& [reason, n] : no_region.rejected()) counted |= reason == "phone_without_region" && n == 1;
  EXPECT_TRUE(counted);
}

}  // namespace
}  // namespace omniloop::store::testing
