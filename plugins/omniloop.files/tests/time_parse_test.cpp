#include "time_parse.h"

#include <gtest/gtest.h>

namespace omniloop::files {
namespace {

constexpr int64_t k2024_05_01 = 1714521600LL * 1000000;  // 2024-05-01T00:00:00Z

TEST(TimeParse, Iso8601DateOnlyIsMidnightUtc) {
  EXPECT_EQ(parseIso8601Micros("2024-05-01"), k2024_05_01);
}

TEST(TimeParse, Iso8601WithZoneAndFraction) {
  EXPECT_EQ(parseIso8601Micros("2024-05-01T10:00:00Z"), k2024_05_01 + 36000LL * 1000000);
  EXPECT_EQ(parseIso8601Micros("2024-05-01T12:00:00+02:00"), k2024_05_01 + 36000LL * 1000000);
  EXPECT_EQ(parseIso8601Micros("2024-05-01T12:00:00+0200"), k2024_05_01 + 36000LL * 1000000);
  EXPECT_EQ(parseIso8601Micros("2024-05-01 00:00:01.25"), k2024_05_01 + 1250000);
  EXPECT_EQ(parseIso8601Micros("2024-05-01T00:00:00.123456789Z"), k2024_05_01 + 123456);
  EXPECT_EQ(parseIso8601Micros("1969-12-31T23:59:59Z"), -1000000);
}

TEST(TimeParse, Iso8601RejectsMalformedOrImpossibleDates) {
  EXPECT_FALSE(parseIso8601Micros("2024-02-30"));
  EXPECT_FALSE(parseIso8601Micros("2024-05-01T25:00:00Z"));
  EXPECT_FALSE(parseIso8601Micros("01/05/2024"));
  EXPECT_FALSE(parseIso8601Micros("2024-05-01T10:00:00 junk"));
  EXPECT_FALSE(parseIso8601Micros(""));
}

TEST(TimeParse, EpochSecondsAndMilliseconds) {
  EXPECT_EQ(epochToMicros(int64_t{1714521600}, TimeFormat::kUnix), k2024_05_01);
  EXPECT_EQ(epochToMicros(int64_t{1714521600000}, TimeFormat::kUnixMs), k2024_05_01);
  EXPECT_EQ(epochToMicros(1714521600.5, TimeFormat::kUnix), k2024_05_01 + 500000);
  EXPECT_EQ(epochTextToMicros("1714521600", TimeFormat::kUnix), k2024_05_01);
  EXPECT_EQ(epochTextToMicros("1714521600000.0", TimeFormat::kUnixMs), k2024_05_01);
  EXPECT_FALSE(epochTextToMicros("soon", TimeFormat::kUnix));
  EXPECT_FALSE(epochToMicros(int64_t{9000000000000000000}, TimeFormat::kUnix));
}

TEST(TimeParse, FormatNames) {
  EXPECT_EQ(parseTimeFormat("unix_ms"), TimeFormat::kUnixMs);
  EXPECT_FALSE(parseTimeFormat("rfc2822"));
}

}  // namespace
}  // namespace omniloop::files
