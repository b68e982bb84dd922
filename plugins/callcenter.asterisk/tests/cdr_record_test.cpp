// cdr_csv rows, caller ids, queue_log lines and phone numbers, tested directly.
#include <gtest/gtest.h>

#include "cdr_record.h"
#include "phone.h"
#include "queue_log.h"

namespace omniloop::asterisk {
namespace {

TEST(CdrRow, SplitsQuotedAndBareFieldsWithDoubledQuotes) {
  std::vector<std::string> f;
  std::string err;
  ASSERT_TRUE(splitCdrRow(R"("","201","""Jane, Doe"" <201>",,10,"say ""hi""")", &f, &err)) << err;
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[1], "201");
  EXPECT_EQ(f[2], "\"Jane, Doe\" <201>");
  EXPECT_EQ(f[3], "");
  EXPECT_EQ(f[4], "10");
  EXPECT_EQ(f[5], "say \"hi\"");
  EXPECT_TRUE(splitCdrRow(R"("a",)", &f, &err));
  EXPECT_EQ(f.size(), 2u);
}

TEST(CdrRow, RejectsUnclosedQuoteAndTextAfterQuote) {
  std::vector<std::string> f;
  std::string err;
  EXPECT_FALSE(splitCdrRow(R"("a","b)", &f, &err));
  EXPECT_NE(err.find("column 2"), std::string::npos);
  EXPECT_FALSE(splitCdrRow(R"("a"x,"b")", &f, &err));
  EXPECT_NE(err.find("column 1"), std::string::npos);
}

TEST(CdrRow, FramingEndsAtLineEndOutsideQuotes) {
  EXPECT_EQ(frameCdrRow("\"a\",\"b\"\n\"c\"\n", false), 8u);
  EXPECT_EQ(frameCdrRow("\"a\nb\",\"c\"\nx", false), 10u);  // LF inside quotes belongs to the row
  EXPECT_EQ(frameCdrRow("\"a\",\"b", false), 0u);           // still being written
  EXPECT_EQ(frameCdrRow("\"a,b\n\"c\"", true), 5u);         // at EOF an open quote ends at LF
}

std::vector<std::string> row(size_t n, const std::string& col17 = "1498555635.0") {
  std::vector<std::string> f(n, "x");
  if (n > 16) f[16] = col17;
  return f;
}

TEST(CdrRow, ColumnCountTellsTheLayout) {
  CdrLayout l;
  ASSERT_TRUE(layoutFor(row(16), &l));
  EXPECT_EQ(l.uniqueid, -1);
  EXPECT_EQ(l.userfield, -1);
  ASSERT_TRUE(layoutFor(row(17), &l));  // loguniqueid only
  EXPECT_EQ(l.uniqueid, 16);
  EXPECT_EQ(l.userfield, -1);
  ASSERT_TRUE(layoutFor(row(17, "vip customer"), &l));  // loguserfield only
  EXPECT_EQ(l.uniqueid, -1);
  EXPECT_EQ(l.userfield, 16);
  ASSERT_TRUE(layoutFor(row(18), &l));
  EXPECT_EQ(l.uniqueid, 16);
  EXPECT_EQ(l.userfield, 17);
  ASSERT_TRUE(layoutFor(row(21), &l));  // newcdrcolumns=yes
  EXPECT_EQ(l.peeraccount, 18);
  EXPECT_EQ(l.linkedid, 19);
  EXPECT_EQ(l.sequence, 20);
  EXPECT_FALSE(layoutFor(row(15), &l));
  EXPECT_FALSE(layoutFor(row(22), &l));
}

TEST(CallerIdParse, NameAndNumberForms) {
  auto a = parseCallerId("\"Leanna Cuphus\" <609-326-2780>", "917-375-0980");
  EXPECT_EQ(a.name, "Leanna Cuphus");
  EXPECT_EQ(a.number, "609-326-2780");
  EXPECT_FALSE(a.withheld);
  auto b = parseCallerId("\"\" <334-442-8436>", "");
  EXPECT_EQ(b.name, "");
  EXPECT_EQ(b.number, "334-442-8436");
  auto c = parseCallerId("+4930123456", "");
  EXPECT_EQ(c.number, "+4930123456");
  auto d = parseCallerId("\"Jürgen Groß\" <030 1234567>", "");
  EXPECT_EQ(d.name, "Jürgen Groß");
  auto e = parseCallerId("\"Front desk\"", "0301234567");  // name only: number from src
  EXPECT_EQ(e.name, "Front desk");
  EXPECT_EQ(e.number, "0301234567");
}

TEST(CallerIdParse, WithheldCallersHaveNoNumber) {
  for (const char* clid : {"\"Anonymous\" <anonymous>", "Restricted", "\"\" <>", "",
                           "\"Unknown\" <Unavailable>", "<PRIVATE>"}) {
    auto id = parseCallerId(clid, "anonymous");
    EXPECT_TRUE(id.withheld) << clid;
    EXPECT_EQ(id.number, "") << clid;
  }
}

TEST(CallerIdParse, DispositionToEventType) {
  EXPECT_EQ(eventTypeFor("ANSWERED"), "call.answered");
  EXPECT_EQ(eventTypeFor("NO ANSWER"), "call.missed");
  EXPECT_EQ(eventTypeFor("CANCEL"), "call.missed");
  EXPECT_EQ(eventTypeFor("BUSY"), "call.busy");
  EXPECT_EQ(eventTypeFor("FAILED"), "call.failed");
  EXPECT_EQ(eventTypeFor("CONGESTION"), "call.failed");
}

TEST(Phone, NationalNumbersTakeTheCountry) {
  PhoneNormalizer us("US");
  EXPECT_EQ(us.toE164("609-326-2780"), "+16093262780");
  EXPECT_EQ(us.toE164("201"), "");  // an extension
  PhoneNormalizer de("DE");
  EXPECT_EQ(de.toE164("030 1234567"), "+49301234567");
  EXPECT_EQ(de.toE164("+44 20 7946 0958"), "+442079460958");
  PhoneNormalizer none("");
  EXPECT_EQ(none.toE164("030 1234567"), "");
  EXPECT_EQ(none.toE164("+49 30 1234567"), "+49301234567");
  EXPECT_THROW(PhoneNormalizer("XX"), std::invalid_argument);
}

TEST(QueueLog, JoinsQueueAgentAndWaitByCallid) {
  QueueIndex idx;
  EXPECT_EQ(idx.add("1700000000|1700000000.12|support|NONE|ENTERQUEUE||+4930123456|2"),
            QueueIndex::Line::kUsed);
  EXPECT_EQ(idx.add("1700000042|1700000000.12|support|PJSIP/alice|CONNECT|42|1700000040.13|5"),
            QueueIndex::Line::kUsed);
  EXPECT_EQ(idx.add("1700000342|1700000000.12|support|PJSIP/alice|COMPLETECALLER|42|300|2"),
            QueueIndex::Line::kUsed);
  EXPECT_EQ(idx.add("1700000001|NONE|support|PJSIP/bob|ADDMEMBER|"), QueueIndex::Line::kIgnored);
  EXPECT_EQ(idx.add("not a line"), QueueIndex::Line::kMalformed);
  EXPECT_EQ(idx.add("1700000400|1700000399.20|sales|NONE|ABANDON|3|3|17"), QueueIndex::Line::kUsed);
  const QueueCall* c = idx.find("1700000000.12");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->queue, "support");
  EXPECT_EQ(c->agent, "PJSIP/alice");
  EXPECT_EQ(c->wait_seconds, 42);
  EXPECT_EQ(c->talk_seconds, 300);
  EXPECT_EQ(c->position, 2);
  EXPECT_EQ(c->outcome, "completed_by_caller");
  const QueueCall* a = idx.find("1700000399.20");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->outcome, "abandoned");
  EXPECT_EQ(a->wait_seconds, 17);
  EXPECT_EQ(idx.find("1.1"), nullptr);
}

TEST(QueueLog, EvictsTheOldestCallsPastTheLimit) {
  QueueIndex idx(2);
  idx.add("1|1.1|q|NONE|ENTERQUEUE||x|1");
  idx.add("2|2.2|q|NONE|ENTERQUEUE||x|1");
  idx.add("3|3.3|q|NONE|ENTERQUEUE||x|1");
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx.find("1.1"), nullptr);
  EXPECT_NE(idx.find("3.3"), nullptr);
}

}  // namespace
}  // namespace omniloop::asterisk
