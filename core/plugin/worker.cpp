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

// Frames leave the worker whole: a plugin may log from threads of its own while the main loop
// sends an answer, and interleaved bytes would end the worker as a protocol error.
std::mutex g_send_mu;

wire::IoStatus sendFrame(int fd, wire::Frame type, std::string_view payload,
                         const wire::SharedChannel* shared = nullptr) {
  std::lock_guard<std::mutex> lock(g_send_mu);
  return wire::writeFrame(fd, type, payload, std::nullopt, shared);
}

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
    (void)sendFrame(fd_, wire::Frame::Log, payload);
  }
  void flush_() override {}

 private:
  int fd_;
};

int initFailed(int fd, const std::string& reason) {
  std::string payload;
  WireWriter(payload).str(reason);
  (void)sendFrame(fd, wire::Frame::InitFailed, payload);
  return 1;
}

}  // namespace

int runPluginWorker(int fd, int shared_fd, size_t shared_bytes) {
  wire::Frame type{};
  std::string in;
  if (wire::readFrame(fd, type, in, std::nullopt) != wire::IoStatus::Ok ||
      type != wire::Frame::Init) {
    return 2;
  }
  WireReader r(in);
  std::string_view path, component_type, pipeline, component, config;
  int32_t level = SPDLOG_LEVEL_INFO, kind = 1;
  if (!r.str(path) || !r.str(component_type) || !r.str(pipeline) || !r.str(component) ||
      !r.str(config) || !r.i32(level) || !r.i32(kind) || kind < 0 || kind > 2) {
    return initFailed(fd, "malformed init frame");
  }
  // 0 source, 1 stage, 2 sink (IsolatedKind).
  const uint32_t wanted = kind == 0 ? OL_SOURCE : kind == 2 ? OL_SINK : OL_STAGE;
  const char* kind_name = kind == 0 ? "source" : kind == 2 ? "sink" : "stage";
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
    if (c.kind == wanted && c.type && component_type == c.type) {
      chosen = c;
      found = true;
    }
  }
  const bool callable = wanted == OL_SOURCE ? chosen.read != nullptr
                        : wanted == OL_SINK ? chosen.write != nullptr
                                            : chosen.process != nullptr;
  if (!found || !callable) {
    return initFailed(fd, std::string("plugin provides no ") + kind_name + " type '" +
                              std::string(component_type) + "'");
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
  auto plugin = std::make_unique<PluginInstance>(&chosen, instance, std::move(context));
  std::unique_ptr<PluginSource> source;
  std::unique_ptr<PluginStage> stage;
  std::unique_ptr<PluginSink> sink;
  if (wanted == OL_SOURCE) {
    source = std::make_unique<PluginSource>(std::move(plugin));
  } else if (wanted == OL_SINK) {
    sink = std::make_unique<PluginSink>(std::move(plugin));
  } else {
    stage = std::make_unique<PluginStage>(std::move(plugin));
  }
  // Mapped after the plugin's create: a plugin's start-up cannot scribble over it before we
  // know it is mapped. Without it (an address space limit too tight for it), payloads go over
  // the socket.
  std::unique_ptr<wire::SharedChannel> shared;
  if (shared_fd >= 0) shared = wire::SharedChannel::attach(shared_fd, shared_bytes);
  const char ready = shared ? 1 : 0;
  if (sendFrame(fd, wire::Frame::Ready, std::string_view(&ready, 1)) != wire::IoStatus::Ok) {
    return 2;
  }

  auto batch = std::make_unique<event::Batch>(1024);
  EventDelta delta;
  std::string out;
  // The head of every answer: status, message, the counters since the last answer.
  auto head = [&](WireWriter& w, const pipeline::Result& result) {
    w.i32(static_cast<int32_t>(result.status));
    w.str(result.message);
    w.u32(static_cast<uint32_t>(counters.size()));
    for (const auto& [name, delta] : counters) {
      w.str(name);
      w.i64(delta);
    }
    counters.clear();
  };
  for (;;) {
    const wire::IoStatus s = wire::readFrame(fd, type, in, std::nullopt, shared.get());
    if (s == wire::IoStatus::Closed) return 0;  // the host is done with us
    if (s != wire::IoStatus::Ok) return 2;
    out.clear();
    WireWriter w(out);
    WireReader req(in);
    if (source && type == wire::Frame::Resume) {
      std::string_view cursor;
      if (!req.str(cursor)) return 2;
      head(w, source->resume(cursor));
    } else if (source && type == wire::Frame::Read) {
      uint32_t capacity = 0, max_events = 0;
      if (!req.u32(capacity) || !req.u32(max_events) || capacity == 0) return 2;
      if (batch->capacity() != capacity) batch = std::make_unique<event::Batch>(capacity);
      batch->reset();
      const pipeline::Result result = source->read(*batch, max_events);
      head(w, result);
      w.str(batch->cursor);
      w.u32(static_cast<uint32_t>(batch->size()));
      for (const event::Event& e : *batch) w.event(e);
    } else if ((stage && type == wire::Frame::Process) || (sink && type == wire::Frame::Write)) {
      uint32_t capacity = 0, n = 0;
      if (!req.u32(capacity) || !req.u32(n) || n > capacity) return 2;
      if (batch->capacity() < capacity) batch = std::make_unique<event::Batch>(capacity);
      batch->reset();
      for (uint32_t i = 0; i < n; ++i) {
        event::Event* e = batch->append();
        // Strings stay in `in` (alive until the answer is sent); the plugin's go to the arena.
        if (!e || !req.event(*e, nullptr)) return 2;
      }
      delta.begin(*batch);
      pipeline::Result result;
      if (stage) {
        result = stage->process(*batch);
      } else {
        result = sink->write(*batch);
        if (result.isOk()) result = sink->flush();  // written means durable, as in the host
      }
      w.setOrigin(in);  // what the plugin left unchanged goes back as references
      head(w, result);
      w.u32(static_cast<uint32_t>(batch->size()));
      delta.write(w, *batch);  // per event only what the plugin changed
    } else {
      return 2;
    }
    if (sendFrame(fd, wire::Frame::Result, out, shared.get()) != wire::IoStatus::Ok) {
      return 2;
    }
  }
}

}  // namespace omniloop::plugin
