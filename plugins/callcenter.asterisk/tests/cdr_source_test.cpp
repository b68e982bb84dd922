// asterisk.cdr as built (callcenter.asterisk.so), through the C ABI and the stand-in host.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_host.h"

namespace plugintest {
namespace {

struct UsePlugin : ::testing::Environment {
  void SetUp() override { Plugin::setPluginName("callcenter.asterisk"); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new UsePlugin);

std::string cfg(const std::string& path, const std::string& extra = "") {
  return "{\"path\":" + jsonQuote(path) + (extra.empty() ? "" : "," + extra) + "}";
}

// An 18-column row as cdr_csv writes it (loguniqueid=yes, loguserfield=yes).
std::string cdr(const std::string& clid, const std::string& src, const std::string& disposition,
                const std::string& uniqueid, const std::string& userfield = "",
                const std::string& dstchannel = "PJSIP/201-00000002") {
  auto q = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  };
  const bool answered = disposition == "ANSWERED";
  return q("") + "," + q(src) + "," + q("201") + "," + q("from-pstn") + "," + q(clid) + "," +
         q("PJSIP/trunk-00000001") + "," + q(dstchannel) + "," + q("Dial") + "," +
         q("PJSIP/201,30") + "," + q("2024-03-01 10:00:00") + "," +
         (answered ? q("2024-03-01 10:00:05") : std::string()) + "," + q("2024-03-01 10:02:05") +
         ",125," + (answered ? "120" : "0") + "," + q(disposition) + "," + q("DOCUMENTATION") +
         "," + q(uniqueid) + "," + q(userfield) + "\n";
}

TEST(AsteriskPlugin, DescriptorListsTheSource) {
  const ol_plugin_descriptor* d = Plugin::get().descriptor();
  EXPECT_STREQ(d->name, "callcenter.asterisk");
  const ol_component* c = Plugin::get().component(OL_SOURCE, "asterisk.cdr");
  ASSERT_NE(c, nullptr);
  EXPECT_NE(std::string(c->config_schema).find("\"queue_log\""), std::string::npos);
  // The caller's fields are declared personal (ABI 1.1): validate checks pipelines against them.
  std::vector<std::string> personal(c->personal_fields,
                                    c->personal_fields + c->personal_field_count);
  for (const char* f : {"caller.name", "caller.number", "call.clid", "call.src", "call.dst"}) {
    EXPECT_NE(std::find(personal.begin(), personal.end(), f), personal.end()) << f;
  }
}

TEST(AsteriskCdr, ReadsTheRealMasterCsvSample) {
  Instance src(
      OL_SOURCE, "asterisk.cdr",
      cfg(std::string(ASTERISK_TEST_DATA) + "/asterisk-master-smallcdr.csv", R"("country":"US")"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain(16);
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 45u);
  std::map<std::string, int> types;
  std::set<std::string> keys;
  for (const auto& e : d.events) {
    ASSERT_EQ(e.disposition, OL_KEEP) << e.reason;
    ++types[e.type];
    keys.insert(e.key);
  }
  EXPECT_EQ(types["call.answered"], 27);
  EXPECT_EQ(types["call.missed"], 17);
  EXPECT_EQ(types["call.busy"], 1);
  EXPECT_EQ(keys.size(),
            45u);  // legs sharing a uniqueid (two even byte-identical) get distinct keys
  const ol_event& first = d.events[0];
  EXPECT_EQ(first.identities.at("phone"), "+16093262780");
  EXPECT_EQ(first.str("caller.name"), "Leanna Cuphus");
  EXPECT_EQ(first.str("call.uniqueid"), "1498555635.0");
  EXPECT_EQ(first.key.rfind("1498555635.0:", 0), 0u);
  EXPECT_EQ(first.channel, "call_center");
  ASSERT_TRUE(first.time.has_value());
  EXPECT_EQ(*first.time, 1498555635LL * 1000000);  // 2017-06-27 09:27:15 UTC
  EXPECT_EQ(first.find("call.answered_at"), nullptr);
  const ol_event& second = d.events[1];
  EXPECT_EQ(second.type, "call.answered");
  EXPECT_EQ(second.find("call.billable_seconds")->i, 390);
  EXPECT_TRUE(second.find("call.answered_leg")->b);
  EXPECT_FALSE(first.find("call.answered_leg")->b);
  EXPECT_EQ(second.str("call.answered_at"), "2017-06-27T10:29:14Z");
}

TEST(AsteriskCdr, ForkedLegsAreDistinctAndTheAnsweredOneIsMarked) {
  const std::string path = scratchDir("forked") + "/Master.csv";
  writeFile(path, cdr("\"Amy\" <+4930123456>", "+4930123456", "NO ANSWER", "1709287200.7", "",
                      "PJSIP/201-00000002") +
                      cdr("\"Amy\" <+4930123456>", "+4930123456", "ANSWERED", "1709287200.7", "",
                          "PJSIP/202-00000003") +
                      cdr("\"Amy\" <+4930123456>", "+4930123456", "NO ANSWER", "1709287200.7", "",
                          "PJSIP/203-00000004"));
  Instance src(OL_SOURCE, "asterisk.cdr", cfg(path));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_NE(d.events[0].key, d.events[1].key);
  EXPECT_NE(d.events[0].key, d.events[2].key);
  int answered = 0;
  for (const auto& e : d.events) {
    EXPECT_EQ(e.str("call.uniqueid"), "1709287200.7");
    EXPECT_EQ(e.identities.at("phone"), "+4930123456");  // international: no country needed
    if (e.find("call.answered_leg")->b) {
      ++answered;
      EXPECT_EQ(e.str("call.dst_channel"), "PJSIP/202-00000003");
    }
  }
  EXPECT_EQ(answered, 1);
  // Read again: the same keys (a replay is an upsert).
  Instance again(OL_SOURCE, "asterisk.cdr", cfg(path));
  const auto d2 = again.drain();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(d.events[i].key, d2.events[i].key);
}

TEST(AsteriskCdr, CallerIdsNamesAndUserfieldsIntact) {
  const std::string path = scratchDir("callerid") + "/Master.csv";
  writeFile(path, cdr("\"Jürgen Groß\" <030 1234567>", "0301234567", "ANSWERED", "1.1",
                      "VIP, \"gold\" customer") +
                      cdr("\"Anonymous\" <anonymous>", "anonymous", "NO ANSWER", "1.2") +
                      cdr("Restricted", "", "BUSY", "1.3") + cdr("", "", "FAILED", "1.4") +
                      cdr("0301234568", "0301234568", "CANCEL", "1.5") +
                      cdr("\"Reception\" <201>", "201", "CONGESTION", "1.6"));
  Instance src(OL_SOURCE, "asterisk.cdr", cfg(path, R"("country":"DE","timezone":"+01:00")"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 6u);
  EXPECT_EQ(d.events[0].str("caller.name"), "Jürgen Groß");
  EXPECT_EQ(d.events[0].identities.at("phone"), "+49301234567");
  EXPECT_EQ(d.events[0].str("call.userfield"), "VIP, \"gold\" customer");
  EXPECT_EQ(*d.events[0].time, 1709283600LL * 1000000);  // 10:00 at +01:00 = 09:00 UTC
  EXPECT_EQ(d.events[0].str("call.started_at"), "2024-03-01T09:00:00Z");
  for (size_t i : {1, 2, 3}) {
    EXPECT_TRUE(d.events[i].identities.empty()) << i;
    EXPECT_TRUE(d.events[i].find("caller.withheld")->b) << i;
  }
  EXPECT_EQ(d.events[1].type, "call.missed");
  EXPECT_EQ(d.events[2].type, "call.busy");
  EXPECT_EQ(d.events[3].type, "call.failed");
  EXPECT_EQ(d.events[4].type, "call.missed");
  EXPECT_EQ(d.events[4].identities.at("phone"), "+49301234568");  // a bare number
  EXPECT_TRUE(d.events[5].identities.empty());                    // an extension
  EXPECT_EQ(d.events[5].str("caller.number"), "201");
}

TEST(AsteriskCdr, SixteenAndTwentyOneColumnRows) {
  const std::string path = scratchDir("columns") + "/Master.csv";
  writeFile(
      path,
      R"("","+4930111","201","default","""A"" <+4930111>","SIP/a-1","SIP/b-2","Dial","SIP/b","2024-03-01 10:00:00","2024-03-01 10:00:01","2024-03-01 10:00:11",11,10,"ANSWERED","DOCUMENTATION")"
      "\n"
      R"("","+4930222","201","default","""B"" <+4930222>","SIP/a-3","SIP/b-4","Dial","SIP/b","2024-03-01 11:00:00",,"2024-03-01 11:00:11",11,0,"NO ANSWER","DOCUMENTATION","1709290800.4","","","1709290800.3",7)"
      "\n");
  Instance src(OL_SOURCE, "asterisk.cdr", cfg(path));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  for (const auto& e : d.events) ASSERT_EQ(e.disposition, OL_KEEP) << e.reason;
  EXPECT_EQ(d.events[0].find("call.uniqueid"), nullptr);
  EXPECT_EQ(d.events[0].key.rfind("row:", 0), 0u);
  EXPECT_EQ(d.events[1].str("call.uniqueid"), "1709290800.4");
  EXPECT_EQ(d.events[1].str("call.linkedid"), "1709290800.3");
  EXPECT_EQ(d.events[1].find("call.sequence")->i, 7);
  EXPECT_EQ(d.events[1].find("call.answered_at"), nullptr);  // an unquoted empty answer
}

TEST(AsteriskCdr, BadRowsAreDeadLettersNamingFileAndLine) {
  const std::string path = scratchDir("bad") + "/Master.csv";
  writeFile(path, cdr("\"A\" <+4930111>", "+4930111", "ANSWERED", "1.1") +
                      "\"only\",\"three\",\"columns\"\n" +
                      "\"\",\"+4930\xff\",\"201\"\n" +  // not UTF-8
                      cdr("\"B\" <+4930222>", "+4930222", "ANSWERED", "1.4") +
                      "\"\",\"x\",\"unterminated");  // the file ends inside a row
  Instance src(OL_SOURCE, "asterisk.cdr", cfg(path));
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 5u);
  EXPECT_EQ(d.events[0].disposition, OL_KEEP);
  EXPECT_EQ(d.events[1].disposition, OL_DEAD_LETTER);
  EXPECT_NE(d.events[1].reason.find(path + ":2: 3 columns"), std::string::npos)
      << d.events[1].reason;
  EXPECT_EQ(d.events[2].disposition, OL_DEAD_LETTER);
  EXPECT_NE(d.events[2].reason.find(path + ":3: the row is not valid UTF-8"), std::string::npos)
      << d.events[2].reason;
  EXPECT_EQ(d.events[3].disposition, OL_KEEP);
  EXPECT_EQ(d.events[4].disposition, OL_DEAD_LETTER);
  EXPECT_NE(d.events[4].reason.find(path + ":5: the file ends inside this row"), std::string::npos)
      << d.events[4].reason;
  EXPECT_EQ(src.log().counters["dead_letters"], 3);
}

TEST(AsteriskCdr, Latin1NamesAreConvertedWhenConfigured) {
  const std::string path = scratchDir("latin1") + "/Master.csv";
  writeFile(path, cdr("\"J\xfcrgen\" <+4930111>", "+4930111", "ANSWERED", "1.1"));
  Instance src(OL_SOURCE, "asterisk.cdr", cfg(path, R"("encoding":"latin-1")"));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].str("caller.name"), "Jürgen");
}

TEST(AsteriskCdrFollow, IncompleteLastRowWaitsForItsLineEnd) {
  const std::string path = scratchDir("partial") + "/Master.csv";
  const std::string row2 = cdr("\"B\" <+4930222>", "+4930222", "ANSWERED", "1.2");
  writeFile(path, cdr("\"A\" <+4930111>", "+4930111", "ANSWERED", "1.1") + row2.substr(0, 40));
  Instance src(OL_SOURCE, "asterisk.cdr", cfg(path, R"("follow":true)"));
  auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_IDLE);
  ASSERT_EQ(d.events.size(), 1u);
  // A restart from this cursor must not skip the half-written row.
  const std::string cursor = d.cursor;
  appendFile(path, row2.substr(40));
  d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].disposition, OL_KEEP) << d.events[0].reason;
  EXPECT_EQ(d.events[0].str("call.uniqueid"), "1.2");
  Instance restarted(OL_SOURCE, "asterisk.cdr", cfg(path, R"("follow":true)"));
  ASSERT_EQ(restarted.resume(cursor), OL_OK) << restarted.lastError();
  const auto r = restarted.drain();
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].str("call.uniqueid"), "1.2");
}

TEST(AsteriskCdrFollow, SurvivesRenameRotationAndCopytruncate) {
  const std::string dir = scratchDir("rotate");
  const std::string path = dir + "/Master.csv";
  writeFile(path, cdr("\"A\" <+4930111>", "+4930111", "ANSWERED", "1.1"));
  Instance src(OL_SOURCE, "asterisk.cdr", cfg(path, R"("follow":true)"));
  auto d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  // Appended just before logrotate renames it, then a new file.
  appendFile(path, cdr("\"A\" <+4930111>", "+4930111", "ANSWERED", "1.2"));
  std::filesystem::rename(path, path + ".1");
  writeFile(path, cdr("\"A\" <+4930111>", "+4930111", "ANSWERED", "1.3"));
  d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].str("call.uniqueid"), "1.2");
  EXPECT_EQ(d.events[1].str("call.uniqueid"), "1.3");
  EXPECT_TRUE(src.log().contains(OL_LOG_WARN, "was rotated"));
  // copytruncate: the file is emptied in place and written again.
  std::filesystem::resize_file(path, 0);
  appendFile(path, cdr("\"C\" <+4930333>", "+4930333", "BUSY", "1.4"));
  d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].str("call.uniqueid"), "1.4");
  // Same size as before, other first bytes: still a new file.
  const std::string longer = cdr("\"D\" <+4930444>", "+4930444", "NO ANSWER", "1.5") +
                             cdr("\"D\" <+4930444>", "+4930444", "ANSWERED", "1.6");
  writeFile(path, longer);
  d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  for (const auto& e : d.events) EXPECT_EQ(e.disposition, OL_KEEP) << e.reason;
  EXPECT_EQ(d.events[0].str("call.uniqueid"), "1.5");
  EXPECT_EQ(d.events[1].str("call.uniqueid"), "1.6");
}

TEST(AsteriskCdrFollow, RestartAfterRotationFinishesTheRotatedFileFirst) {
  const std::string dir = scratchDir("rotate_restart");
  const std::string path = dir + "/Master.csv";
  writeFile(path, cdr("\"A\" <+4930111>", "+4930111", "ANSWERED", "1.1"));
  std::string cursor;
  {
    Instance src(OL_SOURCE, "asterisk.cdr", cfg(path, R"("follow":true)"));
    cursor = src.drain().cursor;
  }
  appendFile(path, cdr("\"A\" <+4930111>", "+4930111", "ANSWERED", "1.2"));
  std::filesystem::rename(path, path + ".1");
  writeFile(path, cdr("\"A\" <+4930111>", "+4930111", "ANSWERED", "1.3"));
  Instance src(OL_SOURCE, "asterisk.cdr", cfg(path, R"("follow":true)"));
  ASSERT_EQ(src.resume(cursor), OL_OK) << src.lastError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].str("call.uniqueid"), "1.2");
  EXPECT_EQ(d.events[1].str("call.uniqueid"), "1.3");
}

TEST(AsteriskCdr, ResumeNeitherRepeatsNorLoses) {
  const std::string path = std::string(ASTERISK_TEST_DATA) + "/asterisk-master-cdr.csv";
  Instance all(OL_SOURCE, "asterisk.cdr", cfg(path));
  const auto everything = all.drain();
  ASSERT_EQ(everything.events.size(), 218u);
  // Rows 91 and 92 are byte-identical legs: stop between them, resume, and the second must get
  // the same key as in the uninterrupted read ("#1").
  Instance first(OL_SOURCE, "asterisk.cdr", cfg(path));
  ol_batch b;
  b.capacity = 91;
  ASSERT_EQ(first.read(&b, 91), OL_OK);
  ASSERT_EQ(b.events.size(), 91u);
  Instance rest(OL_SOURCE, "asterisk.cdr", cfg(path));
  ASSERT_EQ(rest.resume(b.cursor), OL_OK) << rest.lastError();
  const auto tail = rest.drain(7);
  ASSERT_EQ(tail.events.size(), 127u);
  EXPECT_NE(everything.events[91].key.find('#'), std::string::npos);
  for (size_t i = 0; i < tail.events.size(); ++i) {
    EXPECT_EQ(tail.events[i].key, everything.events[91 + i].key) << i;
  }
}

TEST(AsteriskCdr, QueueLogAddsQueueAgentAndWaitTime) {
  const std::string dir = scratchDir("queue");
  const std::string path = dir + "/Master.csv";
  const std::string qlog = dir + "/queue_log";
  writeFile(qlog,
            "1709287200|1709287200.7|support|NONE|ENTERQUEUE||+4930123456|1\n"
            "1709287200|NONE|support|PJSIP/alice|ADDMEMBER|\n"
            "garbage line\n"
            "1709287242|1709287200.7|support|PJSIP/alice|CONNECT|42|1709287240.9|3\n"
            "1709287362|1709287200.7|support|PJSIP/alice|COMPLETEAGENT|42|120|1\n"
            "1709287400|1709287390.8|support|NONE|ENTERQUEUE||+4930999|1\n");
  writeFile(path, cdr("\"Amy\" <+4930123456>", "+4930123456", "ANSWERED", "1709287200.7"));
  Instance src(OL_SOURCE, "asterisk.cdr",
               cfg(path, "\"follow\":true,\"queue_log\":" + jsonQuote(qlog)));
  ASSERT_TRUE(src.ok()) << src.createError();
  auto d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  const ol_event& e = d.events[0];
  EXPECT_EQ(e.str("queue.name"), "support");
  EXPECT_EQ(e.str("queue.agent"), "PJSIP/alice");
  EXPECT_EQ(e.find("queue.wait_seconds")->i, 42);
  EXPECT_EQ(e.find("queue.talk_seconds")->i, 120);
  EXPECT_EQ(e.str("queue.outcome"), "completed_by_agent");
  EXPECT_TRUE(src.log().contains(OL_LOG_WARN, qlog + ":3: not a queue_log line"));
  EXPECT_EQ(src.log().counters["queue_log_bad_lines"], 1);
  // Followed: the abandoned caller's lines and CDR arrive later.
  appendFile(qlog, "1709287417|1709287390.8|support|NONE|ABANDON|1|1|17\n");
  appendFile(path, cdr("\"Bo\" <+4930999>", "+4930999", "NO ANSWER", "1709287390.8"));
  d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].str("queue.outcome"), "abandoned");
  EXPECT_EQ(d.events[0].find("queue.wait_seconds")->i, 17);
  EXPECT_EQ(d.events[0].find("queue.agent"), nullptr);
}

TEST(AsteriskConfig, RejectionsNameTheOption) {
  const std::string path = std::string(ASTERISK_TEST_DATA) + "/asterisk-master-smallcdr.csv";
  Instance tz(OL_SOURCE, "asterisk.cdr", cfg(path, R"("timezone":"Europe/Nowhere")"));
  EXPECT_FALSE(tz.ok());
  EXPECT_NE(tz.createError().find("option 'timezone'"), std::string::npos) << tz.createError();
  Instance country(OL_SOURCE, "asterisk.cdr", cfg(path, R"("country":"XX")"));
  EXPECT_FALSE(country.ok());
  EXPECT_NE(country.createError().find("option 'country'"), std::string::npos);
  Instance missing(OL_SOURCE, "asterisk.cdr", cfg("/nonexistent/Master.csv"));
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.createError().find("/nonexistent/Master.csv"), std::string::npos);
  EXPECT_NE(missing.createError().find("option 'path'"), std::string::npos);
  Instance badq(OL_SOURCE, "asterisk.cdr", cfg(path, R"("queue_log":"/nonexistent/queue_log")"));
  EXPECT_FALSE(badq.ok());
  EXPECT_NE(badq.createError().find("option 'queue_log'"), std::string::npos);
  Instance foreign(OL_SOURCE, "asterisk.cdr", cfg(path));
  EXPECT_EQ(foreign.resume("offset=12;inode=3;path=x"), OL_ERROR);
  EXPECT_NE(foreign.lastError().find("reset the pipeline's checkpoint"), std::string::npos);
}

}  // namespace
}  // namespace plugintest
