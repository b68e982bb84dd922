#pragma once
// Thin RAII over the sqlite3 C API: a connection, prepared statements, a write transaction.
// Errors become StoreError (retryable for SQLITE_BUSY / SQLITE_LOCKED).
#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace omniloop::store::sqlite {

class Db {
 public:
  // Opens (creating when `create`) the database at `path` (":memory:" for a private one).
  Db(const std::string& path, bool create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  // Runs one or more statements (no results).
  void exec(const char* sql);
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes() const;
  // Throws StoreError "<what>: <sqlite message>" for a non-OK result code.
  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement() = default;
  Statement(Db& db, std::string_view sql);  // prepared once, kept for the connection's life
  ~Statement();
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based. Text is bound without a copy: it must stay valid until reset().
  // Empty text binds NULL when `empty_is_null`.
  void bind(int index, std::string_view text, bool empty_is_null = false);
  void bind(int index, int64_t value);
  void bindNull(int index);
  // Bytes bound as a BLOB, without a copy (valid until reset()).
  void bindBlob(int index, const void* data, size_t size);

  // true: a row is available; false: done.
  bool step();
  // Runs a statement that returns no rows.
  void run() {
    step();
    reset();
  }
  void reset();

  std::string_view text(int column) const;  // 0-based; "" for NULL
  int64_t integer(int column) const;
  bool isNull(int column) const;
  bool isBlob(int column) const;
  // The bytes of a BLOB (or TEXT) column; "" for NULL.
  std::string_view bytes(int column) const;

 private:
  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when leaving a scope, so an early exit never leaves it active.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& s) : s_(s) {}
  ~ResetOnExit() { s_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& s_;
};

}  // namespace omniloop::store::sqlite
