#pragma once
// A validated pipeline file, ready to build. Produced by loadPipeline() (config/loader.h).
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace omniloop::config {

struct Mark {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string str() const;  // "file:line:column"
};

struct Diagnostic {
  Mark mark;
  std::string message;  // what is wrong and what was expected
  std::string hint;     // what to do ("did you mean 'path'?", "known types: a, b")
  // "file:line:col: error: message\n  hint: ..." (hint line only when set)
  std::string format() const;
};

// Thrown by loaders; carries every problem found in one run.
// At most this many diagnostics are kept (then one saying how many more there were).
inline constexpr size_t kMaxDiagnostics = 50;

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> d);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  ConfigError(std::vector<Diagnostic> d, int);  // `d` already capped
  std::vector<Diagnostic> diagnostics_;
};

struct ComponentSpec {
  std::string type;
  YAML::Node with;        // the config block (may be Null)
  std::string with_json;  // the same block as JSON text, typed by the component's schema
  Mark mark;              // where the component is declared
};

struct StageSpec {
  std::string type;   // "map", "filter", "route" or a plugin stage type
  std::string name;   // "<index>:<type>" unless given with `name:`
  YAML::Node body;    // the stage's config node
  std::string json;   // body as JSON text (plugin stages)
  Mark mark;
};

struct SinkSpec {
  std::string name;  // "default" for `sink:`, else the key under `sinks:`
  ComponentSpec component;
  // `clear_identities: <reason>`: this sink receives $identities.* in clear text. Empty: every
  // sink but `cdp` gets them pseudonymised exactly as the store keeps them.
  std::string clear_identities;
};

struct PipelineSpec {
  std::string file;  // path as given
  std::string name;
  std::string description;
  std::string source_id;  // `source.id`, default: name. Keys event ids and checkpoints.
  ComponentSpec source;
  std::vector<StageSpec> stages;
  std::vector<SinkSpec> sinks;  // [0] is the default `sink:`; then `sinks:` in file order
  size_t batch_size = 1024;     // `batch.size`
  size_t queue_depth = 4;       // `batch.queue`: batches in flight between threads
  YAML::Node root;
};

}  // namespace omniloop::config
