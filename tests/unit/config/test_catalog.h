#pragma once
// A fake catalog for config tests: the component types the quickstart uses, with small schemas.
#include <string>
#include <vector>

#include "config/catalog.h"
#include "config/pipeline_spec.h"

namespace omniloop::config::testing {

inline ComponentInfo info(ComponentKind kind, std::string type, std::string schema) {
  ComponentInfo i;
  i.kind = kind;
  i.type = std::move(type);
  i.schema_json = std::move(schema);
  i.provider = "test";
  return i;
}

inline SimpleCatalog fakeCatalog() {
  SimpleCatalog c;
  const std::string file_source = R"({
    "type": "object",
    "required": ["path"],
    "additionalProperties": false,
    "properties": {
      "path": {"type": "string", "minLength": 1},
      "header": {"type": "boolean", "default": true},
      "delimiter": {"type": "string", "minLength": 1, "maxLength": 1},
      "columns": {"type": "array", "items": {"type": "string"}},
      "key_field": {"type": "string"},
      "skip_rows": {"type": "integer", "minimum": 0}
    }
  })";
  c.add(info(ComponentKind::Source, "file.csv", file_source));
  c.add(info(ComponentKind::Source, "file.jsonl", file_source));
  c.add(info(ComponentKind::Stage, "map", R"({"type": ["object", "array"]})"));
  ComponentInfo filter =
      info(ComponentKind::Stage, "filter", R"({"type": "string", "minLength": 1})");
  // Stands in for the expression parser: '===' is not an operator.
  filter.check = [](const YAML::Node& node, const std::string& file, std::vector<Diagnostic>& out) {
    const std::string text = node.Scalar();
    const size_t at = text.find("===");
    if (at == std::string::npos) return;
    Diagnostic d;
    d.mark.file = file;
    d.mark.line = node.Mark().line + 1;
    d.mark.column = node.Mark().column + 1;
    d.message = "unknown operator '==='";
    d.hint = "use '=='";
    out.push_back(d);
  };
  c.add(std::move(filter));
  c.add(info(ComponentKind::Stage, "route", R"({
    "type": "array",
    "minItems": 1,
    "items": {
      "type": "object",
      "required": ["to"],
      "additionalProperties": false,
      "properties": {"if": {"type": "string"}, "to": {"type": "string"}}
    }
  })"));
  c.add(info(ComponentKind::Stage, "com.vendor.enrich", ""));
  c.add(info(ComponentKind::Sink, "cdp", R"({
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "phone_country_code": {"type": "string", "pattern": "^\\+[0-9]{1,3}$"}
    }
  })"));
  c.add(info(ComponentKind::Sink, "file.jsonl", R"({
    "type": "object",
    "required": ["path"],
    "additionalProperties": false,
    "properties": {"path": {"type": "string"}, "append": {"type": "boolean"}}
  })"));
  return c;
}

}  // namespace omniloop::config::testing
