#pragma once
// pipeline::Source/Stage/Sink over one instance of a plugin component. Each call hands the
// plugin a 1024-byte error buffer, maps ol_status to pipeline::Status and turns anything a
// misbehaving plugin throws through the C boundary into Result::error. The instance is
// destroyed with the wrapper.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "omniloop/plugin.h"
#include "pipeline/component.h"
#include "plugin/host_api.h"

namespace omniloop::plugin {

constexpr size_t kErrorBufferSize = 1024;

// Maps a status returned by a plugin callback; an unknown value is an error.
pipeline::Status toStatus(int status);

// One created instance: the component table, the plugin's instance pointer and its context.
class PluginInstance {
 public:
  PluginInstance(const ol_component* component, void* instance,
                 std::unique_ptr<HostContext> context);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const ol_component& component() const { return *component_; }
  void* instance() const { return instance_; }
  HostContext& context() { return *context_; }
  const HostContext& context() const { return *context_; }

  // Runs one callback: `call(err, cap)` returns an ol_status. Builds the Result, catching
  // every exception.
  template <class Call>
  pipeline::Result invoke(std::string_view what, Call&& call) noexcept;

 private:
  pipeline::Result result(std::string_view what, int status, const char* err) const;
  pipeline::Result thrown(std::string_view what, const char* message) const;

  const ol_component* component_;
  void* instance_;
  std::unique_ptr<HostContext> context_;
};

class PluginSource : public pipeline::Source {
 public:
  explicit PluginSource(std::unique_ptr<PluginInstance> instance)
      : instance_(std::move(instance)) {}
  // An empty cursor means "start": the plugin's resume is not called.
  pipeline::Result resume(std::string_view cursor) override;
  pipeline::Result read(event::Batch& batch, size_t max_events) override;
  PluginInstance& instance() { return *instance_; }

 private:
  std::unique_ptr<PluginInstance> instance_;
};

class PluginStage : public pipeline::Stage {
 public:
  explicit PluginStage(std::unique_ptr<PluginInstance> instance) : instance_(std::move(instance)) {}
  pipeline::Result process(event::Batch& batch) override;
  PluginInstance& instance() { return *instance_; }

 private:
  std::unique_ptr<PluginInstance> instance_;
};

class PluginSink : public pipeline::Sink {
 public:
  explicit PluginSink(std::unique_ptr<PluginInstance> instance) : instance_(std::move(instance)) {}
  pipeline::Result write(event::Batch& batch) override;
  pipeline::Result flush() override;
  PluginInstance& instance() { return *instance_; }

 private:
  std::unique_ptr<PluginInstance> instance_;
};

template <class Call>
pipeline::Result PluginInstance::invoke(std::string_view what, Call&& call) noexcept {
  char err[kErrorBufferSize];
  err[0] = '\0';
  try {
    try {
      const int status = call(err, sizeof err);
      err[sizeof err - 1] = '\0';  // a plugin that forgot to terminate
      return result(what, status, err);
    } catch (const std::exception& e) {
      return thrown(what, e.what());
    } catch (...) {
      return thrown(what, nullptr);
    }
  } catch (...) {
    return pipeline::Result::error("plugin call failed");  // building the message failed
  }
}

}  // namespace omniloop::plugin
