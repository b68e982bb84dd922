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

namespace omniloop::plugin {
class Registry;
}
namespace omniloop::store {
class Store;
struct RightsKeys;
}
namespace omniloop::privacy {
class KeyedHasher;
}

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
  // The key of erasure suppressions (store/suppressions.h): $OMNILOOP_SUPPRESSION_KEY, the
  // file suppression_key_file, or omniloop.suppression.key beside key_file or the SQLite store
  // (created when missing); nullptr when none of these applies.
  const privacy::KeyedHasher* suppressionKey();
  // What the data subject's rights need (store/subject_rights.h).
  store::RightsKeys rightsKeys();
  // The configured identity types (omniloop.yaml identity.types and the defaults).
  std::vector<std::string> identityTypes() const;
  std::string storeUri() const { return config_.store; }
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
  std::unique_ptr<privacy::KeyedHasher> suppression_key_;
  bool suppression_key_loaded_ = false;
  std::unique_ptr<store::Store> store_;
  std::string generated_key_;
};

// The directory holding the running executable (via /proc/self/exe).
std::string executableDir();

}  // namespace omniloop::app
