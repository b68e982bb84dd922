// file.jsonl as built, through the C ABI.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "files_test_host.h"

namespace filestest {
namespace {

std::string jsonlConfig(const std::string& path, const std::string& extra = "") {
  return "{\"path\":" + jsonQuote(path) + (extra.empty() ? "" : "," + extra) + "}";
}

TEST(JsonlSource, FlattensNestedObjectsKeepsArraysAndTypes) {
  const std::string path = scratchDir("jsonl_flatten") + "/in.jsonl";
  writeFile(path,
            R"({"id":"o-1","customer":{"email":"a@example.com","vip":true},"total":12.5,"n":3,"items":[{"sku":"A"},{"sku":"B"}],"gone":null})"
            "\n");
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path, R"("type":"order.created")"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 1u);
  const ol_event& e = d.events[0];
  EXPECT_EQ(e.disposition, OL_KEEP);
  EXPECT_EQ(offsetOf(e.key), "0");  // fingerprint:byte offset
  EXPECT_EQ(e.type, "order.created");
  EXPECT_EQ(e.str("customer.email"), "a@example.com");
  ASSERT_NE(e.find("customer.vip"), nullptr);
  EXPECT_EQ(e.find("customer.vip")->type, OL_BOOL);
  EXPECT_EQ(e.find("total")->type, OL_DOUBLE);
  EXPECT_EQ(e.find("total")->d, 12.5);
  EXPECT_EQ(e.find("n")->type, OL_INT);
  EXPECT_EQ(e.find("n")->i, 3);
  EXPECT_EQ(e.find("items")->type, OL_JSON);
  EXPECT_EQ(e.str("items"), R"([{"sku":"A"},{"sku":"B"}])");
  EXPECT_EQ(e.find("gone")->type, OL_NULL);
}

TEST(JsonlSource, InvalidLinesAreDeadLetteredWithTheirLineNumber) {
  const std::string path = scratchDir("jsonl_invalid") + "/in.jsonl";
  writeFile(path, "{\"a\":1}\r\n{\"a\":\n\n{\"name\":\"caf\xE9\"}\n[1]\n{\"a\":2}");
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 5u);
  EXPECT_EQ(d.events[0].disposition, OL_KEEP);
  EXPECT_EQ(d.events[1].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(d.events[1].raw, "{\"a\":");
  EXPECT_EQ(d.events[1].reason.rfind("file.jsonl: invalid JSON at line 2 of '" + path + "': ", 0),
            0u)
      << d.events[1].reason;
  EXPECT_TRUE(d.events[1].fields.empty());  // the fields parsed before the error are gone
  EXPECT_EQ(offsetOf(d.events[1].key), "9");
  EXPECT_EQ(d.events[2].disposition, OL_DEAD_LETTER);  // line 3 is blank and skipped
  EXPECT_NE(d.events[2].reason.find("at line 4"), std::string::npos) << d.events[2].reason;
  EXPECT_NE(d.events[2].reason.find("UTF-8"), std::string::npos) << d.events[2].reason;
  EXPECT_EQ(d.events[3].disposition, OL_DEAD_LETTER);
  EXPECT_NE(d.events[3].reason.find("not a JSON object"), std::string::npos);
  EXPECT_EQ(d.events[4].disposition, OL_KEEP);  // last line without a newline
  EXPECT_EQ(d.events[4].find("a")->i, 2);
  EXPECT_EQ(src.log().counters["dead_letters"], 3);
}

TEST(JsonlSource, KeyFieldAndTimeField) {
  const std::string path = scratchDir("jsonl_keytime") + "/in.jsonl";
  writeFile(path,
            R"({"order":{"id":"A-1"},"at":"2024-05-01T10:00:00Z"})" "\n"
            R"({"order":{"id":42},"at":"not a time"})" "\n"
            R"({"other":1})" "\n");
  Instance src(OL_SOURCE, "file.jsonl",
               jsonlConfig(path, R"("key_field":"order.id","time_field":"at")"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.events[0].key, "A-1");
  ASSERT_TRUE(d.events[0].time.has_value());
  EXPECT_EQ(*d.events[0].time, 1714557600LL * 1000000);
  EXPECT_EQ(d.events[1].key, "42");
  EXPECT_FALSE(d.events[1].time.has_value());
  EXPECT_EQ(d.events[2].disposition, OL_KEEP);
  // No order.id: the file's fingerprint and the byte offset, marked as such.
  EXPECT_EQ(offsetOf(d.events[2].key, "offset:"), "89") << d.events[2].key;
  EXPECT_EQ(src.log().counters["unparsed_times"], 1);
  EXPECT_EQ(src.log().counters["missing_keys"], 1);
}

TEST(JsonlSource, UnixMillisecondTimes) {
  const std::string path = scratchDir("jsonl_unixms") + "/in.jsonl";
  writeFile(path, "{\"ts\":1714521600123}\n");
  Instance src(OL_SOURCE, "file.jsonl",
               jsonlConfig(path, R"("time_field":"ts","time_format":"unix_ms")"));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].time.value_or(0), 1714521600123000LL);
}

// Many ~300-byte lines: lines cross the 1 MiB block boundaries.
std::string bigFile(const std::string& path, int lines) {
  std::string content;
  const std::string pad(220, 'x');
  for (int i = 0; i < lines; ++i) {
    content += R"({"seq":)" + std::to_string(i) + R"(,"customer":{"email":"u)" + std::to_string(i) +
               R"(@example.com","tier":"gold"},"pad":")" + pad + "\"}\n";
  }
  writeFile(path, content);
  return content;
}

TEST(JsonlSource, LinesAcrossBlockBoundariesAreReadExactlyOnce) {
  const std::string path = scratchDir("jsonl_blocks") + "/in.jsonl";
  const int n = 12000;  // ~3.5 MiB
  bigFile(path, n);
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
  const auto d = src.drain(1000);
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const ol_event& e = d.events[static_cast<size_t>(i)];
    ASSERT_EQ(e.disposition, OL_KEEP) << e.reason;
    ASSERT_EQ(e.find("seq")->i, i);
  }
  EXPECT_EQ(d.cursor.rfind("offset=" + std::to_string(std::filesystem::file_size(path)) + ";", 0),
            0u)
      << d.cursor;
}

TEST(JsonlSource, ResumeFromCursorGivesTheRestExactlyOnce) {
  const std::string path = scratchDir("jsonl_resume") + "/in.jsonl";
  const int n = 9000;
  bigFile(path, n);
  std::set<int64_t> seen;
  std::string cursor;
  {
    Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
    for (int b = 0; b < 5; ++b) {  // 5 committed batches of 777, then a crash
      ol_batch batch;
      ASSERT_EQ(src.read(&batch, 777), OL_OK);
      for (const auto& e : batch.events) EXPECT_TRUE(seen.insert(e.find("seq")->i).second);
      cursor = batch.cursor;
    }
    ol_batch uncommitted;
    ASSERT_EQ(src.read(&uncommitted, 777), OL_OK);  // read but never committed
  }
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
  ASSERT_EQ(src.resume(cursor), OL_OK) << src.lastError();
  const auto d = src.drain(500);
  EXPECT_EQ(d.last_status, OL_END);
  for (const auto& e : d.events) EXPECT_TRUE(seen.insert(e.find("seq")->i).second) << e.key;
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));
}

TEST(JsonlSource, LineNumbersAfterResumeCountFromTheStartOfTheFile) {
  const std::string path = scratchDir("jsonl_resume_lines") + "/in.jsonl";
  writeFile(path, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\nnope\n");
  std::string cursor;
  {
    Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
    ol_batch b;
    ASSERT_EQ(src.read(&b, 2), OL_OK);
    cursor = b.cursor;
  }
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
  ASSERT_EQ(src.resume(cursor), OL_OK);
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_NE(d.events[1].reason.find("at line 4 of "), std::string::npos) << d.events[1].reason;
}

TEST(JsonlSource, ResumeOnARotatedOrTruncatedFileStartsOverWithAWarning) {
  const std::string dir = scratchDir("jsonl_rotated");
  const std::string path = dir + "/in.jsonl";
  writeFile(path, "{\"a\":1}\n{\"a\":2}\n");
  std::string cursor;
  {
    Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
    cursor = src.drain().cursor;
  }
  // Rotation: the path now names another file (new inode).
  std::filesystem::rename(path, dir + "/in.jsonl.1");
  writeFile(path, "{\"a\":10}\n{\"a\":11}\n{\"a\":12}\n");
  {
    Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
    ASSERT_EQ(src.resume(cursor), OL_OK);
    // The old file is found beside it (in.jsonl.1): its rest (nothing) is read first.
    EXPECT_TRUE(src.log().contains(OL_LOG_INFO, "rotated")) << src.log().lines.size();
    const auto d = src.drain();
    ASSERT_EQ(d.events.size(), 3u);
    EXPECT_EQ(d.events[0].find("a")->i, 10);
    cursor = d.cursor;
  }
  // Truncation: same inode, shorter than the cursor's offset.
  writeFile(path, "{\"a\":20}\n");
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
  ASSERT_EQ(src.resume(cursor), OL_OK);
  EXPECT_TRUE(src.log().contains(OL_LOG_WARN, "truncated"));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].find("a")->i, 20);
}

TEST(JsonlSource, ForeignCursorIsRejected) {
  const std::string path = scratchDir("jsonl_foreign") + "/in.jsonl";
  writeFile(path, "{}\n");
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
  EXPECT_EQ(src.resume("12345"), OL_ERROR);
  EXPECT_NE(src.lastError().find("checkpoint"), std::string::npos);
}

TEST(JsonlSource, FollowWaitsForCompleteLinesAndFollowsRotation) {
  const std::string dir = scratchDir("jsonl_follow");
  const std::string path = dir + "/live.jsonl";
  writeFile(path, "{\"a\":1}\n{\"a\":");
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path, R"("follow":true)"));
  ASSERT_TRUE(src.ok()) << src.createError();
  {
    ol_batch b;
    EXPECT_EQ(src.read(&b, 100), OL_OK);
    ASSERT_EQ(b.events.size(), 1u);  // the half-written second line is not read yet
  }
  {
    ol_batch b;
    EXPECT_EQ(src.read(&b, 100), OL_IDLE);
    EXPECT_TRUE(b.events.empty());
  }
  appendFile(path, "2}\n");
  {
    ol_batch b;
    EXPECT_EQ(src.read(&b, 100), OL_OK);
    ASSERT_EQ(b.events.size(), 1u);
    EXPECT_EQ(b.events[0].find("a")->i, 2);
  }
  // logrotate: the old file is renamed (its last line unterminated), a new one created.
  appendFile(path, "{\"a\":3}");
  std::filesystem::rename(path, dir + "/live.jsonl.1");
  writeFile(path, "{\"a\":4}\n");
  std::vector<int64_t> got;
  for (int i = 0; i < 4; ++i) {
    ol_batch b;
    const int rc = src.read(&b, 100);
    EXPECT_NE(rc, OL_END);
    for (const auto& e : b.events) got.push_back(e.find("a")->i);
  }
  EXPECT_EQ(got, (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(src.log().contains(OL_LOG_WARN, "rotated"));
  // copytruncate: the file is emptied in place and written again.
  writeFile(path, "");
  {
    ol_batch b;
    EXPECT_EQ(src.read(&b, 100), OL_IDLE);
  }
  writeFile(path, "{\"a\":5}\n");
  got.clear();
  for (int i = 0; i < 2; ++i) {
    ol_batch b;
    src.read(&b, 100);
    for (const auto& e : b.events) got.push_back(e.find("a")->i);
  }
  EXPECT_EQ(got, (std::vector<int64_t>{5}));
}

TEST(JsonlSource, MissingFileFailsCreateNamingThePath) {
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig("/nonexistent/dir/in.jsonl"));
  EXPECT_FALSE(src.ok());
  EXPECT_NE(src.createError().find("/nonexistent/dir/in.jsonl"), std::string::npos)
      << src.createError();
}

TEST(JsonlSource, OverlongLineIsDeadLetteredAndSkipped) {
  const std::string path = scratchDir("jsonl_overlong") + "/in.jsonl";
  writeFile(path, "{\"a\":1}\n{\"big\":\"" + std::string(3u << 20, 'y') + "\"}\n{\"a\":3}\n");
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path, R"("max_record_bytes":1048576)"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.events[1].disposition, OL_DEAD_LETTER);
  EXPECT_EQ(d.events[1].raw.size(), 4096u);
  EXPECT_NE(d.events[1].reason.find("line 2"), std::string::npos);
  EXPECT_EQ(d.events[2].find("a")->i, 3);
}

TEST(JsonlSource, OverlongLineAtASmallLimitIsOneDeadLetterAndTheNextLineIsRead) {
  const std::string path = scratchDir("jsonl_overlong_small") + "/in.jsonl";
  const std::string long_line = "{\"big\":\"" + std::string(300, 'y') + "\"}";
  writeFile(path, "{\"a\":1}\n" + long_line + "\n{\"a\":3}\n");
  for (size_t batch : {1u, 2u, 1024u}) {
    Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path, R"("max_record_bytes":64)"));
    ASSERT_TRUE(src.ok()) << src.createError();
    const auto d = src.drain(batch);
    EXPECT_EQ(d.last_status, OL_END);
    ASSERT_EQ(d.events.size(), 3u) << "batch " << batch;
    EXPECT_EQ(d.events[0].find("a")->i, 1);
    EXPECT_EQ(d.events[1].disposition, OL_DEAD_LETTER);
    EXPECT_EQ(d.events[1].raw, long_line);
    EXPECT_EQ(d.events[1].reason, "file.jsonl: line 2 of '" + path +
                                      "' is longer than max_record_bytes (64 bytes); skipped");
    EXPECT_EQ(offsetOf(d.events[1].key), "8");
    EXPECT_EQ(d.events[2].disposition, OL_KEEP);
    EXPECT_EQ(d.events[2].find("a")->i, 3);
    EXPECT_EQ(src.log().counters["dead_letters"], 1);
  }
}

TEST(JsonlSource, LastLineOverTheLimitWithoutNewlineIsOneDeadLetter) {
  const std::string path = scratchDir("jsonl_overlong_last") + "/in.jsonl";
  writeFile(path, "{\"a\":1}\n{\"big\":\"" + std::string(100, 'y') + "\"}");
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path, R"("max_record_bytes":64)"));
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_END);
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[1].disposition, OL_DEAD_LETTER);
}

// The README says: integers become ints, other numbers doubles (an integer beyond 64 bits too).
TEST(JsonlSource, IntegersBeyond64BitsBecomeDoublesNotDeadLetters) {
  const std::string path = scratchDir("jsonl_bigint") + "/in.jsonl";
  writeFile(path,
            "{\"id\":1,\"big\":123456789012345678901234567890,\"neg\":-99999999999999999999,"
            "\"u\":18446744073709551615,\"s\":\"12345678901234567890123\",\"o\":{\"x\":"
            "340282366920938463463374607431768211456}}\n"
            "{\"id\":2,\"n\":7}\n");
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  const ol_event& e = d.events[0];
  ASSERT_EQ(e.disposition, OL_KEEP) << e.reason;
  EXPECT_EQ(e.find("id")->i, 1);
  ASSERT_EQ(e.find("big")->type, OL_DOUBLE);
  EXPECT_DOUBLE_EQ(e.find("big")->d, 1.2345678901234568e29);
  ASSERT_EQ(e.find("neg")->type, OL_DOUBLE);
  EXPECT_DOUBLE_EQ(e.find("neg")->d, -1e20);
  ASSERT_EQ(e.find("u")->type, OL_DOUBLE);
  EXPECT_EQ(e.find("s")->s, "12345678901234567890123");  // strings stay strings
  ASSERT_EQ(e.find("o.x")->type, OL_DOUBLE);
  EXPECT_DOUBLE_EQ(e.find("o.x")->d, 3.402823669209385e38);
  EXPECT_EQ(d.events[1].find("n")->i, 7);
}

// Not a pass/fail test: prints the source's own throughput (stub host) for ~300-byte lines.
TEST(JsonlSource, DISABLED_Throughput) {
  const std::string path = scratchDir("jsonl_throughput") + "/in.jsonl";
  const int n = 1000000;
  bigFile(path, n);
  Instance src(OL_SOURCE, "file.jsonl", jsonlConfig(path));
  const auto start = std::chrono::steady_clock::now();
  size_t count = 0;
  for (;;) {
    ol_batch b;
    const int rc = src.read(&b, 1024);
    count += b.events.size();
    if (rc != OL_OK) break;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("file.jsonl: %zu events in %.2f s = %.0f events/s\n", count, s, count / s);
  EXPECT_EQ(count, static_cast<size_t>(n));
}

}  // namespace
}  // namespace filestest
