#include "admin/render.h"

#include <vector>

#include "admin/metrics.h"
#include "event/json.h"

namespace omniloop::admin {

namespace {

using event::JsonObjectWriter;

// Seconds and other measurements, formatted like the metrics; null when not finite.
void real(JsonObjectWriter& o, std::string_view key, double value) {
  const std::string text = formatMetricValue(value);
  o.raw(key, (text == "NaN" || text == "+Inf" || text == "-Inf") ? std::string_view("null") : text);
}

}  // namespace

std::string errorJson(std::string_view error, std::string_view hint) {
  std::string out;
  {
    JsonObjectWriter o(out);
    o.text("error", error);
    if (!hint.empty()) o.text("hint", hint);
  }
  return out;
}

std::string pipelineJson(const PipelineSnapshot& p) {
  std::string out;
  {
    JsonObjectWriter o(out);
    o.text("name", p.name)
        .text("file", p.file)
        .textOrNull("source", p.source_type)
        .text("state", p.state);
    real(o, "state_seconds", p.state_seconds);
    o.textOrNull("cursor", p.cursor)
        .textOrNull("last_error", p.last_error)
        .integer("restarts", p.restarts);
    if (p.state == "backoff") real(o, "retry_in_seconds", p.retry_in_seconds);
    if (!p.diagnostics.empty()) o.strings("diagnostics", p.diagnostics);
    o.object("counters", [&](JsonObjectWriter& c) {
      c.integer("read", p.read)
          .integer("written", p.written)
          .integer("filtered", p.filtered)
          .integer("dead_lettered", p.dead_lettered)
          .integer("batches", p.batches)
          .integer("queue_depth", p.queue_depth);
      // Batch::count families: "consent_denied": {"marketing": 3}, ...
      for (auto it = p.counts.begin(); it != p.counts.end();) {
        const std::string& family = it->first.first;
        auto end = it;
        while (end != p.counts.end() && end->first.first == family) ++end;
        c.object(family, [&](JsonObjectWriter& f) {
          for (auto i = it; i != end; ++i) f.integer(i->first.second, i->second);
        });
        it = end;
      }
    });
    o.objects("stages", p.stages, [](JsonObjectWriter& st, const StageSnapshot& stage) {
      st.text("name", stage.name)
          .integer("in", stage.in)
          .integer("filtered", stage.filtered)
          .integer("dead_lettered", stage.dead_lettered);
      real(st, "seconds", stage.seconds);
    });
    o.objects("sinks", p.sinks, [](JsonObjectWriter& sk, const SinkSnapshot& sink) {
      sk.text("name", sink.name)
          .text("type", sink.type)
          .integer("written", sink.written)
          .integer("errors", sink.errors)
          .integer("retries", sink.retries);
    });
  }  // the writer closes the object
  return out;
}

std::string pipelinesJson(const DaemonSnapshot& s) {
  std::string out;
  {
    JsonObjectWriter o(out);
    o.text("version", s.version);
    real(o, "uptime_seconds", s.uptime_seconds);
    std::string list = "[";
    for (size_t i = 0; i < s.pipelines.size(); ++i) {
      if (i) list += ',';
      list += pipelineJson(s.pipelines[i]);
    }
    list += ']';
    o.raw("pipelines", list);
    o.objects("refused", s.refused, [](JsonObjectWriter& r, const RefusedFile& f) {
      r.text("file", f.file).text("name", f.name).text("reason", f.reason);
    });
  }
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
  for (const RefusedFile& f : s.refused) warnings.push_back(f.reason);
  Readiness out;
  out.ready = reasons.empty();
  {
    JsonObjectWriter o(out.json);
    o.text("status", out.ready ? "ready" : "not ready");
    if (!out.ready) {
      o.text("error", "not every pipeline has started")
          .text("hint", "GET /v1/pipelines shows each pipeline's state and last error");
    }
    o.strings("reasons", reasons).strings("warnings", warnings);
  }
  return out;
}

}  // namespace omniloop::admin
