#pragma once
// The `cdp` sink: writes a pipeline's events into the CDP store. It commits the batch's
// cursor and dead letters in the same transaction as the events (commitsCursor() is true),
// so the executor commits nothing itself for a pipeline whose sink is `cdp`.
// The pipeline layer uses the store here; the store never includes pipeline headers.
#include <memory>
#include <string>
#include <string_view>

#include "config/catalog.h"
#include "pipeline/component.h"
#include "store/store.h"

namespace omniloop::pipeline {

// Adds the `cdp` sink type (config: an empty object; the store comes from the daemon's
// configuration or --store) to `catalog`.
void registerCdpSink(config::SimpleCatalog& catalog);

// A sink over `store` (which must outlive it) for one pipeline and its source id.
// config_json: the sink's `with:` block ({"phone_country_code": "+49"} or empty).
std::unique_ptr<Sink> makeCdpSink(store::Store& store, std::string pipeline, std::string source_id,
                                  std::string_view config_json = {});

// The executor's checkpoints in the CDP store (`store` must outlive it): loadCursor and
// commit (a batch's dead letters and its cursor in one transaction) as the store does them.
class StoreCheckpoints final : public CheckpointStore {
 public:
  explicit StoreCheckpoints(store::Store& store) : store_(store) {}
  std::string loadCursor(std::string_view pipeline, std::string_view source_id) override {
    return store_.loadCursor(pipeline, source_id);
  }
  void commit(std::string_view pipeline, std::string_view source_id,
              const event::Batch& batch) override {
    store_.commit(pipeline, source_id, batch);
  }

 private:
  store::Store& store_;
};

}  // namespace omniloop::pipeline
