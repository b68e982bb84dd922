#include "admin/metrics.h"

#include <charconv>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

namespace omniloop::admin {

namespace {

void appendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

using ReasonEntry = pipeline::ReasonCounts::value_type;

// omniloop_<family>_total, with anything outside [a-z0-9_] in the family turned into '_'.
std::string metricName(std::string_view family) {
  std::string name = "omniloop_";
  for (char c : family) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    name += ok ? c : (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : '_');
  }
  name += "_total";
  return name;
}

}  // namespace

void appendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

std::string formatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[128];
  // Plain decimals where they stay short (le="0.0005", not "5e-04"), exponents for the rest.
  const double mag = std::fabs(v);
  const bool fixed = v == 0 || (mag >= 1e-6 && mag < 1e15);
  auto [end, ec] = fixed ? std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

void MetricsWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  appendHelp(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsWriter::labels(std::initializer_list<Label> labels) {
  if (labels.size() == 0) return;
  out_ += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    appendLabelValue(out_, value);
    out_ += '"';
  }
  out_ += '}';
}

void MetricsWriter::sample(std::string_view name, std::initializer_list<Label> l, double value) {
  out_ += name;
  labels(l);
  out_ += ' ';
  out_ += formatMetricValue(value);
  out_ += '\n';
}

void MetricsWriter::sample(std::string_view name, std::initializer_list<Label> l, uint64_t value) {
  out_ += name;
  labels(l);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void MetricsWriter::sample(std::string_view name, std::initializer_list<Label> l, int64_t value) {
  out_ += name;
  labels(l);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

std::string renderMetrics(const DaemonSnapshot& s) {
  MetricsWriter w;
  const auto& ps = s.pipelines;

  struct PipelineCounter {
    const char* name;
    const char* help;
    uint64_t PipelineSnapshot::*field;
  };
  static constexpr PipelineCounter kCounters[] = {
      {"omniloop_events_read_total", "Events produced by the pipeline's source.",
       &PipelineSnapshot::read},
      {"omniloop_events_written_total", "Events accepted by the pipeline's sinks.",
       &PipelineSnapshot::written},
      {"omniloop_events_filtered_total", "Events dropped by the pipeline's stages.",
       &PipelineSnapshot::filtered},
      {"omniloop_events_dead_lettered_total",
       "Events sent to dead letters (by the source, a stage or a sink).",
       &PipelineSnapshot::dead_lettered},
      {"omniloop_batches_total", "Batches processed and committed.", &PipelineSnapshot::batches},
      {"omniloop_pipeline_restarts_total",
       "Times the pipeline was started again after a failure or on request.",
       &PipelineSnapshot::restarts},
  };
  for (const PipelineCounter& c : kCounters) {
    w.family(c.name, "counter", c.help);
    for (const auto& p : ps) {
      if (p.state == "invalid") continue;
      w.sample(c.name, {{"pipeline", p.name}}, p.*(c.field));
    }
  }

  // Batch::count families, one metric family each: omniloop_<family>_total{pipeline,reason}.
  std::map<std::string, std::vector<std::pair<const PipelineSnapshot*, const ReasonEntry*>>>
      families;
  for (const auto& p : ps) {
    for (const auto& entry : p.counts) families[metricName(entry.first.first)].push_back({&p, &entry});
  }
  for (const auto& [name, samples] : families) {
    w.family(name, "counter",
             "Events or identities the pipeline's components counted under this name, by "
             "reason (see docs/operations.md).");
    for (const auto& [p, entry] : samples) {
      w.sample(name, {{"pipeline", p->name}, {"reason", entry->first.second}}, entry->second);
    }
  }

  struct StageCounter {
    const char* name;
    const char* help;
    uint64_t StageSnapshot::*field;
  };
  static constexpr StageCounter kStageCounters[] = {
      {"omniloop_stage_events_in_total", "Live events entering the stage.", &StageSnapshot::in},
      {"omniloop_stage_events_filtered_total", "Events the stage dropped.",
       &StageSnapshot::filtered},
      {"omniloop_stage_events_dead_lettered_total", "Events the stage sent to dead letters.",
       &StageSnapshot::dead_lettered},
  };
  for (const StageCounter& c : kStageCounters) {
    w.family(c.name, "counter", c.help);
    for (const auto& p : ps) {
      for (const auto& st : p.stages) {
        w.sample(c.name, {{"pipeline", p.name}, {"stage", st.name}}, st.*(c.field));
      }
    }
  }
  w.family("omniloop_stage_seconds_total", "counter", "Time spent in the stage, in seconds.");
  for (const auto& p : ps) {
    for (const auto& st : p.stages) {
      w.sample("omniloop_stage_seconds_total", {{"pipeline", p.name}, {"stage", st.name}},
               st.seconds);
    }
  }

  w.family("omniloop_sink_events_written_total", "counter", "Events the sink accepted.");
  for (const auto& p : ps) {
    for (const auto& sk : p.sinks) {
      w.sample("omniloop_sink_events_written_total", {{"pipeline", p.name}, {"sink", sk.name}},
               sk.written);
    }
  }
  w.family("omniloop_sink_errors_total", "counter",
           "Batches the sink failed to write (their events were dead-lettered).");
  for (const auto& p : ps) {
    for (const auto& sk : p.sinks) {
      w.sample("omniloop_sink_errors_total", {{"pipeline", p.name}, {"sink", sk.name}},
               sk.errors);
    }
  }

  w.family("omniloop_batch_duration_seconds", "histogram",
           "Time to run one batch through the stages and sinks and commit it.");
  for (const auto& p : ps) {
    if (p.state == "invalid") continue;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < pipeline::kLatencyBuckets.size(); ++i) {
      cumulative += p.latency_counts[i];
      const std::string le = formatMetricValue(pipeline::kLatencyBuckets[i]);
      w.sample("omniloop_batch_duration_seconds_bucket", {{"pipeline", p.name}, {"le", le}},
               cumulative);
    }
    cumulative += p.latency_counts.back();
    w.sample("omniloop_batch_duration_seconds_bucket", {{"pipeline", p.name}, {"le", "+Inf"}},
             cumulative);
    w.sample("omniloop_batch_duration_seconds_sum", {{"pipeline", p.name}},
             p.latency_sum_seconds);
    w.sample("omniloop_batch_duration_seconds_count", {{"pipeline", p.name}}, cumulative);
  }

  w.family("omniloop_queue_depth", "gauge", "Batches read and waiting for the pipeline's worker.");
  for (const auto& p : ps) {
    if (p.state == "invalid") continue;
    w.sample("omniloop_queue_depth", {{"pipeline", p.name}}, p.queue_depth);
  }
  w.family("omniloop_pipeline_up", "gauge",
           "1 when the pipeline is running or has finished its finite source, else 0.");
  for (const auto& p : ps) w.sample("omniloop_pipeline_up", {{"pipeline", p.name}},
                                    static_cast<uint64_t>(isUp(p) ? 1 : 0));
  w.family("omniloop_pipeline_state", "gauge",
           "1 for the pipeline's current state (starting, running, backoff, done, stopped, "
           "invalid).");
  for (const auto& p : ps) {
    w.sample("omniloop_pipeline_state", {{"pipeline", p.name}, {"state", p.state}},
             static_cast<uint64_t>(1));
  }

  w.family("omniloop_plugin_load_failures_total", "counter",
           "Plugin files that were refused at start (see `omniloop plugins`).");
  w.sample("omniloop_plugin_load_failures_total", {}, s.plugin_load_failures);
  w.family("omniloop_store_errors_total", "counter",
           "Failed writes or checkpoint commits to the CDP store.");
  w.sample("omniloop_store_errors_total", {}, s.store_errors);
  w.family("omniloop_config_reloads_total", "counter", "Reloads (SIGHUP or POST /v1/reload).");
  w.sample("omniloop_config_reloads_total", {}, s.reloads);
  w.family("omniloop_config_reload_failures_total", "counter",
           "Reloads that could not read the configuration or the pipelines directory.");
  w.sample("omniloop_config_reload_failures_total", {}, s.reload_failures);
  w.family("omniloop_uptime_seconds", "gauge", "Seconds since the daemon started.");
  w.sample("omniloop_uptime_seconds", {}, s.uptime_seconds);
  w.family("omniloop_build_info", "gauge", "Always 1; the labels name the running build.");
  w.sample("omniloop_build_info", {{"version", s.version}}, static_cast<uint64_t>(1));
  return w.text();
}

}  // namespace omniloop::admin
