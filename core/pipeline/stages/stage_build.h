#pragma once
// Internal: the builders behind makeBuiltinStage() and the catalog checks. Each builder reads a
// stage body, appends every problem it finds to `scope` and returns the stage (usable only when
// no diagnostic was added).
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/loader.h"
#include "config/pipeline_spec.h"
#include "pipeline/component.h"
#include "pipeline/stages/builtin.h"

namespace omniloop::pipeline {

struct BuildScope {
  std::string file;
  config::Mark fallback;  // where the stage is declared: for nodes without a mark
  std::vector<config::Diagnostic>* out = nullptr;
  const config::PrivacyConfig* privacy = nullptr;  // purposes for `consent` (null: none declared)

  config::Mark mark(const YAML::Node& node) const;
  void error(const YAML::Node& at, std::string message, std::string hint = {});
  void errorAt(const config::Mark& at, std::string message, std::string hint = {});
};

std::unique_ptr<Stage> buildMapStage(const YAML::Node& body, BuildScope& scope);
std::unique_ptr<Stage> buildFilterStage(const YAML::Node& body, BuildScope& scope);
// `ctx` null: a check only (no ledger, no hasher).
std::unique_ptr<Stage> buildConsentStage(const YAML::Node& body, BuildScope& scope,
                                         const StageContext* ctx);
// `ctx` null: sink names are not checked (catalog check before sinks are known).
std::unique_ptr<Stage> buildRouteStage(const YAML::Node& body, BuildScope& scope,
                                       const StageContext* ctx);
// `ctx` null: the key and the vault are not looked up (catalog check, validate).
std::unique_ptr<Stage> buildMaskStage(const YAML::Node& body, BuildScope& scope,
                                      const StageContext* ctx);

}  // namespace omniloop::pipeline
