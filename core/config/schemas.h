#pragma once
// The JSON Schemas of schemas/*.json, embedded at build time (core/config/embed_schemas.cmake),
// and a small JSON Schema validator for YAML documents.
//
// Supported keywords: type (one or a list), properties, required, additionalProperties (false or
// a schema), minProperties, maxProperties, enum, const, minimum, maximum, exclusiveMinimum,
// exclusiveMaximum, minLength, maxLength, pattern (ECMAScript regex, searched), items, minItems,
// maxItems, oneOf, anyOf, allOf, $ref ("#/$defs/<name>" or any local JSON pointer).
// Annotations are accepted and ignored for validation: $schema, $id, title, description,
// default, examples, deprecated. Extensions: "x-hint" (the hint shown when this
// schema rejects a value), "writeOnly"/"x-secret" (the value is shown as [secret]) and
// "format": "path" (Schema::toJson resolves a relative path against a base directory).
//
// YAML scalars are untyped text. A plain (unquoted) scalar is an integer, number, boolean or
// null when it reads as one (42, -1.5e3, true/false, null/~/empty); a quoted or block scalar is
// always a string. "string" accepts any scalar.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/pipeline_spec.h"

namespace omniloop::config {

struct EmbeddedSchema {
  const char* name;  // file name under schemas/, e.g. "pipeline.schema.json"
  const char* text;
};
const std::vector<EmbeddedSchema>& embeddedSchemas();
// The text of schemas/<name>; throws std::out_of_range when there is no such schema.
std::string_view embeddedSchema(std::string_view name);

struct JsonValue;

class Schema {
 public:
  // Empty or blank text gives a schema that accepts anything. Throws std::invalid_argument
  // (message says what and where) on invalid JSON or a non-object/boolean schema.
  static Schema parse(std::string_view json);
  Schema();  // accepts anything
  ~Schema();
  Schema(const Schema&);
  Schema& operator=(const Schema&);

  bool acceptsAnything() const;
  // Whether the schema's `type` (after $ref) admits `kind` at all, ignoring every other rule.
  bool allowsKind(YAML::NodeType::value kind) const;

  // Checks `node` (Undefined = absent and always accepted) and appends one Diagnostic per
  // problem. `path` names the node in messages ("source.with"; "" for the document root);
  // `fallback` is used where a node carries no position (e.g. an absent block).
  void validate(const YAML::Node& node, const std::string& file, const std::string& path,
                const Mark& fallback, std::vector<Diagnostic>& out) const;
  bool accepts(const YAML::Node& node) const;

  // `node` as JSON text, scalars typed as this schema declares them (a plain `8080` is a number
  // where the schema says integer/number, a string where it says string); where the schema
  // says nothing, types are guessed as yamlToJson() does. When `base_dir` is set, a relative
  // text value whose schema says "format": "path" is resolved against it.
  std::string toJson(const YAML::Node& node, const std::string& base_dir = {}) const;

 private:
  std::shared_ptr<const JsonValue> root_;
};

// `node` as JSON text without a schema: plain true/false, integers, numbers and null/~ are
// typed; quoted scalars and everything else are strings. Undefined gives "null".
std::string yamlToJson(const YAML::Node& node);

// 1-based position of a YAML node in `file`; {file, 0, 0} when the node has none.
Mark markOf(const YAML::Node& node, const std::string& file);

}  // namespace omniloop::config
