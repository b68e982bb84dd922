#include "pipeline/executor.h"

#include <algorithm>
#include <thread>

#include "pipeline/bounded_queue.h"

namespace omniloop::pipeline {

using event::Batch;
using event::Disposition;
using event::Event;
using Clock = std::chrono::steady_clock;

double PipelineStats::elapsedSeconds() const {
  int64_t fin = finished_ns.load();
  if (fin > 0) return static_cast<double>(fin) / 1e9;
  return std::chrono::duration<double>(Clock::now() - started).count();
}

namespace {

// Marks every live event (optionally only those of one route) as dead-lettered.
size_t deadLetterLive(Batch& batch, std::string_view reason, int route = -1) {
  size_t n = 0;
  for (Event& e : batch) {
    if (!e.live()) continue;
    if (route >= 0 && e.route != route) continue;
    e.disposition = Disposition::DeadLetter;
    e.reason = batch.intern(reason);
    ++n;
  }
  return n;
}

size_t countDisposition(const Batch& batch, Disposition d) {
  size_t n = 0;
  for (const Event& e : batch) n += e.disposition == d ? 1 : 0;
  return n;
}

// A component call whose exceptions become errors.
template <typename Call>
Result guarded(Call&& call) {
  try {
    return call();
  } catch (const std::exception& e) {
    return Result::error(e.what());
  } catch (...) {
    return Result::error("unknown exception");
  }
}

uint64_t nanosSince(Clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

}  // namespace

Executor::Executor(ExecutorOptions options, std::unique_ptr<Source> source,
                   std::vector<NamedStage> stages, std::vector<NamedSink> sinks,
                   CheckpointStore* checkpoints)
    : options_(std::move(options)),
      source_(std::move(source)),
      stages_(std::move(stages)),
      sinks_(std::move(sinks)),
      checkpoints_(checkpoints) {
  if (options_.batch_size == 0) options_.batch_size = 1;
  if (options_.queue_depth == 0) options_.queue_depth = 1;
  for (const NamedStage& s : stages_) {
    auto st = std::make_unique<StageStats>();
    st->name = s.name;
    stats_.stages.push_back(std::move(st));
  }
  for (size_t i = 0; i < sinks_.size(); ++i) {
    auto st = std::make_unique<SinkStats>();
    st->name = sinks_[i].name;
    stats_.sinks.push_back(std::move(st));
    if (!sinks_[i].sink->commitsCursor()) sink_order_.push_back(i);
  }
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (sinks_[i].sink->commitsCursor()) sink_order_.push_back(i);
  }
}

Executor::~Executor() = default;

std::string Executor::lastError() const {
  std::lock_guard lock(const_cast<std::mutex&>(mu_));
  return error_;
}

std::string Executor::committedCursor() const {
  std::lock_guard lock(const_cast<std::mutex&>(mu_));
  return last_cursor_;
}

void Executor::fail(std::string message) {
  {
    std::lock_guard lock(mu_);
    if (error_.empty()) error_ = std::move(message);
  }
  requestStop();
}

void Executor::requestStop() {
  stop_.store(true);
  wake_.notify_all();
}

bool Executor::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [&] { return stop_.load(); });
  return !stop_.load();
}

std::chrono::milliseconds Executor::backoff(int attempt) const {
  auto d = options_.retry_base * (1LL << std::min(attempt, 16));
  return std::min<std::chrono::milliseconds>(d, options_.retry_max);
}

Result Executor::run() {
  stats_.started = Clock::now();
  if (checkpoints_ != nullptr && !options_.from_start) {
    try {
      std::string cursor = checkpoints_->loadCursor(options_.pipeline, options_.source_id);
      std::lock_guard lock(mu_);
      last_cursor_ = std::move(cursor);
    } catch (const std::exception& e) {
      return Result::error(std::string("cannot load checkpoint: ") + e.what());
    }
  }
  Result resumed = source_->resume(last_cursor_);
  if (!resumed.isOk()) {
    return Result::error("source cannot resume from its checkpoint: " + resumed.message);
  }

  const size_t pool_size = options_.queue_depth + 2;  // queued + one reading + one processing
  BoundedQueue<Batch*> free_batches(pool_size);
  BoundedQueue<Batch*> full_batches(options_.queue_depth);
  pool_.clear();
  for (size_t i = 0; i < pool_size; ++i) {
    pool_.push_back(std::make_unique<Batch>(options_.batch_size));
    free_batches.push(pool_.back().get());
  }

  std::thread source_thread([&] {
    uint64_t sequence = 0;
    int attempt = 0;
    while (!stop_.load()) {
      std::optional<Batch*> slot = free_batches.pop();
      if (!slot) break;
      Batch& batch = **slot;
      batch.reset();
      Result r;
      try {
        r = source_->read(batch, options_.batch_size);
      } catch (const std::exception& e) {
        r = Result::error(std::string("source threw: ") + e.what());
      } catch (...) {
        r = Result::error("source threw an unknown exception");
      }
      if (r.status == Status::Retry || r.status == Status::Error) {
        if (r.status == Status::Error || attempt >= options_.max_retries) {
          // Read no more: what the failed read counted (say plugin_crashes) is kept.
          stats_.counters.add(batch);
          free_batches.push(&batch);
          fail("source: " + r.message);
          break;
        }
        free_batches.push(&batch);
        stats_.source_retries.fetch_add(1);
        if (!sleepFor(backoff(attempt++))) break;
        continue;
      }
      attempt = 0;
      for (Event& e : batch) event::assignId(e, options_.source_id, batch);
      stats_.read.fetch_add(batch.size(), std::memory_order_relaxed);
      batch.sequence = ++sequence;
      batch.last = r.status == Status::End;
      const bool has_work = !batch.empty() || (batch.last && !batch.cursor.empty());
      if (has_work) {
        stats_.queue_depth.fetch_add(1);
        if (!full_batches.push(&batch)) break;
      } else {
        free_batches.push(&batch);
      }
      if (r.status == Status::End) break;
      if (r.status == Status::Idle && batch.empty()) {
        if (options_.stop_when_idle) break;
        if (!sleepFor(options_.idle_poll)) break;
      }
    }
    full_batches.close();
  });

  // Latency histogram of one batch, from when its processing began.
  auto recordLatency = [&](Clock::time_point t0) {
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    size_t bucket = 0;
    while (bucket < kLatencyBuckets.size() && secs > kLatencyBuckets[bucket]) ++bucket;
    stats_.latency_counts[bucket].fetch_add(1);
    stats_.latency_sum_us.fetch_add(static_cast<uint64_t>(secs * 1e6));
  };

  // The first stage that overlaps batches (an isolated plugin stage) splits the stages in two:
  // a stage thread runs the ones before it and begins it on the batch; this thread finishes it
  // on that batch and runs the rest, the sinks and the commit, while the stage thread already
  // prepares and begins the next batch. Without such a stage, this thread runs everything.
  size_t split = stages_.size();
  for (size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i].stage->overlaps()) {
      split = i;
      break;
    }
  }

  if (split == stages_.size()) {
    // The worker runs on this thread: stages, sinks, commit, then the batch goes back to the
    // pool.
    while (std::optional<Batch*> slot = full_batches.pop()) {
      stats_.queue_depth.fetch_sub(1);
      Batch& batch = **slot;
      // Sampled before the work: a batch queued now is processed next by this thread, so a
      // sink that defers its commit on this batch is sure to be called again (or flushed at
      // the end).
      batch.more_pending = !batch.last && full_batches.size() > 0;
      const auto t0 = Clock::now();
      if (!failedNow()) processBatch(batch);
      recordLatency(t0);
      free_batches.push(&batch);
    }
  } else {
    struct Handed {
      Batch* batch = nullptr;
      bool skipped = false;  // the pipeline had failed: nothing was done to it
      bool begun = false;    // stage `split` began it (else it runs here, synchronously)
      size_t live_before = 0, dropped_before = 0;
      uint64_t begin_nanos = 0;
      Clock::time_point t0;
    };
    BoundedQueue<Handed> handed(1);
    std::thread stage_thread([&] {
      Stage& overlapping = *stages_[split].stage;
      StageStats& st = *stats_.stages[split];
      while (std::optional<Batch*> slot = full_batches.pop()) {
        stats_.queue_depth.fetch_sub(1);
        Handed h;
        h.batch = *slot;
        h.t0 = Clock::now();
        Batch& batch = *h.batch;
        h.skipped = failedNow();
        if (!h.skipped) {
          for (size_t i = 0; i < split; ++i) runStage(batch, i);
          h.live_before = batch.countLive();
          h.dropped_before = countDisposition(batch, Disposition::Drop);
          const auto b0 = Clock::now();
          try {
            Result r;
            if (countDisposition(batch, Disposition::DeadLetter) != 0) {
              r = overlapping.processDeadLetters(batch);
            }
            if (r.isOk()) {
              overlapping.begin(batch);
              h.begun = true;
            }
          } catch (...) {
            h.begun = false;  // run synchronously by the other thread instead
          }
          h.begin_nanos = nanosSince(b0);
          if (h.begun) st.in.fetch_add(h.live_before, std::memory_order_relaxed);
        }
        if (!handed.push(h)) break;
      }
      handed.close();
    });
    while (std::optional<Handed> h = handed.pop()) {
      Batch& batch = *h->batch;
      batch.more_pending = !batch.last && (handed.size() > 0 || full_batches.size() > 0);
      if (h->begun) {
        // Every begun batch is finished, even once the pipeline has failed.
        const auto t0 = Clock::now();
        const Result r = guarded([&] { return stages_[split].stage->finish(batch); });
        endStage(batch, split, r, h->live_before, h->dropped_before,
                 h->begin_nanos + nanosSince(t0));
      }
      if (!h->skipped && !failedNow()) {
        if (!h->begun) runStage(batch, split);
        for (size_t i = split + 1; i < stages_.size(); ++i) runStage(batch, i);
        finishBatch(batch);
      }
      recordLatency(h->t0);
      free_batches.push(&batch);
    }
    stage_thread.join();
  }
  free_batches.close();
  source_thread.join();
  stats_.finished_ns.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - stats_.started).count());

  for (NamedSink& s : sinks_) {
    Result r = s.sink->flush();
    if (!r.isOk()) fail("sink " + s.name + ": flush failed: " + r.message);
  }
  std::string err = lastError();
  if (!err.empty()) return Result::error(err);
  return Result::ok();
}

bool Executor::failedNow() {
  std::lock_guard lock(mu_);
  return !error_.empty();
}

void Executor::runStage(Batch& batch, size_t i) {
  const size_t live_before = batch.countLive();
  const size_t dropped_before = countDisposition(batch, Disposition::Drop);
  stats_.stages[i]->in.fetch_add(live_before, std::memory_order_relaxed);
  const auto t0 = Clock::now();
  const Result r = guarded([&] {
    Result dead = Result::ok();
    if (countDisposition(batch, Disposition::DeadLetter) != 0) {
      dead = stages_[i].stage->processDeadLetters(batch);
    }
    return dead.isOk() ? stages_[i].stage->process(batch) : dead;
  });
  endStage(batch, i, r, live_before, dropped_before, nanosSince(t0));
}

void Executor::endStage(Batch& batch, size_t i, const Result& r, size_t live_before,
                        size_t dropped_before, uint64_t nanos) {
  StageStats& st = *stats_.stages[i];
  st.nanos.fetch_add(nanos);
  if (!r.isOk()) deadLetterLive(batch, "stage " + stages_[i].name + ": " + r.message);
  const size_t live_after = batch.countLive();
  const size_t dropped = countDisposition(batch, Disposition::Drop) - dropped_before;
  st.dropped.fetch_add(dropped, std::memory_order_relaxed);
  st.dead_lettered.fetch_add(live_before - live_after - dropped, std::memory_order_relaxed);
}

void Executor::processBatch(Batch& batch) {
  for (size_t i = 0; i < stages_.size(); ++i) runStage(batch, i);
  finishBatch(batch);
}

void Executor::finishBatch(Batch& batch) {
  const bool sink_committed = runSinks(batch);
  stats_.filtered.fetch_add(countDisposition(batch, Disposition::Drop));
  stats_.dead_lettered.fetch_add(countDisposition(batch, Disposition::DeadLetter));
  stats_.counters.add(batch);
  commit(batch, sink_committed);
}

bool Executor::runSinks(Batch& batch) {
  bool committed = false;
  const bool routed = sinks_.size() > 1;
  for (size_t index : sink_order_) {
    NamedSink& ns = sinks_[index];
    SinkStats& st = *stats_.sinks[index];
    // Hide events routed elsewhere from this sink.
    if (routed) {
      for (Event& e : batch) {
        if (e.live() && e.route != index) e.disposition = Disposition::Elsewhere;
      }
    }
    // A retried attempt must not count its tallies twice.
    const std::vector<event::Batch::Tally> tallies_before = batch.tallies();
    Result r;
    for (int attempt = 0;; ++attempt) {
      if (attempt > 0) batch.restoreTallies(tallies_before);
      try {
        r = ns.sink->write(batch);
        if (r.isOk() && !ns.sink->commitsCursor()) r = ns.sink->flush();
      } catch (const std::exception& e) {
        r = Result::error(e.what());
      } catch (...) {
        r = Result::error("unknown exception");
      }
      if (r.status != Status::Retry || attempt >= options_.max_retries) break;
      st.retries.fetch_add(1);
      if (!sleepFor(backoff(attempt))) {
        // Stopping while a sink keeps asking for retries: keep the events, as dead letters.
        break;
      }
    }
    if (r.isOk()) {
      const size_t written = batch.countLive();
      st.written.fetch_add(written);
      stats_.written.fetch_add(written);
      if (ns.sink->commitsCursor()) committed = true;
    } else {
      batch.restoreTallies(tallies_before);  // nothing of this attempt was written
      st.errors.fetch_add(1);
      deadLetterLive(batch, "sink " + ns.name + ": " + r.message);
    }
    if (routed) {
      for (Event& e : batch) {
        if (e.disposition == Disposition::Elsewhere) e.disposition = Disposition::Keep;
      }
    }
  }
  return committed;
}

void Executor::commit(Batch& batch, bool sink_committed) {
  if (!sink_committed && checkpoints_ != nullptr) {
    try {
      checkpoints_->commit(options_.pipeline, options_.source_id, batch);
    } catch (const std::exception& e) {
      fail(std::string("cannot commit checkpoint: ") + e.what());
      return;
    }
  }
  if (!batch.cursor.empty()) {
    std::lock_guard lock(mu_);
    last_cursor_ = batch.cursor;
  }
  stats_.batches.fetch_add(1);
}

}  // namespace omniloop::pipeline
