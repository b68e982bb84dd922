#include "cdr_record.h"

#include <algorithm>
#include <cctype>

namespace omniloop::asterisk {

size_t frameCdrRow(std::string_view w, bool at_eof) {
  constexpr size_t kMaxQuotedSpan = 4096;
  bool quoted = false;
  size_t first_lf = std::string_view::npos;
  for (size_t i = 0; i < w.size(); ++i) {
    const char c = w[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\n') {
      if (!quoted) return i + 1;
      if (first_lf == std::string_view::npos) first_lf = i;
    }
    if (i >= kMaxQuotedSpan && first_lf != std::string_view::npos) return first_lf + 1;
  }
  if (at_eof && first_lf != std::string_view::npos) return first_lf + 1;
  return 0;
}

bool splitCdrRow(std::string_view row, std::vector<std::string>* fields, std::string* error) {
  fields->clear();
  size_t i = 0;
  for (;;) {
    std::string field;
    if (i < row.size() && row[i] == '"') {
      ++i;
      bool closed = false;
      while (i < row.size()) {
        if (row[i] == '"') {
          if (i + 1 < row.size() && row[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field.push_back(row[i++]);
      }
      if (!closed) {
        *error = "column " + std::to_string(fields->size() + 1) + " opens a quote it never closes";
        return false;
      }
      if (i < row.size() && row[i] != ',') {
        *error = "text after the closing quote of column " + std::to_string(fields->size() + 1);
        return false;
      }
    } else {
      const size_t comma = row.find(',', i);
      const size_t end = comma == std::string_view::npos ? row.size() : comma;
      field.assign(row.substr(i, end - i));
      i = end;
    }
    fields->push_back(std::move(field));
    if (i >= row.size()) return true;
    ++i;                    // the comma
    if (i == row.size()) {  // a trailing comma: one more, empty, column
      fields->emplace_back();
      return true;
    }
  }
}

namespace {

bool looksLikeUniqueid(std::string_view s) {
  const size_t dot = s.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != dot && !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return trim(s);
}

bool isWithheldWord(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "anonymous" || lower == "restricted" || lower == "private" ||
         lower == "unavailable" || lower == "unknown" || lower == "withheld" ||
         lower == "blocked" || lower == "<unknown>";
}

bool looksLikeNumber(std::string_view s) {
  if (s.empty()) return false;
  bool digit = false;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c != '+' && c != '-' && c != ' ' && c != '(' && c != ')' && c != '.' && c != '*' &&
               c != '#') {
      return false;
    }
  }
  return digit;
}

}  // namespace

bool layoutFor(const std::vector<std::string>& f, CdrLayout* l) {
  *l = CdrLayout{};
  const int n = static_cast<int>(f.size());
  if (n < kStandardColumns || n > kStandardColumns + 5) return false;
  int extra = n - kStandardColumns;
  const bool newcols = extra >= 3;
  if (newcols) extra -= 3;
  int next = kStandardColumns;
  if (extra == 2) {
    l->uniqueid = next++;
    l->userfield = next++;
  } else if (extra == 1) {
    if (looksLikeUniqueid(f[static_cast<size_t>(next)])) {
      l->uniqueid = next++;
    } else {
      l->userfield = next++;
    }
  }
  if (newcols) {
    l->peeraccount = next++;
    l->linkedid = next++;
    l->sequence = next++;
  }
  return true;
}

CallerId parseCallerId(std::string_view clid, std::string_view fallback_number) {
  CallerId id;
  clid = trim(clid);
  std::string_view number;
  const size_t lt = clid.rfind('<');
  const size_t gt = clid.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    number = trim(clid.substr(lt + 1, gt - lt - 1));
    id.name = std::string(unquote(clid.substr(0, lt)));
  } else if (looksLikeNumber(unquote(clid))) {
    number = unquote(clid);
  } else {
    id.name = std::string(unquote(clid));
  }
  if (isWithheldWord(id.name)) id.name.clear();
  if (number.empty() && !isWithheldWord(trim(fallback_number))) number = trim(fallback_number);
  if (isWithheldWord(number) || !looksLikeNumber(number)) number = {};
  id.withheld = number.empty();
  id.number = std::string(number);
  return id;
}

std::string_view eventTypeFor(std::string_view d) {
  if (d == "ANSWERED") return "call.answered";
  if (d == "NO ANSWER" || d == "CANCEL") return "call.missed";
  if (d == "BUSY") return "call.busy";
  return "call.failed";
}

}  // namespace omniloop::asterisk
