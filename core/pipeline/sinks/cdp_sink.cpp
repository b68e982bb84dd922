#include "pipeline/sinks/cdp_sink.h"

#include <stdexcept>

#include "config/json_value.h"
#include "privacy/normalize.h"

namespace omniloop::pipeline {

namespace {

class CdpSink final : public Sink {
 public:
  CdpSink(store::Store& store, std::string pipeline, std::string source_id,
          std::string phone_region)
      : store_(store),
        pipeline_(std::move(pipeline)),
        source_id_(std::move(source_id)),
        phone_region_(phone_region),
        phones_(privacy::NormalizeOptions{std::move(phone_region)}) {}

  Result write(event::Batch& batch) override {
    if (!phone_region_.empty()) applyPhoneRegion(batch);
    return store_.writeBatch(pipeline_, source_id_, batch);
  }
  Result flush() override { return store_.flush(pipeline_, source_id_); }
  bool commitsCursor() const override { return true; }

 private:
  // Phone numbers written nationally by this pipeline's source become E.164 with the
  // pipeline's country code before the store pseudonymises them. The result is normalised
  // already: it rides on the identity (Identity::setNormalized), so the store's keying does not
  // normalise the number a second time.
  void applyPhoneRegion(event::Batch& batch) {
    for (event::Event& e : batch) {
      if (!e.live()) continue;
      for (event::Identity& id : e.identities) {
        if (id.type != "phone" || id.value.starts_with("+") || id.value.starts_with("h1:"))
          continue;
        if (phones_.normalize("phone", id.value, scratch_)) {
          id.value = batch.intern(scratch_);
          id.setNormalized(id.value);
        }
      }
    }
  }

  store::Store& store_;
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
      "x-hint":"write the calling code with a plus, e.g. \"+49\" (quoted)"},
    "same_id":{"enum":["auto","collision","versions"],"default":"auto",
      "description":"a record under an already stored event id with other content: collision (dead-lettered, the stored event stays: calls, orders), versions (kept as a new version: snapshots such as CRM rows), auto (versions for events without $occurred_at, collision otherwise)",
      "x-hint":"write auto, collision or versions"}}})json";
  info.provider = "builtin";
  catalog.add(std::move(info));
}

std::unique_ptr<Sink> makeCdpSink(store::Store& store, std::string pipeline, std::string source_id,
                                  std::string_view config_json) {
  std::string region;
  int same_id = 0;  // SameIdPolicy::Auto
  if (!config_json.empty()) {
    const config::JsonValue cfg = config::parseJson(config_json);
    if (const config::JsonValue* v = cfg.get("same_id"); v && v->isString()) {
      if (v->string == "collision") {
        same_id = 1;
      } else if (v->string == "versions") {
        same_id = 2;
      } else if (v->string != "auto") {
        throw std::invalid_argument("cdp: same_id '" + v->string +
                                    "' is not one of auto, collision, versions");
      }
    }
    if (const config::JsonValue* v = cfg.get("phone_country_code"); v && v->isString()) {
      if (!privacy::isCallingCode(v->string)) {
        throw std::invalid_argument("cdp: phone_country_code '" + v->string +
                                    "' is not a calling code such as +49");
      }
      region = v->string;
    }
  }
  store.setSameIdPolicy(pipeline, same_id);
  return std::make_unique<CdpSink>(store, std::move(pipeline), std::move(source_id),
                                   std::move(region));
}

}  // namespace omniloop::pipeline
