#include "admin/render.h"

#include <vector>

#include "admin/metrics.h"
#include "event/json.h"

namespace omniloop::admin {

namespace {

using event::appendJsonString;

void appendKey(std::string& out, std::string_view key) {
  appendJsonString(out, key);
  out += ':';
}

void appendStringField(std::string& out, std::string_view key, std::string_view value) {
  appendKey(out, key);
  appendJsonString(out, value);
  out += ',';
}

void appendNullableString(std::string& out, std::string_view key, std::string_view value) {
  appendKey(out, key);
  if (value.empty()) {
    out += "null";
  } else {
    appendJsonString(out, value);
  }
  out += ',';
}

template <typename Int>
void appendIntField(std::string& out, std::string_view key, Int value) {
  appendKey(out, key);
  out += std::to_string(value);
  out += ',';
}

void appendDoubleField(std::string& out, std::string_view key, double value) {
  appendKey(out, key);
  const std::string text = formatMetricValue(value);
  out += (text == "NaN" || text == "+Inf" || text == "-Inf") ? "null" : text;
  out += ',';
}

void closeObject(std::string& out) {
  if (!out.empty() && out.back() == ',') out.pop_back();
  out += '}';
}

void appendStringArray(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, items[i]);
  }
  out += ']';
}

}  // namespace

std::string errorJson(std::string_view error, std::string_view hint) {
  std::string out = "{";
  appendStringField(out, "error", error);
  if (!hint.empty()) appendStringField(out, "hint", hint);
  closeObject(out);
  return out;
}

std::string pipelineJson(const PipelineSnapshot& p) {
  std::string out = "{";
  appendStringField(out, "name", p.name);
  appendStringField(out, "file", p.file);
  appendNullableString(out, "source", p.source_type);
  appendStringField(out, "state", p.state);
  appendDoubleField(out, "state_seconds", p.state_seconds);
  appendNullableString(out, "cursor", p.cursor);
  appendNullableString(out, "last_error", p.last_error);
  appendIntField(out, "restarts", p.restarts);
  if (p.state == "backoff") appendDoubleField(out, "retry_in_seconds", p.retry_in_seconds);
  if (!p.diagnostics.empty()) {
    appendKey(out, "diagnostics");
    appendStringArray(out, p.diagnostics);
    out += ',';
  }
  appendKey(out, "counters");
  out += '{';
  appendIntField(out, "read", p.read);
  appendIntField(out, "written", p.written);
  appendIntField(out, "filtered", p.filtered);
  appendIntField(out, "dead_lettered", p.dead_lettered);
  appendIntField(out, "batches", p.batches);
  appendIntField(out, "queue_depth", p.queue_depth);
  closeObject(out);
  out += ',';
  appendKey(out, "stages");
  out += '[';
  for (size_t i = 0; i < p.stages.size(); ++i) {
    const StageSnapshot& st = p.stages[i];
    if (i) out += ',';
    out += '{';
    appendStringField(out, "name", st.name);
    appendIntField(out, "in", st.in);
    appendIntField(out, "filtered", st.filtered);
    appendIntField(out, "dead_lettered", st.dead_lettered);
    appendDoubleField(out, "seconds", st.seconds);
    closeObject(out);
  }
  out += "],";
  appendKey(out, "sinks");
  out += '[';
  for (size_t i = 0; i < p.sinks.size(); ++i) {
    const SinkSnapshot& sk = p.sinks[i];
    if (i) out += ',';
    out += '{';
    appendStringField(out, "name", sk.name);
    appendStringField(out, "type", sk.type);
    appendIntField(out, "written", sk.written);
    appendIntField(out, "errors", sk.errors);
    appendIntField(out, "retries", sk.retries);
    closeObject(out);
  }
  out += ']';
  out += '}';
  return out;
}

std::string pipelinesJson(const DaemonSnapshot& s) {
  std::string out = "{";
  appendStringField(out, "version", s.version);
  appendDoubleField(out, "uptime_seconds", s.uptime_seconds);
  appendKey(out, "pipelines");
  out += '[';
  for (size_t i = 0; i < s.pipelines.size(); ++i) {
    if (i) out += ',';
    out += pipelineJson(s.pipelines[i]);
  }
  out += "]}";
  return out;
}

Readiness readiness(const DaemonSnapshot& s) {
  std::vector<std::string> reasons;
  std::vector<std::string> warnings;
  if (s.stopping) reasons.push_back("the daemon is shutting down");
  for (const PipelineSnapshot& p : s.pipelines) {
    if (p.state == "invalid") {
      warnings.push_back("pipeline " + p.name + " (" + p.file + ") is invalid and was not started");
    } else if (!isUp(p)) {
      std::string r = "pipeline " + p.name + " is " + p.state;
      if (!p.last_error.empty()) r += ": " + p.last_error;
      reasons.push_back(std::move(r));
    }
  }
  Readiness out;
  out.ready = reasons.empty();
  std::string& j = out.json;
  j = "{";
  appendStringField(j, "status", out.ready ? "ready" : "not ready");
  if (!out.ready) {
    appendStringField(j, "error", "not every pipeline has started");
    appendStringField(j, "hint", "GET /v1/pipelines shows each pipeline's state and last error");
  }
  appendKey(j, "reasons");
  appendStringArray(j, reasons);
  j += ',';
  appendKey(j, "warnings");
  appendStringArray(j, warnings);
  j += '}';
  return out;
}

}  // namespace omniloop::admin
