#pragma once
// The daemon's pipelines: one thread per pipeline file of the pipelines directory, each running
// an Executor from the shared Runtime (one plugin registry, one CDP store). A pipeline that fails
// is started again after an exponential backoff while the others go on; an invalid file is
// refused with its diagnostics and shown as "invalid". Reload compares each file's content:
// changed pipelines are drained and started again from their checkpoint, unchanged ones keep
// running untouched, removed ones drain and stop, new ones start. One name, one pipeline: a file
// whose `name:` another file already runs under is refused (no slot, no metrics) and checked
// again at the next reload.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admin/server.h"
#include "admin/snapshot.h"
#include "config/pipeline_spec.h"

namespace omniloop::pipeline {
class Executor;
}

namespace omniloop::app {

class Runtime;

struct SupervisorOptions {
  std::string pipelines_dir;
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60000};
  // A run that lasted this long before failing resets the backoff to backoff_initial.
  std::chrono::milliseconds healthy_after{60000};
};

// The delay before attempt `failures` (1 = after the first failure): initial doubling per
// failure, at most max.
std::chrono::milliseconds backoffDelay(int failures, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max);

// The pipeline files of `dir`: every `*.yaml` regular file not starting with '.', sorted.
// Throws std::runtime_error naming the directory when it cannot be read.
std::vector<std::string> listPipelineFiles(const std::string& dir);

struct ReloadSummary {
  std::vector<std::string> started;    // new files
  std::vector<std::string> restarted;  // changed files
  std::vector<std::string> stopped;    // removed files (or now invalid)
  std::vector<std::string> unchanged;
  std::vector<std::string> invalid;    // names of files refused (new or changed)
  // Files refused because a pipeline of the same name already runs from another file (the one
  // that was running keeps the name; at start, the first in sorted path order).
  std::vector<admin::RefusedFile> refused;
  std::vector<std::string> notes;      // daemon config changes, with what needs a restart
};

class Supervisor : public admin::Backend {
 public:
  Supervisor(Runtime& runtime, SupervisorOptions options);
  ~Supervisor() override;
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs on every reload before the pipelines are compared: re-reads omniloop.yaml and applies
  // what can change live. Returns notes for the reload summary; throws (config::ConfigError,
  // std::runtime_error) to refuse the reload, leaving everything running as it was.
  void setConfigReloader(std::function<std::vector<std::string>()> reloader);

  // Scans the pipelines directory and starts, restarts or stops pipelines to match it.
  // Throws std::runtime_error when the directory cannot be read (nothing changes then).
  ReloadSummary syncPipelines();

  // Reload on SIGHUP or POST /v1/reload: the config reloader, then syncPipelines. Serialised.
  admin::ActionResult reload() override;
  admin::DaemonSnapshot snapshot() override;
  admin::ActionResult restartPipeline(const std::string& name) override;
  // POST /v1/subjects/erase and GET /v1/subjects/export (daemon/rights_api.cpp).
  admin::ActionResult eraseSubject(const std::string& body, const std::string& actor) override;
  admin::ActionResult exportSubject(const std::vector<std::string>& identities, const std::string& actor) override;

  // Asks every pipeline to drain and waits up to `timeout` for them. True when all finished
  // (their in-flight batches committed); false names the ones still running in `late`.
  bool stopAll(std::chrono::milliseconds timeout, std::vector<std::string>* late = nullptr);

  void addStoreErrors(uint64_t n);

 private:
  struct Slot;
  struct Totals;

  std::shared_ptr<Slot> makeSlot(const std::string& file, const std::string& content);
  void startSlot(const std::shared_ptr<Slot>& slot);
  void runSlot(Slot& slot);
  // Asks the slots to stop, then joins their threads.
  void drain(const std::vector<std::shared_ptr<Slot>>& slots);
  void requestStopLocked(Slot& slot);
  admin::PipelineSnapshot snapshotLocked(const Slot& slot) const;

  Runtime& runtime_;
  SupervisorOptions options_;
  std::function<std::vector<std::string>()> config_reloader_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  std::mutex reload_mu_;  // one reload at a time
  std::mutex build_mu_;   // Runtime::build is not reentrant
  mutable std::mutex mu_;  // the slots and their state
  std::condition_variable finished_cv_;
  std::map<std::string, std::shared_ptr<Slot>> slots_;  // by file path
  std::vector<admin::RefusedFile> refused_;  // duplicate names, no slot (see ReloadSummary)
  bool stopping_ = false;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
  uint64_t store_errors_ = 0;
};

}  // namespace omniloop::app
