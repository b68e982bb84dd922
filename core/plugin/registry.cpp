#include "plugin/registry.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>
#include <boost/dll/shared_library.hpp>

#include "plugin/plugin_component.h"
#include "plugin/probe.h"

namespace omniloop::plugin {

namespace fs = std::filesystem;

namespace {

// Loaded libraries stay loaded for the life of the process: component instances and their
// function tables may outlive any one Registry. Deliberately never destroyed.
void keepLoaded(boost::dll::shared_library library) {
  static std::mutex mutex;
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  std::lock_guard<std::mutex> lock(mutex);
  libraries->push_back(std::move(library));
}

// Host-sized copies of plugin components (read by the plugin's declared size), kept for the life
// of the process like the libraries: instances point at them. A deque keeps addresses stable.
const ol_component* keepComponent(const ol_component& c) {
  static std::mutex mutex;
  static auto* components = new std::deque<ol_component>();
  std::lock_guard<std::mutex> lock(mutex);
  components->push_back(c);
  return &components->back();
}

config::ComponentKind toKind(uint32_t kind) {
  switch (kind) {
    case OL_STAGE:
      return config::ComponentKind::Stage;
    case OL_SINK:
      return config::ComponentKind::Sink;
    default:
      return config::ComponentKind::Source;
  }
}

std::string kindText(config::ComponentKind kind) {
  switch (kind) {
    case config::ComponentKind::Source:
      return "source";
    case config::ComponentKind::Stage:
      return "stage";
    case config::ComponentKind::Sink:
      return "sink";
  }
  return "component";
}

bool isCandidate(const fs::directory_entry& entry) {
  std::error_code ec;
  return entry.path().extension() == ".so" && entry.is_regular_file(ec);
}

}  // namespace

std::string Registry::bundledDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return (exe.parent_path() / ".." / "lib" / "omniloop" / "plugins").lexically_normal().string();
}

std::vector<std::string> Registry::searchPath(const std::vector<std::string>& configured) {
  std::vector<std::string> dirs;
  if (std::string bundled = bundledDir(); !bundled.empty()) dirs.push_back(std::move(bundled));
  for (const auto& d : configured) {
    if (!d.empty()) dirs.push_back(d);
  }
  if (const char* env = std::getenv("OMNILOOP_PLUGIN_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      const std::string_view item = rest.substr(0, colon);
      if (!item.empty()) dirs.emplace_back(item);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  return dirs;
}

void Registry::discover(const std::vector<std::string>& configured_dirs) {
  const std::string bundled = bundledDir();
  std::vector<std::string> files;
  for (const std::string& dir : searchPath(configured_dirs)) {
    std::error_code ec;
    if (dir == bundled && !fs::is_directory(dir, ec)) continue;  // not installed: fine
    for (auto& f : listDirectory(dir)) files.push_back(std::move(f));
  }
  loadFiles(files);  // every probe of the search path under one budget
  for (const config::PluginPin& pin : pins_) {
    if (findPlugin(pin.name)) continue;
    // A file of that name refused by the pin has its own LoadError.
    if (std::find(mismatched_pins_.begin(), mismatched_pins_.end(), pin.name) !=
        mismatched_pins_.end()) {
      continue;
    }
    fail(pin.mark.file, pin.mark.str() + ": plugins." + pin.name +
                            ": no plugin of that name was found in the plugin directories "
                            "(install it, or remove the pin)");
  }
}

std::vector<std::string> Registry::listDirectory(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fail(dir, "plugin directory does not exist (check plugin_dirs / OMNILOOP_PLUGIN_PATH)");
    return files;
  }
  if (std::string reason = untrustedDirectory(dir); !reason.empty()) {
    fail(dir, std::move(reason));
    return files;
  }
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    fail(dir, "cannot read plugin directory: " + ec.message());
    return files;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      fail(dir, "cannot read plugin directory: " + ec.message());
      break;
    }
    if (isCandidate(*it)) files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void Registry::scanDirectory(const std::string& dir) {
  loadFiles(listDirectory(dir));
}

void Registry::fail(const std::string& path, std::string reason) {
  spdlog::debug("plugin {}: {}", path, reason);
  errors_.push_back(LoadError{path, std::move(reason)});
}

bool Registry::loadFile(const std::string& file) {
  const size_t before = errors_.size();
  loadFiles({file});
  return errors_.size() == before;
}

void Registry::loadFiles(const std::vector<std::string>& paths) {
  // 1. Open each file once; from here on only the descriptor is used.
  std::vector<PluginFile> files;
  for (const std::string& file : paths) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(file, ec);
    if (ec) {
      fail(file, "cannot open: " + ec.message());
      continue;
    }
    const std::string path = canonical.string();
    bool seen = false;  // the same file reached through two directories
    for (const auto& p : plugins_) seen = seen || p.path == path;
    for (const auto& f : files) seen = seen || f.path == path;
    if (seen) continue;
    PluginFile opened;
    std::string reason;
    if (!openPluginFile(path, &opened, &reason)) {
      fail(path, std::move(reason));
      continue;
    }
    files.push_back(std::move(opened));
  }
  // 2. In child processes, all at once: dlopen, entry point, handshake. Survives crashes and
  // hangs; start-up waits for the budget at most.
  std::vector<const PluginFile*> pointers;
  for (const auto& f : files) pointers.push_back(&f);
  const std::vector<ProbeResult> probes = probeFiles(pointers, probe_budget_ms_);
  // 3. In this process, in search order (the first plugin of a name wins).
  for (size_t i = 0; i < files.size(); ++i) {
    if (!loadProbed(files[i], probes[i])) ::close(files[i].fd);
  }
}

bool Registry::loadProbed(const PluginFile& file, const ProbeResult& probe) {
  const std::string& path = file.path;
  if (!probe.ok) {
    fail(path, probe.reason);
    return false;
  }
  for (const config::PluginPin& pin : pins_) {
    if (pin.name != probe.name || pin.sha256 == file.sha256) continue;
    fail(path, pin.mark.str() + ": plugins." + pin.name + ".sha256 pins " + pin.sha256 +
                   ", but this file's sha256 is " + file.sha256 +
                   ": install the plugin that was pinned, or update the pin");
    mismatched_pins_.push_back(pin.name);
    return false;
  }
  if (const LoadedPlugin* other = findPlugin(probe.name)) {
    fail(path, "plugin '" + probe.name + "' already loaded from " + other->path);
    return false;
  }

  // The same in this process, now that it is known to behave: through the descriptor that was
  // probed and digested, so a file swapped in at the path meanwhile is never loaded.
  const std::string load_path = file.loadPath();
  boost::dll::shared_library library;
  try {
    library.load(boost::dll::fs::path(load_path),
                 boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    std::string what = e.what();
    for (size_t at = what.find(load_path); at != std::string::npos;
         at = what.find(load_path, at + path.size())) {
      what.replace(at, load_path.size(), path);
    }
    fail(path, "cannot load: " + what);
    return false;
  }
  // From here on the library stays loaded, even if refused below (its code has run), and so
  // does its descriptor.
  struct KeepOnExit {
    boost::dll::shared_library& library;
    ~KeepOnExit() { keepLoaded(std::move(library)); }
  } keep{library};
  const boost::dll::shared_library& lib = library;
  if (!lib.has(OMNILOOP_PLUGIN_ENTRY_SYMBOL)) {
    fail(path, "missing entry point '" OMNILOOP_PLUGIN_ENTRY_SYMBOL "'");
    return true;
  }
  const ol_plugin_descriptor* d = nullptr;
  try {
    auto& entry =
        lib.get<const ol_plugin_descriptor*(uint16_t, uint16_t)>(OMNILOOP_PLUGIN_ENTRY_SYMBOL);
    d = entry(OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR);
  } catch (const std::exception& e) {
    fail(path, std::string("entry point failed: ") + e.what());
    return true;
  } catch (...) {
    fail(path, "entry point threw an unknown exception");
    return true;
  }
  if (std::string reason = validateDescriptor(d); !reason.empty()) {
    fail(path, std::move(reason));
    return true;
  }
  if (const LoadedPlugin* other = findPlugin(d->name)) {
    fail(path, "plugin '" + std::string(d->name) + "' already loaded from " + other->path);
    return true;
  }

  LoadedPlugin plugin;
  const ol_plugin_descriptor desc = readDescriptor(d);  // by the size the plugin declares
  plugin.path = path;
  plugin.sha256 = file.sha256;
  plugin.name = desc.name;
  plugin.version = desc.version;
  plugin.abi_major = desc.abi_major;
  plugin.abi_minor = desc.abi_minor;
  for (size_t i = 0; i < d->component_count; ++i) {
    // Never d->components[i]: that would step by this host's sizeof(ol_component).
    const ol_component* c = keepComponent(readComponent(d, i));
    const LoadedPlugin* owner = nullptr;
    if (findComponent(toKind(c->kind), c->type, &owner)) {
      fail(path, "plugin '" + plugin.name + "': " + kindText(toKind(c->kind)) + " type '" +
                     c->type + "' is already provided by plugin '" + owner->name + "' (" +
                     owner->path + ")");
      return true;
    }
    plugin.components.push_back(c);
    plugin.personal_fields.push_back(personalFields(*c));
  }
  spdlog::debug("loaded plugin {} {} from {} (sha256 {})", plugin.name, plugin.version, plugin.path,
                plugin.sha256);
  plugins_.push_back(std::move(plugin));
  return true;
}

const LoadedPlugin* Registry::findPlugin(std::string_view name) const {
  for (const auto& p : plugins_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const ol_component* Registry::findComponent(config::ComponentKind kind, std::string_view type,
                                            const LoadedPlugin** provider) const {
  for (const auto& p : plugins_) {
    for (const ol_component* c : p.components) {
      if (toKind(c->kind) == kind && type == c->type) {
        if (provider) *provider = &p;
        return c;
      }
    }
  }
  return nullptr;
}

void Registry::fillCatalog(config::SimpleCatalog& catalog) const {
  for (const auto& p : plugins_) {
    for (size_t i = 0; i < p.components.size(); ++i) {
      const ol_component* c = p.components[i];
      config::ComponentInfo info;
      info.personal_fields = p.personal_fields[i];
      info.kind = toKind(c->kind);
      info.type = c->type;
      info.description = c->description ? c->description : "";
      info.schema_json =
          c->config_schema && *c->config_schema ? c->config_schema : R"({"type":"object"})";
      info.provider = p.name;
      catalog.add(std::move(info));
    }
  }
}

std::unique_ptr<PluginInstance> Registry::create(config::ComponentKind kind, std::string_view type,
                                                 std::string_view config_json,
                                                 InstanceContext ctx) const {
  const ol_component* c = findComponent(kind, type);
  if (!c) {
    throw std::runtime_error("no plugin provides " + kindText(kind) + " type '" +
                             std::string(type) + "'");
  }
  auto context = std::make_unique<HostContext>(std::move(ctx), std::string(type));
  // The plugin gets a NUL-terminated copy (some plugins will hand it to C parsers).
  const std::string json = config_json.empty() ? std::string("{}") : std::string(config_json);
  char err[kErrorBufferSize];
  err[0] = '\0';
  void* instance = nullptr;
  int status = OL_ERROR;
  std::string thrown;
  try {
    status =
        c->create(hostApi(), context.get(), json.c_str(), json.size(), &instance, err, sizeof err);
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "unknown exception";
  }
  err[sizeof err - 1] = '\0';
  if (!thrown.empty()) {
    throw std::runtime_error("create failed: " + thrown);
  }
  if (status != OL_OK) {
    // A plugin that failed may still have handed back an instance: release it.
    if (instance && c->destroy) {
      try {
        c->destroy(instance);
      } catch (...) {
      }
    }
    std::string message = err;
    if (message.empty()) message = "status " + std::to_string(status) + " without a message";
    throw std::runtime_error("create failed: " + message);
  }
  return std::make_unique<PluginInstance>(c, instance, std::move(context));
}

std::unique_ptr<pipeline::Source> Registry::makeSource(std::string_view type,
                                                       std::string_view config_json,
                                                       InstanceContext ctx) const {
  return std::make_unique<PluginSource>(
      create(config::ComponentKind::Source, type, config_json, std::move(ctx)));
}

std::unique_ptr<pipeline::Stage> Registry::makeStage(std::string_view type,
                                                     std::string_view config_json,
                                                     InstanceContext ctx) const {
  return std::make_unique<PluginStage>(
      create(config::ComponentKind::Stage, type, config_json, std::move(ctx)));
}

std::unique_ptr<pipeline::Sink> Registry::makeSink(std::string_view type,
                                                   std::string_view config_json,
                                                   InstanceContext ctx) const {
  return std::make_unique<PluginSink>(
      create(config::ComponentKind::Sink, type, config_json, std::move(ctx)));
}

}  // namespace omniloop::plugin
