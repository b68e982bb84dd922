#include "pipeline/stages/yaml_position.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

namespace omniloop::pipeline {

namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t utf8Length(uint32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

uint32_t hexValue(std::string_view s) {
  uint32_t v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= static_cast<uint32_t>(c - 'A' + 10);
  }
  return v;
}

// Walks the scalar's source text from `start` alongside its decoded `value` and returns the
// source position of value byte `offset` (offset == value.size(): just past the last byte).
// kNone when the source does not decode to `value` (another document, an unhandled style).
size_t sourcePosition(std::string_view doc, size_t start, std::string_view value, size_t offset) {
  if (start >= doc.size()) return kNone;
  size_t r = start;
  const char style = doc[r];
  const bool single = style == '\'';
  const bool dbl = style == '"';
  if (single || dbl) ++r;
  if (style == '|' || style == '>') {  // block scalar: content starts on the next line
    while (r < doc.size() && doc[r] != '\n') ++r;
    while (r < doc.size() && isBlank(doc[r])) ++r;
  }
  std::vector<size_t> at(value.size() + 1, kNone);
  size_t d = 0;
  while (d < value.size()) {
    if (r >= doc.size()) return kNone;
    const char rc = doc[r];
    if (isBlank(rc)) {  // line folding: a blank run holding a line break
      size_t e = r;
      bool line_break = false;
      while (e < doc.size() && isBlank(doc[e])) line_break |= doc[e++] == '\n';
      if (line_break) {
        while (d < value.size() && isBlank(value[d])) at[d++] = e;
        r = e;
        continue;
      }
    }
    if (dbl && rc == '\\' && r + 1 < doc.size()) {
      const char esc = doc[r + 1];
      size_t raw = 2;
      size_t decoded = 1;
      if (esc == 'x' || esc == 'u' || esc == 'U') {
        const size_t digits = esc == 'x' ? 2 : esc == 'u' ? 4 : 8;
        if (r + 2 + digits > doc.size()) return kNone;
        raw = 2 + digits;
        decoded = utf8Length(hexValue(doc.substr(r + 2, digits)));
      } else if (esc == 'N' || esc == '_') {
        decoded = 2;
      } else if (esc == 'L' || esc == 'P') {
        decoded = 3;
      } else if (esc == '\n' || esc == '\r') {  // escaped line break: joins lines
        size_t e = r + 1;
        while (e < doc.size() && isBlank(doc[e])) ++e;
        r = e;
        continue;
      }
      if (d + decoded > value.size()) return kNone;
      for (size_t k = 0; k < decoded; ++k) at[d++] = r;
      r += raw;
      continue;
    }
    if (single && rc == '\'' && r + 1 < doc.size() && doc[r + 1] == '\'') {
      if (value[d] != '\'') return kNone;
      at[d++] = r;
      r += 2;
      continue;
    }
    if (rc != value[d]) return kNone;
    at[d++] = r++;
  }
  at[value.size()] = r;
  return at[std::min(offset, value.size())];
}

config::Mark markAt(std::string_view doc, size_t pos, const std::string& file) {
  config::Mark m;
  m.file = file;
  m.line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos && i < doc.size(); ++i) {
    if (doc[i] == '\n') {
      ++m.line;
      line_start = i + 1;
    }
  }
  m.column = static_cast<int>(pos - line_start) + 1;
  return m;
}

}  // namespace

config::Mark nodeMark(const YAML::Node& node, const std::string& file,
                      const config::Mark& fallback) {
  config::Mark m = fallback;
  if (m.file.empty()) m.file = file;
  if (!node.IsDefined()) return m;
  const YAML::Mark ym = node.Mark();
  if (ym.line < 0 || ym.column < 0) return m;
  m.line = ym.line + 1;
  m.column = ym.column + 1;
  return m;
}

config::Mark scalarMarkIn(std::string_view doc, const YAML::Node& node, const std::string& file,
                          size_t offset) {
  config::Mark m = nodeMark(node, file);
  if (!node.IsDefined() || !node.IsScalar()) return m;
  const YAML::Mark ym = node.Mark();
  if (ym.pos >= 0) {
    size_t pos = sourcePosition(doc, static_cast<size_t>(ym.pos), node.Scalar(), offset);
    if (pos != kNone) return markAt(doc, pos, file);
  }
  // Best effort without the source: same line, past an opening quote.
  const bool quoted =
      ym.pos >= 0 && static_cast<size_t>(ym.pos) < doc.size()
          ? (doc[static_cast<size_t>(ym.pos)] == '\'' || doc[static_cast<size_t>(ym.pos)] == '"')
          : node.Tag() == "!";
  m.column += static_cast<int>(offset) + (quoted ? 1 : 0);
  return m;
}

config::Mark scalarMark(const YAML::Node& node, const std::string& file, size_t offset) {
  std::string doc;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (in) doc.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return scalarMarkIn(doc, node, file, offset);
}

}  // namespace omniloop::pipeline
