#pragma once
// Drives a source component of the plugin compiled into this fuzzer (its omniloop_plugin_entry)
// through the real host API (core/plugin/host_api.h) over real event batches, as the runtime
// does, minus dlopen.
#include <omniloop/plugin.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace omniloop::fuzz {

class SourceInstance {
 public:
  // Creates the component `type` with `config_json` (its `with:` block as JSON). A plugin that
  // refuses the configuration is not a crash: ok() is false and error() says why.
  SourceInstance(const char* type, const std::string& config_json);
  ~SourceInstance();
  SourceInstance(const SourceInstance&) = delete;
  SourceInstance& operator=(const SourceInstance&) = delete;

  bool ok() const { return instance_ != nullptr; }
  const std::string& error() const { return error_; }

  // Reads batches of `batch_size` until the source reports END, IDLE or an error, or after
  // `max_batches`. Every event is serialised with the host's event_to_json, so every byte the
  // plugin handed over is read again. Returns the number of events read.
  size_t drain(size_t batch_size, int max_batches);

 private:
  const ol_component* component_ = nullptr;
  void* context_ = nullptr;  // plugin::HostContext
  void* instance_ = nullptr;
  std::string error_;
};

// A directory of this process for the files a fuzzer writes (removed at exit).
const std::string& scratchDir();
// Replaces `path` with the bytes given.
void writeFile(const std::string& path, const uint8_t* data, size_t size);

// A JSON string literal for `s` (for building configs).
std::string jsonString(const std::string& s);

}  // namespace omniloop::fuzz
