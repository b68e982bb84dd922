#pragma once
// The first column of every row `sql` returns from the SQLite file `db_path`, one per line
// ("open failed" / "error: ..." when it cannot): how e2e tests read a store after a run.
#include <sqlite3.h>

#include <string>

namespace omniloop::testing {

inline std::string query(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return "open failed";
  }
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    out = std::string("error: ") + sqlite3_errmsg(db);
  }
  while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    out += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
    out += "\n";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace omniloop::testing
