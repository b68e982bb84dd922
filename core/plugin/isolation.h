#pragma once
// Plugin isolation: a plugin stage runs in a worker process of its own
// (`omniloop-plugin-worker`, one per stage instance) behind IsolatedStage, a pipeline::Stage
// with the same behaviour as PluginStage. Each process() sends the batch's events over a
// socket, the worker runs the plugin's process on its copy and sends the events back; the host
// batch changes only when a whole answer arrived. So a plugin that crashes, aborts, hangs past
// the call timeout or allocates past the memory limit costs its worker, never the host:
//
//  - the worker is restarted (with a backoff while it keeps dying) and the batch is bisected:
//    its halves are processed separately, recursively, until the record the plugin dies on is
//    alone; that record is dead-lettered ("plugin crashed (signal 11) on this record"), every
//    other record is processed exactly once, and the pipeline goes on;
//  - at most `max_restarts` restarts per batch: past them the records not yet processed are
//    dead-lettered with the crash reason (replayable), so a plugin that dies on everything
//    cannot stall its pipeline forever;
//  - every crash is logged (pipeline, plugin, component, signal) and counted in the batch's
//    tallies as plugin_crashes{reason="signal 11"|"timeout"|"memory_limit"|"exit N"}.
//
// Built-in components never go through this; `isolation: in_process` keeps a plugin stage in
// the host (PluginStage) for plugins one trusts and wants the last bit of speed from.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/component.h"
#include "plugin/host_api.h"

namespace omniloop::plugin {

struct IsolationOptions {
  bool enabled = true;                            // false: in_process
  std::chrono::milliseconds call_timeout{10000};  // per process() call of the plugin
  uint64_t memory_limit_mb = 1024;                // per worker (address space); 0 = unlimited
  int max_restarts = 16;                          // worker restarts per batch
  std::string worker_path;                        // "" = findWorkerExecutable()
};

// $OMNILOOP_PLUGIN_WORKER, else <dir of the executable>/../lib/omniloop/omniloop-plugin-worker,
// else omniloop-plugin-worker beside the executable. "" when none exists.
std::string findWorkerExecutable();

// What the host knows about the plugin it isolates.
struct IsolatedPlugin {
  std::string path;  // the shared library (as the registry loaded it)
  std::string name;  // plugin name, for logs
  std::string type;  // the stage type
  std::string config_json;
};

// Why a worker went away during a call.
struct WorkerFailure {
  enum class Kind { Signal, Timeout, MemoryLimit, Exit, Protocol };
  Kind kind = Kind::Protocol;
  int code = 0;  // the signal or the exit status
  // "plugin crashed (signal 11)", "plugin timed out (no answer within 500 ms)", ...
  std::string reason;
  // The counter label: "signal 11", "timeout", "memory_limit", "exit 3", "protocol".
  std::string label;
};

class WorkerProcess;

class IsolatedStage : public pipeline::Stage {
 public:
  // Starts the worker and creates the instance in it; throws std::runtime_error with the
  // plugin's own message when create fails (as Registry::makeStage does), or when the worker
  // cannot start.
  IsolatedStage(IsolatedPlugin plugin, InstanceContext ctx, IsolationOptions options);
  ~IsolatedStage() override;

  pipeline::Result process(event::Batch& batch) override;

  // Totals of the plugin's counter_add calls (as HostContext::counter).
  int64_t counter(std::string_view name) const { return context_.counter(name); }
  // Workers started so far (the first included).
  uint64_t starts() const { return starts_; }

 private:
  enum class Outcome { Done, Failed, Crashed };
  struct CallResult {
    Outcome outcome = Outcome::Done;
    pipeline::Result result;  // Done / Failed
    WorkerFailure failure;    // Crashed
  };
  // Runs the plugin over batch[indices] (all of the batch when `whole`), applying the answer.
  CallResult call(event::Batch& batch, const std::vector<uint32_t>& indices, bool whole);
  bool ensureWorker(std::string& error);
  void noteCrash(event::Batch& batch, const WorkerFailure& f, size_t records);
  void deadLetter(event::Batch& batch, uint32_t index, const std::string& reason);
  std::string who() const;
  std::string* requestBuffer(const event::Batch& batch);
  static constexpr size_t kMaxBuffers = 80;

  IsolatedPlugin plugin_;
  HostContext context_;
  IsolationOptions options_;
  std::string worker_path_;
  std::unique_ptr<WorkerProcess> worker_;
  std::mutex mu_;
  uint64_t starts_ = 0;
  int crash_streak_ = 0;  // crashes with no successful call in between (backoff)
  std::string request_, answer_;
  event::Event scratch_;  // validates answers
  std::vector<std::pair<const event::Batch*, std::unique_ptr<std::string>>> buffers_;
};

}  // namespace omniloop::plugin
