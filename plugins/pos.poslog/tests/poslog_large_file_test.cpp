// A generated 1 GB POSLog file is read in bounded memory: the reader keeps no tree, only one
// read chunk and one transaction, so peak RSS stays far below the file size.
#include <gtest/gtest.h>

#include <regex>

#include "../../../tests/e2e/command.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

TEST(PoslogLargeFile, OneGigabyteIsReadUnder100MiB) {
  const std::string dir = tempDir("poslog-1gb");
  const std::string file = dir + "/big.xml";
  {
    std::ofstream f(file, std::ios::binary);
    f << "<?xml version=\"1.0\"?>\n<POSLog "
         "xmlns=\"http://www.nrf-arts.org/IXRetail/namespace/\">\n";
    const std::string pad(600, ' ');
    uint64_t written = 0;
    for (int seq = 1; written < (1ull << 30); ++seq) {
      std::string t =
          "<Transaction><RetailStoreID>1</RetailStoreID><WorkstationID>1</"
          "WorkstationID><SequenceNumber>" +
          std::to_string(seq) +
          "</SequenceNumber><RetailTransaction><LineItem><Sale><ItemID>1</ItemID><Description>" +
          pad +
          "</Description><ExtendedAmount>1.00</ExtendedAmount></Sale></LineItem>"
          "<Total "
          "TotalType=\"TransactionGrandAmount\">1.00</Total></RetailTransaction></Transaction>\n";
      f << t;
      written += t.size();
    }
    f << "</POSLog>\n";
  }
  std::ofstream(dir + "/p.yaml")
      << "version: 1\nname: big\nsource:\n  type: pos.poslog\n  with: { path: \"" << file
      << "\" }\nsink:\n  type: discard\n";
  const CommandResult r =
      runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite::memory:", "--json"},
                 {"OMNILOOP_KEY=" + std::string(64, '1'),
                  "OMNILOOP_PLUGIN_PATH=" + std::string(OMNILOOP_PLUGIN_DIR)});
  fs::remove_all(dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("\"peak_rss_mib\":([0-9.]+)"))) << r.out;
  EXPECT_LT(std::stod(m[1].str()), 100.0) << r.out;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("\"read\":([0-9]+)"))) << r.out;
  EXPECT_GT(std::stol(m[1].str()), 1000000);
  EXPECT_NE(r.out.find("\"dead_lettered\":0"), std::string::npos) << r.out;
}
