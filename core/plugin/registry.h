#pragma once
// The plugin registry: finds plugin shared libraries, checks each in a throwaway child process,
// loads the good ones with Boost.DLL (for the life of the process), lists their components in
// the config catalog and creates component instances wrapped as pipeline components.
// Everything here runs at configuration time and reports by exception or LoadError.
// Discovery forks one probe child per file: run it before the daemon starts its threads.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/catalog.h"
#include "config/loader.h"
#include "omniloop/plugin.h"
#include "pipeline/component.h"
#include "plugin/host_api.h"
#include "plugin/probe.h"

namespace omniloop::plugin {

class PluginInstance;

struct LoadedPlugin {
  std::string path;  // canonical path of the shared library
  std::string sha256;  // hex digest of the file loaded (read through the descriptor loaded)
  std::string name;
  std::string version;
  uint16_t abi_major = 0;
  uint16_t abi_minor = 0;
  // Host-sized copies of the plugin's component table, read by the size the plugin declares
  // (fields of a later ABI minor than the plugin's are zero). Live for the process.
  std::vector<const ol_component*> components;
  std::vector<std::vector<std::string>> personal_fields;  // per component (ABI 1.1), same order
};

struct LoadError {
  std::string path;    // the file (or directory) concerned
  std::string reason;  // one line, says what is wrong and what to do
};

class Registry {
 public:
  // <dir of /proc/self/exe>/../lib/omniloop/plugins
  static std::string bundledDir();
  // The search order: the bundled dir, then `configured`, then OMNILOOP_PLUGIN_PATH
  // (colon-separated).
  static std::vector<std::string> searchPath(const std::vector<std::string>& configured);

  // Scans searchPath(configured_dirs) in order. A missing bundled dir is silent; a missing
  // configured or OMNILOOP_PLUGIN_PATH dir is a LoadError. Every file found is probed in
  // parallel within one probe budget, then loaded in search order. A pinned plugin (setPins)
  // that was not found is a LoadError naming the pin's position.
  void discover(const std::vector<std::string>& configured_dirs);
  // Loads every *.so in `dir` (sorted by file name; not recursive). A directory that others
  // than root and the service user can write to is refused whole (a LoadError).
  void scanDirectory(const std::string& dir);
  // Probes and loads one file. False (and a LoadError) when it is refused. A file already
  // loaded by this registry is skipped silently (true).
  bool loadFile(const std::string& path);
  // Probes the files in parallel within the probe budget, then loads them in order. Each file
  // is opened once; the descriptor is checked (owner, mode, sha256), probed and loaded.
  void loadFiles(const std::vector<std::string>& paths);

  // omniloop.yaml `plugins: {<name>: {sha256: ...}}`: a plugin of that name whose file has
  // another digest is refused (the reason names the pin's position and both digests).
  void setPins(std::vector<config::PluginPin> pins) { pins_ = std::move(pins); }
  // The time every probe of one scan shares (default kProbeBudgetMs).
  void setProbeBudget(int milliseconds) { probe_budget_ms_ = milliseconds; }

  const std::vector<LoadedPlugin>& plugins() const { return plugins_; }
  const std::vector<LoadError>& errors() const { return errors_; }
  const LoadedPlugin* findPlugin(std::string_view name) const;
  // The component of that kind and type, and the plugin providing it; nullptr when none.
  const ol_component* findComponent(config::ComponentKind kind, std::string_view type,
                                    const LoadedPlugin** provider = nullptr) const;

  // One ComponentInfo per plugin component (provider = plugin name).
  void fillCatalog(config::SimpleCatalog& catalog) const;

  // Create an instance. Throws std::runtime_error: "no plugin provides <kind> type '<type>'",
  // or "create failed: <the plugin's message>".
  std::unique_ptr<pipeline::Source> makeSource(std::string_view type, std::string_view config_json,
                                               InstanceContext ctx) const;
  std::unique_ptr<pipeline::Stage> makeStage(std::string_view type, std::string_view config_json,
                                             InstanceContext ctx) const;
  std::unique_ptr<pipeline::Sink> makeSink(std::string_view type, std::string_view config_json,
                                           InstanceContext ctx) const;

 private:
  std::unique_ptr<PluginInstance> create(config::ComponentKind kind, std::string_view type,
                                         std::string_view config_json, InstanceContext ctx) const;
  void fail(const std::string& path, std::string reason);

  // Loads a probed file into this process. True when the library was loaded (its descriptor
  // then stays open for the process's life, even when the plugin is refused afterwards).
  bool loadProbed(const PluginFile& file, const ProbeResult& probe);
  // The files of `dir` to load; empty (and a LoadError) when the directory is refused.
  std::vector<std::string> listDirectory(const std::string& dir);

  std::vector<LoadedPlugin> plugins_;
  std::vector<LoadError> errors_;
  std::vector<config::PluginPin> pins_;
  std::vector<std::string> mismatched_pins_;  // names whose file was refused by its pin
  int probe_budget_ms_ = kProbeBudgetMs;
};

}  // namespace omniloop::plugin
