#pragma once
// RFC 4180 CSV, record by record, over a byte window that may end mid-record.
//  - quoted fields may hold the delimiter, CR, LF and doubled quotes ("" -> ");
//  - records end with LF, CRLF or a lone CR; the last record may lack its terminator;
//  - a quote inside an unquoted field is kept literally (`5" screen`);
//  - text after a closing quote (`"a"b`) makes the record malformed.
#include <cstddef>
#include <string_view>
#include <vector>

namespace omniloop::files {

enum class CsvScanStatus {
  kRecord,        // a complete record (see length/consumed)
  kNeedMore,      // the window ends inside the record: read more and scan again
  kUnterminated,  // at EOF inside a quoted field
};

struct CsvScan {
  CsvScanStatus status = CsvScanStatus::kNeedMore;
  size_t length = 0;    // bytes of the record, line terminator excluded
  size_t consumed = 0;  // bytes to consume, terminator included
  size_t fields = 0;    // number of fields
  size_t newlines = 0;  // LF bytes within `consumed` (for line numbers)
  bool malformed = false;
};

// Finds the first record of `window`. at_eof: no more bytes will come, so a record that runs to
// the end of the window is complete.
CsvScan scanCsvRecord(std::string_view window, char delimiter, bool at_eof);

// Splits a record that scanCsvRecord accepted into its fields. Quoted fields are unescaped in
// place (they only ever shrink), so `record` is modified and the views point into it.
void splitCsvRecord(char* record, size_t length, char delimiter,
                    std::vector<std::string_view>* fields);

// Skipping a record too long to keep, block by block (without buffering it): where the scan of
// the last block stopped.
struct CsvSkipState {
  bool field_start = true;
  bool in_quotes = false;
  bool quote_pending = false;  // a '"' inside quotes ended the last block: "" or closing?
  bool cr_pending = false;     // a CR outside quotes ended the last block: CRLF or a lone CR?
};

struct CsvSkip {
  bool found = false;         // the record ends in this block (or at EOF)
  bool unterminated = false;  // at EOF inside a quoted field
  size_t length = 0;          // bytes of the block that belong to the record (terminator excluded)
  size_t consumed = 0;        // bytes to consume (terminator included)
  size_t newlines = 0;        // LF bytes within `consumed`
  CsvSkipState state;         // to go on with in the next block (when !found)
};

// Scans `block`, which continues a record whose earlier bytes left `state`, for the record's
// end (the same rules as scanCsvRecord: line breaks inside quoted fields belong to the record).
// at_eof: no more bytes will come, so the record ends with the block.
CsvSkip skipCsvRecord(std::string_view block, CsvSkipState state, char delimiter, bool at_eof);

// Length of the first line of `window` (up to, excluding, the first LF; all of it if none):
// where to resume after an unterminated quote or an over-long record.
size_t firstLineLength(std::string_view window);

}  // namespace omniloop::files
