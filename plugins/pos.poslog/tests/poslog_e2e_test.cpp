// pos.poslog as a user runs it: `omniloop run` over POSLog files into a real SQLite store,
// with reruns, a file still being written, bad input and kill -9.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "../../../tests/e2e/command.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

const std::string kKeyEnv = "OMNILOOP_KEY=" + std::string(64, '7');

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// pos.poslog declares these personal: a pipeline must deal with them before the store.
const std::string kStages =
    "stages:\n  - map: { drop: [customer.first_name, customer.last_name] }\n"
    "  - mask: { customer.id: hmac, operator_id: hmac }\n";

std::string pipeline(const std::string& path, bool follow) {
  return "version: 1\nname: tills\nsource:\n  type: pos.poslog\n  with: { path: \"" + path +
         "\", follow: " + (follow ? "true" : "false") + " }\n" + kStages + "sink:\n  type: cdp\n";
}

// Rows of `sql` as "a|b|c" strings.
std::vector<std::string> query(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);  // the handle is allocated even when opening fails
    return rows;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        if (i) row += "|";
        const unsigned char* t = sqlite3_column_text(st, i);
        row += t ? reinterpret_cast<const char*>(t) : "NULL";
      }
      rows.push_back(row);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

std::string transaction(int seq, const std::string& body_extra = "") {
  return "<Transaction><RetailStoreID>5</RetailStoreID><WorkstationID>2</WorkstationID>"
         "<SequenceNumber>" +
         std::to_string(seq) +
         "</SequenceNumber><BusinessDayDate>2026-12-01</BusinessDayDate>"
         "<EndDateTime>2026-12-01T10:00:00Z</EndDateTime><RetailTransaction "
         "TransactionStatus=\"Finished\">"
         "<LineItem><Sale><ItemID>" +
         std::to_string(seq % 97) +
         "</ItemID><ExtendedAmount>3.50</ExtendedAmount></Sale></LineItem>"
         "<LineItem><Tender TenderType=\"Cash\"><Amount>3.50</Amount></Tender></LineItem>"
         "<Total TotalType=\"TransactionGrandAmount\">3.50</Total>" +
         body_extra + "<LoyaltyAccount><LoyaltyAccountID>L" + std::to_string(seq % 500) +
         "</LoyaltyAccountID></LoyaltyAccount>"
         "</RetailTransaction></Transaction>\n";
}

const std::string kHead =
    "<?xml version=\"1.0\"?>\n<POSLog xmlns=\"http://www.nrf-arts.org/IXRetail/namespace/\">\n";

CommandResult run(const std::string& dir, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {omniloopBin(), "run", dir + "/p.yaml", "--store",
                                   "sqlite:" + dir + "/cdp.db"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return runCommand(argv, {kKeyEnv, "OMNILOOP_PLUGIN_PATH=" + std::string(OMNILOOP_PLUGIN_DIR)});
}

}  // namespace

TEST(Poslog, SampleTillFilesBecomeOrderEventsAndARerunAddsNothing) {
  const std::string dir = tempDir("poslog-sample");
  fs::create_directories(dir + "/in");
  for (const char* f : {"store42-2026-11-30.xml", "store07-v22-prefixed.xml"}) {
    fs::copy_file(std::string(POSLOG_TEST_DATA) + "/" + f, dir + "/in/" + f);
  }
  writeFile(dir + "/p.yaml", pipeline(dir + "/in", false));
  const CommandResult r = run(dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string db = dir + "/cdp.db";
  // 3 customer events from the 6 transactions of store 42 (voided, training, control: none),
  // 1 from store 7.
  const auto types = query(db, "SELECT type, channel FROM events ORDER BY occurred_at");
  ASSERT_EQ(types.size(), 4u) << r.out;
  EXPECT_EQ(std::count(types.begin(), types.end(), "order.placed|pos"), 3);
  EXPECT_EQ(std::count(types.begin(), types.end(), "order.returned|pos"), 1);
  // Times with their offsets: 10:17:30+01:00 is 09:17:30 UTC.
  EXPECT_EQ(query(db, "SELECT count(*) FROM events WHERE occurred_at = 1796030250000000").at(0),
            "1");
  const auto attrs = query(db, "SELECT attributes FROM events WHERE type = 'order.returned'");
  ASSERT_EQ(attrs.size(), 1u);
  EXPECT_NE(attrs[0].find("\"original_transaction\""), std::string::npos) << attrs[0];
  EXPECT_NE(attrs[0].find("\"sequence_number\":\"1001\""), std::string::npos) << attrs[0];
  // The sale and the return share the loyalty account: one profile.
  EXPECT_EQ(query(db,
                  "SELECT count(DISTINCT profile_id) FROM events WHERE source LIKE '%' AND "
                  "json_extract(attributes, '$.store_id') = '42'")
                .at(0),
            "1");
  EXPECT_EQ(query(db, "SELECT count(*) FROM dead_letters").at(0), "0");

  const CommandResult again = run(dir, {"--json"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("\"read\":0"), std::string::npos) << again.out;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events").at(0), "4");
  fs::remove_all(dir);
}

TEST(Poslog, BadRecordsAreDeadLettersNamingFileAndLineAndTheRestArrives) {
  const std::string dir = tempDir("poslog-bad");
  const std::string file = dir + "/in/bad.xml";
  writeFile(
      file,
      kHead + transaction(1) +
          "<Transaction><RetailStoreID>5</RetailStoreID><Broken></Transaction>\n" +  // line 4
          transaction(3) +
          "<Transaction><RetailStoreID>5</RetailStoreID><SequenceNumber>4</SequenceNumber>"
          "<RetailTransaction><LineItem/></RetailTransaction></Transaction>\n" +  // no Total
          "<Transaction><RetailStoreID>5</RetailStoreID><SequenceNumber>5</SequenceNumber>"
          "<RetailTransaction "
          "TransactionStatus=\"Exploded\"><Total>1</Total></RetailTransaction></Transaction>\n" +
          "<Transaction><RetailStoreID>\xc3\x28</RetailStoreID></Transaction>\n" + transaction(7) +
          "<Transaction><RetailStoreID>5</RetailStoreID><Seq");  // truncated mid-element
  writeFile(dir + "/p.yaml", pipeline(dir + "/in", false));
  const CommandResult r = run(dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string db = dir + "/cdp.db";
  EXPECT_EQ(query(db, "SELECT count(*) FROM events").at(0), "3");  // 1, 3 and 7
  const auto reasons = query(db, "SELECT reason FROM dead_letters ORDER BY reason");
  ASSERT_EQ(reasons.size(), 5u);
  std::string all;
  for (const auto& reason : reasons) {
    EXPECT_EQ(reason.rfind(file + ":", 0), 0u) << reason;  // names the file and the line
    all += reason + "\n";
  }
  EXPECT_NE(all.find(file + ":4: xml: mismatched tag"), std::string::npos) << all;
  EXPECT_NE(all.find("has no Total"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown TransactionStatus 'Exploded'"), std::string::npos) << all;
  EXPECT_NE(all.find("ends inside this transaction"), std::string::npos) << all;
  fs::remove_all(dir);
}

TEST(Poslog, AFileStillBeingWrittenIsReadUpToItsLastCompleteTransaction) {
  const std::string dir = tempDir("poslog-growing");
  const std::string file = dir + "/in/till.xml";
  const std::string whole =
      kHead + transaction(1) + transaction(2) + transaction(3) + "</POSLog>\n";
  const size_t cut = whole.find("<Transaction", whole.find("</Transaction>")) + 60;  // inside #2
  writeFile(file, whole.substr(0, cut));
  writeFile(dir + "/p.yaml", pipeline(dir + "/in", true));
  CommandResult r = run(dir, {"--stop-when-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string db = dir + "/cdp.db";
  EXPECT_EQ(query(db, "SELECT count(*) FROM events").at(0), "1");
  std::ofstream(file, std::ios::binary | std::ios::app) << whole.substr(cut);
  r = run(dir, {"--stop-when-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events").at(0), "3");
  EXPECT_EQ(query(db, "SELECT count(*) FROM dead_letters").at(0), "0");
  fs::remove_all(dir);
}

TEST(Poslog, KilledAndRestartedEveryTransactionArrivesExactlyOnce) {
  const std::string dir = tempDir("poslog-kill");
  constexpr int kTransactions = 30000;
  std::string text = kHead;
  for (int i = 1; i <= kTransactions; ++i) text += transaction(i);
  text += "</POSLog>\n";
  writeFile(dir + "/in/a.xml", text);
  writeFile(dir + "/p.yaml",
            "version: 1\nname: tills\nsource:\n  type: pos.poslog\n  with: { path: \"" + dir +
                "/in\" }\n" + kStages + "sink:\n  type: cdp\nbatch: { size: 200 }\n");
  const std::string db = dir + "/cdp.db";
  for (int kill = 0; kill < 3; ++kill) {
    runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + db},
               {kKeyEnv, "OMNILOOP_PLUGIN_PATH=" + std::string(OMNILOOP_PLUGIN_DIR)},
               [&](pid_t pid) {
                 std::this_thread::sleep_for(std::chrono::milliseconds(400 + 300 * kill));
                 ::kill(pid, SIGKILL);
               });
    if (kill == 0) {
      // The first kill landed mid-file (else this test would prove nothing).
      // (No store yet: the kill came before the first commit, which counts as mid-file too.)
      const auto n = query(db, "SELECT count(*) FROM events");
      EXPECT_LT(n.empty() ? 0L : std::stol(n[0]), static_cast<long>(kTransactions));
    }
  }
  const CommandResult last = run(dir);
  ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events").at(0), std::to_string(kTransactions));
  EXPECT_EQ(
      query(db, "SELECT count(DISTINCT json_extract(attributes, '$.sequence_number')) FROM events")
          .at(0),
      std::to_string(kTransactions));
  EXPECT_EQ(query(db, "SELECT count(*) FROM dead_letters").at(0), "0");
  fs::remove_all(dir);
}

TEST(Poslog, FinishedFilesMoveToDoneDirOnceCommitted) {
  const std::string dir = tempDir("poslog-done");
  writeFile(dir + "/in/t1.xml", kHead + transaction(1) + "</POSLog>\n");
  writeFile(dir + "/in/t2.xml", kHead + transaction(2) + "</POSLog>\n");
  writeFile(dir + "/p.yaml",
            "version: 1\nname: tills\nsource:\n  type: pos.poslog\n  with: { path: \"" + dir +
                "/in\", done_dir: \"" + dir + "/done\" }\n" + kStages + "sink:\n  type: cdp\n");
  ASSERT_EQ(run(dir).exit_code, 0);
  ASSERT_EQ(run(dir).exit_code, 0);  // the committed cursor lists both: they move now
  EXPECT_TRUE(fs::exists(dir + "/done/t1.xml"));
  EXPECT_TRUE(fs::exists(dir + "/done/t2.xml"));
  EXPECT_FALSE(fs::exists(dir + "/in/t1.xml"));
  EXPECT_EQ(query(dir + "/cdp.db", "SELECT count(*) FROM events").at(0), "2");
  fs::remove_all(dir);
}

TEST(Poslog, APipelineThatLetsTheCustomersNameThroughIsRefused) {
  const std::string dir = tempDir("poslog-personal");
  writeFile(dir + "/p.yaml", "version: 1\nname: tills\nsource:\n  type: pos.poslog\n  with: { path: \"" + dir +
                                 "\" }\nsink:\n  type: cdp\n");
  const CommandResult r = runCommand({omniloopBin(), "validate", dir + "/p.yaml"},
                                     {"OMNILOOP_PLUGIN_PATH=" + std::string(OMNILOOP_PLUGIN_DIR)});
  EXPECT_EQ(r.exit_code, 2);
  for (const char* field : {"customer.first_name", "customer.last_name", "customer.id", "operator_id"}) {
    EXPECT_NE(r.out.find("personal field '" + std::string(field) + "' reaches sink"), std::string::npos)
        << field << "\n" << r.out;
  }
  fs::remove_all(dir);
}
