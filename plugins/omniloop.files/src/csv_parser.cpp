#include "csv_parser.h"

#include <algorithm>
#include <cstring>

namespace omniloop::files {

namespace {

size_t countLf(const char* begin, const char* end) {
  return static_cast<size_t>(std::count(begin, end, '\n'));
}

}  // namespace

CsvScan scanCsvRecord(std::string_view window, char delimiter, bool at_eof) {
  CsvScan s;
  const char* w = window.data();
  const size_t n = window.size();
  size_t i = 0;
  bool field_start = true;
  bool after_quote = false;
  s.fields = 1;
  while (i < n) {
    const char c = w[i];
    if (c == '"' && field_start) {
      ++i;
      for (;;) {
        const void* q = i < n ? std::memchr(w + i, '"', n - i) : nullptr;
        if (q == nullptr) {
          s.status = at_eof ? CsvScanStatus::kUnterminated : CsvScanStatus::kNeedMore;
          return s;
        }
        const size_t qi = static_cast<size_t>(static_cast<const char*>(q) - w);
        s.newlines += countLf(w + i, w + qi);
        i = qi + 1;
        if (i < n && w[i] == '"') {  // doubled quote: a literal "
          ++i;
          continue;
        }
        if (i == n && !at_eof) {  // cannot tell "" from a closing quote yet
          s.newlines = 0;
          s.status = CsvScanStatus::kNeedMore;
          return s;
        }
        break;
      }
      field_start = false;
      after_quote = true;
      continue;
    }
    if (c == delimiter) {
      ++s.fields;
      field_start = true;
      after_quote = false;
      ++i;
      continue;
    }
    if (c == '\n' || c == '\r') {
      size_t term = 1;
      if (c == '\r') {
        if (i + 1 == n && !at_eof) {  // CR at the window's end: CRLF or a lone CR?
          s.status = CsvScanStatus::kNeedMore;
          return s;
        }
        if (i + 1 < n && w[i + 1] == '\n') term = 2;
      }
      s.length = i;
      s.consumed = i + term;
      if (c == '\n' || term == 2) ++s.newlines;
      s.status = CsvScanStatus::kRecord;
      return s;
    }
    if (after_quote) s.malformed = true;
    field_start = false;
    ++i;
  }
  if (!at_eof) {
    s.status = CsvScanStatus::kNeedMore;
    return s;
  }
  s.length = n;
  s.consumed = n;
  s.status = CsvScanStatus::kRecord;
  return s;
}

void splitCsvRecord(char* record, size_t length, char delimiter,
                    std::vector<std::string_view>* fields) {
  fields->clear();
  size_t i = 0;
  for (;;) {
    if (i < length && record[i] == '"') {
      const size_t start = i;
      size_t out = i;
      ++i;
      while (i < length) {
        const void* q = std::memchr(record + i, '"', length - i);
        const size_t qi = q ? static_cast<size_t>(static_cast<const char*>(q) - record) : length;
        std::memmove(record + out, record + i, qi - i);
        out += qi - i;
        i = qi;
        if (i == length) break;
        if (i + 1 < length && record[i + 1] == '"') {
          record[out++] = '"';
          i += 2;
          continue;
        }
        ++i;  // closing quote
        break;
      }
      // Anything between the closing quote and the delimiter (malformed input) is kept.
      while (i < length && record[i] != delimiter) record[out++] = record[i++];
      fields->emplace_back(record + start, out - start);
    } else {
      const void* d = i < length ? std::memchr(record + i, delimiter, length - i) : nullptr;
      const size_t end = d ? static_cast<size_t>(static_cast<const char*>(d) - record) : length;
      fields->emplace_back(record + i, end - i);
      i = end;
    }
    if (i >= length) return;
    ++i;  // the delimiter
    if (i == length) {  // a trailing delimiter ends with an empty field
      fields->emplace_back(record + length, 0);
      return;
    }
  }
}

size_t firstLineLength(std::string_view window) {
  const void* lf = std::memchr(window.data(), '\n', window.size());
  return lf ? static_cast<size_t>(static_cast<const char*>(lf) - window.data()) : window.size();
}

}  // namespace omniloop::files
