#pragma once
// Helpers for the store tests: a temporary directory per test, a direct SQLite connection to
// inspect what the store wrote, and batch building.
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "event/event.h"
#include "privacy/keyed_hasher.h"
#include "store/store.h"

namespace omniloop::store::testing {

namespace fs = std::filesystem;

// Raw access to the database file, bypassing the store.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (err ? err : "?");
      sqlite3_free(err);
    }
  }
  // First column of the first row as text ("<null>" for NULL, "<none>" without a row).
  std::string one(const std::string& sql) {
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

 private:
  sqlite3* db_ = nullptr;
};

// An event or profile id (32 hex) as the SQLite store keeps it: a 16-byte BLOB literal.
inline std::string idLiteral(std::string_view hex) { return "X'" + std::string(hex) + "'"; }

inline std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("omniloop_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    db_path_ = dir_ / "state" / "cdp.db";
    options_.hasher = &hasher_;
    options_.normalize.default_region = "+49";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> open() { return openStore("sqlite:" + db_path_.string(), options_); }

  // Appends a live event with the given identities and an attribute, id from (crm, key).
  static event::Event& add(event::Batch& b, std::string_view key,
                           std::initializer_list<std::pair<std::string_view, std::string_view>> ids,
                           int64_t occurred_us = 1714557600000000) {
    event::Event* e = b.append();
    e->key = b.intern(key);
    e->channel = "crm";
    e->type = "contact.updated";
    e->occurred_at_us = occurred_us;
    for (const auto& [t, v] : ids) e->setIdentity(b.intern(t), b.intern(v));
    e->set("segment", event::Value::string("gold"));
    e->set("orders.count", event::Value::integer(3));
    event::assignId(*e, "crm", b);
    return *e;
  }

  // A one-event batch (key, email) ending at `cursor`; `more_pending` as the executor sets it
  // when more batches are queued behind this one (group commit).
  static std::unique_ptr<event::Batch> batchOf(std::string_view key, std::string_view email,
                                               std::string_view cursor, bool more_pending) {
    auto b = std::make_unique<event::Batch>();
    add(*b, key, {{"email", email}});
    b->cursor = std::string(cursor);
    b->more_pending = more_pending;
    return b;
  }

  static std::string keyOf(int i) { return std::string(32, static_cast<char>('a' + i)); }

  privacy::KeyedHasher hasher_{keyOf(0)};
  StoreOptions options_;
  fs::path dir_;
  fs::path db_path_;
};

}  // namespace omniloop::store::testing
