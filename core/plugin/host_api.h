#pragma once
// The host side of the plugin ABI: one static ol_host_api table over event::Event/Batch
// (ol_batch* is an event::Batch*, ol_event* an event::Event*) and the per-instance context a
// component's log and counter calls go through.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "omniloop/plugin.h"

namespace omniloop::plugin {

// Who an instance is, for log lines and metrics. Set by whoever creates the instance.
struct InstanceContext {
  std::string pipeline;   // pipeline name
  std::string component;  // component name inside the pipeline (source id, stage name, sink)
  // Optional: receives every counter_add (name as the plugin gave it; the metrics layer
  // exposes it as "omniloop_plugin_<name>"). Counters are also kept in HostContext.
  std::function<void(std::string_view name, int64_t delta)> on_counter;
};

// The `ctx` a component instance receives with the host API. Lives as long as the instance.
class HostContext {
 public:
  HostContext(InstanceContext ctx, std::string component_type);

  void log(int level, std::string_view msg) const;
  void addCounter(std::string_view name, int64_t delta);
  // Total of a counter so far (0 when never touched).
  int64_t counter(std::string_view name) const;

  const InstanceContext& instance() const { return ctx_; }
  const std::string& componentType() const { return type_; }

 private:
  InstanceContext ctx_;
  std::string type_;
  std::string prefix_;  // "pipeline/component (type)"
  std::map<std::string, int64_t, std::less<>> counters_;
};

// The process-wide host API table (ABI OMNILOOP_ABI_MAJOR.OMNILOOP_ABI_MINOR).
const ol_host_api* hostApi();

// While alive, event_append on this thread refuses to grow a batch beyond `limit` events
// (so a source cannot exceed the max_events of the read call in progress).
class AppendLimitScope {
 public:
  explicit AppendLimitScope(size_t limit);
  ~AppendLimitScope();
  AppendLimitScope(const AppendLimitScope&) = delete;
  AppendLimitScope& operator=(const AppendLimitScope&) = delete;

 private:
  size_t saved_;
};

}  // namespace omniloop::plugin
