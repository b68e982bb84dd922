#pragma once
// A streaming ARTS/NRF POSLog reader: bytes go in as they are read from the file, complete
// <Transaction> elements come out. Memory stays bounded by one read chunk plus one transaction,
// whatever the file size (expat is a push parser that keeps no tree).
//
// Element names are matched by their local name, so POSLog 2.2 and 6.0 documents, default or
// prefixed namespaces and vendor extension namespaces all read the same; unknown elements are
// skipped.
//
// Malformed XML does not end the file: the transaction it happened in (or the stray bytes
// between transactions) becomes a dead-letter record naming the line, and reading resumes at
// the next '<Transaction' start tag with a fresh parser (the root's namespace declarations are
// replayed so prefixed names still resolve).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transaction.h"

struct XML_ParserStruct;

namespace omniloop::poslog {

class PoslogParser {
 public:
  // Raw bytes kept for a dead-letter record at most (the rest is marked as cut).
  static constexpr size_t kMaxRawBytes = 64 * 1024;

  PoslogParser();
  ~PoslogParser();
  PoslogParser(const PoslogParser&) = delete;
  PoslogParser& operator=(const PoslogParser&) = delete;

  // Feeds the next bytes of the file (they follow the previous ones). `final`: the file ends
  // here; an open transaction then becomes a "file ends inside a transaction" dead letter.
  void feed(std::string_view chunk, bool final);

  // Transactions completed so far, in file order (good ones and dead letters).
  std::deque<Transaction>& ready() { return ready_; }
  // Bytes fed so far.
  uint64_t consumed() const { return consumed_; }
  // The root element was closed (the document is complete).
  bool documentEnded() const { return root_closed_; }
  // A transaction has started and not ended yet.
  bool inTransaction() const { return tx_depth_ >= 0; }

  // After a malformed token that began in an earlier chunk (expat reports an error where the
  // token starts, once its end has arrived), the search for the next '<Transaction' must start
  // right after that point, in bytes this parser no longer holds. feed() then asks its caller
  // to feed again from this file offset (once; nullopt otherwise): call rewound() with it and
  // feed the file from there.
  std::optional<uint64_t> takeRewind() {
    auto r = rewind_to_;
    rewind_to_.reset();
    return r;
  }
  void rewound(uint64_t offset);

 private:
  friend struct ParserCallbacks;

  void startParser(uint64_t base_offset, uint64_t base_line, bool synthetic_root);
  void parse(const char* data, size_t len, bool final);
  void onStart(const char* name, const char** attrs);
  void onEnd(const char* name);
  void onText(const char* s, int len);
  void onNamespace(const char* prefix, const char* uri);
  void finishTransaction();
  void failOn(std::string reason, uint64_t abs_offset, uint64_t line);
  void resyncFrom(const char* data, size_t len, uint64_t abs_start, bool final);

  uint64_t absOffset(long long parser_index) const;
  uint64_t absLine(unsigned long parser_line) const;
  uint64_t lineAt(uint64_t abs_offset) const;  // within the current chunk or earlier
  // Appends the current chunk's bytes [from, to) to `raw`, up to kMaxRawBytes.
  void appendRaw(std::string& raw, uint64_t from, uint64_t to) const;

  XML_ParserStruct* parser_ = nullptr;
  uint64_t base_offset_ = 0;  // file offset of the parser's first real byte
  uint64_t base_line_ = 1;
  size_t synthetic_len_ = 0;  // bytes of the replayed root start tag fed first
  bool resyncing_ = false;    // looking for the next '<Transaction'
  std::string carry_;         // resync: tail of the previous chunk (a start tag split in two)
  std::optional<uint64_t> rewind_to_;  // see takeRewind()
  uint64_t rewind_line_ = 1;           // the line of rewind_to_

  // The chunk being parsed (for raw bytes and line numbers).
  const char* chunk_ = nullptr;
  size_t chunk_len_ = 0;
  uint64_t chunk_abs_ = 0;
  uint64_t lines_before_chunk_ = 0;
  char byte_before_chunk_ = '\0';  // for a "\r\n" split across two chunks
  char last_byte_ = '\0';          // the last byte of the previous chunk
  uint64_t consumed_ = 0;

  std::vector<std::pair<std::string, std::string>> root_namespaces_;  // prefix, uri
  std::string root_qname_ = "POSLog";
  std::vector<std::string> stack_;  // local names of the open elements
  int depth_ = 0;
  bool root_closed_ = false;
  std::string text_;

  int tx_depth_ = -1;  // depth of the open <Transaction>, -1 when none
  Transaction tx_;
  std::string total_type_;
  bool line_voided_ = false;
  bool line_has_item_ = false;
  bool line_has_tender_ = false;
  LineItem line_item_;
  Tender line_tender_;
  uint64_t raw_from_ = 0;  // file offset the open transaction's raw bytes start at

  std::deque<Transaction> ready_;
};

}  // namespace omniloop::poslog
