#include "app/runtime.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "identity/config.h"
#include "pipeline/stages/builtin.h"
#include "plugin/registry.h"
#include "privacy/keyed_hasher.h"
#include "store/cdp_sink.h"
#include "store/store.h"
#include "store/vault.h"
#include "privacy/vault_cipher.h"

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

  pipeline::registerBuiltinStages(catalog_);
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

std::string Runtime::keyFilePath() const {
  if (!config_.key_file.empty()) return config_.key_file;
  const std::string db = sqlitePath(config_.store);
  if (db.empty()) return {};
  return (fs::path(db).parent_path() / "omniloop.key").string();
}

std::string Runtime::vaultKeyPath() const {
  if (!config_.vault_key_file.empty()) return config_.vault_key_file;
  const std::string key = keyFilePath();
  if (key.empty()) return {};
  return (fs::path(key).parent_path() / "omniloop.vault.key").string();
}

const privacy::VaultCipher* Runtime::vaultCipher(bool create) {
  if (vault_cipher_) return vault_cipher_.get();
  const std::string path = vaultKeyPath();
  if (path.empty()) return nullptr;
  if (!fs::exists(path)) {
    if (!create) {
      throw std::runtime_error("vault key file " + path +
                               " does not exist: tokens can only be reversed with the key they "
                               "were sealed under (set vault_key_file)");
    }
    if (!fs::path(path).parent_path().empty()) fs::create_directories(fs::path(path).parent_path());
    privacy::VaultCipher::generateKeyFile(path);
  }
  vault_cipher_ = std::make_unique<privacy::VaultCipher>(privacy::VaultCipher::loadKey(path));
  return vault_cipher_.get();
}

store::Vault& Runtime::vault(bool create) {
  if (vault_) return *vault_;
  const privacy::VaultCipher* cipher = vaultCipher(create);
  if (cipher == nullptr) {
    throw std::runtime_error("no vault key: set vault_key_file in omniloop.yaml");
  }
  vault_ = std::make_unique<store::Vault>(store(), *cipher);
  return *vault_;
}

const privacy::KeyedHasher& Runtime::hasher() {
  if (hasher_) return *hasher_;
  if (auto from_env = privacy::KeyedHasher::fromEnv()) {
    hasher_ = std::make_unique<privacy::KeyedHasher>(*from_env);
    return *hasher_;
  }
  const std::string key_file = keyFilePath();
  if (key_file.empty()) {
    throw std::runtime_error(
        "no pseudonymisation key: set key_file in omniloop.yaml or OMNILOOP_KEY (64 hex digits)");
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
    o.vault = vaultCipher();
    o.raw_retention_us = int64_t{config_.dead_letter_raw_retention_days} * 24 * 3600 * 1000000;
    o.identity = identity::parseConfig(config_.identity_json);  // throws naming identity.<key>
    o.normalize.default_region = o.identity.default_region;
    o.group_commit_events = config_.group_commit_events;
    o.group_commit_ms = config_.group_commit_ms;
    store_ = store::openStore(config_.store, o);
    // Sealed rows past their retention (unparsable dead-letter records) go when a store opens.
    store_->purgeExpiredVault(std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
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
  for (const auto& st : spec.stages) {
    if (st.type == "mask") stage_ctx.hasher = &hasher();  // hmac masks with the store's key
  }
  stage_ctx.tokenizer = [this]() -> privacy::Tokenizer* { return &vault(); };
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
