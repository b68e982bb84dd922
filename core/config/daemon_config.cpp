// omniloop.yaml: checked against schemas/omniloop.schema.json; relative paths are taken from
// the file's directory so the daemon behaves the same whatever its working directory.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "config/identity_types.h"
#include "config/json_value.h"
#include "config/loader.h"
#include "config/schemas.h"
#include "config/suggest.h"
#include "config/yaml_input.h"

namespace omniloop::config {

namespace {

namespace fs = std::filesystem;

const Schema& daemonSchema() {
  static const Schema schema = Schema::parse(embeddedSchema("omniloop.schema.json"));
  return schema;
}

std::string resolvePath(const fs::path& base, const std::string& p) {
  if (p.empty() || base.empty()) return p;
  const fs::path path(p);
  if (path.is_absolute()) return p;
  return (base / path).lexically_normal().string();
}

// "sqlite:<path>" with a relative path is resolved like a file path; other stores (and
// "sqlite::memory:", "sqlite:file:...") are left alone.
std::string resolveStore(const fs::path& base, const std::string& store) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (store.compare(0, kSqlite.size(), kSqlite) != 0) return store;
  const std::string rest = store.substr(kSqlite.size());
  if (rest.empty() || rest == ":memory:" || rest.compare(0, 5, "file:") == 0 || rest[0] == '/') {
    return store;
  }
  return std::string(kSqlite) + resolvePath(base, rest);
}

void setString(const YAML::Node& map, const char* key, std::string& out) {
  if (!map.IsMap()) return;
  if (const YAML::Node n = child(map, key); n.IsScalar()) out = n.Scalar();
}

bool identifierLike(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Identity type names in `identity:` that are most likely typos: a type declared under
// `types:` whose name is close to a built-in one (unless it says `custom: true`), and a
// "type:value" blocklist entry naming no known type. Either would silently lose a guard.
void checkIdentityTypes(const YAML::Node& identity, const std::string& file,
                        std::vector<Diagnostic>& out) {
  std::vector<std::string> builtin(std::begin(kBuiltinIdentityTypes),
                                   std::end(kBuiltinIdentityTypes));
  std::vector<std::string> known = builtin;
  if (const YAML::Node types = child(identity, "types"); types.IsMap()) {
    for (const auto& entry : types) {
      if (!entry.first.IsScalar()) continue;
      const std::string name = entry.first.Scalar();
      known.push_back(name);
      if (std::find(builtin.begin(), builtin.end(), name) != builtin.end()) continue;
      if (const YAML::Node custom = child(entry.second, "custom");
          custom.IsScalar() && custom.Scalar() == "true") {
        continue;
      }
      const std::string close = closestMatch(name, builtin);
      if (close.empty()) continue;  // a new type with a name of its own
      out.push_back(
          {markOf(entry.first, file),
           "identity.types: unknown identity type '" + name + "' (its rule would guard nothing " +
               "omniloop calls '" + close + "')",
           "did you mean '" + close + "'? To declare a new type of this name, add `custom: true`"});
    }
  }
  if (const YAML::Node list = child(identity, "blocklist"); list.IsSequence()) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].IsScalar()) continue;
      const std::string& entry = list[i].Scalar();
      const size_t colon = entry.find(':');
      if (colon == std::string::npos) continue;
      const std::string type = entry.substr(0, colon);
      if (!identifierLike(type) || std::find(known.begin(), known.end(), type) != known.end())
        continue;
      out.push_back({markOf(list[i], file),
                     "identity.blocklist: '" + type +
                         ":...' names no identity type, so it would block nothing",
                     didYouMeanAndKnown(type, known, "identity types")});
    }
  }
}

// `privacy:` (already checked by the schema): purposes in file order with their marks; a
// purpose mapped to TCF purposes needs privacy.tcf.vendor_id.
void readPrivacy(const YAML::Node& root, const std::string& path, PrivacyConfig& out) {
  const YAML::Node privacy = child(root, "privacy");
  if (!privacy.IsMap()) return;
  const Mark file_mark{path, 1, 1};
  if (const YAML::Node tcf = child(privacy, "tcf"); tcf.IsMap()) {
    if (const YAML::Node id = child(tcf, "vendor_id"); id.IsScalar()) {
      out.tcf_vendor_id = static_cast<uint32_t>(std::stoul(id.Scalar()));
    }
  }
  const YAML::Node purposes = child(privacy, "purposes");
  if (!purposes.IsMap()) return;
  std::vector<Diagnostic> diags;
  for (auto it = purposes.begin(); it != purposes.end(); ++it) {
    PurposeConfig p;
    p.name = it->first.Scalar();
    p.mark = keyMark(purposes, p.name, path, file_mark);
    const YAML::Node body = it->second;
    setString(body, "basis", p.basis);
    setString(body, "description", p.description);
    if (const YAML::Node ids = child(body, "tcf"); ids.IsSequence()) {
      for (size_t i = 0; i < ids.size(); ++i) p.tcf.push_back(std::stoi(ids[i].Scalar()));
    }
    if (!p.tcf.empty() && out.tcf_vendor_id == 0) {
      diags.push_back({p.mark,
                       "purpose '" + p.name +
                           "' is granted by TCF purposes but privacy.tcf.vendor_id is not set",
                       "set privacy: { tcf: { vendor_id: <your IAB Global Vendor List id> } }: a "
                       "TC string grants a purpose only together with the vendor's own bit"});
    }
    out.purposes.push_back(std::move(p));
  }
  if (!diags.empty()) throw ConfigError(std::move(diags));
}

}  // namespace

DaemonConfig parseDaemonConfig(const std::string& text, const std::string& path) {
  DaemonConfig cfg;
  cfg.file = path;
  const YAML::Node root = parseYaml(text, path);
  std::vector<Diagnostic> diags;
  daemonSchema().validate(root, path, "", Mark{path, 1, 1}, diags);
  if (diags.empty()) {
    if (const YAML::Node identity = child(root, "identity"); identity.IsMap()) {
      checkIdentityTypes(identity, path, diags);
    }
  }
  if (!diags.empty()) throw ConfigError(std::move(diags));

  fs::path base;
  if (!path.empty()) base = fs::absolute(fs::path(path)).parent_path();

  if (root.IsMap()) {
    std::string store;
    setString(root, "store", store);
    if (!store.empty()) cfg.store = resolveStore(base, store);
    if (const YAML::Node dirs = child(root, "plugin_dirs"); dirs.IsSequence()) {
      for (size_t i = 0; i < dirs.size(); ++i) {
        if (dirs[i].IsScalar()) cfg.plugin_dirs.push_back(resolvePath(base, dirs[i].Scalar()));
      }
    } else if (dirs.IsScalar()) {
      cfg.plugin_dirs.push_back(resolvePath(base, dirs.Scalar()));
    }
    if (const YAML::Node plugins = child(root, "plugins"); plugins.IsMap()) {
      for (auto it = plugins.begin(); it != plugins.end(); ++it) {
        const YAML::Node sha = child(it->second, "sha256");
        if (!it->first.IsScalar() || !sha.IsScalar()) continue;
        PluginPin pin;
        pin.name = it->first.Scalar();
        pin.sha256 = sha.Scalar();
        for (char& c : pin.sha256)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        pin.mark = markOf(sha, path);
        cfg.plugin_pins.push_back(std::move(pin));
      }
    }
    setString(root, "key_file", cfg.key_file);
    cfg.key_file = resolvePath(base, cfg.key_file);
    setString(root, "suppression_key_file", cfg.suppression_key_file);
    cfg.suppression_key_file = resolvePath(base, cfg.suppression_key_file);
    if (const YAML::Node retention = child(root, "retention"); retention.IsMap()) {
      const JsonValue all = parseJson(daemonSchema().toJson(root));
      if (const JsonValue* section = all.get("retention")) appendJson(cfg.retention_json, *section);
    }
    const YAML::Node purge = child(root, "purge");
    setString(purge, "interval", cfg.purge_interval);
    std::string max_rows;
    setString(purge, "max_rows", max_rows);
    if (!max_rows.empty()) cfg.purge_max_rows = std::stoul(max_rows);
    setString(root, "vault_key_file", cfg.vault_key_file);
    cfg.vault_key_file = resolvePath(base, cfg.vault_key_file);
    {
      std::string days;
      setString(child(root, "dead_letters"), "raw_retention_days", days);
      if (!days.empty()) cfg.dead_letter_raw_retention_days = std::stoi(days);  // schema-checked
    }
    setString(root, "pipelines_dir", cfg.pipelines_dir);
    cfg.pipelines_dir = resolvePath(base, cfg.pipelines_dir);
    const YAML::Node log = child(root, "log");
    setString(log, "level", cfg.log.level);
    setString(log, "format", cfg.log.format);
    setString(log, "file", cfg.log.file);
    cfg.log.file = resolvePath(base, cfg.log.file);
    const YAML::Node admin = child(root, "admin");
    setString(admin, "listen", cfg.admin.listen);
    setString(admin, "token_file", cfg.admin.token_file);
    cfg.admin.token_file = resolvePath(base, cfg.admin.token_file);
    setString(admin, "tls_cert_file", cfg.admin.tls_cert_file);
    cfg.admin.tls_cert_file = resolvePath(base, cfg.admin.tls_cert_file);
    setString(admin, "tls_key_file", cfg.admin.tls_key_file);
    cfg.admin.tls_key_file = resolvePath(base, cfg.admin.tls_key_file);
    {
      std::string v;
      setString(admin, "allow_insecure", v);
      cfg.admin.allow_insecure = v == "true";  // a boolean, checked by the schema
      for (auto [key, out] : {std::pair{"request_timeout_seconds", &cfg.admin.request_timeout_seconds},
                              std::pair{"max_connections", &cfg.admin.max_connections},
                              std::pair{"max_connections_per_client",
                                        &cfg.admin.max_connections_per_client}}) {
        v.clear();
        setString(admin, key, v);
        if (!v.empty()) *out = std::stoi(v);  // range checked by the schema
      }
    }
    std::string timeout;
    setString(root, "shutdown_timeout_seconds", timeout);
    if (!timeout.empty()) cfg.shutdown_timeout_seconds = std::stoi(timeout);
    const YAML::Node group = child(root, "group_commit");
    std::string value;
    setString(group, "max_events", value);
    if (!value.empty()) cfg.group_commit_events = std::stoul(value);  // range checked by the schema
    value.clear();
    setString(group, "max_ms", value);
    if (!value.empty()) cfg.group_commit_ms = std::stoi(value);
    const YAML::Node cache = child(root, "store_cache");
    value.clear();
    setString(cache, "profiles", value);
    if (!value.empty())
      cfg.store_cache_profiles = std::stoul(value);  // range checked by the schema
    value.clear();
    setString(cache, "sqlite_mib", value);
    if (!value.empty()) cfg.store_cache_sqlite_mib = std::stoi(value);
    if (const YAML::Node identity = child(root, "identity"); identity.IsMap()) {
      // Typed by the schema (a quoted or plain "0000000000" stays text), read by identity/.
      const JsonValue all = parseJson(daemonSchema().toJson(root));
      if (const JsonValue* section = all.get("identity")) appendJson(cfg.identity_json, *section);
    }
    readPrivacy(root, path, cfg.privacy);
    if (const YAML::Node iso = child(root, "plugin_isolation"); iso.IsMap()) {
      // Types and ranges checked by the schema.
      std::string v;
      setString(iso, "mode", cfg.plugin_isolation.mode);
      setString(iso, "bundled", cfg.plugin_isolation.bundled);
      setString(iso, "call_timeout_ms", v);
      if (!v.empty()) cfg.plugin_isolation.call_timeout_ms = std::stoi(v);
      v.clear();
      setString(iso, "memory_limit_mb", v);
      if (!v.empty()) cfg.plugin_isolation.memory_limit_mb = std::stoull(v);
      v.clear();
      setString(iso, "max_restarts", v);
      if (!v.empty()) cfg.plugin_isolation.max_restarts = std::stoi(v);
    }
  }

  if (const char* env = std::getenv("OMNILOOP_STORE"); env != nullptr && *env != '\0') {
    cfg.store = env;
  }
  return cfg;
}

DaemonConfig loadDaemonConfig(const std::string& path) {
  return parseDaemonConfig(readConfigFile(path, "config file"), path);
}

bool looksLikeDaemonConfig(const std::string& path) {
  try {
    const YAML::Node root = parseYaml(readConfigFile(path, "config file"), path);
    if (!root.IsMap() || child(root, "source").IsDefined()) return false;
    for (const char* key :
         {"store", "pipelines_dir", "admin", "plugin_dirs", "plugins", "key_file",
          "shutdown_timeout_seconds", "group_commit", "store_cache", "identity", "log"}) {
      if (child(root, key).IsDefined()) return true;
    }
  } catch (const std::exception&) {
  }
  return false;
}

}  // namespace omniloop::config
