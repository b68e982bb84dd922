#pragma once
// The host side of the plugin ABI: one static ol_host_api table over event::Event/Batch
// (ol_batch* is an event::Batch*, ol_event* an event::Event*) and the per-instance context a
// component's log and counter calls go through.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"
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

// What a plugin changed in one batch during one call, learnt from the host API calls that
// change events (a plugin sees events only through them). Plugin isolation's worker answers
// with only that (batch_codec.h, EventDelta) instead of comparing every event of the batch
// before and after the call.
class ChangeLog {
 public:
  enum class Change : uint8_t {
    None,      // untouched
    Appended,  // only new attributes, after the event's original ones
    Whole      // anything else: the envelope, an existing attribute, a removal, a new event
  };
  // Before the call: the batch as it is now is the original.
  void begin(const event::Batch& batch);
  size_t originalSize() const { return slots_.size(); }
  // For i < originalSize(); events past it are new (Whole).
  Change change(size_t i) const { return slots_[i].change; }
  uint32_t originalFields(size_t i) const { return slots_[i].fields; }

  // Called by the host API just before it changes `e` (`existing`: the attribute a set will
  // overwrite, null when it appends one).
  void noteSet(const event::Event& e, const event::Value* existing);
  void noteWhole(const event::Event& e);
  void noteWhole(size_t index);

 private:
  struct Slot {
    uint32_t fields = 0;  // the event's attribute count before its first change
    Change change = Change::None;
  };
  Slot* slot(const event::Event& e);
  const event::Event* base_ = nullptr;
  std::vector<Slot> slots_;
};

// The ChangeLog the host API reports to (null: none, the default). Process-wide, because a
// plugin may change events from threads of its own during a call; only the plugin worker,
// which runs exactly one component, sets one.
void setChangeLog(ChangeLog* log);

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
