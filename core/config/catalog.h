#pragma once
// What component types exist and how their configuration is checked. The plugin registry and
// the built-in components fill one Catalog; config validation only reads it.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace omniloop::config {

enum class ComponentKind { Source, Stage, Sink };
std::string_view toString(ComponentKind k);

struct Diagnostic;

struct ComponentInfo {
  ComponentKind kind = ComponentKind::Source;
  std::string type;         // "file.csv", "map", "cdp"
  std::string description;  // one line
  std::string schema_json;  // JSON Schema of the config block ("with:" or the stage body)
  std::string provider;     // "builtin" or the plugin name
  // Sources: attribute paths of personal data its events carry, as the component declares them
  // (plugin ABI 1.1). Checked by validate like a pipeline's own `personal:` list.
  std::vector<std::string> personal_fields;
  // Optional semantic check beyond the schema (e.g. parse a filter expression); appends
  // diagnostics with marks inside `node`. `file` is the YAML file's path.
  std::function<void(const YAML::Node& node, const std::string& file,
                     std::vector<Diagnostic>& out)>
      check;
};

class Catalog {
 public:
  virtual ~Catalog() = default;
  virtual const ComponentInfo* find(ComponentKind kind, std::string_view type) const = 0;
  virtual std::vector<std::string> types(ComponentKind kind) const = 0;
};

// A Catalog backed by a list; the app merges built-ins and plugins into one.
class SimpleCatalog : public Catalog {
 public:
  void add(ComponentInfo info) { items_.push_back(std::move(info)); }
  const ComponentInfo* find(ComponentKind kind, std::string_view type) const override;
  std::vector<std::string> types(ComponentKind kind) const override;
  const std::vector<ComponentInfo>& items() const { return items_; }

 private:
  std::vector<ComponentInfo> items_;
};

}  // namespace omniloop::config
