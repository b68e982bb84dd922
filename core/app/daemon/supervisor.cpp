#include "app/daemon/supervisor.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "admin/render.h"
#include "app/logging.h"
#include "app/runtime.h"
#include "config/loader.h"
#include "event/json.h"
#include "pipeline/executor.h"
#include "plugin/registry.h"

namespace fs = std::filesystem;

namespace omniloop::app {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds backoffDelay(int failures, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max) {
  if (failures < 1) failures = 1;
  std::chrono::milliseconds d = initial;
  for (int i = 1; i < failures && d < max; ++i) d *= 2;
  return std::min(d, max);
}

std::vector<std::string> listPipelineFiles(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw std::runtime_error("pipelines_dir " + dir +
                             " is not a readable directory (create it, or set pipelines_dir in "
                             "omniloop.yaml)");
  }
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string base = p.filename().string();
    if (base.empty() || base[0] == '.') continue;  // editor swap files, hidden files
    if (p.extension() != ".yaml") continue;
    std::error_code fec;
    if (!fs::is_regular_file(p, fec)) continue;
    files.push_back(p.lexically_normal().string());
  }
  if (ec) throw std::runtime_error("cannot list pipelines_dir " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

enum class State { Starting, Running, Backoff, Done, Stopped, Invalid };

namespace {

const char* stateName(State s) {
  switch (s) {
    case State::Starting: return "starting";
    case State::Running: return "running";
    case State::Backoff: return "backoff";
    case State::Done: return "done";
    case State::Stopped: return "stopped";
    case State::Invalid: return "invalid";
  }
  return "?";
}

std::string readWholeFile(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The executor's own checkpoint failures (CDP sink failures are counted from the sink stats).
bool isStoreFailure(const std::string& message) {
  return message.rfind("cannot commit checkpoint", 0) == 0 ||
         message.rfind("cannot load checkpoint", 0) == 0;
}

}  // namespace

// Counters of the finished runs of a pipeline (a running executor's stats are added on top).
struct Supervisor::Totals {
  uint64_t read = 0, written = 0, filtered = 0, dead_lettered = 0, batches = 0;
  std::array<uint64_t, pipeline::kLatencyBuckets.size() + 1> latency_counts{};
  uint64_t latency_sum_us = 0;
  std::vector<admin::StageSnapshot> stages;  // in the spec's order
  std::vector<admin::SinkSnapshot> sinks;
  pipeline::ReasonCounts counts;
};

struct Supervisor::Slot {
  std::string file;
  std::string content;
  std::string name;
  std::optional<config::PipelineSpec> spec;  // empty when invalid
  std::vector<std::string> diagnostics;

  // Guarded by Supervisor::mu_.
  State state = State::Starting;
  Clock::time_point state_since = Clock::now();
  Clock::time_point retry_at{};
  std::string last_error;
  std::string cursor;
  uint64_t restarts = 0;
  Totals base;
  pipeline::Executor* exec = nullptr;  // the running executor, owned by the slot's thread
  bool stop = false;
  bool restart_now = false;
  bool finished = false;  // the thread has left its loop
  std::condition_variable cv;

  std::thread thread;

  void setState(State s) {
    if (state != s) state_since = Clock::now();
    state = s;
  }
};

Supervisor::Supervisor(Runtime& runtime, SupervisorOptions options)
    : runtime_(runtime), options_(std::move(options)) {}

Supervisor::~Supervisor() {
  stopAll(std::chrono::hours(24));
}

void Supervisor::setConfigReloader(std::function<std::vector<std::string>()> reloader) {
  config_reloader_ = std::move(reloader);
}

void Supervisor::addStoreErrors(uint64_t n) {
  std::lock_guard lock(mu_);
  store_errors_ += n;
}

std::shared_ptr<Supervisor::Slot> Supervisor::makeSlot(const std::string& file,
                                                       const std::string& content) {
  auto slot = std::make_shared<Slot>();
  slot->file = file;
  slot->content = content;
  slot->name = fs::path(file).stem().string();
  try {
    slot->spec = config::parsePipeline(content, file, runtime_.catalog());
    slot->name = slot->spec->name;
    for (const auto& st : slot->spec->stages) {
      admin::StageSnapshot s;
      s.name = st.name;
      slot->base.stages.push_back(std::move(s));
    }
    for (const auto& sk : slot->spec->sinks) {
      admin::SinkSnapshot s;
      s.name = sk.name;
      s.type = sk.component.type;
      slot->base.sinks.push_back(std::move(s));
    }
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) slot->diagnostics.push_back(d.format());
    slot->state = State::Invalid;
    slot->last_error = e.diagnostics().empty() ? "invalid pipeline file"
                                               : e.diagnostics().front().format();
  } catch (const std::exception& e) {
    slot->diagnostics.push_back(file + ": error: " + e.what());
    slot->state = State::Invalid;
    slot->last_error = e.what();
  }
  return slot;
}

void Supervisor::startSlot(const std::shared_ptr<Slot>& slot) {
  if (slot->state == State::Invalid) {
    slot->finished = true;
    return;
  }
  Slot* raw = slot.get();
  slot->thread = std::thread([this, raw] { runSlot(*raw); });
}

void Supervisor::runSlot(Slot& s) {
  const auto log = pipelineLogger(s.name);
  RateLimiter limiter(3, std::chrono::seconds(300));
  int failures = 0;
  bool first = true;
  std::unique_lock lock(mu_);
  for (;;) {
    if (s.stop) break;
    if (!first) ++s.restarts;
    first = false;
    s.restart_now = false;
    s.setState(State::Starting);
    lock.unlock();

    std::unique_ptr<pipeline::Executor> exec;
    std::string error;
    try {
      std::lock_guard build(build_mu_);
      pipeline::ExecutorOptions options;
      options.batch_size = s.spec->batch_size;  // the pipeline's own `batch: { size }`
      exec = runtime_.build(*s.spec, options);
    } catch (const std::exception& e) {
      error = std::string("cannot start: ") + e.what();
    }

    const Clock::time_point run_started = Clock::now();
    bool ok = false;
    if (exec) {
      lock.lock();
      if (s.stop) exec->requestStop();  // still run: resuming and stopping at once is harmless
      s.exec = exec.get();
      s.restart_now = false;
      s.setState(State::Running);
      lock.unlock();
      log->info("pipeline {} running ({})", s.name, s.file);

      const pipeline::Result r = exec->run();

      lock.lock();
      const pipeline::PipelineStats& st = exec->stats();
      Totals& b = s.base;
      b.read += st.read.load();
      b.written += st.written.load();
      b.filtered += st.filtered.load();
      b.dead_lettered += st.dead_lettered.load();
      b.batches += st.batches.load();
      pipeline::addCounts(b.counts, st.counters.snapshot());
      for (size_t i = 0; i < b.latency_counts.size(); ++i) b.latency_counts[i] += st.latency_counts[i].load();
      b.latency_sum_us += st.latency_sum_us.load();
      for (size_t i = 0; i < st.stages.size() && i < b.stages.size(); ++i) {
        b.stages[i].in += st.stages[i]->in.load();
        b.stages[i].filtered += st.stages[i]->dropped.load();
        b.stages[i].dead_lettered += st.stages[i]->dead_lettered.load();
        b.stages[i].seconds += static_cast<double>(st.stages[i]->nanos.load()) / 1e9;
      }
      for (size_t i = 0; i < st.sinks.size() && i < b.sinks.size(); ++i) {
        b.sinks[i].written += st.sinks[i]->written.load();
        b.sinks[i].errors += st.sinks[i]->errors.load();
        b.sinks[i].retries += st.sinks[i]->retries.load();
        if (b.sinks[i].type == "cdp") store_errors_ += st.sinks[i]->errors.load();
      }
      s.cursor = exec->committedCursor();
      s.exec = nullptr;
      lock.unlock();
      exec.reset();  // closes the source and sinks
      if (r.isOk()) {
        ok = true;
      } else {
        error = r.message;
      }
    }

    lock.lock();
    if (ok) {
      if (s.stop) break;
      if (s.restart_now) {
        log->info("pipeline {} drained; starting it again as requested", s.name);
        continue;
      }
      s.setState(State::Done);
      log->info("pipeline {} done: its source has ended (read {}, written {})", s.name,
                s.base.read, s.base.written);
      s.cv.wait(lock, [&] { return s.stop || s.restart_now; });
      if (s.stop) break;
      continue;
    }

    // Failed to start or failed while running.
    s.last_error = error;
    if (isStoreFailure(error)) ++store_errors_;
    if (s.stop) break;
    if (Clock::now() - run_started >= options_.healthy_after) failures = 0;
    ++failures;
    const auto delay = backoffDelay(failures, options_.backoff_initial, options_.backoff_max);
    s.retry_at = Clock::now() + delay;
    s.setState(State::Backoff);
    uint64_t suppressed = 0;
    if (limiter.allow(s.name, suppressed)) {
      log->error("pipeline {} failed: {}; retrying in {:.1f} s{}", s.name, error,
                 std::chrono::duration<double>(delay).count(),
                 suppressed ? " (" + std::to_string(suppressed) + " similar messages suppressed)"
                            : std::string());
    }
    s.cv.wait_until(lock, s.retry_at, [&] { return s.stop || s.restart_now; });
    if (s.stop) break;
  }
  if (s.state != State::Done) s.setState(State::Stopped);
  s.finished = true;
  lock.unlock();
  finished_cv_.notify_all();
  log->info("pipeline {} stopped", s.name);
}

void Supervisor::requestStopLocked(Slot& s) {
  s.stop = true;
  if (s.exec != nullptr) s.exec->requestStop();
  s.cv.notify_all();
}

void Supervisor::drain(const std::vector<std::shared_ptr<Slot>>& slots) {
  {
    std::lock_guard lock(mu_);
    for (const auto& s : slots) requestStopLocked(*s);
  }
  for (const auto& s : slots) {
    if (s->thread.joinable()) s->thread.join();
  }
}

ReloadSummary Supervisor::syncPipelines() {
  ReloadSummary summary;
  const std::vector<std::string> files = listPipelineFiles(options_.pipelines_dir);

  // Decide, without touching anything yet.
  std::map<std::string, std::shared_ptr<Slot>> current;
  {
    std::lock_guard lock(mu_);
    current = slots_;
  }
  std::vector<std::shared_ptr<Slot>> to_stop;
  std::vector<std::shared_ptr<Slot>> to_start;
  std::map<std::string, std::shared_ptr<Slot>> next;
  std::set<std::string> names;  // valid pipeline names claimed so far
  std::set<std::string> seen;

  // Unchanged valid pipelines keep their names first.
  std::map<std::string, std::string> contents;
  for (const std::string& f : files) {
    bool ok = false;
    contents[f] = readWholeFile(f, ok);
    if (!ok) contents[f] = std::string("\0unreadable", 11);
    seen.insert(f);
    auto it = current.find(f);
    if (it != current.end() && it->second->content == contents[f]) {
      next[f] = it->second;
      if (it->second->spec) names.insert(it->second->name);
      summary.unchanged.push_back(it->second->name);
    }
  }
  // Then changed files that were running, so that a pipeline keeps its name against a newcomer
  // whatever their paths; then new files in sorted order.
  std::vector<std::string> order;
  for (const std::string& f : files) {
    if (!next.count(f) && current.count(f)) order.push_back(f);
  }
  for (const std::string& f : files) {
    if (!next.count(f) && !current.count(f)) order.push_back(f);
  }
  std::vector<admin::RefusedFile> refused;
  for (const std::string& f : order) {
    std::shared_ptr<Slot> slot = makeSlot(f, contents[f]);
    if (contents[f] == std::string("\0unreadable", 11)) {
      slot->spec.reset();
      slot->state = State::Invalid;
      slot->diagnostics = {f + ": error: cannot read the file (check its owner and mode)"};
      slot->last_error = slot->diagnostics.front();
    }
    if (slot->spec && names.count(slot->name)) {
      // Refused without a slot: a second entry under the same name would show twice in
      // /v1/pipelines and give /metrics duplicate series.
      std::string other;
      for (const auto& [path, s] : next) {
        if (s->spec && s->name == slot->name) other = path;
      }
      const std::string message = f + ":1:1: error: pipeline name '" + slot->name +
                                  "' is already used by " + other + " (which keeps running); " + f +
                                  " was not started\n  hint: give each pipeline file its own name";
      refused.push_back({f, slot->name, message});
      summary.invalid.push_back(slot->name);
      if (auto old = current.find(f); old != current.end()) {
        to_stop.push_back(old->second);
        summary.stopped.push_back(old->second->name);
      }
      continue;
    }
    if (slot->spec) names.insert(slot->name);
    auto old = current.find(f);
    if (old != current.end()) {
      to_stop.push_back(old->second);
      if (slot->spec) {
        summary.restarted.push_back(slot->name);
      } else {
        summary.stopped.push_back(old->second->name);
      }
    } else if (slot->spec) {
      summary.started.push_back(slot->name);
    }
    if (!slot->spec) summary.invalid.push_back(slot->name);
    next[f] = slot;
    to_start.push_back(slot);
  }
  for (const auto& [f, slot] : current) {
    if (!seen.count(f)) {
      to_stop.push_back(slot);
      summary.stopped.push_back(slot->name);
    }
  }

  // Drain what stops or changes, then carry counters over to a changed pipeline of the same
  // name (so counters stay monotonic), then start.
  drain(to_stop);
  {
    std::lock_guard lock(mu_);
    for (const auto& old : to_stop) {
      for (const auto& fresh : to_start) {
        if (!fresh->spec || !old->spec || fresh->name != old->name) continue;
        Totals carried = old->base;
        carried.stages = fresh->base.stages;
        carried.sinks = fresh->base.sinks;
        for (auto& st : carried.stages) {
          for (const auto& prev : old->base.stages) {
            if (prev.name == st.name) st = prev;
          }
        }
        for (auto& sk : carried.sinks) {
          for (const auto& prev : old->base.sinks) {
            if (prev.name == sk.name && prev.type == sk.type) sk = prev;
          }
        }
        fresh->base = std::move(carried);
        fresh->restarts = old->restarts;
        fresh->cursor = old->cursor;
      }
    }
    slots_ = next;
    refused_ = refused;
  }
  for (const auto& slot : to_start) startSlot(slot);

  const auto log = spdlog::default_logger();
  for (const auto& slot : to_start) {
    if (slot->spec) continue;
    log->error("pipeline file {} refused ({} problem{}); the other pipelines run", slot->file,
               slot->diagnostics.size(), slot->diagnostics.size() == 1 ? "" : "s");
    for (const auto& d : slot->diagnostics) log->error("{}", d);
  }
  for (const auto& r : refused) {
    log->error("pipeline file {} refused: {}", r.file, r.reason);
  }
  summary.refused = std::move(refused);
  return summary;
}

admin::ActionResult Supervisor::reload() {
  std::unique_lock reload_lock(reload_mu_);
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return {503, admin::errorJson("the daemon is shutting down", "start it again to reload")};
    }
    ++reloads_;
  }
  const auto log = spdlog::default_logger();
  ReloadSummary summary;
  try {
    if (config_reloader_) summary.notes = config_reloader_();
    ReloadSummary pipelines = syncPipelines();
    pipelines.notes = std::move(summary.notes);
    summary = std::move(pipelines);
  } catch (const config::ConfigError& e) {
    {
      std::lock_guard lock(mu_);
      ++reload_failures_;
    }
    std::string diags;
    for (const auto& d : e.diagnostics()) {
      log->error("reload refused: {}", d.format());
      if (!diags.empty()) diags += "\n";
      diags += d.format();
    }
    return {500, admin::errorJson("reload refused: the configuration is invalid; nothing changed\n" + diags,
                                  "fix omniloop.yaml (see the daemon's log) and reload again")};
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mu_);
      ++reload_failures_;
    }
    log->error("reload refused: {}", e.what());
    return {500, admin::errorJson(std::string("reload refused: ") + e.what(),
                                  "nothing changed; fix the cause and reload again")};
  }
  log->info("reloaded: {} started, {} restarted, {} stopped, {} unchanged, {} invalid",
            summary.started.size(), summary.restarted.size(), summary.stopped.size(),
            summary.unchanged.size(), summary.invalid.size());
  for (const auto& n : summary.notes) log->warn("reload: {}", n);
  std::string out;
  {
    event::JsonObjectWriter o(out);
    o.text("status", "reloaded")
        .strings("started", summary.started)
        .strings("restarted", summary.restarted)
        .strings("stopped", summary.stopped)
        .strings("unchanged", summary.unchanged)
        .strings("invalid", summary.invalid)
        .objects("refused", summary.refused,
                 [](event::JsonObjectWriter& r, const admin::RefusedFile& f) {
                   r.text("file", f.file).text("name", f.name).text("reason", f.reason);
                 })
        .strings("notes", summary.notes);
  }
  return {200, out};
}

admin::ActionResult Supervisor::restartPipeline(const std::string& name) {
  std::lock_guard lock(mu_);
  if (stopping_) return {503, admin::errorJson("the daemon is shutting down")};
  Slot* found = nullptr;
  Slot* invalid = nullptr;
  for (auto& [file, slot] : slots_) {
    if (slot->name != name) continue;
    if (slot->spec) {
      found = slot.get();
    } else {
      invalid = slot.get();
    }
  }
  if (found == nullptr && invalid != nullptr) {
    return {409, admin::errorJson("pipeline '" + name + "' is invalid and cannot run",
                                  "fix " + invalid->file + " and POST /v1/reload")};
  }
  if (found == nullptr) {
    return {404, admin::errorJson("no pipeline named '" + name + "'",
                                  "GET /v1/pipelines lists the pipelines")};
  }
  found->restart_now = true;
  if (found->exec != nullptr) found->exec->requestStop();
  found->cv.notify_all();
  std::string out = "{\"status\":\"restarting\",\"name\":";
  event::appendJsonString(out, name);
  out += ",\"previous_state\":";
  event::appendJsonString(out, stateName(found->state));
  out += '}';
  return {202, out};
}

admin::PipelineSnapshot Supervisor::snapshotLocked(const Slot& s) const {
  admin::PipelineSnapshot p;
  p.name = s.name;
  p.file = s.file;
  if (s.spec) p.source_type = s.spec->source.type;
  p.state = stateName(s.state);
  p.state_seconds = std::chrono::duration<double>(Clock::now() - s.state_since).count();
  p.last_error = s.last_error;
  p.diagnostics = s.diagnostics;
  p.restarts = s.restarts;
  if (s.state == State::Backoff) {
    p.retry_in_seconds =
        std::max(0.0, std::chrono::duration<double>(s.retry_at - Clock::now()).count());
  }
  const Totals& b = s.base;
  p.read = b.read;
  p.written = b.written;
  p.filtered = b.filtered;
  p.dead_lettered = b.dead_lettered;
  p.batches = b.batches;
  p.latency_counts = b.latency_counts;
  uint64_t sum_us = b.latency_sum_us;
  p.stages = b.stages;
  p.sinks = b.sinks;
  p.counts = b.counts;
  p.cursor = s.cursor;
  if (s.exec != nullptr) {
    const pipeline::PipelineStats& st = s.exec->stats();
    p.read += st.read.load();
    p.written += st.written.load();
    p.filtered += st.filtered.load();
    p.dead_lettered += st.dead_lettered.load();
    p.batches += st.batches.load();
    p.queue_depth = st.queue_depth.load();
    pipeline::addCounts(p.counts, st.counters.snapshot());
    for (size_t i = 0; i < p.latency_counts.size(); ++i) p.latency_counts[i] += st.latency_counts[i].load();
    sum_us += st.latency_sum_us.load();
    for (size_t i = 0; i < st.stages.size() && i < p.stages.size(); ++i) {
      p.stages[i].in += st.stages[i]->in.load();
      p.stages[i].filtered += st.stages[i]->dropped.load();
      p.stages[i].dead_lettered += st.stages[i]->dead_lettered.load();
      p.stages[i].seconds += static_cast<double>(st.stages[i]->nanos.load()) / 1e9;
    }
    for (size_t i = 0; i < st.sinks.size() && i < p.sinks.size(); ++i) {
      p.sinks[i].written += st.sinks[i]->written.load();
      p.sinks[i].errors += st.sinks[i]->errors.load();
      p.sinks[i].retries += st.sinks[i]->retries.load();
    }
    std::string cursor = s.exec->committedCursor();
    if (!cursor.empty()) p.cursor = std::move(cursor);
  }
  p.latency_sum_seconds = static_cast<double>(sum_us) / 1e6;
  return p;
}

admin::DaemonSnapshot Supervisor::snapshot() {
  admin::DaemonSnapshot d;
  d.version = OMNILOOP_VERSION;
  d.plugin_load_failures = runtime_.registry().errors().size();
  d.uptime_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  std::lock_guard lock(mu_);
  d.stopping = stopping_;
  d.reloads = reloads_;
  d.reload_failures = reload_failures_;
  d.store_errors = store_errors_;
  for (const auto& [file, slot] : slots_) {
    d.pipelines.push_back(snapshotLocked(*slot));
    // Errors of the running executor's CDP sinks count as store errors too.
    if (slot->exec != nullptr) {
      const auto& sinks = slot->exec->stats().sinks;
      for (size_t i = 0; i < sinks.size() && i < slot->base.sinks.size(); ++i) {
        if (slot->base.sinks[i].type == "cdp") d.store_errors += sinks[i]->errors.load();
      }
    }
  }
  d.refused = refused_;
  std::sort(d.pipelines.begin(), d.pipelines.end(),
            [](const admin::PipelineSnapshot& a, const admin::PipelineSnapshot& b) {
              return a.name != b.name ? a.name < b.name : a.file < b.file;
            });
  return d;
}

bool Supervisor::stopAll(std::chrono::milliseconds timeout, std::vector<std::string>* late) {
  std::unique_lock lock(mu_);
  stopping_ = true;
  for (auto& [file, slot] : slots_) requestStopLocked(*slot);
  const auto deadline = Clock::now() + timeout;
  const bool all = finished_cv_.wait_until(lock, deadline, [&] {
    for (const auto& [file, slot] : slots_) {
      if (!slot->finished) return false;
    }
    return true;
  });
  if (!all) {
    for (const auto& [file, slot] : slots_) {
      if (!slot->finished && late != nullptr) late->push_back(slot->name);
    }
    return false;
  }
  auto slots = slots_;
  lock.unlock();
  for (auto& [file, slot] : slots) {
    if (slot->thread.joinable()) slot->thread.join();
  }
  return true;
}

}  // namespace omniloop::app
