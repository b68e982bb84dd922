// The pipeline file loader (config::parsePipeline: YAML, JSON Schema, semantic checks of the
// built-in stages) and the omniloop.yaml loader (config::parseDaemonConfig) over arbitrary text.
// Their contract: a valid spec or config::ConfigError naming positions; any other exception
// (std::bad_alloc, a yaml-cpp exception, std::out_of_range) escapes and is a finding. A pipeline
// that loads has its map/filter/route stages built as the runtime would.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/catalog.h"
#include "config/loader.h"
#include "config/pipeline_spec.h"
#include "pipeline/stages/builtin.h"

namespace {

using omniloop::config::ComponentInfo;
using omniloop::config::ComponentKind;

ComponentInfo component(ComponentKind kind, const char* type, const char* schema) {
  ComponentInfo i;
  i.kind = kind;
  i.type = type;
  i.schema_json = schema;
  i.provider = "fuzz";
  return i;
}

const omniloop::config::SimpleCatalog& catalog() {
  static const omniloop::config::PrivacyConfig privacy = [] {
    omniloop::config::PrivacyConfig p;
    p.purposes.push_back({"marketing", "consent", {1, 7}, "newsletters", {}});
    p.purposes.push_back({"analytics", "legitimate_interest", {}, "", {}});
    return p;
  }();
  static const omniloop::config::SimpleCatalog c = [] {
    omniloop::config::SimpleCatalog cat;
    const char* file_source = R"({"type": "object", "required": ["path"],
      "additionalProperties": false, "properties": {
        "path": {"type": "string", "minLength": 1}, "header": {"type": "boolean"},
        "delimiter": {"type": "string", "minLength": 1, "maxLength": 1},
        "columns": {"type": "array", "items": {"type": "string"}},
        "key_field": {"type": ["string", "array"]},
        "max_record_bytes": {"type": "integer", "minimum": 1024}}})";
    cat.add(component(ComponentKind::Source, "file.csv", file_source));
    cat.add(component(ComponentKind::Source, "file.jsonl", file_source));
    cat.add(component(ComponentKind::Sink, "cdp", R"({"type": "object",
      "additionalProperties": false, "properties": {
        "phone_country_code": {"type": "string", "pattern": "^\\+[0-9]{1,3}$"}}})"));
    cat.add(component(ComponentKind::Sink, "file.jsonl", R"({"type": "object",
      "required": ["path"], "properties": {"path": {"type": "string"},
      "append": {"type": "boolean"}}})"));
    omniloop::pipeline::registerBuiltinStages(cat, &privacy);
    return cat;
  }();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const omniloop::config::PipelineSpec spec =
        omniloop::config::parsePipeline(text, "fuzz.yaml", catalog());
    omniloop::pipeline::StageContext ctx;
    for (const auto& sink : spec.sinks) ctx.sink_names.push_back(sink.name);
    for (const auto& stage : spec.stages) {
      // mask and consent need a key and a ledger the fuzzer does not have.
      if (stage.type != "map" && stage.type != "filter" && stage.type != "route") continue;
      try {
        (void)omniloop::pipeline::makeBuiltinStage(stage, ctx);
      } catch (const omniloop::config::ConfigError&) {
      }
    }
  } catch (const omniloop::config::ConfigError&) {
  }
  try {
    (void)omniloop::config::parseDaemonConfig(text, "/nonexistent/omniloop.yaml");
  } catch (const omniloop::config::ConfigError&) {
  }
  return 0;
}
