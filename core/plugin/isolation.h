#pragma once
// Plugin isolation: a plugin source, stage or sink runs in a worker process of its own
// (`omniloop-plugin-worker`, one per component instance) behind IsolatedSource, IsolatedStage
// or IsolatedSink, a pipeline::Source/Stage/Sink with the same behaviour as PluginSource,
// PluginStage or PluginSink. Each call sends what the plugin needs over a socket (a stage's or a
// sink's batch, a source's read request) and the worker answers with the result; the host's
// batch changes only when a whole answer arrived. So a plugin that crashes, aborts, hangs past
// the call timeout or allocates past the memory limit costs its worker, never the host:
//
//  - stages and sinks: the worker is restarted (with a backoff while it keeps dying) and the
//    batch is bisected: its halves are processed (written) separately, recursively, until the
//    record the plugin dies on is alone; that record is dead-lettered ("plugin crashed
//    (signal 11) on this record"), every other record is processed (written) exactly once, and
//    the pipeline goes on. A sink's part counts as written once the worker answered its write
//    and its flush; a part whose worker died is sent again, so a sink must not make anything
//    durable before its flush (the SDK's contract) for "exactly once" to hold;
//  - at most `max_restarts` restarts per batch: past them the records not yet processed are
//    dead-lettered with the crash reason (replayable), so a plugin that dies on everything
//    cannot stall its pipeline forever;
//  - sources: the worker is restarted and resumed from the cursor of the last batch it
//    delivered (the pipeline commits that batch and the ones before it), and the read is tried
//    again; `max_restarts` crashes in a row at the same position stop the pipeline with an
//    error naming the plugin (the other pipelines and the daemon go on);
//  - every crash is logged (pipeline, plugin, component, signal) and counted in the batch's
//    tallies as plugin_crashes{reason="signal 11"|"timeout"|"memory_limit"|"exit N"}.
//
// Built-in components never go through this; `isolation: in_process` keeps a plugin component
// in the host (PluginSource/PluginStage/PluginSink) for plugins one trusts and wants the last
// bit of speed from.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/component.h"
#include "plugin/host_api.h"
#include "plugin/worker_protocol.h"

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
  std::string type;  // the component type
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

enum class IsolatedKind : int32_t { Source = 0, Stage = 1, Sink = 2 };

// The host's side of one worker: starting it, one call, crash handling, bisection.
class IsolatedComponent {
 public:
  // Starts the worker and creates the instance in it; throws std::runtime_error with the
  // plugin's own message when create fails (as the Registry's make* do), or when the worker
  // cannot start.
  IsolatedComponent(IsolatedKind kind, IsolatedPlugin plugin, InstanceContext ctx,
                    IsolationOptions options);
  virtual ~IsolatedComponent();
  IsolatedComponent(const IsolatedComponent&) = delete;
  IsolatedComponent& operator=(const IsolatedComponent&) = delete;

  // Totals of the plugin's counter_add calls (as HostContext::counter).
  int64_t counter(std::string_view name) const { return context_.counter(name); }
  // Workers started so far (the first included).
  uint64_t starts() const { return starts_; }

 protected:
  enum class Outcome { Done, Failed, Crashed };
  struct CallResult {
    Outcome outcome = Outcome::Done;
    pipeline::Result result;  // Done / Failed
    WorkerFailure failure;    // Crashed
  };
  // Stages and sinks: sends batch[indices] with `op` (Process, Write) and applies the answer.
  // `whole`: the answer is the whole batch (a stage may add or remove events); otherwise one
  // event per index.
  CallResult call(event::Batch& batch, const std::vector<uint32_t>& indices, bool whole);
  // Stages and sinks: calls the plugin over batch[indices] and, when its worker dies, bisects
  // them on fresh workers (see above). Returns the first call's result when it did not crash.
  pipeline::Result callBisecting(event::Batch& batch, std::vector<uint32_t> indices, bool whole);
  // Sends `payload` as a `type` frame and reads the Result into `answer` (answer_ when null),
  // forwarding Log frames. False when no Result came: the worker is gone then (`failure` says
  // why).
  bool exchange(uint32_t type, std::string_view payload, WorkerFailure& failure,
                std::string* answer = nullptr);
  // Reads frames until the Result of the oldest request sent (Log frames forwarded).
  wire::IoStatus awaitResult(std::string& in, const wire::Deadline& deadline);
  // Encodes batch[indices] as a Process / Write request into `request`.
  void encode(const event::Batch& batch, const std::vector<uint32_t>& indices,
              std::string& request) const;
  // Checks the answer in answer_ to the request `origin` for batch[indices] and applies it.
  CallResult apply(event::Batch& batch, const std::vector<uint32_t>& indices, bool whole,
                   std::string_view origin);
  // After the worker died on batch[indices] (`failure`): bisects them on fresh workers.
  pipeline::Result bisect(event::Batch& batch, std::vector<uint32_t> all, bool whole,
                          const WorkerFailure& failure);
  WorkerFailure discardWorker(bool kill, bool timed_out);
  bool ensureWorker(std::string& error);
  void noteCrash(event::Batch* batch, const WorkerFailure& f, size_t records);
  void deadLetter(event::Batch& batch, uint32_t index, const std::string& reason);
  std::string who() const;
  // A buffer kept for this batch object: a source's answer (the batch's events point into it
  // until the batch is refilled). Null past kMaxBuffers.
  std::string* requestBuffer(const event::Batch& batch);
  static constexpr size_t kMaxBuffers = 80;

  IsolatedKind kind_;
  uint32_t op_;  // the frame for call(): Process or Write
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

// Overlaps batches (pipeline::Stage::begin/finish): while its worker processes one batch, the
// executor prepares the next and begin() sends it, so the worker finds it waiting. At most two
// requests are with the worker; a third begin() waits for the oldest to be finished. A batch
// that cannot be sent at once (no worker running, too large for the shared channel, or one
// before it not sent) is processed by finish() as process() would.
class IsolatedStage : public pipeline::Stage, public IsolatedComponent {
 public:
  IsolatedStage(IsolatedPlugin plugin, InstanceContext ctx, IsolationOptions options);
  pipeline::Result process(event::Batch& batch) override;
  bool overlaps() const override { return true; }
  void begin(event::Batch& batch) override;
  pipeline::Result finish(event::Batch& batch) override;

 private:
  struct InFlight {
    const event::Batch* batch = nullptr;
    bool sent = false;
    int buffer = 0;  // requests_[buffer] holds its request
  };
  std::deque<InFlight> in_flight_;  // begun, not finished; guarded by mu_
  std::condition_variable window_;  // signalled when one is finished
  std::string requests_[2];
};

// The worker runs the plugin's write and then its flush for each batch (or part of one), so
// flush() has nothing left to do.
class IsolatedSink : public pipeline::Sink, public IsolatedComponent {
 public:
  IsolatedSink(IsolatedPlugin plugin, InstanceContext ctx, IsolationOptions options);
  pipeline::Result write(event::Batch& batch) override;
  pipeline::Result flush() override { return pipeline::Result::ok(); }
};

class IsolatedSource : public pipeline::Source, public IsolatedComponent {
 public:
  IsolatedSource(IsolatedPlugin plugin, InstanceContext ctx, IsolationOptions options);
  pipeline::Result resume(std::string_view cursor) override;
  pipeline::Result read(event::Batch& batch, size_t max_events) override;

 private:
  // Starts a worker when there is none and resumes it from cursor_ when it is not there yet.
  // Crashed: false with `failure` set; an error of the plugin or of starting: false, `error`.
  bool position(WorkerFailure& failure, pipeline::Result& error);
  // A crash: logged, counted, and past max_restarts in a row the pipeline's error (true; the
  // crashes are then counted in `batch`, whose tallies the executor keeps when a source fails).
  bool crashed(const WorkerFailure& f, pipeline::Result& error, event::Batch* batch);
  std::string cursor_;             // of the last batch delivered (or the one resumed from)
  uint64_t positioned_start_ = 0;  // the worker (by starts_) whose position is cursor_
  int restarts_ = 0;               // crashes since the last successful call
  std::vector<std::string> pending_crashes_;  // labels not yet counted in a delivered batch
};

}  // namespace omniloop::plugin
