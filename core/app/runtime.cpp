#include "app/runtime.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "identity/config.h"
#include "pipeline/stages/builtin.h"
#include "plugin/registry.h"
#include "privacy/keyed_hasher.h"
#include "store/cdp_sink.h"
#include "store/store.h"

namespace fs = std::filesystem;

namespace omniloop::app {

namespace {

// A sink that accepts and forgets: for benchmarks and dry runs.
class DiscardSink : public pipeline::Sink {
 public:
  pipeline::Result write(event::Batch&) override { return pipeline::Result::ok(); }
};

std::string resolveConfigPath(const RuntimeOptions& o) {
  if (!o.config_path.empty()) return o.config_path;
  if (const char* env = std::getenv("OMNILOOP_CONFIG"); env && *env) return env;
  if (fs::exists("omniloop.yaml")) return "omniloop.yaml";
  return {};
}

std::string sqlitePath(const std::string& uri) {
  if (uri.rfind("sqlite:", 0) == 0) return uri.substr(7);
  return {};
}

}  // namespace

std::string executableDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

Runtime::Runtime(const RuntimeOptions& options) {
  const std::string path = resolveConfigPath(options);
  if (!path.empty()) {
    config_ = config::loadDaemonConfig(path);
  } else {
    config_ = config::parseDaemonConfig("{}", "(defaults)");
    if (const char* env = std::getenv("OMNILOOP_STORE"); env && *env) config_.store = env;
  }
  if (!options.store_override.empty()) config_.store = options.store_override;

  registry_ = std::make_unique<plugin::Registry>();
  // The bundled dir, then plugin_dirs, then $OMNILOOP_PLUGIN_PATH.
  registry_->discover(config_.plugin_dirs);

  pipeline::registerBuiltinStages(catalog_, &config_.privacy);
  store::registerCdpSink(catalog_);
  config::ComponentInfo discard;
  discard.kind = config::ComponentKind::Sink;
  discard.type = "discard";
  discard.description = "accepts every event and keeps nothing (benchmarks, dry runs)";
  discard.schema_json = R"({"type":"object","additionalProperties":false})";
  discard.provider = "builtin";
  catalog_.add(discard);
  registry_->fillCatalog(catalog_);
}

Runtime::~Runtime() = default;

const privacy::KeyedHasher& Runtime::hasher() {
  if (hasher_) return *hasher_;
  if (auto from_env = privacy::KeyedHasher::fromEnv()) {
    hasher_ = std::make_unique<privacy::KeyedHasher>(*from_env);
    return *hasher_;
  }
  std::string key_file = config_.key_file;
  if (key_file.empty()) {
    const std::string db = sqlitePath(config_.store);
    if (db.empty()) {
      throw std::runtime_error(
          "no pseudonymisation key: set key_file in omniloop.yaml or OMNILOOP_KEY (64 hex digits)");
    }
    key_file = (fs::path(db).parent_path() / "omniloop.key").string();
  }
  if (!fs::exists(key_file)) {
    if (!fs::path(key_file).parent_path().empty()) {
      fs::create_directories(fs::path(key_file).parent_path());
    }
    privacy::KeyedHasher::generateKeyFile(key_file);
    generated_key_ = key_file;
  }
  hasher_ = std::make_unique<privacy::KeyedHasher>(privacy::KeyedHasher::loadKey(key_file));
  return *hasher_;
}

store::Store& Runtime::store() {
  if (!store_) {
    store::StoreOptions o;
    o.hasher = &hasher();
    o.identity = identity::parseConfig(config_.identity_json);  // throws naming identity.<key>
    o.group_commit_events = config_.group_commit_events;
    o.group_commit_ms = config_.group_commit_ms;
    store_ = store::openStore(config_.store, o);
  }
  return *store_;
}

config::PipelineSpec Runtime::loadPipeline(const std::string& path) const {
  return config::loadPipeline(path, catalog_);
}

std::unique_ptr<pipeline::Executor> Runtime::build(const config::PipelineSpec& spec,
                                                   const pipeline::ExecutorOptions& overrides) {
  pipeline::ExecutorOptions options = overrides;
  options.pipeline = spec.name;
  options.source_id = spec.source_id;
  if (options.batch_size == 0) options.batch_size = spec.batch_size;
  options.queue_depth = spec.queue_depth;

  plugin::InstanceContext source_ctx{spec.name, "source " + spec.source.type, nullptr};
  auto source = registry_->makeSource(spec.source.type, spec.source.with_json, source_ctx);

  pipeline::StageContext stage_ctx;
  for (const auto& s : spec.sinks) stage_ctx.sink_names.push_back(s.name);
  // `consent` looks the ledger up by the identities pseudonymised like the store keys them.
  stage_ctx.privacy = &config_.privacy;
  stage_ctx.hasher = &hasher();
  stage_ctx.ledger = &store().consentLedger();
  std::vector<pipeline::NamedStage> stages;
  for (const auto& st : spec.stages) {
    const config::ComponentInfo* info = catalog_.find(config::ComponentKind::Stage, st.type);
    if (info != nullptr && info->provider == "builtin") {
      stages.push_back({st.name, pipeline::makeBuiltinStage(st, stage_ctx)});
    } else {
      plugin::InstanceContext ctx{spec.name, "stage " + st.name, nullptr};
      stages.push_back({st.name, registry_->makeStage(st.type, st.json, ctx)});
    }
  }

  std::vector<pipeline::NamedSink> sinks;
  for (const auto& s : spec.sinks) {
    const std::string& type = s.component.type;
    if (type == "cdp") {
      sinks.push_back({s.name, store::makeCdpSink(store(), spec.name, spec.source_id,
                                                  s.component.with_json)});
    } else if (type == "discard") {
      sinks.push_back({s.name, std::make_unique<DiscardSink>()});
    } else {
      plugin::InstanceContext ctx{spec.name, "sink " + s.name, nullptr};
      sinks.push_back({s.name, registry_->makeSink(type, s.component.with_json, ctx)});
    }
  }
  return std::make_unique<pipeline::Executor>(std::move(options), std::move(source),
                                              std::move(stages), std::move(sinks), &store());
}

}  // namespace omniloop::app
