// The omniloop binary as a user runs it: exit codes, messages, summaries, resume, signals.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "../support/pg_server.h"
#include "command.h"
#include "mastodon_server.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

const std::string kQuickstart = sourceDir() + "/examples/quickstart";

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// "  written   1,234" -> 1234 from the readable summary.
long summaryValue(const std::string& out, const std::string& label) {
  std::regex re("\\n  " + label + " +([0-9,]+)");
  std::smatch m;
  if (!std::regex_search(out, m, re)) return -1;
  std::string digits;
  for (char c : m[1].str()) {
    if (c != ',') digits.push_back(c);
  }
  return std::stol(digits);
}

}  // namespace

TEST(Cli, VersionAndHelp) {
  auto v = runCommand({omniloopBin(), "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("omniloop 0."), std::string::npos);
  for (const char* cmd : {"validate", "run", "plugins", "stats"}) {
    auto h = runCommand({omniloopBin(), cmd, "--help"});
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.out.find(std::string("usage: omniloop ") + cmd), std::string::npos) << cmd;
  }
  auto none = runCommand({omniloopBin()});
  EXPECT_EQ(none.exit_code, 2);
  auto bad = runCommand({omniloopBin(), "frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown command 'frobnicate'"), std::string::npos);
  auto bad_opt = runCommand({omniloopBin(), "run", "x.yaml", "--bogus"});
  EXPECT_EQ(bad_opt.exit_code, 2);
  EXPECT_NE(bad_opt.err.find("unknown option --bogus"), std::string::npos);
}

TEST(Cli, ValidateAcceptsEveryShippedPipeline) {
  std::vector<std::string> argv = {omniloopBin(), "validate"};
  for (const auto& dir : {kQuickstart + "/pipelines", sourceDir() + "/pipelines"}) {
    if (!fs::exists(dir)) continue;
    for (const auto& f : fs::directory_iterator(dir)) {
      if (f.path().extension() == ".yaml") argv.push_back(f.path().string());
    }
  }
  ASSERT_GT(argv.size(), 2u);
  auto r = runCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (size_t i = 2; i < argv.size(); ++i) {
    EXPECT_NE(r.out.find(argv[i] + ": ok"), std::string::npos) << argv[i];
  }
}

TEST(Cli, ValidateReportsEveryErrorWithLineColumnAndHint) {
  const std::string dir = tempDir("validate");
  const std::string file = dir + "/bad.yaml";
  writeFile(file,
            "version: 1\n"
            "name: bad\n"
            "source:\n"
            "  type: file.cvs\n"
            "  with: { path: x.csv }\n"
            "stages:\n"
            "  - filter: 'a == '\n"
            "sink:\n"
            "  type: cdp\n"
            "  wiht: {}\n");
  auto r = runCommand({omniloopBin(), "validate", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find(file + ":4:9: error:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("file.csv"), std::string::npos) << r.out;  // closest known type
  EXPECT_NE(r.out.find(file + ":7:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(file + ":10:3: error:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'with'"), std::string::npos) << r.out;
}

TEST(Cli, RunPrintsSummaryAndResumesFromCheckpoint) {
  const std::string dir = tempDir("run");
  const std::string store = "sqlite:" + dir + "/cdp.db";
  const std::string pipeline = kQuickstart + "/pipelines/pos-orders.yaml";
  auto first = runCommand({omniloopBin(), "run", pipeline, "--store", store, "--no-progress"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("pipeline pos-orders"), std::string::npos) << first.out;
  EXPECT_EQ(summaryValue(first.out, "read"), 7);
  EXPECT_EQ(summaryValue(first.out, "written"), 5);
  EXPECT_EQ(summaryValue(first.out, "filtered"), 1);       // the voided order
  EXPECT_EQ(summaryValue(first.out, "dead-lettered"), 1);  // the broken JSON line
  EXPECT_NE(first.out.find("events/s"), std::string::npos);
  EXPECT_NE(first.err.find("generated a new pseudonymisation key"), std::string::npos);

  auto again = runCommand({omniloopBin(), "run", pipeline, "--store", store, "--no-progress"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(summaryValue(again.out, "read"), 0) << again.out;

  auto stats = runCommand({omniloopBin(), "stats", "--store", store, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("\"events\":5"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("\"dead_letters\":1"), std::string::npos) << stats.out;
  // Clear-text identifiers never reach the store file.
  const std::string db = readFile(dir + "/cdp.db") + readFile(dir + "/cdp.db-wal");
  EXPECT_EQ(db.find("amy@demo.net"), std::string::npos);
}

TEST(Cli, RunJsonSummaryAndFailureExitCode) {
  const std::string dir = tempDir("runjson");
  const std::string file = dir + "/p.yaml";
  writeFile(dir + "/in.jsonl", "{\"a\":1}\n{\"a\":2}\n");
  writeFile(file, "version: 1\nname: j\nsource:\n  type: file.jsonl\n  with: { path: " + dir +
                      "/in.jsonl }\nsink:\n  type: file.jsonl\n  with: { path: " + dir +
                      "/out.jsonl }\n");
  auto r = runCommand({omniloopBin(), "run", file, "--store", "sqlite:" + dir + "/s.db", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"read\":2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"written\":2"), std::string::npos) << r.out;
  const std::string out = readFile(dir + "/out.jsonl");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);

  // A source that cannot open its file: the run fails with exit 1 and says why.
  fs::remove(dir + "/in.jsonl");
  auto fail = runCommand({omniloopBin(), "run", file, "--store", "sqlite:" + dir + "/s2.db"});
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_NE((fail.out + fail.err).find("in.jsonl"), std::string::npos) << fail.out << fail.err;

  auto invalid = runCommand({omniloopBin(), "run", dir + "/missing.yaml"});
  EXPECT_EQ(invalid.exit_code, 2);
}

// Phones as people type them. Valid ones (even with digits in sequence) link; every rejected
// identity is counted by reason in the run summary; `profile` reads a national number in the
// default region of omniloop.yaml or in --region.
TEST(Cli, PhonesAreValidatedByLibphonenumberAndEveryRejectionIsCounted) {
  const std::string dir = tempDir("phones");
  writeFile(dir + "/in.jsonl",
            "{\"id\":1,\"phone\":\"+49 30 1234567\",\"email\":\"ann@example.com\"}\n"
            "{\"id\":2,\"phone\":\"+1 234 567 8901\",\"email\":\"bob@example.com\"}\n"
            "{\"id\":3,\"phone\":\"(030) 123-4567\",\"email\":\"ann@example.com\"}\n"
            "{\"id\":4,\"phone\":\"0049 30 1234567\",\"email\":\"cy.example.com\"}\n"
            "{\"id\":5,\"phone\":\"12ab\",\"email\":\"dee@example.com\"}\n"
            "{\"id\":6,\"phone\":\"123\",\"email\":\"test@test.com\"}\n");
  writeFile(
      dir + "/p.yaml",
      "version: 1\nname: phones\nsource:\n  type: file.jsonl\n  with: { path: " + dir +
          "/in.jsonl, key_field: id }\nstages:\n  - map: { rename: { phone: $identities.phone, "
          "email: $identities.email } }\nsink:\n  type: cdp\n");
  writeFile(dir + "/omniloop.yaml",
            "store: sqlite:" + dir + "/cdp.db\nidentity:\n  default_region: DE\n");
  const std::string config = dir + "/omniloop.yaml";
  auto r = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--config", config, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(
      r.out.find(
          "\"identity_rejected\":{\"blocklisted\":1,\"email_malformed\":1,\"phone_invalid\":2}"),
      std::string::npos)
      << r.out;

  // +49 30 1234567, (030) 123-4567 and 0049 30 1234567 are one number: Ann's and Cy's events meet.
  auto national = runCommand(
      {omniloopBin(), "profile", "--identity", "phone:030 1234567", "--json", "--config", config});
  ASSERT_EQ(national.exit_code, 0) << national.err;
  EXPECT_NE(national.out.find("\"event_count\":3"), std::string::npos) << national.out;
  auto us = runCommand({omniloopBin(), "profile", "--identity", "phone:(234) 567-8901", "--region",
                        "US", "--json", "--config", config});
  ASSERT_EQ(us.exit_code, 0) << us.err;
  EXPECT_NE(us.out.find("\"event_count\":1"), std::string::npos) << us.out;
  auto de = runCommand({omniloopBin(), "profile", "--identity", "phone:0301234567", "--region",
                        "de", "--config", config});
  EXPECT_EQ(de.exit_code, 0) << de.err;
  auto bad_region = runCommand({omniloopBin(), "profile", "--identity", "phone:0301234567",
                                "--region", "Germany", "--config", config});
  EXPECT_EQ(bad_region.exit_code, 2);
  EXPECT_NE(bad_region.err.find("--region takes a two-letter region"), std::string::npos)
      << bad_region.err;
  auto invalid = runCommand(
      {omniloopBin(), "profile", "--identity", "phone:12ab", "--region", "DE", "--config", config});
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_NE(invalid.err.find("not a valid number in region DE"), std::string::npos) << invalid.err;
  EXPECT_EQ(invalid.err.find("12ab"), std::string::npos) << "the clear value was echoed";
}

// A record that reuses a stored id with other content is a collision the user sees (counter,
// dead letter), never a silent overwrite; the same record again is a no-op.
TEST(Cli, SameIdWithOtherContentIsReportedNotOverwritten) {
  const std::string dir = tempDir("sameid");
  writeFile(dir + "/in.jsonl", "{\"id\":1,\"total\":10}\n{\"id\":2,\"total\":20}\n");
  writeFile(dir + "/p.yaml",
            "version: 1\nname: orders\nsource:\n  type: file.jsonl\n  with: { path: " + dir +
                "/in.jsonl, key_field: id }\nsink:\n  type: cdp\n  with: { same_id: collision }\n");
  const std::string store = "sqlite:" + dir + "/cdp.db";
  auto first = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", store, "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  // Order 1 again as it was, and order 2 again with another total (a reused order number).
  std::ofstream(dir + "/in.jsonl", std::ios::app)
      << "{\"id\":1,\"total\":10}\n{\"id\":2,\"total\":99}\n";
  auto second = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", store, "--json"});
  EXPECT_NE(second.out.find("\"same_id\":{\"collision\":1}"), std::string::npos)
      << second.out << second.err;
  auto stats = runCommand({omniloopBin(), "stats", "--store", store, "--json"});
  EXPECT_NE(stats.out.find("\"events\":2"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("\"dead_letters\":1"), std::string::npos) << stats.out;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/cdp.db").c_str(), &db), SQLITE_OK);
  auto one = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  };
  EXPECT_EQ(one("SELECT group_concat(json_extract(attributes, '$.total')) FROM (SELECT attributes "
                "FROM events "
                "ORDER BY json_extract(attributes, '$.id'))"),
            "10,20");  // the stored order 2 stays as it was
  EXPECT_NE(one("SELECT reason FROM dead_letters").find("same id, different content"),
            std::string::npos);
  sqlite3_close(db);
}

// A misspelt identity type in omniloop.yaml stops the command with file:line:column and a hint.
TEST(Cli, MisspeltIdentityTypeInTheConfigIsAnError) {
  const std::string dir = tempDir("idtypo");
  writeFile(
      dir + "/omniloop.yaml",
      "store: sqlite:" + dir + "/cdp.db\nidentity:\n  types:\n    emial: { max_per_profile: 1 }\n");
  auto r = runCommand({omniloopBin(), "stats", "--config", dir + "/omniloop.yaml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(dir + "/omniloop.yaml:4:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'email'?"), std::string::npos) << r.err;
}

TEST(Cli, PluginsListsBundledFileConnectors) {
  auto r = runCommand({omniloopBin(), "plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("omniloop.files"), std::string::npos) << r.out;
  for (const char* t : {"file.jsonl", "file.csv"}) {
    EXPECT_NE(r.out.find(t), std::string::npos) << t;
  }
}

TEST(Cli, SigintDrainsCommitsAndResumesWithoutLossOrDuplicates) {
  const std::string dir = tempDir("sigint");
  {
    std::ofstream f(dir + "/in.jsonl");
    for (int i = 0; i < 300000; ++i)
      f << "{\"n\":" << i << ",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n";
  }
  const std::string file = dir + "/p.yaml";
  writeFile(file, "version: 1\nname: s\nsource:\n  type: file.jsonl\n  with: { path: " + dir +
                      "/in.jsonl, key_field: n }\nsink:\n  type: cdp\nbatch: { size: 256 }\n");
  const std::string store = "sqlite:" + dir + "/s.db";
  // SIGINT once the run has committed something (a fixed delay lands before the first read on
  // a loaded machine): poll the store's events, read-only.
  const std::string db_path = dir + "/s.db";
  auto stored = [&]() -> long {
    sqlite3* db = nullptr;
    long n = 0;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db, 100);
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
  };
  auto first =
      runCommand({omniloopBin(), "run", file, "--store", store, "--json"}, {}, [&](pid_t pid) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (stored() == 0 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        kill(pid, SIGINT);
      });
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // The signal really arrived mid-run: the first run stopped early and said so.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first.out, m, std::regex("\"read\":([0-9]+)"))) << first.out;
  EXPECT_GT(std::stol(m[1].str()), 0);
  EXPECT_LT(std::stol(m[1].str()), 300000);
  auto second = runCommand({omniloopBin(), "run", file, "--store", store, "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto stats = runCommand({omniloopBin(), "stats", "--store", store, "--json"});
  EXPECT_NE(stats.out.find("\"events\":300000"), std::string::npos) << stats.out;
}

// A batch that fails inside a group commit rolls its neighbours back with it. `omniloop run`
// resumes from the committed cursor in the same process instead of failing, and the failing
// batch, now in a transaction of its own, is dead-lettered: nothing lost, nothing twice.
TEST(Cli, RunResumesAfterARolledBackGroupAndDeadLettersTheFailingBatch) {
  const std::string dir = tempDir("resume");
  {
    std::ofstream f(dir + "/in.jsonl");
    for (int i = 0; i < 2000; ++i) {
      f << "{\"n\":" << i << (i == 1450 ? ",\"poison\":true" : "") << ",\"pad\":\"xxxxxxxx\"}\n";
    }
  }
  const std::string file = dir + "/p.yaml";
  writeFile(file, "version: 1\nname: r\nsource:\n  type: file.jsonl\n  with: { path: " + dir +
                      "/in.jsonl, key_field: n }\nsink:\n  type: cdp\nbatch: { size: 100 }\n");
  const std::string db_path = dir + "/s.db";
  const std::string store = "sqlite:" + db_path;
  // The store is created by a run (read-only commands such as stats never create one).
  writeFile(dir + "/empty.jsonl", "");
  writeFile(dir + "/init.yaml",
            "version: 1\nname: init\nsource:\n  type: file.jsonl\n  with: { path: " + dir +
                "/empty.jsonl }\nsink:\n  type: cdp\n");
  auto init =
      runCommand({omniloopBin(), "run", dir + "/init.yaml", "--store", store, "--no-progress"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  // What a trigger someone added, or a bug, does to one event: its INSERT fails every time.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  auto query = [&](const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    std::string out;
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(st, 0);
      out += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
      out += "\n";
    }
    sqlite3_finalize(st);
    return out;
  };
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.attributes LIKE "
                         "'%\"poison\":true%' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  // Every insert also does a little busy work, so the store is surely slower than the source
  // and batches queue up behind the one being written (what group commit needs), whatever else
  // the machine is doing.
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TRIGGER slow BEFORE INSERT ON events BEGIN SELECT count(*) FROM "
                         "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE "
                         "x < 3000) SELECT x FROM c); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);

  auto r = runCommand({omniloopBin(), "run", file, "--store", store, "--json", "--no-progress"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // The source reads far ahead of the store, so batch 15 of 20 lands inside a group.
  EXPECT_NE(r.out.find("\"resumes\":1,"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("injected failure"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resuming r from its last committed cursor"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("\"ok\":true"), std::string::npos) << r.out;

  // Every event but those of the failing batch (1400..1499) stored once; that batch is in
  // dead letters with the reason; the cursor is at the end (a rerun reads nothing).
  EXPECT_EQ(query("SELECT count(*) FROM events"), "1900\n");
  EXPECT_EQ(query("SELECT count(DISTINCT id) FROM events"), "1900\n");
  EXPECT_EQ(query("SELECT count(*) FROM events WHERE json_extract(attributes, '$.n') BETWEEN 1400 "
                  "AND 1499"),
            "0\n");
  EXPECT_EQ(query("SELECT count(*) FROM dead_letters WHERE reason LIKE '%injected failure%'"),
            "100\n");
  EXPECT_EQ(query("SELECT count(*) FROM dead_letters"), "100\n");
  sqlite3_close(db);
  auto again =
      runCommand({omniloopBin(), "run", file, "--store", store, "--json", "--no-progress"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("\"read\":0,"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("\"resumes\":0,"), std::string::npos) << again.out;
}

TEST(Cli, PlainProgressLinesWhenNotOnATerminal) {
  const std::string dir = tempDir("progress");
  {
    std::ofstream f(dir + "/in.jsonl");
    for (int i = 0; i < 200000; ++i) f << "{\"n\":" << i << "}\n";
  }
  const std::string file = dir + "/p.yaml";
  writeFile(file, "version: 1\nname: pr\nsource:\n  type: file.jsonl\n  with: { path: " + dir +
                      "/in.jsonl }\nsink:\n  type: cdp\nbatch: { size: 64 }\n");
  auto r = runCommand({omniloopBin(), "run", file, "--store", "sqlite:" + dir + "/s.db",
                       "--progress-interval", "0.05"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("progress pr: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("\r"), std::string::npos);
}

TEST(Quickstart, ProfileShowsOneCustomerAcrossChannels) {
  auto q = runCommand({"/bin/bash", kQuickstart + "/run.sh", omniloopBin()});
  ASSERT_EQ(q.exit_code, 0) << q.out << q.err;
  const std::string config = kQuickstart + "/omniloop.yaml";

  auto r = runCommand({omniloopBin(), "profile", "--identity", "email:Amy@Demo.net ", "--json",
                       "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One profile, fed by several systems, with its identities as pseudonyms only.
  EXPECT_NE(r.out.find("\"type\":\"email\",\"value\":\"h1:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"type\":\"phone\",\"value\":\"h1:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("amy@demo.net"), std::string::npos) << "a clear identity value was shown";
  for (const char* channel : {"\"channel\":\"crm\"", "\"channel\":\"pos\""}) {
    EXPECT_NE(r.out.find(channel), std::string::npos)
        << channel << " missing from the timeline: " << r.out;
  }
  EXPECT_NE(r.out.find("\"lifetime_value\":"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"events_by_channel\":"), std::string::npos) << r.out;

  auto human = runCommand(
      {omniloopBin(), "profile", "--identity", "email:amy@demo.net", "--config", config});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("identities ("), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("timeline"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("lifetime_value"), std::string::npos) << human.out;

  auto unknown = runCommand(
      {omniloopBin(), "profile", "--identity", "email:nobody-here@demo.net", "--config", config});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no profile holds this email identity"), std::string::npos)
      << unknown.err;
  EXPECT_EQ(unknown.err.find("nobody-here"), std::string::npos) << "the clear value was echoed";

  auto usage =
      runCommand({omniloopBin(), "profile", "--identity", "amy@demo.net", "--config", config});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("TYPE:VALUE"), std::string::npos) << usage.err;
}

namespace {

// The timeline entries of a `profile --json` answer, one JSON object text each.
std::vector<std::string> timelineEntries(const std::string& profile_json) {
  std::vector<std::string> out;
  const size_t start = profile_json.find("\"timeline\":[");
  if (start == std::string::npos) return out;
  // An entry starts with its event id and occurred_at (attributes may hold other "id"s).
  const std::regex entry_re("\\{\"id\":\"[0-9a-f]{32}\",\"occurred_at\":");
  std::vector<size_t> starts;
  for (std::sregex_iterator it(profile_json.begin() + static_cast<std::ptrdiff_t>(start),
                               profile_json.end(), entry_re),
       end;
       it != end; ++it) {
    starts.push_back(start + static_cast<size_t>(it->position()));
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    const size_t to = i + 1 < starts.size() ? starts[i + 1] : profile_json.size();
    out.push_back(profile_json.substr(starts[i], to - starts[i]));
  }
  return out;
}

}  // namespace

// Issues 13 and 14: the quickstart reaches its legacy systems through their connectors — a
// SuiteCRM database over SQLite ODBC (crm.odbc), the tills' POSLog file (pos.poslog), the PBX's
// Master.csv with its queue_log (callcenter.asterisk) — from a clean var/, and Amy's profile
// shows each; running every pipeline again adds nothing.
TEST(Quickstart, LegacyConnectorsFeedAmysProfileWithCallsTillAndMentionsAndARerunAddsNothing) {
  const std::string var = sourceDir() + "/var";
  for (const char* f : {"quickstart.db", "quickstart.db-wal", "quickstart.db-shm",
                        "quickstart-suitecrm.db", "quickstart.key", "quickstart.vault.key"}) {
    fs::remove(var + "/" + f);
  }
  fs::remove_all(var + "/odbc");

  auto plugins = runCommand({omniloopBin(), "plugins"});
  ASSERT_EQ(plugins.exit_code, 0) << plugins.err;
  for (const char* p : {"crm.odbc", "pos.poslog", "callcenter.asterisk", "source asterisk.cdr",
                        "callcenter.connect", "source connect.ctr"}) {
    EXPECT_NE(plugins.out.find(p), std::string::npos) << p << " not listed:\n" << plugins.out;
  }

  auto q = runCommand({"/bin/bash", kQuickstart + "/run.sh", omniloopBin()});
  ASSERT_EQ(q.exit_code, 0) << q.out << q.err;
  EXPECT_EQ(q.out.find("FAILED"), std::string::npos) << q.out;
  for (const char* p : {"crm-suitecrm-odbc", "pos-tills", "call-center-cdr"}) {
    EXPECT_NE(q.out.find(std::string("pipeline ") + p + " ("), std::string::npos) << p << q.out;
  }
  // The SuiteCRM database the quickstart made, and its private ODBC configuration (the SQLite
  // driver, the DSN with NoCreat=1): under var/, nothing under /etc.
  EXPECT_TRUE(fs::exists(var + "/quickstart-suitecrm.db"));
  const std::string odbcinst = readFile(var + "/odbc/odbcinst.ini");
  const std::string odbcini = readFile(var + "/odbc/odbc.ini");
  EXPECT_NE(odbcinst.find("libsqlite3odbc.so"), std::string::npos) << odbcinst;
  EXPECT_NE(odbcini.find("Database=" + var + "/quickstart-suitecrm.db"), std::string::npos)
      << odbcini;
  EXPECT_NE(odbcini.find("NoCreat=1"), std::string::npos) << odbcini;

  const std::string config = kQuickstart + "/omniloop.yaml";
  auto amy = runCommand({omniloopBin(), "profile", "--identity", "email:amy@demo.net", "--json",
                         "--timeline", "50", "--config", config});
  ASSERT_EQ(amy.exit_code, 0) << amy.err;
  int crm = 0, till_sales = 0, till_returns = 0, shop = 0, calls = 0, mentions = 0;
  std::set<std::string> waits;
  const std::regex wait_re("\"wait_seconds\":([0-9]+)");
  for (const std::string& e : timelineEntries(amy.out)) {
    if (e.find("\"pipeline\":\"crm-suitecrm-odbc\"") != std::string::npos &&
        e.find("\"type\":\"contact.snapshot\"") != std::string::npos &&
        e.find("\"source\":\"suitecrm\"") != std::string::npos) {
      ++crm;
      // Read from the database: her SuiteCRM id, her company, the city kept in clear; the
      // names pseudonymised by the pipeline's mask.
      EXPECT_NE(e.find("3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100001"), std::string::npos) << e;
      EXPECT_NE(e.find("\"city\":\"Burlington\""), std::string::npos) << e;
      EXPECT_NE(e.find("\"first_name\":\"h1:"), std::string::npos) << e;
      EXPECT_NE(e.find("\"email_opt_out\":true"), std::string::npos) << e;  // her private address
    }
    if (e.find("\"channel\":\"pos\",\"type\":\"order.placed\",\"pipeline\":\"pos-tills\"") !=
        std::string::npos) {
      ++till_sales;
      EXPECT_NE(e.find("\"store_id\":\"12\""), std::string::npos) << e;
      EXPECT_NE(e.find("\"voided_lines\":1"), std::string::npos) << e;
      EXPECT_EQ(e.find("Wool socks"), std::string::npos) << "a voided line was kept: " << e;
      EXPECT_NE(e.find("\"total_price\":66.5"), std::string::npos) << e;
    }
    if (e.find("\"type\":\"order.returned\",\"pipeline\":\"pos-tills\"") != std::string::npos) {
      ++till_returns;  // her loyalty card only: joined through the loyalty id of the sale
    }
    if (e.find("\"pipeline\":\"pos-orders\"") != std::string::npos) ++shop;
    if (e.find("\"pipeline\":\"social-mastodon\"") != std::string::npos &&
        e.find("\"type\":\"social.mentioned\"") != std::string::npos) {
      ++mentions;  // read from the recorded Mastodon API the quickstart served on loopback
    }
    if (e.find("\"pipeline\":\"call-center-cdr\"") != std::string::npos) {
      ++calls;
      std::smatch m;
      if (std::regex_search(e, m, wait_re)) waits.insert(m[1].str());
      EXPECT_NE(e.find("\"name\":\"support\""), std::string::npos) << "no queue: " << e;
    }
  }
  EXPECT_EQ(crm, 1) << amy.out;
  EXPECT_EQ(till_sales, 1) << amy.out;
  EXPECT_EQ(till_returns, 1) << amy.out;
  EXPECT_EQ(shop, 1) << amy.out;  // the Shopify order; the voided one is filtered out
  EXPECT_EQ(calls, 2) << amy.out;
  EXPECT_GE(mentions, 1) << amy.out;
  // Her two calls' waits in the support queue, from queue_log (CONNECT holdtime 17 s; ABANDON
  // waittime 129 s).
  EXPECT_EQ(waits, (std::set<std::string>{"17", "129"})) << amy.out;
  // Shop 129.90 + till 66.50 - the returned mug 18.50.
  EXPECT_NE(amy.out.find("\"lifetime_value\":177.9"), std::string::npos) << amy.out;
  EXPECT_NE(amy.out.find("\"type\":\"loyalty_id\",\"value\":\"h1:"), std::string::npos) << amy.out;
  EXPECT_NE(amy.out.find("\"type\":\"crm_id\",\"value\":\"h1:"), std::string::npos) << amy.out;
  EXPECT_NE(amy.out.find("\"conflicts\":[]"), std::string::npos) << amy.out;

  // The deleted duplicate contact arrives as contact.deleted; the training, control and voided
  // till transactions give no event.
  auto stats_of = [&] {
    auto r = runCommand({omniloopBin(), "stats", "--json", "--config", config});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open_v2((var + "/quickstart.db").c_str(), &h, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  auto count = [&](const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    long n = -1;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type = 'contact.deleted'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE pipeline = 'pos-tills'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE pipeline = 'call-center-cdr'"), 6);
  sqlite3_close(h);

  // Every pipeline again (the ODBC configuration run.sh made): nothing read, nothing added; and
  // from the start: the same events again, none added.
  const std::string before = stats_of();
  ASSERT_NE(before.find("\"events\":"), std::string::npos) << before;
  QuickstartMastodonServer mastodon;  // the same recorded pages run.sh served
  const std::vector<std::string> env = {"ODBCSYSINI=" + var + "/odbc",
                                        "ODBCINI=" + var + "/odbc/odbc.ini", mastodon.env()};
  for (const char* p : {"crm-suitecrm-odbc", "crm-contacts", "pos-orders", "pos-tills",
                        "call-center-cdr", "social-mastodon"}) {
    const std::string file = kQuickstart + "/pipelines/" + p + ".yaml";
    auto again = runCommand(
        {omniloopBin(), "run", file, "--config", config, "--no-progress", "--stop-when-idle"}, env);
    ASSERT_EQ(again.exit_code, 0) << p << again.out << again.err;
    EXPECT_EQ(summaryValue(again.out, "read"), 0) << p << again.out;
  }
  EXPECT_EQ(stats_of(), before);
  for (const char* p : {"crm-suitecrm-odbc", "pos-tills", "call-center-cdr"}) {
    const std::string file = kQuickstart + "/pipelines/" + p + ".yaml";
    auto replay = runCommand({omniloopBin(), "run", file, "--config", config, "--no-progress",
                              "--stop-when-idle", "--from-start"},
                             env);
    ASSERT_EQ(replay.exit_code, 0) << p << replay.out << replay.err;
    EXPECT_GT(summaryValue(replay.out, "read"), 0) << p << replay.out;
  }
  EXPECT_EQ(stats_of(), before);
}

namespace {

// Every email, phone number (as written, E.164, digits only and the usual US layouts) and
// first or last name in the quickstart's sample data, read from the data files themselves.
std::vector<std::string> quickstartPersonalValues() {
  const std::string data = kQuickstart + "/data/";
  std::string all;
  for (const char* f : {"crm/salesforce-Accounts-Contacts.csv", "call-center/Master.csv",
                        "pos/orders.jsonl", "social/statuses.jsonl", "crm/suitecrm-data.sql",
                        "pos/tills/store12-2024-03.xml", "call-center/queue_log"}) {
    all += readFile(data + f) + "\n";
  }
  std::set<std::string> emails, phones, names;
  const std::regex email_re(R"([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]+)");
  for (std::sregex_iterator it(all.begin(), all.end(), email_re), end; it != end; ++it) {
    emails.insert(it->str());
  }
  const std::regex e164_re(R"(\+1[0-9]{10})");
  for (std::sregex_iterator it(all.begin(), all.end(), e164_re), end; it != end; ++it) {
    phones.insert(it->str());
  }
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        cells.push_back(cell);
        cell.clear();
      } else if (c != '\r') {
        cell.push_back(c);
      }
    }
    cells.push_back(cell);
    return cells;
  };
  std::istringstream crm(readFile(data + "crm/salesforce-Accounts-Contacts.csv"));
  std::string line;
  std::getline(crm, line);  // header
  while (std::getline(crm, line)) {
    auto c = split(line);
    if (c.size() > 2 && !c[2].empty()) phones.insert(c[2]);
    if (c.size() > 7 && !c[3].empty()) {
      names.insert(c[3]);
      names.insert(c[4]);
      phones.insert(c[6]);
    }
  }
  std::istringstream cdr(readFile(data + "call-center/Master.csv"));
  const std::regex clid_re(R"re(^"?([A-Za-z]+) ([A-Za-z]+)"? <)re");
  while (std::getline(cdr, line)) {
    auto c = split(line);
    if (c.size() < 5) continue;
    phones.insert(c[1]);
    std::smatch m;
    if (std::regex_search(c[4], m, clid_re)) {
      names.insert(m[1]);
      names.insert(m[2]);
    }
  }
  // The SuiteCRM database's rows: phones as quoted values ('(415) 256-8563', '+1 336 222 7015'),
  // first and last names of contacts and leads (one INSERT per person, names after deleted).
  const std::string crm_sql = readFile(data + "crm/suitecrm-data.sql");
  const std::regex sql_phone_re(R"('([+(]?[0-9][0-9 ().-]{8,16})')");
  for (std::sregex_iterator it(crm_sql.begin(), crm_sql.end(), sql_phone_re), end; it != end;
       ++it) {
    phones.insert((*it)[1].str());
  }
  const std::regex sql_name_re(
      R"(INSERT INTO (?:contacts|leads) \([^)]*\) VALUES\s*\('[^']*', '[^']*', '[^']*', [01], '([^']*)', '([^']*)')");
  for (std::sregex_iterator it(crm_sql.begin(), crm_sql.end(), sql_name_re), end; it != end; ++it) {
    names.insert((*it)[1].str());
    names.insert((*it)[2].str());
  }
  // The tills' POSLog: the customer's phone and name, and the identifiers the pipeline masks
  // (loyalty account, POS customer number, cashier).
  std::set<std::string> ids;
  const std::string poslog = readFile(data + "pos/tills/store12-2024-03.xml");
  const std::regex xml_re(
      R"(<(TelephoneNumber|FirstName|LastName|LoyaltyAccountID|CustomerID|OperatorID)>([^<]+)<)");
  for (std::sregex_iterator it(poslog.begin(), poslog.end(), xml_re), end; it != end; ++it) {
    const std::string tag = (*it)[1].str(), value = (*it)[2].str();
    if (tag == "TelephoneNumber") {
      phones.insert(value);
    } else if (tag == "FirstName" || tag == "LastName") {
      names.insert(value);
    } else {
      ids.insert(value);
    }
  }
  std::set<std::string> needles(ids.begin(), ids.end());
  for (const auto& e : emails) {
    needles.insert(e);
    std::string lower = e;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    needles.insert(lower);
  }
  for (const auto& p : phones) {
    std::string d;
    for (char ch : p) {
      if (std::isdigit(static_cast<unsigned char>(ch))) d.push_back(ch);
    }
    if (d.size() == 11 && d[0] == '1') d.erase(0, 1);
    if (d.size() != 10) continue;
    const std::string a = d.substr(0, 3), b = d.substr(3, 3), n = d.substr(6);
    for (const std::string& v :
         {p, d, "+1" + d, "1" + d, "(" + a + ") " + b + "-" + n, a + "-" + b + "-" + n,
          a + "." + b + "." + n, a + " " + b + " " + n}) {
      needles.insert(v);
    }
  }
  for (const auto& n : names) {
    std::string lower = n, upper = n;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    needles.insert(n);
    needles.insert(lower);
    needles.insert(upper);
  }
  return {needles.begin(), needles.end()};
}

}  // namespace

TEST(Quickstart, StoreHoldsNoEmailPhoneOrNameInClearAnywhereInItsFiles) {
  const auto needles = quickstartPersonalValues();
  // The data really holds what we look for (the scan would pass vacuously otherwise).
  for (const char* expected :
       {"amy@demo.net", "4152568563", "+14152568563", "(415) 256-8563", "Amy", "Taylor", "Wu",
        "Jones", "amy.taylor@home.example", "+1 336 222 7015", "3362227015", "Delgado",
        "LOY-7730-0451", "C-12-000451", "E-2031"}) {
    EXPECT_NE(std::find(needles.begin(), needles.end(), expected), needles.end()) << expected;
  }
  auto q = runCommand({"/bin/bash", kQuickstart + "/run.sh", omniloopBin()});
  ASSERT_EQ(q.exit_code, 0) << q.out << q.err;
  const std::string db = sourceDir() + "/var/quickstart.db";
  size_t scanned = 0;
  for (const std::string& path : {db, db + "-wal", db + "-shm"}) {
    if (!fs::exists(path)) continue;
    const std::string bytes = readFile(path);
    scanned += bytes.size();
    for (const std::string& n : needles) {
      EXPECT_EQ(bytes.find(n), std::string::npos) << "'" << n << "' in clear in " << path;
    }
  }
  EXPECT_GT(scanned, 0u);

  // Amy's unified profile is still there: pseudonymised identities, traits, timeline, masked
  // attributes (a redacted first name, a pseudonymised last name).
  auto r = runCommand({omniloopBin(), "profile", "--identity", "email:amy@demo.net", "--json",
                       "--config", kQuickstart + "/omniloop.yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"type\":\"email\",\"value\":\"h1:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"lifetime_value\":"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"first_name\":\"[redacted]\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"last_name\":\"h1:"), std::string::npos) << r.out;
  for (const std::string& n : needles) {
    EXPECT_EQ(r.out.find(n), std::string::npos) << "'" << n << "' shown by omniloop profile";
  }
}

// --- issue 9: the CLI says what happened ---

namespace {

// One JSON object on one line: what `--json` promises for every outcome.
bool isOneJsonObject(const std::string& out) {
  return out.size() > 2 && out.front() == '{' && out.back() == '\n' &&
         out.find('\n') == out.size() - 1 && out[out.size() - 2] == '}';
}

// A file.jsonl pipeline with key_field id and one map stage (`map` is its YAML body).
std::string jsonlPipeline(const std::string& name, const std::string& input,
                          const std::string& map) {
  return "version: 1\nname: " + name + "\nsource:\n  type: file.jsonl\n  with: { path: " + input +
         ", key_field: id }\nstages:\n  - map:\n      " + map + "\nsink:\n  type: cdp\n";
}

}  // namespace

TEST(Cli, RunJsonAnswersEveryFailureWithOkFalseAndError) {
  const std::string dir = tempDir("runjsonfail");
  const std::string file = dir + "/p.yaml";
  writeFile(dir + "/in.jsonl", "{\"id\":1}\n");
  writeFile(file, jsonlPipeline("j", dir + "/in.jsonl", "set: { $type: t }"));
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string in_error;
  };
  const std::vector<Case> cases = {
      {{"run", "--json", "--bogus", file}, 2, "unknown option --bogus"},
      {{"run", "--json"}, 2, "name exactly one pipeline file"},
      {{"run", "--json", file, "--batch-size", "zero"}, 2, "--batch-size"},
      {{"run", "--json", dir + "/missing.yaml"}, 2, "missing.yaml"},
      {{"run", "--json", file, "--store", "nosuch:x"}, 1, "unsupported store URI scheme"},
      {{"run", "--json", file, "--store", "sqlite:/proc/omniloop-no/cdp.db"},
       1,
       "/proc/omniloop-no"},
      {{"run", "--json", file, "--config", dir + "/no-omniloop.yaml"}, 2, "no-omniloop.yaml"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {omniloopBin()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const std::string label = c.args.back();
    const CommandResult r = runCommand(argv, {"OMNILOOP_KEY=" + std::string(64, 'a')});
    EXPECT_EQ(r.exit_code, c.exit_code) << label << "\n" << r.out << r.err;
    EXPECT_TRUE(isOneJsonObject(r.out)) << label << ": stdout is not one JSON object: " << r.out;
    EXPECT_NE(r.out.find("\"ok\":false"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"error\":"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(c.in_error), std::string::npos) << r.out;
  }
  // A pipeline that fails at run time (its input vanished).
  fs::remove(dir + "/in.jsonl");
  const CommandResult fail =
      runCommand({omniloopBin(), "run", "--json", file, "--store", "sqlite:" + dir + "/s.db"});
  EXPECT_EQ(fail.exit_code, 1) << fail.out << fail.err;
  EXPECT_TRUE(isOneJsonObject(fail.out)) << fail.out;
  EXPECT_NE(fail.out.find("\"ok\":false"), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("in.jsonl"), std::string::npos) << fail.out;
}

TEST(Cli, ProfileJsonAnswersWhenNothingIsFound) {
  const std::string dir = tempDir("profilejson");
  const std::string store = "sqlite:" + dir + "/cdp.db";
  writeFile(dir + "/in.jsonl", "{\"id\":1}\n");
  writeFile(dir + "/p.yaml", jsonlPipeline("p", dir + "/in.jsonl", "set: { $type: t }"));
  ASSERT_EQ(runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", store, "--no-progress"})
                .exit_code,
            0);
  const CommandResult r = runCommand({omniloopBin(), "profile", "--identity",
                                      "email:nobody@example.org", "--json", "--store", store});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(isOneJsonObject(r.out)) << r.out;
  EXPECT_NE(r.out.find("\"found\":false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no profile holds this email identity"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nobody"), std::string::npos) << "the clear value was echoed";
  const CommandResult by_id =
      runCommand({omniloopBin(), "profile", "--id", "0123abcd", "--json", "--store", store});
  EXPECT_EQ(by_id.exit_code, 1);
  EXPECT_NE(by_id.out.find("\"found\":false"), std::string::npos) << by_id.out;
}

TEST(Cli, RunExitsThreeWhenEveryRecordIsDeadLettered) {
  const std::string dir = tempDir("alldead");
  writeFile(dir + "/bad.jsonl", "{\"id\":1,\"n\":\"a\"}\n{\"id\":2,\"n\":\"b\"}\n");
  writeFile(dir + "/p.yaml", jsonlPipeline("casts", dir + "/bad.jsonl", "cast: { n: int }"));
  const CommandResult r = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store",
                                      "sqlite:" + dir + "/a.db", "--no-progress"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(summaryValue(r.out, "dead-lettered"), 2) << r.out;
  EXPECT_NE(r.err.find("every record read was dead-lettered (2 of 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("omniloop dead-letters list --pipeline casts"), std::string::npos) << r.err;
  const CommandResult j = runCommand(
      {omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + dir + "/b.db", "--json"});
  EXPECT_EQ(j.exit_code, 3);
  EXPECT_NE(j.out.find("\"ok\":false"), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"dead_lettered\":2"), std::string::npos) << j.out;

  // One bad record of four: fine by default, too many for a ratio below 1/4.
  writeFile(dir + "/mixed.jsonl",
            "{\"id\":1,\"n\":1}\n{\"id\":2,\"n\":\"x\"}\n{\"id\":3,\"n\":3}\n{\"id\":4,\"n\":4}\n");
  writeFile(dir + "/m.yaml", jsonlPipeline("mixed", dir + "/mixed.jsonl", "cast: { n: int }"));
  auto run = [&](const std::string& db, std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        omniloopBin(),  "run", dir + "/m.yaml", "--store", "sqlite:" + dir + "/" + db,
        "--no-progress"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return runCommand(argv);
  };
  EXPECT_EQ(run("m1.db", {}).exit_code, 0);
  EXPECT_EQ(run("m2.db", {"--max-dead-letter-ratio", "0.5"}).exit_code, 0);
  const CommandResult strict = run("m3.db", {"--max-dead-letter-ratio", "0.1"});
  EXPECT_EQ(strict.exit_code, 3) << strict.out << strict.err;
  EXPECT_NE(strict.err.find("1 of 4, more than --max-dead-letter-ratio 0.1"), std::string::npos)
      << strict.err;
  EXPECT_EQ(run("m4.db", {"--max-dead-letter-ratio", "1.5"}).exit_code, 2);
  EXPECT_EQ(run("m5.db", {"--max-dead-letter-ratio", "many"}).exit_code, 2);
  // A rerun that reads nothing has nothing dead-lettered: 0.
  EXPECT_EQ(run("m3.db", {"--max-dead-letter-ratio", "0"}).exit_code, 0);
  const CommandResult help = runCommand({omniloopBin(), "run", "--help"});
  EXPECT_NE(help.out.find("3  the run finished, but every record read was dead-lettered"),
            std::string::npos);
}

TEST(Cli, ReadOnlyCommandsNeverCreateAStoreOrAKey) {
  const std::string dir = tempDir("readonly");
  const std::string typo = dir + "/vra/omniloop.db";
  for (const std::vector<std::string>& args : {std::vector<std::string>{"stats"},
                                               {"stats", "--json"},
                                               {"profile", "--identity", "email:a@b.example"},
                                               {"profile", "--id", "abc"},
                                               {"dead-letters", "list"},
                                               {"dead-letters", "show", "abc"}}) {
    std::vector<std::string> argv = {omniloopBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--store", "sqlite:" + typo});
    const CommandResult r = runCommand(argv, {}, nullptr, dir);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("no CDP store at " + typo), std::string::npos) << args[0] << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir + "/vra")) << args[0] << " created the store's directory";
  }
  // An existing store without its key: counts work, no key file appears, a lookup says why.
  const std::string store = "sqlite:" + dir + "/cdp.db";
  writeFile(dir + "/in.jsonl", "{\"id\":1}\n");
  writeFile(dir + "/p.yaml", jsonlPipeline("p", dir + "/in.jsonl", "set: { $type: t }"));
  ASSERT_EQ(runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", store, "--no-progress"})
                .exit_code,
            0);
  fs::rename(dir + "/omniloop.key", dir + "/moved.key");
  EXPECT_EQ(runCommand({omniloopBin(), "stats", "--store", store}).exit_code, 0);
  const CommandResult lookup =
      runCommand({omniloopBin(), "profile", "--identity", "email:a@b.example", "--store", store});
  EXPECT_EQ(lookup.exit_code, 1);
  EXPECT_NE(lookup.err.find("no pseudonymisation key at " + dir + "/omniloop.key"),
            std::string::npos)
      << lookup.err;
  EXPECT_FALSE(fs::exists(dir + "/omniloop.key")) << "a read-only command generated a key";
  // detokenize (it only reads the vault; its audit row goes to an existing store).
  ASSERT_TRUE(fs::exists(dir + "/omniloop.vault.key"));
  writeFile(dir + "/typo.yaml",
            "store: sqlite:vra/omniloop.db\nvault_key_file: omniloop.vault.key\n");
  const CommandResult detokenize = runCommand({omniloopBin(), "detokenize", "tk1:abcd:00",
                                               "--reason", "test", "--config", dir + "/typo.yaml"});
  EXPECT_EQ(detokenize.exit_code, 1) << detokenize.out << detokenize.err;
  EXPECT_NE(detokenize.err.find("no CDP store at " + typo), std::string::npos) << detokenize.err;
  EXPECT_FALSE(fs::exists(dir + "/vra")) << "detokenize created the store's directory";

  // A private in-memory store never writes a key file (not in the working directory either).
  const std::string cwd = tempDir("memory");
  const CommandResult mem = runCommand(
      {omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite::memory:", "--no-progress"}, {},
      nullptr, cwd);
  EXPECT_EQ(mem.exit_code, 0) << mem.err;
  EXPECT_TRUE(fs::is_empty(cwd)) << "files appeared in " << cwd;
  EXPECT_EQ(mem.err.find("generated a new pseudonymisation key"), std::string::npos) << mem.err;
}

TEST(Cli, UnknownCommandSuggestsOneAndValidateRefusesADaemonConfig) {
  const CommandResult typo = runCommand({omniloopBin(), "vaildate", "x.yaml"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("unknown command 'vaildate'"), std::string::npos) << typo.err;
  EXPECT_NE(typo.err.find("did you mean 'validate'?"), std::string::npos) << typo.err;
  const CommandResult letters = runCommand({omniloopBin(), "deadletters"});
  EXPECT_NE(letters.err.find("did you mean 'dead-letters'?"), std::string::npos) << letters.err;

  const CommandResult daemon =
      runCommand({omniloopBin(), "validate", kQuickstart + "/omniloop.yaml"});
  EXPECT_EQ(daemon.exit_code, 2);
  EXPECT_NE(daemon.out.find("omniloop.yaml (the daemon's config), not a pipeline file"),
            std::string::npos)
      << daemon.out;
  EXPECT_NE(daemon.out.find("omniloopd --config " + kQuickstart + "/omniloop.yaml --check-config"),
            std::string::npos)
      << daemon.out;
  EXPECT_EQ(daemon.out.find("unknown key"), std::string::npos)
      << "pipeline errors were printed: " << daemon.out;
}

// On SQLite and on PostgreSQL (the private server of tests/support/pg_server.h).
class DeadLetters : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = tempDir("deadletters");
    if (GetParam()) {
      auto& pg = omniloop::testing::PgServer::shared();
      store_ = pg.uri(pg.createDatabase("deadletters"));
    } else {
      store_ = "sqlite:" + dir_ + "/cdp.db";
    }
  }
  // omniloop ARGS --store STORE, with the pseudonymisation key in the environment.
  CommandResult omniloop(std::vector<std::string> args, std::vector<std::string> env = {}) const {
    args.insert(args.begin(), omniloopBin());
    args.insert(args.end(), {"--store", store_});
    env.push_back("OMNILOOP_KEY=" + std::string(64, 'b'));
    return runCommand(args, env);
  }
  std::string dir_, store_;
};

TEST_P(DeadLetters, ListShowAndReplayAfterAFix) {
  const std::string& dir = dir_;
  writeFile(dir + "/in.jsonl",
            "{\"id\":1,\"n\":\"one\"}\n{\"id\":2,\"n\":2}\n{\"id\":3,\"n\":\"three\"}\n");
  const std::string file = dir + "/orders.yaml";
  writeFile(file, jsonlPipeline("orders", dir + "/in.jsonl", "cast: { n: int }"));
  const CommandResult first = omniloop({"run", file, "--no-progress"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(summaryValue(first.out, "dead-lettered"), 2);

  const CommandResult list = omniloop({"dead-letters", "list", "--pipeline", "orders"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("cannot cast field 'n'"), std::string::npos) << list.out;
  const CommandResult json = omniloop({"dead-letters", "list", "--json"});
  ASSERT_EQ(json.exit_code, 0);
  EXPECT_TRUE(isOneJsonObject(json.out)) << json.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(json.out, m, std::regex("\"id\":\"([0-9a-f]{32})\""))) << json.out;
  const std::string id = m[1].str();
  EXPECT_EQ(omniloop({"dead-letters", "list", "--pipeline", "other"}).out,
            "no dead letters of pipeline other\n");

  const CommandResult show = omniloop({"dead-letters", "show", id});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("reason     map: cannot cast field 'n'"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("record     {"), std::string::npos) << show.out;
  EXPECT_EQ(omniloop({"dead-letters", "show", "ffff"}).exit_code, 1);

  // A "fix" that does not work: both fail again and stay, with their new reason. The pipeline
  // is found by its name in the pipelines_dir of omniloop.yaml.
  writeFile(dir + "/pipelines.d/worse.yaml",
            jsonlPipeline("orders", dir + "/in.jsonl", "cast: { n: bool }"));
  writeFile(dir + "/pipelines.d/other.yaml",
            jsonlPipeline("other", dir + "/in.jsonl", "cast: { n: int }"));
  writeFile(dir + "/omniloop.yaml", "pipelines_dir: pipelines.d\n");
  const CommandResult worse = omniloop(
      {"dead-letters", "replay", "--pipeline", "orders", "--config", dir + "/omniloop.yaml"});
  EXPECT_NE(worse.out.find("(" + dir + "/pipelines.d/worse.yaml)"), std::string::npos) << worse.out;
  EXPECT_EQ(omniloop({"dead-letters", "replay", "--pipeline", "nosuch", "--config",
                      dir + "/omniloop.yaml"})
                .exit_code,
            2);
  EXPECT_EQ(worse.exit_code, 3) << worse.out << worse.err;
  EXPECT_NE(worse.out.find("failed again (kept, with the new reason)   2"), std::string::npos)
      << worse.out;
  EXPECT_NE(omniloop({"dead-letters", "show", id}).out.find("to bool"), std::string::npos);

  // The real fix: both go through, their dead letters go, nothing is duplicated and the
  // pipeline's checkpoint did not move.
  writeFile(dir + "/fixed.yaml",
            jsonlPipeline("orders", dir + "/in.jsonl", "set: { $type: order }"));
  const CommandResult fixed = omniloop({"dead-letters", "replay", "--pipeline-file",
                                        dir + "/fixed.yaml", "--pipeline", "orders", "--json"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  EXPECT_NE(fixed.out.find("\"stored\":2"), std::string::npos) << fixed.out;
  const CommandResult stats = omniloop({"stats", "--json"});
  EXPECT_NE(stats.out.find("\"events\":3"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("\"dead_letters\":0"), std::string::npos) << stats.out;
  const CommandResult replay_again =
      omniloop({"dead-letters", "replay", "--pipeline-file", dir + "/fixed.yaml"});
  EXPECT_EQ(replay_again.exit_code, 0) << replay_again.out;
  EXPECT_NE(replay_again.out.find("replayed 0 dead letters"), std::string::npos)
      << replay_again.out;
  writeFile(dir + "/in.jsonl", readFile(dir + "/in.jsonl") + "{\"id\":4,\"n\":4}\n");
  const CommandResult rerun = omniloop({"run", file, "--no-progress"});
  EXPECT_EQ(summaryValue(rerun.out, "read"), 1)
      << rerun.out;  // resumed where the first run stopped
  EXPECT_NE(omniloop({"stats", "--json"}).out.find("\"events\":4"), std::string::npos);

  // Usage: a replay needs its pipeline; a name must match the file.
  EXPECT_EQ(omniloop({"dead-letters", "replay"}).exit_code, 2);
  EXPECT_EQ(
      omniloop({"dead-letters", "replay", "--pipeline-file", file, "--pipeline", "x"}).exit_code,
      2);
}

INSTANTIATE_TEST_SUITE_P(Stores, DeadLetters, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("PostgreSQL") : std::string("SQLite");
                         });
