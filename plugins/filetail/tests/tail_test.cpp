// filetail: cursors, framing, following and the text helpers, on real files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tail.h"
#include "text.h"

namespace omniloop::filetail {
namespace {

std::string scratch(const std::string& name) {
  const std::string dir = std::string(OMNILOOP_BINARY_DIR) + "/test-scratch/filetail/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/f.log";
}

void write(const std::string& path, const std::string& s, bool append = false) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << s;
}

TEST(TailCursor, RoundTripsAndRejectsForeignText) {
  Cursor c{0xabcdef0123456789ULL, 77, 1234, 42, "/var/log/a;b=c.csv"};
  const auto back = parseCursor(formatCursor(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->fingerprint, c.fingerprint);
  EXPECT_EQ(back->fp_len, 77u);
  EXPECT_EQ(back->offset, 1234u);
  EXPECT_EQ(back->line, 42u);
  EXPECT_EQ(back->path, c.path);
  EXPECT_FALSE(parseCursor("offset=1;inode=2;path=x"));
  EXPECT_FALSE(parseCursor("tail1;fp=zz;fplen=1;offset=1;line=1;path=x"));
}

TEST(Tail, BatchModeYieldsRecordsThenTheUnterminatedRestOnce) {
  const std::string path = scratch("batch");
  write(path, "a\r\nbb\n\nccc");
  Tail t(path, false, frameLine);
  t.open();
  Tail::Record r;
  ASSERT_EQ(t.next(&r), Tail::Next::kRecord);
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.line, 1u);
  ASSERT_EQ(t.next(&r), Tail::Next::kRecord);
  EXPECT_EQ(r.text, "bb");
  EXPECT_EQ(r.offset, 3u);
  ASSERT_EQ(t.next(&r), Tail::Next::kRecord);
  EXPECT_EQ(r.text, "");
  ASSERT_EQ(t.next(&r), Tail::Next::kPartialAtEnd);
  EXPECT_EQ(r.text, "ccc");
  EXPECT_EQ(r.line, 4u);
  EXPECT_EQ(t.next(&r), Tail::Next::kEnd);
}

TEST(Tail, UnreadGivesTheRecordBackAndTheCursorFollows) {
  const std::string path = scratch("unread");
  write(path, "one\ntwo\n");
  Tail t(path, false, frameLine);
  t.open();
  Tail::Record r;
  ASSERT_EQ(t.next(&r), Tail::Next::kRecord);
  const std::string after_one = t.cursor();
  ASSERT_EQ(t.next(&r), Tail::Next::kRecord);
  t.unread();
  EXPECT_EQ(t.cursor(), after_one);
  ASSERT_EQ(t.next(&r), Tail::Next::kRecord);
  EXPECT_EQ(r.text, "two");
  EXPECT_EQ(r.line, 2u);
}

TEST(Tail, ResumeOnAnotherFileStartsOver) {
  const std::string path = scratch("resume_other");
  write(path, "first file\nsecond line\n");
  Tail t(path, true, frameLine);
  t.open();
  Tail::Record r;
  t.next(&r);
  const std::string c = t.cursor();
  write(path, "another file altogether\n");
  Tail u(path, true, frameLine);
  u.open();
  EXPECT_NE(u.resume(c).find("reading it from the start"), std::string::npos);
  ASSERT_EQ(u.next(&r), Tail::Next::kRecord);
  EXPECT_EQ(r.text, "another file altogether");
  EXPECT_EQ(u.next(&r), Tail::Next::kIdle);
}

TEST(TextHelpers, Utf8Latin1AndTimes) {
  EXPECT_TRUE(isValidUtf8("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\x9e"));
  EXPECT_FALSE(isValidUtf8("J\xfcrgen"));
  EXPECT_FALSE(isValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_EQ(latin1ToUtf8("J\xfcrgen"), "J\xc3\xbcrgen");
  EXPECT_EQ(parseUtcOffset("+01:00"), 3600);
  EXPECT_EQ(parseUtcOffset("-0530"), -19800);
  EXPECT_EQ(parseUtcOffset("UTC"), 0);
  EXPECT_FALSE(parseUtcOffset("Europe/Berlin"));
  EXPECT_EQ(parseLocalTimestamp("2017-06-27 09:27:15", 0), 1498555635LL * 1000000);
  EXPECT_EQ(parseLocalTimestamp("2024-03-01 10:00:00", 3600), 1709283600LL * 1000000);
  EXPECT_FALSE(parseLocalTimestamp("2024-13-01 10:00:00", 0));
  EXPECT_EQ(parseIsoTimestamp("2024-03-01T09:00:00.250Z"), 1709283600250000LL);
  EXPECT_EQ(parseIsoTimestamp("2024-03-01T10:00:00+01:00"), 1709283600LL * 1000000);
  EXPECT_EQ(formatIsoUtc(1709283600LL * 1000000), "2024-03-01T09:00:00Z");
  EXPECT_EQ(hashHex("a"), hashHex("a"));
  EXPECT_NE(hashHex("a"), hashHex("b"));
  EXPECT_EQ(hashHex("").size(), 16u);
}

}  // namespace
}  // namespace omniloop::filetail
