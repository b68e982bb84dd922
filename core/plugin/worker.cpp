#include "plugin/worker.h"

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "plugin/batch_codec.h"
#include "plugin/host_api.h"
#include "plugin/plugin_component.h"
#include "plugin/probe.h"
#include "plugin/worker_protocol.h"

namespace omniloop::plugin {

namespace {

// Every log line of the worker (the plugin's, through HostContext, included) goes to the host
// as a Log frame, so it lands in the host's log with the host's format and destination.
class FrameSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FrameSink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string payload;
    WireWriter w(payload);
    w.i32(static_cast<int32_t>(msg.level));
    w.str(std::string_view(msg.payload.data(), msg.payload.size()));
    (void)wire::writeFrame(fd_, wire::Frame::Log, payload, std::nullopt);
  }
  void flush_() override {}

 private:
  int fd_;
};

int initFailed(int fd, const std::string& reason) {
  std::string payload;
  WireWriter(payload).str(reason);
  (void)wire::writeFrame(fd, wire::Frame::InitFailed, payload, std::nullopt);
  return 1;
}

}  // namespace

int runPluginWorker(int fd) {
  wire::Frame type{};
  std::string in;
  if (wire::readFrame(fd, type, in, std::nullopt) != wire::IoStatus::Ok ||
      type != wire::Frame::Init) {
    return 2;
  }
  WireReader r(in);
  std::string_view path, component_type, pipeline, component, config;
  int32_t level = SPDLOG_LEVEL_INFO;
  if (!r.str(path) || !r.str(component_type) || !r.str(pipeline) || !r.str(component) ||
      !r.str(config) || !r.i32(level)) {
    return initFailed(fd, "malformed init frame");
  }
  auto logger = std::make_shared<spdlog::logger>("plugin-worker", std::make_shared<FrameSink>(fd));
  logger->set_level(static_cast<spdlog::level::level_enum>(level));
  spdlog::set_default_logger(logger);

  // The same file the host loaded (and probed); loaded for the life of this process.
  const std::string file(path);
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();
    return initFailed(fd, std::string("cannot load ") + file + ": " + (e ? e : "dlopen failed"));
  }
  auto entry = reinterpret_cast<ol_plugin_entry_fn>(::dlsym(handle, OMNILOOP_PLUGIN_ENTRY_SYMBOL));
  if (!entry) return initFailed(fd, "missing entry point '" OMNILOOP_PLUGIN_ENTRY_SYMBOL "'");
  const ol_plugin_descriptor* d = entry(OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR);
  if (std::string reason = validateDescriptor(d); !reason.empty()) return initFailed(fd, reason);
  static ol_component chosen;  // host-sized copy; lives for the process
  bool found = false;
  for (size_t i = 0; i < d->component_count && !found; ++i) {
    const ol_component c = readComponent(d, i);
    if (c.kind == OL_STAGE && c.type && component_type == c.type) {
      chosen = c;
      found = true;
    }
  }
  if (!found || !chosen.process) {
    return initFailed(fd, "plugin provides no stage type '" + std::string(component_type) + "'");
  }

  std::map<std::string, int64_t, std::less<>> counters;  // deltas since the last answer
  InstanceContext ictx{std::string(pipeline), std::string(component),
                       [&counters](std::string_view name, int64_t delta) {
                         auto it = counters.find(name);
                         if (it == counters.end())
                           it = counters.emplace(std::string(name), 0).first;
                         it->second += delta;
                       }};
  auto context = std::make_unique<HostContext>(std::move(ictx), std::string(component_type));
  const std::string json = config.empty() ? std::string("{}") : std::string(config);
  char err[kErrorBufferSize];
  err[0] = '\0';
  void* instance = nullptr;
  int status = OL_ERROR;
  try {
    status = chosen.create(hostApi(), context.get(), json.c_str(), json.size(), &instance, err,
                           sizeof err);
  } catch (const std::exception& e) {
    return initFailed(fd, std::string("create failed: ") + e.what());
  } catch (...) {
    return initFailed(fd, "create failed: unknown exception");
  }
  err[sizeof err - 1] = '\0';
  if (status != OL_OK) {
    std::string message = err;
    if (message.empty()) message = "status " + std::to_string(status) + " without a message";
    return initFailed(fd, "create failed: " + message);
  }
  PluginStage stage(std::make_unique<PluginInstance>(&chosen, instance, std::move(context)));
  if (wire::writeFrame(fd, wire::Frame::Ready, {}, std::nullopt) != wire::IoStatus::Ok) return 2;

  auto batch = std::make_unique<event::Batch>(1024);
  EventDelta delta;
  std::string out;
  for (;;) {
    const wire::IoStatus s = wire::readFrame(fd, type, in, std::nullopt);
    if (s == wire::IoStatus::Closed) return 0;  // the host is done with us
    if (s != wire::IoStatus::Ok || type != wire::Frame::Process) return 2;
    WireReader req(in);
    uint32_t capacity = 0, n = 0;
    if (!req.u32(capacity) || !req.u32(n) || n > capacity) return 2;
    if (batch->capacity() < capacity) batch = std::make_unique<event::Batch>(capacity);
    batch->reset();
    for (uint32_t i = 0; i < n; ++i) {
      event::Event* e = batch->append();
      // Strings stay in `in` (alive until the answer is sent); the plugin's go to the arena.
      if (!e || !req.event(*e, nullptr)) return 2;
    }
    delta.snapshot(*batch);
    const pipeline::Result result = stage.process(*batch);
    out.clear();
    WireWriter w(out);
    w.setOrigin(in);  // what the plugin left unchanged goes back as references
    w.i32(static_cast<int32_t>(result.status));
    w.str(result.message);
    w.u32(static_cast<uint32_t>(counters.size()));
    for (const auto& [name, delta] : counters) {
      w.str(name);
      w.i64(delta);
    }
    counters.clear();
    w.u32(static_cast<uint32_t>(batch->size()));
    delta.write(w, *batch);  // per event only what the plugin changed
    if (wire::writeFrame(fd, wire::Frame::Result, out, std::nullopt) != wire::IoStatus::Ok) {
      return 2;
    }
  }
}

}  // namespace omniloop::plugin
