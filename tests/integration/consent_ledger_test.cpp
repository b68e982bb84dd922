// The consent ledger on every store backend: what is recorded with which evidence, newest
// captured_at wins whatever the arrival order, replays record nothing twice, and another store
// instance on the same database (another daemon) sees a withdrawal after its refresh interval.
#include <chrono>
#include <thread>

#include "event/event.h"
#include "privacy/keyed_hasher.h"
#include "store/store.h"
#include "store_backends.h"

namespace omniloop::store::testing {
namespace {

using event::ConsentStatus;
using omniloop::testing::OdbcEnv;
using omniloop::testing::PgServer;

class GlobalBackends : public ::testing::Environment {
 public:
  void SetUp() override { prepareBackends(); }
  void TearDown() override { PgServer::shared().stop(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new GlobalBackends);

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kT0 = 1767225600000000;  // 2026-01-01

class ConsentLedgerTest : public ::testing::TestWithParam<BackendKind> {
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
  }

  std::unique_ptr<Store> open(int refresh_ms = 2000) {
    StoreOptions o = options_;
    o.consent_refresh_ms = refresh_ms;
    return openStore(fixture_->uri(), o);
  }

  // One event of `email` (and optionally a crm id) carrying $consent.marketing = `status`.
  static void add(event::Batch& b, std::string_view key, std::string_view email,
                  ConsentStatus status, int64_t at, std::string_view crm_id = {}) {
    event::Event* e = b.append();
    e->key = b.intern(key);
    e->channel = "crm";
    e->occurred_at_us = at;
    e->setIdentity("email", b.intern(email));
    if (!crm_id.empty()) e->setIdentity("crm_id", b.intern(crm_id));
    e->setConsent("marketing", status);
    e->set("consent_notice", event::Value::string("policy-2026-01"));
    event::assignId(*e, "crm", b);
  }

  void write(Store& s, std::string_view key, std::string_view email, ConsentStatus status,
             int64_t at, std::string_view crm_id = {}) {
    event::Batch b(8);
    add(b, key, email, status, at, crm_id);
    const event::Result r = s.writeBatch("crm-consents", "crm", b);
    ASSERT_TRUE(r.isOk()) << r.message;
    ASSERT_TRUE(s.flush("crm-consents", "crm").isOk());
  }

  std::string pseudonym(std::string_view type, std::string_view normalized) {
    return hasher_.pseudonymize(type, normalized);
  }

  ConsentStatus status(Store& s, std::string_view type, std::string_view value,
                       std::string_view purpose = "marketing") {
    privacy::ConsentLedger::Entry entry;
    if (!s.consentLedger().lookup(pseudonym(type, value), purpose, entry))
      return ConsentStatus::Unknown;
    return entry.status;
  }

  privacy::KeyedHasher hasher_{std::string(32, 'k')};
  StoreOptions options_;
  std::unique_ptr<BackendFixture> fixture_;
};

TEST_P(ConsentLedgerTest, RecordsExplicitConsentPerIdentityWithEvidence) {
  auto store = open();
  write(*store, "c1", "amy@example.com", ConsentStatus::Denied, kT0, "CRM-1");
  EXPECT_EQ(status(*store, "email", "amy@example.com"), ConsentStatus::Denied);
  EXPECT_EQ(status(*store, "crm_id", "CRM-1"), ConsentStatus::Denied);
  EXPECT_EQ(status(*store, "email", "bob@example.com"), ConsentStatus::Unknown);
  auto raw = fixture_->raw();
  EXPECT_EQ(
      raw->all(
          "SELECT identity_type, identity_hash, purpose, status, source, captured_at, evidence, "
          "notice_version, pipeline, event_id, tc_string FROM consents ORDER BY identity_type"),
      "crm_id|" + pseudonym("crm_id", "CRM-1") + "|marketing|denied|crm|" + std::to_string(kT0) +
          "|event|policy-2026-01|crm-consents|" + event::makeEventId("crm", "c1") + "|<null>\n" +
          "email|" + pseudonym("email", "amy@example.com") + "|marketing|denied|crm|" +
          std::to_string(kT0) + "|event|policy-2026-01|crm-consents|" +
          event::makeEventId("crm", "c1") + "|<null>\n");
  // Every row carries the profile: the subject's consent history follows the profile.
  EXPECT_EQ(raw->one("SELECT count(*) FROM consents WHERE profile_id IS NULL"), "0");
}

TEST_P(ConsentLedgerTest, NewestCapturedAtWinsInEitherArrivalOrder) {
  auto store = open();
  // Newer grant first, then an older denial arrives: the grant stays.
  write(*store, "a-new", "amy@example.com", ConsentStatus::Granted, kT0 + 2 * kDay);
  write(*store, "a-old", "amy@example.com", ConsentStatus::Denied, kT0 + kDay);
  EXPECT_EQ(status(*store, "email", "amy@example.com"), ConsentStatus::Granted);
  // Older denial first, then the newer grant: the grant wins.
  write(*store, "b-old", "bob@example.com", ConsentStatus::Denied, kT0 + kDay);
  write(*store, "b-new", "bob@example.com", ConsentStatus::Granted, kT0 + 2 * kDay);
  EXPECT_EQ(status(*store, "email", "bob@example.com"), ConsentStatus::Granted);
  // A later withdrawal wins over the grant.
  write(*store, "b-withdraw", "bob@example.com", ConsentStatus::Denied, kT0 + 3 * kDay);
  EXPECT_EQ(status(*store, "email", "bob@example.com"), ConsentStatus::Denied);
  // The history stays (proof), and a reopened store rebuilds the same view from it.
  EXPECT_EQ(fixture_->raw()->one("SELECT count(*) FROM consents"), "5");
  store.reset();
  auto reopened = open();
  EXPECT_EQ(status(*reopened, "email", "amy@example.com"), ConsentStatus::Granted);
  EXPECT_EQ(status(*reopened, "email", "bob@example.com"), ConsentStatus::Denied);
}

TEST_P(ConsentLedgerTest, ReplayedBatchRecordsNothingTwice) {
  auto store = open();
  write(*store, "c1", "amy@example.com", ConsentStatus::Granted, kT0, "CRM-1");
  write(*store, "c1", "amy@example.com", ConsentStatus::Granted, kT0, "CRM-1");
  EXPECT_EQ(fixture_->raw()->one("SELECT count(*) FROM consents"), "2");
}

TEST_P(ConsentLedgerTest, AnotherStoreInstanceSeesAWithdrawalAfterItsRefreshInterval) {
  auto writer = open();
  auto reader = open(200);  // another daemon on the same database, refreshing every 200 ms
  write(*writer, "g", "amy@example.com", ConsentStatus::Granted, kT0);
  EXPECT_EQ(status(*writer, "email", "amy@example.com"), ConsentStatus::Granted);  // at commit
  // Poll like the consent stage does (maybeRefresh once per batch) until the bound has passed.
  const auto until = [&](ConsentStatus want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < deadline) {
      reader->consentLedger().maybeRefresh();
      if (status(*reader, "email", "amy@example.com") == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  EXPECT_TRUE(until(ConsentStatus::Granted));
  write(*writer, "w", "amy@example.com", ConsentStatus::Denied, kT0 + kDay);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(until(ConsentStatus::Denied));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
}

TEST_P(ConsentLedgerTest, UnknownStatusIsNotRecorded) {
  auto store = open();
  write(*store, "u", "amy@example.com", ConsentStatus::Unknown, kT0);
  EXPECT_EQ(fixture_->raw()->one("SELECT count(*) FROM consents"), "0");
  EXPECT_EQ(store->consentLedger().size(), 0U);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConsentLedgerTest,
                         ::testing::Values(BackendKind::SqliteFile, BackendKind::Postgres,
                                           BackendKind::OdbcSqlite, BackendKind::OdbcPostgres),
                         [](const ::testing::TestParamInfo<BackendKind>& info) {
                           return kindName(info.param);
                         });

}  // namespace
}  // namespace omniloop::store::testing
