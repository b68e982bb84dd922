// The omniloop binary with the bundled callcenter.connect plugin and the shipped pipeline.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <regex>

#include "command.h"
#include "sqlite_query.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

TEST(ConnectE2e, ListedValidatedAndRunToTheEnd) {
  auto p = runCommand({omniloopBin(), "plugins"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("callcenter.connect"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("connect.ctr"), std::string::npos) << p.out;
  const std::string shipped = sourceDir() + "/pipelines/callcenter-connect.yaml";
  auto v = runCommand({omniloopBin(), "validate", shipped});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  const std::string dir = tempDir("connect-e2e");
  {
    std::ofstream f(dir + "/ctr.jsonl", std::ios::binary);
    f << readFile(std::string(CONNECT_TEST_DATA) + "/ctr-sample.jsonl") << "[\"not a ctr\"]\n";
  }
  std::string yaml = readFile(shipped);
  yaml = std::regex_replace(yaml, std::regex("/srv/exports/amazon-connect/ctr.jsonl"),
                            dir + "/ctr.jsonl");
  std::ofstream(dir + "/p.yaml") << yaml;
  const std::string db = dir + "/cdp.db";
  auto r = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + db,
                       "--stop-when-idle", "--json", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events"), "3\n");
  EXPECT_EQ(query(db,
                  "SELECT count(*) FROM dead_letters WHERE reason LIKE '%ctr.jsonl:4: a "
                  "contact trace record must be a JSON object%'"),
            "1\n");
  EXPECT_EQ(query(db,
                  "SELECT json_extract(attributes, '$.queue.wait_seconds') FROM events "
                  "WHERE type = 'call.answered'"),
            "41\n");
  EXPECT_EQ(query(db, "SELECT count(*) FROM events WHERE profile_id IS NOT NULL"), "2\n");
  const std::string bytes = readFile(db) + readFile(db + "-wal");
  EXPECT_EQ(bytes.find("+4930901820"), std::string::npos);
  EXPECT_EQ(bytes.find("customer_tier"), std::string::npos);
  auto again = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + db,
                           "--stop-when-idle", "--json", "--no-progress"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("\"read\":0"), std::string::npos) << again.out;
}

}  // namespace
