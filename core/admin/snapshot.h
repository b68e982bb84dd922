#pragma once
// What the admin API shows: a copy of the daemon's state taken under the daemon's locks, so
// rendering JSON or metrics never touches a running pipeline. The daemon (app/daemon) fills it;
// this folder only renders and serves it.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/executor.h"

namespace omniloop::admin {

struct StageSnapshot {
  std::string name;
  uint64_t in = 0;
  uint64_t filtered = 0;
  uint64_t dead_lettered = 0;
  double seconds = 0;  // time spent in the stage
};

struct SinkSnapshot {
  std::string name;
  std::string type;
  uint64_t written = 0;
  uint64_t errors = 0;
  uint64_t retries = 0;
};

// Counters are cumulative over the daemon's life: a restarted pipeline adds to them.
struct PipelineSnapshot {
  std::string name;
  std::string file;
  std::string source_type;   // "" when the file is invalid
  std::string state;         // starting | running | backoff | done | stopped | invalid
  double state_seconds = 0;  // how long it has been in that state
  std::string cursor;        // the last committed cursor ("" before the first commit)
  std::string last_error;    // "" when none
  std::vector<std::string> diagnostics;  // for state "invalid": file:line:column: error: ...
  double retry_in_seconds = 0;           // for state "backoff": time until the next attempt
  uint64_t restarts = 0;

  uint64_t read = 0;
  uint64_t written = 0;
  uint64_t filtered = 0;
  uint64_t dead_lettered = 0;
  uint64_t batches = 0;
  int64_t queue_depth = 0;
  std::array<uint64_t, pipeline::kLatencyBuckets.size() + 1> latency_counts{};  // not cumulative
  double latency_sum_seconds = 0;
  std::vector<StageSnapshot> stages;
  std::vector<SinkSnapshot> sinks;
  pipeline::ReasonCounts counts;  // Batch::count tallies: (family, label) -> n, cumulative
};

// A pipeline file refused because another file already runs a pipeline of its name: it has no
// pipeline entry of its own (one name, one pipeline), and is checked again at every reload.
struct RefusedFile {
  std::string file;
  std::string name;    // the name it claims
  std::string reason;  // FILE:1:1: error: ... naming the file that keeps the name
};

struct DaemonSnapshot {
  std::string version;
  std::vector<PipelineSnapshot> pipelines;  // sorted by name
  std::vector<RefusedFile> refused;         // sorted by file
  uint64_t plugin_load_failures = 0;
  uint64_t store_errors = 0;
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  double uptime_seconds = 0;
  bool stopping = false;
};

// "up" for metrics and readiness: the pipeline is working or has finished its work.
inline bool isUp(const PipelineSnapshot& p) { return p.state == "running" || p.state == "done"; }

}  // namespace omniloop::admin
