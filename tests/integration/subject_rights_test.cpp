// The data subject's rights (store/subject_rights.h) on every backend that supports them:
// erasure of a subject with merged profiles, suppression of replays, erasure while an ingest
// of the same subject is in flight, export checked against direct SQL, retention purge (dry
// run = real run), bad requests, and the ODBC backend refusing clearly.
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "config/json_value.h"
#include "event/event.h"
#include "privacy/keyed_hasher.h"
#include "store/store.h"
#include "store/subject_rights.h"
#include "store/suppressions.h"
#include "store_backends.h"

namespace omniloop::store::testing {
namespace {

using omniloop::testing::OdbcEnv;
using omniloop::testing::PgServer;

class GlobalBackends : public ::testing::Environment {
 public:
  void SetUp() override { prepareBackends(); }
  void TearDown() override { PgServer::shared().stop(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new GlobalBackends);

#define ASSERT_OK(expr)                                   \
  do {                                                    \
    const event::Result ok_result_ = (expr);              \
    ASSERT_TRUE(ok_result_.isOk()) << ok_result_.message; \
  } while (0)

constexpr int64_t kDay = 86400LL * 1000000;

std::string idOf(const privacy::KeyedHasher& hasher, const std::string& type,
                 const std::string& value) {
  const std::string h = hasher.pseudonymize(type, value);
  return h.substr(h.rfind(':') + 1, 32);
}

uint64_t tally(const event::Batch& b, std::string_view family) {
  uint64_t n = 0;
  for (const auto& t : b.tallies()) {
    if (t.family == family) n += t.n;
  }
  return n;
}

std::string readAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string hexBytes(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

class Rights : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    fixture_ = std::make_unique<BackendFixture>(GetParam(), name);
    options_.hasher = &hasher_;
    options_.suppression_key = &suppression_;
    keys_.hasher = &hasher_;
    keys_.suppression_key = &suppression_;
  }
  std::unique_ptr<Store> open() { return openStore(fixture_->uri(), options_); }
  const BackendFixture& fx() const { return *fixture_; }

  static event::Event& add(event::Batch& b, std::string_view key,
                           std::initializer_list<std::pair<std::string_view, std::string_view>> ids,
                           int64_t occurred_us = 1714557600000000,
                           std::string_view channel = "crm") {
    event::Event* e = b.append();
    e->key = b.intern(key);
    e->channel = b.intern(channel);
    e->type = "contact.updated";
    e->occurred_at_us = occurred_us;
    for (const auto& [t, v] : ids) e->setIdentity(b.intern(t), b.intern(v));
    e->set("first_name", event::Value::string(key.starts_with("a") ? "Annabel" : "Robert"));
    event::assignId(*e, "crm", b);
    return *e;
  }

  // Ann: three profiles (email, crm_id, loyalty_id) folded into one by two linking events,
  // a dead letter and a consent; Bob: a bystander.
  void writeAnnAndBob(Store& store) {
    event::Batch b1;
    add(b1, "a1", {{"email", "ann@example.com"}}, 1000);
    add(b1, "a2", {{"crm_id", "C-7"}}, 2000);
    add(b1, "a3", {{"loyalty_id", "L-1"}}, 3000);
    add(b1, "b1", {{"email", "bob@example.com"}}, 4000);
    ASSERT_OK(store.writeBatch("p", "crm", b1));
    event::Batch b2;
    add(b2, "a4", {{"email", "ann@example.com"}, {"crm_id", "C-7"}}, 5000);
    ASSERT_OK(store.writeBatch("p", "crm", b2));
    event::Batch b3;
    add(b3, "a5", {{"crm_id", "C-7"}, {"loyalty_id", "L-1"}}, 6000);
    event::Event& dl = add(b3, "a6", {{"email", "ann@example.com"}}, 7000);
    dl.disposition = event::Disposition::DeadLetter;
    dl.reason = "bad record";
    ASSERT_OK(store.writeBatch("p", "crm", b3));
    ann_ = *store.findProfile("email", "ann@example.com");
    auto db = fx().raw();
    db->exec(
        "INSERT INTO consents (profile_id, purpose, status, source, captured_at, evidence, "
        "notice_version) "
        "SELECT id, 'marketing', 'granted', 'web', 100, "
        "'CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA', 'v3' "
        "FROM profiles WHERE " +
        fx().idIs("id", ann_));
  }

  // Rows anywhere that name one of Ann's profiles or identities.
  std::string annRows(Raw& db) {
    std::string out;
    for (const std::string& p : annProfiles()) {
      for (const std::string& q :
           {"SELECT count(*) FROM profiles WHERE " + fx().idIs("id", p),
            "SELECT count(*) FROM events WHERE " + fx().idIs("profile_id", p),
            "SELECT count(*) FROM identities WHERE " + fx().idIs("profile_id", p),
            "SELECT count(*) FROM consents WHERE " + fx().idIs("profile_id", p),
            "SELECT count(*) FROM profile_merges WHERE from_profile = '" + p +
                "' OR into_profile = '" + p + "'"}) {
        const std::string n = db.one(q);
        if (n != "0") out += q + " -> " + n + "\n";
      }
    }
    for (const auto& [type, value] : annIdentities()) {
      const std::string n =
          db.one("SELECT count(*) FROM identities WHERE " + fx().hashText("hash") + " = '" +
                 hasher_.pseudonymize(type, value) + "'");
      if (n != "0") out += type + " identity -> " + n + "\n";
    }
    const std::string dl = db.one("SELECT count(*) FROM dead_letters");
    if (dl != "0") out += "dead letters -> " + dl + "\n";
    return out;
  }
  std::vector<std::pair<std::string, std::string>> annIdentities() const {
    return {{"email", "ann@example.com"}, {"crm_id", "C-7"}, {"loyalty_id", "L-1"}};
  }
  std::vector<std::string> annProfiles() const {
    std::vector<std::string> out;
    for (const auto& [t, v] : annIdentities()) out.push_back(idOf(hasher_, t, v));
    return out;
  }

  privacy::KeyedHasher hasher_{std::string(32, 'k')};
  privacy::KeyedHasher suppression_{std::string(32, 's')};
  StoreOptions options_;
  RightsKeys keys_;
  std::unique_ptr<BackendFixture> fixture_;
  std::string ann_;
};

EraseRequest request(std::vector<SubjectIdentity> ids) {
  EraseRequest r;
  r.identities = std::move(ids);
  r.reason = "request 117";
  r.actor = "cli:dpo";
  return r;
}

TEST_P(Rights, EraseRemovesEveryMergedProfileAndSuppressesReplays) {
  auto store = open();
  writeAnnAndBob(*store);
  auto db = fx().raw();
  ASSERT_EQ(db->one("SELECT count(*) FROM profile_merges"), "2");
  ASSERT_NE(annRows(*db), "");
  const std::string bob = *store->findProfile("email", "bob@example.com");
  const std::string bob_before =
      db->one("SELECT traits" + std::string(fx().postgres() ? "::text" : "") +
              " FROM profiles WHERE " + fx().idIs("id", bob));

  const EraseReport r = eraseSubject(*store, keys_, request({{"email", "Ann@Example.com "}}));
  EXPECT_TRUE(r.held);
  EXPECT_EQ(r.profiles, 3u);  // the survivor and the two profiles merged into it
  EXPECT_EQ(r.suppressions, 3u);
  EXPECT_TRUE(r.storage_clean);
  EXPECT_EQ(annRows(*db), "");
  EXPECT_FALSE(store->findProfile("crm_id", "C-7").has_value());
  EXPECT_EQ(db->one("SELECT count(*) FROM consents"), "0");
  // Bob is untouched.
  EXPECT_EQ(db->one("SELECT count(*) FROM profiles"), "1");
  EXPECT_EQ(db->one("SELECT traits" + std::string(fx().postgres() ? "::text" : "") +
                    " FROM profiles WHERE " + fx().idIs("id", bob)),
            bob_before);
  // Suppressions are derivatives, never the pseudonyms.
  EXPECT_EQ(db->one("SELECT count(*) FROM suppressions"), "3");
  for (const auto& [type, value] : annIdentities()) {
    const std::string pseudonym = hasher_.pseudonymize(type, value);
    EXPECT_EQ(db->one("SELECT count(*) FROM suppressions WHERE hash = '" +
                      Suppressions::derive(suppression_, type, pseudonym) + "'"),
              "1");
    EXPECT_EQ(db->one("SELECT count(*) FROM suppressions WHERE hash = '" + pseudonym + "'"), "0");
  }
  // The audit entry: who, what, counts, the minimal consent proof, and no identifier.
  const std::string audit =
      db->all("SELECT actor, action, details" + std::string(fx().postgres() ? "::text" : "") +
              " FROM audit_log");
  EXPECT_NE(audit.find("cli:dpo|erase|"), std::string::npos) << audit;
  EXPECT_NE(audit.find("request 117"), std::string::npos) << audit;
  EXPECT_NE(audit.find("marketing"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("ann@"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("CPXxRf"), std::string::npos) << "consent evidence kept" << audit;
  for (const std::string& p : annProfiles()) EXPECT_EQ(audit.find(p), std::string::npos) << audit;

  // A replay of the old input writes nothing about Ann and counts what it dropped.
  event::Batch again;
  add(again, "a1", {{"email", "ann@example.com"}}, 1000);
  add(again, "a5", {{"crm_id", "C-7"}, {"loyalty_id", "L-1"}}, 6000);
  add(again, "a7", {{"loyalty_id", "L-1"}, {"phone", "+4989123456"}}, 8000);
  event::Event& dl = add(again, "a6", {{"email", "ann@example.com"}}, 7000);
  dl.disposition = event::Disposition::DeadLetter;
  add(again, "b2", {{"email", "bob@example.com"}}, 9000);
  ASSERT_OK(store->writeBatch("p", "crm", again));
  EXPECT_EQ(tally(again, "suppressed"), 3u);
  EXPECT_EQ(annRows(*db), "");
  EXPECT_EQ(db->one("SELECT count(*) FROM identities"), "1");  // Bob's email only
  EXPECT_EQ(db->one("SELECT count(*) FROM events"), "2");      // Bob's two

  // Another store instance (another daemon) sees the suppressions too.
  store.reset();
  auto other = open();
  event::Batch third;
  add(third, "a8", {{"crm_id", "C-7"}}, 9000);
  ASSERT_OK(other->writeBatch("q", "crm", third));
  EXPECT_EQ(tally(third, "suppressed"), 1u);
  EXPECT_EQ(annRows(*db), "");

  if (!fx().postgres()) {
    // No clear value, pseudonym or profile id of Ann left in the file, its WAL or its SHM.
    other.reset();
    db.reset();
    std::string bytes;
    for (const char* suffix : {"", "-wal", "-shm"}) bytes += readAll(fx().path() + suffix);
    ASSERT_FALSE(bytes.empty());
    for (const std::string& s :
         {std::string("ann@example.com"), std::string("Annabel"), std::string("C-7")}) {
      EXPECT_EQ(bytes.find(s), std::string::npos) << s;
    }
    for (const auto& [type, value] : annIdentities()) {
      const std::string hex = hasher_.pseudonymize(type, value).substr(12);
      EXPECT_EQ(bytes.find(hex), std::string::npos) << type;
      EXPECT_EQ(bytes.find(hexBytes(hex)), std::string::npos) << type << " (stored bytes)";
    }
    for (const std::string& p : annProfiles()) {
      EXPECT_EQ(bytes.find(p), std::string::npos) << p;
      EXPECT_EQ(bytes.find(hexBytes(p)), std::string::npos) << p << " (stored bytes)";
    }
  }
}

TEST_P(Rights, AnIdentityMatchingNothingIsAuditedAsNoDataHeld) {
  auto store = open();
  const EraseReport r = eraseSubject(*store, keys_, request({{"email", "nobody@example.com"}}));
  EXPECT_FALSE(r.held);
  EXPECT_GT(r.audit_id, 0);
  const auto entries = listAudit(*store, 0);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].action, "erase");
  std::string details = entries[0].details;
  std::erase(details, ' ');  // PostgreSQL's jsonb spaces its text
  EXPECT_NE(details.find("\"held\":false"), std::string::npos) << details;
  EXPECT_EQ(entries[0].details.find("nobody"), std::string::npos);
  EXPECT_TRUE(listAudit(*store, entries[0].at + 1).empty());
}

TEST_P(Rights, BadRequestsChangeNothing) {
  auto store = open();
  writeAnnAndBob(*store);
  const std::vector<std::string> types = {"email", "phone", "crm_id"};
  EXPECT_THROW(parseSubjectIdentity("shoe_size:44", types, {}), std::invalid_argument);
  EXPECT_THROW(parseSubjectIdentity("email:not-an-email", types, {}), std::invalid_argument);
  EXPECT_THROW(parseSubjectIdentity("ann@example.com", types, {}), std::invalid_argument);
  EXPECT_EQ(parseSubjectIdentity("email:Ann@Example.com", types, {}).value, "Ann@Example.com");
  EraseRequest no_reason = request({{"email", "ann@example.com"}});
  no_reason.reason.clear();
  EXPECT_THROW(eraseSubject(*store, keys_, no_reason), std::invalid_argument);
  RightsKeys no_key = keys_;
  no_key.suppression_key = nullptr;
  EXPECT_THROW(eraseSubject(*store, no_key, request({{"email", "ann@example.com"}})),
               std::invalid_argument);
  auto db = fx().raw();
  EXPECT_NE(annRows(*db), "");
  EXPECT_EQ(db->one("SELECT count(*) FROM audit_log"), "0");
  EXPECT_EQ(db->one("SELECT count(*) FROM suppressions"), "0");
}

TEST_P(Rights, EraseWhileTheSameSubjectIsIngestedLeavesNothing) {
  auto store = open();
  auto writer_store = open();  // another connection, as another daemon would have
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::atomic<uint64_t> suppressed{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      event::Batch b;
      const std::string phone = "+49891234" + std::to_string(100 + i % 50);
      add(b, "w" + std::to_string(i),
          {{"email", "ann@example.com"}, {"crm_id", "C-7"}, {"phone", phone}}, 1000 + i);
      const event::Result r = writer_store->writeBatch("w", "crm", b);
      if (r.isOk()) ++written;
      suppressed += tally(b, "suppressed");
    }
  });
  while (written.load() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const EraseReport r = eraseSubject(*store, keys_, request({{"email", "ann@example.com"}}));
  auto db = fx().raw();
  const std::string after_erase = annRows(*db);
  const int at_erase = written.load();
  while (written.load() < at_erase + 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  writer.join();
  EXPECT_TRUE(r.held);
  EXPECT_GT(suppressed.load(), 0u);
  EXPECT_EQ(after_erase, "");
  EXPECT_EQ(db->one("SELECT count(*) FROM events"), "0");
  EXPECT_EQ(db->one("SELECT count(*) FROM identities"), "0");
  EXPECT_EQ(db->one("SELECT count(*) FROM profiles"), "0");
}

TEST_P(Rights, ExportHoldsWhatDirectSqlFindsInEveryTable) {
  auto store = open();
  writeAnnAndBob(*store);
  const std::string doc = exportSubject(*store, keys_, {{"crm_id", "C-7"}}, "api:token:1234abcd");
  const config::JsonValue v = config::parseJson(doc);
  const config::JsonValue* tables = v.get("tables");
  ASSERT_NE(tables, nullptr) << doc;
  auto db = fx().raw();
  std::string profiles_in;
  for (const std::string& p : annProfiles())
    profiles_in += (profiles_in.empty() ? "'" : ", '") + p + "'";
  const std::string is_ann = "(" + fx().idText("profile_id") + ") IN (" + profiles_in + ")";
  const std::map<std::string, std::string> expected = {
      {"profiles",
       "SELECT count(*) FROM profiles WHERE (" + fx().idText("id") + ") IN (" + profiles_in + ")"},
      {"identities", "SELECT count(*) FROM identities WHERE " + is_ann},
      {"events", "SELECT count(*) FROM events WHERE " + is_ann},
      {"consents", "SELECT count(*) FROM consents WHERE " + is_ann},
      {"profile_merges",
       "SELECT count(*) FROM profile_merges WHERE into_profile IN (" + profiles_in + ")"},
      {"dead_letters", "SELECT count(*) FROM dead_letters"},
      {"identity_conflicts", "SELECT count(*) FROM identity_conflicts"},
  };
  for (const auto& [table, sql] : expected) {
    const config::JsonValue* rows = tables->get(table);
    ASSERT_NE(rows, nullptr) << table;
    EXPECT_EQ(std::to_string(rows->items.size()), db->one(sql)) << table << "\n" << doc;
  }
  EXPECT_EQ(tables->get("events")->items.size(), 5u);  // a1..a5 (a6 is a dead letter)
  EXPECT_EQ(tables->get("identities")->items.size(), 3u);
  EXPECT_EQ(tables->get("profile_merges")->items.size(), 2u);
  // Identities carry source systems, seen ranges and the pseudonym as stored.
  const std::string email = hasher_.pseudonymize("email", "ann@example.com");
  bool found = false;
  for (const auto& row : tables->get("identities")->items) {
    if (row.get("hash")->string == email) {
      found = true;
      EXPECT_EQ(row.get("source")->string, "crm");
      EXPECT_EQ(row.get("first_seen")->integer, 1000);
    }
  }
  EXPECT_TRUE(found) << doc;
  EXPECT_NE(tables->get("events")->items[0].get("attributes")->get("first_name"), nullptr);
  ASSERT_NE(v.get("privacy"), nullptr);
  EXPECT_NE(v.get("privacy")->get("pseudonymised"), nullptr);
  // The export is audited and lists itself among the entries about the subject.
  ASSERT_EQ(v.get("audit")->items.size(), 1u) << doc;
  EXPECT_EQ(v.get("audit")->items[0].get("action")->string, "export");
  EXPECT_EQ(v.get("audit")->items[0].get("actor")->string, "api:token:1234abcd");
  EXPECT_EQ(doc.find("bob"), std::string::npos);
}

TEST_P(Rights, PurgeDeletesExactlyTheExpiredRowsAndDryRunCountsTheSame) {
  auto store = open();
  const int64_t now = 400 * kDay;
  event::Batch b;
  add(b, "old-call", {{"email", "carl@example.com"}}, now - 50 * kDay,
      "call_center");  // > 30d: expired
  add(b, "new-call", {{"email", "dora@example.com"}}, now - 10 * kDay, "call_center");  // kept
  add(b, "old-crm", {{"email", "dora@example.com"}}, now - 200 * kDay, "crm");  // < 1y: kept
  add(b, "ancient", {{"email", "eve@example.com"}}, now - 399 * kDay, "crm");   // > 1y: expired
  ASSERT_OK(store->writeBatch("p", "crm", b));
  const RetentionPolicy policy =
      parseRetention(R"({"default":"1y","call_center":"30d","dead_letters":"30d"})");
  const PurgeReport dry = purgeExpired(*store, policy, true, 0, now, "cli:test");
  auto count = [](const PurgeReport& r, const std::string& t) {
    for (const auto& c : r.deleted) {
      if (c.table == t) return c.rows;
    }
    return uint64_t{99};
  };
  EXPECT_EQ(count(dry, "events"), 2u);
  EXPECT_EQ(count(dry, "profiles"), 2u);  // carl and eve have nothing left
  EXPECT_EQ(count(dry, "identities"), 2u);
  auto db = fx().raw();
  EXPECT_EQ(db->one("SELECT count(*) FROM events"), "4");  // the dry run changed nothing
  const PurgeReport real =
      purgeExpired(*store, policy, false, 1, now, "cli:test");  // one event per round
  EXPECT_TRUE(real.more);
  const PurgeReport rest = purgeExpired(*store, policy, false, 1, now, "cli:test");
  const PurgeReport last = purgeExpired(*store, policy, false, 1, now, "cli:test");
  EXPECT_FALSE(last.more);
  for (const char* t : {"events", "profiles", "identities"}) {
    EXPECT_EQ(count(real, t) + count(rest, t) + count(last, t), count(dry, t)) << t;
  }
  EXPECT_EQ(db->one("SELECT count(*) FROM events"), "2");
  EXPECT_EQ(db->one("SELECT count(*) FROM profiles"), "1");
  EXPECT_TRUE(store->findProfile("email", "dora@example.com").has_value());
  EXPECT_FALSE(store->findProfile("email", "eve@example.com").has_value());
  EXPECT_EQ(db->one("SELECT count(*) FROM audit_log WHERE action = 'purge'"), "3");
  EXPECT_THROW(parseRetention(R"({"default":"3 years"})"), std::invalid_argument);
  EXPECT_EQ(*parseDuration("400d"), 400 * kDay);
}

TEST_P(Rights, EraseTakesTheSubjectsVaultTokensButKeepsSharedOnes) {
  auto store = open();
  const std::string own = "tk1:0badc0de:" + std::string(32, 'a');
  const std::string shared = "tk1:0badc0de:" + std::string(32, 'b');
  event::Batch b;
  add(b, "a1", {{"email", "ann@example.com"}}).set("card", event::Value::string(own));
  add(b, "a2", {{"email", "ann@example.com"}}).set("street", event::Value::string(shared));
  add(b, "b1", {{"email", "bob@example.com"}}).set("street", event::Value::string(shared));
  ASSERT_OK(store->writeBatch("p", "crm", b));
  auto db = fx().raw();
  for (const std::string& t : {own, shared}) {
    db->exec("INSERT INTO vault (token, key_id, sealed, created_at) VALUES ('" + t + "', '0badc0de', 'x', 1)");
  }
  const std::string doc = exportSubject(*store, keys_, {{"email", "ann@example.com"}}, "cli:dpo");
  EXPECT_EQ(config::parseJson(doc).get("tables")->get("vault")->items.size(), 2u) << doc;
  const EraseReport r = eraseSubject(*store, keys_, request({{"email", "ann@example.com"}}));
  EXPECT_TRUE(r.held);
  EXPECT_EQ(db->one("SELECT count(*) FROM vault WHERE token = '" + own + "'"), "0");
  EXPECT_EQ(db->one("SELECT count(*) FROM vault WHERE token = '" + shared + "'"), "1");  // Bob still uses it
}

INSTANTIATE_TEST_SUITE_P(Backends, Rights,
                         ::testing::Values(BackendKind::SqliteFile, BackendKind::Postgres),
                         [](const ::testing::TestParamInfo<BackendKind>& info) {
                           return kindName(info.param);
                         });

TEST(RightsOdbc, TheOdbcBackendRefusesClearly) {
  if (!OdbcEnv::shared().hasSqlite()) GTEST_SKIP() << "ODBC SQLite driver not installed";
  BackendFixture fx(BackendKind::OdbcSqlite, "odbc_rights");
  privacy::KeyedHasher hasher(std::string(32, 'k')), suppression(std::string(32, 's'));
  StoreOptions options;
  options.hasher = &hasher;
  options.suppression_key = &suppression;
  auto store = openStore(fx.uri(), options);
  RightsKeys keys{&hasher, &suppression, {}};
  try {
    eraseSubject(*store, keys, request({{"email", "ann@example.com"}}));
    FAIL() << "no error";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("use a SQLite or PostgreSQL store"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace omniloop::store::testing
