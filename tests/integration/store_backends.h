#pragma once
// The store backends the conformance suite runs against, each with a fresh store per test and
// raw SQL access to what the store wrote (bypassing it): a SQLite file, PostgreSQL (libpq),
// ODBC with Debian's SQLite driver, ODBC with Debian's PostgreSQL driver.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../support/odbc_env.h"
#include "../support/pg_server.h"

namespace omniloop::store::testing {

enum class BackendKind { SqliteFile, Postgres, OdbcSqlite, OdbcPostgres };

inline std::string kindName(BackendKind k) {
  switch (k) {
    case BackendKind::SqliteFile: return "SqliteFile";
    case BackendKind::Postgres: return "Postgres";
    case BackendKind::OdbcSqlite: return "OdbcSqlite";
    case BackendKind::OdbcPostgres: return "OdbcPostgres";
  }
  return "?";
}

// Direct SQL on the database under a store.
class Raw {
 public:
  virtual ~Raw() = default;
  virtual void exec(const std::string& sql) = 0;
  // First column of the first row as text ("<null>" for NULL, "<none>" without a row).
  virtual std::string one(const std::string& sql) = 0;
  // Every row's columns joined with '|', rows with '\n'.
  virtual std::string all(const std::string& sql) = 0;
};

class SqliteRaw final : public Raw {
 public:
  explicit SqliteRaw(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~SqliteRaw() override { sqlite3_close(db_); }
  void exec(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (err ? err : "?");
      sqlite3_free(err);
    }
  }
  std::string one(const std::string& sql) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return "<error>";
    }
    std::string out = "<none>";
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? std::string(reinterpret_cast<const char*>(t)) : "<null>";
    }
    sqlite3_finalize(st);
    return out;
  }
  std::string all(const std::string& sql) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return "<error>";
    }
    std::string out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (c > 0) out.push_back('|');
        const unsigned char* t = sqlite3_column_text(st, c);
        out += t ? reinterpret_cast<const char*>(t) : "<null>";
      }
      out.push_back('\n');
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class PgRaw final : public Raw {
 public:
  explicit PgRaw(const std::string& uri) : conn_(PQconnectdb(uri.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) ADD_FAILURE() << PQerrorMessage(conn_);
  }
  ~PgRaw() override { PQfinish(conn_); }
  void exec(const std::string& sql) override {
    PGresult* r = PQexec(conn_, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    }
    PQclear(r);
  }
  std::string one(const std::string& sql) override {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out = "<none>";
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
      out = "<error>";
    } else if (PQntuples(r) > 0) {
      out = PQgetisnull(r, 0, 0) ? "<null>" : PQgetvalue(r, 0, 0);
    }
    PQclear(r);
    return out;
  }
  std::string all(const std::string& sql) override {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
      PQclear(r);
      return "<error>";
    }
    for (int i = 0; i < PQntuples(r); ++i) {
      for (int c = 0; c < PQnfields(r); ++c) {
        if (c > 0) out.push_back('|');
        out += PQgetisnull(r, i, c) ? "<null>" : PQgetvalue(r, i, c);
      }
      out.push_back('\n');
    }
    PQclear(r);
    return out;
  }

 private:
  PGconn* conn_;
};

// One fresh store location of a backend kind, with its dialect's SQL for the test's probes.
class BackendFixture {
 public:
  BackendFixture(BackendKind kind, const std::string& test_name) : kind_(kind) {
    namespace fs = std::filesystem;
    static std::atomic<int> counter{0};
    dir_ = (fs::temp_directory_path() /
            ("omniloop_conf_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" + test_name))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    switch (kind_) {
      case BackendKind::SqliteFile:
        path_ = dir_ + "/cdp.db";
        uri_ = "sqlite:" + path_;
        break;
      case BackendKind::OdbcSqlite:
        path_ = dir_ + "/cdp.db";
        uri_ = "odbc:Driver=" + std::string(omniloop::testing::OdbcEnv::kSqliteDriver) + ";Database=" + path_;
        break;
      case BackendKind::Postgres:
      case BackendKind::OdbcPostgres: {
        auto& pg = omniloop::testing::PgServer::shared();
        database_ = pg.createDatabase("conf");
        raw_uri_ = pg.uri(database_);
        uri_ = kind_ == BackendKind::Postgres ? raw_uri_ : "odbc:DSN=omniloop_pg;Database=" + database_;
        break;
      }
    }
  }
  ~BackendFixture() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (!database_.empty()) {
      try {
        omniloop::testing::PgServer::shared().dropDatabase(database_);
      } catch (...) {
      }
    }
  }

  BackendKind kind() const { return kind_; }
  bool postgres() const { return kind_ == BackendKind::Postgres || kind_ == BackendKind::OdbcPostgres; }
  const std::string& uri() const { return uri_; }
  const std::string& dir() const { return dir_; }
  const std::string& path() const { return path_; }  // SQLite kinds: the file
  std::string backendName() const {
    return kind_ == BackendKind::SqliteFile ? "sqlite" : kind_ == BackendKind::Postgres ? "postgresql" : "odbc";
  }
  std::string dialect() const { return postgres() ? "postgresql" : "sqlite"; }

  std::unique_ptr<Raw> raw() const {
    if (postgres()) return std::make_unique<PgRaw>(raw_uri_);
    return std::make_unique<SqliteRaw>(path_);
  }

  std::string tableExists(const std::string& table) const {
    return postgres() ? "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '" +
                            table + "'"
                      : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'";
  }
  // The SQL expression of attribute `dotted` ("orders.count") of events.attributes, as text.
  std::string attribute(const std::string& dotted) const {
    if (!postgres()) return "json_extract(attributes, '$." + dotted + "')";
    std::string path;
    for (char c : dotted) path.push_back(c == '.' ? ',' : c);
    return "(attributes #>> '{" + path + "}')";
  }
  // SQLite stores canonical ids and hashes as BLOBs (schemas/cdp/sqlite/0002_identity.sql),
  // anything else as text; these give the SQL that compares or shows them as text whatever
  // the backend chose.
  // `column` = id (32 hex).
  std::string idIs(const std::string& column, const std::string& id) const {
    if (postgres()) return column + " = '" + id + "'";
    return "(" + column + " = X'" + id + "' OR " + column + " = '" + id + "')";
  }
  // `column` (an id) as 32 hex.
  std::string idText(const std::string& column) const {
    if (postgres()) return column;
    return "CASE typeof(" + column + ") WHEN 'blob' THEN lower(hex(" + column + ")) ELSE " + column + " END";
  }
  // `column` (an identity hash) as "h1:<key id>:<hex>".
  std::string hashText(const std::string& column) const {
    if (postgres()) return column;
    return "CASE WHEN typeof(" + column + ") = 'blob' AND length(" + column + ") = 36 THEN 'h1:' || lower(hex(substr(" +
           column + ", 1, 4))) || ':' || lower(hex(substr(" + column + ", 5))) ELSE " + column + " END";
  }
  void injectFailure(Raw& raw, const std::string& event_id) const {
    if (postgres()) {
      raw.exec("CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = '" +
               event_id + "' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$");
      raw.exec("CREATE TRIGGER inject_failure BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION inject_failure()");
    } else {
      raw.exec("CREATE TRIGGER inject_failure BEFORE INSERT ON events WHEN " + idIs("NEW.id", event_id) +
               " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    }
  }
  void clearFailure(Raw& raw) const {
    if (postgres()) {
      raw.exec("DROP TRIGGER inject_failure ON events");
      raw.exec("DROP FUNCTION inject_failure()");
    } else {
      raw.exec("DROP TRIGGER inject_failure");
    }
  }
  // Holds what a writer needs until release() (another writer in the middle of a transaction).
  void holdWriteLock(Raw& raw) const {
    if (postgres()) {
      raw.exec("BEGIN");
      raw.exec("LOCK TABLE profiles, identities, events IN ACCESS EXCLUSIVE MODE");
    } else {
      raw.exec("PRAGMA busy_timeout = 0");
      raw.exec("BEGIN IMMEDIATE");
    }
  }
  void release(Raw& raw) const { raw.exec("ROLLBACK"); }

  // Every row of every table as text (for "no clear value anywhere").
  std::string dumpAll(Raw& raw) const {
    std::string out;
    for (const char* t : {"schema_version", "profiles", "identities", "events", "consents", "profile_merges",
                          "suppressions", "dead_letters", "checkpoints", "audit_log"}) {
      out += raw.all(std::string("SELECT * FROM ") + t);
    }
    return out;
  }

 private:
  BackendKind kind_;
  std::string dir_;
  std::string path_;
  std::string uri_;
  std::string raw_uri_;
  std::string database_;
};

// Sets up what the backends need once per test process: the ODBC ini files (with a DSN for
// the test PostgreSQL server), and the server itself on first use.
inline void prepareBackends() {
  auto& odbc = omniloop::testing::OdbcEnv::shared();
  static std::once_flag once;
  std::call_once(once, [&] {
    auto& pg = omniloop::testing::PgServer::shared();
    odbc.addDsn("omniloop_pg", "Driver=" + std::string(omniloop::testing::OdbcEnv::kPostgresDriver) +
                                   "\nServername=127.0.0.1\nPort=" + std::to_string(pg.port()) +
                                   "\nUsername=omniloop\nPassword=" + pg.password() + "\nDatabase=postgres\n");
  });
}

}  // namespace omniloop::store::testing
