// The file.jsonl sink as built, through the C ABI.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "files_test_host.h"

namespace filestest {
namespace {

void addEvent(ol_batch* b, const std::string& key, int64_t n, int disposition = OL_KEEP) {
  ol_event& e = b->events.emplace_back();
  e.key = key;
  e.type = "t";
  ol_event::Field f;
  f.path = "n";
  f.type = OL_INT;
  f.i = n;
  e.fields.push_back(f);
  e.disposition = disposition;
}

TEST(JsonlSink, WritesEveryLiveEventAsOneLineCreatingDirectories) {
  const std::string path = scratchDir("sink_write") + "/deep/er/out.jsonl";
  Instance sink(OL_SINK, "file.jsonl", "{\"path\":" + jsonQuote(path) + "}");
  ASSERT_TRUE(sink.ok()) << sink.createError();
  ol_batch b;
  addEvent(&b, "k1", 1);
  addEvent(&b, "k2", 2, OL_DROP);
  addEvent(&b, "k3", 3, OL_DEAD_LETTER);
  addEvent(&b, "k4", 4);
  ASSERT_EQ(sink.write(&b), OL_OK) << sink.lastError();
  ASSERT_EQ(sink.flush(), OL_OK) << sink.lastError();
  EXPECT_EQ(readFile(path),
            "{\"key\":\"k1\",\"type\":\"t\",\"attributes\":{\"n\":1}}\n"
            "{\"key\":\"k4\",\"type\":\"t\",\"attributes\":{\"n\":4}}\n");
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
}

TEST(JsonlSink, AppendsByDefaultAndTruncatesWhenAskedWithFsync) {
  const std::string path = scratchDir("sink_append") + "/out.jsonl";
  writeFile(path, "old\n");
  {
    Instance sink(OL_SINK, "file.jsonl", "{\"path\":" + jsonQuote(path) + "}");
    ol_batch b;
    addEvent(&b, "a", 1);
    ASSERT_EQ(sink.write(&b), OL_OK);
    ASSERT_EQ(sink.flush(), OL_OK);
  }
  EXPECT_EQ(readFile(path), "old\n{\"key\":\"a\",\"type\":\"t\",\"attributes\":{\"n\":1}}\n");
  Instance sink(OL_SINK, "file.jsonl",
                "{\"path\":" + jsonQuote(path) + ",\"append\":false,\"fsync\":true}");
  ASSERT_TRUE(sink.ok()) << sink.createError();
  ol_batch b;
  addEvent(&b, "b", 2);
  ASSERT_EQ(sink.write(&b), OL_OK);
  ASSERT_EQ(sink.flush(), OL_OK) << sink.lastError();
  EXPECT_EQ(readFile(path), "{\"key\":\"b\",\"type\":\"t\",\"attributes\":{\"n\":2}}\n");
}

TEST(JsonlSink, NothingReachesTheFileBeforeFlushForSmallBatches) {
  const std::string path = scratchDir("sink_buffered") + "/out.jsonl";
  Instance sink(OL_SINK, "file.jsonl", "{\"path\":" + jsonQuote(path) + "}");
  ol_batch b;
  addEvent(&b, "a", 1);
  ASSERT_EQ(sink.write(&b), OL_OK);
  EXPECT_EQ(readFile(path), "");
  ASSERT_EQ(sink.flush(), OL_OK);
  EXPECT_NE(readFile(path), "");
}

TEST(JsonlSink, UnwritablePathFailsCreate) {
  const std::string dir = scratchDir("sink_unwritable");
  writeFile(dir + "/file", "x");
  Instance sink(OL_SINK, "file.jsonl", "{\"path\":" + jsonQuote(dir + "/file/out.jsonl") + "}");
  EXPECT_FALSE(sink.ok());
  EXPECT_NE(sink.createError().find(dir + "/file"), std::string::npos) << sink.createError();
}

TEST(JsonlSink, SourceToSinkRoundTrip) {
  const std::string dir = scratchDir("sink_roundtrip");
  writeFile(dir + "/in.csv", "id,name\n1,Ann\n2,Bob\n");
  Instance src(OL_SOURCE, "file.csv", "{\"path\":" + jsonQuote(dir + "/in.csv") + ",\"key_field\":\"id\"}");
  Instance sink(OL_SINK, "file.jsonl", "{\"path\":" + jsonQuote(dir + "/out.jsonl") + "}");
  ol_batch b;
  ASSERT_EQ(src.read(&b, 100), OL_END);
  ASSERT_EQ(sink.write(&b), OL_OK);
  ASSERT_EQ(sink.flush(), OL_OK);
  EXPECT_EQ(readFile(dir + "/out.jsonl"),
            "{\"key\":\"1\",\"type\":\"\",\"attributes\":{\"id\":\"1\",\"name\":\"Ann\"}}\n"
            "{\"key\":\"2\",\"type\":\"\",\"attributes\":{\"id\":\"2\",\"name\":\"Bob\"}}\n");
}

}  // namespace
}  // namespace filestest
