// One conformance suite for every CDP store backend: a SQLite file, PostgreSQL (libpq), ODBC
// over Debian's SQLite driver and ODBC over Debian's PostgreSQL driver. A backend passes when
// it behaves like the others, down to the profile ids it assigns.
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "canonical_json.h"
#include "config/json_value.h"
#include "event/event.h"
#include "identity/config.h"
#include "identity/traits.h"
#include "privacy/keyed_hasher.h"
#include "store/migrations.h"
#include "store/postgres_store.h"
#include "store/store.h"
#include "store_backends.h"

namespace omniloop::store::testing {
namespace {

using omniloop::testing::OdbcEnv;
using omniloop::testing::PgServer;

constexpr const char* kTables[] = {
    "schema_version", "profiles",     "identities",   "events",      "consents",
    "profile_merges", "suppressions", "dead_letters", "checkpoints", "audit_log"};

class GlobalBackends : public ::testing::Environment {
 public:
  void SetUp() override { prepareBackends(); }
  void TearDown() override { PgServer::shared().stop(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new GlobalBackends);

// An event::Result that must be Ok, with its message when it is not.
#define ASSERT_OK(expr)                                   \
  do {                                                    \
    const event::Result ok_result_ = (expr);              \
    ASSERT_TRUE(ok_result_.isOk()) << ok_result_.message; \
  } while (0)
#define EXPECT_OK(expr)                                   \
  do {                                                    \
    const event::Result ok_result_ = (expr);              \
    EXPECT_TRUE(ok_result_.isOk()) << ok_result_.message; \
  } while (0)

std::string keyOf(int i) {
  return std::string(32, static_cast<char>('a' + i));
}

class Conformance : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    if ((GetParam() == BackendKind::OdbcSqlite && !OdbcEnv::shared().hasSqlite()) ||
        (GetParam() == BackendKind::OdbcPostgres && !OdbcEnv::shared().hasPostgres())) {
      GTEST_SKIP() << "ODBC driver not installed (libsqliteodbc / odbc-postgresql)";
    }
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    fixture_ = std::make_unique<BackendFixture>(GetParam(), name);
    options_.hasher = &hasher_;
    options_.normalize.default_region = "+49";
  }

  std::unique_ptr<Store> open() { return openStore(fixture_->uri(), options_); }
  std::unique_ptr<Raw> raw() { return fixture_->raw(); }
  const BackendFixture& fx() const { return *fixture_; }
  int latest() const { return latestVersion(embeddedMigrations(fixture_->dialect())); }

  // The failure tests' start: a store with batch "1" (cursor c1) written, then a failure
  // armed on the insert of event "12"; `before`: the counts after the first batch.
  struct FailureStart {
    std::unique_ptr<Store> store;
    std::unique_ptr<Raw> db;
    StoreCounts before;
  };
  FailureStart writeFirstThenArmFailureOn12() {
    FailureStart f{open(), raw(), {}};
    event::Batch first;
    add(first, "1", {{"email", "ann@example.com"}});
    first.cursor = "c1";
    EXPECT_TRUE(f.store->writeBatch("p", "crm", first).isOk());
    f.before = f.store->counts();
    fx().injectFailure(*f.db, event::makeEventId("crm", "12"));
    return f;
  }

  // Appends a live event with the given identities and two attributes, id from (crm, key).
  static event::Event& add(event::Batch& b, std::string_view key,
                           std::initializer_list<std::pair<std::string_view, std::string_view>> ids,
                           int64_t occurred_us = 1714557600000000) {
    event::Event* e = b.append();
    e->key = b.intern(key);
    e->channel = "crm";
    e->type = "contact.updated";
    e->occurred_at_us = occurred_us;
    for (const auto& [t, v] : ids) e->setIdentity(b.intern(t), b.intern(v));
    e->set("segment", event::Value::string("gold"));
    e->set("orders.count", event::Value::integer(3));
    event::assignId(*e, "crm", b);
    return *e;
  }

  std::string eventWhere(std::string_view key) const {
    return " FROM events WHERE " + fx().idIs("id", event::makeEventId("crm", key));
  }

  privacy::KeyedHasher hasher_{keyOf(0)};
  StoreOptions options_;
  std::unique_ptr<BackendFixture> fixture_;
};

TEST_P(Conformance, FreshStoreGetsEveryTableAndTheLatestSchema) {
  auto store = open();
  EXPECT_EQ(store->backend(), fx().backendName());
  EXPECT_EQ(store->schemaVersion(), latest());
  auto db = raw();
  for (const char* t : kTables) EXPECT_EQ(db->one(fx().tableExists(t)), "1") << t;
  EXPECT_EQ(db->one("SELECT count(*) FROM schema_version"), std::to_string(latest()));
  EXPECT_EQ(db->one("SELECT min(version) FROM schema_version"), "1");
}

TEST(ConformanceSchemas, EveryDialectHasEveryMigration) {
  EXPECT_EQ(latestVersion(embeddedMigrations("postgresql")),
            latestVersion(embeddedMigrations("sqlite")))
      << "a schemas/cdp/sqlite migration has no schemas/cdp/postgresql twin (or the other way "
         "round)";
  for (const Migration& m : embeddedMigrations("postgresql")) {
    EXPECT_EQ(m.name, embeddedMigrations("sqlite")[m.version - 1].name) << m.version;
  }
}

TEST_P(Conformance, ReopeningAppliesNothingTwice) {
  open().reset();
  auto store = open();
  store.reset();
  store = open();
  EXPECT_EQ(store->schemaVersion(), latest());
  EXPECT_EQ(raw()->one("SELECT count(*) FROM schema_version"), std::to_string(latest()));
  EXPECT_EQ(raw()->one("SELECT min(version) || '-' || max(version) FROM schema_version"),
            "1-" + std::to_string(latest()));
}

TEST_P(Conformance, NewerSchemaIsRefusedWithAClearMessage) {
  open().reset();
  raw()->exec("INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)");
  const std::string tables_before =
      raw()->all("SELECT version, name FROM schema_version ORDER BY version");
  try {
    open();
    FAIL() << "newer schema accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "store schema version 99 is newer than this omniloop supports (" +
                  std::to_string(latest()) + "): upgrade omniloop"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(raw()->all("SELECT version, name FROM schema_version ORDER BY version"), tables_before);
}

TEST_P(Conformance, WriteBatchCreatesProfilesIdentitiesAndEvents) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "Ann@Example.com"}, {"phone", "0151 1234 5678"}});
  add(b, "2", {{"email", " ann@example.COM "}});  // same person, written differently
  add(b, "3", {{"crm_id", "C-42"}});              // someone else
  add(b, "4", {});                                // nobody in particular
  add(b, "5", {{"email", "not an email"}});       // skipped identity
  b.cursor = "offset:5";
  ASSERT_OK(store->writeBatch("crm-contacts", "crm", b));

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
  const std::string ann_hash = hasher_.pseudonymize("email", "ann@example.com");
  EXPECT_EQ(*ann, ann_hash.substr(ann_hash.rfind(':') + 1, 32));
  EXPECT_NE(store->findProfile("crm_id", "C-42"), ann);
  EXPECT_FALSE(store->findProfile("email", "nobody@example.com").has_value());

  auto db = raw();
  EXPECT_EQ(db->one("SELECT " + fx().idText("profile_id") + eventWhere("2")), *ann);
  EXPECT_EQ(db->one("SELECT " + fx().idText("profile_id") + eventWhere("4")), "<null>");
  EXPECT_EQ(db->one("SELECT " + fx().idText("profile_id") + eventWhere("5")), "<null>");
  EXPECT_EQ(db->one("SELECT " + fx().attribute("segment") + eventWhere("1")), "gold");
  EXPECT_EQ(db->one("SELECT " + fx().attribute("orders.count") + eventWhere("1")), "3");
  EXPECT_EQ(db->one("SELECT channel || '/' || type || '/' || pipeline || '/' || source || '/' || "
                    "occurred_at" +
                    eventWhere("1")),
            "crm/contact.updated/crm-contacts/crm/1714557600000000");
  EXPECT_EQ(db->one("SELECT " + fx().hashText("hash") + " FROM identities WHERE type = 'email'"),
            ann_hash);
  EXPECT_EQ(
      db->one("SELECT first_seen || '-' || last_seen FROM profiles WHERE " + fx().idIs("id", *ann)),
      "1714557600000000-1714557600000000");
}

TEST_P(Conformance, SeenRangesFollowOccurrences) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "a@b.c"}}, 2000);
  add(b, "2", {{"email", "a@b.c"}}, 1000);
  add(b, "3", {{"email", "a@b.c"}}, 3000);
  ASSERT_OK(store->writeBatch("p", "crm", b));
  event::Batch later;
  add(later, "4", {{"email", "a@b.c"}}, 500);
  ASSERT_OK(store->writeBatch("p", "crm", later));
  auto db = raw();
  EXPECT_EQ(db->one("SELECT first_seen || '-' || last_seen FROM profiles"), "500-3000");
  EXPECT_EQ(db->one("SELECT first_seen || '-' || last_seen FROM identities"), "500-3000");
}

TEST_P(Conformance, ReplayChangesNothingAndKeepsProfileIds) {
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}, {"crm_id", "7"}});
  add(b, "2", {{"phone", "+4989123456"}});
  add(b, "3", {{"crm_id", "7"}, {"phone", "+4989123456"}});
  b.cursor = "c1";
  ASSERT_OK(store->writeBatch("p", "crm", b));
  const StoreCounts first = store->counts();
  const std::string graph =
      raw()->all("SELECT type, hash, profile_id FROM identities ORDER BY type, hash");
  const std::string events = raw()->all("SELECT id, profile_id FROM events ORDER BY id");

  ASSERT_OK(store->writeBatch("p", "crm", b));
  store.reset();  // and once more through a new connection
  store = open();
  ASSERT_OK(store->writeBatch("p", "crm", b));

  const StoreCounts again = store->counts();
  EXPECT_EQ(again.profiles, first.profiles);
  EXPECT_EQ(again.identities, first.identities);
  EXPECT_EQ(again.events, first.events);
  EXPECT_EQ(first.events, 3u);
  EXPECT_EQ(raw()->all("SELECT type, hash, profile_id FROM identities ORDER BY type, hash"), graph);
  EXPECT_EQ(raw()->all("SELECT id, profile_id FROM events ORDER BY id"), events);
}

TEST_P(Conformance, SameEventsGiveTheSameProfilesAsTheEmbeddedStore) {
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}, {"phone", "+4989123456"}});
  add(b, "2", {{"crm_id", "C-1"}});
  add(b, "3", {{"phone", "+4989123456"}, {"crm_id", "C-2"}});
  add(b, "4", {{"loyalty_id", "L-9"}, {"email", "bob@example.com"}});
  auto reference = openStore("sqlite::memory:", options_);
  auto store = open();
  ASSERT_OK(reference->writeBatch("p", "crm", b));
  ASSERT_OK(store->writeBatch("p", "crm", b));
  for (const auto& [type, value] :
       std::vector<std::pair<std::string, std::string>>{{"email", "ann@example.com"},
                                                        {"phone", "+4989123456"},
                                                        {"crm_id", "C-1"},
                                                        {"crm_id", "C-2"},
                                                        {"loyalty_id", "L-9"},
                                                        {"email", "bob@example.com"}}) {
    EXPECT_EQ(store->findProfile(type, value), reference->findProfile(type, value))
        << type << " " << value;
  }
  const StoreCounts a = reference->counts();
  const StoreCounts c = store->counts();
  EXPECT_EQ(c.profiles, a.profiles);
  EXPECT_EQ(c.identities, a.identities);
}

TEST_P(Conformance, FailureMidBatchStoresNeitherEventsNorCursor) {
  auto [store, db, before] = writeFirstThenArmFailureOn12();
  event::Batch second;
  add(second, "10", {{"email", "bob@example.com"}});
  add(second, "11", {{"email", "ann@example.com"}, {"crm_id", "9"}});
  add(second, "12", {{"email", "cy@example.com"}});
  add(second, "13", {{"email", "dee@example.com"}});
  second.cursor = "c2";
  const event::Result r = store->writeBatch("p", "crm", second);
  EXPECT_EQ(r.status, event::Status::Error) << r.message;
  EXPECT_NE(r.message.find("injected failure"), std::string::npos) << r.message;

  const StoreCounts after = store->counts();
  EXPECT_EQ(after.profiles, before.profiles);
  EXPECT_EQ(after.identities, before.identities);
  EXPECT_EQ(after.events, before.events);
  EXPECT_EQ(store->loadCursor("p", "crm"), "c1");
  EXPECT_FALSE(store->findProfile("email", "bob@example.com").has_value());

  fx().clearFailure(*db);
  ASSERT_OK(store->writeBatch("p", "crm", second));
  EXPECT_EQ(store->loadCursor("p", "crm"), "c2");
  const StoreCounts done = store->counts();
  EXPECT_EQ(done.events, before.events + 4);
  EXPECT_EQ(done.profiles, before.profiles + 3);
  EXPECT_EQ(done.identities, before.identities + 4);
  EXPECT_EQ(db->one("SELECT count(*) FROM identities i LEFT JOIN profiles p ON p.id = i.profile_id "
                    "WHERE p.id IS NULL"),
            "0");
}

// A backend may keep a batch's commit open while more batches are queued (SQLite: group
// commit; PostgreSQL: the batch's writes and COMMIT go out without waiting). When such a batch
// fails after writeBatch said Ok, its pipeline gets Error from its next writeBatch and flush
// until it loads its cursor again, and resumed, it writes the failing batch alone.
TEST_P(Conformance, ABatchThatFailsAfterItWasHandedOverStopsItsPipelineUntilItResumes) {
  auto [store, db, before] = writeFirstThenArmFailureOn12();
  event::Batch second;
  add(second, "10", {{"email", "bob@example.com"}});
  add(second, "12", {{"email", "cy@example.com"}});
  second.cursor = "c2";
  second.more_pending = true;
  event::Batch third;
  add(third, "20", {{"email", "dee@example.com"}});
  third.cursor = "c3";
  const event::Result r2 = store->writeBatch("p", "crm", second);
  // PostgreSQL sends a batch with more queued without waiting for it (docs/store.md).
  if (GetParam() == BackendKind::Postgres) {
    EXPECT_TRUE(r2.isOk()) << r2.message;
  }
  if (r2.isOk()) {
    // Handed over, failed in flight: nothing after it is taken either.
    const event::Result r3 = store->writeBatch("p", "crm", third);
    EXPECT_EQ(r3.status, event::Status::Error);
    EXPECT_NE(r3.message.find("injected failure"), std::string::npos) << r3.message;
    EXPECT_TRUE(store->mustResume("p", "crm"));
    EXPECT_FALSE(store->flush("p", "crm").isOk());
  } else {
    EXPECT_NE(r2.message.find("injected failure"), std::string::npos) << r2.message;
  }
  EXPECT_EQ(store->loadCursor("p", "crm"), "c1");
  EXPECT_FALSE(store->mustResume("p", "crm"));
  const StoreCounts after = store->counts();
  EXPECT_EQ(after.events, before.events);
  EXPECT_EQ(after.identities, before.identities);
  EXPECT_FALSE(store->findProfile("email", "bob@example.com").has_value());

  // Resumed: the failing batch fails again, alone and at once (the executor can dead-letter it).
  const event::Result again = store->writeBatch("p", "crm", second);
  EXPECT_EQ(again.status, event::Status::Error);
  EXPECT_NE(again.message.find("injected failure"), std::string::npos) << again.message;
  fx().clearFailure(*db);
  ASSERT_OK(store->writeBatch("p", "crm", second));
  ASSERT_OK(store->writeBatch("p", "crm", third));
  ASSERT_OK(store->flush("p", "crm"));
  EXPECT_EQ(store->loadCursor("p", "crm"), "c3");
  const StoreCounts done = store->counts();
  EXPECT_EQ(done.events, before.events + 3);
  EXPECT_EQ(done.identities, before.identities + 3);
  EXPECT_TRUE(store->findProfile("email", "dee@example.com").has_value());
}

TEST_P(Conformance, DeadLettersAreStoredAndUpdatedOnReplay) {
  privacy::VaultCipher vault(keyOf(5));
  options_.vault = &vault;
  options_.raw_retention_us = int64_t{3} * 86400 * 1000000;
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
  ASSERT_OK(store->writeBatch("p", "crm", b));

  StoreCounts c = store->counts();
  EXPECT_EQ(c.events, 1u);
  EXPECT_EQ(c.dead_letters, 2u);
  auto db = raw();
  const std::string where = " FROM dead_letters WHERE event_id = '" + std::string(bad.id) + "'";
  EXPECT_EQ(db->one("SELECT reason" + where), "stage map: cannot cast 'abc' to int");
  EXPECT_EQ(db->one("SELECT pipeline || '/' || source" + where), "p/crm");
  const std::string payload = db->one("SELECT payload" + where);
  EXPECT_NE(payload.find(hasher_.pseudonymize("email", "zed@example.com")), std::string::npos)
      << payload;
  EXPECT_EQ(payload.find("xample.com"), std::string::npos) << payload;
  EXPECT_NE(payload.find("\"segment\":\"gold\""), std::string::npos) << payload;
  // The unparsed record is sealed in the vault (expiring), the payload names its token.
  const std::string sealed =
      db->one("SELECT payload FROM dead_letters WHERE reason = 'source: unterminated quote'");
  std::string token;
  vault.tokenInto(token, "1;broken;\"row");
  EXPECT_NE(sealed.find("\"raw_sealed\":\"" + token + "\""), std::string::npos) << sealed;
  EXPECT_EQ(sealed.find("broken"), std::string::npos) << sealed;
  EXPECT_EQ(db->one("SELECT expires_at - created_at FROM vault WHERE token = '" + token + "'"),
            std::to_string(int64_t{3} * 86400 * 1000000));
  std::optional<VaultRow> row = store->getVault(token);
  ASSERT_TRUE(row.has_value());
  std::string clear;
  ASSERT_TRUE(vault.open(row->sealed, token, clear));
  EXPECT_EQ(clear, "1;broken;\"row");

  ASSERT_OK(store->writeBatch("p", "crm", b));
  EXPECT_EQ(store->counts().dead_letters, 2u);
}

// `omniloop dead-letters`: list (per pipeline, oldest first, limited), show one, remove some.
TEST_P(Conformance, DeadLettersAreListedShownAndRemoved) {
  auto store = open();
  event::Batch b;
  event::Event& one = add(b, "1", {{"email", "one@example.com"}});
  one.disposition = event::Disposition::DeadLetter;
  one.reason = "map: cannot cast field 'n' value to int";
  event::Event& two = add(b, "2", {});
  two.disposition = event::Disposition::DeadLetter;
  two.reason = "consent: missing";
  ASSERT_OK(store->writeBatch("orders", "crm", b));
  event::Batch other;
  event::Event& three = add(other, "3", {});
  three.disposition = event::Disposition::DeadLetter;
  three.reason = "elsewhere";
  ASSERT_OK(store->writeBatch("calls", "crm", other));
  ASSERT_OK(store->flush("orders", "crm"));
  ASSERT_OK(store->flush("calls", "crm"));

  EXPECT_EQ(store->deadLetters("", 0).size(), 3u);
  std::vector<DeadLetter> orders = store->deadLetters("orders", 0);
  ASSERT_EQ(orders.size(), 2u);
  std::set<std::string> reasons;
  for (const DeadLetter& d : orders) {
    EXPECT_EQ(d.pipeline, "orders");
    EXPECT_EQ(d.source, "crm");
    EXPECT_EQ(d.id.size(), 32u);
    EXPECT_GT(d.created_at, 0);
    reasons.insert(d.reason);
  }
  EXPECT_EQ(reasons,
            (std::set<std::string>{"map: cannot cast field 'n' value to int", "consent: missing"}));
  EXPECT_EQ(store->deadLetters("orders", 1).size(), 1u);
  EXPECT_TRUE(store->deadLetters("nobody", 0).empty());

  const std::string one_id = std::string(one.id);
  const DeadLetter* first = orders[0].event_id == one_id ? &orders[0] : &orders[1];
  const std::optional<DeadLetter> shown = store->deadLetter(first->id);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->event_id, one_id);
  EXPECT_EQ(shown->reason, "map: cannot cast field 'n' value to int");
  EXPECT_NE(shown->payload.find(hasher_.pseudonymize("email", "one@example.com")),
            std::string::npos);
  EXPECT_EQ(shown->payload.find("one@example.com"), std::string::npos) << shown->payload;
  EXPECT_FALSE(store->deadLetter("0123456789abcdef0123456789abcdef"));

  EXPECT_EQ(store->removeDeadLetters({first->id, "0123456789abcdef0123456789abcdef"}), 1u);
  EXPECT_FALSE(store->deadLetter(first->id));
  EXPECT_EQ(store->deadLetters("orders", 0).size(), 1u);
  EXPECT_EQ(store->counts().dead_letters, 2u);
}

TEST_P(Conformance, CheckpointCommitStoresDeadLettersAndCursorTogether) {
  auto store = open();
  event::Batch b;
  event::Event& e = add(b, "1", {{"email", "ann@example.com"}});
  e.disposition = event::Disposition::DeadLetter;
  e.reason = "sink file: disk full";
  add(b, "2", {{"email", "bob@example.com"}});  // live: another sink's business
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

TEST_P(Conformance, ClearIdentityValuesAreNeverStored) {
  {
    auto store = open();
    event::Batch b;
    add(b, "1",
        {{"email", "Secret.Person@Example.org"},
         {"phone", "+49 151 99887766"},
         {"crm_id", "CUST-778899"}});
    event::Event& dl = add(b, "2", {{"email", "secret.person@example.org"}});
    dl.disposition = event::Disposition::DeadLetter;
    dl.reason = "test";
    for (int i = 0; i < 20; ++i) {
      const std::string key = std::to_string(100 + i);
      add(b, key, {{"email", "secret.person@example.org"}});
    }
    ASSERT_OK(store->writeBatch("p", "crm", b));
    ASSERT_EQ(store->counts().identities, 3u);
  }
  auto db = raw();
  const std::string everything = fx().dumpAll(*db);
  EXPECT_NE(everything.find("h1:"), std::string::npos);
  for (const char* clear :
       {"secret.person@example.org", "Secret.Person", "99887766", "CUST-778899"}) {
    EXPECT_EQ(everything.find(clear), std::string::npos) << clear;
  }
}

TEST_P(Conformance, WithoutAKeyClearIdentitiesAreDeadLetteredNotStored) {
  options_.hasher = nullptr;
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}});
  add(b, "2", {});
  add(b, "3", {{"email", hasher_.pseudonymize("email", "bob@example.com")}});  // masked upstream
  ASSERT_OK(store->writeBatch("p", "crm", b));
  EXPECT_EQ(b[0].disposition, event::Disposition::DeadLetter);
  const StoreCounts c = store->counts();
  EXPECT_EQ(c.events, 2u);
  EXPECT_EQ(c.identities, 1u);
  EXPECT_EQ(c.dead_letters, 1u);
  auto db = raw();
  EXPECT_NE(db->one("SELECT reason FROM dead_letters").find("no pseudonymisation key"),
            std::string::npos);
  EXPECT_EQ(db->one("SELECT payload FROM dead_letters").find("ann@"), std::string::npos);
}

TEST_P(Conformance, EventWithoutIdIsDeadLettered) {
  auto store = open();
  event::Batch b;
  event::Event* e = b.append();
  e->setIdentity("email", "ann@example.com");
  ASSERT_OK(store->writeBatch("p", "crm", b));
  EXPECT_EQ(b[0].disposition, event::Disposition::DeadLetter);
  EXPECT_EQ(store->counts().events, 0u);
  EXPECT_EQ(store->counts().dead_letters, 1u);
}

TEST_P(Conformance, TextSurvivesTheRoundTrip) {
  auto store = open();
  event::Batch b;
  event::Event& e = add(b, "1", {{"email", "ann@example.com"}});
  e.set("name", event::Value::string(b.intern("Jürgen \"JJ\" Müller\\Ørsted 😀")));
  e.set("note", event::Value::string(b.intern(std::string_view("tab\there, nul\0in it", 19))));
  ASSERT_OK(store->writeBatch("p", "crm", b));
  auto db = raw();
  EXPECT_EQ(db->one("SELECT " + fx().attribute("name") + eventWhere("1")),
            "Jürgen \"JJ\" Müller\\Ørsted 😀");
  const std::string note = db->one("SELECT " + fx().attribute("note") + eventWhere("1"));
  EXPECT_EQ(note.substr(0, 9), "tab\there,");
}

TEST_P(Conformance, CountsAndFindProfileAgree) {
  auto store = open();
  EXPECT_EQ(store->counts().profiles, 0u);
  event::Batch b;
  for (int i = 0; i < 50; ++i) {
    const std::string email = "person" + std::to_string(i % 20) + "@example.com";
    add(b, std::to_string(i), {{"email", email}});
  }
  ASSERT_OK(store->writeBatch("p", "crm", b));
  const StoreCounts c = store->counts();
  EXPECT_EQ(c.profiles, 20u);
  EXPECT_EQ(c.identities, 20u);
  EXPECT_EQ(c.events, 50u);
  EXPECT_EQ(raw()->one("SELECT count(DISTINCT profile_id) FROM events"), "20");
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(
        store->findProfile("email", "person" + std::to_string(i) + "@example.com").has_value());
  }
  EXPECT_FALSE(store->findProfile("email", "not-an-email").has_value());
  EXPECT_EQ(store->findProfile("email", hasher_.pseudonymize("email", "person3@example.com")),
            store->findProfile("email", "person3@example.com"));
}

TEST_P(Conformance, BusyStoreAsksForRetry) {
  options_.busy_timeout_ms = 50;
  auto store = open();
  auto db = raw();
  fx().holdWriteLock(*db);
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}});
  const auto start = std::chrono::steady_clock::now();
  const event::Result r = store->writeBatch("p", "crm", b);
  EXPECT_EQ(r.status, event::Status::Retry) << r.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  fx().release(*db);
  EXPECT_OK(store->writeBatch("p", "crm", b));
  EXPECT_EQ(store->counts().events, 1u);
}

// Two writers, each with its own connection, ingest overlapping customers at the same time.
// Every customer's events carry their email first, so every event of a customer belongs to
// the profile named by that email whatever the interleaving: the store must end with exactly
// one profile per customer, every identity once, every event once, on its customer's profile.
TEST_P(Conformance, ConcurrentWritersNeitherLoseNorDuplicate) {
  constexpr int kCustomers = 300;
  constexpr int kBatches = 12;
  constexpr int kPerBatch = 60;
  open().reset();  // migrate once up front
  auto writer = [&](int first_customer, int seed, std::string* failure) {
    try {
      auto store = open();
      std::mt19937 rng(static_cast<unsigned>(seed));
      for (int n = 0; n < kBatches; ++n) {
        event::Batch b(kPerBatch);
        for (int i = 0; i < kPerBatch; ++i) {
          const int c = first_customer + static_cast<int>(rng() % 200);
          const std::string email = "c" + std::to_string(c) + "@example.com";
          const std::string phone = "+49151" + std::to_string(10000000 + c);
          const std::string crm = "CRM-" + std::to_string(c);
          const std::string key =
              "w" + std::to_string(seed) + "-" + std::to_string(n) + "-" + std::to_string(i);
          switch (rng() % 3) {
            case 0:
              add(b, key, {{"email", email}});
              break;
            case 1:
              add(b, key, {{"email", email}, {"phone", phone}});
              break;
            default:
              add(b, key, {{"email", email}, {"crm_id", crm}, {"phone", phone}});
              break;
          }
          b[b.size() - 1].set("customer", event::Value::integer(c));
        }
        b.cursor = std::to_string(n);
        for (int attempt = 0;; ++attempt) {
          const event::Result r = store->writeBatch("p", "w" + std::to_string(seed), b);
          if (r.isOk()) break;
          if (r.status != event::Status::Retry || attempt > 50) {
            *failure = r.message;
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10 + attempt * 5));
        }
      }
    } catch (const std::exception& e) {
      *failure = e.what();
    }
  };
  std::string failure_a, failure_b;
  std::thread a(writer, 0, 1, &failure_a);
  std::thread b(writer, 100, 2, &failure_b);
  a.join();
  b.join();
  ASSERT_EQ(failure_a, "");
  ASSERT_EQ(failure_b, "");

  auto store = open();
  const StoreCounts c = store->counts();
  EXPECT_EQ(c.events, static_cast<uint64_t>(2 * kBatches * kPerBatch));
  auto db = raw();
  const uint64_t customers = std::stoull(db->one("SELECT count(DISTINCT profile_id) FROM events"));
  EXPECT_EQ(c.profiles, customers);
  EXPECT_LE(customers, static_cast<uint64_t>(kCustomers));
  // One profile per customer, named by the customer's email.
  EXPECT_EQ(db->one("SELECT count(*) FROM (SELECT " + fx().attribute("customer") +
                    " AS c FROM events GROUP BY 1 HAVING count(DISTINCT profile_id) > 1) x"),
            "0");
  for (int cust : {0, 50, 120, 180, 250, 299}) {
    const auto p = store->findProfile("email", "c" + std::to_string(cust) + "@example.com");
    if (!p) continue;
    const std::string h =
        hasher_.pseudonymize("email", "c" + std::to_string(cust) + "@example.com");
    EXPECT_EQ(*p, h.substr(h.rfind(':') + 1, 32));
    EXPECT_EQ(store->findProfile("phone", "+49151" + std::to_string(10000000 + cust)).value_or(*p),
              *p);
    EXPECT_EQ(store->findProfile("crm_id", "CRM-" + std::to_string(cust)).value_or(*p), *p);
  }
  // Every identity points at an existing profile, and each profile's identities belong to one
  // customer.
  EXPECT_EQ(db->one("SELECT count(*) FROM identities i LEFT JOIN profiles p ON p.id = i.profile_id "
                    "WHERE p.id IS NULL"),
            "0");
  EXPECT_EQ(db->one("SELECT count(*) FROM identities WHERE type = 'email'"),
            std::to_string(customers));
  EXPECT_EQ(store->loadCursor("p", "w1"), std::to_string(kBatches - 1));
  EXPECT_EQ(store->loadCursor("p", "w2"), std::to_string(kBatches - 1));
}

// --- identity resolution through the store (identity::Resolver over each backend's rows) ---

// Traits JSON without blanks (PostgreSQL shows jsonb with a blank after ':' and ',').
std::string compact(std::string json) {
  std::erase(json, ' ');
  return json;
}

// The profile id an identity creates: the first 32 hex digits of its pseudonym's HMAC.
std::string idOf(const privacy::KeyedHasher& hasher, const std::string& type,
                 const std::string& value) {
  const std::string h = hasher.pseudonymize(type, value);
  return h.substr(h.rfind(':') + 1, 32);
}

TEST_P(Conformance, EventsSharingAnEmailEndOnOneProfile) {
  auto store = open();
  event::Batch first;
  add(first, "1", {{"email", "ann@example.com"}});
  ASSERT_OK(store->writeBatch("p", "crm", first));
  event::Batch second;
  add(second, "2", {{"email", "ANN@example.com "}, {"phone", "+4989123456"}});
  add(second, "3", {{"phone", "+4989123456"}});  // a weak identifier alone joins its profile
  ASSERT_OK(store->writeBatch("p", "crm", second));

  const StoreCounts c = store->counts();
  EXPECT_EQ(c.profiles, 1u);
  EXPECT_EQ(c.identities, 2u);
  const std::string ann = idOf(hasher_, "email", "ann@example.com");
  EXPECT_EQ(store->findProfile("phone", "+4989123456"), ann);
  EXPECT_EQ(raw()->one("SELECT count(*) FROM events WHERE " + fx().idIs("profile_id", ann)), "3");
  const auto view = store->profile(ann, 10);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->events, 3u);
  EXPECT_EQ(view->identities.size(), 2u);
  EXPECT_TRUE(view->merges.empty());
}

TEST_P(Conformance, AnEventLinkingTwoProfilesMergesThem) {
  auto store = open();
  // Across batches: two profiles exist, then one event links them.
  event::Batch first;
  add(first, "1", {{"email", "ann@example.com"}}, 1000);
  add(first, "2", {{"crm_id", "C-7"}}, 2000);
  ASSERT_OK(store->writeBatch("p", "crm", first));
  ASSERT_EQ(store->counts().profiles, 2u);
  event::Batch second;
  add(second, "3", {{"crm_id", "C-7"}, {"email", "ann@example.com"}}, 3000);
  ASSERT_OK(store->writeBatch("p", "crm", second));
  // Within one batch: the loser's events of this very batch follow it.
  event::Batch third;
  add(third, "4", {{"email", "bob@example.com"}}, 1000);
  add(third, "5", {{"crm_id", "C-8"}}, 2000);
  add(third, "6", {{"email", "bob@example.com"}, {"crm_id", "C-8"}}, 3000);
  ASSERT_OK(store->writeBatch("p", "crm", third));

  EXPECT_EQ(store->counts().profiles, 2u);
  EXPECT_EQ(store->counts().identities, 4u);
  auto db = raw();
  EXPECT_EQ(db->one("SELECT count(*) FROM profile_merges"), "2");
  using Case = std::tuple<std::string, std::string, std::vector<std::string>>;
  for (const auto& [email, crm, events] : {Case{"ann@example.com", "C-7", {"1", "2", "3"}},
                                           Case{"bob@example.com", "C-8", {"4", "5", "6"}}}) {
    const std::string a = idOf(hasher_, "email", email), b = idOf(hasher_, "crm_id", crm);
    const std::string winner = std::min(a, b), loser = std::max(a, b);
    EXPECT_EQ(store->findProfile("email", email), winner) << email;
    EXPECT_EQ(store->findProfile("crm_id", crm), winner) << email;
    for (const std::string& key : events) {
      EXPECT_EQ(db->one("SELECT " + fx().idText("profile_id") + eventWhere(key)), winner) << key;
    }
    EXPECT_EQ(db->one("SELECT count(*) FROM profiles WHERE " + fx().idIs("id", loser)), "0")
        << email;
    EXPECT_FALSE(store->profile(loser, 10).has_value());
    const auto view = store->profile(winner, 10);
    ASSERT_TRUE(view.has_value());
    ASSERT_EQ(view->merges.size(), 1u);
    EXPECT_EQ(view->merges[0].from, loser);
    EXPECT_EQ(view->merges[0].into, winner);
    EXPECT_EQ(view->merges[0].reason, (loser == a ? "email" : "crm_id") +
                                          std::string(" via event ") +
                                          event::makeEventId("crm", events.back()));
    EXPECT_EQ(view->identities.size(), 2u);
    EXPECT_EQ(view->events, 3u);
    EXPECT_EQ(view->first_seen, 1000);
    EXPECT_EQ(view->last_seen, 3000);
    EXPECT_NE(compact(view->traits).find("\"event_count\":3"), std::string::npos) << view->traits;
  }
  EXPECT_EQ(db->one("SELECT count(*) FROM identities i LEFT JOIN profiles p ON p.id = i.profile_id "
                    "WHERE p.id IS NULL"),
            "0");
}

TEST_P(Conformance, APerTypeLimitBlocksAMergeAndRecordsTheConflict) {
  options_.identity = identity::parseConfig(R"({"types":{"email":{"max_per_profile":1}}})");
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}});
  add(b, "2", {{"email", "bob@example.com"}, {"social", "fb:42"}});
  ASSERT_OK(store->writeBatch("p", "crm", b));
  event::Batch link;  // would give one profile two emails
  add(link, "3", {{"social", "fb:42"}, {"email", "ann@example.com"}});
  ASSERT_OK(store->writeBatch("p", "crm", link));

  const std::string ann = idOf(hasher_, "email", "ann@example.com"),
                    bob = idOf(hasher_, "email", "bob@example.com");
  EXPECT_EQ(store->counts().profiles, 2u);
  EXPECT_EQ(store->findProfile("email", "ann@example.com"), ann);
  EXPECT_EQ(store->findProfile("social", "fb:42"), bob);  // stays where it was
  auto db = raw();
  EXPECT_EQ(db->one("SELECT " + fx().idText("profile_id") + eventWhere("3")),
            ann);  // email outranks social
  EXPECT_EQ(db->one("SELECT count(*) FROM profile_merges"), "0");
  EXPECT_EQ(db->one("SELECT count(*) FROM identity_conflicts"), "1");
  const auto view = store->profile(ann, 10);
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->conflicts.size(), 1u);
  const ProfileView::Conflict& c = view->conflicts[0];
  EXPECT_EQ(c.type, "social");
  EXPECT_EQ(c.hash, hasher_.pseudonymize("social", "fb:42"));
  EXPECT_EQ(c.reason, "max_per_profile:email");
  EXPECT_EQ(c.profile, bob);
  EXPECT_EQ(c.other_profile, ann);
  EXPECT_EQ(c.occurrences, 1u);
}

TEST_P(Conformance, ABlocklistedValueLinksNothing) {
  options_.identity = identity::parseConfig(R"({"blocklist":["crm_id:UNKNOWN"]})");
  auto store = open();
  event::Batch b;
  add(b, "1", {{"email", "test@test.com"}, {"crm_id", "C-1"}});  // built-in junk value
  add(b, "2", {{"email", "test@test.com"}, {"crm_id", "C-2"}});
  add(b, "3", {{"crm_id", "UNKNOWN"}, {"email", "ann@example.com"}});  // configured junk value
  add(b, "4", {{"crm_id", "UNKNOWN"}, {"email", "bob@example.com"}});
  ASSERT_OK(store->writeBatch("p", "crm", b));
  const StoreCounts c = store->counts();
  EXPECT_EQ(c.profiles, 4u);
  EXPECT_EQ(c.identities, 4u);
  EXPECT_EQ(c.events, 4u);
  EXPECT_FALSE(store->findProfile("email", "test@test.com").has_value());
  EXPECT_FALSE(store->findProfile("crm_id", "UNKNOWN").has_value());
  EXPECT_NE(store->findProfile("crm_id", "C-1"), store->findProfile("crm_id", "C-2"));
  EXPECT_EQ(raw()->one("SELECT count(*) FROM profile_merges"), "0");
}

TEST_P(Conformance, TraitsAreExactAndAReplayDoesNotCountTwice) {
  options_.identity = identity::parseConfig(R"({"traits":{"spent":{"sum":"order.total"}}})");
  auto store = open();
  event::Batch b;
  const std::pair<const char*, std::pair<const char*, double>> rows[] = {
      {"1", {"web", 10.5}}, {"2", {"pos", 20.0}}, {"3", {"pos", 5.25}}};
  const int64_t times[] = {2000, 3000, 1000};
  for (size_t i = 0; i < 3; ++i) {
    event::Event& e = add(b, rows[i].first, {{"email", "ann@example.com"}}, times[i]);
    e.channel = rows[i].second.first;
    e.set("order.total", event::Value::real(rows[i].second.second));
  }
  add(b, "1", {{"email", "ann@example.com"}}, 2000).channel =
      "web";  // the same event twice in a batch
  b[3].set("order.total", event::Value::real(10.5));
  ASSERT_OK(store->writeBatch("p", "crm", b));
  const std::string ann = idOf(hasher_, "email", "ann@example.com");
  auto check = [&](const char* when) {
    const auto view = store->profile(ann, 10);
    ASSERT_TRUE(view.has_value()) << when;
    const std::string traits = compact(view->traits);
    EXPECT_NE(traits.find("\"event_count\":3"), std::string::npos) << when << " " << traits;
    EXPECT_NE(traits.find("\"events_by_channel\":{\"pos\":2,\"web\":1}"), std::string::npos)
        << when << " " << traits;
    EXPECT_NE(traits.find("\"spent\":35.75"), std::string::npos) << when << " " << traits;
    EXPECT_EQ(view->first_seen, 1000) << when;
    EXPECT_EQ(view->last_seen, 3000) << when;
    EXPECT_EQ(view->events, 3u) << when;
  };
  check("first write");
  ASSERT_OK(store->writeBatch("p", "crm", b));  // a replay, warm
  check("replay");
  store.reset();
  store = open();
  ASSERT_OK(store->writeBatch("p", "crm", b));  // and cold
  check("replay through a new store");
  // A new event still counts.
  event::Batch more;
  add(more, "9", {{"email", "ann@example.com"}}, 4000).channel = "web";
  ASSERT_OK(store->writeBatch("p", "crm", more));
  const auto view = store->profile(ann, 2);
  ASSERT_TRUE(view.has_value());
  EXPECT_NE(compact(view->traits).find("\"event_count\":4"), std::string::npos) << view->traits;
  EXPECT_EQ(view->last_seen, 4000);
  ASSERT_EQ(view->timeline.size(), 2u);  // the latest two, oldest first
  EXPECT_EQ(view->timeline[0].occurred_at, 3000);
  EXPECT_EQ(view->timeline[1].occurred_at, 4000);
}

// The value of top-level member `name` of a flat-enough JSON object ("" when absent): key
// order and blanks differ between backends (jsonb sorts keys), values do not.
std::string member(const std::string& json, const std::string& name) {
  const std::string c = compact(json);
  const size_t at = c.find("\"" + name + "\":");
  if (at == std::string::npos) return "";
  size_t i = at + name.size() + 3;
  int depth = 0;
  const size_t start = i;
  for (; i < c.size(); ++i) {
    if (c[i] == '{' || c[i] == '[') ++depth;
    if (c[i] == '}' || c[i] == ']') {
      if (depth == 0) break;
      --depth;
    }
    if (c[i] == ',' && depth == 0) break;
  }
  return c.substr(start, i - start);
}

// Everything resolution decided, as text, for comparing two stores.
std::string describe(Store& store,
                     const std::vector<std::pair<std::string, std::string>>& identities) {
  std::set<std::string> profiles;
  std::string out;
  for (const auto& [type, value] : identities) {
    const auto p = store.findProfile(type, value);
    out += type + ":" + value + " -> " + p.value_or("-") + "\n";
    if (p) profiles.insert(*p);
  }
  for (const std::string& id : profiles) {
    const auto v = store.profile(id, 1000);
    if (!v) {
      out += id + " missing\n";
      continue;
    }
    out += id + " seen " + std::to_string(v->first_seen) + "-" + std::to_string(v->last_seen) +
           " events " + std::to_string(v->events) + " count " + member(v->traits, "event_count") +
           " channels " + member(v->traits, "events_by_channel") + " spent " +
           member(v->traits, "spent") + "\n";
    for (const auto& i : v->identities) {
      out += "  identity " + i.type + " " + i.hash + " " + std::to_string(i.first_seen) + "-" +
             std::to_string(i.last_seen) + "\n";
    }
    for (const auto& m : v->merges)
      out += "  merge " + m.from + " > " + m.into + " " + m.reason + "\n";
    for (const auto& c : v->conflicts) {
      out += "  conflict " + c.type + " " + c.reason + " " + c.profile + " / " + c.other_profile +
             " x" + std::to_string(c.occurrences) + "\n";
    }
    // Events with equal times may come in any order (SQLite: by insertion).
    std::set<std::string> events;
    for (const auto& e : v->timeline) events.insert(std::to_string(e.occurred_at) + " " + e.id);
    for (const std::string& e : events) out += "  event " + e + "\n";
  }
  return out;
}

// A random stream where customers share phones, link up and collide with limits, written in
// batches of several sizes: every backend ends exactly where the embedded store does.
TEST_P(Conformance, ResolutionMatchesTheEmbeddedStoreOnARandomStream) {
  options_.identity = identity::parseConfig(
      R"({"types":{"email":{"max_per_profile":2}},"traits":{"spent":{"sum":"order.total"}}})");
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, std::string>> identities;
  for (int c = 0; c < 30; ++c) {
    identities.push_back({"email", "c" + std::to_string(c) + "@example.com"});
    identities.push_back({"crm_id", "CRM-" + std::to_string(c)});
    identities.push_back({"phone", "+4989555" + std::to_string(c / 4)});  // families share a phone
    identities.push_back({"social", "fb:" + std::to_string(c % 17)});
  }
  std::vector<std::vector<std::pair<std::string, std::string>>> events;
  for (int n = 0; n < 400; ++n) {
    std::vector<std::pair<std::string, std::string>> ids;
    const int c = static_cast<int>(rng() % 30);
    for (int k = 0; k < 4; ++k) {
      if (rng() % 3 == 0) ids.push_back(identities[static_cast<size_t>(4 * c + k)]);
    }
    if (rng() % 10 == 0) ids.push_back(identities[rng() % identities.size()]);  // someone else's
    events.push_back(std::move(ids));
  }
  auto reference = openStore("sqlite::memory:", options_);
  auto store = open();
  const size_t sizes[] = {1, 13, 50, 7};
  size_t next = 0;
  for (int round = 0; next < events.size(); ++round) {
    event::Batch a, b;
    const size_t end = std::min(events.size(), next + sizes[round % 4]);
    for (size_t n = next; n < end; ++n) {
      for (event::Batch* batch : {&a, &b}) {
        event::Event& e =
            add(*batch, "k" + std::to_string(n % 350), {}, 1000 + static_cast<int64_t>(n % 97));
        for (const auto& [t, v] : events[n]) e.setIdentity(batch->intern(t), batch->intern(v));
        e.channel = n % 3 == 0 ? "pos" : "web";
        e.set("order.total", event::Value::real(static_cast<double>(n % 11) * 1.25));
      }
    }
    next = end;
    ASSERT_OK(reference->writeBatch("p", "crm", a));
    ASSERT_OK(store->writeBatch("p", "crm", b));
    if (round == 20) {
      store.reset();  // a cold store halfway through
      store = open();
    }
  }
  const std::string expected = describe(*reference, identities);
  EXPECT_NE(expected.find("  merge "), std::string::npos) << "the stream should merge profiles";
  EXPECT_NE(expected.find("  conflict "), std::string::npos) << "the stream should hit a limit";
  EXPECT_EQ(describe(*store, identities), expected);
  if (auto* pg = dynamic_cast<PostgresStore*>(store.get()); pg != nullptr) {
    // Its one prefetch per batch answered every graph read (no round trip per event).
    EXPECT_EQ(pg->prefetchMisses(), 0u);
  }
  const StoreCounts x = reference->counts(), y = store->counts();
  EXPECT_EQ(y.profiles, x.profiles);
  EXPECT_EQ(y.identities, x.identities);
  EXPECT_EQ(y.events, x.events);
}

TEST_P(Conformance, VaultRowsRoundTripExpireAndAuditRowsAreAppended) {
  privacy::VaultCipher vault(keyOf(5));
  auto store = open();
  std::vector<VaultRow> rows(2);
  vault.tokenInto(rows[0].token, "4111111111111111");
  rows[0].key_id = vault.keyId();
  ASSERT_TRUE(vault.seal("4111111111111111", rows[0].token, rows[0].sealed));
  vault.tokenInto(rows[1].token, "raw line");
  rows[1].key_id = vault.keyId();
  rows[1].expires_at = 1000;  // long gone
  ASSERT_TRUE(vault.seal("raw line", rows[1].token, rows[1].sealed));
  ASSERT_OK(store->putVault(rows));
  ASSERT_OK(store->putVault(rows));  // the same tokens again: kept once
  auto db = raw();
  EXPECT_EQ(db->one("SELECT count(*) FROM vault"), "2");
  std::optional<VaultRow> card = store->getVault(rows[0].token);
  ASSERT_TRUE(card.has_value());
  std::string clear;
  ASSERT_TRUE(vault.open(card->sealed, card->token, clear));
  EXPECT_EQ(clear, "4111111111111111");
  EXPECT_FALSE(store->getVault(rows[1].token).has_value()) << "expired";
  EXPECT_EQ(store->purgeExpiredVault(2000), 1u);
  EXPECT_EQ(db->one("SELECT count(*) FROM vault"), "1");

  AuditRow a;
  a.at = 42;
  a.actor = "dpo";
  a.action = "detokenize";
  a.subject = rows[0].token;
  a.details = "{\"reason\":\"chargeback\"}";
  store->appendAudit(a);
  EXPECT_EQ(db->one("SELECT actor || '/' || action || '/' || subject FROM audit_log"),
            "dpo/detokenize/" + rows[0].token);
  EXPECT_NE(db->one("SELECT details FROM audit_log").find("chargeback"), std::string::npos);
}

TEST_P(Conformance, KeyRotationRenamesOldPseudonymsAndKeepsOneProfile) {
  {
    auto store = open();
    event::Batch b;
    add(b, "1", {{"email", "ann@example.com"}, {"crm_id", "C-1"}});
    b.cursor = "c1";
    ASSERT_OK(store->writeBatch("p", "crm", b));
    ASSERT_OK(store->flush("p", "crm"));
  }
  privacy::KeyedHasher next(keyOf(7));
  privacy::KeyedHasher previous = hasher_;
  options_.hasher = &next;
  options_.previous_hasher = &previous;
  auto store = open();
  // Before the person is seen again, a lookup still finds the profile (previous key).
  const std::optional<std::string> before = store->findProfile("email", "ann@example.com");
  ASSERT_TRUE(before.has_value());
  event::Batch b;
  add(b, "2", {{"email", "Ann@Example.com"}, {"crm_id", "C-1"}});
  b.cursor = "c2";
  ASSERT_OK(store->writeBatch("p", "crm", b));
  ASSERT_OK(store->flush("p", "crm"));
  auto db = raw();
  EXPECT_EQ(db->one("SELECT count(*) FROM profiles"), "1");
  EXPECT_EQ(db->one("SELECT count(*) FROM identities"), "2") << "renamed, not added";
  EXPECT_EQ(store->findProfile("email", "ann@example.com"), before);
  EXPECT_EQ(db->one("SELECT count(*) FROM events WHERE " + fx().idIs("profile_id", *before)), "2");
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance,
                         ::testing::Values(BackendKind::SqliteFile, BackendKind::Postgres,
                                           BackendKind::OdbcSqlite, BackendKind::OdbcPostgres),
                         [](const ::testing::TestParamInfo<BackendKind>& info) {
                           return kindName(info.param);
                         });

// URIs and secrets, whatever the backend.
TEST(StoreUris, PasswordsNeverShowInMessages) {
  EXPECT_EQ(redactStoreUri("postgresql://cdp:s3cr3t@db.example:5432/cdp?sslmode=require"),
            "postgresql://cdp:[secret]@db.example:5432/cdp?sslmode=require");
  EXPECT_EQ(redactStoreUri("postgres://cdp@db/cdp?password=s3cr3t&application_name=x"),
            "postgres://cdp@db/cdp?password=[secret]&application_name=x");
  EXPECT_EQ(redactStoreUri("odbc:DSN=cdp;UID=etl;PWD=s3cr3t;"),
            "odbc:DSN=cdp;UID=etl;PWD=[secret];");
  EXPECT_EQ(redactStoreUri("odbc:Driver={PostgreSQL Unicode};Password={a;b}c;Database=x"),
            "odbc:Driver={PostgreSQL Unicode};Password=[secret]c;Database=x");
  EXPECT_EQ(redactStoreUri("sqlite:/var/lib/omniloop/cdp.db"), "sqlite:/var/lib/omniloop/cdp.db");

  auto& pg = PgServer::shared();
  const std::string wrong = "wrong-Pa55word";
  try {
    openStore(
        "postgresql://omniloop:" + wrong + "@127.0.0.1:" + std::to_string(pg.port()) + "/postgres",
        {});
    FAIL() << "wrong password accepted";
  } catch (const StoreError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find(wrong), std::string::npos) << m;
    EXPECT_NE(m.find("postgresql://omniloop:[secret]@127.0.0.1"), std::string::npos) << m;
    EXPECT_NE(m.find("password authentication failed"), std::string::npos) << m;
  }
  if (OdbcEnv::shared().hasPostgres()) {
    try {
      openStore("odbc:DSN=omniloop_pg;UID=omniloop;PWD=" + wrong, {});
      FAIL() << "wrong password accepted over ODBC";
    } catch (const StoreError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.find(wrong), std::string::npos) << m;
      EXPECT_NE(m.find("PWD=[secret]"), std::string::npos) << m;
    }
  }
}

TEST(StoreUris, UnknownSchemesAndMissingServersAreClearErrors) {
  try {
    openStore("mysql://cdp@localhost/cdp", {});
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_STREQ(e.what(),
                 "unsupported store URI scheme 'mysql': use sqlite:PATH, "
                 "postgresql://user:password@host:port/database or odbc:DSN=name");
  }
  try {
    openStore("postgresql://cdp:pw@127.0.0.1:1/cdp?connect_timeout=2", {});
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "cannot connect to PostgreSQL store postgresql://cdp:[secret]@127.0.0.1:1/cdp"),
              std::string::npos)
        << e.what();
  }
  try {
    openStore("odbc:DSN=no_such_dsn", {});
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to ODBC store odbc:DSN=no_such_dsn"),
              std::string::npos)
        << e.what();
  }
}

TEST(StoreUris, ForeignPostgresDatabaseIsLeftAlone) {
  auto& pg = PgServer::shared();
  const std::string db = pg.createDatabase("foreign");
  {
    PgRaw raw(pg.uri(db));
    raw.exec("CREATE TABLE events (id int primary key, what text)");
  }
  try {
    openStore(pg.uri(db), {});
    FAIL() << "foreign database accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(
        std::string(e.what()).find("already has a table 'events' but no omniloop schema_version"),
        std::string::npos)
        << e.what();
  }
  PgRaw raw(pg.uri(db));
  EXPECT_EQ(raw.one("SELECT count(*) FROM pg_tables WHERE tablename = 'profiles'"), "0");
  pg.dropDatabase(db);
}

// Daemons starting together migrate the same database once.
TEST(StoreMigrations, ConcurrentOpensMigrateOnce) {
  auto& pg = PgServer::shared();
  const std::string db = pg.createDatabase("race");
  std::vector<std::thread> threads;
  std::vector<std::string> failures(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto s = openStore(pg.uri(db), {});
        if (s->schemaVersion() != latestVersion(embeddedMigrations("postgresql")))
          failures[i] = "wrong version";
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  PgRaw raw(pg.uri(db));
  EXPECT_EQ(raw.one("SELECT count(*) FROM schema_version"),
            std::to_string(latestVersion(embeddedMigrations("postgresql"))));
  pg.dropDatabase(db);
}

// --- same id, different content ---

// A stored event's attributes JSON back into event attributes (dotted paths).
void setAttributes(const config::JsonValue& v, const std::string& path, event::Event& e,
                   event::Batch& holder) {
  using Kind = config::JsonValue::Kind;
  if (v.isObject()) {
    for (const auto& [k, child] : v.members)
      setAttributes(child, path.empty() ? k : path + "." + k, e, holder);
    return;
  }
  event::Value value;
  switch (v.kind) {
    case Kind::Bool:
      value = event::Value::boolean(v.boolean);
      break;
    case Kind::Int:
      value = event::Value::integer(v.integer);
      break;
    case Kind::Double:
      value = event::Value::real(v.number);
      break;
    case Kind::String:
      value = event::Value::string(holder.intern(v.string));
      break;
    case Kind::Array: {
      std::string text;
      config::appendJson(text, v);
      value = event::Value::json(holder.intern(text));
      break;
    }
    default:
      value = event::Value::null();
  }
  e.set(holder.intern(path), value);
}

// The traits a profile's stored events give when folded from scratch, as canonical JSON.
std::string recomputedTraits(const identity::Config& config, const ProfileView& view) {
  event::Batch holder(view.timeline.size() + 1);
  identity::Traits traits;
  for (const ProfileView::Event& stored : view.timeline) {
    event::Event& e = *holder.append();
    e.id = holder.intern(stored.id);
    e.source = holder.intern(stored.source);
    e.channel = holder.intern(stored.channel);
    e.type = holder.intern(stored.type);
    e.occurred_at_us = stored.occurred_at;
    setAttributes(config::parseJson(stored.attributes.empty() ? "{}" : stored.attributes), "", e,
                  holder);
    traits.observe(config, e, stored.occurred_at != 0 ? stored.occurred_at : stored.ingested_at);
  }
  std::string json, meta;
  traits.toJson(config, json, meta);
  return canonical(json);
}

// A record under a stored id with other content is a collision: dead-lettered under an id of
// its own, naming the stored event, counted, and the stored event stays as it was. Replays
// stay no-ops. Afterwards every trait of every profile equals a fold of its stored events.
// On SQLite the first three batches share one group commit (collisions against events the
// open transaction wrote but has not committed yet).
TEST_P(Conformance, SameIdWithOtherContentIsACollisionAndTraitsEqualTheStoredEvents) {
  options_.identity = identity::parseConfig(R"({"traits":{
      "orders":{"sum":"orders.count"}, "biggest":{"max":"amount"}, "smallest":{"min":"amount"},
      "segment":{"last":"segment"}, "channels":{"distinct":"$channel"}, "sources":{"distinct":"$source"},
      "calls":{"count":"*","where":{"channel":"call"}}}})");
  auto store = open();
  uint64_t collisions = 0;
  auto write = [&](event::Batch& b, const std::string& cursor, bool more_pending) {
    b.cursor = cursor;
    b.more_pending = more_pending;
    ASSERT_OK(store->writeBatch("p", "crm", b));
    for (const auto& t : b.tallies()) {
      if (t.family == "same_id" && t.label == "collision") collisions += t.n;
    }
  };
  struct Record {
    std::string key;
    std::vector<std::pair<std::string, std::string>> ids;
    std::string channel;
    int64_t amount;
    std::string segment;
    int64_t at;
    std::string source;
  };
  auto add_all = [&](event::Batch& b, const std::vector<Record>& records) {
    for (const Record& r : records) {
      event::Event& e = add(b, r.key, {}, r.at);
      for (const auto& [t, v] : r.ids) e.setIdentity(b.intern(t), b.intern(v));
      e.channel = b.intern(r.channel);
      e.source = b.intern(r.source);
      e.set("amount", event::Value::integer(r.amount));
      e.set("segment", event::Value::string(b.intern(r.segment)));
    }
  };
  const std::vector<Record> first = {
      {"1", {{"email", "ann@example.com"}}, "crm", 10, "gold", 1000, ""},
      {"2",
       {{"email", "bob@example.com"}, {"phone", "+49 30 1234567"}},
       "pos",
       20,
       "silver",
       2000,
       ""},
      {"3", {{"crm_id", "C-1"}}, "crm", 5, "bronze", 3000, ""},
      {"4", {{"email", "ann@example.com"}}, "call", 7, "gold", 4000, ""},
  };
  {
    event::Batch b;
    add_all(b, first);
    write(b, "c1", true);
  }
  {
    event::Batch b;
    add_all(b,
            {first[0],
             first[1],                                                    // identical replays
             {"3", {{"crm_id", "C-1"}}, "crm", 500, "bronze", 3000, ""},  // collision
             {"5", {{"email", "dee@example.com"}}, "web", 1, "new", 5000, ""},
             {"5", {{"email", "dee@example.com"}}, "web", 2, "new", 5000, ""},  // collision in the
                                                                                // batch
             {"5", {{"email", "dee@example.com"}}, "web", 1, "new", 5000, ""},  // identical again
             {"6",
              {{"email", "ann@example.com"}, {"crm_id", "C-1"}},
              "pos",
              30,
              "platinum",
              6000,
              ""}});
    write(b, "c2", true);
  }
  {
    event::Batch b;
    add_all(
        b,
        {{"1", {{"email", "ann@example.com"}}, "crm", 11, "gold", 1000, "crm-2"},  // another source
         first[3],
         {"7", {{"email", "bob@example.com"}}, "pos", 40, "gold", 7000, ""}});
    write(b, "c3", false);
  }
  store = open();  // caches gone: the stored rows decide
  {
    event::Batch b;
    add_all(b, first);
    add_all(b, {{"2",
                 {{"email", "bob@example.com"}, {"phone", "030 1234567"}},
                 "pos",
                 20,
                 "silver",
                 2000,
                 ""}});
    write(b, "c4", false);
  }

  EXPECT_EQ(collisions, 4u);
  auto db = raw();
  EXPECT_EQ(db->one("SELECT count(*) FROM events"), "7");
  EXPECT_EQ(db->one("SELECT count(*) FROM dead_letters"), "4");
  // The stored events stay as they were.
  EXPECT_EQ(db->one("SELECT " + fx().attribute("amount") + eventWhere("3")), "5");
  EXPECT_EQ(db->one("SELECT " + fx().attribute("amount") + eventWhere("5")), "1");
  EXPECT_EQ(db->one("SELECT source" + eventWhere("1")), "crm");
  // Each collision names the stored event and keeps the record under an id of its own.
  const std::string id3 = event::makeEventId("crm", "3");
  const std::string reason =
      db->one("SELECT reason FROM dead_letters WHERE reason LIKE '%" + id3 + "%'");
  EXPECT_NE(reason.find("same id, different content: event " + id3 +
                        " is already stored (pipeline p, source crm)"),
            std::string::npos)
      << reason;
  EXPECT_NE(db->one("SELECT reason FROM dead_letters WHERE reason LIKE '%(source crm-2)%'"),
            "<null>");
  EXPECT_EQ(db->one("SELECT count(DISTINCT event_id) FROM dead_letters"), "4");
  EXPECT_EQ(db->one("SELECT count(*) FROM dead_letters WHERE event_id = '" + id3 + "'"), "0");
  const std::string payload = db->all("SELECT payload FROM dead_letters");
  EXPECT_EQ(payload.find("ann@example.com"), std::string::npos)
      << "a clear identity in a dead letter";

  // Every trait of every profile equals a fold of the events the store holds for it.
  const std::string profiles = db->all("SELECT " + fx().idText("id") + " FROM profiles ORDER BY 1");
  size_t count = 0, events = 0;
  for (size_t at = 0; at < profiles.size();) {
    const size_t end = std::min(profiles.find('\n', at), profiles.size());
    const std::string id = profiles.substr(at, end - at);
    at = end + 1;
    const auto view = store->profile(id, 100000);
    ASSERT_TRUE(view.has_value()) << id;
    EXPECT_EQ(view->timeline.size(), view->events) << id;
    EXPECT_EQ(canonical(view->traits), recomputedTraits(options_.identity, *view)) << id;
    ++count;
    events += view->timeline.size();
  }
  EXPECT_EQ(count, 3u);  // ann (merged with C-1 by event 6), bob and dee
  EXPECT_EQ(events, 7u);
}

// Snapshots (events without occurred_at, e.g. CRM rows exported again): under the default
// `same_id: auto` a changed snapshot is kept as a new version, not a collision; `collision`
// makes it one; identical exports stay no-ops. Traits equal a fold of the stored events.
TEST_P(Conformance, ChangedSnapshotsAreNewVersionsUnlessThePipelineSaysCollision) {
  options_.identity = identity::parseConfig(
      R"({"traits":{"spend":{"sum":"amount"},"segment":{"last":"segment"}}})");
  auto store = open();
  store->setSameIdPolicy("strict", 1);
  std::map<std::string, uint64_t> counted;
  auto write = [&](const std::string& pipeline, int64_t amount, const std::string& segment) {
    event::Batch b;
    event::Event& e = add(b, "row-1", {{"crm_id", "C-9"}}, 0);  // a snapshot: no occurred_at
    e.set("amount", event::Value::integer(amount));
    e.set("segment", event::Value::string(b.intern(segment)));
    ASSERT_OK(store->writeBatch(pipeline, "crm", b));
    for (const auto& t : b.tallies())
      counted[std::string(t.family) + "/" + std::string(t.label)] += t.n;
  };
  write("snap", 10, "gold");
  write("snap", 10, "gold");      // the same export again: nothing new
  write("snap", 12, "platinum");  // the row changed: a new version
  write("snap", 12, "platinum");  // and that version exported again: nothing new
  EXPECT_EQ(counted["same_id/new_version"], 1u);
  EXPECT_EQ(counted["same_id/collision"], 0u);
  auto db = raw();
  EXPECT_EQ(db->one("SELECT count(*) FROM events"), "2");
  EXPECT_EQ(db->one("SELECT count(*) FROM dead_letters"), "0");
  EXPECT_EQ(db->one("SELECT " + fx().attribute("amount") + eventWhere("row-1")),
            "10");  // the first stays

  write("strict", 99, "gold");  // another pipeline whose cdp sink says same_id: collision
  EXPECT_EQ(counted["same_id/collision"], 1u);
  EXPECT_EQ(db->one("SELECT count(*) FROM events"), "2");
  EXPECT_EQ(db->one("SELECT count(*) FROM dead_letters"), "1");

  const std::string profile = idOf(hasher_, "crm_id", "C-9");
  const auto view = store->profile(profile, 100);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->events, 2u);
  EXPECT_EQ(canonical(view->traits), recomputedTraits(options_.identity, *view));
  EXPECT_NE(canonical(view->traits).find("\"spend\":22"), std::string::npos) << view->traits;
}

}  // namespace
}  // namespace omniloop::store::testing
