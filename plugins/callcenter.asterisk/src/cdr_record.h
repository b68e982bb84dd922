#pragma once
// Asterisk cdr_csv rows (Master.csv): splitting, the column layout told by the column count,
// caller ids, and the event type a disposition stands for.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace omniloop::asterisk {

// Record framing for filetail::Tail: a row ends at the first LF outside double quotes. A row
// whose quotes do not balance within 4 KiB (cdr_csv rows are under 1 KiB), or at the end of the
// file, ends at its first LF instead, so one bad row cannot swallow the rows after it.
size_t frameCdrRow(std::string_view window, bool at_eof);

// Splits one row (without its line end) into fields: "quoted" (with "" for ") or bare. Returns
// false and sets `error` when a quote is not closed or text follows a closing quote.
bool splitCdrRow(std::string_view row, std::vector<std::string>* fields, std::string* error);

// Column index of each cdr_csv column in one row; -1 when the row does not have it.
struct CdrLayout {
  int uniqueid = -1;
  int userfield = -1;
  int peeraccount = -1;
  int linkedid = -1;
  int sequence = -1;
};
// 16 columns: the standard ones; 17: plus uniqueid (a "<digits>.<digits>" value) or userfield;
// 18: plus both (the shipped cdr.conf); 19-21: the same plus peeraccount, linkedid, sequence
// (newcdrcolumns=yes). false for any other count.
bool layoutFor(const std::vector<std::string>& fields, CdrLayout* layout);

// Standard column positions (0-based).
enum Column : int {
  kAccountCode = 0,
  kSrc,
  kDst,
  kDcontext,
  kClid,
  kChannel,
  kDstChannel,
  kLastApp,
  kLastData,
  kStart,
  kAnswer,
  kEnd,
  kDuration,
  kBillsec,
  kDisposition,
  kAmaFlags,
  kStandardColumns
};

struct CallerId {
  std::string name;       // "" when none
  std::string number;     // "" when none or withheld
  bool withheld = false;  // anonymous / Restricted / private / unavailable, or no number at all
};
// `"Name" <number>`, `<number>`, `Name <number>`, a bare number, or a bare name. `fallback_number`
// (the src column) is used when the caller id carries no number.
CallerId parseCallerId(std::string_view clid, std::string_view fallback_number);

// ANSWERED -> call.answered; NO ANSWER, CANCEL -> call.missed; BUSY -> call.busy; FAILED,
// CONGESTION, UNKNOWN and anything else -> call.failed.
std::string_view eventTypeFor(std::string_view disposition);

}  // namespace omniloop::asterisk
