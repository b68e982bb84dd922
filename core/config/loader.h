#pragma once
// Loading and validating pipeline files and the daemon/CLI config (omniloop.yaml).
#include <cstdint>
#include <map>
#include <string_view>
#include <string>
#include <vector>

#include "config/catalog.h"
#include "config/pipeline_spec.h"

namespace omniloop::config {

// Parses and validates a pipeline file against schemas/pipeline.schema.json, each component's
// schema from `catalog`, and the catalog's semantic checks. Collects every problem and throws
// ConfigError with all of them (YAML syntax errors included, with their line:column).
PipelineSpec loadPipeline(const std::string& path, const Catalog& catalog);
// Same, from text (tests, stdin); `path` is used in marks only.
PipelineSpec parsePipeline(const std::string& text, const std::string& path,
                           const Catalog& catalog);

struct LogConfig {
  std::string level = "info";   // trace|debug|info|warn|error
  std::string format = "text";  // text|json
  std::string file;             // empty: stderr
};

struct AdminConfig {
  std::string listen = "127.0.0.1:8686";
  std::string token_file;  // empty: admin API only serves /health
  std::string tls_cert_file;  // both set: the admin API speaks HTTPS (PEM files)
  std::string tls_key_file;
  bool allow_insecure = false;       // plain HTTP on a non-loopback listen: warn instead of refusing
  int request_timeout_seconds = 10;  // whole request (header and body)
  int max_connections = 256;
  int max_connections_per_client = 32;
};

// One processing purpose of omniloop.yaml `privacy.purposes` (docs/privacy.md).
struct PurposeConfig {
  std::string name;
  std::string basis;     // consent | legitimate_interest | contract | legal_obligation
  std::vector<int> tcf;  // IAB TCF purpose ids (1..11) that grant it, in file order
  std::string description;
  Mark mark;  // where the purpose is declared
};

// omniloop.yaml `privacy:`: purposes declared once for every pipeline of the process.
struct PrivacyConfig {
  std::vector<PurposeConfig> purposes;  // file order
  uint32_t tcf_vendor_id = 0;           // privacy.tcf.vendor_id; 0 = not set
  const PurposeConfig* find(std::string_view name) const {
    for (const PurposeConfig& p : purposes) {
      if (p.name == name) return &p;
    }
    return nullptr;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const PurposeConfig& p : purposes) out.push_back(p.name);
    return out;
  }
};

// omniloop.yaml `plugins: {<plugin name>: {sha256: <64 hex digits>}}`: the digest the plugin's
// file must have (plugin/registry.h refuses it otherwise).
struct PluginPin {
  std::string name;    // the plugin's name (as `omniloop plugins` lists it)
  std::string sha256;  // lower-case hex
  Mark mark;           // where the sha256 is written
};

// omniloop.yaml `plugin_isolation:` (docs/operations.md, "Plugin isolation").
struct PluginIsolationConfig {
  std::string mode = "process";     // process | in_process; a pipeline's `isolation:` overrides it
  // How the plugins installed with omniloop itself (its bundled plugin directory) run when the
  // pipeline does not say: in_process (built, tested and fuzzed with omniloop; their own speed)
  // or process.
  std::string bundled = "in_process";
  int call_timeout_ms = 10000;      // per call of a plugin stage
  uint64_t memory_limit_mb = 1024;  // per worker process; 0 = unlimited
  int max_restarts = 32;            // worker restarts per batch
};

struct DaemonConfig {
  std::string file;  // the config file's path ("" when defaults)
  std::string store = "sqlite:var/omniloop.db";
  std::vector<std::string> plugin_dirs;  // searched after the bundled dir
  std::vector<PluginPin> plugin_pins;    // `plugins:`, file order
  std::string key_file;                  // HMAC key for pseudonymisation
  std::string suppression_key_file;      // HMAC key of erasure suppressions
  std::string retention_json;            // the `retention:` section as JSON ("" = keep forever)
  std::string purge_interval = "1h";     // omniloopd: time between purge rounds
  size_t purge_max_rows = 10000;         // omniloopd: events deleted per round at most
  std::string vault_key_file;            // AES-256-GCM key of the tokenisation vault
  int dead_letter_raw_retention_days = 30;  // unparsable records kept sealed this long
  std::string pipelines_dir;             // omniloopd: pipelines.d
  LogConfig log;
  AdminConfig admin;
  int shutdown_timeout_seconds = 30;  // omniloopd: drain time allowed on SIGTERM
  // SQLite store group commit bounds (store::StoreOptions::group_commit_*).
  size_t group_commit_events = 131072;
  int group_commit_ms = 2000;
  // The store's memory bounds, `store_cache:` (store::StoreOptions::cache_profiles,
  // sqlite_cache_mib). 0 profiles: the backend's default (8,192 SQLite, 65,536 PostgreSQL/ODBC).
  size_t store_cache_profiles = 0;
  int store_cache_sqlite_mib = 160;
  std::string identity_json;          // the `identity:` section as JSON ("" = defaults; identity/config.h)
  PrivacyConfig privacy;              // the `privacy:` section
  PluginIsolationConfig plugin_isolation;    // the `plugin_isolation:` section
  std::map<std::string, std::string> extra;  // future keys
};

// Relative paths in the file are resolved against the file's directory.
DaemonConfig loadDaemonConfig(const std::string& path);
DaemonConfig parseDaemonConfig(const std::string& text, const std::string& path);

// True when `path` reads as an omniloop.yaml (daemon/CLI config) rather than a pipeline file: a
// YAML map without `source:` holding a config key (store, pipelines_dir, admin, ...). False for
// unreadable or unparsable files. `omniloop validate` uses it to point to --check-config.
bool looksLikeDaemonConfig(const std::string& path);

// Edit distance based suggestion: the closest candidate within a small distance, or "".
std::string closestMatch(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace omniloop::config
