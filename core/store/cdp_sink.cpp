#include "store/cdp_sink.h"

#include <stdexcept>

#include "config/json_value.h"
#include "privacy/normalize.h"

namespace omniloop::store {

namespace {

class CdpSink final : public pipeline::Sink {
 public:
  CdpSink(Store& store, std::string pipeline, std::string source_id, std::string phone_region)
      : store_(store),
        pipeline_(std::move(pipeline)),
        source_id_(std::move(source_id)),
        phone_region_(phone_region),
        phones_(privacy::NormalizeOptions{std::move(phone_region)}) {}

  pipeline::Result write(event::Batch& batch) override {
    if (!phone_region_.empty()) applyPhoneRegion(batch);
    return store_.writeBatch(pipeline_, source_id_, batch);
  }
  pipeline::Result flush() override { return store_.flush(pipeline_, source_id_); }
  bool commitsCursor() const override { return true; }

 private:
  // Phone numbers written nationally by this pipeline's source become E.164 with the
  // pipeline's country code before the store normalises and pseudonymises them.
  void applyPhoneRegion(event::Batch& batch) {
    for (event::Event& e : batch) {
      if (!e.live()) continue;
      for (event::Identity& id : e.identities) {
        if (id.type != "phone" || id.value.starts_with("+") || id.value.starts_with("h1:")) continue;
        if (phones_.normalize("phone", id.value, scratch_)) {
          id.value = batch.intern(scratch_);
        }
      }
    }
  }

  Store& store_;
  std::string pipeline_;
  std::string source_id_;
  std::string phone_region_;
  privacy::IdentityNormalizer phones_;  // caches libphonenumber's answer per raw value
  std::string scratch_;
};

}  // namespace

void registerCdpSink(config::SimpleCatalog& catalog) {
  config::ComponentInfo info;
  info.kind = config::ComponentKind::Sink;
  info.type = "cdp";
  info.description = "the CDP store (profiles, identities, events) set by omniloop.yaml or --store";
  info.schema_json = R"json({"type":"object","additionalProperties":false,"properties":{
    "phone_country_code":{"type":"string","pattern":"^\\+[1-9][0-9]{0,2}$",
      "description":"calling code for phone numbers this pipeline's source writes without one, e.g. +49",
      "x-hint":"write the calling code with a plus, e.g. \"+49\" (quoted)"}}})json";
  info.provider = "builtin";
  catalog.add(std::move(info));
}

std::unique_ptr<pipeline::Sink> makeCdpSink(Store& store, std::string pipeline, std::string source_id,
                                            std::string_view config_json) {
  std::string region;
  if (!config_json.empty()) {
    const config::JsonValue cfg = config::parseJson(config_json);
    if (const config::JsonValue* v = cfg.get("phone_country_code"); v && v->isString()) {
      if (!privacy::isCallingCode(v->string)) {
        throw std::invalid_argument("cdp: phone_country_code '" + v->string +
                                    "' is not a calling code such as +49");
      }
      region = v->string;
    }
  }
  return std::make_unique<CdpSink>(store, std::move(pipeline), std::move(source_id),
                                   std::move(region));
}

}  // namespace omniloop::store
