#include "cursor.h"

#include <gtest/gtest.h>

namespace omniloop::files {
namespace {

TEST(Cursor, RoundTripsIncludingAPathWithSeparators) {
  const std::string text = formatCursor(1234, 98765, 0xabcdef0123456789ull, "/data/in;x=1/a.csv");
  EXPECT_EQ(text, "offset=1234;inode=98765;fp=abcdef0123456789;path=/data/in;x=1/a.csv");
  const auto c = parseCursor(text);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->offset, 1234u);
  EXPECT_EQ(c->inode, 98765u);
  EXPECT_EQ(c->fingerprint, 0xabcdef0123456789ull);
  EXPECT_TRUE(c->has_fingerprint);
  EXPECT_EQ(c->path, "/data/in;x=1/a.csv");
}

TEST(Cursor, ReadsACursorWrittenBeforeFingerprints) {
  const auto c = parseCursor("offset=17;inode=5;path=/a.csv");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->offset, 17u);
  EXPECT_EQ(c->fingerprint, 0u);
  EXPECT_FALSE(c->has_fingerprint);
}

TEST(Cursor, RejectsTextOfAnotherSource) {
  EXPECT_FALSE(parseCursor("42"));
  EXPECT_FALSE(parseCursor("offset=;inode=1;path=a"));
  EXPECT_FALSE(parseCursor("offset=1;path=a"));
  EXPECT_FALSE(parseCursor("offset=-1;inode=1;path=a"));
  EXPECT_FALSE(parseCursor("offset=1;inode=1;fp=xyz;path=a"));
}

}  // namespace
}  // namespace omniloop::files
