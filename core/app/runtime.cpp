#include "app/runtime.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>

#include "app/pseudonymising_sink.h"
#include "config/yaml_input.h"
#include "identity/config.h"
#include "pipeline/sinks/cdp_sink.h"
#include "pipeline/stages/builtin.h"
#include "plugin/isolation.h"
#include "plugin/registry.h"
#include "privacy/keyed_hasher.h"
#include "privacy/vault_cipher.h"
#include "store/store.h"
#include "store/subject_rights.h"
#include "store/vault.h"

namespace fs = std::filesystem;

namespace omniloop::app {

namespace {

// A sink that accepts and forgets: for benchmarks and dry runs.
class DiscardSink : public pipeline::Sink {
 public:
  pipeline::Result write(event::Batch&) override { return pipeline::Result::ok(); }
};

// A replay's checkpoints: it starts from the beginning ("" cursor) and commits the batches' dead
// letters with no cursor (its sinks cleared it), so the pipeline's own checkpoint stays put.
class ReplayCheckpoints : public pipeline::CheckpointStore {
 public:
  explicit ReplayCheckpoints(pipeline::CheckpointStore& store) : store_(store) {}
  std::string loadCursor(std::string_view, std::string_view) override { return {}; }
  void commit(std::string_view pipeline, std::string_view source_id,
              const event::Batch& batch) override {
    if (!batch.cursor.empty()) return;  // never happens: the sink wrappers clear it
    store_.commit(pipeline, source_id, batch);
  }

 private:
  pipeline::CheckpointStore& store_;
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

// A plugin loaded from omniloop's own plugin directory (installed with it).
bool isBundledPlugin(const std::string& path) {
  const std::string dir = plugin::Registry::bundledDir();
  if (dir.empty()) return false;
  std::error_code ec;
  return fs::equivalent(fs::path(path).parent_path(), dir, ec);
}

}  // namespace

std::string executableDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

Runtime::Runtime(const RuntimeOptions& options) : read_only_(options.read_only) {
  const std::string path = resolveConfigPath(options);
  if (!path.empty()) {
    config_ = config::loadDaemonConfig(path);
  } else {
    config_ = config::parseDaemonConfig("{}", "(defaults)");
    if (const char* env = std::getenv("OMNILOOP_STORE"); env && *env) config_.store = env;
  }
  if (!options.store_override.empty()) config_.store = options.store_override;

  registry_ = std::make_unique<plugin::Registry>();
  registry_->setPins(config_.plugin_pins);
  // The bundled dir, then plugin_dirs, then $OMNILOOP_PLUGIN_PATH.
  registry_->discover(config_.plugin_dirs);

  pipeline::registerBuiltinStages(catalog_, &config_.privacy);
  pipeline::registerCdpSink(catalog_);
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

store::Vault& Runtime::stageVault() {
  const privacy::VaultCipher* cipher = vaultCipher();
  if (cipher == nullptr) {
    throw std::runtime_error("no vault key: set vault_key_file in omniloop.yaml");
  }
  store::Store& s = store();
  std::lock_guard lock(stage_vaults_mu_);
  stage_vaults_.push_back(std::make_unique<store::Vault>(s, *cipher));
  return *stage_vaults_.back();
}

const privacy::KeyedHasher& Runtime::hasher() {
  if (hasher_) return *hasher_;
  if (auto from_env = privacy::KeyedHasher::fromEnv()) {
    hasher_ = std::make_unique<privacy::KeyedHasher>(*from_env);
    return *hasher_;
  }
  if (config_.key_file.empty() && sqlitePath(config_.store) == ":memory:") {
    // A private in-memory store lives as long as this process: so does its key, which is
    // never written anywhere (nothing stored could be matched with it later anyway).
    std::random_device random;
    std::string key(privacy::KeyedHasher::kMinKeyBytes, '\0');
    for (char& c : key) c = static_cast<char>(random() & 0xff);
    hasher_ = std::make_unique<privacy::KeyedHasher>(key);
    return *hasher_;
  }
  const std::string key_file = keyFilePath();
  if (key_file.empty()) {
    throw std::runtime_error(
        "no pseudonymisation key: set key_file in omniloop.yaml or OMNILOOP_KEY (64 hex digits)");
  }
  if (!fs::exists(key_file) && read_only_) {
    throw std::runtime_error("no pseudonymisation key at " + key_file +
                             " (read-only commands never create one): check key_file in "
                             "omniloop.yaml, $OMNILOOP_KEY or --store");
  }
  if (!fs::exists(key_file)) {
    if (!fs::path(key_file).parent_path().empty()) {
      fs::create_directories(fs::path(key_file).parent_path());
    }
    privacy::KeyedHasher::generateKeyFile(key_file);
    generated_key_ = key_file;
  }
  hasher_ = std::make_unique<privacy::KeyedHasher>(privacy::KeyedHasher::loadKey(key_file));
  if (const std::string previous = previousKeyPath(key_file); fs::exists(previous)) {
    previous_hasher_ =
        std::make_unique<privacy::KeyedHasher>(privacy::KeyedHasher::loadKey(previous));
  }
  return *hasher_;
}

namespace {

// How the store normalises identity values before pseudonymising them; sinks that are not the
// store pseudonymise with the same options (app/pseudonymising_sink.h), so both agree.
privacy::NormalizeOptions normalizeOptions(const config::DaemonConfig&) {
  return {};
}

// A `file.jsonl` sink with `append: false` empties its file when it starts: the source must then
// be read from its start, or the file would lose what earlier runs read (docs/pipelines.md).
bool rewritesItsOutput(const config::SinkSpec& s) {
  if (s.component.type != "file.jsonl" || !s.component.with.IsMap()) return false;
  const YAML::Node append = config::child(s.component.with, "append");
  return append.IsScalar() && (append.Scalar() == "false" || append.Scalar() == "no" ||
                               append.Scalar() == "False" || append.Scalar() == "off");
}

}  // namespace

const privacy::KeyedHasher* Runtime::suppressionKey() {
  if (suppression_key_loaded_) return suppression_key_.get();
  suppression_key_loaded_ = true;
  if (auto from_env = privacy::KeyedHasher::fromEnv("OMNILOOP_SUPPRESSION_KEY")) {
    suppression_key_ = std::make_unique<privacy::KeyedHasher>(*from_env);
    return suppression_key_.get();
  }
  std::string file = config_.suppression_key_file;
  if (file.empty()) {
    fs::path dir;
    if (!config_.key_file.empty()) {
      dir = fs::path(config_.key_file).parent_path();
    } else if (const std::string db = sqlitePath(config_.store); !db.empty() && db != ":memory:") {
      dir = fs::path(db).parent_path();
    } else {
      return nullptr;
    }
    file = (dir / "omniloop.suppression.key").string();
  }
  if (!fs::exists(file) && config_.suppression_key_file.empty()) {
    // Created on first use beside the other key; when that is not possible (a read-only
    // directory) ingestion goes on, and an erasure says which key is missing.
    try {
      if (!fs::path(file).parent_path().empty())
        fs::create_directories(fs::path(file).parent_path());
      privacy::KeyedHasher::generateKeyFile(file);
    } catch (const std::exception&) {
      return nullptr;
    }
  }
  suppression_key_ = std::make_unique<privacy::KeyedHasher>(privacy::KeyedHasher::loadKey(file));
  return suppression_key_.get();
}

store::RightsKeys Runtime::rightsKeys() {
  store::RightsKeys k;
  k.hasher = &hasher();
  k.suppression_key = suppressionKey();
  return k;
}

std::vector<std::string> Runtime::identityTypes() const {
  std::vector<std::string> out;
  for (const identity::TypeRule& r : identity::parseConfig(config_.identity_json).types)
    out.push_back(r.type);
  return out;
}

const privacy::KeyedHasher* Runtime::previousHasher() {
  hasher();
  return previous_hasher_.get();
}

store::Store& Runtime::store() {
  if (!store_) {
    store::StoreOptions o;
    o.normalize = normalizeOptions(config_);
    if (read_only_) {
      const std::string db = sqlitePath(config_.store);
      std::string file = db.starts_with("//") ? db.substr(2) : db;
      if (!file.empty() && file != ":memory:" && !file.starts_with("file:") && !fs::exists(file)) {
        throw std::runtime_error("no CDP store at " + file + " (store " +
                                 store::redactStoreUri(config_.store) +
                                 "; read-only commands never create one): check --store, "
                                 "$OMNILOOP_STORE or store in omniloop.yaml");
      }
      try {
        o.hasher = &hasher();
        o.previous_hasher = previousHasher();
      } catch (const std::runtime_error& e) {
        key_problem_ = e.what();  // counts and listings work without it
      }
      try {
        o.vault = vaultCipher(/*create=*/false);  // an existing vault key, never a new one
      } catch (const std::runtime_error&) {
        o.vault = nullptr;
      }
    } else {
      o.hasher = &hasher();
      o.suppression_key = suppressionKey();
      o.previous_hasher = previousHasher();
      // A private in-memory store writes no key file, the vault's neither.
      const bool memory = sqlitePath(config_.store) == ":memory:";
      o.vault = memory && config_.vault_key_file.empty() ? nullptr : vaultCipher();
    }
    o.raw_retention_us = int64_t{config_.dead_letter_raw_retention_days} * 24 * 3600 * 1000000;
    o.identity = identity::parseConfig(config_.identity_json);  // throws naming identity.<key>
    o.normalize.default_region = o.identity.default_region;
    o.group_commit_events = config_.group_commit_events;
    o.group_commit_ms = config_.group_commit_ms;
    o.cache_profiles = config_.store_cache_profiles;
    o.sqlite_cache_mib = config_.store_cache_sqlite_mib;
    store_ = store::openStore(config_.store, o);
    store_checkpoints_ = std::make_unique<pipeline::StoreCheckpoints>(*store_);
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

bool Runtime::runsIsolated(const std::string& pipeline_isolation,
                           const config::PluginIsolationConfig& config, bool bundled) {
  if (!pipeline_isolation.empty()) return pipeline_isolation == "process";
  if (config.mode != "process") return false;
  return !bundled || config.bundled == "process";
}

std::unique_ptr<pipeline::Executor> Runtime::build(const config::PipelineSpec& spec,
                                                   const pipeline::ExecutorOptions& overrides) {
  return buildReplay(spec, overrides, ReplayHooks{});
}

std::unique_ptr<pipeline::Executor> Runtime::buildReplay(const config::PipelineSpec& spec,
                                                         const pipeline::ExecutorOptions& overrides,
                                                         ReplayHooks hooks) {
  const bool replay = hooks.first_stage != nullptr || hooks.wrap_sink != nullptr;
  pipeline::ExecutorOptions options = overrides;
  options.pipeline = spec.name;
  options.source_id = spec.source_id;
  options.queue_depth = spec.queue_depth;

  // Plugin components run out of process unless the pipeline or omniloop.yaml opts out
  // (plugin/isolation.h): a crash costs the record (or a restart), not the daemon.
  auto isolated = [&](config::ComponentKind kind, const std::string& type,
                      const std::string& json) -> std::optional<plugin::IsolatedPlugin> {
    const plugin::LoadedPlugin* provider = nullptr;
    if (registry_->findComponent(kind, type, &provider) == nullptr) return std::nullopt;
    if (!runsIsolated(spec.isolation, config_.plugin_isolation, isBundledPlugin(provider->path))) {
      return std::nullopt;
    }
    return plugin::IsolatedPlugin{provider->path, provider->name, type,
                                  json.empty() ? std::string("{}") : json};
  };
  auto isolationOptions = [&] {
    plugin::IsolationOptions iso;
    iso.call_timeout = std::chrono::milliseconds(config_.plugin_isolation.call_timeout_ms);
    iso.memory_limit_mb = config_.plugin_isolation.memory_limit_mb;
    iso.max_restarts = config_.plugin_isolation.max_restarts;
    return iso;
  };

  plugin::InstanceContext source_ctx{spec.name, "source " + spec.source.type, nullptr};
  std::unique_ptr<pipeline::Source> source;
  if (auto p = isolated(config::ComponentKind::Source, spec.source.type, spec.source.with_json)) {
    source =
        std::make_unique<plugin::IsolatedSource>(std::move(*p), source_ctx, isolationOptions());
  } else {
    source = registry_->makeSource(spec.source.type, spec.source.with_json, source_ctx);
  }

  pipeline::StageContext stage_ctx;
  for (const auto& s : spec.sinks) stage_ctx.sink_names.push_back(s.name);
  stage_ctx.privacy = &config_.privacy;
  stage_ctx.hasher = &hasher();  // hmac masks and the consent ledger use the store's key
  stage_ctx.ledger = &store().consentLedger();
  stage_ctx.tokenizer = [this]() -> privacy::Tokenizer* { return &stageVault(); };
  std::vector<pipeline::NamedStage> stages;
  if (hooks.first_stage) stages.push_back({"0:replay", std::move(hooks.first_stage)});
  for (const auto& st : spec.stages) {
    const config::ComponentInfo* info = catalog_.find(config::ComponentKind::Stage, st.type);
    if (info != nullptr && info->provider == "builtin") {
      stages.push_back({st.name, pipeline::makeBuiltinStage(st, stage_ctx)});
    } else {
      plugin::InstanceContext ctx{spec.name, "stage " + st.name, nullptr};
      if (auto p = isolated(config::ComponentKind::Stage, st.type, st.json)) {
        stages.push_back({st.name, std::make_unique<plugin::IsolatedStage>(std::move(*p), ctx,
                                                                           isolationOptions())});
      } else {
        stages.push_back({st.name, registry_->makeStage(st.type, st.json, ctx)});
      }
    }
  }

  std::vector<pipeline::NamedSink> sinks;
  for (const auto& s : spec.sinks) {
    const std::string& type = s.component.type;
    if (type == "cdp") {
      sinks.push_back({s.name, pipeline::makeCdpSink(store(), spec.name, spec.source_id,
                                                     s.component.with_json)});
    } else if (type == "discard") {
      sinks.push_back({s.name, std::make_unique<DiscardSink>()});
    } else {
      plugin::InstanceContext ctx{spec.name, "sink " + s.name, nullptr};
      std::unique_ptr<pipeline::Sink> sink;
      if (auto p = isolated(config::ComponentKind::Sink, type, s.component.with_json)) {
        sink = std::make_unique<plugin::IsolatedSink>(std::move(*p), ctx, isolationOptions());
      } else {
        sink = registry_->makeSink(type, s.component.with_json, ctx);
      }
      if (s.clear_identities.empty()) {
        sink = makePseudonymisingSink(std::move(sink), hasher(), normalizeOptions(config_));
      }
      sinks.push_back({s.name, std::move(sink)});
    }
    if (rewritesItsOutput(s)) options.from_start = true;
  }
  store();  // opened above for the stages: its checkpoints adapter with it
  pipeline::CheckpointStore* checkpoints = store_checkpoints_.get();
  if (replay) {
    if (hooks.wrap_sink) {
      for (auto& s : sinks) s.sink = hooks.wrap_sink(std::move(s.sink));
    }
    replay_checkpoints_ = std::make_unique<ReplayCheckpoints>(*store_checkpoints_);
    checkpoints = replay_checkpoints_.get();
  }
  return std::make_unique<pipeline::Executor>(std::move(options), std::move(source),
                                              std::move(stages), std::move(sinks), checkpoints);
}

}  // namespace omniloop::app
