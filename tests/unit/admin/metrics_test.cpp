#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "admin/metrics.h"

using namespace omniloop::admin;

namespace {

// The value of the sample line starting with `series` (name plus labels), or -1.
double sampleValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

PipelineSnapshot pipelineNamed(const std::string& name, const std::string& state) {
  PipelineSnapshot p;
  p.name = name;
  p.state = state;
  return p;
}

}  // namespace

TEST(MetricsWriter, EscapesLabelValuesAndHelpText) {
  MetricsWriter w;
  w.family("x_total", "counter", "a \\ back\nslash");
  w.sample("x_total", {{"pipeline", "a\"b\\c\nd"}}, static_cast<uint64_t>(3));
  EXPECT_EQ(w.text(),
            "# HELP x_total a \\\\ back\\nslash\n"
            "# TYPE x_total counter\n"
            "x_total{pipeline=\"a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(MetricsWriter, FormatsSpecialAndSmallValues) {
  EXPECT_EQ(formatMetricValue(0.0005), "0.0005");
  EXPECT_EQ(formatMetricValue(1.0), "1");
  EXPECT_EQ(formatMetricValue(2.5), "2.5");
  EXPECT_EQ(formatMetricValue(0), "0");
  EXPECT_EQ(formatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(formatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(formatMetricValue(0.0 / 0.0), "NaN");
  EXPECT_EQ(formatMetricValue(1e-9), "1e-09");
}

TEST(RenderMetrics, CountersPerPipelineAndStage) {
  DaemonSnapshot s;
  s.version = "9.8.7";
  s.plugin_load_failures = 2;
  s.store_errors = 4;
  PipelineSnapshot p = pipelineNamed("pos", "running");
  p.read = 7;
  p.written = 5;
  p.filtered = 1;
  p.dead_lettered = 1;
  p.queue_depth = 3;
  p.restarts = 2;
  p.stages.push_back({"1:filter", 6, 1, 0, 0.5});
  s.pipelines.push_back(p);
  s.pipelines.push_back(pipelineNamed("broken", "invalid"));
  const std::string text = renderMetrics(s);

  EXPECT_EQ(sampleValue(text, "omniloop_events_read_total{pipeline=\"pos\"}"), 7);
  EXPECT_EQ(sampleValue(text, "omniloop_events_written_total{pipeline=\"pos\"}"), 5);
  EXPECT_EQ(sampleValue(text, "omniloop_events_filtered_total{pipeline=\"pos\"}"), 1);
  EXPECT_EQ(sampleValue(text, "omniloop_events_dead_lettered_total{pipeline=\"pos\"}"), 1);
  EXPECT_EQ(sampleValue(text, "omniloop_pipeline_restarts_total{pipeline=\"pos\"}"), 2);
  EXPECT_EQ(sampleValue(text, "omniloop_queue_depth{pipeline=\"pos\"}"), 3);
  EXPECT_EQ(sampleValue(text, "omniloop_stage_events_in_total{pipeline=\"pos\",stage=\"1:filter\"}"), 6);
  EXPECT_EQ(sampleValue(text, "omniloop_stage_events_filtered_total{pipeline=\"pos\",stage=\"1:filter\"}"), 1);
  EXPECT_EQ(sampleValue(text, "omniloop_pipeline_up{pipeline=\"pos\"}"), 1);
  EXPECT_EQ(sampleValue(text, "omniloop_pipeline_up{pipeline=\"broken\"}"), 0);
  EXPECT_EQ(sampleValue(text, "omniloop_pipeline_state{pipeline=\"broken\",state=\"invalid\"}"), 1);
  EXPECT_EQ(sampleValue(text, "omniloop_plugin_load_failures_total"), 2);
  EXPECT_EQ(sampleValue(text, "omniloop_store_errors_total"), 4);
  EXPECT_EQ(sampleValue(text, "omniloop_build_info{version=\"9.8.7\"}"), 1);
  // An invalid file never ran: no event counters for it.
  EXPECT_EQ(text.find("omniloop_events_read_total{pipeline=\"broken\"}"), std::string::npos);
}

TEST(RenderMetrics, HistogramBucketsAreCumulativeAndEndWithInf) {
  DaemonSnapshot s;
  PipelineSnapshot p = pipelineNamed("a", "running");
  p.latency_counts[0] = 2;                     // <= 0.0005
  p.latency_counts[3] = 1;                     // <= 0.005
  p.latency_counts[p.latency_counts.size() - 1] = 4;  // > 1 s
  p.latency_sum_seconds = 9.25;
  s.pipelines.push_back(p);
  const std::string text = renderMetrics(s);
  EXPECT_EQ(sampleValue(text, "omniloop_batch_duration_seconds_bucket{pipeline=\"a\",le=\"0.0005\"}"), 2);
  EXPECT_EQ(sampleValue(text, "omniloop_batch_duration_seconds_bucket{pipeline=\"a\",le=\"0.0025\"}"), 2);
  EXPECT_EQ(sampleValue(text, "omniloop_batch_duration_seconds_bucket{pipeline=\"a\",le=\"0.005\"}"), 3);
  EXPECT_EQ(sampleValue(text, "omniloop_batch_duration_seconds_bucket{pipeline=\"a\",le=\"1\"}"), 3);
  EXPECT_EQ(sampleValue(text, "omniloop_batch_duration_seconds_bucket{pipeline=\"a\",le=\"+Inf\"}"), 7);
  EXPECT_EQ(sampleValue(text, "omniloop_batch_duration_seconds_count{pipeline=\"a\"}"), 7);
  EXPECT_EQ(sampleValue(text, "omniloop_batch_duration_seconds_sum{pipeline=\"a\"}"), 9.25);
  EXPECT_NE(text.find("# TYPE omniloop_batch_duration_seconds histogram\n"), std::string::npos);
}

TEST(RenderMetrics, EveryFamilyHasHelpAndTypeOnceAndSamplesFollowIt) {
  DaemonSnapshot s;
  s.pipelines.push_back(pipelineNamed("a", "running"));
  s.pipelines.push_back(pipelineNamed("b", "done"));
  const std::string text = renderMetrics(s);
  std::istringstream in(text);
  std::string line, family;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(seen.insert(family).second) << "family twice: " << family;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_EQ(line.substr(7, family.size()), family);
      continue;
    }
    EXPECT_EQ(line.rfind(family, 0), 0u) << line << " outside its family " << family;
  }
  EXPECT_GE(seen.size(), 20u);
}

TEST(RenderMetrics, CountedReasonsAreOneFamilyEachWithPipelineAndReasonLabels) {
  DaemonSnapshot s;
  PipelineSnapshot a = pipelineNamed("crm", "running");
  a.counts[{"consent_denied", "marketing"}] = 3;
  a.counts[{"identity_rejected", "phone_invalid"}] = 2;
  PipelineSnapshot b = pipelineNamed("pos", "running");
  b.counts[{"consent_denied", "analytics"}] = 5;
  s.pipelines = {a, b};
  const std::string text = renderMetrics(s);
  EXPECT_EQ(sampleValue(text, "omniloop_consent_denied_total{pipeline=\"crm\",reason=\"marketing\"}"), 3);
  EXPECT_EQ(sampleValue(text, "omniloop_consent_denied_total{pipeline=\"pos\",reason=\"analytics\"}"), 5);
  EXPECT_EQ(sampleValue(text, "omniloop_identity_rejected_total{pipeline=\"crm\",reason=\"phone_invalid\"}"), 2);
  // One HELP/TYPE per family even when several pipelines report it.
  size_t helps = 0;
  for (size_t at = 0; (at = text.find("# HELP omniloop_consent_denied_total ", at)) != std::string::npos; ++at) ++helps;
  EXPECT_EQ(helps, 1u);
}
