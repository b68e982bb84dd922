#pragma once
// Positions inside YAML files for stage diagnostics: a node's own mark, and the mark of one
// byte of a scalar's value (the bad token of a filter expression), mapped through quotes,
// escapes and line folding.
#include <cstddef>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/pipeline_spec.h"

namespace omniloop::pipeline {

// 1-based mark of `node`; `fallback` (with `file`) when the node carries none.
config::Mark nodeMark(const YAML::Node& node, const std::string& file,
                      const config::Mark& fallback = {});

// Mark of byte `offset` of `node`'s scalar value. Reads `file` to map the offset exactly; when
// the file cannot be read or does not hold this scalar at the node's mark, falls back to the
// node's column plus the offset (plus one past an opening quote).
config::Mark scalarMark(const YAML::Node& node, const std::string& file, size_t offset);
// Same with the document's text at hand (`doc` is what `node` was parsed from).
config::Mark scalarMarkIn(std::string_view doc, const YAML::Node& node, const std::string& file,
                          size_t offset);

}  // namespace omniloop::pipeline
