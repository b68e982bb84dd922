#include "pipeline/stages/builtin.h"

#include "pipeline/stages/stage_build.h"
#include "pipeline/stages/yaml_position.h"

namespace omniloop::pipeline {

// ---------------------------------------------------------------------------------------------
// BuildScope
// ---------------------------------------------------------------------------------------------

config::Mark BuildScope::mark(const YAML::Node& node) const {
  return nodeMark(node, file, fallback);
}

void BuildScope::error(const YAML::Node& at, std::string message, std::string hint) {
  errorAt(mark(at), std::move(message), std::move(hint));
}

void BuildScope::errorAt(const config::Mark& at, std::string message, std::string hint) {
  config::Diagnostic d;
  d.mark = at;
  d.message = std::move(message);
  d.hint = std::move(hint);
  out->push_back(std::move(d));
}

// ---------------------------------------------------------------------------------------------
// JSON Schemas of the stage bodies (the semantic checks below report more precisely).
// ---------------------------------------------------------------------------------------------

namespace {

std::string mapSchema() {
  const std::string time_spec = R"json({"type": "object",
      "description": "Parse a time: from (field), format (iso8601 | rfc2822 | unix | unix_ms | strftime-like pattern, default iso8601), timezone (UTC or +HH:MM, default UTC), to (default $occurred_at)",
      "properties": {
        "from": {"type": "string", "minLength": 1},
        "format": {"type": "string", "minLength": 1},
        "timezone": {"type": "string", "minLength": 1},
        "to": {"type": "string", "minLength": 1}
      },
      "required": ["from"],
      "additionalProperties": false})json";
  const std::string ops = R"json(
      "rename": {"type": "object", "description": "from: to; moves a field (or an object's children)",
                 "additionalProperties": {"type": "string", "minLength": 1}, "minProperties": 1},
      "copy": {"type": "object", "description": "from: to; copies a field (or an object's children)",
               "additionalProperties": {"type": "string", "minLength": 1}, "minProperties": 1},
      "set": {"type": "object", "description": "path: literal value",
              "additionalProperties": {"type": ["string", "number", "integer", "boolean", "null"]},
              "minProperties": 1},
      "cast": {"type": "object", "description": "path: int | float | bool | string",
               "additionalProperties": {"enum": ["int", "float", "bool", "string"]},
               "minProperties": 1},
      "time": {"anyOf": [)json" +
                          time_spec + R"json(, {"type": "array", "minItems": 1, "items": )json" +
                          time_spec + R"json(}]},
      "drop": {"description": "paths to remove; a trailing .* removes an object's children",
               "anyOf": [{"type": "string", "minLength": 1},
                         {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}]})json";
  return R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "map",
  "description": "Field operations run in the order written: rename, copy, set, cast, time, drop. A mapping of ops, or a list of one-op mappings.",
  "anyOf": [
    {"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {)json" +
         ops + R"json(}},
    {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": false,
      "minProperties": 1, "maxProperties": 1, "properties": {)json" +
         ops + R"json(}}}
  ]
})json";
}

constexpr const char* kFilterSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "filter",
  "description": "A condition; events for which it is false are dropped. Example: '$channel == \"crm\" and age >= 18'",
  "type": "string",
  "minLength": 1
})json";

constexpr const char* kRouteSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "route",
  "description": "Rules tried in order; the first whose condition holds sends the event to its sink (a key of sinks:, or drop). Unmatched events keep their route (the default sink).",
  "type": "array",
  "minItems": 1,
  "items": {
    "type": "object",
    "properties": {
      "if": {"type": "string", "minLength": 1, "description": "condition"},
      "to": {"type": "string", "minLength": 1, "description": "a key of sinks:, or drop"}
    },
    "required": ["if", "to"],
    "additionalProperties": false
  }
})json";

// One schema for every masked field; the builder reports bad values more precisely.
constexpr const char* kMaskSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "mask",
  "description": "field path: masking method. Methods: redact, drop, hmac (or { hmac: { as: email|phone|text, region: \"+1\" } }), tokenize, { truncate: N }, { generalize: year | year-month | postcode | network | { bands: [0, 50, 100] } }",
  "type": "object",
  "minProperties": 1,
  "additionalProperties": {
    "anyOf": [
      {"enum": ["redact", "drop", "hmac", "tokenize"]},
      {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": false,
       "properties": {
         "truncate": {"type": "integer", "minimum": 0},
         "generalize": {"anyOf": [
           {"enum": ["year", "year-month", "postcode", "network"]},
           {"type": "object", "additionalProperties": false, "required": ["bands"],
            "properties": {"bands": {"type": "array", "minItems": 1, "items": {"type": "number"}}}}
         ]},
         "hmac": {"type": "object", "additionalProperties": false,
                  "properties": {"as": {"enum": ["email", "phone", "text"]},
                                 "region": {"type": "string", "pattern": "^\\+[1-9][0-9]{0,2}$"}}}
       }}
    ]
  }
})json";

constexpr const char* kConsentSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "consent",
  "description": "Keeps an event only when every required purpose (omniloop.yaml privacy.purposes) is allowed: explicit $consent.<purpose>, else the TC string in tcf_field, else the consent ledger. Example: { require: [marketing], tcf_field: tc_string, missing: drop }",
  "type": "object",
  "properties": {
    "require": {"description": "purpose names declared under privacy.purposes",
                "anyOf": [{"type": "string", "minLength": 1},
                          {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}]},
    "tcf_field": {"type": "string", "minLength": 1, "description": "attribute holding an IAB TCF v2.2 TC string"},
    "missing": {"enum": ["drop", "keep", "dead_letter"], "description": "when consent is unknown (default drop)"}
  },
  "required": ["require"],
  "additionalProperties": false
})json";

using Builder = std::unique_ptr<Stage> (*)(const YAML::Node&, BuildScope&, const StageContext*);

std::unique_ptr<Stage> buildMap(const YAML::Node& n, BuildScope& s, const StageContext*) {
  return buildMapStage(n, s);
}
std::unique_ptr<Stage> buildFilter(const YAML::Node& n, BuildScope& s, const StageContext*) {
  return buildFilterStage(n, s);
}
std::unique_ptr<Stage> buildRoute(const YAML::Node& n, BuildScope& s, const StageContext* c) {
  return buildRouteStage(n, s, c);
}

std::unique_ptr<Stage> buildMask(const YAML::Node& n, BuildScope& s, const StageContext* c) {
  return buildMaskStage(n, s, c);
}

std::unique_ptr<Stage> buildConsent(const YAML::Node& n, BuildScope& s, const StageContext* c) {
  return buildConsentStage(n, s, c);
}

Builder builderFor(std::string_view type) {
  if (type == "mask") return &buildMask;
  if (type == "consent") return &buildConsent;
  if (type == "map") return &buildMap;
  if (type == "filter") return &buildFilter;
  if (type == "route") return &buildRoute;
  return nullptr;
}

// Runs a builder; YAML access errors (an unexpected node shape) become diagnostics too.
std::unique_ptr<Stage> runBuilder(Builder b, const YAML::Node& body, BuildScope& scope,
                                  const StageContext* ctx) {
  try {
    return b(body, scope, ctx);
  } catch (const YAML::Exception& e) {
    config::Mark m = scope.fallback;
    if (e.mark.line >= 0) {
      m.line = e.mark.line + 1;
      m.column = e.mark.column + 1;
    }
    scope.errorAt(m, "unreadable stage configuration: " + e.msg);
  }
  return nullptr;
}

}  // namespace

bool isBuiltinStage(std::string_view type) {
  return builderFor(type) != nullptr;
}

std::unique_ptr<Stage> makeBuiltinStage(const config::StageSpec& spec, const StageContext& ctx) {
  std::vector<config::Diagnostic> diagnostics;
  BuildScope scope{spec.mark.file, spec.mark, &diagnostics, ctx.privacy};
  Builder b = builderFor(spec.type);
  if (!b) {
    scope.errorAt(spec.mark, "'" + spec.type + "' is not a built-in stage",
                  "built-in stages: map, filter, route, mask, consent");
    throw config::ConfigError(std::move(diagnostics));
  }
  std::unique_ptr<Stage> stage = runBuilder(b, spec.body, scope, &ctx);
  if (!diagnostics.empty() || !stage) {
    if (diagnostics.empty()) scope.errorAt(spec.mark, "invalid " + spec.type + " stage");
    throw config::ConfigError(std::move(diagnostics));
  }
  return stage;
}

void registerBuiltinStages(config::SimpleCatalog& catalog, const config::PrivacyConfig* privacy) {
  struct Entry {
    const char* type;
    const char* description;
    std::string schema;
  };
  const Entry entries[] = {
      {"map", "rename, copy, set, cast, parse times and drop fields", mapSchema()},
      {"filter", "drop events for which a condition is false", kFilterSchema},
      {"route", "send events to a named sink (or drop them) by condition", kRouteSchema},
      {"mask", "mask personal fields: redact, drop, hmac, tokenize, truncate, generalize",
       kMaskSchema},
      {"consent", "keep events only when their subject allows the required purposes",
       kConsentSchema},
  };
  for (const Entry& e : entries) {
    config::ComponentInfo info;
    info.kind = config::ComponentKind::Stage;
    info.type = e.type;
    info.description = e.description;
    info.schema_json = e.schema;
    info.provider = "builtin";
    Builder b = builderFor(e.type);
    info.check = [b, privacy](const YAML::Node& node, const std::string& file,
                              std::vector<config::Diagnostic>& out) {
      config::Mark fallback;
      fallback.file = file;
      BuildScope scope{file, fallback, &out, privacy};
      runBuilder(b, node, scope, nullptr);
    };
    catalog.add(std::move(info));
  }
}

}  // namespace omniloop::pipeline
