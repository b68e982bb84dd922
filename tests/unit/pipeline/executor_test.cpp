// In-process pipeline tests with memory source, stages and sinks.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "pipeline/executor.h"

using namespace omniloop;
using namespace omniloop::pipeline;
using event::Batch;
using event::Disposition;
using event::Value;

namespace {

// Emits `total` events numbered from the cursor; optional failure injection.
class CountingSource : public Source {
 public:
  explicit CountingSource(int64_t total, int retries_before_success = 0, bool idle_forever = false)
      : total_(total), retries_(retries_before_success), idle_forever_(idle_forever) {}
  Result resume(std::string_view cursor) override {
    resumed_from = std::string(cursor);
    next_ = cursor.empty() ? 0 : std::stoll(std::string(cursor));
    return Result::ok();
  }
  Result read(Batch& batch, size_t max) override {
    if (retries_ > 0) {
      --retries_;
      return Result::retry("not yet");
    }
    while (next_ < total_ && batch.size() < max) {
      event::Event* e = batch.append();
      std::string key = std::to_string(next_);
      e->key = batch.intern(key);
      e->set("n", Value::integer(next_));
      ++next_;
    }
    batch.cursor = std::to_string(next_);
    if (next_ >= total_) return idle_forever_ ? Result{Status::Idle, ""} : Result{Status::End, ""};
    return Result::ok();
  }
  std::string resumed_from;

 private:
  int64_t total_;
  int retries_;
  bool idle_forever_;
  int64_t next_ = 0;
};

class KeepEven : public Stage {
 public:
  Result process(Batch& b) override {
    for (auto& e : b) {
      if (e.live() && e.find("n")->i % 2 != 0) {
        e.disposition = Disposition::Drop;
        e.reason = "odd";
      }
    }
    return Result::ok();
  }
};

class FailEveryThirdBatch : public Stage {
 public:
  Result process(Batch& b) override {
    if (++calls_ % 3 == 0) return Result::error("boom");
    (void)b;
    return Result::ok();
  }

 private:
  int calls_ = 0;
};

class RouteByTens : public Stage {
 public:
  Result process(Batch& b) override {
    for (auto& e : b) {
      if (e.live() && e.find("n")->i % 10 == 0) e.route = 1;
    }
    return Result::ok();
  }
};

struct Collected {
  std::mutex mu;
  std::vector<int64_t> values;
  std::set<std::string> ids;
};

class CollectingSink : public Sink {
 public:
  CollectingSink(Collected& c, int fail_first_writes = 0, bool permanent = false)
      : c_(c), fail_(fail_first_writes), permanent_(permanent) {}
  Result write(Batch& b) override {
    if (fail_ > 0) {
      --fail_;
      return permanent_ ? Result::error("disk full") : Result::retry("busy");
    }
    std::lock_guard lock(c_.mu);
    for (auto& e : b) {
      if (!e.live()) continue;
      c_.values.push_back(e.find("n")->i);
      c_.ids.insert(std::string(e.id));
    }
    return Result::ok();
  }

 private:
  Collected& c_;
  int fail_;
  bool permanent_;
};

class MemoryCheckpoints : public CheckpointStore {
 public:
  std::string loadCursor(std::string_view, std::string_view) override { return cursor; }
  void commit(std::string_view, std::string_view, const Batch& b) override {
    for (auto& e : b) {
      if (e.disposition == Disposition::DeadLetter) dead.push_back(std::string(e.reason));
    }
    cursor = b.cursor;
    ++commits;
  }
  std::string cursor;
  std::vector<std::string> dead;
  int commits = 0;
};

ExecutorOptions options(size_t batch = 64) {
  ExecutorOptions o;
  o.pipeline = "test";
  o.source_id = "src";
  o.batch_size = batch;
  o.queue_depth = 2;
  o.retry_base = std::chrono::milliseconds(1);
  return o;
}

}  // namespace

TEST(Executor, DeliversEveryEventOnceInOrderAndCommitsFinalCursor) {
  Collected c;
  MemoryCheckpoints cp;
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  Executor ex(options(), std::make_unique<CountingSource>(10000), {}, std::move(sinks), &cp);
  Result r = ex.run();
  ASSERT_TRUE(r.isOk()) << r.message;
  ASSERT_EQ(c.values.size(), 10000u);
  for (int64_t i = 0; i < 10000; ++i) ASSERT_EQ(c.values[i], i);
  EXPECT_EQ(c.ids.size(), 10000u);
  EXPECT_EQ(cp.cursor, "10000");
  EXPECT_EQ(ex.stats().read.load(), 10000u);
  EXPECT_EQ(ex.stats().written.load(), 10000u);
}

TEST(Executor, ResumesFromCommittedCursor) {
  Collected c;
  MemoryCheckpoints cp;
  cp.cursor = "9000";
  auto src = std::make_unique<CountingSource>(10000);
  CountingSource* raw = src.get();
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  Executor ex(options(), std::move(src), {}, std::move(sinks), &cp);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(raw->resumed_from, "9000");
  ASSERT_EQ(c.values.size(), 1000u);
  EXPECT_EQ(c.values.front(), 9000);
}

TEST(Executor, FromStartIgnoresTheCommittedCursorAndCommitsANewOne) {
  Collected c;
  MemoryCheckpoints cp;
  cp.cursor = "9000";
  auto src = std::make_unique<CountingSource>(10000);
  CountingSource* raw = src.get();
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  ExecutorOptions o = options();
  o.from_start = true;
  Executor ex(o, std::move(src), {}, std::move(sinks), &cp);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(raw->resumed_from, "");
  ASSERT_EQ(c.values.size(), 10000u);
  EXPECT_EQ(c.values.front(), 0);
  EXPECT_EQ(cp.cursor, "10000");
}

TEST(Executor, EventIdsAreDeterministicAcrossRuns) {
  Collected a, b;
  for (Collected* c : {&a, &b}) {
    std::vector<NamedSink> sinks;
    sinks.push_back({"default", std::make_unique<CollectingSink>(*c)});
    Executor ex(options(), std::make_unique<CountingSource>(500), {}, std::move(sinks), nullptr);
    ASSERT_TRUE(ex.run().isOk());
  }
  EXPECT_EQ(a.ids, b.ids);
}

TEST(Executor, CountsFilteredPerStage) {
  Collected c;
  std::vector<NamedStage> stages;
  stages.push_back({"1:keep_even", std::make_unique<KeepEven>()});
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  Executor ex(options(), std::make_unique<CountingSource>(1000), std::move(stages),
              std::move(sinks), nullptr);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(c.values.size(), 500u);
  EXPECT_EQ(ex.stats().filtered.load(), 500u);
  EXPECT_EQ(ex.stats().stages[0]->in.load(), 1000u);
  EXPECT_EQ(ex.stats().stages[0]->dropped.load(), 500u);
}

TEST(Executor, StageErrorDeadLettersTheBatchAndPipelineGoesOn) {
  Collected c;
  MemoryCheckpoints cp;
  std::vector<NamedStage> stages;
  stages.push_back({"1:flaky", std::make_unique<FailEveryThirdBatch>()});
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  Executor ex(options(10), std::make_unique<CountingSource>(90), std::move(stages),
              std::move(sinks), &cp);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(c.values.size(), 60u);
  ASSERT_EQ(cp.dead.size(), 30u);
  EXPECT_EQ(cp.dead[0], "stage 1:flaky: boom");
  EXPECT_EQ(ex.stats().dead_lettered.load(), 30u);
  EXPECT_EQ(cp.cursor, "90");
}

TEST(Executor, SinkRetriesThenSucceeds) {
  Collected c;
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c, 3)});
  Executor ex(options(), std::make_unique<CountingSource>(100), {}, std::move(sinks), nullptr);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(c.values.size(), 100u);
  EXPECT_EQ(ex.stats().sinks[0]->retries.load(), 3u);
}

TEST(Executor, PermanentSinkErrorDeadLettersInsteadOfStopping) {
  Collected c;
  MemoryCheckpoints cp;
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c, 1, true)});
  Executor ex(options(10), std::make_unique<CountingSource>(30), {}, std::move(sinks), &cp);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(c.values.size(), 20u);
  ASSERT_EQ(cp.dead.size(), 10u);
  EXPECT_EQ(cp.dead[0], "sink default: disk full");
}

TEST(Executor, SourceRetriesWithBackoffThenReads) {
  Collected c;
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  Executor ex(options(), std::make_unique<CountingSource>(10, 2), {}, std::move(sinks), nullptr);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(c.values.size(), 10u);
  EXPECT_EQ(ex.stats().source_retries.load(), 2u);
}

TEST(Executor, SourceErrorFailsThePipeline) {
  class Broken : public Source {
   public:
    Result resume(std::string_view) override { return Result::ok(); }
    Result read(Batch&, size_t) override { return Result::error("cannot open file"); }
  };
  Collected c;
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  Executor ex(options(), std::make_unique<Broken>(), {}, std::move(sinks), nullptr);
  Result r = ex.run();
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(r.message, "source: cannot open file");
}

TEST(Executor, RoutesEventsToNamedSinks) {
  Collected main_sink, tens;
  std::vector<NamedStage> stages;
  stages.push_back({"1:route", std::make_unique<RouteByTens>()});
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(main_sink)});
  sinks.push_back({"tens", std::make_unique<CollectingSink>(tens)});
  Executor ex(options(), std::make_unique<CountingSource>(100), std::move(stages), std::move(sinks),
              nullptr);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(main_sink.values.size(), 90u);
  EXPECT_EQ(tens.values.size(), 10u);
  EXPECT_EQ(ex.stats().written.load(), 100u);
}

TEST(Executor, StopDrainsInFlightBatchesAndCommitsWhatWasWritten) {
  Collected c;
  MemoryCheckpoints cp;
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  // An endless source (Idle after 1000) stops only when asked.
  Executor ex(options(), std::make_unique<CountingSource>(1000, 0, true), {}, std::move(sinks),
              &cp);
  std::thread stopper([&] {
    while (ex.stats().written.load() < 1000)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ex.requestStop();
  });
  Result r = ex.run();
  stopper.join();
  ASSERT_TRUE(r.isOk()) << r.message;
  EXPECT_EQ(c.values.size(), 1000u);
  EXPECT_EQ(cp.cursor, "1000");
}

TEST(Executor, MemoryIsBoundedByThePool) {
  // A slow sink must block the source: at most queue+2 batches are ever filled ahead.
  class SlowSink : public Sink {
   public:
    explicit SlowSink(const PipelineStats*& s) : stats_(s) {}
    Result write(Batch& b) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      written_ += b.size();
      max_ahead = std::max<uint64_t>(max_ahead, stats_->read.load() - written_);
      return Result::ok();
    }
    uint64_t max_ahead = 0;

   private:
    const PipelineStats*& stats_;
    uint64_t written_ = 0;
  };
  const PipelineStats* stats = nullptr;
  auto sink = std::make_unique<SlowSink>(stats);
  SlowSink* raw = sink.get();
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::move(sink)});
  Executor ex(options(10), std::make_unique<CountingSource>(500), {}, std::move(sinks), nullptr);
  stats = &ex.stats();
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_LE(raw->max_ahead, 10u * (2 + 2));
}

TEST(Executor, MarksBatchesWithMoreQueuedSoACommittingSinkCanGroupThem) {
  // A slow sink that commits the cursor: while it writes, the source queues batches behind
  // it, so most batches are marked more_pending; the last one never is, and flush() comes
  // once at the end, after the last write (so nothing deferred stays uncommitted).
  class GroupingSink : public Sink {
   public:
    Result write(Batch& b) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      marks.push_back(b.more_pending);
      last_flags.push_back(b.last);
      return Result::ok();
    }
    Result flush() override {
      flushed_after = marks.size();
      ++flushes;
      return Result::ok();
    }
    bool commitsCursor() const override { return true; }
    std::vector<bool> marks, last_flags;
    size_t flushed_after = 0;
    int flushes = 0;
  };
  auto sink = std::make_unique<GroupingSink>();
  GroupingSink* raw = sink.get();
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::move(sink)});
  Executor ex(options(10), std::make_unique<CountingSource>(500), {}, std::move(sinks), nullptr);
  ASSERT_TRUE(ex.run().isOk());
  ASSERT_EQ(raw->marks.size(), 50u);
  EXPECT_FALSE(raw->marks.back()) << "the last batch must commit";
  EXPECT_TRUE(raw->last_flags.back());
  EXPECT_GE(std::count(raw->marks.begin(), raw->marks.end(), true), 40)
      << "the source runs ahead of a slow sink";
  EXPECT_EQ(raw->flushes, 1);
  EXPECT_EQ(raw->flushed_after, 50u);
}

TEST(Executor, AFastSinkIsNotToldToDeferWhenNothingIsQueued) {
  // A source slower than the sink: the queue is empty whenever a batch is taken.
  class SlowSource : public CountingSource {
   public:
    SlowSource() : CountingSource(100) {}
    Result read(Batch& b, size_t max) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      return CountingSource::read(b, max);
    }
  };
  class MarkSink : public Sink {
   public:
    Result write(Batch& b) override {
      deferred += b.more_pending ? 1 : 0;
      ++writes;
      return Result::ok();
    }
    bool commitsCursor() const override { return true; }
    int deferred = 0, writes = 0;
  };
  auto sink = std::make_unique<MarkSink>();
  MarkSink* raw = sink.get();
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::move(sink)});
  Executor ex(options(10), std::make_unique<SlowSource>(), {}, std::move(sinks), nullptr);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(raw->writes, 10);
  EXPECT_LE(raw->deferred, 1);  // at most a scheduling hiccup
}

namespace {

// Counts every odd event under ("odd_seen", "odd") and every event under ("seen", "all").
class TallyStage : public Stage {
 public:
  Result process(Batch& b) override {
    for (auto& e : b) {
      if (!e.live()) continue;
      b.count("seen", "all");
      if (e.find("n")->i % 2 != 0) b.count("odd_seen", "odd");
    }
    return Result::ok();
  }
};

// Counts ("sink_seen", "all") per live event on every attempt, and asks for `retries` retries.
class TallyingRetrySink : public Sink {
 public:
  explicit TallyingRetrySink(int retries) : retries_(retries) {}
  Result write(Batch& b) override {
    for (auto& e : b) {
      if (e.live()) b.count("sink_seen", "all");
    }
    if (retries_ > 0) {
      --retries_;
      return Result::retry("busy");
    }
    return Result::ok();
  }

 private:
  int retries_;
};

}  // namespace

TEST(Executor, FoldsBatchTalliesIntoPipelineCountersOncePerBatch) {
  std::vector<NamedStage> stages;
  stages.push_back({"tally", std::make_unique<TallyStage>()});
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<TallyingRetrySink>(2)});
  Executor ex(options(16), std::make_unique<CountingSource>(100), std::move(stages),
              std::move(sinks), nullptr);
  ASSERT_TRUE(ex.run().isOk());
  const pipeline::ReasonCounts counts = ex.stats().counters.snapshot();
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts.at({"seen", "all"}), 100u);
  EXPECT_EQ(counts.at({"odd_seen", "odd"}), 50u);
  // The sink's first batch was tried three times: its tallies count once.
  EXPECT_EQ(counts.at({"sink_seen", "all"}), 100u);
}

TEST(Executor, ASinkThatFailsForGoodDoesNotKeepItsTallies) {
  std::vector<NamedSink> sinks;
  class FailingTallySink : public Sink {
   public:
    Result write(Batch& b) override {
      b.count("sink_seen", "all", b.countLive());
      return Result::error("disk full");
    }
  };
  sinks.push_back({"default", std::make_unique<FailingTallySink>()});
  MemoryCheckpoints cp;
  Executor ex(options(10), std::make_unique<CountingSource>(30), {}, std::move(sinks), &cp);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_TRUE(ex.stats().counters.snapshot().empty());
  EXPECT_EQ(cp.dead.size(), 30u);
}

namespace {

// An overlapping stage (as an isolated plugin stage is): records the order of begin() and
// finish() calls, keeps the even numbers (as KeepEven, but in finish()), fails one batch, and
// waits in finish() until the next batch was begun, so the test fails unless the executor
// hands it the next batch while one is outstanding.
class OverlappingKeepEven : public Stage {
 public:
  Result process(Batch& b) override {
    ++processed;
    return keepEven(b);
  }
  bool overlaps() const override { return true; }
  void begin(Batch& b) override {
    std::lock_guard lock(mu_);
    calls.push_back("b" + std::to_string(b.sequence));
    max_outstanding = std::max(max_outstanding, ++outstanding_);
    begun_.notify_all();
  }
  Result finish(Batch& b) override {
    std::unique_lock lock(mu_);
    // The next batch is begun while this one is outstanding (unless this is the last one).
    begun_.wait_for(lock, std::chrono::seconds(5), [&] { return b.last || outstanding_ > 1; });
    calls.push_back("f" + std::to_string(b.sequence));
    --outstanding_;
    if (b.sequence == 3) return Result::error("worker said no");
    return keepEven(b);
  }
  std::vector<std::string> calls;
  int max_outstanding = 0;
  int processed = 0;

 private:
  static Result keepEven(Batch& b) {
    for (auto& e : b) {
      if (e.live() && e.find("n")->i % 2 != 0) e.disposition = Disposition::Drop;
    }
    return Result::ok();
  }
  std::mutex mu_;
  std::condition_variable begun_;
  int outstanding_ = 0;
};

}  // namespace

// A stage that overlaps batches is begun on the next batch before the previous one is
// finished; every batch is begun and finished once, in order, the stages after it and the sink
// see each batch once, and what finish() returns is handled as process()'s result would be.
TEST(Executor, AnOverlappingStageGetsTheNextBatchWhileOneIsOutstanding) {
  Collected c;
  MemoryCheckpoints cp;
  std::vector<NamedStage> stages;
  auto overlapping = std::make_unique<OverlappingKeepEven>();
  OverlappingKeepEven* stage = overlapping.get();
  stages.push_back({"tens", std::make_unique<RouteByTens>()});  // before it: runs first
  stages.push_back({"even", std::move(overlapping)});
  stages.push_back({"after", std::make_unique<FailEveryThirdBatch>()});
  std::vector<NamedSink> sinks;
  sinks.push_back({"default", std::make_unique<CollectingSink>(c)});
  sinks.push_back({"tens", std::make_unique<CollectingSink>(c)});
  Executor ex(options(10), std::make_unique<CountingSource>(100), std::move(stages),
              std::move(sinks), &cp);
  ASSERT_TRUE(ex.run().isOk());
  EXPECT_EQ(stage->processed, 0);
  ASSERT_EQ(stage->calls.size(), 20u);
  int begun = 0, finished = 0;
  for (const std::string& call : stage->calls) {
    // In order, and never finished before begun.
    if (call[0] == 'b') {
      EXPECT_EQ(call, "b" + std::to_string(++begun));
    } else {
      EXPECT_EQ(call, "f" + std::to_string(++finished));
    }
    EXPECT_LE(finished, begun);
  }
  // Overlapped, and within the executor's bound (one being finished, one handed over, one
  // being begun).
  EXPECT_GE(stage->max_outstanding, 2);
  EXPECT_LE(stage->max_outstanding, 3);
  // Batch 3 (events 20-29) failed in finish(): dead-lettered; batches 3, 6 and 9 failed in
  // "after" (its calls 3, 6, 9): dead-lettered too. The rest: the even numbers, each once.
  std::vector<int64_t> expected;
  for (int64_t n = 0; n < 100; n += 2) {
    const int64_t batch = n / 10 + 1;
    if (batch == 3 || batch == 6 || batch == 9) continue;
    expected.push_back(n);
  }
  std::vector<int64_t> got = c.values;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(cp.cursor, "100");
  EXPECT_EQ(ex.stats().stages[1]->in.load(), 100u);
  EXPECT_EQ(ex.stats().stages[1]->dead_lettered.load(), 10u);
  EXPECT_EQ(ex.stats().stages[1]->dropped.load(), 45u);
}
