#pragma once
// Reading YAML text and files into nodes with diagnostics (internal to config/).
#include <cstddef>
#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

#include "config/pipeline_spec.h"

namespace omniloop::config {

// Bounds on what a configuration file may hold: its size, and its node count once aliases are
// expanded (a "billion laughs" file is refused before it is expanded).
inline constexpr size_t kMaxYamlBytes = 4u << 20;
inline constexpr uint64_t kMaxYamlNodes = 200000;

// Parses the YAML document of `text`. A syntax error throws ConfigError with its line:column
// and a hint; so does a file over the bounds above or with a second document.
YAML::Node parseYaml(const std::string& text, const std::string& file);

// The whole file; throws ConfigError (naming the file and the reason) when it cannot be read.
std::string readConfigFile(const std::string& path, const char* what);

// `map[key]`, or a valid Undefined node when `map` is not a map or lacks `key`. (yaml-cpp
// 0.7's const operator[] returns an invalid node for a missing key, and every type query on
// that node throws.)
YAML::Node child(const YAML::Node& map, const std::string& key);

// The position of `key` inside `map` (the key itself), or `fallback`.
Mark keyMark(const YAML::Node& map, const std::string& key, const std::string& file,
             const Mark& fallback);

}  // namespace omniloop::config
