#include "odbc_conn.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>

namespace omniloop::crm {

namespace {

// UTF-16 code units (SQLWCHAR) to UTF-8; unpaired surrogates become U+FFFD.
void appendUtf16(std::string& out, const SQLWCHAR* s, size_t n) {
  auto put = [&](uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  };
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = s[i];
    if (u >= 0xD800 && u <= 0xDBFF && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      put(0x10000 + ((u - 0xD800) << 10) + (static_cast<uint32_t>(s[i + 1]) - 0xDC00));
      ++i;
    } else if (u >= 0xD800 && u <= 0xDFFF) {
      put(0xFFFD);
    } else {
      put(u);
    }
  }
}

bool transientState(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "HYT00" || state == "HYT01" || state == "40001" ||
         state == "40P01" || state == "57P01";
}

}  // namespace

int QueryResult::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

OdbcConnection::~OdbcConnection() {
  disconnect();
  if (env_ != SQL_NULL_HENV) SQLFreeHandle(SQL_HANDLE_ENV, env_);
}

OdbcFailure OdbcConnection::failure(SQLSMALLINT type, SQLHANDLE handle, const char* what) {
  OdbcFailure f;
  SQLCHAR state[6] = {0};
  SQLCHAR text[1024] = {0};
  SQLINTEGER native = 0;
  SQLSMALLINT len = 0;
  if (handle != nullptr &&
      SQL_SUCCEEDED(SQLGetDiagRec(type, handle, 1, state, &native, text, sizeof text, &len))) {
    f.state = reinterpret_cast<const char*>(state);
    f.message = reinterpret_cast<const char*>(text);
  } else {
    f.state = "HY000";
    f.message = "no diagnostic from the driver";
  }
  const size_t nl = f.message.find('\n');
  if (nl != std::string::npos) f.message.resize(nl);
  f.message = std::string(what) + ": " + f.message + " (SQLSTATE " + f.state + ")";
  f.transient = transientState(f.state);
  // A statement failing because the link died says so on the connection.
  if (!f.transient && dbc_ != SQL_NULL_HDBC) {
    SQLUINTEGER dead = SQL_CD_FALSE;
    if (SQL_SUCCEEDED(SQLGetConnectAttr(dbc_, SQL_ATTR_CONNECTION_DEAD, &dead, 0, nullptr)) &&
        dead == SQL_CD_TRUE) {
      f.transient = true;
    }
  }
  return f;
}

std::optional<OdbcFailure> OdbcConnection::connect(const std::string& connection_string) {
  disconnect();
  if (env_ == SQL_NULL_HENV) {
    // A driver that reads its DSN from odbc.ini (Debian's SQLite ODBC driver does) loads
    // unixODBC's libodbcinst for it and unloads it when the connection closes; the parsed ini
    // stays allocated with nothing left to reach it (a leak report at every exit under
    // LeakSanitizer). Loaded once here and never unloaded, the library keeps that memory its
    // own, and each new connection reuses it.
    static void* const odbcinst = dlopen("libodbcinst.so.2", RTLD_NOW | RTLD_NODELETE);
    (void)odbcinst;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env_))) {
      env_ = SQL_NULL_HENV;
      return OdbcFailure{"HY001", "cannot allocate an ODBC environment", false};
    }
    SQLSetEnvAttr(env_, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
  }
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, env_, &dbc_))) {
    dbc_ = SQL_NULL_HDBC;
    return failure(SQL_HANDLE_ENV, env_, "cannot allocate an ODBC connection");
  }
  SQLSetConnectAttr(dbc_, SQL_ATTR_LOGIN_TIMEOUT, reinterpret_cast<SQLPOINTER>(10), 0);
  std::string cs = connection_string;
  const SQLRETURN rc = SQLDriverConnect(dbc_, nullptr, reinterpret_cast<SQLCHAR*>(cs.data()),
                                        static_cast<SQLSMALLINT>(cs.size()), nullptr, 0, nullptr,
                                        SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED(rc)) {
    OdbcFailure f = failure(SQL_HANDLE_DBC, dbc_, "cannot connect");
    // A database that cannot be reached now may be back later; a refused login or an unknown
    // driver or DSN will not fix itself.
    // (Drivers report a refused password as 28000, or as 08001 with the server's words.)
    std::string low = f.message;
    std::transform(low.begin(), low.end(), low.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    f.transient = !(f.state == "28000" || f.state == "IM002" || f.state == "IM003" ||
                    low.find("authentication failed") != std::string::npos ||
                    low.find("password") != std::string::npos);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
    dbc_ = SQL_NULL_HDBC;
    return f;
  }
  return std::nullopt;
}

void OdbcConnection::disconnect() {
  if (dbc_ == SQL_NULL_HDBC) return;
  SQLDisconnect(dbc_);
  SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
  dbc_ = SQL_NULL_HDBC;
}

std::optional<OdbcFailure> OdbcConnection::query(const std::string& sql, QueryResult& out) {
  out.columns.clear();
  out.rows.clear();
  if (dbc_ == SQL_NULL_HDBC) return OdbcFailure{"08003", "not connected (SQLSTATE 08003)", true};
  SQLHSTMT st = SQL_NULL_HSTMT;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc_, &st))) {
    return failure(SQL_HANDLE_DBC, dbc_, "cannot allocate a statement");
  }
  struct Free {
    SQLHSTMT st;
    ~Free() { SQLFreeHandle(SQL_HANDLE_STMT, st); }
  } guard{st};
  std::string text = sql;
  SQLRETURN rc = SQLExecDirect(st, reinterpret_cast<SQLCHAR*>(text.data()),
                               static_cast<SQLINTEGER>(text.size()));
  if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) return failure(SQL_HANDLE_STMT, st, "query failed");
  SQLSMALLINT ncols = 0;
  SQLNumResultCols(st, &ncols);
  for (SQLSMALLINT c = 1; c <= ncols; ++c) {
    SQLCHAR name[256] = {0};
    SQLSMALLINT len = 0, type = 0, digits = 0, nullable = 0;
    SQLULEN size = 0;
    SQLDescribeCol(st, c, name, sizeof name, &len, &type, &size, &digits, &nullable);
    std::string n = reinterpret_cast<const char*>(name);
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    out.columns.push_back(n);
  }
  std::vector<SQLWCHAR> buf(2048);
  for (;;) {
    rc = SQLFetch(st);
    if (rc == SQL_NO_DATA) break;
    if (!SQL_SUCCEEDED(rc)) return failure(SQL_HANDLE_STMT, st, "fetch failed");
    Row row;
    row.reserve(static_cast<size_t>(ncols));
    for (SQLSMALLINT c = 1; c <= ncols; ++c) {
      std::string value;
      bool null = false;
      for (;;) {
        SQLLEN ind = 0;
        rc = SQLGetData(st, c, SQL_C_WCHAR, buf.data(),
                        static_cast<SQLLEN>(buf.size() * sizeof(SQLWCHAR)), &ind);
        if (rc == SQL_NO_DATA) break;
        if (!SQL_SUCCEEDED(rc)) return failure(SQL_HANDLE_STMT, st, "reading a column failed");
        if (ind == SQL_NULL_DATA) {
          null = true;
          break;
        }
        const size_t cap = buf.size() - 1;  // code units that fit before the terminator
        size_t got = cap;
        if (ind != SQL_NO_TOTAL && static_cast<size_t>(ind) / sizeof(SQLWCHAR) < cap) {
          got = static_cast<size_t>(ind) / sizeof(SQLWCHAR);
        }
        appendUtf16(value, buf.data(), got);
        if (rc == SQL_SUCCESS) break;  // SQL_SUCCESS_WITH_INFO: more of it follows
      }
      if (null) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::move(value));
      }
    }
    out.rows.push_back(std::move(row));
  }
  return std::nullopt;
}

}  // namespace omniloop::crm
