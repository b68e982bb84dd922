// crm.odbc as a user runs it: `omniloop run` over a SuiteCRM fixture database reached through
// Debian's real ODBC drivers (SQLite ODBC, PostgreSQL ODBC on the test server), into a real
// SQLite store. The fixture DDL is written from the public SuiteCRM 7 vardefs (table and
// column names only).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/e2e/command.h"
#include "tests/support/odbc_env.h"
#include "tests/support/pg_server.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

const std::string kKeyEnv = "OMNILOOP_KEY=" + std::string(64, '7');

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Rows of `sql` over a SQLite file as "a|b|c" strings.
std::vector<std::string> query(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    return rows;
  }
  sqlite3_busy_timeout(h, 2000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        if (i) row += "|";
        const unsigned char* t = sqlite3_column_text(st, i);
        row += t ? reinterpret_cast<const char*>(t) : "NULL";
      }
      rows.push_back(row);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

int64_t count(const std::string& db, const std::string& sql) {
  const auto r = query(db, sql);
  return r.empty() ? -1 : std::stoll(r[0]);
}

// A 36-character id like SuiteCRM's UUIDs (char(36) columns pad shorter values).
std::string uid(const char* prefix, int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s-0000-4000-8000-%012d", prefix, n);
  return buf;
}

// The fixture CRM database: SQLite file or PostgreSQL database.
class Crm {
 public:
  virtual ~Crm() = default;
  virtual void exec(const std::string& sql) = 0;
  virtual std::string connection() const = 0;
  virtual std::string ts() const = 0;  // the type of DATETIME columns

  void createSchema() {
    const std::string t = ts();
    // SuiteCRM 7 (modules/Contacts/vardefs.php, Person template, basic template).
    const std::string person =
        "date_entered " + t + " NULL, date_modified " + t +
        " NULL, modified_user_id CHAR(36) NULL, created_by CHAR(36) NULL, description TEXT NULL, "
        "deleted SMALLINT DEFAULT 0, assigned_user_id CHAR(36) NULL, salutation VARCHAR(255) NULL, "
        "first_name VARCHAR(100) NULL, last_name VARCHAR(100) NULL, title VARCHAR(100) NULL, "
        "photo VARCHAR(255) NULL, department VARCHAR(255) NULL, do_not_call SMALLINT DEFAULT 0, "
        "phone_home VARCHAR(100) NULL, phone_mobile VARCHAR(100) NULL, phone_work VARCHAR(100) "
        "NULL, phone_other VARCHAR(100) NULL, phone_fax VARCHAR(100) NULL, lawful_basis TEXT NULL, "
        "primary_address_street VARCHAR(150) NULL, primary_address_city VARCHAR(100) NULL, "
        "primary_address_state VARCHAR(100) NULL, primary_address_postalcode VARCHAR(20) NULL, "
        "primary_address_country VARCHAR(255) NULL, alt_address_street VARCHAR(150) NULL, "
        "alt_address_city VARCHAR(100) NULL, alt_address_state VARCHAR(100) NULL, "
        "alt_address_postalcode VARCHAR(20) NULL, alt_address_country VARCHAR(255) NULL, "
        "assistant VARCHAR(75) NULL, assistant_phone VARCHAR(100) NULL, lead_source VARCHAR(255) "
        "NULL, birthdate DATE NULL, campaign_id CHAR(36) NULL";
    exec("CREATE TABLE contacts (id CHAR(36) PRIMARY KEY, " + person +
         ", reports_to_id CHAR(36) NULL)");
    exec("CREATE TABLE leads (id CHAR(36) PRIMARY KEY, " + person +
         ", converted SMALLINT DEFAULT 0, refered_by VARCHAR(100) NULL, status VARCHAR(100) NULL, "
         "account_name VARCHAR(255) NULL, contact_id CHAR(36) NULL, account_id CHAR(36) NULL, "
         "opportunity_id CHAR(36) NULL, website VARCHAR(255) NULL)");
    exec("CREATE TABLE accounts (id CHAR(36) PRIMARY KEY, name VARCHAR(150) NULL, date_entered " +
         t + " NULL, date_modified " + t +
         " NULL, deleted SMALLINT DEFAULT 0, account_type VARCHAR(50) NULL, industry VARCHAR(50) "
         "NULL, annual_revenue VARCHAR(100) NULL, phone_office VARCHAR(100) NULL, "
         "billing_address_street VARCHAR(150) NULL, billing_address_city VARCHAR(100) NULL, "
         "billing_address_country VARCHAR(255) NULL, website VARCHAR(255) NULL, parent_id "
         "CHAR(36) NULL)");
    exec(
        "CREATE TABLE accounts_contacts (id CHAR(36) PRIMARY KEY, contact_id CHAR(36) NULL, "
        "account_id CHAR(36) NULL, date_modified " +
        t + " NULL, deleted SMALLINT DEFAULT 0)");
    exec(
        "CREATE TABLE email_addresses (id CHAR(36) PRIMARY KEY, email_address VARCHAR(255) NULL, "
        "email_address_caps VARCHAR(255) NULL, invalid_email SMALLINT DEFAULT 0, opt_out "
        "SMALLINT DEFAULT 0, confirm_opt_in VARCHAR(255) NULL, date_created " +
        t + " NULL, date_modified " + t + " NULL, deleted SMALLINT DEFAULT 0)");
    exec(
        "CREATE TABLE email_addr_bean_rel (id CHAR(36) PRIMARY KEY, email_address_id CHAR(36) "
        "NOT NULL, bean_id CHAR(36) NULL, bean_module VARCHAR(100) NULL, primary_address "
        "SMALLINT DEFAULT 0, reply_to_address SMALLINT DEFAULT 0, date_created " +
        t + " NULL, date_modified " + t + " NULL, deleted SMALLINT DEFAULT 0)");
  }

  void contact(const std::string& id, const std::string& modified, const std::string& first,
               const std::string& last, const std::string& extra_cols = "",
               const std::string& extra_vals = "") {
    exec("INSERT INTO contacts (id, date_modified, first_name, last_name" + extra_cols +
         ") VALUES ('" + id + "', '" + modified + "', '" + first + "', '" + last + "'" +
         extra_vals + ")");
  }

  void email(int n, const std::string& bean, const std::string& module, const std::string& addr,
             int primary, int opt_out, int invalid) {
    exec(
        "INSERT INTO email_addresses (id, email_address, email_address_caps, opt_out, "
        "invalid_email, deleted) VALUES ('" +
        uid("eeeeeeee", n) + "', '" + addr + "', UPPER('" + addr + "'), " +
        std::to_string(opt_out) + ", " + std::to_string(invalid) + ", 0)");
    exec(
        "INSERT INTO email_addr_bean_rel (id, email_address_id, bean_id, bean_module, "
        "primary_address, deleted) VALUES ('" +
        uid("rrrrrrrr", n) + "', '" + uid("eeeeeeee", n) + "', '" + bean + "', '" + module + "', " +
        std::to_string(primary) + ", 0)");
  }

  // The scenario of the main test. Returns nothing; the test knows what it holds.
  void fillScenario() {
    createSchema();
    // Amy: non-ASCII names, three addresses (the work one opted out), two phones, an account.
    contact(uid("aaaaaaaa", 1), "2026-11-02 09:00:00", "Zoë", "Ångström-Łukasiewicz",
            ", phone_mobile, phone_work, birthdate, primary_address_city",
            ", '+44 7911 123456', '+44 20 7946 0001', '1990-04-01', 'Kraków'");
    email(1, uid("aaaaaaaa", 1), "Contacts", "amy.old@example.org", 0, 0, 0);
    email(2, uid("aaaaaaaa", 1), "Contacts", "amy@example.org", 1, 0, 0);
    email(3, uid("aaaaaaaa", 1), "Contacts", "amy.work@example.com", 0, 1, 0);
    // Same second as Amy: three rows with one date_modified across pages of two.
    contact(uid("aaaaaaaa", 2), "2026-11-02 09:00:00", "Bob", "Dnc", ", do_not_call", ", 1");
    contact(uid("aaaaaaaa", 3), "2026-11-02 09:00:00", "Cleo", "Same");
    email(4, uid("aaaaaaaa", 3), "Contacts", "cleo@invalid", 1, 0, 1);  // invalid_email
    // Deleted.
    contact(uid("aaaaaaaa", 4), "2026-11-03 10:00:00", "Dora", "Gone", ", deleted", ", 1");
    // NULL everywhere a column allows it (no modification time either).
    exec("INSERT INTO contacts (id, deleted, do_not_call) VALUES ('" + uid("aaaaaaaa", 5) +
         "', NULL, NULL)");
    exec(
        "INSERT INTO leads (id, date_modified, first_name, last_name, status, account_name) "
        "VALUES ('" +
        uid("bbbbbbbb", 1) + "', '2026-11-04 08:00:00', 'Émile', 'Zola', 'New', 'Rougon SA')");
    email(5, uid("bbbbbbbb", 1), "Leads", "emile@example.fr", 1, 0, 0);
    exec("INSERT INTO accounts (id, name, date_modified, industry) VALUES ('" + uid("cccccccc", 1) +
         "', 'Ångström AB', '2026-11-01 12:00:00', 'Retail')");
    exec("INSERT INTO accounts_contacts (id, contact_id, account_id, deleted) VALUES ('" +
         uid("dddddddd", 1) + "', '" + uid("aaaaaaaa", 1) + "', '" + uid("cccccccc", 1) + "', 0)");
  }
};

class SqliteCrm : public Crm {
 public:
  explicit SqliteCrm(std::string path) : path_(std::move(path)) {}
  void exec(const std::string& sql) override {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    char* err = nullptr;
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(h);
    ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << msg;
  }
  std::string connection() const override {
    return "Driver=" + std::string(OdbcEnv::kSqliteDriver) + ";Database=" + path_ + ";NoCreat=1";
  }
  std::string ts() const override { return "DATETIME"; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class PgCrm : public Crm {
 public:
  PgCrm() : db_(PgServer::shared().createDatabase("crm")) {}
  ~PgCrm() override { PgServer::shared().dropDatabase(db_); }
  void exec(const std::string& sql) override {
    PGconn* c = PQconnectdb(PgServer::shared().uri(db_).c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PGresult* r = PQexec(c, sql.c_str());
    const auto status = PQresultStatus(r);
    const std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    ASSERT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) << sql << ": " << msg;
  }
  // The password comes from password_env: the connection string holds the placeholder.
  std::string connection() const override {
    return "Driver={" + std::string(OdbcEnv::kPostgresDriver) +
           "};Servername=127.0.0.1;Port=" + std::to_string(PgServer::shared().port()) +
           ";Database=" + db_ + ";Username=omniloop;Password=${password}";
  }
  std::string ts() const override { return "TIMESTAMP"; }
  const std::string& db() const { return db_; }

 private:
  std::string db_;
};

std::string pipeline(const Crm& crm, const std::string& extra_with = "",
                     const std::string& secret = "") {
  return "version: 1\nname: crm\n"
         "allow_clear:\n"
         "  first_name: \"test fixture names are asserted\"\n"
         "  last_name: \"test fixture names are asserted\"\n"
         "  salutation: \"test\"\n  title: \"test\"\n  birthdate: \"test\"\n"
         "  address: \"test\"\n"
         "source:\n  type: crm.odbc\n  with:\n    connection: \"" +
         crm.connection() + "\"\n" + (secret.empty() ? "" : "    password_env: CRM_TEST_PW\n") +
         "    batch_rows: 2\n    poll_interval: 0.2\n"
         "    consent_map: { do_not_call: [telemarketing], email_opt_out: [marketing] }\n" +
         extra_with +
         // The consents each event carries, copied into attributes where the test can see them.
         "stages:\n  - map:\n      copy: { $consent.marketing: consent.marketing, "
         "$consent.telemarketing: consent.telemarketing }\n"
         "sink:\n  type: cdp\n";
}

CommandResult run(const std::string& dir, const std::vector<std::string>& extra = {},
                  const std::function<void(pid_t)>& during = nullptr) {
  std::vector<std::string> argv = {omniloopBin(), "run", dir + "/p.yaml", "--store",
                                   "sqlite:" + dir + "/cdp.db"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  OdbcEnv::shared();  // ODBCSYSINI / ODBCINI for the child too
  return runCommand(argv,
                    {kKeyEnv, "OMNILOOP_PLUGIN_PATH=" + std::string(OMNILOOP_PLUGIN_DIR),
                     "CRM_TEST_PW=" + PgServer::shared().password()},
                    during);
}

int64_t jsonNumber(const std::string& out, const std::string& key) {
  const size_t at = out.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::stoll(out.substr(at + key.size() + 3));
}

// What the scenario must produce, whatever the driver.
void checkScenario(const std::string& dir, const CommandResult& r) {
  const std::string db = dir + "/cdp.db";
  // 5 contact rows + 1 lead + 1 account read; the NULL-key row (SQLite only) is a dead letter.
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'contact.snapshot'"), 4) << r.out;
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'contact.deleted'"), 1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'lead.snapshot'"), 1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'account.snapshot'"), 1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE channel <> 'crm'"), 0);
  // Non-ASCII names arrive intact.
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM events WHERE json_extract(attributes, "
                  "'$.last_name') = 'Ångström-Łukasiewicz' AND json_extract(attributes, "
                  "'$.first_name') = 'Zoë' AND json_extract(attributes, '$.address.city') = "
                  "'Kraków'"),
            1);
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM events WHERE json_extract(attributes, '$.name') = "
                  "'Ångström AB'"),
            1);
  // Amy's three addresses are identities (opted out or not); Cleo's invalid one is not.
  const std::string amy =
      "(SELECT profile_id FROM events WHERE json_extract(attributes, "
      "'$.crm.id') = '" +
      uid("aaaaaaaa", 1) + "')";
  EXPECT_EQ(
      count(db, "SELECT count(*) FROM identities WHERE type = 'email' AND profile_id = " + amy), 3);
  EXPECT_EQ(count(db, "SELECT count(*) FROM identities WHERE type = 'email'"), 4);  // + Émile
  EXPECT_EQ(count(db,
                  "SELECT json_extract(attributes, '$.emails') FROM events WHERE "
                  "json_extract(attributes, '$.crm.id') = '" +
                      uid("aaaaaaaa", 3) + "'"),
            0);
  EXPECT_EQ(
      count(db, "SELECT count(*) FROM identities WHERE type = 'phone' AND profile_id = " + amy), 2);
  EXPECT_EQ(count(db,
                  "SELECT json_array_length(attributes, '$.account_ids') FROM events WHERE "
                  "profile_id = " +
                      amy),
            1);
  // One opted-out address: marketing denied for Amy; do_not_call: telemarketing denied for Bob.
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM events WHERE json_extract(attributes, "
                  "'$.consent.marketing') = 'denied' AND json_extract(attributes, '$.crm.id') = '" +
                      uid("aaaaaaaa", 1) + "' AND type = 'contact.snapshot'"),
            1);
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM events WHERE json_extract(attributes, "
                  "'$.consent.telemarketing') = 'denied' AND json_extract(attributes, "
                  "'$.crm.id') = '" +
                      uid("aaaaaaaa", 2) + "'"),
            1);
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM events WHERE json_extract(attributes, '$.consent') "
                  "IS NOT NULL"),
            2);
  // Amy's extra addresses and her second phone came as contact.identity events.
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'contact.identity'"), 3);
  // The all-NULL row is there, without a time of its own from the CRM.
  EXPECT_EQ(
      count(db,
            "SELECT count(*) FROM events WHERE json_extract(attributes, '$.crm.id') = "
            "'" +
                uid("aaaaaaaa", 5) + "' AND json_extract(attributes, '$.first_name') IS NULL"),
      1);
  // Times are the CRM's modification times (UTC): Amy, Bob, Cleo and Amy's 3 identity events.
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE occurred_at = 1793610000000000"), 6);
}

std::string lastDirOf(const std::string& name) {
  return tempDir(name);
}

}  // namespace

TEST(CrmOdbc, SqliteSuiteCrmSnapshotsDeletesConsentsAndANullKeyDeadLetter) {
  ASSERT_TRUE(OdbcEnv::shared().hasSqlite()) << "libsqliteodbc is not installed";
  const std::string dir = lastDirOf("crm-sqlite");
  SqliteCrm crm(dir + "/suitecrm.db");
  crm.fillScenario();
  // SQLite lets a legacy TEXT primary key be NULL: a row nobody can follow.
  crm.exec(
      "INSERT INTO contacts (id, date_modified, first_name) VALUES (NULL, '2026-11-02 "
      "11:00:00', 'Nobody')");
  writeFile(dir + "/p.yaml", pipeline(crm));
  const CommandResult r = run(dir, {"--json", "--stop-when-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(jsonNumber(r.out, "read"), 11) << r.out;  // every row exactly once (+3 identity events)
  checkScenario(dir, r);
  const auto reasons = query(dir + "/cdp.db", "SELECT reason FROM dead_letters");
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("table contacts, key ol_id = NULL"), std::string::npos) << reasons[0];
  EXPECT_EQ(reasons[0].find("Nobody"), std::string::npos);

  // Nothing new: nothing read. Then Bob is updated twice in one second and Cleo once: each
  // comes again as a new snapshot (the key holds the modification time), nobody else does.
  const CommandResult again = run(dir, {"--json", "--stop-when-idle"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(jsonNumber(again.out, "read"), 0) << again.out;
  crm.exec(
      "UPDATE contacts SET date_modified = '2026-11-05 10:00:00', last_name = 'Later' "
      "WHERE id IN ('" +
      uid("aaaaaaaa", 2) + "', '" + uid("aaaaaaaa", 3) + "')");
  const CommandResult third = run(dir, {"--json", "--stop-when-idle"});
  ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
  EXPECT_EQ(jsonNumber(third.out, "read"), 2) << third.out;
  EXPECT_EQ(count(dir + "/cdp.db",
                  "SELECT count(*) FROM events WHERE json_extract(attributes, "
                  "'$.last_name') = 'Later'"),
            2);
  EXPECT_EQ(count(dir + "/cdp.db", "SELECT count(*) FROM events WHERE type = 'contact.snapshot'"),
            6);
  fs::remove_all(dir);
}

TEST(CrmOdbc, SqliteDatabaseGoneIsRetriedAndReadingResumesFromTheCursor) {
  ASSERT_TRUE(OdbcEnv::shared().hasSqlite());
  const std::string dir = lastDirOf("crm-sqlite-away");
  SqliteCrm crm(dir + "/suitecrm.db");
  crm.createSchema();
  std::string rows = "BEGIN;";
  for (int i = 1; i <= 40; ++i) {
    rows += "INSERT INTO contacts (id, date_modified, first_name) VALUES ('" + uid("aaaaaaaa", i) +
            "', '2026-11-02 09:00:" + (i < 10 ? "0" : "") + std::to_string(i % 60) + "', 'C');";
  }
  crm.exec(rows + "COMMIT;");
  writeFile(dir + "/p.yaml", pipeline(crm));
  const std::string db = dir + "/cdp.db";
  bool seen_all = false, never_created = true;
  const CommandResult r = run(dir, {"--json"}, [&](pid_t pid) {
    auto waitFor = [&](int64_t n) {
      for (int i = 0; i < 300; ++i) {
        if (count(db, "SELECT count(*) FROM events") >= n) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return false;
    };
    if (waitFor(40)) {
      // The database goes away between polls; rows are added meanwhile; it comes back.
      fs::rename(crm.path(), crm.path() + ".away");
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      never_created = !fs::exists(crm.path());  // NoCreat=1: no empty database in its place
      SqliteCrm away(crm.path() + ".away");
      std::string more = "BEGIN;";
      for (int i = 41; i <= 60; ++i) {
        more += "INSERT INTO contacts (id, date_modified, first_name) VALUES ('" +
                uid("aaaaaaaa", i) + "', '2026-11-02 09:01:" + std::to_string(i) + "', 'C');";
      }
      away.exec(more + "COMMIT;");
      fs::rename(crm.path() + ".away", crm.path());
      seen_all = waitFor(60);
    }
    ::kill(pid, SIGTERM);
  });
  EXPECT_TRUE(seen_all) << r.out << r.err;
  EXPECT_TRUE(never_created);
  EXPECT_EQ(jsonNumber(r.out, "read"), 60) << r.out << r.err;  // nothing read twice
  EXPECT_EQ(count(db, "SELECT count(DISTINCT json_extract(attributes, '$.crm.id')) FROM events"),
            60);
  fs::remove_all(dir);
}

TEST(CrmOdbc, KilledAndRestartedEveryRowArrivesExactlyOnce) {
  ASSERT_TRUE(OdbcEnv::shared().hasSqlite());
  const std::string dir = lastDirOf("crm-kill");
  SqliteCrm crm(dir + "/suitecrm.db");
  crm.createSchema();
  constexpr int kRows = 12000;
  std::string rows = "BEGIN;";
  for (int i = 1; i <= kRows; ++i) {
    // Ten rows per second: same-second runs cross every page boundary.
    char ts[32];
    std::snprintf(ts, sizeof ts, "2026-11-02 %02d:%02d:%02d", 8 + i / 36000, (i / 600) % 60,
                  (i / 10) % 60);
    rows += "INSERT INTO contacts (id, date_modified, last_name) VALUES ('" + uid("aaaaaaaa", i) +
            "', '" + ts + "', 'K');";
  }
  crm.exec(rows + "COMMIT;");
  std::string p = pipeline(crm);
  p.replace(p.find("batch_rows: 2"), 13, "batch_rows: 75");
  writeFile(dir + "/p.yaml", p + "batch: { size: 75 }\n");
  const std::string db = dir + "/cdp.db";
  for (int kill = 0; kill < 2; ++kill) {
    run(dir, {"--stop-when-idle"}, [&](pid_t pid) {
      for (int i = 0; i < 400; ++i) {
        if (count(db, "SELECT count(*) FROM events") >= 1000 * (kill + 1)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      ::kill(pid, SIGKILL);
    });
    const int64_t n = count(db, "SELECT count(*) FROM events");
    EXPECT_LT(n, kRows);  // the kill landed mid-read
  }
  const CommandResult last = run(dir, {"--stop-when-idle"});
  ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
  EXPECT_EQ(count(db, "SELECT count(*) FROM events"), kRows);
  EXPECT_EQ(count(db, "SELECT count(DISTINCT json_extract(attributes, '$.crm.id')) FROM events"),
            kRows);
  EXPECT_EQ(count(db, "SELECT count(*) FROM dead_letters"), 0);
  fs::remove_all(dir);
}

TEST(CrmOdbc, PostgresSuiteCrmAndATerminatedSessionMidReadIsRetried) {
  if (!OdbcEnv::shared().hasPostgres()) GTEST_SKIP() << "odbc-postgresql is not installed";
  const std::string dir = lastDirOf("crm-pg");
  PgCrm crm;
  crm.fillScenario();
  writeFile(dir + "/p.yaml", pipeline(crm, "", "env"));
  // The leads table is locked while contacts are read: the reader blocks on it mid-read, its
  // session is terminated, it retries, reconnects and resumes; an update to Amy lands while it
  // waits (between two pages) and arrives as one more snapshot.
  PGconn* lock = PQconnectdb(PgServer::shared().uri(crm.db()).c_str());
  ASSERT_EQ(PQstatus(lock), CONNECTION_OK);
  PQclear(PQexec(lock, "BEGIN"));
  PQclear(PQexec(lock, "LOCK TABLE leads IN ACCESS EXCLUSIVE MODE"));
  int terminated = 0;
  // pg_stat_activity is a snapshot per transaction: look from a connection outside it.
  PGconn* watch = PQconnectdb(PgServer::shared().uri(crm.db()).c_str());
  ASSERT_EQ(PQstatus(watch), CONNECTION_OK);
  const CommandResult r = run(dir, {"--json", "--stop-when-idle"}, [&](pid_t) {
    for (int i = 0; i < 400 && terminated == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      PGresult* q = PQexec(watch,
                           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                           "wait_event_type = 'Lock' AND datname = current_database() AND pid "
                           "<> pg_backend_pid()");
      terminated = PQntuples(q);
      PQclear(q);
    }
    PQclear(PQexec(lock, ("UPDATE contacts SET date_modified = '2026-11-06 10:00:00' WHERE id = '" +
                          uid("aaaaaaaa", 1) + "'")
                             .c_str()));
    PQclear(PQexec(lock, "COMMIT"));
  });
  PQfinish(lock);
  PQfinish(watch);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(terminated, 1);
  EXPECT_EQ(r.err.find(PgServer::shared().password()), std::string::npos);
  EXPECT_EQ(r.out.find(PgServer::shared().password()), std::string::npos);
  // 7 rows (+3 identity events) + Amy's second snapshot (+3), each read once.
  EXPECT_EQ(jsonNumber(r.out, "read"), 14) << r.out << r.err;
  const std::string db = dir + "/cdp.db";
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM events WHERE json_extract(attributes, '$.crm.id') = "
                  "'" +
                      uid("aaaaaaaa", 1) + "' AND type = 'contact.snapshot'"),
            2);
  // Through the PostgreSQL Unicode driver too: names intact, Amy's identities all hers.
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM events WHERE json_extract(attributes, "
                  "'$.last_name') = 'Ångström-Łukasiewicz' AND json_extract(attributes, "
                  "'$.first_name') = 'Zoë'"),
            2);
  EXPECT_EQ(count(db, "SELECT count(*) FROM identities WHERE type = 'email'"), 4);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'contact.deleted'"), 1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'lead.snapshot'"), 1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM dead_letters"), 0);
  fs::remove_all(dir);
}

TEST(CrmOdbc, GenericQueryWithColumnMappingOverSqlite) {
  ASSERT_TRUE(OdbcEnv::shared().hasSqlite());
  const std::string dir = tempDir("crm-generic");
  SqliteCrm crm(dir + "/legacy.db");
  crm.exec(
      "CREATE TABLE kunden (nr TEXT, geaendert TEXT, mail TEXT, handy TEXT, vorname TEXT, "
      "werbung TEXT, geloescht INTEGER)");
  crm.exec(
      "INSERT INTO kunden VALUES ('K1', '2026-10-01 08:00:00', 'k1@example.de', "
      "'+44 7911 123457', 'Jürgen', 'denied', 0), ('K2', '2026-10-01 08:00:00', NULL, NULL, "
      "NULL, NULL, NULL), ('K3', '2026-10-02 08:00:00', NULL, NULL, NULL, NULL, 1), "
      "(NULL, '2026-10-03 08:00:00', 'nokey@example.de', NULL, NULL, NULL, 0)");
  writeFile(dir + "/p.yaml",
            "version: 1\nname: legacy\nallow_clear:\n  first_name: \"test\"\n  last_name: "
            "\"test\"\n  salutation: \"test\"\n  title: \"test\"\n  birthdate: \"test\"\n  "
            "address: \"test\"\nsource:\n  type: crm.odbc\n  with:\n    connection: \"" +
                crm.connection() +
                "\"\n    schema: generic\n    table: kunden\n    entity: customer\n    query: "
                "\"SELECT nr, geaendert, mail, handy, vorname, werbung, geloescht FROM kunden "
                "WHERE COALESCE(geaendert, '') > :cursor_ts OR (COALESCE(geaendert, '') = "
                ":cursor_ts AND COALESCE(nr, '') > :cursor_id) ORDER BY geaendert, nr LIMIT "
                ":batch_rows\"\n    id_column: nr\n    modified_column: geaendert\n    "
                "deleted_column: geloescht\n    batch_rows: 1\n    columns: { mail: "
                "$identities.email, handy: $identities.phone, nr: $identities.crm_id, vorname: "
                "first_name, werbung: $consent.marketing }\nstages:\n  - map:\n      copy: { "
                "$consent.marketing: consent.marketing }\nsink:\n  type: cdp\n");
  const CommandResult r = run(dir, {"--json", "--stop-when-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(jsonNumber(r.out, "read"), 4) << r.out;
  const std::string db = dir + "/cdp.db";
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'customer.snapshot'"), 2);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE type = 'customer.deleted'"), 1);
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM events WHERE json_extract(attributes, "
                  "'$.first_name') = 'Jürgen' AND json_extract(attributes, "
                  "'$.consent.marketing') = 'denied'"),
            1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM identities WHERE type IN ('email', 'phone')"), 2)
      << query(db, "SELECT group_concat(type) FROM identities").at(0);
  const auto reasons = query(db, "SELECT reason FROM dead_letters");
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("table kunden, key nr = NULL"), std::string::npos) << reasons[0];
  EXPECT_EQ(reasons[0].find("nokey@"), std::string::npos);
  if (!HasFailure()) fs::remove_all(dir);
}

TEST(CrmOdbc, ThePasswordNeverAppearsInErrors) {
  if (!OdbcEnv::shared().hasPostgres()) GTEST_SKIP() << "odbc-postgresql is not installed";
  const std::string dir = tempDir("crm-secret");
  PgCrm crm;
  const std::string canary = "Canary-pw-7f3a9";
  writeFile(dir + "/pw", canary + "\n");
  // A wrong password (refused login: not retried) given through password_file, and the same
  // canary typed into the connection string by mistake.
  std::string p = pipeline(crm);
  const std::string conn = crm.connection();
  std::string bad = conn;
  bad.replace(bad.find("${password}"), 11, "${password};PWD=" + canary);
  p.replace(p.find(conn), conn.size(), bad);
  p.replace(p.find("    batch_rows"), 0, "    password_file: " + dir + "/pw\n");
  writeFile(dir + "/p.yaml", p);
  const CommandResult r = run(dir, {"--stop-when-idle"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ((r.out + r.err).find(canary), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("crm.odbc: cannot connect"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("[secret]"), std::string::npos) << r.out << r.err;
  fs::remove_all(dir);
}
