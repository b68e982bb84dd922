// `omniloop run`'s summary over several attempts (resumed after a rolled-back group commit).
#include "app/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

using namespace omniloop;

namespace {

void fill(pipeline::PipelineStats& s, uint64_t read, uint64_t written, std::chrono::steady_clock::time_point started,
          std::chrono::milliseconds took) {
  s.read = read;
  s.written = written;
  s.dead_lettered = read - written;
  s.batches = read / 100;
  s.stages.push_back(std::make_unique<pipeline::StageStats>());
  s.stages.back()->name = "1:map";
  s.stages.back()->in = read;
  s.sinks.push_back(std::make_unique<pipeline::SinkStats>());
  s.sinks.back()->name = "default";
  s.sinks.back()->written = written;
  s.started = started;
  s.finished_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
}

}  // namespace

TEST(RunSummary, AttemptsAddUpAndTheTimeSpansFromTheFirstStartToTheLastEnd) {
  const auto t0 = std::chrono::steady_clock::now();
  pipeline::PipelineStats first, second, total;
  fill(first, 1500, 1400, t0, std::chrono::milliseconds(300));
  fill(second, 600, 500, t0 + std::chrono::milliseconds(400), std::chrono::milliseconds(200));
  app::addAttempt(total, first, true);
  app::addAttempt(total, second, false);

  EXPECT_EQ(total.read.load(), 2100u);
  EXPECT_EQ(total.written.load(), 1900u);
  EXPECT_EQ(total.dead_lettered.load(), 200u);
  EXPECT_EQ(total.batches.load(), 21u);
  ASSERT_EQ(total.stages.size(), 1u);
  EXPECT_EQ(total.stages[0]->name, "1:map");
  EXPECT_EQ(total.stages[0]->in.load(), 2100u);
  ASSERT_EQ(total.sinks.size(), 1u);
  EXPECT_EQ(total.sinks[0]->name, "default");
  EXPECT_EQ(total.sinks[0]->written.load(), 1900u);
  EXPECT_DOUBLE_EQ(total.elapsedSeconds(), 0.6);  // 0 .. 400 + 200 ms

  const std::string json = app::summaryJson("r", "p.yaml", total, pipeline::Result::ok(), 1);
  EXPECT_NE(json.find("\"read\":2100,\"written\":1900,\"filtered\":0,\"dead_lettered\":200,\"resumes\":1,"),
            std::string::npos)
      << json;
}

TEST(RunSummary, CountedReasonsAddUpOverAttemptsAndAppearInJsonAndText) {
  const auto t0 = std::chrono::steady_clock::now();
  pipeline::PipelineStats first, second, total;
  fill(first, 100, 90, t0, std::chrono::milliseconds(10));
  fill(second, 100, 90, t0, std::chrono::milliseconds(10));
  first.counters.add(pipeline::ReasonCounts{{{"consent_denied", "marketing"}, 4}});
  second.counters.add(pipeline::ReasonCounts{{{"consent_denied", "marketing"}, 6},
                                             {{"suppressed", "email"}, 1}});
  app::addAttempt(total, first, true);
  app::addAttempt(total, second, false);
  const std::string json = app::summaryJson("r", "p.yaml", total, pipeline::Result::ok(), 0);
  EXPECT_NE(json.find("\"counters\":{\"consent_denied\":{\"marketing\":10},\"suppressed\":{\"email\":1}}"),
            std::string::npos)
      << json;
  std::ostringstream text;
  app::printSummary(text, "r", "p.yaml", total, pipeline::Result::ok(), 0);
  EXPECT_NE(text.str().find("consent_denied (marketing)"), std::string::npos) << text.str();
}
