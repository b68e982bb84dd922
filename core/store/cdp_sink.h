#pragma once
// The `cdp` sink: writes a pipeline's events into the CDP store. It commits the batch's
// cursor and dead letters in the same transaction as the events (commitsCursor() is true),
// so the executor commits nothing itself for a pipeline whose sink is `cdp`.
#include <memory>
#include <string>
#include <string_view>

#include "config/catalog.h"
#include "pipeline/component.h"
#include "store/store.h"

namespace omniloop::store {

// Adds the `cdp` sink type (config: an empty object; the store comes from the daemon's
// configuration or --store) to `catalog`.
void registerCdpSink(config::SimpleCatalog& catalog);

// A sink over `store` (which must outlive it) for one pipeline and its source id.
// config_json: the sink's `with:` block ({"phone_country_code": "+49"} or empty).
std::unique_ptr<pipeline::Sink> makeCdpSink(Store& store, std::string pipeline, std::string source_id,
                                            std::string_view config_json = {});

}  // namespace omniloop::store
