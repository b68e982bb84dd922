#pragma once
// A validated pipeline file, ready to build. Produced by loadPipeline() (config/loader.h).
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
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
  ConfigError(std::vector<Diagnostic> d, std::string explanation)
      : ConfigError(std::move(d)) {
    explanation_ = std::move(explanation);
  }
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  // Pipelines: how each personal field flows to the sinks (`omniloop validate --explain`),
  // when the file got far enough to tell.
  const std::string& explanation() const { return explanation_; }

 private:
  ConfigError(std::vector<Diagnostic> d, int);  // `d` already capped
  std::vector<Diagnostic> diagnostics_;
  std::string explanation_;
};

// A personal field of a pipeline: from its `personal:` list or declared by its source type.
struct PersonalField {
  std::string path;         // attribute path; covers its children
  Mark mark;                // where it is declared (the source's type for a declared-by-source)
  std::string declared_by;  // "" (the pipeline) or "source type 'x' (plugin y)"
  bool allow_clear = false;
  std::string reason;       // allow_clear reason
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
  std::string isolation;        // `isolation:` process | in_process; "" = omniloop.yaml's
  std::vector<PersonalField> personal;  // `personal:` + the source type's, with `allow_clear:`
  std::string personal_explanation;     // `omniloop validate --explain` (config/personal.h)
  YAML::Node root;
};

}  // namespace omniloop::config
