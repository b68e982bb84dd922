#pragma once
// The built-in stages: map, filter and route (reference: docs/stages.md).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/catalog.h"
#include "config/pipeline_spec.h"
#include "pipeline/component.h"

namespace omniloop::pipeline {

struct StageContext {
  std::vector<std::string> sink_names;  // index i = sink i (0 = default)
};

// True for "map", "filter" and "route".
bool isBuiltinStage(std::string_view type);

// Builds map/filter/route from a validated spec; throws config::ConfigError (with marks inside
// the stage's YAML) on bad config, e.g. a route to a sink that `ctx` does not name.
std::unique_ptr<Stage> makeBuiltinStage(const config::StageSpec& spec, const StageContext& ctx);

// Registers map, filter and route in `catalog` with their JSON Schemas and a `check` that
// parses expressions and ops and reports errors at file:line:column inside the YAML (for an
// expression: the bad token's position). Route targets are checked by makeBuiltinStage.
void registerBuiltinStages(config::SimpleCatalog& catalog);

}  // namespace omniloop::pipeline
