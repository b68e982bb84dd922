#include "config/yaml_input.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include "config/schemas.h"

namespace omniloop::config {

namespace {

// Offset of the first byte of `s` that is not part of well-formed UTF-8 (no overlongs, no
// surrogates, nothing above U+10FFFF), or npos.
size_t firstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      n = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + n >= s.size()) return i;  // cut off by the end of the file
    for (size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

std::string syntaxHint(const std::string& msg) {
  if (msg.find("illegal map value") != std::string::npos) {
    return "a value containing ': ' needs quotes, or this line is indented more than its key";
  }
  if (msg.find("end of map not found") != std::string::npos ||
      msg.find("end of sequence not found") != std::string::npos) {
    return "check the indentation of this line against the lines above";
  }
  if (msg.find("end of sequence flow not found") != std::string::npos ||
      msg.find("end of map flow not found") != std::string::npos) {
    return "a '[' or '{' opened before here is not closed";
  }
  if (msg.find("unknown escape") != std::string::npos) {
    return "inside double quotes a backslash starts an escape: write \\\\ for a backslash, or "
           "use single quotes";
  }
  if (msg.find("tab") != std::string::npos) return "indent with spaces, not tabs";
  return "check quoting and indentation here; values with ': ', '#' or a leading '{', '[', '*', "
         "'&', '!', '|', '>', '%', '@' or '`' need quotes";
}

// Whether line `line` (0-based) or the one before it is indented with a tab.
bool leadingTab(const std::string& text, size_t line) {
  size_t n = 0;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    if (n + 1 == line || n == line) {
      size_t i = start;
      while (i < end && text[i] == ' ') ++i;
      if (i < end && text[i] == '\t') return true;
    }
    if (n == line || end == text.size()) break;
    start = end + 1;
    ++n;
  }
  return false;
}

Mark markAt(const YAML::Mark& m, const std::string& file) {
  Mark out;
  out.file = file;
  if (m.line >= 0) {
    out.line = m.line + 1;
    out.column = m.column + 1;
  }
  return out;
}

// Walks the parser's events and counts the nodes the document holds once every alias is
// expanded, without expanding anything: an anchored node's expanded size is remembered, and an
// alias adds it. A few hundred bytes of nested aliases ("billion laughs") would otherwise expand
// to billions of nodes when the document is converted for schema checks.
class ExpansionCounter : public YAML::EventHandler {
 public:
  ExpansionCounter(const std::string& file, uint64_t limit) : file_(file), limit_(limit) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = sizes_.find(anchor);
    add(mark, it == sizes_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    leaf(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    YAML::anchor_t anchor;
    uint64_t size;
    YAML::Mark mark;
  };

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) sizes_[anchor] = 1;
    add(mark, 1);
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    stack_.push_back({anchor, 0, mark});
    add(mark, 1);
  }
  void close() {
    if (stack_.empty()) return;
    const Frame f = stack_.back();
    stack_.pop_back();
    if (f.anchor != YAML::NullAnchor) sizes_[f.anchor] = f.size;
    if (!stack_.empty()) stack_.back().size = saturatingAdd(stack_.back().size, f.size);
  }
  // Adds `n` nodes to the innermost open collection and to the document's total.
  void add(const YAML::Mark& mark, uint64_t n) {
    if (!stack_.empty()) stack_.back().size = saturatingAdd(stack_.back().size, n);
    total_ = saturatingAdd(total_, n);
    if (total_ > limit_) {
      throw ConfigError({Diagnostic{
          markAt(mark, file_),
          "the YAML document expands to more than " + std::to_string(limit_) +
              " nodes once its aliases (*name) are expanded",
          "a configuration file needs far fewer; remove the nested aliases (an alias of a "
          "collection that itself holds aliases multiplies the document)"}});
    }
  }
  static uint64_t saturatingAdd(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
  }

  const std::string& file_;
  uint64_t limit_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, uint64_t> sizes_;
  uint64_t total_ = 0;
};

}  // namespace

YAML::Node parseYaml(const std::string& text, const std::string& file) {
  if (text.size() > kMaxYamlBytes) {
    throw ConfigError({Diagnostic{Mark{file, 0, 0},
                                  "the file has " + std::to_string(text.size()) +
                                      " bytes; a configuration file may have at most " +
                                      std::to_string(kMaxYamlBytes),
                                  "check that this is the file you meant"}});
  }
  if (const size_t bad = firstInvalidUtf8(text); bad != std::string_view::npos) {
    const size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    const size_t col0 = line_start == std::string::npos || bad == 0 ? bad : bad - line_start - 1;
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + bad, '\n'));
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw ConfigError({Diagnostic{Mark{file, line, static_cast<int>(col0) + 1},
                                  std::string("the file is not valid UTF-8 (byte ") + hex + ")",
                                  "save the file as UTF-8"}});
  }
  try {
    // First pass: bounds (expanded size, one document) without building nodes.
    std::istringstream in(text);
    YAML::Parser parser(in);
    ExpansionCounter counter(file, kMaxYamlNodes);
    parser.HandleNextDocument(counter);
    class SecondDocument : public YAML::EventHandler {
     public:
      void OnDocumentStart(const YAML::Mark& m) override { mark = m; }
      void OnDocumentEnd() override {}
      void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
      void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
      void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    const std::string&) override {}
      void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                           YAML::EmitterStyle::value) override {}
      void OnSequenceEnd() override {}
      void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                      YAML::EmitterStyle::value) override {}
      void OnMapEnd() override {}
      YAML::Mark mark;
    } skip;
    if (parser.HandleNextDocument(skip)) {
      throw ConfigError({Diagnostic{markAt(skip.mark, file),
                                    "a second YAML document starts here; a configuration file "
                                    "holds exactly one",
                                    "remove the '---' line and what follows, or move it to a "
                                    "file of its own"}});
    }
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Mark m;
    m.file = file;
    if (e.mark.line >= 0) {
      m.line = e.mark.line + 1;
      m.column = e.mark.column + 1;
    }
    std::string msg = e.msg.empty() ? std::string("malformed YAML") : e.msg;
    std::string hint = syntaxHint(msg);
    if (e.mark.line >= 0 && leadingTab(text, static_cast<size_t>(e.mark.line))) {
      hint = "indent with spaces: YAML does not allow tabs for indentation";
    }
    throw ConfigError({Diagnostic{m, "invalid YAML: " + msg, hint}});
  }
}

std::string readConfigFile(const std::string& path, const char* what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError({Diagnostic{Mark{path, 0, 0},
                                  std::string("cannot read the ") + what + ": it is a directory",
                                  "name a YAML file"}});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    Mark m;
    m.file = path;
    throw ConfigError(
        {Diagnostic{m, std::string("cannot read the ") + what + ": " + std::strerror(err),
                    "check the path and the file's permissions"}});
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

YAML::Node child(const YAML::Node& map, const std::string& key) {
  if (map.IsDefined() && map.IsMap()) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

Mark keyMark(const YAML::Node& map, const std::string& key, const std::string& file,
             const Mark& fallback) {
  if (!map.IsMap()) return fallback;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      const Mark m = markOf(it->first, file);
      return m.line ? m : fallback;
    }
  }
  return fallback;
}

}  // namespace omniloop::config
