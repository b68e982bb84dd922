// The data subject's rights as a DPO runs them: the quickstart, then `omniloop erase` of Amy,
// a byte scan of the SQLite file, WAL and SHM, a replay of every quickstart pipeline from the
// start, `omniloop export`, `omniloop audit`, `omniloop purge`, and the refusals.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <regex>

#include "command.h"
#include "tests/support/odbc_env.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

const char* const kPipelines[] = {"crm-suitecrm-odbc", "crm-contacts",    "pos-orders",
                                  "pos-tills",         "call-center-cdr", "social-mastodon"};

// A private copy of the quickstart (its store in the copy's var/).
struct Quickstart {
  Quickstart() : dir(tempDir("rights")) {
    fs::copy(sourceDir() + "/examples/quickstart", dir, fs::copy_options::recursive);
    std::ofstream(config()) << "store: sqlite:var/q.db\nkey_file: var/q.key\n"
                               "retention: { default: 1y, call_center: 400d, dead_letters: 30d }\n";
    // The quickstart's SuiteCRM database and its ODBC driver and DSN, as run.sh makes them.
    fs::create_directories(dir + "/var/odbc");
    const std::string crm_db = dir + "/var/quickstart-suitecrm.db";
    sqlite3* h = nullptr;
    sqlite3_open(crm_db.c_str(), &h);
    const std::string sql = readFile(sourceDir() + "/plugins/crm.odbc/sql/suitecrm-schema.sql") +
                            readFile(dir + "/data/crm/suitecrm-data.sql");
    EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
    std::ofstream(dir + "/var/odbc/odbcinst.ini")
        << "[SQLite3]\nDriver=" << OdbcEnv::driverPath("libsqlite3odbc.so") << "\n";
    std::ofstream(dir + "/var/odbc/odbc.ini")
        << "[omniloop-quickstart-suitecrm]\nDriver=SQLite3\nDatabase=" << crm_db << "\n";
  }
  ~Quickstart() {
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);
  }
  std::string config() const { return dir + "/omniloop.yaml"; }
  std::string db() const { return dir + "/var/q.db"; }
  CommandResult omniloop(std::vector<std::string> args) const {
    args.insert(args.begin(), omniloopBin());
    args.push_back("--config");
    args.push_back(config());
    return runCommand(args,
                      {"ODBCSYSINI=" + dir + "/var/odbc", "ODBCINI=" + dir + "/var/odbc/odbc.ini"});
  }
  // Runs every pipeline; the summed value of `counter` lines ("suppressed (email)  1").
  long runAll() const {
    long suppressed = 0;
    for (const char* p : kPipelines) {
      const CommandResult r =
          omniloop({"run", dir + "/pipelines/" + p + ".yaml", "--no-progress", "--stop-when-idle"});
      EXPECT_EQ(r.exit_code, 0) << p << r.out << r.err;
      std::regex re("suppressed \\((\\w+)\\) +([0-9]+)");
      for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), re);
           it != std::sregex_iterator(); ++it) {
        suppressed += std::stol((*it)[2].str());
      }
    }
    return suppressed;
  }
  std::string sql(const std::string& query) const {
    sqlite3* h = nullptr;
    sqlite3_open(db().c_str(), &h);
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(h, query.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char* t = sqlite3_column_text(st, 0);
        out += t ? reinterpret_cast<const char*>(t) : "<null>";
        out += "\n";
      }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
  }
  std::string dir;
};

std::string between(const std::string& s, const std::string& from, const std::string& to) {
  const size_t a = s.find(from);
  if (a == std::string::npos) return {};
  const size_t b = s.find(to, a + from.size());
  return s.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

std::string hexBytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

TEST(Rights, ErasingAmyLeavesNoTraceAndHerReplayIsSuppressed) {
  Quickstart q;
  EXPECT_EQ(q.runAll(), 0);
  const CommandResult amy = q.omniloop({"profile", "--identity", "email:amy@demo.net", "--json"});
  ASSERT_EQ(amy.exit_code, 0) << amy.err;
  // Her profile id and pseudonyms, as `profile` shows them.
  std::vector<std::string> secrets;
  std::regex hex_re("\"(?:id|value)\":\"(?:h1:[0-9a-f]{8}:)?([0-9a-f]{32,64})\"");
  for (auto it = std::sregex_iterator(amy.out.begin(), amy.out.end(), hex_re);
       it != std::sregex_iterator(); ++it) {
    secrets.push_back((*it)[1].str());
  }
  ASSERT_GE(secrets.size(), 3u) << amy.out;
  const CommandResult jennifer =
      q.omniloop({"profile", "--identity", "email:jennifer@demo.net", "--json"});
  ASSERT_EQ(jennifer.exit_code, 0);

  const CommandResult erase =
      q.omniloop({"erase", "--identity", "email:amy@demo.net", "--reason", "DSR-2024-117"});
  ASSERT_EQ(erase.exit_code, 0) << erase.out << erase.err;
  EXPECT_NE(erase.out.find("erased 1 profile"), std::string::npos) << erase.out;
  EXPECT_EQ(q.omniloop({"profile", "--identity", "email:amy@demo.net"}).exit_code, 1);
  EXPECT_EQ(q.omniloop({"profile", "--identity", "email:jennifer@demo.net", "--json"}).out,
            jennifer.out);

  // Nothing of hers in the file, the WAL or the SHM: clear values, pseudonyms, profile id.
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-shm"}) bytes += readFile(q.db() + suffix);
  ASSERT_GT(bytes.size(), 4096u);
  for (const char* clear : {"amy@demo.net", "Taylor", "4152568563", "amy_taylor"}) {
    EXPECT_EQ(bytes.find(clear), std::string::npos) << clear;
  }
  for (const std::string& s : secrets) {
    EXPECT_EQ(bytes.find(s), std::string::npos) << s;
    EXPECT_EQ(bytes.find(hexBytes(s)), std::string::npos) << s << " as stored bytes";
    EXPECT_EQ(bytes.find(hexBytes(s.substr(0, 32))), std::string::npos) << s << " as a 16-byte id";
  }

  // Every quickstart pipeline again from the start: nothing about her, her events counted.
  const std::string profiles_before = q.sql("SELECT count(*) FROM profiles");
  q.sql("DELETE FROM checkpoints");
  ASSERT_EQ(q.sql("SELECT count(*) FROM checkpoints"), "0\n");
  // Her SuiteCRM contact (and its further address and phone), Salesforce contact, shop order,
  // till sale and return, two calls.
  EXPECT_GE(q.runAll(), 8);
  EXPECT_EQ(q.omniloop({"profile", "--identity", "email:amy@demo.net"}).exit_code, 1);
  EXPECT_EQ(q.omniloop({"profile", "--identity", "phone:+14152568563"}).exit_code, 1);
  EXPECT_EQ(q.sql("SELECT count(*) FROM profiles"), profiles_before);
  const std::string jennifer_after =
      q.omniloop({"profile", "--identity", "email:jennifer@demo.net", "--json"}).out;
  EXPECT_EQ(between(jennifer_after, "\"traits\":", "\"identities\""),
            between(jennifer.out, "\"traits\":", "\"identities\""));
  bytes.clear();
  for (const char* suffix : {"", "-wal", "-shm"}) bytes += readFile(q.db() + suffix);
  for (const std::string& s : secrets) EXPECT_EQ(bytes.find(hexBytes(s)), std::string::npos) << s;
  EXPECT_EQ(bytes.find("amy@demo.net"), std::string::npos);

  // The audit log says who erased what and why, without her values.
  const CommandResult audit = q.omniloop({"audit", "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("\"action\":\"erase\""), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("\"actor\":\"cli:"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("DSR-2024-117"), std::string::npos) << audit.out;
  EXPECT_EQ(audit.out.find("amy"), std::string::npos) << audit.out;
  for (const std::string& s : secrets) EXPECT_EQ(audit.out.find(s), std::string::npos);
  EXPECT_EQ(q.omniloop({"audit", "--since", "2999-01-01"}).out, "no audit entries\n");

  // Erasing her again: no data held, exit 0, still audited.
  const CommandResult again =
      q.omniloop({"erase", "--identity", "email:amy@demo.net", "--reason", "DSR-2024-118"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("no data held"), std::string::npos) << again.out;
  EXPECT_NE(q.omniloop({"audit"}).out.find("DSR-2024-118"), std::string::npos);
}

TEST(Rights, ExportAuditAndPurgeFromTheCommandLine) {
  Quickstart q;
  q.runAll();
  const std::string out = q.dir + "/jennifer.json";
  const CommandResult ex =
      q.omniloop({"export", "--identity", "email:jennifer@demo.net", "--output", out});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  const std::string doc = readFile(out);
  EXPECT_EQ(fs::status(out).permissions() & fs::perms::others_read, fs::perms::none);
  EXPECT_NE(doc.find("\"format\":\"omniloop-subject-export/1\""), std::string::npos);
  EXPECT_NE(doc.find("\"type\":\"contact.snapshot\""), std::string::npos) << doc;
  EXPECT_NE(doc.find("\"pseudonymised\":"), std::string::npos);
  EXPECT_NE(doc.find("\"source\":\"salesforce-report\""), std::string::npos);
  EXPECT_EQ(doc.find("Amy"), std::string::npos);
  EXPECT_NE(q.omniloop({"audit"}).out.find("export"), std::string::npos);

  // The quickstart's events are from 2024: with a 1y default most are due; dry run = real.
  const CommandResult dry = q.omniloop({"purge", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  ASSERT_EQ(dry.out.rfind("would delete:", 0), 0u) << dry.out;
  const std::string events = q.sql("SELECT count(*) FROM events");
  const CommandResult real = q.omniloop({"purge"});
  ASSERT_EQ(real.exit_code, 0) << real.err;
  EXPECT_EQ(real.out.substr(std::string("deleted:").size()),
            dry.out.substr(std::string("would delete:").size()));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(real.out, m, std::regex("events ([0-9]+)")));
  EXPECT_EQ(std::stol(events) - std::stol(m[1].str()),
            std::stol(q.sql("SELECT count(*) FROM events")));
  EXPECT_NE(q.omniloop({"audit"}).out.find("purge"), std::string::npos);
}

TEST(Rights, BadRequestsExitTwoAndAnUnreachableStoreExitsOne) {
  Quickstart q;
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Case& c :
       {Case{{"erase", "--identity", "shoe_size:44", "--reason", "x"}, "unknown identity type"},
        Case{{"erase", "--identity", "email:not-an-email", "--reason", "x"}, "malformed"},
        Case{{"erase", "--identity", "email:amy@demo.net"}, "--reason"},
        Case{{"erase", "--reason", "x"}, "--identity"},
        Case{{"erase", "--identity", "email:amy@demo.net", "--reason", "x", "--bogus"},
             "unknown option"},
        Case{{"export"}, "--identity"}, Case{{"audit", "--since", "yesterday"}, "not a date"}}) {
    const CommandResult r = q.omniloop(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.says << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("not-an-email"), std::string::npos) << "the value was echoed";
  }
  EXPECT_FALSE(fs::exists(q.db())) << "a refused request opened the store";
  const CommandResult down =
      q.omniloop({"erase", "--identity", "email:amy@demo.net", "--reason", "x", "--store",
                  "postgresql://omniloop@127.0.0.1:1/none?connect_timeout=2"});
  EXPECT_EQ(down.exit_code, 1) << down.err;
  EXPECT_NE(down.err.find("nothing was changed"), std::string::npos) << down.err;
}
