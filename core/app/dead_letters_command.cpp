#include "app/dead_letters_command.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "app/runtime.h"
#include "config/loader.h"
#include "event/json.h"
#include "pipeline/executor.h"
#include "store/store.h"

namespace fs = std::filesystem;

namespace omniloop::app {

namespace {

constexpr const char* kHelp =
    R"(usage: omniloop dead-letters list [--pipeline NAME] [--limit N] [--json]
       omniloop dead-letters show ID [--json]
       omniloop dead-letters replay (--pipeline-file FILE | --pipeline NAME) [--json]
common options: --store URI, --config FILE

The records a pipeline could not store, kept in the CDP store with why.
  list     id, pipeline, source, reason and time of each dead letter, oldest first
           (--limit N: at most N, default 100; 0 for all)
  show     one dead letter: its reason and its record as the store holds it (a record that
           could not be parsed as the source read it; otherwise the event, identity values
           pseudonymised)
  replay   after fixing the cause (the pipeline file, a plugin, the store), reads the
           pipeline's source again from its beginning and sends only the dead-lettered records
           through the pipeline. A record that now goes through is stored (event ids are
           deterministic, so nothing is duplicated) and its dead letter removed; one that
           fails again stays, with its new reason. The pipeline's checkpoint does not move.
           The pipeline is the one in --pipeline-file FILE, or the file of pipelines_dir
           (omniloop.yaml) whose name is --pipeline NAME. A record no longer in the source
           (rotated away) stays a dead letter.
Read-only for list and show; none of the commands creates a store or a key file.
Exit status: 0 done (replay: every replayed record went through), 1 the store or the replay
run failed, or no such dead letter, 2 usage or an invalid pipeline file, 3 replay: some
records failed again or were not found (they stay dead letters).
)";

struct Options {
  std::string action, id;
  std::string config, store, pipeline, pipeline_file;
  size_t limit = 100;
  bool json = false, help = false;
};

bool parse(const std::vector<std::string>& args, Options& o) {
  std::vector<std::string> positional;
  for (size_t i = 2; i < args.size(); ++i) {
    std::string name = args[i], value;
    const bool option = name.rfind("--", 0) == 0;
    bool has_value = false;
    if (option) {
      if (const size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
    }
    auto take = [&](std::string& into) {
      if (!has_value) {
        if (i + 1 >= args.size()) {
          std::cerr << "omniloop dead-letters: " << name << " needs a value\n";
          return false;
        }
        value = args[++i];
      }
      into = value;
      return true;
    };
    if (!option) {
      positional.push_back(name);
    } else if (name == "--help" || name == "-h") {
      o.help = true;
    } else if (name == "--json") {
      o.json = true;
    } else if (name == "--config") {
      if (!take(o.config)) return false;
    } else if (name == "--store") {
      if (!take(o.store)) return false;
    } else if (name == "--pipeline") {
      if (!take(o.pipeline)) return false;
    } else if (name == "--pipeline-file") {
      if (!take(o.pipeline_file)) return false;
    } else if (name == "--limit") {
      std::string n;
      if (!take(n)) return false;
      char* end = nullptr;
      const unsigned long long v = std::strtoull(n.c_str(), &end, 10);
      if (n.empty() || *end != '\0' || n[0] == '-') {
        std::cerr << "omniloop dead-letters: --limit takes a number (0 for all), not '" << n
                  << "'\n";
        return false;
      }
      o.limit = static_cast<size_t>(v);
    } else {
      std::cerr << "omniloop dead-letters: unknown option " << name << "\n" << kHelp;
      return false;
    }
  }
  if (o.help) return true;
  if (positional.empty()) {
    std::cerr << "omniloop dead-letters: name an action: list, show ID or replay\n" << kHelp;
    return false;
  }
  o.action = positional[0];
  if (o.action != "list" && o.action != "show" && o.action != "replay") {
    std::cerr << "omniloop dead-letters: unknown action '" << o.action
              << "' (actions: list, show, replay)\n";
    return false;
  }
  if (o.action == "show") {
    if (positional.size() != 2) {
      std::cerr << "omniloop dead-letters show: give one dead letter id (from `omniloop "
                   "dead-letters list`)\n";
      return false;
    }
    o.id = positional[1];
  } else if (positional.size() != 1) {
    std::cerr << "omniloop dead-letters " << o.action << ": unexpected argument '" << positional[1]
              << "'\n";
    return false;
  }
  if (o.action == "replay" && o.pipeline.empty() && o.pipeline_file.empty()) {
    std::cerr << "omniloop dead-letters replay: give the pipeline with --pipeline-file FILE (or "
                 "--pipeline NAME to find its file in pipelines_dir)\n";
    return false;
  }
  return true;
}

std::string when(int64_t micros) {
  return micros == 0 ? std::string("-") : event::formatTimestamp(micros);
}

void appendLetter(event::JsonObjectWriter& o, const store::DeadLetter& d, bool with_record) {
  o.text("id", d.id)
      .text("pipeline", d.pipeline)
      .text("source", d.source)
      .textOrNull("event_id", d.event_id)
      .text("reason", d.reason)
      .text("created_at", when(d.created_at));
  if (with_record) o.text("record", d.payload);
}

int list(store::Store& store, const Options& o) {
  std::vector<store::DeadLetter> letters =
      store.deadLetters(o.pipeline, o.limit == 0 ? 0 : o.limit + 1);
  const bool more = o.limit != 0 && letters.size() > o.limit;
  if (more) letters.resize(o.limit);
  if (o.json) {
    std::string out;
    {
      event::JsonObjectWriter w(out);
      if (!o.pipeline.empty()) w.text("pipeline", o.pipeline);
      w.objects("dead_letters", letters,
                [](event::JsonObjectWriter& e, const store::DeadLetter& d) {
                  appendLetter(e, d, false);
                });
      w.raw("more", more ? "true" : "false");
    }
    std::cout << out << "\n";
    return 0;
  }
  if (letters.empty()) {
    std::cout << "no dead letters" << (o.pipeline.empty() ? "" : " of pipeline " + o.pipeline)
              << "\n";
    return 0;
  }
  size_t pipeline_width = 8, source_width = 6;
  for (const auto& d : letters) {
    pipeline_width = std::max(pipeline_width, d.pipeline.size());
    source_width = std::max(source_width, d.source.size());
  }
  std::cout << std::left << std::setw(34) << "ID" << std::setw(static_cast<int>(pipeline_width + 2))
            << "PIPELINE" << std::setw(static_cast<int>(source_width + 2)) << "SOURCE"
            << std::setw(29) << "CREATED"
            << "REASON\n";
  for (const auto& d : letters) {
    std::cout << std::setw(34) << d.id << std::setw(static_cast<int>(pipeline_width + 2))
              << d.pipeline << std::setw(static_cast<int>(source_width + 2)) << d.source
              << std::setw(29) << when(d.created_at) << d.reason << "\n";
  }
  if (more) {
    std::cout << "(more than " << o.limit << "; --limit 0 lists all)\n";
  }
  return 0;
}

int show(store::Store& store, const Options& o) {
  const std::optional<store::DeadLetter> d = store.deadLetter(o.id);
  if (!d) {
    std::cerr << "omniloop dead-letters show: no dead letter " << o.id
              << " (omniloop dead-letters list shows their ids; a replayed record that went "
                 "through is no longer one)\n";
    if (o.json) std::cout << "{\"found\":false,\"error\":\"no such dead letter\"}\n";
    return 1;
  }
  if (o.json) {
    std::string out;
    {
      event::JsonObjectWriter w(out);
      w.raw("found", "true");
      appendLetter(w, *d, true);
    }
    std::cout << out << "\n";
    return 0;
  }
  std::cout << "dead letter " << d->id << "\n"
            << "  pipeline   " << d->pipeline << "\n"
            << "  source     " << d->source << "\n"
            << "  event id   " << (d->event_id.empty() ? "-" : d->event_id) << "\n"
            << "  created    " << when(d->created_at) << "\n"
            << "  reason     " << d->reason << "\n"
            << "  record     " << d->payload << "\n";
  return 0;
}

// What happened to each replayed record, by event id (filled on the executor's worker thread).
struct Outcomes {
  std::mutex mu;
  std::set<std::string> seen, stored, failed, filtered;
};

// First stage of a replay: only the dead-lettered records go on; every other record is dropped.
class ReplayFilter : public pipeline::Stage {
 public:
  ReplayFilter(const std::map<std::string, std::string>& targets,
               std::shared_ptr<Outcomes> outcomes)
      : targets_(targets), outcomes_(std::move(outcomes)) {}
  pipeline::Result process(event::Batch& batch) override {
    std::lock_guard lock(outcomes_->mu);
    for (event::Event& e : batch) {
      const std::string id(e.id);
      if (!e.id.empty() && targets_.count(id)) {
        outcomes_->seen.insert(id);
      } else {
        e.disposition = event::Disposition::Drop;
      }
    }
    return pipeline::Result::ok();
  }

 private:
  const std::map<std::string, std::string>& targets_;
  std::shared_ptr<Outcomes> outcomes_;
};

// Around each sink of a replay: the checkpoint never moves, and each record's fate is noted.
class ReplaySink : public pipeline::Sink {
 public:
  ReplaySink(std::unique_ptr<pipeline::Sink> inner,
             const std::map<std::string, std::string>& targets, std::shared_ptr<Outcomes> outcomes)
      : inner_(std::move(inner)), targets_(targets), outcomes_(std::move(outcomes)) {}
  pipeline::Result write(event::Batch& batch) override {
    batch.cursor.clear();
    pipeline::Result r = inner_->write(batch);
    if (r.status == pipeline::Status::Retry) return r;  // the executor tries again
    std::lock_guard lock(outcomes_->mu);
    for (const event::Event& e : batch) {
      const std::string id(e.id);
      if (e.id.empty() || !targets_.count(id)) continue;
      if (e.disposition == event::Disposition::DeadLetter || (e.live() && !r.isOk())) {
        outcomes_->failed.insert(id);
      } else if (e.live()) {
        outcomes_->stored.insert(id);
      } else if (e.disposition == event::Disposition::Drop) {
        outcomes_->filtered.insert(id);
      }
    }
    return r;
  }
  pipeline::Result flush() override { return inner_->flush(); }
  bool commitsCursor() const override { return inner_->commitsCursor(); }

 private:
  std::unique_ptr<pipeline::Sink> inner_;
  const std::map<std::string, std::string>& targets_;
  std::shared_ptr<Outcomes> outcomes_;
};

// The file of `dir` (pipelines_dir) whose pipeline is called `name`; "" when none.
std::string findPipelineFile(Runtime& rt, const std::string& name) {
  const config::DaemonConfig& cfg = rt.config();
  std::string dir = cfg.pipelines_dir;
  if (dir.empty() && !cfg.file.empty()) {
    dir = (fs::absolute(cfg.file).parent_path() / "pipelines.d").lexically_normal().string();
  }
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return {};
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() == ".yaml" && p.filename().string()[0] != '.') files.push_back(p.string());
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    try {
      if (rt.loadPipeline(f).name == name) return f;
    } catch (const std::exception&) {
    }
  }
  return {};
}

int replay(Runtime& rt, const Options& o) {
  std::string file = o.pipeline_file;
  if (file.empty()) {
    file = findPipelineFile(rt, o.pipeline);
    if (file.empty()) {
      std::cerr << "omniloop dead-letters replay: no pipeline file named '" << o.pipeline
                << "' in pipelines_dir: give its file with --pipeline-file FILE\n";
      return 2;
    }
  }
  config::PipelineSpec spec;
  try {
    spec = rt.loadPipeline(file);
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 2;
  }
  if (!o.pipeline.empty() && spec.name != o.pipeline) {
    std::cerr << "omniloop dead-letters replay: " << file << " holds pipeline '" << spec.name
              << "', not '" << o.pipeline << "'\n";
    return 2;
  }
  store::Store& store = rt.store();
  if (!rt.keyProblem().empty()) {
    std::cerr << "omniloop dead-letters replay: " << rt.keyProblem()
              << " (a replay pseudonymises identities with the key the data was ingested with)\n";
    return 1;
  }

  std::map<std::string, std::string> targets;  // event id -> dead letter id
  size_t without_event_id = 0;
  for (const store::DeadLetter& d : store.deadLetters(spec.name, 0)) {
    if (d.event_id.empty()) {
      ++without_event_id;
    } else {
      targets[d.event_id] = d.id;
    }
  }
  auto outcomes = std::make_shared<Outcomes>();
  pipeline::Result result;
  if (!targets.empty()) {
    ReplayHooks hooks;
    hooks.first_stage = std::make_unique<ReplayFilter>(targets, outcomes);
    hooks.wrap_sink = [&](std::unique_ptr<pipeline::Sink> sink) -> std::unique_ptr<pipeline::Sink> {
      return std::make_unique<ReplaySink>(std::move(sink), targets, outcomes);
    };
    pipeline::ExecutorOptions overrides;
    overrides.batch_size = spec.batch_size;
    overrides.stop_when_idle = true;  // a followed source: the records there now
    std::unique_ptr<pipeline::Executor> executor =
        rt.buildReplay(spec, overrides, std::move(hooks));
    result = executor->run();
  }
  if (!result.isOk()) {
    std::cerr << "omniloop dead-letters replay: the replay of " << spec.name
              << " failed: " << result.message
              << "\n(no dead letter was removed; fix the cause and replay again)\n";
    if (o.json) {
      std::string out;
      {
        event::JsonObjectWriter w(out);
        w.raw("ok", "false").text("pipeline", spec.name).text("error", result.message);
      }
      std::cout << out << "\n";
    }
    return 1;
  }

  // Failing again anywhere wins over going through elsewhere (a record read twice).
  std::vector<std::string> resolved;
  std::vector<std::string> failed_again, not_found;
  uint64_t stored = 0, filtered = 0;
  for (const auto& [event_id, letter] : targets) {
    if (outcomes->failed.count(event_id)) {
      failed_again.push_back(letter);
    } else if (outcomes->stored.count(event_id)) {
      resolved.push_back(letter);
      ++stored;
    } else if (outcomes->filtered.count(event_id)) {
      resolved.push_back(letter);  // the fixed pipeline filters it out on purpose
      ++filtered;
    } else {
      not_found.push_back(letter);
    }
  }
  const uint64_t removed = resolved.empty() ? 0 : store.removeDeadLetters(resolved);
  (void)removed;
  const bool all = failed_again.empty() && not_found.empty() && without_event_id == 0;

  if (o.json) {
    std::string out;
    {
      event::JsonObjectWriter w(out);
      w.raw("ok", all ? "true" : "false")
          .text("pipeline", spec.name)
          .text("file", file)
          .integer("replayed", targets.size())
          .integer("stored", stored)
          .integer("filtered", filtered)
          .integer("failed_again", failed_again.size())
          .integer("not_found", not_found.size())
          .integer("without_event_id", without_event_id)
          .strings("kept", failed_again);
    }
    std::cout << out << "\n";
  } else {
    std::cout << "replayed " << targets.size() << " dead letter" << (targets.size() == 1 ? "" : "s")
              << " of pipeline " << spec.name << " (" << file << ")\n"
              << "  stored now (removed from dead letters)    " << stored << "\n";
    if (filtered > 0) {
      std::cout << "  filtered by the pipeline now (removed)     " << filtered << "\n";
    }
    std::cout << "  failed again (kept, with the new reason)   " << failed_again.size() << "\n";
    for (const std::string& id : failed_again) {
      if (const auto d = store.deadLetter(id))
        std::cout << "    " << id << "  " << d->reason << "\n";
    }
    if (!not_found.empty()) {
      std::cout << "  not found in the source any more (kept)    " << not_found.size() << "\n";
    }
    if (without_event_id > 0) {
      std::cout << "  without an event id, cannot be replayed    " << without_event_id
                << " (omniloop dead-letters show ID prints their record)\n";
    }
  }
  return all ? 0 : 3;
}

}  // namespace

int runDeadLettersCommand(const std::vector<std::string>& args) {
  Options o;
  if (!parse(args, o)) return 2;
  if (o.help) {
    std::cout << kHelp;
    return 0;
  }
  RuntimeOptions ro;
  ro.config_path = o.config;
  ro.store_override = o.store;
  ro.read_only = true;  // never creates a store or a key
  Runtime rt(ro);
  if (o.action == "replay") return replay(rt, o);
  store::Store& store = rt.store();
  if (o.action == "show") return show(store, o);
  return list(store, o);
}

}  // namespace omniloop::app
