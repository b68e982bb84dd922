#pragma once
// The built-in stages: map, filter, route, mask and consent (reference: docs/stages.md).
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/catalog.h"
#include "config/loader.h"
#include "config/pipeline_spec.h"
#include "pipeline/component.h"
#include "privacy/normalize.h"

namespace omniloop::privacy {
class KeyedHasher;
class ConsentLedger;
}  // namespace omniloop::privacy

namespace omniloop::privacy {
class KeyedHasher;
class Tokenizer;
}  // namespace omniloop::privacy

namespace omniloop::pipeline {

struct StageContext {
  StageContext() = default;
  StageContext(std::vector<std::string> sinks) : sink_names(std::move(sinks)) {}  // NOLINT

  std::vector<std::string> sink_names;  // index i = sink i (0 = default)
  // mask: the store's pseudonymisation key (hmac) and default calling code for phone numbers
  // written nationally; the vault, asked for only when a stage tokenises (may throw). Both
  // must outlive the stage.
  const privacy::KeyedHasher* hasher = nullptr;
  std::string default_region;
  std::function<privacy::Tokenizer*()> tokenizer;
  // consent: the purposes (omniloop.yaml privacy:), the store's normalisation (to look the
  // ledger up by pseudonymised identities, with `hasher`) and the process's consent ledger.
  // Each may be null (no purposes declared; no store).
  const config::PrivacyConfig* privacy = nullptr;
  privacy::NormalizeOptions normalize{};
  privacy::ConsentLedger* ledger = nullptr;
};

// True for "map", "filter", "route", "mask" and "consent".
bool isBuiltinStage(std::string_view type);

// Builds map/filter/route from a validated spec; throws config::ConfigError (with marks inside
// the stage's YAML) on bad config, e.g. a route to a sink that `ctx` does not name.
std::unique_ptr<Stage> makeBuiltinStage(const config::StageSpec& spec, const StageContext& ctx);

// Registers map, filter, route and mask in `catalog` with their JSON Schemas and a `check` that
// parses expressions and ops and reports errors at file:line:column inside the YAML (for an
// expression: the bad token's position). Route targets are checked by makeBuiltinStage.
// `privacy` (may be null: no purposes declared) must outlive the catalog: `consent` checks its
// purpose names against it.
void registerBuiltinStages(config::SimpleCatalog& catalog,
                           const config::PrivacyConfig* privacy = nullptr);

}  // namespace omniloop::pipeline
