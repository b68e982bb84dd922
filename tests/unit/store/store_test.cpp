#include "store/store.h"

#include "store/migrations.h"
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

TEST_F(StoreTest, ReopeningAppliesNothingTwice) {
  open().reset();
  auto store = open();
  store.reset();
  store = open();
  RawDb raw(db_path_);
  EXPECT_EQ(raw.one("SELECT count(*) FROM schema_version"), std::to_string(embeddedMigrations("sqlite").size()));
  EXPECT_EQ(raw.one("SELECT group_concat(version) FROM schema_version"), "1,2");
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

TEST_F(StoreTest, WriteBatchCreatesProfilesIdentitiesAndEvents) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "Ann@Example.com"}, {"phone", "0151 1234 5678"}});
  add(b, "2", {{"email", " ann@example.COM "}});       // same person, written differently
  add(b, "3", {{"crm_id", "C-42"}});                    // someone else
  add(b, "4", {});                                      // nobody in particular
  add(b, "5", {{"email", "not an email"}});             // skipped identity
  b.cursor = "offset:5";
  ASSERT_TRUE(store->writeBatch("crm-contacts", "crm", b).isOk());

  const StoreCounts c = store->counts();
  EXPECT_EQ(c.profiles, 2u);
  EXPECT_EQ(c.identities, 3u);
  EXPECT_EQ(c.events, 5u);
  EXPECT_EQ(c.dead_letters, 0u);
  EXPECT_EQ(store->loadCursor("crm-contacts", "crm"), "offset:5");
  EXPECT_EQ(store->loadCursor("crm-contacts", "other"), "");

  const auto ann = store->findProfile("email", "ANN@example.com");
  ASSERT_TRUE(ann.has_value());
  EXPECT_EQ(store->findProfile("phone", "+49 151 12345678"), ann);
  // The profile id is the first 32 hex of the identity that created it.
  const std::string ann_hash = hasher_.pseudonymize("email", "ann@example.com");
  EXPECT_EQ(*ann, ann_hash.substr(ann_hash.rfind(':') + 1, 32));
  EXPECT_NE(store->findProfile("crm_id", "C-42"), ann);
  EXPECT_FALSE(store->findProfile("email", "nobody@example.com").has_value());

  RawDb raw(db_path_);
  EXPECT_EQ(raw.one("SELECT lower(hex(profile_id)) FROM events WHERE id=" + idLiteral(event::makeEventId("crm", "2"))), *ann);
  EXPECT_EQ(raw.one("SELECT profile_id FROM events WHERE id=" + idLiteral(event::makeEventId("crm", "4"))), "<null>");
  EXPECT_EQ(raw.one("SELECT profile_id FROM events WHERE id=" + idLiteral(event::makeEventId("crm", "5"))), "<null>");
  EXPECT_EQ(raw.one("SELECT json_extract(attributes, '$.segment') || '/' || json_extract(attributes, "
                    "'$.orders.count') FROM events WHERE id=" + idLiteral(event::makeEventId("crm", "1"))),
            "gold/3");
  EXPECT_EQ(raw.one("SELECT channel || '/' || type || '/' || pipeline || '/' || source || '/' || occurred_at "
                    "FROM events WHERE id=" + idLiteral(event::makeEventId("crm", "1"))),
            "crm/contact.updated/crm-contacts/crm/1714557600000000");
  // Stored compactly: the key id and the HMAC as bytes.
  const std::string ann_hex = ann_hash.substr(3, 8) + ann_hash.substr(12);
  EXPECT_EQ(raw.one("SELECT lower(hex(hash)) FROM identities WHERE type='email'"), ann_hex);
}

TEST_F(StoreTest, ProfileSeenRangeFollowsOccurrences) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "a@b.c"}}, 2000);
  add(b, "2", {{"email", "a@b.c"}}, 1000);
  add(b, "3", {{"email", "a@b.c"}}, 3000);
  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());
  RawDb raw(db_path_);
  EXPECT_EQ(raw.one("SELECT first_seen || '-' || last_seen FROM profiles"), "1000-3000");
  EXPECT_EQ(raw.one("SELECT first_seen || '-' || last_seen FROM identities"), "1000-3000");
}

TEST_F(StoreTest, ReplayingABatchChangesNothing) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}, {"crm_id", "7"}});
  add(b, "2", {{"phone", "+4989123456"}});
  add(b, "3", {{"crm_id", "7"}, {"phone", "+4989123456"}});  // Ann's: a phone is weak, no merge
  b.cursor = "c1";
  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());
  const StoreCounts first = store->counts();
  const auto ann = store->findProfile("email", "ann@example.com");
  const auto phone = store->findProfile("phone", "+4989123456");

  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());
  store.reset();  // and once more through a cold cache
  store = open();
  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());

  const StoreCounts again = store->counts();
  EXPECT_EQ(again.profiles, first.profiles);
  EXPECT_EQ(again.identities, first.identities);
  EXPECT_EQ(again.events, first.events);
  EXPECT_EQ(store->findProfile("email", "ann@example.com"), ann);
  EXPECT_EQ(store->findProfile("phone", "+4989123456"), phone);
  EXPECT_EQ(first.profiles, 2u);
  EXPECT_EQ(first.identities, 3u);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.one("SELECT lower(hex(profile_id)) FROM events WHERE id=" + idLiteral(event::makeEventId("crm", "3"))),
            *ann);
}

TEST_F(StoreTest, SameBatchInAnotherStoreYieldsTheSameProfileIds) {
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}});
  add(b, "2", {{"crm_id", "C-1"}});
  auto one = openStore("sqlite::memory:", options_);
  auto two = open();
  ASSERT_TRUE(one->writeBatch("p", "crm", b).isOk());
  ASSERT_TRUE(two->writeBatch("p", "crm", b).isOk());
  EXPECT_EQ(one->findProfile("email", "ann@example.com"), two->findProfile("email", "ann@example.com"));
  EXPECT_EQ(one->findProfile("crm_id", "C-1"), two->findProfile("crm_id", "C-1"));
}

TEST_F(StoreTest, FailureMidBatchStoresNeitherEventsNorCursor) {
  auto store = open();
  event::Batch first;
  add(first, "1", {{"email", "ann@example.com"}});
  first.cursor = "c1";
  ASSERT_TRUE(store->writeBatch("p", "crm", first).isOk());
  const StoreCounts before = store->counts();

  // Another connection makes the third event of the next batch fail inside the transaction.
  const std::string failing = event::makeEventId("crm", "12");
  {
    RawDb raw(db_path_);
    raw.exec("CREATE TRIGGER inject_failure BEFORE INSERT ON events WHEN NEW.id = " + idLiteral(failing) +
             " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  }
  event::Batch second;
  add(second, "10", {{"email", "bob@example.com"}});
  add(second, "11", {{"email", "ann@example.com"}, {"crm_id", "9"}});
  add(second, "12", {{"email", "cy@example.com"}});
  add(second, "13", {{"email", "dee@example.com"}});
  second.cursor = "c2";
  const pipeline::Result r = store->writeBatch("p", "crm", second);
  EXPECT_EQ(r.status, pipeline::Status::Error);
  EXPECT_NE(r.message.find("injected failure"), std::string::npos) << r.message;

  const StoreCounts after = store->counts();
  EXPECT_EQ(after.profiles, before.profiles);
  EXPECT_EQ(after.identities, before.identities);
  EXPECT_EQ(after.events, before.events);
  EXPECT_EQ(store->loadCursor("p", "crm"), "c1");
  EXPECT_FALSE(store->findProfile("email", "bob@example.com").has_value());

  // Once the fault is gone the same batch lands whole, and the identity cache did not keep
  // mappings of the rolled-back transaction.
  {
    RawDb raw(db_path_);
    raw.exec("DROP TRIGGER inject_failure");
  }
  ASSERT_TRUE(store->writeBatch("p", "crm", second).isOk());
  EXPECT_EQ(store->loadCursor("p", "crm"), "c2");
  const StoreCounts done = store->counts();
  EXPECT_EQ(done.events, before.events + 4);
  EXPECT_EQ(done.profiles, before.profiles + 3);
  EXPECT_EQ(done.identities, before.identities + 4);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.one("SELECT count(*) FROM identities i LEFT JOIN profiles p ON p.id = i.profile_id "
                    "WHERE p.id IS NULL"),
            "0");
}

TEST_F(StoreTest, DeadLettersAreStoredWithReasonAndPseudonymisedIdentities) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}});
  event::Event& bad = add(b, "2", {{"email", "Zed@Example.com"}});
  bad.disposition = event::Disposition::DeadLetter;
  bad.reason = "stage map: cannot cast 'abc' to int";
  event::Event* unparsable = b.append();
  unparsable->raw = b.intern("1;broken;\"row");
  unparsable->disposition = event::Disposition::DeadLetter;
  unparsable->reason = "source: unterminated quote";
  event::assignId(*unparsable, "crm", b);
  event::Event& dropped = add(b, "3", {{"email", "drop@example.com"}});
  dropped.disposition = event::Disposition::Drop;
  b.cursor = "c9";
  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());

  StoreCounts c = store->counts();
  EXPECT_EQ(c.events, 1u);
  EXPECT_EQ(c.dead_letters, 2u);
  RawDb raw(db_path_);
  const std::string bad_where = " FROM dead_letters WHERE event_id='" + std::string(bad.id) + "'";
  EXPECT_EQ(raw.one("SELECT reason" + bad_where), "stage map: cannot cast 'abc' to int");
  EXPECT_EQ(raw.one("SELECT pipeline || '/' || source" + bad_where), "p/crm");
  const std::string payload = raw.one("SELECT payload" + bad_where);
  EXPECT_NE(payload.find(hasher_.pseudonymize("email", "zed@example.com")), std::string::npos) << payload;
  EXPECT_EQ(payload.find("xample.com"), std::string::npos) << payload;
  EXPECT_NE(payload.find("\"segment\":\"gold\""), std::string::npos) << payload;
  EXPECT_EQ(raw.one("SELECT payload FROM dead_letters WHERE reason='source: unterminated quote'"), "1;broken;\"row");

  // A replay updates the dead letters in place.
  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());
  EXPECT_EQ(store->counts().dead_letters, 2u);
}

TEST_F(StoreTest, CheckpointCommitStoresDeadLettersAndCursorTogether) {
  auto store = open();
  event::Batch b;
  event::Event& e = add(b, "1", {{"email", "ann@example.com"}});
  e.disposition = event::Disposition::DeadLetter;
  e.reason = "sink file: disk full";
  add(b, "2", {{"email", "bob@example.com"}});  // live: written by another sink, not here
  b.cursor = "line:2";
  store->commit("p", "crm", b);
  EXPECT_EQ(store->loadCursor("p", "crm"), "line:2");
  const StoreCounts c = store->counts();
  EXPECT_EQ(c.dead_letters, 1u);
  EXPECT_EQ(c.events, 0u);
  EXPECT_EQ(c.profiles, 0u);

  event::Batch empty_cursor;
  store->commit("p", "crm", empty_cursor);
  EXPECT_EQ(store->loadCursor("p", "crm"), "line:2");
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

TEST_F(StoreTest, WithoutAKeyClearIdentitiesAreDeadLetteredNotStored) {
  options_.hasher = nullptr;
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}});
  add(b, "2", {});
  add(b, "3", {{"email", hasher_.pseudonymize("email", "bob@example.com")}});  // masked upstream
  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());
  EXPECT_EQ(b[0].disposition, event::Disposition::DeadLetter);
  const StoreCounts c = store->counts();
  EXPECT_EQ(c.events, 2u);
  EXPECT_EQ(c.identities, 1u);
  EXPECT_EQ(c.dead_letters, 1u);
  RawDb raw(db_path_);
  EXPECT_NE(raw.one("SELECT reason FROM dead_letters").find("no pseudonymisation key"), std::string::npos);
  EXPECT_EQ(raw.one("SELECT payload FROM dead_letters").find("ann@"), std::string::npos);
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

TEST_F(StoreTest, EventWithoutIdIsDeadLettered) {
  auto store = open();
  event::Batch b;
  event::Event* e = b.append();
  e->setIdentity("email", "ann@example.com");
  ASSERT_TRUE(store->writeBatch("p", "crm", b).isOk());
  EXPECT_EQ(b[0].disposition, event::Disposition::DeadLetter);
  EXPECT_EQ(store->counts().events, 0u);
  EXPECT_EQ(store->counts().dead_letters, 1u);
}

TEST_F(StoreTest, BusyDatabaseAsksForRetry) {
  options_.busy_timeout_ms = 50;
  auto store = open();
  RawDb raw(db_path_);
  raw.exec("PRAGMA busy_timeout = 0");
  raw.exec("BEGIN IMMEDIATE");  // another writer holds the lock
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}});
  const pipeline::Result r = store->writeBatch("p", "crm", b);
  EXPECT_EQ(r.status, pipeline::Status::Retry) << r.message;
  raw.exec("ROLLBACK");
  EXPECT_TRUE(store->writeBatch("p", "crm", b).isOk());
}

}  // namespace
}  // namespace omniloop::store::testing
