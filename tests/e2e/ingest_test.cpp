// Ingesting files as a user runs `omniloop run`: no record lost or overwritten across log
// rotation, reruns that keep sink output, identities pseudonymised at every sink, dead-letter
// reasons that name the file and line, and reruns that say why they read nothing.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <regex>
#include <set>

#include "command.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

void appendFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

// One Asterisk cdr_csv Master.csv row; `n` makes the call unique (uniqueid, caller number).
std::string call(int n) {
  const std::string num = std::to_string(n);
  return "\"\",\"+4930123456" + num + "\",\"200\",\"from-internal\",\"\"\"Caller " + num +
         "\"\" <+4930123456" + num + ">\",\"SIP/100-0000000" + num + "\",\"SIP/200-0000000" + num +
         "\",\"Dial\",\"SIP/200,30\",\"2024-05-01 10:0" + num + ":00\",\"2024-05-01 10:0" + num +
         ":05\",\"2024-05-01 10:0" + num +
         ":55\",55,50,\"ANSWERED\",\"DOCUMENTATION\",\"171455040" + num + "." + num + "\",\"\"\n";
}

std::string calls(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += call(i);
  return out;
}

// pipelines/asterisk-cdr.yaml as shipped, reading `master` (follow mode unless `follow` is false).
std::string asteriskPipeline(const std::string& dir, const std::string& master, bool follow) {
  std::string yaml = readFile(sourceDir() + "/pipelines/asterisk-cdr.yaml");
  yaml = std::regex_replace(yaml, std::regex("path: /var/log/asterisk/cdr-csv/Master.csv"),
                            "path: " + master);
  if (!follow) yaml = std::regex_replace(yaml, std::regex("follow: true"), "follow: false");
  const std::string file = dir + "/asterisk-cdr.yaml";
  writeFile(file, yaml);
  return file;
}

CommandResult run(const std::string& pipeline, const std::string& store,
                  std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {omniloopBin(), "run",           pipeline,          "--store",
                                   store,         "--no-progress", "--stop-when-idle"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return runCommand(argv);
}

// Rows of one SQL query over a SQLite store, each row's columns joined by '|'.
std::vector<std::string> query(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    ADD_FAILURE() << "cannot open " << db_path;
    return rows;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db) << " in " << sql;
  } else {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        if (i) row += '|';
        const unsigned char* t = sqlite3_column_text(st, i);
        row += t ? reinterpret_cast<const char*>(t) : "NULL";
      }
      rows.push_back(row);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

long events(const std::string& db) {
  return std::stol(query(db, "SELECT count(*) FROM events").at(0));
}

// Every call's uniqueid is an attribute of its event: the calls the store holds.
std::set<std::string> storedCalls(const std::string& db) {
  std::set<std::string> out;
  for (const std::string& attrs : query(db, "SELECT attributes FROM events")) {
    std::smatch m;
    if (std::regex_search(attrs, m, std::regex("\"uniqueid\":\"([0-9.]+)\""))) out.insert(m[1]);
  }
  return out;
}

struct Rotation {
  const char* name;
  bool follow;
  bool copytruncate;
};

class LogRotation : public ::testing::TestWithParam<Rotation> {};

// The repro: 3 calls, rotate, 3 more calls -> 6 events (it was 5: the new file's first
// call took the id of the old file's first call and overwrote it). A call appended just before
// the rotation (the old file's unread rest) is read too, and a run after that reads nothing.
TEST_P(LogRotation, KeepsEveryCallAcrossARestart) {
  const Rotation r = GetParam();
  const std::string dir = tempDir(std::string("rotate-") + r.name);
  const std::string master = dir + "/cdr-csv/Master.csv";
  const std::string db = dir + "/cdp.db";
  const std::string store = "sqlite:" + db;
  writeFile(master, calls(1, 4));
  const std::string pipeline = asteriskPipeline(dir, master, r.follow);
  auto first = run(pipeline, store);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ASSERT_EQ(events(db), 3);

  appendFile(master, call(4));
  if (r.copytruncate) {
    fs::copy_file(master, master + ".1");
    writeFile(master, calls(5, 8));  // truncated in place and written again
  } else {
    fs::rename(master, master + ".1");
    writeFile(master, calls(5, 8));
  }
  auto second = run(pipeline, store);
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(events(db), 7) << second.out << second.err;
  EXPECT_EQ(storedCalls(db).size(), 7u);

  auto third = run(pipeline, store);
  ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
  EXPECT_EQ(events(db), 7);
  EXPECT_NE(third.err.find("resumed at line 4 of '" + master + "': nothing new"), std::string::npos)
      << third.err;
}

INSTANTIATE_TEST_SUITE_P(Ingest, LogRotation,
                         ::testing::Values(Rotation{"create_follow", true, false},
                                           Rotation{"copytruncate_follow", true, true},
                                           Rotation{"create_batch", false, false},
                                           Rotation{"copytruncate_batch", false, true}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Ingest, FromStartReplaysWithoutChangingTheStore) {
  const std::string dir = tempDir("from-start");
  const std::string master = dir + "/Master.csv";
  const std::string db = dir + "/cdp.db";
  writeFile(master, calls(1, 6));
  const std::string pipeline = asteriskPipeline(dir, master, false);
  ASSERT_EQ(run(pipeline, "sqlite:" + db).exit_code, 0);
  const std::string kSnapshot =
      "SELECT hex(id), hex(profile_id), attributes, occurred_at FROM events ORDER BY 1";
  const auto before = query(db, kSnapshot);
  const std::string kProfiles =
      "SELECT hex(id), first_seen, last_seen, traits, traits_meta FROM profiles ORDER BY 1";
  const auto traits_before = query(db, kProfiles);
  ASSERT_EQ(before.size(), 5u);

  auto replay = run(pipeline, "sqlite:" + db, {"--from-start"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  EXPECT_NE(replay.out.find("read"), std::string::npos);
  EXPECT_NE(replay.out.find("5"), std::string::npos) << replay.out;  // read again on purpose
  EXPECT_EQ(replay.err.find("nothing new"), std::string::npos) << replay.err;
  EXPECT_EQ(query(db, kSnapshot), before);
  // Traits (event counts, first and last seen...) are not counted twice.
  EXPECT_EQ(query(db, kProfiles), traits_before);
}

TEST(Ingest, KeyFieldListKeysTheLegsOfOneCallApart) {
  const std::string dir = tempDir("key-list");
  const std::string master = dir + "/Master.csv";
  const std::string db = dir + "/cdp.db";
  // Two legs of one call: same uniqueid, other dstchannel.
  std::string second_leg = call(1);
  second_leg = std::regex_replace(second_leg, std::regex("SIP/200-00000001"), "SIP/300-00000009");
  writeFile(master, call(1) + second_leg);
  std::string yaml = readFile(asteriskPipeline(dir, master, false));
  yaml = std::regex_replace(yaml, std::regex("    header: false\n"),
                            "    header: false\n    key_field: [uniqueid, channel, dstchannel]\n");
  writeFile(dir + "/legs.yaml", yaml);
  auto check = runCommand({omniloopBin(), "validate", dir + "/legs.yaml"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  ASSERT_EQ(run(dir + "/legs.yaml", "sqlite:" + db).exit_code, 0);
  EXPECT_EQ(events(db), 2);

  // With uniqueid alone the second leg is the same event as the first.
  yaml = std::regex_replace(yaml, std::regex("key_field: \\[uniqueid, channel, dstchannel\\]"),
                            "key_field: uniqueid");
  writeFile(dir + "/one.yaml", yaml);
  ASSERT_EQ(run(dir + "/one.yaml", "sqlite:" + dir + "/one.db").exit_code, 0);
  EXPECT_EQ(events(dir + "/one.db"), 1);
}

std::string jsonlToFile(const std::string& dir, const std::string& sink_extra,
                        const std::string& with_extra = "") {
  const std::string file = dir + "/p.yaml";
  writeFile(file,
            "version: 1\nname: orders-out\nsource:\n  type: file.jsonl\n  with: { path: " + dir +
                "/in.jsonl, key_field: id }\nstages:\n  - map:\n      copy: { email: "
                "$identities.email, phone: $identities.phone }\n      drop: [email, phone]\n"
                "sink:\n  type: file.jsonl\n" +
                sink_extra + "  with: { path: " + dir + "/out.jsonl" + with_extra + " }\n");
  return file;
}

// `append: false` empties the file at start; the source is then read from its start, so a
// rerun leaves every record in the file (it left 0 lines: the source resumed past them all).
TEST(Ingest, RerunOfASinkThatTruncatesKeepsItsOutput) {
  const std::string dir = tempDir("append-false");
  writeFile(dir + "/in.jsonl", "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
  const std::string pipeline = jsonlToFile(dir, "", ", append: false");
  for (int i = 0; i < 2; ++i) {
    auto r = run(pipeline, "sqlite:" + dir + "/s.db");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string out = readFile(dir + "/out.jsonl");
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << "run " << i + 1 << ": " << out;
  }
  appendFile(dir + "/in.jsonl", "{\"id\":4}\n");
  ASSERT_EQ(run(pipeline, "sqlite:" + dir + "/s.db").exit_code, 0);
  const std::string out = readFile(dir + "/out.jsonl");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4) << out;
}

TEST(Ingest, IdentitiesLeaveEverySinkPseudonymisedUnlessTheSinkSaysWhy) {
  const std::string dir = tempDir("sink-identities");
  writeFile(dir + "/in.jsonl",
            "{\"id\":1,\"email\":\" Amy@Demo.NET \",\"phone\":\"+49 30 1234567\"}\n"
            "{\"id\":2,\"email\":\"bob@example.org\"}\n"
            "{\"id\":3,\"email\":\"carol at example.org\"}\n");
  auto r = run(jsonlToFile(dir, ""), "sqlite:" + dir + "/s.db", {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string out = readFile(dir + "/out.jsonl");
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
  // A value the e-mail rule rejects is left out, as the store leaves it out, and counted.
  EXPECT_NE(r.out.find("identity_rejected"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("email_invalid"), std::string::npos) << r.out;
  // Byte scan: no clear e-mail address or phone number, in any spelling.
  for (const char* clear :
       {"amy@demo.net", "Amy@Demo.NET", "bob@example.org", "1234567", "+4930"}) {
    EXPECT_EQ(out.find(clear), std::string::npos) << clear << " in " << out;
  }
  // The store's pseudonym: "h1:<key id>:<64 hex>", one per identity.
  const std::regex pseudonym("\"h1:[0-9a-f]{8}:[0-9a-f]{64}\"");
  EXPECT_EQ(std::distance(std::sregex_iterator(out.begin(), out.end(), pseudonym),
                          std::sregex_iterator()),
            3)
      << out;

  // The same identity written into the store gets the same pseudonym (same normalisation).
  const std::string cdp = dir + "/cdp.yaml";
  writeFile(cdp, std::regex_replace(readFile(jsonlToFile(dir, "")),
                                    std::regex("sink:\n  type: file.jsonl\n  with: \\{[^}]*\\}"),
                                    "sink:\n  type: cdp"));
  ASSERT_EQ(run(cdp, "sqlite:" + dir + "/s2.db").exit_code, 0);
  // (SQLite keeps a pseudonym as 36 bytes: the key id's 4, then the HMAC's 32.)
  const std::string kEmails = "SELECT lower(hex(hash)) FROM identities WHERE type = 'email'";
  bool found = false;
  for (const std::string& h : query(dir + "/s2.db", kEmails)) {
    ASSERT_EQ(h.size(), 72u) << h;
    const std::string pseudonym = "h1:" + h.substr(0, 8) + ":" + h.substr(8);
    found = found || out.find("\"" + pseudonym + "\"") != std::string::npos;
  }
  EXPECT_TRUE(found) << "no store pseudonym of an e-mail address in " << out;

  // Asked for, with a reason: clear values.
  fs::remove(dir + "/out.jsonl");
  auto clear = run(jsonlToFile(dir, "  clear_identities: \"the CRM import matches by e-mail\"\n"),
                   "sqlite:" + dir + "/s3.db");
  ASSERT_EQ(clear.exit_code, 0) << clear.out << clear.err;
  EXPECT_NE(readFile(dir + "/out.jsonl").find("bob@example.org"), std::string::npos);

  // Without a reason the key is refused at validation, with its position.
  auto bad =
      runCommand({omniloopBin(), "validate", jsonlToFile(dir, "  clear_identities: \"\"\n")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("p.yaml:12:"), std::string::npos) << bad.out;
}

TEST(Ingest, DeadLetterReasonsNameTheFileAndLine) {
  const std::string dir = tempDir("dead-letter-reason");
  writeFile(dir + "/in.jsonl", "{\"id\":1}\n{\"id\":\n{\"id\":3}\n");
  const std::string db = dir + "/s.db";
  ASSERT_EQ(run(jsonlToFile(dir, ""), "sqlite:" + db).exit_code, 0);
  const auto reasons = query(db, "SELECT reason FROM dead_letters");
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("line 2 of '" + dir + "/in.jsonl'"), std::string::npos) << reasons[0];
}

}  // namespace
