#pragma once
// A small RAII layer over the ODBC C API (unixODBC): one connection, queries that return every
// column as text, and errors that say whether they are transient (connection lost, timeout).
#include <sql.h>
#include <sqlext.h>

#include <optional>
#include <string>
#include <vector>

namespace omniloop::crm {

using Cell = std::optional<std::string>;  // nullopt: SQL NULL
using Row = std::vector<Cell>;

struct QueryResult {
  std::vector<std::string> columns;  // names as the driver reports them (lower-cased)
  std::vector<Row> rows;
  int column(const std::string& name) const;  // -1 when absent
};

struct OdbcFailure {
  std::string state;    // SQLSTATE
  std::string message;  // the driver's message (connection string secrets not included)
  bool transient = false;
};

class OdbcConnection {
 public:
  OdbcConnection() = default;
  ~OdbcConnection();
  OdbcConnection(const OdbcConnection&) = delete;
  OdbcConnection& operator=(const OdbcConnection&) = delete;

  // nullopt on success.
  std::optional<OdbcFailure> connect(const std::string& connection_string);
  void disconnect();
  bool connected() const { return dbc_ != SQL_NULL_HDBC; }
  // Runs `sql` and fetches every row; nullopt on success (result in `out`).
  std::optional<OdbcFailure> query(const std::string& sql, QueryResult& out);

 private:
  OdbcFailure failure(SQLSMALLINT type, SQLHANDLE handle, const char* what);
  SQLHENV env_ = SQL_NULL_HENV;
  SQLHDBC dbc_ = SQL_NULL_HDBC;
};

}  // namespace omniloop::crm
