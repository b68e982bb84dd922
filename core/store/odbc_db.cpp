#include "store/odbc_db.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace omniloop::store::odbc {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The value of PWD= / Password= in an ODBC connection string ("" when none).
std::string passwordOf(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string_view key = s.substr(i, eq - i);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    size_t end;
    std::string_view value;
    if (eq + 1 < s.size() && s[eq + 1] == '{') {
      end = s.find('}', eq + 2);
      if (end == std::string_view::npos) end = s.size();
      value = s.substr(eq + 2, end - eq - 2);
      end = s.find(';', end);
    } else {
      end = s.find(';', eq + 1);
      value = s.substr(eq + 1, (end == std::string_view::npos ? s.size() : end) - eq - 1);
    }
    if (iequals(key, "pwd") || iequals(key, "password")) return std::string(value);
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return {};
}

bool retryableState(std::string_view state, std::string_view message) {
  return state.starts_with("40") || state.starts_with("08") || state == "HYT00" || state == "HYT01" ||
         state == "55P03" || state == "53300" || state == "57P01" || state == "57P02" || state == "57P03" ||
         message.find("database is locked") != std::string_view::npos ||
         message.find("database table is locked") != std::string_view::npos;
}

// The first diagnostic record: SQLSTATE and the message's first line.
void diagnose(SQLSMALLINT type, SQLHANDLE handle, std::string& state, std::string& message) {
  SQLCHAR sqlstate[8] = {0};
  SQLINTEGER native = 0;
  SQLCHAR text[1024] = {0};
  SQLSMALLINT len = 0;
  if (handle != nullptr &&
      SQL_SUCCEEDED(SQLGetDiagRec(type, handle, 1, sqlstate, &native, text, sizeof text, &len))) {
    state = reinterpret_cast<const char*>(sqlstate);
    message = reinterpret_cast<const char*>(text);
  } else {
    state = "HY000";
    message = "unknown ODBC error";
  }
  const size_t nl = message.find('\n');
  if (nl != std::string::npos) message.resize(nl);
  while (!message.empty() && (message.back() == ';' || message.back() == ' ' || message.back() == '\r')) {
    message.pop_back();
  }
}

}  // namespace

std::vector<std::string> splitStatements(std::string_view sql) {
  std::vector<std::string> out;
  std::string current;
  bool any = false;  // current holds something besides blanks
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t nl = sql.find('\n', i);
      i = nl == std::string_view::npos ? sql.size() : nl;
      current.push_back('\n');
      continue;
    }
    if (c == '\'') {
      const size_t close = sql.find('\'', i + 1);
      const size_t end = close == std::string_view::npos ? sql.size() : close + 1;
      current.append(sql.substr(i, end - i));
      any = true;
      i = end - 1;
      continue;
    }
    if (c == ';') {
      if (any) out.push_back(current);
      current.clear();
      any = false;
      continue;
    }
    current.push_back(c);
    if (!std::isspace(static_cast<unsigned char>(c))) any = true;
  }
  if (any) out.push_back(current);
  return out;
}

Connection::Connection(std::string connection, std::string shown)
    : connection_(std::move(connection)), shown_(std::move(shown)), password_(passwordOf(connection_)) {
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env_))) {
    throw StoreError("ODBC store " + shown_ + ": cannot allocate an ODBC environment (is unixODBC installed?)");
  }
  SQLSetEnvAttr(env_, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
}

Connection::~Connection() {
  if (dbc_ != SQL_NULL_HDBC) {
    if (connected_) SQLDisconnect(dbc_);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
  }
  if (env_ != SQL_NULL_HENV) SQLFreeHandle(SQL_HANDLE_ENV, env_);
}

std::string Connection::scrub(std::string message) const {
  if (password_.size() < 2) return message;
  for (size_t at = message.find(password_); at != std::string::npos; at = message.find(password_, at)) {
    message.replace(at, password_.size(), "[secret]");
    at += 8;
  }
  return message;
}

void Connection::markLost() { connected_ = false; }

bool Connection::hasAttribute(std::string_view key) const {
  size_t i = 0;
  const std::string_view s = connection_;
  while (i < s.size()) {
    const size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string_view k = s.substr(i, eq - i);
    while (!k.empty() && k.front() == ' ') k.remove_prefix(1);
    while (!k.empty() && k.back() == ' ') k.remove_suffix(1);
    if (iequals(k, key)) return true;
    size_t end = eq + 1 < s.size() && s[eq + 1] == '{' ? s.find('}', eq + 2) : eq;
    if (end == std::string_view::npos) break;
    end = s.find(';', end);
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return false;
}

void Connection::addAttribute(std::string_view key, std::string_view value) {
  if (!connection_.empty() && connection_.back() != ';') connection_.push_back(';');
  connection_.append(key).push_back('=');
  connection_.append(value);
}

void Connection::disconnect() {
  if (dbc_ != SQL_NULL_HDBC && connected_) SQLDisconnect(dbc_);
  connected_ = false;
}

void Connection::connect() {
  if (connected()) return;
  if (dbc_ != SQL_NULL_HDBC) {
    SQLDisconnect(dbc_);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
    dbc_ = SQL_NULL_HDBC;
  }
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, env_, &dbc_))) {
    dbc_ = SQL_NULL_HDBC;
    throw OdbcError("ODBC store " + shown_ + ": cannot allocate a connection handle", "HY001", false, true);
  }
  SQLSetConnectAttr(dbc_, SQL_ATTR_LOGIN_TIMEOUT, reinterpret_cast<SQLPOINTER>(10), 0);
  SQLCHAR out[1024];
  SQLSMALLINT out_len = 0;
  const SQLRETURN rc =
      SQLDriverConnect(dbc_, nullptr, reinterpret_cast<SQLCHAR*>(connection_.data()),
                       static_cast<SQLSMALLINT>(connection_.size()), out, sizeof out, &out_len, SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED(rc)) {
    std::string state, message;
    diagnose(SQL_HANDLE_DBC, dbc_, state, message);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
    dbc_ = SQL_NULL_HDBC;
    std::string hint;
    if (state == "IM002") hint = ": name a DSN from odbc.ini (odbcinst -q -s lists them) or a Driver= from odbcinst.ini";
    throw OdbcError("cannot connect to ODBC store " + shown_ + ": " + scrub(message) + " (SQLSTATE " + state + ")" +
                        hint,
                    state, state.starts_with("08") || state == "HYT00", true);
  }
  connected_ = true;
  ++session_;
  SQLCHAR name[128] = {0};
  SQLSMALLINT name_len = 0;
  SQLGetInfo(dbc_, SQL_DBMS_NAME, name, sizeof name, &name_len);
  dbms_ = reinterpret_cast<const char*>(name);
  std::string lower = dbms_;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.find("sqlite") != std::string::npos) {
    dialect_ = Dialect::Sqlite;
  } else if (lower.find("postgres") != std::string::npos) {
    dialect_ = Dialect::Postgresql;
  } else {
    connected_ = false;
    throw OdbcError("ODBC store " + shown_ + " is a '" + dbms_ +
                        "' database: the ODBC store supports SQLite and PostgreSQL drivers",
                    "HYC00", false, false);
  }
}

void Connection::check(SQLRETURN rc, SQLSMALLINT type, SQLHANDLE handle, std::string_view what, bool no_data_ok) {
  if (SQL_SUCCEEDED(rc) || (no_data_ok && rc == SQL_NO_DATA)) return;
  std::string state, message;
  diagnose(type, handle, state, message);
  const bool lost = state.starts_with("08");
  if (lost) markLost();
  throw OdbcError(std::string(what) + ": " + scrub(message) + " (SQLSTATE " + state + ")", state,
                  retryableState(state, message), lost);
}

void Connection::setAutocommit(bool on) {
  check(SQLSetConnectAttr(dbc_, SQL_ATTR_AUTOCOMMIT,
                          reinterpret_cast<SQLPOINTER>(on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF), 0),
        SQL_HANDLE_DBC, dbc_, "ODBC store: autocommit");
}

void Connection::commit() {
  check(SQLEndTran(SQL_HANDLE_DBC, dbc_, SQL_COMMIT), SQL_HANDLE_DBC, dbc_, "ODBC store: commit");
}

void Connection::rollback() {
  if (connected()) SQLEndTran(SQL_HANDLE_DBC, dbc_, SQL_ROLLBACK);
}

void Connection::exec(std::string_view sql) {
  if (!connected()) throw OdbcError("ODBC store " + shown_ + ": not connected", "08003", true, true);
  SQLHSTMT st = SQL_NULL_HSTMT;
  check(SQLAllocHandle(SQL_HANDLE_STMT, dbc_, &st), SQL_HANDLE_DBC, dbc_, "ODBC store");
  std::string text(sql);
  const SQLRETURN rc = SQLExecDirect(st, reinterpret_cast<SQLCHAR*>(text.data()), static_cast<SQLINTEGER>(text.size()));
  try {
    check(rc, SQL_HANDLE_STMT, st, "ODBC store", true);
  } catch (...) {
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    throw;
  }
  SQLFreeHandle(SQL_HANDLE_STMT, st);
}

Statement::~Statement() {
  if (stmt_ != SQL_NULL_HSTMT && prepared_in_ == conn_->session() && conn_->connected()) {
    SQLFreeHandle(SQL_HANDLE_STMT, stmt_);
  }
}

void Statement::prepare() {
  if (stmt_ != SQL_NULL_HSTMT && prepared_in_ == conn_->session()) return;
  // A statement of an earlier session died with its connection.
  stmt_ = SQL_NULL_HSTMT;
  if (!conn_->connected()) throw OdbcError("ODBC store " + conn_->shown() + ": not connected", "08003", true, true);
  conn_->check(SQLAllocHandle(SQL_HANDLE_STMT, conn_->handle(), &stmt_), SQL_HANDLE_DBC, conn_->handle(),
               "ODBC store");
  const SQLRETURN rc = SQLPrepare(stmt_, reinterpret_cast<SQLCHAR*>(sql_.data()), static_cast<SQLINTEGER>(sql_.size()));
  if (!SQL_SUCCEEDED(rc)) {
    SQLHSTMT failed = stmt_;
    stmt_ = SQL_NULL_HSTMT;
    try {
      conn_->check(rc, SQL_HANDLE_STMT, failed, "ODBC store: prepare");
    } catch (...) {
      SQLFreeHandle(SQL_HANDLE_STMT, failed);
      throw;
    }
  }
  prepared_in_ = conn_->session();
}

void Statement::bind(int index, std::string_view text, bool empty_is_null) {
  if (params_.size() < static_cast<size_t>(index)) params_.resize(index);
  Param& p = params_[index - 1];
  p.is_integer = false;
  p.is_binary = false;
  p.text = text;
  p.indicator = empty_is_null && text.empty() ? SQL_NULL_DATA : static_cast<SQLLEN>(text.size());
}

void Statement::bind(int index, int64_t value) {
  if (params_.size() < static_cast<size_t>(index)) params_.resize(index);
  Param& p = params_[index - 1];
  p.is_integer = true;
  p.is_binary = false;
  p.integer = value;
  p.indicator = 0;
}

void Statement::bindBytes(int index, const void* data, size_t size) {
  if (params_.size() < static_cast<size_t>(index)) params_.resize(index);
  Param& p = params_[index - 1];
  p.is_integer = false;
  p.is_binary = true;
  p.text = std::string_view(static_cast<const char*>(data), size);
  p.indicator = static_cast<SQLLEN>(size);
}

void Statement::bindNull(int index) {
  if (params_.size() < static_cast<size_t>(index)) params_.resize(index);
  Param& p = params_[index - 1];
  p.is_integer = false;
  p.is_binary = false;
  p.text = {};
  p.indicator = SQL_NULL_DATA;
}

int64_t Statement::execute() {
  prepare();
  SQLFreeStmt(stmt_, SQL_CLOSE);
  static char kEmpty[1] = {0};
  for (size_t i = 0; i < params_.size(); ++i) {
    Param& p = params_[i];
    const SQLUSMALLINT n = static_cast<SQLUSMALLINT>(i + 1);
    SQLRETURN rc;
    if (p.is_integer) {
      rc = SQLBindParameter(stmt_, n, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &p.integer, 0, &p.indicator);
    } else if (p.is_binary) {
      const SQLULEN size = std::max<SQLULEN>(p.text.size(), 1);
      char* data = p.text.empty() ? kEmpty : const_cast<char*>(p.text.data());
      rc = SQLBindParameter(stmt_, n, SQL_PARAM_INPUT, SQL_C_BINARY, SQL_VARBINARY, size, 0, data,
                            static_cast<SQLLEN>(p.text.size()), &p.indicator);
    } else {
      const SQLULEN size = std::max<SQLULEN>(p.text.size(), 1);
      char* data = p.text.empty() ? kEmpty : const_cast<char*>(p.text.data());
      rc = SQLBindParameter(stmt_, n, SQL_PARAM_INPUT, SQL_C_CHAR, size > 4000 ? SQL_LONGVARCHAR : SQL_VARCHAR,
                            size, 0, data, static_cast<SQLLEN>(p.text.size()), &p.indicator);
    }
    conn_->check(rc, SQL_HANDLE_STMT, stmt_, "ODBC store: bind");
  }
  conn_->check(SQLExecute(stmt_), SQL_HANDLE_STMT, stmt_, "ODBC store", true);
  SQLLEN rows = 0;
  if (!SQL_SUCCEEDED(SQLRowCount(stmt_, &rows))) rows = 0;
  return rows;
}

bool Statement::fetch() {
  const SQLRETURN rc = SQLFetch(stmt_);
  if (rc == SQL_NO_DATA) return false;
  conn_->check(rc, SQL_HANDLE_STMT, stmt_, "ODBC store: fetch");
  return true;
}

std::string Statement::text(int column) {
  std::string out;
  char buf[4096];
  last_null_ = false;
  for (;;) {
    SQLLEN ind = 0;
    const SQLRETURN rc = SQLGetData(stmt_, static_cast<SQLUSMALLINT>(column), SQL_C_CHAR, buf, sizeof buf, &ind);
    if (rc == SQL_NO_DATA) break;
    conn_->check(rc, SQL_HANDLE_STMT, stmt_, "ODBC store: read");
    if (ind == SQL_NULL_DATA) {
      last_null_ = true;
      break;
    }
    const size_t got = (ind == SQL_NO_TOTAL || ind >= static_cast<SQLLEN>(sizeof buf)) ? sizeof buf - 1
                                                                                      : static_cast<size_t>(ind);
    out.append(buf, got);
    if (rc == SQL_SUCCESS) break;
  }
  return out;
}

void Statement::close() {
  if (stmt_ != SQL_NULL_HSTMT) SQLFreeStmt(stmt_, SQL_CLOSE);
}

}  // namespace omniloop::store::odbc
