#pragma once
// Private unixODBC configuration for tests: an odbcinst.ini naming Debian's SQLite and
// PostgreSQL ODBC drivers and an odbc.ini for DSNs, in a temp directory, selected through
// ODBCSYSINI / ODBCINI before the first ODBC call. Nothing under /etc is read or changed.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>

namespace omniloop::testing {

class OdbcEnv {
 public:
  static constexpr const char* kSqliteDriver = "SQLite3";
  static constexpr const char* kPostgresDriver = "PostgreSQL Unicode";

  static OdbcEnv& shared() {
    static std::once_flag once;
    static OdbcEnv* env = nullptr;
    std::call_once(once, [] {
      env = new OdbcEnv();
      std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(env->dir_, ec);
      });
    });
    return *env;
  }

  // A driver library from Debian's packages ("" when not installed): libsqlite3odbc.so
  // (libsqliteodbc) or psqlodbcw.so (odbc-postgresql).
  static std::string driverPath(const std::string& file) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/usr/lib", ec)) {
      const fs::path p = e.path() / "odbc" / file;
      if (fs::exists(p, ec)) return p.string();
    }
    return {};
  }

  bool hasSqlite() const { return !sqlite_.empty(); }
  bool hasPostgres() const { return !postgres_.empty(); }

  // Adds a DSN section to odbc.ini: [name] followed by key=value lines.
  void addDsn(const std::string& name, const std::string& body) {
    std::lock_guard lock(mutex_);
    std::ofstream(dir_ + "/odbc.ini", std::ios::app) << "[" << name << "]\n" << body << "\n";
  }

  const std::string& dir() const { return dir_; }

 private:
  OdbcEnv() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "omniloop-odbc-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    sqlite_ = driverPath("libsqlite3odbc.so");
    postgres_ = driverPath("psqlodbcw.so");
    {
      std::ofstream inst(dir_ + "/odbcinst.ini");
      if (!sqlite_.empty()) inst << "[" << kSqliteDriver << "]\nDriver=" << sqlite_ << "\n\n";
      if (!postgres_.empty()) inst << "[" << kPostgresDriver << "]\nDriver=" << postgres_ << "\n\n";
    }
    std::ofstream(dir_ + "/odbc.ini") << "";
    ::setenv("ODBCSYSINI", dir_.c_str(), 1);
    ::setenv("ODBCINI", (dir_ + "/odbc.ini").c_str(), 1);
  }

  std::string dir_;
  std::string sqlite_;
  std::string postgres_;
  std::mutex mutex_;
};

}  // namespace omniloop::testing
