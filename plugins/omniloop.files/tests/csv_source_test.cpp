// file.csv as built, through the C ABI.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "files_test_host.h"

namespace filestest {
namespace {

std::string csvConfig(const std::string& path, const std::string& extra = "") {
  return "{\"path\":" + jsonQuote(path) + (extra.empty() ? "" : "," + extra) + "}";
}

TEST(FilesPlugin, DescriptorListsTheThreeComponentsWithSchemas) {
  const ol_plugin_descriptor* d = Plugin::get().descriptor();
  EXPECT_STREQ(d->name, "omniloop.files");
  EXPECT_EQ(d->abi_major, OMNILOOP_ABI_MAJOR);
  ASSERT_NE(Plugin::get().component(OL_SOURCE, "file.jsonl"), nullptr);
  ASSERT_NE(Plugin::get().component(OL_SOURCE, "file.csv"), nullptr);
  const ol_component* sink = Plugin::get().component(OL_SINK, "file.jsonl");
  ASSERT_NE(sink, nullptr);
  EXPECT_NE(std::string(sink->config_schema).find("\"required\": [\"path\"]"), std::string::npos);
}

TEST(CsvSource, Rfc4180EdgeCases) {
  const std::string path = scratchDir("csv_rfc") + "/edge.csv";
  // BOM, CRLF, an embedded CRLF and comma, doubled quotes, empty fields, no final newline.
  writeFile(path,
            "\xEF\xBB\xBFid,name,note\r\n"
            "1,\"Doe, Jane\",\"said \"\"hi\"\"\r\nthen left\"\r\n"
            "2,,\r\n"
            "3,\"\",\"x\"");
  Instance src(OL_SOURCE, "file.csv", csvConfig(path, "\"type\":\"crm.row\",\"channel\":\"crm\""));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 3u);
  const ol_event& a = d.events[0];
  EXPECT_EQ(a.str("id"), "1");
  EXPECT_EQ(a.str("name"), "Doe, Jane");
  EXPECT_EQ(a.str("note"), "said \"hi\"\r\nthen left");
  EXPECT_EQ(a.type, "crm.row");
  EXPECT_EQ(a.channel, "crm");
  EXPECT_EQ(offsetOf(a.key), "17");  // byte offset of the row (after BOM and header)
  EXPECT_EQ(d.events[1].str("name"), "");
  ASSERT_NE(d.events[1].find("note"), nullptr);
  EXPECT_EQ(d.events[1].find("note")->type, OL_STRING);
  EXPECT_EQ(d.events[2].str("note"), "x");
  for (const auto& e : d.events) EXPECT_EQ(e.disposition, OL_KEEP);
}

TEST(CsvSource, AsteriskMasterCsvWithoutHeader) {
  const std::string cols =
      R"("columns":["accountcode","src","dst","dcontext","clid","channel","dstchannel",)"
      R"("lastapp","lastdata","start","answer","end","duration","billsec","disposition",)"
      R"("amaflags","uniqueid","userfield"],"header":false)";
  Instance src(OL_SOURCE, "file.csv",
               csvConfig(std::string(FILES_TEST_DATA) + "/asterisk-master-smallcdr.csv", cols));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain(16);
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 45u);
  const ol_event& first = d.events[0];
  EXPECT_EQ(first.disposition, OL_KEEP) << first.reason;
  EXPECT_EQ(first.str("clid"), "\"Leanna Cuphus\" <609-326-2780>");
  EXPECT_EQ(first.str("answer"), "");
  EXPECT_EQ(first.str("duration"), "0");
  EXPECT_EQ(first.str("disposition"), "NO ANSWER");
  EXPECT_EQ(first.str("uniqueid"), "1498555635.0");
  EXPECT_EQ(d.events[3].str("clid"), "\"\" <334-442-8436>");
  EXPECT_EQ(d.events[1].str("billsec"), "390");
  for (const auto& e : d.events) EXPECT_EQ(e.disposition, OL_KEEP) << e.reason;
}

TEST(CsvSource, AsteriskRowsKeyedByUniqueidOrByOffset) {
  const std::string cols =
      R"("columns":["accountcode","src","dst","dcontext","clid","channel","dstchannel",)"
      R"("lastapp","lastdata","start","answer","end","duration","billsec","disposition",)"
      R"("amaflags","uniqueid","userfield"],"header":false,"key_field":"uniqueid")";
  Instance src(OL_SOURCE, "file.csv",
               csvConfig(std::string(FILES_TEST_DATA) + "/asterisk-master-smallcdr.csv", cols));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 45u);
  EXPECT_EQ(d.events[0].key, "1498555635.0");
}

TEST(CsvSource, SalesforceReportWithBomAndLabelHeaders) {
  Instance src(OL_SOURCE, "file.csv",
               csvConfig(std::string(FILES_TEST_DATA) + "/salesforce-Accounts-Contacts.csv",
                         R"("rename":{"Contact: Email":"email","Contact: Last Name":"last_name"})"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 14u);
  const ol_event& amy = d.events[0];
  EXPECT_EQ(amy.str("Account: Account Name"), "Alpha Dynamics");  // no BOM in the first label
  EXPECT_EQ(amy.str("Contact: First Name"), "Amy");
  EXPECT_EQ(amy.str("last_name"), "Taylor");
  EXPECT_EQ(amy.str("email"), "amy@demo.net");
  EXPECT_EQ(amy.find("Contact: Email"), nullptr);
  EXPECT_EQ(amy.fields.size(), 9u);
  // Accounts without contacts: the export drops the trailing empty cells; they read as "".
  const ol_event& genepoint = d.events[7];
  EXPECT_EQ(genepoint.disposition, OL_KEEP) << genepoint.reason;
  EXPECT_EQ(genepoint.str("Account: Account Name"), "GenePoint");
  EXPECT_EQ(genepoint.fields.size(), 9u);
  ASSERT_NE(genepoint.find("email"), nullptr);
  EXPECT_EQ(genepoint.str("email"), "");
}

TEST(CsvSource, ShortRowsCanBeDeadLettered) {
  Instance src(OL_SOURCE, "file.csv",
               csvConfig(std::string(FILES_TEST_DATA) + "/salesforce-Accounts-Contacts.csv",
                         R"("short_rows":"dead_letter","key_field":"Contact: Email")"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 14u);
  EXPECT_EQ(d.events[0].key, "amy@demo.net");
  EXPECT_EQ(d.events[7].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(d.events[7].reason, "file.csv: the row at line 9 of '" + std::string(FILES_TEST_DATA) +
                                    "/salesforce-Accounts-Contacts.csv' has 3 fields, expected 9 "
                                    "(the header's)");
  EXPECT_EQ(d.events[7].raw, "GenePoint,Customer - Direct,7819662255");
}

TEST(CsvSource, EmptyKeyColumnFallsBackToTheOffset) {
  Instance src(OL_SOURCE, "file.csv",
               csvConfig(std::string(FILES_TEST_DATA) + "/salesforce-Accounts-Contacts.csv",
                         R"("key_field":"Contact: Email")"));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 14u);
  EXPECT_EQ(d.events[5].key, "jonathan@demo.net");
  EXPECT_EQ(d.events[7].key.rfind("offset:", 0), 0u) << d.events[7].key;
  EXPECT_EQ(src.log().counters["missing_keys"], 8);
}

TEST(CsvSource, RowWithWrongColumnCountIsDeadLetteredAndReadingGoesOn) {
  const std::string path = scratchDir("csv_count") + "/a.csv";
  writeFile(path, "a,b\n1,2\n1,2,3\n\n4,5\n");
  Instance src(OL_SOURCE, "file.csv", csvConfig(path));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.events[0].disposition, OL_KEEP);
  EXPECT_EQ(d.events[1].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(d.events[1].raw, "1,2,3");
  EXPECT_EQ(d.events[1].reason,
            "file.csv: the row at line 3 of '" + path + "' has 3 fields, expected 2 (the header's)");
  EXPECT_EQ(offsetOf(d.events[1].key), "8");
  EXPECT_EQ(d.events[2].str("a"), "4");
  EXPECT_EQ(src.log().counters["dead_letters"], 1);
}

TEST(CsvSource, UnterminatedQuoteIsDeadLetteredUpToItsLine) {
  const std::string path = scratchDir("csv_unterminated") + "/a.csv";
  writeFile(path, "a,b\n1,\"open\n2,3\n");
  Instance src(OL_SOURCE, "file.csv", csvConfig(path));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(d.events[0].raw, "1,\"open");
  EXPECT_NE(d.events[0].reason.find("line 2 of '" + path + "' has an unterminated quoted field"), std::string::npos);
  EXPECT_EQ(d.events[1].str("a"), "2");
}

TEST(CsvSource, InvalidUtf8IsDeadLetteredUnlessLatin1IsConfigured) {
  const std::string path = scratchDir("csv_latin1") + "/a.csv";
  writeFile(path, "name\nJos\xE9\n");
  {
    Instance src(OL_SOURCE, "file.csv", csvConfig(path));
    const auto d = src.drain();
    ASSERT_EQ(d.events.size(), 1u);
    EXPECT_EQ(d.events[0].disposition, OL_DEAD_LETTER);
    EXPECT_NE(d.events[0].reason.find("not valid UTF-8"), std::string::npos);
  }
  Instance src(OL_SOURCE, "file.csv", csvConfig(path, R"("encoding":"latin-1")"));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].str("name"), "Jos\xC3\xA9");
}

TEST(CsvSource, SemicolonDelimiterAndKeptEmptyLines) {
  const std::string path = scratchDir("csv_semicolon") + "/a.csv";
  writeFile(path, "x;y\n\"1;2\";3\n\n");
  Instance src(OL_SOURCE, "file.csv",
               csvConfig(path, R"("delimiter":";","skip_empty_lines":false,"short_rows":"dead_letter")"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].str("x"), "1;2");
  EXPECT_EQ(d.events[1].disposition, OL_DEAD_LETTER);  // an empty row has 1 field, not 2
}

TEST(CsvSource, DuplicateAndEmptyHeaderLabelsGetDistinctNames) {
  const std::string path = scratchDir("csv_dupes") + "/a.csv";
  writeFile(path, "a,a,\n1,2,3\n");
  Instance src(OL_SOURCE, "file.csv", csvConfig(path));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].str("a"), "1");
  EXPECT_EQ(d.events[0].str("a_2"), "2");
  EXPECT_EQ(d.events[0].str("column_3"), "3");
}

TEST(CsvSource, ConfigurationErrorsNameTheProblem) {
  const std::string path = scratchDir("csv_config") + "/a.csv";
  writeFile(path, "a\n1\n");
  {
    Instance src(OL_SOURCE, "file.csv", csvConfig(path + ".missing"));
    EXPECT_FALSE(src.ok());
    EXPECT_NE(src.createError().find(path + ".missing"), std::string::npos) << src.createError();
    EXPECT_NE(src.createError().find("No such file"), std::string::npos) << src.createError();
  }
  {
    Instance src(OL_SOURCE, "file.csv", csvConfig(path, R"("header":false)"));
    EXPECT_FALSE(src.ok());
    EXPECT_NE(src.createError().find("'columns' is required"), std::string::npos);
  }
  {
    Instance src(OL_SOURCE, "file.csv", csvConfig(path, R"("columns":["x"])"));
    EXPECT_FALSE(src.ok());
    EXPECT_NE(src.createError().find("rename"), std::string::npos);
  }
  {
    Instance src(OL_SOURCE, "file.csv", csvConfig(path, R"("key_field":"nope")"));
    ASSERT_TRUE(src.ok()) << src.createError();  // the header is only known once read
    ol_batch batch;
    EXPECT_EQ(src.read(&batch, 10), OL_ERROR);
    EXPECT_NE(src.lastError().find("key_field 'nope'"), std::string::npos) << src.lastError();
  }
}

TEST(CsvSource, ResumeWithHeaderReadsTheRestExactlyOnce) {
  const std::string path = scratchDir("csv_resume") + "/a.csv";
  std::string content = "\xEF\xBB\xBFn,sq\n";
  for (int i = 0; i < 100; ++i) content += std::to_string(i) + ",\"" + std::to_string(i * i) + "\"\n";
  writeFile(path, content);
  std::string cursor;
  std::vector<std::string> seen;
  {
    Instance src(OL_SOURCE, "file.csv", csvConfig(path));
    ol_batch b1;
    ASSERT_EQ(src.read(&b1, 30), OL_OK);
    for (const auto& e : b1.events) seen.push_back(e.str("n"));
    cursor = b1.cursor;
  }
  Instance src(OL_SOURCE, "file.csv", csvConfig(path));
  ASSERT_EQ(src.resume(cursor), OL_OK) << src.lastError();
  const auto d = src.drain(7);
  EXPECT_EQ(d.last_status, OL_END);
  for (const auto& e : d.events) {
    EXPECT_EQ(e.disposition, OL_KEEP) << e.reason;
    EXPECT_EQ(e.str("sq"), std::to_string(std::stoi(e.str("n")) * std::stoi(e.str("n"))));
    seen.push_back(e.str("n"));
  }
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], std::to_string(i));
}

TEST(CsvSource, QuotedRowsAcrossBlockBoundariesAreReadExactlyOnce) {
  const std::string path = scratchDir("csv_blocks") + "/big.csv";
  std::string content = "n,text\r\n";
  const std::string filler(150, 'z');
  const int rows = 20000;  // ~3.4 MiB: rows and quoted line breaks straddle the 1 MiB blocks
  for (int i = 0; i < rows; ++i) {
    content += std::to_string(i) + ",\"" + filler + "\r\nsaid \"\"" + std::to_string(i) + "\"\"\"\r\n";
  }
  writeFile(path, content);
  Instance src(OL_SOURCE, "file.csv", csvConfig(path));
  const auto d = src.drain(999);
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    const ol_event& e = d.events[static_cast<size_t>(i)];
    ASSERT_EQ(e.disposition, OL_KEEP) << e.reason;
    ASSERT_EQ(e.str("n"), std::to_string(i));
    ASSERT_EQ(e.str("text"), filler + "\r\nsaid \"" + std::to_string(i) + "\"");
  }
}

TEST(CsvSource, FollowWaitsForWholeRowsAndRereadsTheHeaderAfterRotation) {
  const std::string dir = scratchDir("csv_follow");
  const std::string path = dir + "/live.csv";
  writeFile(path, "a,b\n1,\"x\n");
  Instance src(OL_SOURCE, "file.csv", csvConfig(path, R"("follow":true)"));
  ASSERT_TRUE(src.ok()) << src.createError();
  {
    ol_batch b;
    EXPECT_EQ(src.read(&b, 10), OL_IDLE);  // the row's quoted field is still open
  }
  appendFile(path, "y\"\n2,z");
  {
    ol_batch b;
    EXPECT_EQ(src.read(&b, 10), OL_OK);
    ASSERT_EQ(b.events.size(), 1u);
    EXPECT_EQ(b.events[0].str("b"), "x\ny");
  }
  appendFile(path, "\n");
  {
    ol_batch b;
    EXPECT_EQ(src.read(&b, 10), OL_OK);
    ASSERT_EQ(b.events.size(), 1u);
    EXPECT_EQ(b.events[0].str("b"), "z");
  }
  std::filesystem::rename(path, dir + "/live.csv.1");
  writeFile(path, "c,d\n3,4\n");  // the new file has its own header
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    ol_batch b;
    EXPECT_NE(src.read(&b, 10), OL_END);
    for (const auto& e : b.events) got.push_back(e.str("c") + "/" + e.str("d"));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"3/4"}));
}

// ---- Records longer than max_record_bytes: exactly one dead letter, at any limit ----

// Reads `path` with max_record_bytes 64, in batches of `batch` events.
std::vector<ol_event> readWithLimit(const std::string& path, size_t batch,
                                    const std::string& extra = "") {
  Instance src(OL_SOURCE, "file.csv",
               csvConfig(path, R"("max_record_bytes":64)" + (extra.empty() ? "" : "," + extra)));
  EXPECT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain(batch);
  EXPECT_EQ(d.last_status, OL_END);
  return d.events;
}

TEST(CsvSource, OverlongRowIsOneDeadLetterAtASmallLimitAndTheNextRowIsRead) {
  const std::string path = scratchDir("csv_overlong_small") + "/a.csv";
  const std::string long_row = "2," + std::string(300, 'x');
  writeFile(path, "a,b\n1,short\n" + long_row + "\n3,after\n");
  for (size_t batch : {1u, 2u, 1024u}) {
    const auto events = readWithLimit(path, batch);
    ASSERT_EQ(events.size(), 3u) << "batch " << batch;
    EXPECT_EQ(events[0].str("b"), "short");
    EXPECT_EQ(events[1].disposition, OL_DEAD_LETTER);
    EXPECT_EQ(events[1].raw, long_row);  // shorter than the 4 KiB kept
    EXPECT_EQ(events[1].reason, "file.csv: the row at line 3 of '" + path +
                                    "' is longer than max_record_bytes (64 bytes); skipped");
    EXPECT_EQ(offsetOf(events[1].key), "12");
    EXPECT_EQ(events[2].disposition, OL_KEEP);
    EXPECT_EQ(events[2].str("a"), "3");
    EXPECT_EQ(events[2].str("b"), "after");
  }
}

TEST(CsvSource, OverlongQuotedRowWithLineBreaksIsOneDeadLetter) {
  const std::string path = scratchDir("csv_overlong_quoted") + "/a.csv";
  // The long row's quoted field holds line breaks, doubled quotes and commas: it ends at the
  // line break after its closing quote, not at its first line break.
  const std::string long_row = "2,\"first line\n" + std::string(100, 'q') + ",\"\"x\"\"\r\n" +
                               std::string(100, 'r') + "\nlast\"";
  writeFile(path, "a,b\n1,short\n" + long_row + "\r\n3,\"after\nbreak\"\n4,end\n");
  const auto events = readWithLimit(path, 1024);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(events[1].raw, long_row);
  EXPECT_NE(events[1].reason.find("the row at line 3 of"), std::string::npos) << events[1].reason;
  EXPECT_EQ(events[2].str("b"), "after\nbreak");
  // Line numbers after the skipped row count its line breaks.
  EXPECT_EQ(events[3].str("a"), "4");
}

TEST(CsvSource, OverlongRowAcrossManyBlocksIsOneDeadLetterWithItsFirst4KiB) {
  const std::string path = scratchDir("csv_overlong_big") + "/a.csv";
  const std::string big = std::string(3u << 20, 'y');  // 3 MiB: several 1 MiB blocks
  writeFile(path, "a,b\n1,\"" + big + "\nstill\"\n2,z\n");
  Instance src(OL_SOURCE, "file.csv", csvConfig(path, R"("max_record_bytes":1048576)"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(d.events[0].raw.size(), 4096u);
  EXPECT_EQ(d.events[0].raw.substr(0, 4), "1,\"y");
  EXPECT_EQ(src.log().counters["dead_letters"], 1);
  EXPECT_EQ(d.events[1].str("a"), "2");
  EXPECT_EQ(d.events[1].str("b"), "z");
}

TEST(CsvSource, FollowedOverlongRowKeepsTheCursorAtItsStartUntilItEnds) {
  const std::string path = scratchDir("csv_overlong_follow") + "/a.csv";
  writeFile(path, "a,b\n1,ok\n2," + std::string(200, 'x'));
  Instance src(OL_SOURCE, "file.csv", csvConfig(path, R"("max_record_bytes":64,"follow":true)"));
  ASSERT_TRUE(src.ok()) << src.createError();
  std::string cursor;
  {
    ol_batch b;
    src.read(&b, 10);
    ASSERT_EQ(b.events.size(), 1u);
    cursor = b.cursor;
    EXPECT_NE(cursor.find("offset=9;"), std::string::npos) << cursor;  // the long row's start
  }
  appendFile(path, std::string(200, 'x') + "\n3,next\n");
  ol_batch b;
  src.read(&b, 10);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(b.events[1].str("b"), "next");
}

TEST(CsvSource, OverlongRowWithAnUnterminatedQuoteCostsItsFirstLineOnly) {
  const std::string path = scratchDir("csv_overlong_unterminated") + "/a.csv";
  const std::string first_line = "1,\"open " + std::string(100, 'x');
  writeFile(path, "a,b\n" + first_line + "\n2,ok\n3," + std::string(70, 'y') + "\n4,end\n");
  const auto events = readWithLimit(path, 1024);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(events[0].raw, first_line);
  EXPECT_EQ(events[0].reason, "file.csv: the row at line 2 of '" + path +
                                  "' has an unterminated quoted field; skipped to the next line");
  EXPECT_EQ(events[1].str("b"), "ok");
  EXPECT_EQ(events[2].disposition, OL_DEAD_LETTER);  // 72 bytes: over the limit too
  EXPECT_NE(events[2].reason.find("line 4 of"), std::string::npos) << events[2].reason;
  EXPECT_EQ(events[3].str("a"), "4");
}

}  // namespace
}  // namespace filestest
