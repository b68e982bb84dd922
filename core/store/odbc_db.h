#pragma once
// Thin RAII over the ODBC 3 API (unixODBC): an environment + connection, prepared statements
// with text/integer/binary parameters and text results, diagnostics turned into OdbcError (a
// StoreError). Statements are (re)prepared lazily on each new connection, so a store survives
// a reconnect.
//
// Messages keep the driver's first line and SQLSTATE only (a server's DETAIL can quote row
// values) and never the password.
#include <sql.h>
#include <sqlext.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace omniloop::store::odbc {

class OdbcError : public StoreError {
 public:
  OdbcError(const std::string& message, std::string sqlstate, bool retryable, bool connection_lost)
      : StoreError(message, retryable), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool connectionLost() const { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// The database behind the driver, from SQLGetInfo(SQL_DBMS_NAME).
enum class Dialect { Sqlite, Postgresql };

class Connection;

// A prepared statement. Parameters are bound per execution: text is bound without a copy
// and must stay valid until execute() returns.
class Statement {
 public:
  Statement(Connection& conn, std::string sql) : conn_(&conn), sql_(std::move(sql)) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // 1-based. Empty text binds NULL when `empty_is_null`.
  void bind(int index, std::string_view text, bool empty_is_null = false);
  void bind(int index, int64_t value);
  // Bytes bound as a binary value (a BLOB in SQLite); same lifetime rule as text.
  void bindBytes(int index, const void* data, size_t size);
  void bindNull(int index);

  // Runs with the bound parameters; returns the rows affected (INSERT/UPDATE/DELETE).
  int64_t execute();
  // After execute(): the next row, false at the end.
  bool fetch();
  // Column (1-based) of the current row as text ("" for NULL).
  std::string text(int column);
  bool lastWasNull() const { return last_null_; }
  void close();

 private:
  void prepare();

  Connection* conn_;
  std::string sql_;
  SQLHSTMT stmt_ = SQL_NULL_HSTMT;
  uint64_t prepared_in_ = 0;
  struct Param {
    std::string_view text;
    int64_t integer = 0;
    SQLLEN indicator = 0;
    bool is_integer = false;
    bool is_binary = false;
  };
  std::vector<Param> params_;
  bool last_null_ = false;
};

class Connection {
 public:
  // `connection`: an ODBC connection string (DSN=...; or Driver=...;...). `shown`: the same
  // with the password replaced by [secret].
  Connection(std::string connection, std::string shown);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects (or reconnects after a loss). Throws OdbcError.
  void connect();
  // Whether the connection string sets `key` (case-insensitive).
  bool hasAttribute(std::string_view key) const;
  // Adds key=value to the connection string; takes effect at the next connect().
  void addAttribute(std::string_view key, std::string_view value);
  void disconnect();
  bool connected() const { return dbc_ != SQL_NULL_HDBC && connected_; }
  Dialect dialect() const { return dialect_; }
  const std::string& dbmsName() const { return dbms_; }
  uint64_t session() const { return session_; }
  SQLHDBC handle() const { return dbc_; }

  // Autocommit on (each statement commits) or off (commit()/rollback() end transactions).
  void setAutocommit(bool on);
  void commit();
  void rollback();  // never throws
  // One statement without parameters or results.
  void exec(std::string_view sql);

  // Throws OdbcError for `rc` unless it is a success (or SQL_NO_DATA when `no_data_ok`).
  void check(SQLRETURN rc, SQLSMALLINT type, SQLHANDLE handle, std::string_view what, bool no_data_ok = false);
  const std::string& shown() const { return shown_; }
  void markLost();

 private:
  std::string scrub(std::string message) const;

  std::string connection_;
  std::string shown_;
  std::string password_;
  SQLHENV env_ = SQL_NULL_HENV;
  SQLHDBC dbc_ = SQL_NULL_HDBC;
  bool connected_ = false;
  Dialect dialect_ = Dialect::Sqlite;
  std::string dbms_;
  uint64_t session_ = 0;
};

// Splits a migration into statements at ';' outside quotes and -- comments.
std::vector<std::string> splitStatements(std::string_view sql);

}  // namespace omniloop::store::odbc
