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

CsvSkip skipCsvRecord(std::string_view block, CsvSkipState st, char delimiter, bool at_eof) {
  CsvSkip r;
  const char* w = block.data();
  const size_t n = block.size();
  auto found = [&](size_t length, size_t consumed) {
    r.found = true;
    r.length = length;
    r.consumed = consumed;
    r.newlines = countLf(w, w + consumed);
    r.state = CsvSkipState{};
    return r;
  };
  size_t i = 0;
  if (st.cr_pending) {  // the CR that ended the last block ended the record
    return found(0, n > 0 && w[0] == '\n' ? 1 : 0);
  }
  if (st.quote_pending && (n > 0 || at_eof)) {
    st.quote_pending = false;
    if (n > 0 && w[0] == '"') {
      i = 1;  // a doubled quote: still inside the field
    } else {
      st.in_quotes = false;  // it was the closing quote
      st.field_start = false;
    }
  }
  while (i < n) {
    if (st.in_quotes) {
      const void* q = std::memchr(w + i, '"', n - i);
      if (q == nullptr) {
        i = n;
        break;
      }
      i = static_cast<size_t>(static_cast<const char*>(q) - w) + 1;
      if (i == n) {
        st.quote_pending = !at_eof;
        st.in_quotes = !at_eof && st.in_quotes;  // at EOF it closes the field
        break;
      }
      if (w[i] == '"') {
        ++i;
        continue;
      }
      st.in_quotes = false;
      st.field_start = false;
      continue;
    }
    const char c = w[i];
    if (c == '"' && st.field_start) {
      st.in_quotes = true;
      st.field_start = false;
      ++i;
      continue;
    }
    if (c == delimiter) {
      st.field_start = true;
      ++i;
      continue;
    }
    if (c == '\n') return found(i, i + 1);
    if (c == '\r') {
      if (i + 1 < n) return found(i, w[i + 1] == '\n' ? i + 2 : i + 1);
      if (at_eof) return found(i, i + 1);
      st.cr_pending = true;
      r.length = i;
      r.consumed = n;
      r.newlines = countLf(w, w + n);
      r.state = st;
      return r;
    }
    st.field_start = false;
    ++i;
  }
  if (at_eof) {
    r = found(n, n);
    r.unterminated = st.in_quotes && !st.quote_pending;
    return r;
  }
  r.length = n;
  r.consumed = n;
  r.newlines = countLf(w, w + n);
  r.state = st;
  return r;
}

size_t firstLineLength(std::string_view window) {
  const void* lf = std::memchr(window.data(), '\n', window.size());
  return lf ? static_cast<size_t>(static_cast<const char*>(lf) - window.data()) : window.size();
}

}  // namespace omniloop::files
