#include "store/cdp_sink.h"

namespace omniloop::store {

namespace {

class CdpSink final : public pipeline::Sink {
 public:
  CdpSink(Store& store, std::string pipeline, std::string source_id)
      : store_(store), pipeline_(std::move(pipeline)), source_id_(std::move(source_id)) {}

  pipeline::Result write(event::Batch& batch) override {
    return store_.writeBatch(pipeline_, source_id_, batch);
  }
  bool commitsCursor() const override { return true; }

 private:
  Store& store_;
  std::string pipeline_;
  std::string source_id_;
};

}  // namespace

void registerCdpSink(config::SimpleCatalog& catalog) {
  config::ComponentInfo info;
  info.kind = config::ComponentKind::Sink;
  info.type = "cdp";
  info.description = "the CDP store (profiles, identities, events) set by omniloop.yaml or --store";
  info.schema_json = R"({"type":"object","properties":{},"additionalProperties":false})";
  info.provider = "builtin";
  catalog.add(std::move(info));
}

std::unique_ptr<pipeline::Sink> makeCdpSink(Store& store, std::string pipeline, std::string source_id) {
  return std::make_unique<CdpSink>(store, std::move(pipeline), std::move(source_id));
}

}  // namespace omniloop::store
