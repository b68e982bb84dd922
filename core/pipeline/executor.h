#pragma once
// Runs one pipeline: a source thread fills recycled batches, a worker thread runs the stages and
// sinks and commits the cursor. A fixed pool of batches circulates between them, so memory is
// bounded by (queue depth + 2) x batch size whatever the input size (backpressure: the source
// blocks when every batch is in flight).
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/component.h"
#include "pipeline/reason_counters.h"

namespace omniloop::pipeline {

struct StageStats {
  std::string name;
  std::atomic<uint64_t> in{0};             // live events entering
  std::atomic<uint64_t> dropped{0};        // filtered out here
  std::atomic<uint64_t> dead_lettered{0};  // sent to dead letters here
  std::atomic<uint64_t> nanos{0};          // time spent
};

struct SinkStats {
  std::string name;
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> retries{0};
};

// Batch latency histogram (seconds), Prometheus-style cumulative on export.
inline constexpr std::array<double, 10> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                           0.025,  0.05,  0.1,    0.5,   1.0};

struct PipelineStats {
  std::atomic<uint64_t> read{0};           // events produced by the source
  std::atomic<uint64_t> written{0};        // events accepted by sinks
  std::atomic<uint64_t> filtered{0};       // dropped by stages
  std::atomic<uint64_t> dead_lettered{0};  // sent to dead letters (source, stages, sinks)
  std::atomic<uint64_t> batches{0};        // batches committed
  std::atomic<uint64_t> source_retries{0};
  std::atomic<int64_t> queue_depth{0};  // batches waiting for the worker
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> latency_counts{};
  std::atomic<uint64_t> latency_sum_us{0};
  std::vector<std::unique_ptr<StageStats>> stages;
  std::vector<std::unique_ptr<SinkStats>> sinks;
  ReasonCounters counters;  // Batch::count tallies of every processed batch
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<int64_t> finished_ns{0};  // run duration once finished

  double elapsedSeconds() const;
};

struct ExecutorOptions {
  std::string pipeline;   // name (checkpoints, logs)
  std::string source_id;  // keys event ids and checkpoints
  size_t batch_size = 1024;
  size_t queue_depth = 4;
  int max_retries = 8;  // per Retry streak, source and sinks
  std::chrono::milliseconds retry_base{100};
  std::chrono::milliseconds retry_max{5000};
  std::chrono::milliseconds idle_poll{200};
  bool stop_when_idle = false;  // finite runs of followed sources: stop at the first Idle
  // Read the source from its start, ignoring the committed cursor (`omniloop run --from-start`).
  // Event ids do not depend on the cursor, so the replay is an idempotent upsert.
  bool from_start = false;
};

struct NamedStage {
  std::string name;
  std::unique_ptr<Stage> stage;
};

struct NamedSink {
  std::string name;
  std::unique_ptr<Sink> sink;
};

class Executor {
 public:
  Executor(ExecutorOptions options, std::unique_ptr<Source> source, std::vector<NamedStage> stages,
           std::vector<NamedSink> sinks, CheckpointStore* checkpoints);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Resumes from the committed cursor, runs until the source ends, stop is requested, or a
  // fatal error. Returns Ok, or Error with the reason. Blocks the calling thread.
  Result run();
  // Thread- and signal-safe: stop reading, finish the batches in flight, commit, return.
  void requestStop();
  bool stopRequested() const { return stop_.load(std::memory_order_relaxed); }

  const PipelineStats& stats() const { return stats_; }
  const std::string& lastCursor() const { return last_cursor_; }  // worker-thread view
  // The last committed (or resumed-from) cursor, safe to call from any thread.
  std::string committedCursor() const;
  std::string lastError() const;

 private:
  void sourceLoop();
  void workerLoop();
  void processBatch(event::Batch& batch);
  // Stage i over the batch, with its statistics.
  void runStage(event::Batch& batch, size_t i);
  // After stage i returned `r`: dead letters on error, and its statistics.
  void endStage(event::Batch& batch, size_t i, const Result& r, size_t live_before,
                size_t dropped_before, uint64_t nanos);
  // After the stages: sinks, tallies, commit.
  void finishBatch(event::Batch& batch);
  bool failedNow();
  bool runSinks(event::Batch& batch);
  void commit(event::Batch& batch, bool sink_committed);
  void fail(std::string message);
  bool sleepFor(std::chrono::milliseconds d);  // false when stop was requested
  std::chrono::milliseconds backoff(int attempt) const;

  ExecutorOptions options_;
  std::unique_ptr<Source> source_;
  std::vector<NamedStage> stages_;
  std::vector<NamedSink> sinks_;
  std::vector<size_t> sink_order_;  // non-transactional sinks first, cursor-committing last
  CheckpointStore* checkpoints_;
  PipelineStats stats_;

  std::vector<std::unique_ptr<event::Batch>> pool_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::string error_;
  std::string last_cursor_;
};

}  // namespace omniloop::pipeline
