#pragma once
// What a command or the daemon needs to run pipelines: the config, the plugins, the catalog of
// component types, the pseudonymisation key and the CDP store. Pipelines are assembled here.
#include <memory>
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
  // The pseudonymisation key file ("" when the key comes from OMNILOOP_KEY).
  std::string keyFilePath() const;
  // The tokenisation vault over the store, with the vault key (vault_key_file, default
  // omniloop.vault.key beside the pseudonymisation key; created with mode 0600 when missing
  // and `create`). Throws std::runtime_error naming the file.
  store::Vault& vault(bool create = true);
  // The vault key alone (the store seals unparsed dead-letter records with it); nullptr when
  // no vault key path can be derived (no key_file, vault_key_file or SQLite store).
  const privacy::VaultCipher* vaultCipher(bool create = true);
  std::string vaultKeyPath() const;
  // The store URI for display: passwords redacted (never print config_.store itself).
  std::string storeUri() const { return store::redactStoreUri(config_.store); }
  // Non-empty when a key was generated on this run (shown once to the user).
  const std::string& generatedKeyPath() const { return generated_key_; }

  config::PipelineSpec loadPipeline(const std::string& path) const;
  std::unique_ptr<pipeline::Executor> build(const config::PipelineSpec& spec,
                                            const pipeline::ExecutorOptions& overrides);

 private:
  config::DaemonConfig config_;
  std::unique_ptr<plugin::Registry> registry_;
  config::SimpleCatalog catalog_;
  std::unique_ptr<privacy::KeyedHasher> hasher_;
  std::unique_ptr<privacy::VaultCipher> vault_cipher_;  // before store_: the store uses it
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::Vault> vault_;
  std::string generated_key_;
};

// The directory holding the running executable (via /proc/self/exe).
std::string executableDir();

}  // namespace omniloop::app
