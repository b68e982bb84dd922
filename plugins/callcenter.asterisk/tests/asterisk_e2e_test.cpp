// The omniloop binary with the bundled callcenter.asterisk plugin, as a user runs it: listed by
// `omniloop plugins`, the shipped pipeline validates, and runs (follow: true) to the end with
// --stop-when-idle into a real SQLite store.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <regex>

#include "command.h"
#include "sqlite_query.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

void writeText(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(AsteriskE2e, PluginsListsTheConnectorAndThePipelineValidates) {
  auto r = runCommand({omniloopBin(), "plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("callcenter.asterisk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("asterisk.cdr"), std::string::npos) << r.out;
  const std::string pipeline = sourceDir() + "/pipelines/callcenter-asterisk.yaml";
  auto v = runCommand({omniloopBin(), "validate", pipeline});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST(AsteriskE2e, ShippedPipelineRunsToTheEndWithStopWhenIdle) {
  const std::string dir = tempDir("asterisk-e2e");
  std::string cdr = readFile(std::string(ASTERISK_TEST_DATA) + "/asterisk-master-smallcdr.csv");
  // A queued call and a bad row.
  cdr +=
      R"("","+4930901820","600","from-pstn","""Amy"" <+4930901820>","PJSIP/trunk-1","PJSIP/alice-2","Queue","support","2024-03-01 10:00:00","2024-03-01 10:00:42","2024-03-01 10:02:42",162,120,"ANSWERED","DOCUMENTATION","1709287200.7","")"
      "\nnot,a,cdr,row\n";
  writeText(dir + "/Master.csv", cdr);
  writeText(dir + "/queue_log",
            "1709287200|1709287200.7|support|NONE|ENTERQUEUE||+4930901820|1\n"
            "1709287242|1709287200.7|support|PJSIP/alice|CONNECT|42|1709287240.9|3\n"
            "1709287362|1709287200.7|support|PJSIP/alice|COMPLETEAGENT|42|120|1\n");
  std::string yaml = readFile(sourceDir() + "/pipelines/callcenter-asterisk.yaml");
  yaml = std::regex_replace(yaml, std::regex("/var/log/asterisk/cdr-csv/Master.csv"),
                            dir + "/Master.csv");
  yaml = std::regex_replace(yaml, std::regex("/var/log/asterisk/queue_log"), dir + "/queue_log");
  yaml = std::regex_replace(yaml, std::regex("country: DE"), "country: US");
  writeText(dir + "/p.yaml", yaml);
  const std::string db = dir + "/cdp.db";
  auto r = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + db,
                       "--stop-when-idle", "--json", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"read\":47"), std::string::npos) << r.out;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events"), "46\n");
  EXPECT_EQ(
      query(db, "SELECT count(*) FROM dead_letters WHERE reason LIKE '%Master.csv:47: 4 columns%'"),
      "1\n");
  EXPECT_EQ(query(db, "SELECT count(*) FROM events WHERE type = 'call.answered'"), "28\n");
  EXPECT_EQ(query(db,
                  "SELECT json_extract(attributes, '$.queue.wait_seconds') || ' ' || "
                  "json_extract(attributes, '$.queue.agent') FROM events "
                  "WHERE json_extract(attributes, '$.call.uniqueid') = '1709287200.7'"),
            "42 PJSIP/alice\n");
  // The queued caller's number became a profile (the store drops the mock 3-3-4 numbers of the
  // sample that libphonenumber finds invalid, so only this one is certain).
  EXPECT_EQ(query(db,
                  "SELECT count(*) FROM events WHERE profile_id IS NOT NULL AND "
                  "json_extract(attributes, '$.call.uniqueid') = '1709287200.7'"),
            "1\n");
  // The clear-text caller never reaches the store.
  const std::string bytes = readFile(db) + readFile(db + "-wal");
  EXPECT_EQ(bytes.find("Leanna Cuphus"), std::string::npos);
  EXPECT_EQ(bytes.find("609-326-2780"), std::string::npos);
  EXPECT_EQ(bytes.find("+4930901820"), std::string::npos);
  // The cursor was committed: a second run reads nothing.
  auto again = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + db,
                           "--stop-when-idle", "--json", "--no-progress"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("\"read\":0"), std::string::npos) << again.out;
}

}  // namespace
