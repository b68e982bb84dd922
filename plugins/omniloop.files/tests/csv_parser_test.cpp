#include "csv_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace omniloop::files {
namespace {

// Scans the first record of `text` and splits it.
std::vector<std::string> firstRecord(std::string text, bool at_eof = true, CsvScan* out = nullptr) {
  const CsvScan scan = scanCsvRecord(text, ',', at_eof);
  if (out) *out = scan;
  EXPECT_EQ(scan.status, CsvScanStatus::kRecord);
  std::vector<std::string_view> views;
  splitCsvRecord(text.data(), scan.length, ',', &views);
  EXPECT_EQ(views.size(), scan.fields);
  return {views.begin(), views.end()};
}

TEST(CsvParser, SplitsPlainFieldsAndStopsAtLf) {
  CsvScan scan;
  EXPECT_EQ(firstRecord("a,b,c\nd,e\n", true, &scan), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(scan.length, 5u);
  EXPECT_EQ(scan.consumed, 6u);
  EXPECT_EQ(scan.newlines, 1u);
}

TEST(CsvParser, QuotedFieldKeepsDelimiterAndEmbeddedNewline) {
  CsvScan scan;
  EXPECT_EQ(firstRecord("\"a,1\",\"line1\nline2\",z\nnext\n", true, &scan),
            (std::vector<std::string>{"a,1", "line1\nline2", "z"}));
  EXPECT_EQ(scan.newlines, 2u);  // the embedded one and the terminator
}

TEST(CsvParser, DoubledQuoteBecomesOneQuote) {
  EXPECT_EQ(firstRecord("\"\"\"Leanna Cuphus\"\" <609>\",\"\"\"\"\" <1>\"\n"),
            (std::vector<std::string>{"\"Leanna Cuphus\" <609>", "\"\" <1>"}));
}

TEST(CsvParser, CrLfEndsRecordWithoutKeepingCr) {
  CsvScan scan;
  EXPECT_EQ(firstRecord("a,b\r\nc\r\n", true, &scan), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(scan.consumed, 5u);
}

TEST(CsvParser, LoneCrEndsRecord) {
  CsvScan scan;
  EXPECT_EQ(firstRecord("a,b\rc,d", true, &scan), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(scan.consumed, 4u);
}

TEST(CsvParser, EmptyFieldsAreKeptIncludingTrailingOne) {
  EXPECT_EQ(firstRecord("a,,\"\",b,\n"), (std::vector<std::string>{"a", "", "", "b", ""}));
  EXPECT_EQ(firstRecord(",\n"), (std::vector<std::string>{"", ""}));
}

TEST(CsvParser, LastRecordWithoutNewlineIsCompleteOnlyAtEof) {
  EXPECT_EQ(scanCsvRecord("a,b", ',', false).status, CsvScanStatus::kNeedMore);
  EXPECT_EQ(firstRecord("a,b", true), (std::vector<std::string>{"a", "b"}));
}

TEST(CsvParser, WindowEndingInsideQuotesNeedsMore) {
  EXPECT_EQ(scanCsvRecord("\"abc\ndef", ',', false).status, CsvScanStatus::kNeedMore);
  // A quote as the last byte may be the first half of "": undecidable until more arrives.
  EXPECT_EQ(scanCsvRecord("\"abc\"", ',', false).status, CsvScanStatus::kNeedMore);
  // A CR as the last byte may be the first half of CRLF.
  EXPECT_EQ(scanCsvRecord("a,b\r", ',', false).status, CsvScanStatus::kNeedMore);
}

TEST(CsvParser, UnterminatedQuoteAtEofIsReported) {
  EXPECT_EQ(scanCsvRecord("a,\"open\nmore,rows\n", ',', true).status,
            CsvScanStatus::kUnterminated);
  EXPECT_EQ(firstLineLength("a,\"open\nmore"), 7u);
}

TEST(CsvParser, TextAfterClosingQuoteIsMalformed) {
  CsvScan scan = scanCsvRecord("\"ab\"c,d\n", ',', true);
  EXPECT_EQ(scan.status, CsvScanStatus::kRecord);
  EXPECT_TRUE(scan.malformed);
}

TEST(CsvParser, QuoteInsideUnquotedFieldIsLiteral) {
  CsvScan scan;
  EXPECT_EQ(firstRecord("5\" screen,x\n", true, &scan),
            (std::vector<std::string>{"5\" screen", "x"}));
  EXPECT_FALSE(scan.malformed);
}

TEST(CsvParser, OtherDelimiter) {
  std::string text = "a;\"b;c\";d\n";
  const CsvScan scan = scanCsvRecord(text, ';', true);
  ASSERT_EQ(scan.fields, 3u);
  std::vector<std::string_view> views;
  splitCsvRecord(text.data(), scan.length, ';', &views);
  ASSERT_EQ(views.size(), 3u);
  EXPECT_EQ(views[1], "b;c");
}

TEST(CsvParser, AsteriskRowWithUnquotedIntegers) {
  EXPECT_EQ(firstRecord("\"\",\"917\",\"\",\"2017-06-27 09:27:15\",0,390,\"NO ANSWER\"\n"),
            (std::vector<std::string>{"", "917", "", "2017-06-27 09:27:15", "0", "390",
                                      "NO ANSWER"}));
}

// Skipping an over-long record block by block finds the same end wherever a block boundary
// falls: inside a doubled quote, between CR and LF, inside a quoted line break.
TEST(CsvParser, SkipFindsTheRecordsEndAcrossEveryBlockBoundary) {
  const std::string text = "1,\"a\"\"b\r\nc\",x\"y\r\n2,z\n";
  const size_t end = text.find("\r\n2,z") + 2;
  for (size_t k = 1; k < end; ++k) {
    const CsvSkip a = skipCsvRecord(std::string_view(text).substr(0, k), {}, ',', false);
    ASSERT_FALSE(a.found) << k;
    ASSERT_EQ(a.consumed, k);
    const CsvSkip b = skipCsvRecord(std::string_view(text).substr(k), a.state, ',', false);
    ASSERT_TRUE(b.found) << k;
    EXPECT_FALSE(b.unterminated);
    EXPECT_EQ(k + b.consumed, end) << "split at " << k;
    EXPECT_EQ(a.newlines + b.newlines, 2u) << "split at " << k;
  }
}

TEST(CsvParser, SkipAtEofReportsAnOpenQuotedField) {
  const CsvSkip open = skipCsvRecord("1,\"abc\ndef", {}, ',', true);
  EXPECT_TRUE(open.found);
  EXPECT_TRUE(open.unterminated);
  EXPECT_EQ(open.consumed, 10u);
  const CsvSkip closed = skipCsvRecord("1,\"abc\ndef\"", {}, ',', true);
  EXPECT_TRUE(closed.found);
  EXPECT_FALSE(closed.unterminated);
  // A lone CR ends a record; one at a block's end waits for the next byte.
  const CsvSkip cr = skipCsvRecord("ab\r", {}, ',', false);
  EXPECT_FALSE(cr.found);
  const CsvSkip lone = skipCsvRecord("cd", cr.state, ',', false);
  EXPECT_TRUE(lone.found);
  EXPECT_EQ(lone.consumed, 0u);
}

}  // namespace
}  // namespace omniloop::files
