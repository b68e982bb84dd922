// The POSLog reader on its own: what it takes from each transaction, and how it survives
// chunk boundaries, malformed XML, truncation and hostile documents.
#include "poslog_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace omniloop::poslog {
namespace {

std::string readData(const std::string& name) {
  std::ifstream f(std::string(POSLOG_TEST_DATA) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Feeds `text` in chunks of `chunk` bytes, then ends the file; feeds again from where the
// parser asks to (takeRewind), as the source does with its file.
// (`other_chunk`, when set, alternates with `chunk`, as reads of a growing file return.)
std::vector<Transaction> parseAll(const std::string& text, size_t chunk = 1 << 20,
                                  bool final = true, size_t other_chunk = 0) {
  PoslogParser p;
  size_t i = 0;
  bool flip = false;
  for (;;) {
    while (i < text.size()) {
      const size_t n = std::min(flip && other_chunk != 0 ? other_chunk : chunk, text.size() - i);
      flip = !flip;
      p.feed(std::string_view(text).substr(i, n), false);
      i += n;
      if (const auto back = p.takeRewind()) {
        p.rewound(*back);
        i = static_cast<size_t>(*back);
      }
    }
    if (!final) break;
    p.feed({}, true);
    const auto back = p.takeRewind();
    if (!back) break;
    p.rewound(*back);
    i = static_cast<size_t>(*back);
  }
  return {p.ready().begin(), p.ready().end()};
}

std::string wrap(const std::string& transactions) {
  return "<?xml version=\"1.0\"?>\n<POSLog "
         "xmlns=\"http://www.nrf-arts.org/IXRetail/namespace/\">\n" +
         transactions + "</POSLog>\n";
}

std::string sale(
    int seq, const std::string& total = "<Total TotalType=\"TransactionGrandAmount\">5.00</Total>",
    const std::string& status = "Finished") {
  return "<Transaction><RetailStoreID>1</RetailStoreID><WorkstationID>1</WorkstationID>"
         "<SequenceNumber>" +
         std::to_string(seq) +
         "</SequenceNumber>"
         "<RetailTransaction TransactionStatus=\"" +
         status +
         "\">"
         "<LineItem><Sale><ItemID>1</ItemID><ExtendedAmount>5.00</ExtendedAmount></Sale></"
         "LineItem>" +
         total + "</RetailTransaction></Transaction>\n";
}

TEST(PoslogParser, ReadsEveryPartOfTheSampleTransactions) {
  const auto txs = parseAll(readData("store42-2026-11-30.xml"));
  ASSERT_EQ(txs.size(), 6u);
  const Transaction& t = txs[0];
  EXPECT_TRUE(t.error.empty()) << t.error;
  EXPECT_EQ(t.kind, Transaction::Kind::Retail);
  EXPECT_EQ(t.store, "42");
  EXPECT_EQ(t.workstation, "3");
  EXPECT_EQ(t.sequence, "1001");
  EXPECT_EQ(t.business_day, "2026-11-30");
  EXPECT_EQ(t.end_time, "2026-11-30T10:17:30+01:00");
  EXPECT_EQ(t.operator_id, "op-17");
  EXPECT_EQ(t.currency, "EUR");
  EXPECT_EQ(t.version, "6.0");
  ASSERT_EQ(t.items.size(), 2u);  // the voided line is left out ...
  EXPECT_EQ(t.voided_lines, 1u);  // ... and counted
  EXPECT_EQ(t.items[0].item_id, "4006381333931");
  EXPECT_EQ(t.items[0].description, "Füller Blau");
  EXPECT_EQ(t.items[0].quantity, "2");
  EXPECT_EQ(t.items[0].unit_price, "12.50");
  EXPECT_EQ(t.items[0].amount, "25.00");
  EXPECT_FALSE(t.items[0].is_return);
  ASSERT_EQ(t.tenders.size(), 2u);
  EXPECT_EQ(t.tenders[0].type, "Cash");
  EXPECT_EQ(t.tenders[1].type, "CreditDebit");
  EXPECT_EQ(t.tenders[1].amount, "19.90");
  EXPECT_EQ(t.total, "29.90");  // the grand amount, not the net amount before it
  EXPECT_EQ(t.customer_id, "C-0042-7");
  EXPECT_EQ(t.first_name, "Amélie");
  EXPECT_EQ(t.last_name, "Lindqvist");
  EXPECT_EQ(t.email, "amelie.lindqvist@example.se");
  EXPECT_EQ(t.phone, "+46 70 123 45 67");
  EXPECT_EQ(t.loyalty_id, "LOY-99001");
  EXPECT_TRUE(t.raw.empty());  // kept only for dead letters

  const Transaction& ret = txs[1];
  ASSERT_EQ(ret.items.size(), 1u);
  EXPECT_TRUE(ret.items[0].is_return);
  EXPECT_EQ(ret.original.sequence, "1001");
  EXPECT_EQ(ret.original.store, "42");
  EXPECT_EQ(ret.total, "-4.90");
  EXPECT_TRUE(ret.email.empty());
  EXPECT_EQ(ret.loyalty_id, "LOY-99001");

  EXPECT_TRUE(txs[2].cancelled);  // TransactionStatus="Voided"
  EXPECT_TRUE(txs[3].training);
  EXPECT_EQ(txs[4].kind, Transaction::Kind::Control);
  EXPECT_TRUE(txs[5].customer_id.empty());
  for (size_t i = 1; i < txs.size(); ++i) EXPECT_GT(txs[i].end_offset, txs[i - 1].end_offset);
}

TEST(PoslogParser, ChunkBoundariesChangeNothing) {
  const std::string text = readData("store42-2026-11-30.xml");
  const auto whole = parseAll(text);
  for (size_t chunk : {1u, 7u, 64u, 4096u}) {
    const auto pieces = parseAll(text, chunk);
    ASSERT_EQ(pieces.size(), whole.size()) << chunk;
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(pieces[i].start_offset, whole[i].start_offset) << chunk;
      EXPECT_EQ(pieces[i].end_offset, whole[i].end_offset) << chunk;
      EXPECT_EQ(pieces[i].line, whole[i].line) << chunk;
      EXPECT_EQ(pieces[i].total, whole[i].total) << chunk;
    }
  }
  // The end offset is just past '</Transaction>'.
  EXPECT_EQ(text.substr(whole[0].end_offset - 14, 14), "</Transaction>");
  EXPECT_EQ(text.substr(whole[0].start_offset, 12), "<Transaction");
}

TEST(PoslogParser, PrefixedNamespaceAndVersion22ReadTheSame) {
  const auto txs = parseAll(readData("store07-v22-prefixed.xml"));
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_TRUE(txs[0].error.empty()) << txs[0].error;
  EXPECT_EQ(txs[0].store, "7");
  EXPECT_EQ(txs[0].version, "2.2");
  EXPECT_EQ(txs[0].total, "9.99");
  EXPECT_EQ(txs[0].email, "Amy@Demo.net");
}

TEST(PoslogParser, MalformedXmlDeadLettersOneTransactionAndReadingGoesOn) {
  const std::string text = wrap(
      sale(1) + "<Transaction><RetailStoreID>1</RetailStoreID>\n<Oops></Wrong>\n</Transaction>\n" +
      sale(3));
  const auto txs = parseAll(text);
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_TRUE(txs[0].error.empty());
  EXPECT_NE(txs[1].error.find("xml: mismatched tag at line 5"), std::string::npos) << txs[1].error;
  EXPECT_EQ(txs[1].line, 4u);
  EXPECT_NE(txs[1].raw.find("<Oops>"), std::string::npos);
  EXPECT_TRUE(txs[2].error.empty()) << txs[2].error;
  EXPECT_EQ(txs[2].sequence, "3");
  EXPECT_EQ(txs[2].line, 7u);
  EXPECT_GT(txs[2].end_offset, txs[1].end_offset);
  EXPECT_EQ(text.substr(txs[2].end_offset - 14, 14), "</Transaction>");
}

// Found by fuzzing (tests/fuzz/poslog_fuzz.cpp): when the bad tag began in an earlier chunk, the
// rest of the chunk where expat saw it whole was not searched, so the good transaction starting
// there was lost.
TEST(PoslogParser, MalformedTagSplitAcrossChunksDoesNotLoseTheNextTransaction) {
  const std::string text = wrap(
      "<Transaction><RetailStoreID>1</RetailStoreID><RetailTransaction><LineItem><Sale>"
      "<ItemID>1</ItemID></Sale></LineItem></Transaction>" +
      sale(2));
  const auto whole = parseAll(text);
  ASSERT_EQ(whole.size(), 2u);
  for (size_t chunk : {1, 7, 16, 17, 64}) {
    const auto txs = parseAll(text, chunk);
    ASSERT_EQ(txs.size(), 2u) << "chunks of " << chunk;
    EXPECT_NE(txs[0].error.find("mismatched tag"), std::string::npos) << txs[0].error;
    EXPECT_TRUE(txs[1].error.empty()) << "chunks of " << chunk << ": " << txs[1].error;
    EXPECT_EQ(txs[1].sequence, "2");
    EXPECT_EQ(txs[1].start_offset, whole[1].start_offset);
    EXPECT_EQ(txs[1].end_offset, whole[1].end_offset);
  }
}

// Malformed tokens whose start lies chunks back (expat reports them only once their end has
// arrived): the resync starts right after the bad token's start, as in a read of the whole
// file, so every chunking gives the whole-file read's records, good and bad, at the same
// offsets and lines. (The fuzzer's reproducer, an XML declaration whose value never closes,
// is one of them.)
TEST(PoslogParser, ResyncAfterATokenStartedChunksBackMatchesTheWholeFileRead) {
  // The fuzzer's reproducer, read as its harness reads it: its first two bytes chose reads of
  // 61 and 1009 bytes in turn.
  const std::string reproducer = readData("malformed-declaration-across-reads.xml").substr(2);
  const auto whole_reproducer = parseAll(reproducer);
  const auto read_in_turn = parseAll(reproducer, 61, true, 1009);
  ASSERT_EQ(read_in_turn.size(), whole_reproducer.size());
  for (size_t k = 0; k < read_in_turn.size(); ++k) {
    EXPECT_EQ(read_in_turn[k].error.empty(), whole_reproducer[k].error.empty()) << k;
    EXPECT_EQ(read_in_turn[k].start_offset, whole_reproducer[k].start_offset) << k;
  }
  const std::vector<std::string> texts = {
      reproducer,
      wrap(sale(1) + "\n<!-- " + sale(2) + "\n -- a note -->\n" + sale(3) + "\n"),
      wrap(sale(1) + "\n<Bad a=\"x\n" + sale(2) + "\n" + sale(3) + "\n"),
  };
  for (size_t n = 0; n < texts.size(); ++n) {
    const auto whole = parseAll(texts[n]);
    size_t good = 0;
    for (const auto& t : whole) good += t.error.empty() ? 1 : 0;
    EXPECT_GE(good, 1u) << "text " << n;
    for (size_t chunk : {1u, 2u, 7u, 16u, 33u, 64u, 100u}) {
      const auto txs = parseAll(texts[n], chunk);
      ASSERT_EQ(txs.size(), whole.size()) << "text " << n << ", chunks of " << chunk;
      for (size_t k = 0; k < txs.size(); ++k) {
        EXPECT_EQ(txs[k].error.empty(), whole[k].error.empty()) << n << "/" << chunk << " #" << k;
        EXPECT_EQ(txs[k].sequence, whole[k].sequence) << n << "/" << chunk << " #" << k;
        EXPECT_EQ(txs[k].start_offset, whole[k].start_offset) << n << "/" << chunk << " #" << k;
        EXPECT_EQ(txs[k].line, whole[k].line) << n << "/" << chunk << " #" << k;
      }
    }
  }
}

TEST(PoslogParser, LineNumbersCountLoneCarriageReturnsAsXmlDoesInEveryChunking) {
  // "\r\n", a lone "\r" and a lone "\n" each end one line (XML 1.0 section 2.11, and so
  // expat). The lines the parser counts itself (after a resync) must agree with expat's
  // (inside a transaction), whatever the chunking, and "\r\n" split across two reads is one
  // line end. Found by fuzz_poslog: a lone '\r' inside a malformed transaction shifted every
  // later transaction's line by one when the file was read in chunks.
  const std::string text = wrap(sale(1) + "\r<Bad\r\r a=\"x\r\n" + sale(2) + "\r\n" +
                                "<Transaction><Oops></Transaction>\r" + sale(3) + "\n\r" +
                                sale(4));
  std::string normalised = text;
  size_t pos = 0;
  while ((pos = normalised.find("\r\n", pos)) != std::string::npos) normalised.erase(pos, 1);
  for (char& c : normalised) c = c == '\r' ? '\n' : c;
  auto lineOf = [&](const Transaction& t) {
    // The original offsets map to the normalised text by dropping the '\r' of each "\r\n".
    size_t removed = 0;
    for (size_t i = 0; i + 1 < t.start_offset; ++i) removed += text.compare(i, 2, "\r\n") == 0;
    const std::string before = normalised.substr(0, t.start_offset - removed);
    return static_cast<uint64_t>(std::count(before.begin(), before.end(), '\n')) + 1;
  };
  const auto whole = parseAll(text);
  size_t good = 0;
  for (const auto& t : whole) {
    if (!t.error.empty()) continue;
    ++good;
    EXPECT_EQ(t.line, lineOf(t)) << "sequence " << t.sequence;
  }
  EXPECT_EQ(good, 3u);  // sale 1, and 3 and 4 after the resyncs
  for (size_t chunk : {1u, 2u, 3u, 5u, 8u, 13u, 49u}) {
    const auto txs = parseAll(text, chunk, true, chunk + 41);
    ASSERT_EQ(txs.size(), whole.size()) << "chunks of " << chunk;
    for (size_t k = 0; k < txs.size(); ++k) {
      EXPECT_EQ(txs[k].start_offset, whole[k].start_offset) << chunk << " #" << k;
      EXPECT_EQ(txs[k].line, whole[k].line) << chunk << " #" << k;
    }
  }
}

TEST(PoslogParser, ResyncKeepsPrefixedNamesResolvable) {
  const std::string text =
      "<p:POSLog xmlns:p=\"http://www.nrf-arts.org/IXRetail/namespace/\">\n"
      "<p:Transaction><p:SequenceNumber>1</p:SequenceNumber><p:Bad attr=></p:Transaction>\n"
      "<p:Transaction><p:RetailStoreID>1</p:RetailStoreID><p:SequenceNumber>2</p:SequenceNumber>"
      "<p:RetailTransaction><p:Total>1.00</p:Total></p:RetailTransaction></p:Transaction>\n"
      "</p:POSLog>\n";
  const auto txs = parseAll(text);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_FALSE(txs[0].error.empty());
  EXPECT_TRUE(txs[1].error.empty()) << txs[1].error;
  EXPECT_EQ(txs[1].sequence, "2");
  EXPECT_EQ(txs[1].line, 3u);
}

TEST(PoslogParser, InvalidUtf8IsThatTransactionsDeadLetter) {
  const std::string text = wrap(
      sale(1) + "<Transaction><RetailStoreID>\xff\xfe</RetailStoreID></Transaction>\n" + sale(3));
  const auto txs = parseAll(text);
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_TRUE(txs[0].error.empty());
  EXPECT_NE(txs[1].error.find("xml: "), std::string::npos);
  EXPECT_TRUE(txs[2].error.empty());
}

TEST(PoslogParser, MissingTotalAndUnknownStatusAreErrorsOfTheirTransaction) {
  const auto txs = parseAll(wrap(sale(1, "") + sale(2, "<Total>abc</Total>") +
                                 sale(3, "<Total>1</Total>", "Teleported") + sale(4)));
  ASSERT_EQ(txs.size(), 4u);
  EXPECT_EQ(txs[0].error, "the RetailTransaction has no Total");
  EXPECT_EQ(txs[1].error, "Total 'abc' is not a number");
  EXPECT_NE(txs[2].error.find("unknown TransactionStatus 'Teleported'"), std::string::npos);
  EXPECT_TRUE(txs[3].error.empty());
  EXPECT_FALSE(txs[0].raw.empty());
}

TEST(PoslogParser, AFileStillBeingWrittenYieldsItsCompleteTransactionsAndWaits) {
  const std::string text = wrap(sale(1) + sale(2));
  const size_t cut = text.find("<Transaction", text.find("</Transaction>")) + 40;
  PoslogParser p;
  p.feed(std::string_view(text).substr(0, cut), false);
  ASSERT_EQ(p.ready().size(), 1u);
  EXPECT_TRUE(p.inTransaction());
  p.feed(std::string_view(text).substr(cut), false);
  EXPECT_EQ(p.ready().size(), 2u);
  EXPECT_TRUE(p.documentEnded());
}

TEST(PoslogParser, ATruncatedFileDeadLettersItsOpenTransactionAtTheEnd) {
  const std::string text = wrap(sale(1) + sale(2));
  const size_t cut = text.find("<Transaction", text.find("</Transaction>")) + 40;
  const auto txs = parseAll(text.substr(0, cut));
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_TRUE(txs[0].error.empty());
  EXPECT_NE(txs[1].error.find("ends inside this transaction"), std::string::npos) << txs[1].error;
  // A file cut between transactions (no '</POSLog>') loses nothing and reports nothing.
  const std::string between = text.substr(0, text.find("</Transaction>") + 15);
  const auto one = parseAll(between);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(one[0].error.empty());
}

// Found by fuzzing (tests/fuzz/poslog_fuzz.cpp): the dead letter of a transaction cut off by the
// end of the file ended one byte past the end, so the cursor committed with it pointed beyond the
// file (a resume would skip a byte of what is appended, or see the file as truncated).
TEST(PoslogParser, ATruncatedTransactionNeverEndsPastTheBytesRead) {
  const std::string text = wrap(sale(1) + sale(2));
  const size_t second = text.find("<Transaction", text.find("</Transaction>"));
  const size_t second_end = text.find("</Transaction>", second);
  for (size_t cut = second + 14; cut < second_end; cut += 7) {  // from inside the open tag on
    for (size_t chunk : {size_t{1} << 20, size_t{17}}) {
      const auto txs = parseAll(text.substr(0, cut), chunk);
      ASSERT_EQ(txs.size(), 2u) << "cut at " << cut;
      EXPECT_EQ(txs[1].start_offset, second);
      EXPECT_LE(txs[1].end_offset, cut) << "cut at " << cut << ", chunks of " << chunk;
      EXPECT_GT(txs[1].end_offset, txs[1].start_offset);
    }
  }
}

TEST(PoslogParser, EntityDeclarationsAreRefused) {
  const std::string text =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE POSLog [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
      "\"&a;&a;&a;&a;\">]>\n"
      "<POSLog>" +
      sale(1) + "</POSLog>";
  const auto txs = parseAll(text);
  ASSERT_FALSE(txs.empty());
  EXPECT_NE(txs[0].error.find("entity declarations are not allowed"), std::string::npos)
      << txs[0].error;
}

TEST(PoslogParser, AHugeTextNodeIsCappedNotBuffered) {
  const std::string big(2 << 20, 'x');
  const auto txs =
      parseAll(wrap("<Transaction><RetailStoreID>" + big +
                    "</RetailStoreID>"
                    "<SequenceNumber>1</SequenceNumber><RetailTransaction><Total>1</Total>"
                    "</RetailTransaction></Transaction>"),
               65536);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_LE(txs[0].store.size(), 64u * 1024);
}

}  // namespace
}  // namespace omniloop::poslog
