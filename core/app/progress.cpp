#include "app/progress.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "event/json.h"

namespace omniloop::app {

std::string formatCount(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count && count % 3 == 0) out.push_back(',');
    out.push_back(*it);
    ++count;
  }
  return {out.rbegin(), out.rend()};
}

std::string formatRate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", per_second / 1e6);
  } else if (per_second >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", per_second);
  }
  return buf;
}

namespace {
struct Usage {
  double cpu_seconds;
  double peak_rss_mib;
};
Usage processUsage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return {cpu, static_cast<double>(ru.ru_maxrss) / 1024.0};
}

std::string elapsed(double secs) {
  char buf[32];
  int s = static_cast<int>(secs);
  std::snprintf(buf, sizeof buf, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}
}  // namespace

ProgressReporter::ProgressReporter(const pipeline::PipelineStats& stats, std::string pipeline,
                                   bool interactive, double interval_s, std::ostream& out)
    : stats_(stats),
      pipeline_(std::move(pipeline)),
      interactive_(interactive),
      interval_s_(interval_s),
      out_(out),
      thread_([this] { loop(); }) {}

ProgressReporter::~ProgressReporter() { stop(); }

void ProgressReporter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (interactive_) out_ << "\r\033[K" << std::flush;
}

void ProgressReporter::loop() {
  const auto period = interactive_ ? std::chrono::milliseconds(200)
                                   : std::chrono::milliseconds(static_cast<int64_t>(interval_s_ * 1000));
  uint64_t last_read = 0;
  auto last_t = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period, [&] { return stopping_; })) {
    const auto now = std::chrono::steady_clock::now();
    const uint64_t read = stats_.read.load();
    const double dt = std::chrono::duration<double>(now - last_t).count();
    const double rate = dt > 0 ? static_cast<double>(read - last_read) / dt : 0;
    last_read = read;
    last_t = now;
    std::ostringstream line;
    line << pipeline_ << ": " << formatCount(read) << " events read, "
         << formatCount(stats_.written.load()) << " written, " << formatRate(rate) << " ev/s, "
         << elapsed(stats_.elapsedSeconds()) << " elapsed";
    if (interactive_) {
      out_ << "\r\033[K" << line.str() << std::flush;
    } else {
      out_ << "progress " << line.str() << "\n" << std::flush;
    }
  }
}

namespace {

// total[i], created with the attempt's name on first use (stages and sinks are the same list
// in every attempt: the same pipeline file).
template <typename Stats>
Stats& entryFor(std::vector<std::unique_ptr<Stats>>& total, size_t i, const std::string& name) {
  if (total.size() <= i) {
    total.push_back(std::make_unique<Stats>());
    total.back()->name = name;
  }
  return *total[i];
}

}  // namespace

void appendCountersJson(std::string& j, const pipeline::ReasonCounts& counts) {
  j += '{';
  std::string_view family;
  bool open = false;
  for (const auto& [key, n] : counts) {
    if (!open || key.first != family) {
      if (open) j += "},";
      event::appendJsonString(j, key.first);
      j += ":{";
      family = key.first;
      open = true;
    } else {
      j += ',';
    }
    event::appendJsonString(j, key.second);
    j += ':' + std::to_string(n);
  }
  if (open) j += '}';
  j += '}';
}

void addAttempt(pipeline::PipelineStats& total, const pipeline::PipelineStats& attempt, bool first) {
  auto add = [](auto& into, const auto& from) { into.fetch_add(from.load()); };
  add(total.read, attempt.read);
  add(total.written, attempt.written);
  add(total.filtered, attempt.filtered);
  add(total.dead_lettered, attempt.dead_lettered);
  add(total.batches, attempt.batches);
  add(total.source_retries, attempt.source_retries);
  for (size_t i = 0; i < total.latency_counts.size(); ++i) add(total.latency_counts[i], attempt.latency_counts[i]);
  add(total.latency_sum_us, attempt.latency_sum_us);
  for (size_t i = 0; i < attempt.stages.size(); ++i) {
    const pipeline::StageStats& from = *attempt.stages[i];
    pipeline::StageStats& into = entryFor(total.stages, i, from.name);
    add(into.in, from.in);
    add(into.dropped, from.dropped);
    add(into.dead_lettered, from.dead_lettered);
    add(into.nanos, from.nanos);
  }
  for (size_t i = 0; i < attempt.sinks.size(); ++i) {
    const pipeline::SinkStats& from = *attempt.sinks[i];
    pipeline::SinkStats& into = entryFor(total.sinks, i, from.name);
    add(into.written, from.written);
    add(into.errors, from.errors);
    add(into.retries, from.retries);
  }
  total.counters.add(attempt.counters.snapshot());
  if (first) total.started = attempt.started;
  const auto attempt_end = attempt.started + std::chrono::nanoseconds(attempt.finished_ns.load());
  total.finished_ns.store(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::nanoseconds>(attempt_end - total.started).count()));
}

void printSummary(std::ostream& out, const std::string& pipeline, const std::string& file,
                  const pipeline::PipelineStats& stats, const pipeline::Result& result,
                  uint64_t resumes) {
  const double secs = stats.elapsedSeconds();
  const uint64_t read = stats.read.load();
  out << "pipeline " << pipeline << " (" << file << "): "
      << (result.isOk() ? "finished" : "FAILED") << "\n";
  auto row = [&](const char* label, uint64_t n) {
    out << "  " << std::left << std::setw(15) << label << std::right << std::setw(12)
        << formatCount(n) << "\n";
  };
  row("read", read);
  row("written", stats.written.load());
  row("filtered", stats.filtered.load());
  row("dead-lettered", stats.dead_lettered.load());
  if (stats.sinks.size() > 1) {
    for (const auto& s : stats.sinks) {
      out << "    sink " << std::left << std::setw(18) << s->name << std::right << std::setw(12)
          << formatCount(s->written.load()) << " written\n";
    }
  }
  const pipeline::ReasonCounts counts = stats.counters.snapshot();
  if (!counts.empty()) {
    out << "  counted:\n";
    for (const auto& [key, n] : counts) {
      const std::string label = key.first + " (" + key.second + ")";
      out << "    " << std::left << std::setw(34) << label << std::right << std::setw(10)
          << formatCount(n) << "\n";
    }
  }
  if (!stats.stages.empty()) {
    out << "  stages:\n";
    for (const auto& st : stats.stages) {
      char ms[32];
      std::snprintf(ms, sizeof ms, "%.1f ms", static_cast<double>(st->nanos.load()) / 1e6);
      out << "    " << std::left << std::setw(20) << st->name << std::right << " in "
          << std::setw(10) << formatCount(st->in.load()) << "  filtered " << std::setw(8)
          << formatCount(st->dropped.load()) << "  dead-lettered " << std::setw(6)
          << formatCount(st->dead_lettered.load()) << "  " << ms << "\n";
    }
  }
  char timing[96];
  std::snprintf(timing, sizeof timing, "%.2f s, %s events/s", secs,
                formatRate(secs > 0 ? static_cast<double>(read) / secs : 0).c_str());
  out << "  time           " << timing << "\n";
  const Usage u = processUsage();
  char usage[96];
  std::snprintf(usage, sizeof usage, "%.2f s CPU, peak memory %.0f MiB", u.cpu_seconds,
                u.peak_rss_mib);
  out << "  resources      " << usage << "\n";
  if (resumes > 0) {
    out << "  resumed        " << resumes << (resumes == 1 ? " time" : " times")
        << " from the last committed cursor after a rolled-back group commit\n"
        << "                 (the rolled-back batches were read and written again and count in each attempt)\n";
  }
  if (!result.isOk()) out << "  error: " << result.message << "\n";
}

std::string summaryJson(const std::string& pipeline, const std::string& file,
                        const pipeline::PipelineStats& stats, const pipeline::Result& result,
                        uint64_t resumes) {
  std::string j = "{\"pipeline\":";
  event::appendJsonString(j, pipeline);
  j += ",\"file\":";
  event::appendJsonString(j, file);
  j += ",\"ok\":";
  j += result.isOk() ? "true" : "false";
  if (!result.isOk()) {
    j += ",\"error\":";
    event::appendJsonString(j, result.message);
  }
  j += ",\"read\":" + std::to_string(stats.read.load());
  j += ",\"written\":" + std::to_string(stats.written.load());
  j += ",\"filtered\":" + std::to_string(stats.filtered.load());
  j += ",\"dead_lettered\":" + std::to_string(stats.dead_lettered.load());
  j += ",\"resumes\":" + std::to_string(resumes);
  j += ",\"seconds\":" + std::to_string(stats.elapsedSeconds());
  const Usage u = processUsage();
  j += ",\"cpu_seconds\":" + std::to_string(u.cpu_seconds);
  j += ",\"peak_rss_mib\":" + std::to_string(u.peak_rss_mib);
  j += ",\"stages\":[";
  for (size_t i = 0; i < stats.stages.size(); ++i) {
    const auto& st = *stats.stages[i];
    if (i) j += ",";
    j += "{\"name\":";
    event::appendJsonString(j, st.name);
    j += ",\"in\":" + std::to_string(st.in.load()) + ",\"filtered\":" +
         std::to_string(st.dropped.load()) + ",\"dead_lettered\":" +
         std::to_string(st.dead_lettered.load()) + "}";
  }
  j += "],\"sinks\":[";
  for (size_t i = 0; i < stats.sinks.size(); ++i) {
    if (i) j += ",";
    j += "{\"name\":";
    event::appendJsonString(j, stats.sinks[i]->name);
    j += ",\"written\":" + std::to_string(stats.sinks[i]->written.load()) + "}";
  }
  j += "],\"counters\":";
  appendCountersJson(j, stats.counters.snapshot());
  j += "}";
  return j;
}

}  // namespace omniloop::app
