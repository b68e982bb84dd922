#include "store/sqlite_db.h"

#include <sqlite3.h>

namespace omniloop::store::sqlite {

Db::Db(const std::string& path, bool create) : path_(path) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;  // the store serialises access itself
  if (create) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError("cannot open store " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() { sqlite3_close_v2(db_); }

void Db::fail(int rc, std::string_view what) const {
  const int primary = rc & 0xff;
  const bool retryable = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
  std::string message(what);
  message += ": ";
  message += db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  message += " (store " + path_ + ")";
  throw StoreError(message, retryable);
}

void Db::exec(const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    const int primary = rc & 0xff;
    throw StoreError(message + " (store " + path_ + ")", primary == SQLITE_BUSY || primary == SQLITE_LOCKED);
  }
}

int64_t Db::changes() const { return sqlite3_changes64(db_); }

Statement::Statement(Db& db, std::string_view sql) : db_(&db) {
  const int rc = sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, "cannot prepare a store statement");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

void Statement::bind(int index, std::string_view text, bool empty_is_null) {
  int rc;
  if (empty_is_null && text.empty()) {
    rc = sqlite3_bind_null(stmt_, index);
  } else {
    // A non-null pointer even for "": SQLite binds NULL for a null pointer.
    rc = sqlite3_bind_text(stmt_, index, text.empty() ? "" : text.data(), static_cast<int>(text.size()),
                           SQLITE_STATIC);
  }
  if (rc != SQLITE_OK) db_->fail(rc, "cannot bind a store value");
}

void Statement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail(rc, "cannot bind a store value");
}

void Statement::bindBlob(int index, const void* data, size_t size) {
  const int rc = sqlite3_bind_blob(stmt_, index, size == 0 ? "" : data, static_cast<int>(size), SQLITE_STATIC);
  if (rc != SQLITE_OK) db_->fail(rc, "cannot bind a store value");
}

void Statement::bindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_->fail(rc, "cannot bind a store value");
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(stmt_) != nullptr ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  // Name the statement by its first words only (never values: they may be personal data).
  db_->fail(rc, "store statement failed [" + sql.substr(0, sql.find_first_of("(\n")) + "]");
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view Statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::isBlob(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_BLOB; }

std::string_view Statement::bytes(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  if (p == nullptr) return {};
  return {static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

bool Statement::isNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

}  // namespace omniloop::store::sqlite
