#pragma once
// Run feedback: a live progress line on a terminal, periodic plain lines otherwise, and the
// end-of-run summary.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include "pipeline/executor.h"

namespace omniloop::app {

class ProgressReporter {
 public:
  // interactive: rewrite one line on `out` every 200 ms; else a line every `interval_s` seconds.
  ProgressReporter(const pipeline::PipelineStats& stats, std::string pipeline, bool interactive,
                   double interval_s, std::ostream& out);
  ~ProgressReporter();
  void stop();

 private:
  void loop();
  const pipeline::PipelineStats& stats_;
  std::string pipeline_;
  bool interactive_;
  double interval_s_;
  std::ostream& out_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

std::string formatCount(uint64_t n);  // 1234567 -> "1,234,567"
std::string formatRate(double per_second);

// Adds a finished attempt's counters to `total`, whose time then runs from the first
// attempt's start to this one's end (`omniloop run` resuming after a rolled-back group).
// {"family":{"label":n,...},...}: the Batch::count tallies, grouped by family.
void appendCountersJson(std::string& out, const pipeline::ReasonCounts& counts);

void addAttempt(pipeline::PipelineStats& total, const pipeline::PipelineStats& attempt, bool first);

// Human-readable summary of a finished run; `resumes`: times it resumed from its cursor.
void printSummary(std::ostream& out, const std::string& pipeline, const std::string& file,
                  const pipeline::PipelineStats& stats, const pipeline::Result& result,
                  uint64_t resumes = 0);
// The same as one JSON object (for machines: --json).
std::string summaryJson(const std::string& pipeline, const std::string& file,
                        const pipeline::PipelineStats& stats, const pipeline::Result& result,
                        uint64_t resumes = 0);

}  // namespace omniloop::app
