// Record identity across log rotation (logrotate `create` and `copytruncate`), in batch and
// follow mode, across a restart (a new instance resumed from the last cursor), and key_field
// lists. Ids are what the host derives from the keys, so two records must never share a key
// and a rerun must reproduce every key.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "files_test_host.h"

namespace filestest {
namespace {

namespace fs = std::filesystem;

// An Asterisk cdr_csv row (no header); `n` makes the call unique.
std::string call(int n, const std::string& dstchannel = "SIP/200-0001") {
  const std::string id = "16000000" + std::to_string(n) + "." + std::to_string(n);
  return "\"\",\"100" + std::to_string(n) + "\",\"200\",\"default\",\"\"\"Caller\"\" <100" +
         std::to_string(n) + ">\",\"SIP/100-000" + std::to_string(n) + "\",\"" + dstchannel +
         "\",\"Dial\",\"SIP/200\",\"2024-05-01 10:00:0" + std::to_string(n % 10) +
         "\",\"\",\"2024-05-01 10:01:00\",60,50,\"ANSWERED\",\"DOCUMENTATION\",\"" + id +
         "\",\"\"\n";
}

std::string calls(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += call(i);
  return out;
}

std::string asteriskConfig(const std::string& path, const std::string& extra = "") {
  return "{\"path\":" + jsonQuote(path) +
         R"(,"header":false,"columns":["accountcode","src","dst","dcontext","clid","channel",)"
         R"("dstchannel","lastapp","lastdata","start","answer","end","duration","billsec",)"
         R"("disposition","amaflags","uniqueid","userfield"])" +
         (extra.empty() ? "" : "," + extra) + "}";
}

// Runs one "process": a new instance resumed from `cursor`, read until END/IDLE; appends the
// keys and src values it read and returns the new cursor.
std::string runOnce(const std::string& config, const std::string& cursor,
                    std::vector<std::string>* keys, std::vector<std::string>* srcs,
                    HostLog* log = nullptr) {
  Instance src(OL_SOURCE, "file.csv", config);
  EXPECT_TRUE(src.ok()) << src.createError();
  if (!src.ok()) return cursor;
  EXPECT_EQ(src.resume(cursor), OL_OK) << src.lastError();
  const auto d = src.drain(2);  // small batches: cursors in the middle of files too
  for (const auto& e : d.events) {
    EXPECT_EQ(e.disposition, OL_KEEP) << e.reason;
    keys->push_back(e.key);
    srcs->push_back(e.str("src"));
  }
  if (log) *log = src.log();
  return d.cursor.empty() ? cursor : d.cursor;
}

size_t distinct(const std::vector<std::string>& v) {
  return std::set<std::string>(v.begin(), v.end()).size();
}

TEST(Rotation, CreateBetweenTwoBatchRunsKeepsEveryCallApart) {
  const std::string dir = scratchDir("rot_create_batch");
  const std::string path = dir + "/Master.csv";
  writeFile(path, calls(1, 4));
  std::vector<std::string> keys, srcs;
  std::string cursor = runOnce(asteriskConfig(path), "", &keys, &srcs);
  ASSERT_EQ(keys.size(), 3u);
  // One more call lands before the rotation: the old file's unread rest.
  appendFile(path, call(4));
  fs::rename(path, path + ".1");
  writeFile(path, calls(5, 8));
  HostLog log;
  cursor = runOnce(asteriskConfig(path), cursor, &keys, &srcs, &log);
  EXPECT_TRUE(log.contains(OL_LOG_INFO, "Master.csv.1")) << "the old file is drained first";
  EXPECT_EQ(srcs,
            (std::vector<std::string>{"1001", "1002", "1003", "1004", "1005", "1006", "1007"}));
  EXPECT_EQ(distinct(keys), 7u);
  // Nothing new: a third run reads nothing.
  std::vector<std::string> more, more_srcs;
  runOnce(asteriskConfig(path), cursor, &more, &more_srcs);
  EXPECT_TRUE(more.empty());
}

TEST(Rotation, CopytruncateBetweenTwoBatchRunsKeepsEveryCallApart) {
  const std::string dir = scratchDir("rot_copytruncate_batch");
  const std::string path = dir + "/Master.csv";
  writeFile(path, calls(1, 4));
  std::vector<std::string> keys, srcs;
  std::string cursor = runOnce(asteriskConfig(path), "", &keys, &srcs);
  appendFile(path, call(4));
  fs::copy_file(path, path + ".1");
  writeFile(path, calls(5, 8));  // truncated in place (same inode) and written again
  cursor = runOnce(asteriskConfig(path), cursor, &keys, &srcs);
  EXPECT_EQ(srcs,
            (std::vector<std::string>{"1001", "1002", "1003", "1004", "1005", "1006", "1007"}));
  EXPECT_EQ(distinct(keys), 7u);
}

TEST(Rotation, NewFileLongerThanTheOldOffsetIsStillReadFromTheStart) {
  // Without fingerprints, a new file already longer than the checkpoint's offset looked like
  // the old one and its first records were skipped.
  const std::string dir = scratchDir("rot_longer");
  const std::string path = dir + "/Master.csv";
  writeFile(path, calls(1, 3));
  std::vector<std::string> keys, srcs;
  std::string cursor = runOnce(asteriskConfig(path), "", &keys, &srcs);
  writeFile(path, calls(3, 9));  // copytruncate, no copy kept, more written than before
  runOnce(asteriskConfig(path), cursor, &keys, &srcs);
  EXPECT_EQ(srcs.size(), 8u);
  EXPECT_EQ(distinct(keys), 8u);
}

TEST(Rotation, RerunOfAnUnchangedFileReproducesEveryKey) {
  const std::string path = scratchDir("rot_rerun") + "/Master.csv";
  writeFile(path, calls(1, 6));
  std::vector<std::string> a, b, srcs;
  runOnce(asteriskConfig(path), "", &a, &srcs);
  runOnce(asteriskConfig(path), "", &b, &srcs);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(offsetOf(a[0]), "0");
  // A renamed file is the same file: same keys.
  fs::rename(path, path + ".renamed");
  std::vector<std::string> c;
  runOnce(asteriskConfig(path + ".renamed"), "", &c, &srcs);
  EXPECT_EQ(a, c);
}

TEST(Rotation, RestartWhileDrainingTheOldFileFinishesItThenTheNewOne) {
  const std::string dir = scratchDir("rot_restart_drain");
  const std::string path = dir + "/Master.csv";
  writeFile(path, calls(1, 3));
  std::vector<std::string> keys, srcs;
  std::string cursor = runOnce(asteriskConfig(path), "", &keys, &srcs);
  appendFile(path, calls(3, 8));
  fs::rename(path, path + ".1");
  writeFile(path, calls(8, 10));
  {
    // One batch of 2 of the old file's 5 unread calls, then the process stops.
    Instance src(OL_SOURCE, "file.csv", asteriskConfig(path));
    ASSERT_EQ(src.resume(cursor), OL_OK);
    ol_batch b;
    ASSERT_EQ(src.read(&b, 2), OL_OK);
    ASSERT_EQ(b.events.size(), 2u);
    for (const auto& e : b.events) keys.push_back(e.key), srcs.push_back(e.str("src"));
    cursor = b.cursor;
  }
  runOnce(asteriskConfig(path), cursor, &keys, &srcs);
  std::vector<std::string> want;
  for (int i = 1; i < 10; ++i) want.push_back("100" + std::to_string(i));
  EXPECT_EQ(srcs, want);
  EXPECT_EQ(distinct(keys), 9u);
}

TEST(Rotation, TwoRotationsWhileStoppedReadEveryGeneration) {
  const std::string dir = scratchDir("rot_twice");
  const std::string path = dir + "/Master.csv";
  writeFile(path, calls(1, 4));
  std::vector<std::string> keys, srcs;
  std::string cursor = runOnce(asteriskConfig(path), "", &keys, &srcs);
  const auto t0 = fs::file_time_type::clock::now() - std::chrono::hours(3);
  appendFile(path, call(4));
  fs::last_write_time(path, t0);
  fs::rename(path, path + ".1");
  writeFile(path, calls(5, 7));
  fs::last_write_time(path, t0 + std::chrono::hours(1));
  // The next day's rotation, still before the next run.
  fs::rename(path + ".1", path + ".2");
  fs::rename(path, path + ".1");
  writeFile(path, calls(7, 9));
  writeFile(path + ".bak", calls(20, 22));  // not a generation: never read
  runOnce(asteriskConfig(path), cursor, &keys, &srcs);
  std::vector<std::string> want;
  for (int i = 1; i < 9; ++i) want.push_back("100" + std::to_string(i));
  EXPECT_EQ(srcs, want);
  EXPECT_EQ(distinct(keys), want.size());
}

TEST(Rotation, FollowModeCreateAndCopytruncateWithAnUnreadRest) {
  const std::string dir = scratchDir("rot_follow");
  const std::string path = dir + "/Master.csv";
  writeFile(path, calls(1, 4));
  Instance src(OL_SOURCE, "file.csv", asteriskConfig(path, R"("follow":true)"));
  ASSERT_TRUE(src.ok()) << src.createError();
  std::vector<std::string> keys, srcs;
  auto pump = [&] {
    for (int i = 0; i < 6; ++i) {
      ol_batch b;
      const int rc = src.read(&b, 100);
      EXPECT_NE(rc, OL_END);
      for (const auto& e : b.events) keys.push_back(e.key), srcs.push_back(e.str("src"));
    }
  };
  pump();
  ASSERT_EQ(srcs.size(), 3u);
  // create: renamed away with one unread call, a new file with three.
  appendFile(path, call(4));
  fs::rename(path, path + ".1");
  writeFile(path, calls(5, 8));
  pump();
  ASSERT_EQ(srcs.size(), 7u);
  // copytruncate: copied (with one call not read yet), emptied in place, written again before
  // the source looks (longer than the old size, so only the fingerprint tells).
  appendFile(path, call(8));
  fs::remove(path + ".1");
  fs::copy_file(path, path + ".1");
  std::string fresh;
  for (int i = 9; i < 20; ++i) fresh += call(i);
  writeFile(path, fresh);
  pump();
  std::vector<std::string> want;
  for (int i = 1; i < 20; ++i) want.push_back("100" + std::to_string(i));
  EXPECT_EQ(srcs, want);
  EXPECT_EQ(distinct(keys), want.size());
}

TEST(Rotation, CsvWithAHeaderIsIdentifiedByItsFirstRowToo) {
  const std::string dir = scratchDir("rot_header");
  const std::string path = dir + "/export.csv";
  writeFile(path, "id,name\n1,a\n2,b\n");
  Instance first(OL_SOURCE, "file.csv", "{\"path\":" + jsonQuote(path) + "}");
  const auto a = first.drain();
  writeFile(path, "id,name\n3,c\n4,d\n");
  Instance second(OL_SOURCE, "file.csv", "{\"path\":" + jsonQuote(path) + "}");
  const auto b = second.drain();
  ASSERT_EQ(a.events.size(), 2u);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(offsetOf(a.events[0].key), offsetOf(b.events[0].key));
  EXPECT_NE(a.events[0].key, b.events[0].key);
}

TEST(KeyField, SeveralFieldsMakeOneKey) {
  const std::string path = scratchDir("key_list") + "/Master.csv";
  // Two legs of one call share the uniqueid; the channels tell them apart. A record with every
  // key field empty falls back to its offset.
  std::string text = call(1, "SIP/200-0001") + call(1, "SIP/300-0002");
  text +=
      "\"\",\"x\",\"y\",\"d\",\"\",\"\",\"\",\"Dial\",\"\",\"\",\"\",\"\",0,0,\"NO ANSWER\","
      "\"DOCUMENTATION\",\"\",\"\"\n";
  writeFile(path, text);
  Instance src(OL_SOURCE, "file.csv",
               asteriskConfig(path, R"("key_field":["uniqueid","channel","dstchannel"])"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.events[0].key, "160000001.1\x1fSIP/100-0001\x1fSIP/200-0001");
  EXPECT_EQ(d.events[1].key, "160000001.1\x1fSIP/100-0001\x1fSIP/300-0002");
  EXPECT_EQ(d.events[2].key.rfind("offset:", 0), 0u) << d.events[2].key;
  EXPECT_EQ(src.log().counters["missing_keys"], 1);

  // One name still works, and a list naming an unknown column is refused.
  Instance one(OL_SOURCE, "file.csv", asteriskConfig(path, R"("key_field":"uniqueid")"));
  EXPECT_EQ(one.drain().events[1].key, "160000001.1");
  Instance bad(OL_SOURCE, "file.csv", asteriskConfig(path, R"("key_field":["uniqueid","nope"])"));
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.createError().find("key_field 'nope'"), std::string::npos) << bad.createError();
}

TEST(KeyField, SeveralJsonFieldsMakeOneKey) {
  const std::string path = scratchDir("key_list_jsonl") + "/in.jsonl";
  writeFile(path,
            "{\"order\":{\"id\":7},\"line\":1}\n{\"order\":{\"id\":7},\"line\":2}\n{\"x\":1}\n");
  Instance src(OL_SOURCE, "file.jsonl",
               "{\"path\":" + jsonQuote(path) + R"(,"key_field":["order.id","line"]})");
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.events[0].key,
            "7\x1f"
            "1");
  EXPECT_EQ(d.events[1].key,
            "7\x1f"
            "2");
  EXPECT_EQ(d.events[2].key.rfind("offset:", 0), 0u) << d.events[2].key;
}

}  // namespace
}  // namespace filestest
