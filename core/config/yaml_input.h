#pragma once
// Reading YAML text and files into nodes with diagnostics (internal to config/).
#include <string>

#include <yaml-cpp/yaml.h>

#include "config/pipeline_spec.h"

namespace omniloop::config {

// Parses the first YAML document of `text`. A syntax error throws ConfigError with its
// line:column and a hint.
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
