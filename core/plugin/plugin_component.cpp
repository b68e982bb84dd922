#include "plugin/plugin_component.h"

namespace omniloop::plugin {

namespace {

// OL_END and OL_IDLE belong to a source's read; elsewhere they are a plugin bug.
pipeline::Result notSourceStatus(pipeline::Result r, const PluginInstance& instance,
                                 std::string_view what) {
  if (r.status != pipeline::Status::End && r.status != pipeline::Status::Idle) return r;
  return pipeline::Result::error("plugin component '" + instance.context().componentType() + "' " +
                                 std::string(what) + " returned " +
                                 std::string(pipeline::toString(r.status)) +
                                 ", which only a source's read may return");
}

}  // namespace

pipeline::Status toStatus(int status) {
  switch (status) {
    case OL_OK:
      return pipeline::Status::Ok;
    case OL_END:
      return pipeline::Status::End;
    case OL_RETRY:
      return pipeline::Status::Retry;
    case OL_IDLE:
      return pipeline::Status::Idle;
    default:
      return pipeline::Status::Error;
  }
}

PluginInstance::PluginInstance(const ol_component* component, void* instance,
                               std::unique_ptr<HostContext> context)
    : component_(component), instance_(instance), context_(std::move(context)) {}

PluginInstance::~PluginInstance() {
  if (!component_->destroy) return;
  try {
    component_->destroy(instance_);
  } catch (...) {
    // Nothing to report to: the instance is gone either way.
  }
}

pipeline::Result PluginInstance::result(std::string_view what, int status, const char* err) const {
  pipeline::Result r;
  r.status = toStatus(status);
  if (r.status == pipeline::Status::Ok || r.status == pipeline::Status::End ||
      r.status == pipeline::Status::Idle) {
    return r;
  }
  r.message = err;
  if (status != OL_ERROR && status != OL_RETRY) {
    r.message = "plugin component '" + context_->componentType() + "' " + std::string(what) +
                " returned unknown status " + std::to_string(status) +
                (r.message.empty() ? "" : ": " + r.message);
  } else if (r.message.empty()) {
    r.message = "plugin component '" + context_->componentType() + "' " + std::string(what) +
                " failed without a message";
  }
  return r;
}

pipeline::Result PluginInstance::thrown(std::string_view what, const char* message) const {
  std::string m =
      "plugin component '" + context_->componentType() + "' " + std::string(what) + " threw " +
      (message ? std::string("an exception: ") + message : std::string("an unknown exception"));
  return pipeline::Result::error(std::move(m));
}

pipeline::Result PluginSource::resume(std::string_view cursor) {
  const ol_component& c = instance_->component();
  if (cursor.empty() || !c.resume) return pipeline::Result::ok();
  return notSourceStatus(instance_->invoke("resume",
                                           [&](char* err, size_t cap) {
                                             return c.resume(instance_->instance(), cursor.data(),
                                                             cursor.size(), err, cap);
                                           }),
                         *instance_, "resume");
}

pipeline::Result PluginSource::read(event::Batch& batch, size_t max_events) {
  const ol_component& c = instance_->component();
  AppendLimitScope limit(batch.size() + max_events);
  return instance_->invoke("read", [&](char* err, size_t cap) {
    return c.read(instance_->instance(), reinterpret_cast<ol_batch*>(&batch), max_events, err, cap);
  });
}

pipeline::Result PluginStage::process(event::Batch& batch) {
  const ol_component& c = instance_->component();
  return notSourceStatus(instance_->invoke("process",
                                           [&](char* err, size_t cap) {
                                             return c.process(instance_->instance(),
                                                              reinterpret_cast<ol_batch*>(&batch),
                                                              err, cap);
                                           }),
                         *instance_, "process");
}

pipeline::Result PluginSink::write(event::Batch& batch) {
  const ol_component& c = instance_->component();
  return notSourceStatus(instance_->invoke("write",
                                           [&](char* err, size_t cap) {
                                             return c.write(instance_->instance(),
                                                            reinterpret_cast<ol_batch*>(&batch),
                                                            err, cap);
                                           }),
                         *instance_, "write");
}

pipeline::Result PluginSink::flush() {
  const ol_component& c = instance_->component();
  if (!c.flush) return pipeline::Result::ok();
  return notSourceStatus(
      instance_->invoke(
          "flush", [&](char* err, size_t cap) { return c.flush(instance_->instance(), err, cap); }),
      *instance_, "flush");
}

}  // namespace omniloop::plugin
