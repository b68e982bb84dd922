#include "config/yaml_input.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/schemas.h"

namespace omniloop::config {

namespace {

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

}  // namespace

YAML::Node parseYaml(const std::string& text, const std::string& file) {
  try {
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
