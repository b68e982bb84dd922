#pragma once
// What examples/quickstart/run.sh sets up before its pipelines run, for tests that run them on
// a private copy of the quickstart: the sample SuiteCRM database (SQLite) and a private unixODBC
// configuration naming Debian's SQLite ODBC driver and the quickstart's DSN. Returns the
// environment entries a run needs (ODBCSYSINI, ODBCINI).
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "command.h"
#include "tests/support/odbc_env.h"

namespace omniloop::testing {

inline std::vector<std::string> prepareQuickstartCrm(const std::string& quickstart_dir) {
  const std::string var = quickstart_dir + "/var";
  std::filesystem::create_directories(var + "/odbc");
  const std::string crm_db = var + "/quickstart-suitecrm.db";
  std::filesystem::remove(crm_db);
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open(crm_db.c_str(), &h), SQLITE_OK) << crm_db;
  const std::string sql = readFile(sourceDir() + "/plugins/crm.odbc/sql/suitecrm-schema.sql") +
                          readFile(quickstart_dir + "/data/crm/suitecrm-data.sql");
  EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << crm_db;
  sqlite3_close(h);
  std::ofstream(var + "/odbc/odbcinst.ini")
      << "[SQLite3]\nDriver=" << OdbcEnv::driverPath("libsqlite3odbc.so") << "\n";
  std::ofstream(var + "/odbc/odbc.ini")
      << "[omniloop-quickstart-suitecrm]\nDriver=SQLite3\nDatabase=" << crm_db << "\nNoCreat=1\n";
  return {"ODBCSYSINI=" + var + "/odbc", "ODBCINI=" + var + "/odbc/odbc.ini"};
}

}  // namespace omniloop::testing
