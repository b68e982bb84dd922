#pragma once
// What a command or the daemon needs to run pipelines: the config, the plugins, the catalog of
// component types, the pseudonymisation key and the CDP store. Pipelines are assembled here.
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/catalog.h"
#include "config/loader.h"
#include "pipeline/executor.h"
#include "store/store.h"

namespace omniloop::plugin {
class Registry;
}
namespace omniloop::store {
class Store;
struct RightsKeys;
class Vault;
}  // namespace omniloop::store
namespace omniloop::privacy {
class KeyedHasher;
class VaultCipher;
}  // namespace omniloop::privacy

namespace omniloop::app {

struct RuntimeOptions {
  std::string config_path;     // --config; "" = $OMNILOOP_CONFIG, ./omniloop.yaml, or defaults
  std::string store_override;  // --store
  // Read-only commands (stats, profile, dead-letters list/show): never create a store file or
  // a key file. A SQLite store that does not exist is an error naming its path; a missing key
  // leaves the store without a hasher (keyProblem() says why).
  bool read_only = false;
};

// How `omniloop dead-letters replay` bends a pipeline (Runtime::build): read the source from its
// beginning without committing a cursor, run a stage first, and watch what each sink did.
struct ReplayHooks {
  // Runs before the pipeline's own stages (it sees every event, also the source's dead letters).
  std::unique_ptr<pipeline::Stage> first_stage;
  // Wraps each sink (the wrapper must clear batch.cursor before the inner write: a replay
  // never moves the pipeline's checkpoint).
  std::function<std::unique_ptr<pipeline::Sink>(std::unique_ptr<pipeline::Sink>)> wrap_sink;
};

class Runtime {
 public:
  // Loads the config and discovers plugins. Throws config::ConfigError / std::runtime_error.
  explicit Runtime(const RuntimeOptions& options);
  ~Runtime();

  const config::DaemonConfig& config() const { return config_; }
  const config::Catalog& catalog() const { return catalog_; }
  plugin::Registry& registry() { return *registry_; }
  // Opens the store (and its key) on first use.
  store::Store& store();
  const privacy::KeyedHasher& hasher();
  // The key of erasure suppressions (store/suppressions.h): $OMNILOOP_SUPPRESSION_KEY, the
  // file suppression_key_file, or omniloop.suppression.key beside key_file or the SQLite store
  // (created when missing); nullptr when none of these applies.
  const privacy::KeyedHasher* suppressionKey();
  // What the data subject's rights need (store/subject_rights.h).
  store::RightsKeys rightsKeys();
  // The configured identity types (omniloop.yaml identity.types and the defaults).
  std::vector<std::string> identityTypes() const;
  // The pseudonymisation key file ("" when the key comes from OMNILOOP_KEY).
  std::string keyFilePath() const;
  // During a key rotation, the previous key (<key file>.previous, see `omniloop keys`);
  // nullptr otherwise. Loaded with hasher().
  const privacy::KeyedHasher* previousHasher();
  static std::string previousKeyPath(const std::string& key_file) { return key_file + ".previous"; }
  // The tokenisation vault over the store, with the vault key (vault_key_file, default
  // omniloop.vault.key beside the pseudonymisation key; created with mode 0600 when missing
  // and `create`). Throws std::runtime_error naming the file.
  store::Vault& vault(bool create = true);
  // A vault of its own for one mask stage (a Vault buffers a batch's rows, so stages running on
  // different threads never share one); lives as long as the runtime.
  store::Vault& stageVault();
  // The vault key alone (the store seals unparsed dead-letter records with it); nullptr when
  // no vault key path can be derived (no key_file, vault_key_file or SQLite store).
  const privacy::VaultCipher* vaultCipher(bool create = true);
  std::string vaultKeyPath() const;
  // The store URI for display: passwords redacted (never print config_.store itself).
  std::string storeUri() const { return store::redactStoreUri(config_.store); }
  // Non-empty when a key was generated on this run (shown once to the user).
  const std::string& generatedKeyPath() const { return generated_key_; }
  // Read-only runtimes: why the store was opened without a pseudonymisation key ("" when it
  // has one). Looking up a clear identity value then cannot work.
  const std::string& keyProblem() const { return key_problem_; }

  config::PipelineSpec loadPipeline(const std::string& path) const;
  // Whether a plugin component runs in a worker process (docs/operations.md, "Plugin
  // isolation"): a pipeline's `isolation:` decides for all its plugins; otherwise
  // plugin_isolation.mode does, except that plugins bundled with omniloop follow
  // plugin_isolation.bundled (when mode is process).
  static bool runsIsolated(const std::string& pipeline_isolation,
                           const config::PluginIsolationConfig& config, bool bundled);
  // `overrides` as the caller sets them: batch_size included (callers pass the pipeline's
  // `batch: { size }` unless told otherwise, e.g. `omniloop run --batch`).
  std::unique_ptr<pipeline::Executor> build(const config::PipelineSpec& spec,
                                            const pipeline::ExecutorOptions& overrides);
  // A replay run: from the source's beginning, the committed cursor neither read nor moved.
  std::unique_ptr<pipeline::Executor> buildReplay(const config::PipelineSpec& spec,
                                                  const pipeline::ExecutorOptions& overrides,
                                                  ReplayHooks hooks);

 private:
  config::DaemonConfig config_;
  bool read_only_ = false;
  std::string key_problem_;
  std::unique_ptr<plugin::Registry> registry_;
  config::SimpleCatalog catalog_;
  std::unique_ptr<privacy::KeyedHasher> hasher_;
  std::unique_ptr<privacy::KeyedHasher> suppression_key_;
  bool suppression_key_loaded_ = false;
  std::unique_ptr<privacy::KeyedHasher> previous_hasher_;
  std::unique_ptr<privacy::VaultCipher> vault_cipher_;  // before store_: the store uses it
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<pipeline::CheckpointStore> store_checkpoints_;  // over store_, for executors
  std::unique_ptr<pipeline::CheckpointStore> replay_checkpoints_;
  std::unique_ptr<store::Vault> vault_;
  std::mutex stage_vaults_mu_;
  std::vector<std::unique_ptr<store::Vault>> stage_vaults_;
  std::string generated_key_;
};

// The directory holding the running executable (via /proc/self/exe).
std::string executableDir();

}  // namespace omniloop::app
