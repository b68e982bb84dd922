// connect.ctr as built (callcenter.connect.so), through the C ABI and the stand-in host; the
// line splitter directly.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "ctr_source.h"
#include "test_host.h"

namespace plugintest {
namespace {

struct UsePlugin : ::testing::Environment {
  void SetUp() override { Plugin::setPluginName("callcenter.connect"); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new UsePlugin);

std::string cfg(const std::string& path, const std::string& extra = "") {
  return "{\"path\":" + jsonQuote(path) + (extra.empty() ? "" : "," + extra) + "}";
}

std::string sample() {
  return readFile(std::string(CONNECT_TEST_DATA) + "/ctr-sample.jsonl");
}

TEST(ConnectSplit, ConcatenatedObjectsOnOneLine) {
  std::vector<std::string_view> v;
  EXPECT_TRUE(omniloop::connect::splitConcatenated(R"({"a":"}{"} {"b":[1,{"c":2}]})", &v));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], R"({"a":"}{"})");
  EXPECT_EQ(v[1], R"({"b":[1,{"c":2}]})");
  EXPECT_FALSE(omniloop::connect::splitConcatenated(R"({"a":1)", &v));
  EXPECT_EQ(v.size(), 1u);
  EXPECT_FALSE(omniloop::connect::splitConcatenated("42", &v));
}

TEST(ConnectCtr, MapsTheDocumentedFields) {
  Instance src(OL_SOURCE, "connect.ctr", cfg(std::string(CONNECT_TEST_DATA) + "/ctr-sample.jsonl"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 3u);
  const ol_event& a = d.events[0];
  ASSERT_EQ(a.disposition, OL_KEEP) << a.reason;
  EXPECT_EQ(a.key, "5ec1b0e1-0000-4000-8000-000000000001");
  EXPECT_EQ(a.type, "call.answered");
  EXPECT_EQ(a.channel, "call_center");
  EXPECT_EQ(*a.time, 1709283600LL * 1000000);
  EXPECT_EQ(a.identities.at("phone"), "+4930901820");
  EXPECT_EQ(a.str("contact.channel"), "VOICE");
  EXPECT_EQ(a.str("contact.initiation_method"), "INBOUND");
  EXPECT_EQ(a.str("contact.disconnect_reason"), "CUSTOMER_DISCONNECT");
  EXPECT_EQ(a.find("contact.duration_seconds")->i, 420);
  EXPECT_EQ(a.str("queue.name"), "Support");
  EXPECT_EQ(a.find("queue.wait_seconds")->i, 41);
  EXPECT_EQ(a.str("agent.username"), "alice");
  EXPECT_EQ(a.find("agent.interaction_seconds")->i, 378);
  EXPECT_EQ(a.find("agent.customer_hold_seconds")->i, 12);
  EXPECT_EQ(a.find("agent.after_contact_work_seconds")->i, 31);
  EXPECT_EQ(a.str("agent.routing_profile"), "Basic Routing Profile");
  EXPECT_EQ(a.str("attributes.customer_tier"), "gold");
  EXPECT_EQ(a.str("customer.endpoint"), "+4930901820");
  EXPECT_EQ(a.str("contact.system_endpoint"), "+498001234567");
  const ol_event& missed = d.events[1];
  EXPECT_EQ(missed.type, "call.missed");
  EXPECT_EQ(missed.find("agent.username"), nullptr);
  EXPECT_EQ(missed.find("queue.wait_seconds")->i, 77);
  const ol_event& chat = d.events[2];
  EXPECT_EQ(chat.type, "contact.chat");
  EXPECT_TRUE(chat.identities.empty());
  EXPECT_EQ(chat.str("agent.username"), "bob");
}

TEST(ConnectCtr, BadRecordsAreDeadLettersNamingFileAndLine) {
  const std::string path = scratchDir("bad") + "/ctr.jsonl";
  const std::string s = sample();
  const size_t first_nl = s.find('\n');
  writeFile(path, s.substr(0, first_nl + 1) + "[1,2,3]\n" + "{\"ContactId\": \"x\", \n" +
                      "{\"Channel\":\"VOICE\"}\n" + "{\"ContactId\":\"bad-\xff\"}\n" +
                      s.substr(first_nl + 1));
  Instance src(OL_SOURCE, "connect.ctr", cfg(path));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 7u);
  EXPECT_EQ(d.events[0].disposition, OL_KEEP);
  EXPECT_NE(d.events[1].reason.find(path + ":2: a contact trace record must be a JSON object"),
            std::string::npos)
      << d.events[1].reason;
  EXPECT_NE(d.events[2].reason.find(path + ":3: not JSON"), std::string::npos)
      << d.events[2].reason;
  EXPECT_NE(d.events[3].reason.find(path + ":4: the record has no ContactId"), std::string::npos);
  EXPECT_NE(d.events[4].reason.find(path + ":5: the line is not valid UTF-8"), std::string::npos);
  for (size_t i = 5; i < 7; ++i) EXPECT_EQ(d.events[i].disposition, OL_KEEP) << d.events[i].reason;
  EXPECT_EQ(src.log().counters["dead_letters"], 4);
}

TEST(ConnectCtr, FirehoseObjectsWithoutDelimiterAreSplit) {
  const std::string path = scratchDir("concat") + "/ctr.jsonl";
  std::string s = sample();
  std::string joined;
  for (char c : s) {
    if (c != '\n') joined += c;
  }
  writeFile(path, joined + "\n");
  Instance src(OL_SOURCE, "connect.ctr", cfg(path));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.events[2].type, "contact.chat");
  // A small batch cannot split the line: the whole line moves to the next batch.
  Instance small(OL_SOURCE, "connect.ctr", cfg(path));
  ol_batch b;
  b.capacity = 2;
  EXPECT_EQ(small.read(&b, 2), OL_END);  // the only line, dead-lettered: the file is done
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_NE(b.events[0].reason.find("raise the pipeline's batch.size"), std::string::npos);
}

TEST(ConnectCtrFollow, PartialLineWaitsAndRotationIsFollowed) {
  const std::string path = scratchDir("follow") + "/ctr.jsonl";
  const std::string s = sample();
  const size_t nl1 = s.find('\n');
  const size_t nl2 = s.find('\n', nl1 + 1);
  writeFile(path, s.substr(0, nl1 + 1) + s.substr(nl1 + 1, 50));
  Instance src(OL_SOURCE, "connect.ctr", cfg(path, R"("follow":true)"));
  auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_IDLE);
  ASSERT_EQ(d.events.size(), 1u);
  const std::string cursor = d.cursor;
  appendFile(path, s.substr(nl1 + 51, nl2 - nl1 - 50));
  d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].key, "5ec1b0e1-0000-4000-8000-000000000002");
  std::filesystem::rename(path, path + ".1");
  writeFile(path, s.substr(nl2 + 1));
  d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].key, "5ec1b0e1-0000-4000-8000-000000000003");
  // A restart from the first cursor: the rotated file is finished, then the new one.
  Instance again(OL_SOURCE, "connect.ctr", cfg(path, R"("follow":true)"));
  ASSERT_EQ(again.resume(cursor), OL_OK) << again.lastError();
  d = again.drain();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].key, "5ec1b0e1-0000-4000-8000-000000000002");
  EXPECT_EQ(d.events[1].key, "5ec1b0e1-0000-4000-8000-000000000003");
}

TEST(ConnectCtr, BatchModeIncompleteLastLineIsADeadLetter) {
  const std::string path = scratchDir("partial") + "/ctr.jsonl";
  writeFile(path, sample() + "{\"ContactId\":\"cut");
  Instance src(OL_SOURCE, "connect.ctr", cfg(path));
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 4u);
  EXPECT_NE(d.events[3].reason.find(path + ":4: the file ends inside this line"),
            std::string::npos);
  Instance missing(OL_SOURCE, "connect.ctr", cfg("/nonexistent/ctr.jsonl"));
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.createError().find("option 'path'"), std::string::npos);
}

}  // namespace
}  // namespace plugintest
